/*
 * hub_bus.h - what the bus's two files share: the service thread's side
 * (hub_bus.c: this hub's figures, the cluster as the API, /healthz and
 * /metrics show it, the events and alerts of hubs that go and come back)
 * and the Redis thread (hub_bus_redis.c: every hiredis call).  Figures go
 * to the thread as one struct copied under its mutex; a round's result
 * comes back whole and is owned by the service thread once taken.
 */
#ifndef HUB_BUS_H
#define HUB_BUS_H

#include <stdint.h>

#include "hub.h"

#define HUB_BUS_CHANGES_MAX	64	/* changes carried to the service
					 * thread between two takes */
#define HUB_BUS_ERR_MAX		256
#define HUB_BUS_ID_HEX		17	/* an instance id: 16 hex digits */

/* One hub's announcement, as written to maestro:hub:NAME. */
struct hub_bus_peer {
	char		 name[HUB_BUS_NAME_MAX + 1];
	char		 id[HUB_BUS_ID_HEX];	/* this run of the hub */
	char		 url[160];
	char		 version[32];
	char		 store[160];	/* "ok", or why it fails */
	double		 started;	/* wall clock */
	double		 seen;		/* wall clock of the announcement */
	int64_t		 agents;	/* connected to it */
	int64_t		 online;
	int		 stopping;	/* said goodbye: it stops cleanly */
};

enum hub_bus_change_kind {
	BUS_DOWN,	/* its lease expired without a goodbye */
	BUS_LEFT,	/* it stopped cleanly (its goodbye was seen) */
	BUS_BACK	/* a hub that went down or left announces again */
};

struct hub_bus_change {
	enum hub_bus_change_kind kind;
	struct hub_bus_peer	 peer;	/* its last announcement (down, left)
					 * or its new one (back) */
	int			 alert;	/* this hub won the lock: it alerts */
	int			 was_down;	/* back: after BUS_DOWN */
};

/* What one round of the bus thread found. */
struct hub_bus_round {
	int			 ok;		/* Redis answered the round */
	char			 err[HUB_BUS_ERR_MAX];	/* when not ok */
	double			 failing_since;	/* wall clock; when not ok */
	int			 npeers;	/* hubs announced, this one
						 * too, sorted by name */
	struct hub_bus_peer	 peers[HUB_BUS_HUBS_MAX];
	int			 more;		/* past HUB_BUS_HUBS_MAX */
	int			 nchanges;
	struct hub_bus_change	 changes[HUB_BUS_CHANGES_MAX];
	uint64_t		 lost;		/* changes dropped: full */
};

/* How the thread reaches Redis and who this hub is (copied at start). */
struct hub_bus_cfg {
	struct hub_bus_url	 url;
	char			 password[256];	/* secret; "" none */
	char			 name[HUB_BUS_NAME_MAX + 1];
	char			 id[HUB_BUS_ID_HEX];
};

/* ---- hub_bus_redis.c: the bus thread ---- */

/* Start the thread (cfg copied).  0 / -1. */
int	hub_bus_redis_start(const struct hub_bus_cfg *cfg);
/* Say goodbye (best effort, bounded by the command timeout), stop and
 * join the thread. */
void	hub_bus_redis_stop(void);
/* Service thread: this hub's figures for the next announcement. */
void	hub_bus_redis_announce(const struct hub_bus_peer *self);
/* Service thread: the newest round, or NULL; the caller owns it. */
struct hub_bus_round *hub_bus_redis_take(void);

#endif
