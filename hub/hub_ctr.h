/*
 * hub_ctr.h - what the container files share: hub_ctr.c keeps each
 * agent's container table from its heartbeats, hub_alert_ctr.c decides
 * what a change alerts, hub_api_ctr.c and hub_prom.c show it.  Service
 * thread only.
 */
#ifndef HUB_CTR_H
#define HUB_CTR_H

#include <stdint.h>

#include "hub.h"
#include "mc_ctr.h"

/* restarts remembered per container, for container_restarts rules: a
 * rule's threshold stays below it (hub_rules.c) */
#define HUB_CTR_RING		16

/* The strings of a container, packed in one allocation (hub_ctr_str). */
enum hub_ctr_str { CS_NAME, CS_IMAGE, CS_IMAGE_ID, CS_DIGEST, CS_LATEST,
	CS_HEALTH_LOG, CS_COUNT };

/* flags */
#define CTR_OOM		0x01	/* the last exit: OOM-killed */
#define CTR_STOPPED	0x02	/* the last exit followed a stop request */
#define CTR_NOALERT	0x04	/* labelled maestro.alert=false */
#define CTR_AUTO_UPDATE	0x08	/* labelled maestro.update=auto */
#define CTR_DOWN	0x10	/* a container_down incident is open */
#define CTR_ALERTED	0x20	/* ... and its alert went out */
#define CTR_SEEN	0x40	/* in the full list being applied */

/*
 * One container, kept compact: the figures inline, the six strings in
 * one owned block (160 bytes plus the strings' lengths, where a struct
 * mc_ctr is 1.3 KiB).
 */
struct hub_ctr {
	char		 id[MC_CTR_ID_LEN + 1];
	uint8_t		 state;		/* enum mc_ctr_state */
	uint8_t		 health;	/* enum mc_ctr_health */
	uint8_t		 flags;		/* CTR_* */
	int16_t		 exit_code;	/* -1: never exited */
	uint8_t		 rs_next, rs_n;	/* the ring of restarts' times */
	int32_t		 restarts;	/* the engine's RestartCount */
	float		 cpu;		/* percent of a core; NAN unknown */
	double		 mem;		/* bytes; NAN unknown */
	double		 started, finished;	/* wall; 0 unknown */
	double		 bad_since;	/* monotonic: unhealthy since; 0 */
	double		 down_since;	/* wall: the open incident's start */
	uint32_t	 rs[HUB_CTR_RING];	/* monotonic deciseconds */
	uint16_t	 soff[CS_COUNT];	/* each string's offset in s */
	char		*s;		/* owned: the strings, NUL-ended */
};

/* An agent's table; NULL on an agent that never reported a container. */
struct hub_ctr_set {
	struct mc_ctr_head head;	/* the counts of the last heartbeat */
	int		 n, cap;
	int		 ndown;		/* containers with an open incident */
	int		 stale;		/* the agent is gone or lost Docker:
					 * what it last reported */
	uint32_t	 rev;		/* changes when the table does */
	int		 warned_max;	/* logged: over MC_CTR_MAX */
	struct hub_ctr	*v;		/* owned: n of cap */
};

/* ---- hub_ctr.c ---- */

const char *hub_ctr_str(const struct hub_ctr *c, enum hub_ctr_str k);
/* Both digests known and different: an update is waiting. */
int	hub_ctr_behind(const struct hub_ctr *c);
struct hub_ctr *hub_ctr_find(struct hub_agent *a, const char *id);
/* One container as the API shows it: the wire's fields, then behind,
 * down, and (with_agent) its agent's name. */
void	hub_ctr_write(struct mc_jw *w, const struct hub_agent *a,
	    const struct hub_ctr *c, int with_agent);

/* ---- hub_alert_ctr.c ---- */

/* What a container was before a heartbeat changed it. */
struct hub_ctr_was {
	int		 known;		/* the hub had it */
	int		 full;		/* the change came in a full list */
	uint8_t		 state, health;
	int32_t		 restarts;
	double		 finished;
};

/* c changed (or is new): count its restarts, time its health, open or
 * close its incident. */
void	hub_alert_ctr_change(struct hub_agent *a, struct hub_ctr *c,
	    const struct hub_ctr_was *was);
/* c is being removed: its incident ends without a message. */
void	hub_alert_ctr_gone(struct hub_agent *a, struct hub_ctr *c);
/* After each heartbeat of an agent with containers: those unhealthy for
 * container_unhealthy_for go down. */
void	hub_alert_ctr_check(struct hub_agent *a);

#endif
