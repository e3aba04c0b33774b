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
#include "mc_json.h"

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
	int64_t		 watching;	/* its live feed's sessions (/ws/ui) */
	double		 heartbeat;	/* its liveness settings; 0: not */
	int64_t		 miss;		/* announced (an older hub) */
	char		 push_key[96];	/* its Web Push public key; "" */
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
	int			 lead;		/* the Telegram poller's lease:
						 * 1 held here, 0 elsewhere, -1
						 * not asked or no answer */
};

/* How the thread reaches Redis and who this hub is (copied at start). */
struct hub_bus_cfg {
	struct hub_bus_url	 url;
	char			 password[256];	/* secret; "" none */
	char			 name[HUB_BUS_NAME_MAX + 1];
	char			 id[HUB_BUS_ID_HEX];
	int			 lead_telegram;	/* ask for the lease */
};

/* The Telegram poller's lease (hub_chat_tg.c): maestro:lease:telegram,
 * the holder's name, renewed every round. */
#define HUB_BUS_TG_LEASE_MS	10000

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

/* ---- hub_bus_link.c: the link thread (messages, agents held) ---- */

#define HUB_BUS_CHAN_TO		"maestro:to:"	/* + a hub's name: its
						 * messages */
#define HUB_BUS_CHAN_FEED	"maestro:feed"	/* every hub's live feed */
#define HUB_BUS_CHAN_MAX	(sizeof(HUB_BUS_CHAN_TO) + HUB_BUS_NAME_MAX)
#define HUB_BUS_MSG_MAX		(4 * 1024 * 1024)	/* bytes of one
							 * message */

enum hub_link_op {
	LINK_HOLD,	/* SET key val PX HUB_BUS_HOLD_LEASE_MS */
	LINK_UNHOLD,	/* DEL key if its value starts with val */
	LINK_GET,	/* GET key: data (NULL when none) */
	LINK_SEND,	/* val to the hub in key's value: data is that value
			 * (NULL: none), n the receivers, -1 when it is
			 * this hub */
	LINK_PUB,	/* PUBLISH key val: n receivers */
	LINK_LOCK,	/* SET key THIS-HUB NX PX val (milliseconds, as
			 * text): n 1 when this hub took it, else 0 */
	LINK_MARK,	/* SET key THIS-HUB PX val */
	LINK_MSG	/* (a result only) a message received */
};

/* A job's answer, or a message received; data is freed after the
 * callback (copy what is kept). */
struct hub_link_res {
	enum hub_link_op op;
	int		 ok;		/* Redis answered */
	char		 err[HUB_BUS_ERR_MAX];	/* when not ok */
	char		*data;		/* NUL-terminated; may be NULL */
	size_t		 len;
	long long	 n;
	int		 feed;		/* a message on HUB_BUS_CHAN_FEED */
};

typedef void (*hub_link_done_fn)(void *arg, const struct hub_link_res *res);

/* Start and stop the thread (cfg copied). */
int	hub_bus_link_start(const struct hub_bus_cfg *cfg);
void	hub_bus_link_stop(void);
/* Service thread: queue a job (key and val copied; val may be NULL);
 * done, if not NULL, runs later on the service thread with the answer.
 * -1 (done never runs) when the queue is full or the thread is not
 * running. */
int	hub_bus_link_queue(enum hub_link_op op, const char *key,
	    const char *val, size_t vlen, hub_link_done_fn done, void *arg);
/* Service thread (woken by hub_ws_wake(), and each tick): the answers'
 * callbacks, the messages to hub_bus_on_message(). */
void	hub_bus_link_drain(void);
/* 1 while both connections stand; err (may be NULL) the last reason. */
int	hub_bus_link_up(char *err, size_t errlen);

/* ---- hub_bus.c ---- */

/* This hub's name and run id ("" without a bus). */
const char *hub_bus_self(void);
const char *hub_bus_self_id(void);
/* 1 when hub name, in its run run (NULL: any), announced itself in the
 * last round read and has not said goodbye. */
int	hub_bus_peer_up(const char *name, const char *run);
/* 1 once a round has listed the hubs (before it, none is known up). */
int	hub_bus_peers_known(void);
/* The names of the other hubs that are up, as the last round read them,
 * into names (max): how many. */
int	hub_bus_others_up(char (*names)[HUB_BUS_NAME_MAX + 1], int max);
/* Whether another hub, as the last round read them, has sessions on its
 * live feed: then this hub's feed carries every agent's metrics. */
int	hub_bus_watched_elsewhere(void);
/* maestro:to:NAME into out. */
void	hub_bus_chan_to(char *out, size_t size, const char *name);
/* A message received (hub_bus_link_drain()): to the feed or the route. */
void	hub_bus_on_message(const struct hub_link_res *m);

/* ---- hub_bus_route.c: command requests between hubs ---- */

/* A message on maestro:to:THIS-HUB (data is JSON). */
void	hub_bus_route_on_message(const char *data, size_t len);
/* hub_bus_cron: requests whose holder did not answer in time. */
void	hub_bus_route_cron(double now);
void	hub_bus_route_free_all(void);
/* hub_bus_cmd.c: the holder's side (a request run here, its progress
 * sent back) and the asker's (the shadow it feeds). */
void	hub_bus_cmd_forward(struct hub_cmd *c, const char *to);
void	hub_bus_cmd_progress(const struct mc_json *o);
/* hub_bus_cron: forget the shadows that ended (every 10 s). */
void	hub_bus_cmd_cron(double now);
void	hub_bus_cmd_free_all(void);
/* The shadows of commands run by hub name, which went down: lost. */
void	hub_bus_cmd_hub_down(const char *name);
/* A shadow of command o (as hub_cmd_write() wrote it) run by holder,
 * keeping cap bytes of output. */
void	hub_bus_cmd_shadow(const struct mc_json *o, const char *holder,
	    uint64_t cap);
/* An answer's "cap", or the default output cap. */
uint64_t hub_bus_cap(const struct mc_json *o);

/* A request that came over the bus, as the local handlers take it: the
 * caller's token name with the operator role (checked at the asker), no
 * routing.  bc must not move while r is used. */
struct hub_bus_call {
	struct hub_conn	 conn;
	struct hub_http	*h;		/* owned */
	struct hub_token tok;
	struct hub_req	 r;
};
/* POST path (for logs) with body (a JSON string's text): 0 / -1. */
int	hub_bus_call_init(struct hub_bus_call *bc, const char *from,
	    const char *by, const char *path, const struct mc_json *body);
void	hub_bus_call_free(struct hub_bus_call *bc);

/* ---- hub_bus_fan.c: a fan-out across the hubs ---- */

/* The messages "fan" (run it for the agents connected here) and
 * "fanrep" (another hub's part of this hub's fan-out). */
void	hub_bus_fan_on_req(const struct mc_json *o);
void	hub_bus_fan_on_rep(const struct mc_json *o);
/* hub_bus_cron: fan-outs whose hubs did not all answer in time. */
void	hub_bus_fan_cron(double now);
void	hub_bus_fan_free_all(void);

/* ---- hub_bus_term.c: terminals through another hub ---- */

/* A terminal message on this hub's channel ("topen", "tin", "tclose",
 * "tout", "tgone"). */
void	hub_bus_term_on_message(const struct mc_json *o, const char *t);
/* Send on what the other hubs' sessions' clients were given (the loop's
 * wake-up and each tick). */
void	hub_bus_term_pump(void);
void	hub_bus_term_cron(double now);
/* Hub name went down: the sessions it ran or relayed end. */
void	hub_bus_term_hub_down(const char *name);
void	hub_bus_term_free_all(void);

/* ---- hub_bus_feed.c: the live feed of the whole fleet ---- */

void	hub_bus_feed_on_message(const char *data, size_t len);
void	hub_bus_feed_cron(double now);
void	hub_bus_feed_free_all(void);
/* /metrics: the feed's messages and the agents kept from it. */
void	hub_bus_feed_prom(struct mc_buf *b);

/* ---- hub_bus_live.c: liveness across hubs ---- */

/* Another hub's feed says agent a (known here) has status (may be NULL)
 * and, when that hub has its connection, was heard at wall time heard
 * (else 0): that hub holds it. */
void	hub_bus_live_heard_of(struct hub_agent *a, const char *hub_name,
	    const char *status, double heard);
/* SET PREFIX+AGENT THIS-HUB NX for one window (miss x heartbeat):
 * done(arg, res), res->n 1 when this hub took it.  -1 (done never runs)
 * when it cannot be queued. */
int	hub_bus_live_lock(const char *prefix, const char *agent,
	    hub_link_done_fn done, void *arg);
/* The name of hub_agent.held_by's hub, or NULL (here, unknown). */
const char *hub_bus_live_hub(uint8_t idx);
/* Hub name went down: the agents it held are watched here again. */
void	hub_bus_live_hub_down(const char *name);
void	hub_bus_live_prom(struct mc_buf *b);

/* ---- hub_bus_end.c: an incident's end, recorded once ---- */

/* This hub recorded a's critical: maestro:incident:NAME says so. */
void	hub_bus_end_mark(const struct hub_agent *a);
/* Ends waiting for Redis, asked again (every second). */
void	hub_bus_end_cron(double now);
void	hub_bus_end_free_all(void);
void	hub_bus_end_prom(struct mc_buf *b);

/* ---- hub_bus_hold.c: which hub holds which agent ---- */

#define HUB_BUS_HOLD_KEY	"maestro:agent:"
#define HUB_BUS_HOLD_LEASE_MS	180000	/* a hold's life unless renewed */
#define HUB_BUS_HOLD_RENEW	60.0	/* seconds between renewals, at least */

/* Who holds an agent, as announced (ok set) or why that is unknown. */
struct hub_bus_holder {
	int		 found;		/* some hub announces it */
	char		 hub[HUB_BUS_NAME_MAX + 1];
	char		 run[HUB_BUS_ID_HEX];	/* that hub's run id */
	double		 heard;		/* wall clock it was last heard */
	int		 self;		/* this very run */
};

typedef void (*hub_bus_hold_fn)(void *arg, int ok, const char *err,
	    const struct hub_bus_holder *h);

/* Parse a hold's value ("HUB RUN HEARD"): 0 / -1. */
int	hub_bus_hold_parse(const char *v, struct hub_bus_holder *h);
/* Ask who holds agent name; fn runs later on the service thread (ok 0
 * with why in err when the bus could not answer).  -1 when it cannot be
 * asked now (fn never runs). */
int	hub_bus_hold_lookup(const char *name, hub_bus_hold_fn fn, void *arg);
/* hub_bus_cron: after the link came back, every hold is due. */
void	hub_bus_hold_cron(double now);

#endif
