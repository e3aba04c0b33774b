/*
 * hub_alert.h - what the alert files share: hub_alert.c decides what is
 * alerted, hub_alert_storm.c when it leaves (the batch, storms, silences)
 * and hub_alert_send.c as what (its kind's words, its record, the hand-off
 * to hub_notify.c).  Service thread only.
 */
#ifndef HUB_ALERT_H
#define HUB_ALERT_H

#include "hub.h"
#include "mc_ctr.h"

/* critical onsets remembered per agent */
#define HUB_ALERT_FLAP_RING	32
#define HUB_ALERT_KEY_MAX	24
#define HUB_ALERT_TITLE_MAX	160
#define HUB_ALERT_TEXT_MAX	1024

struct hub_alert_state {
	int		 alerted;	/* this incident's alert went out */
	double		 down_seen;	/* wall: last sign of life before it */
	int		 flapping;
	double		 last_toggle;	/* monotonic: last status change */
	double		 onsets[HUB_ALERT_FLAP_RING];	/* monotonic, a ring */
	int		 nonsets, onset_next;
	struct hub_agent *flap_next;	/* the list of flapping agents */
	char		 acked_by[MC_NAME_MAX + 1];	/* "": not acknowledged */
	double		 acked_at;	/* wall clock */
};

struct hub_alert_kind {
	const char	*event;		/* "event" in the webhook's JSON */
	enum hub_sev	 sev;
	const char	*label;		/* the title's first word */
	const char	*many;		/* a summary: "N agents <many>: ..." */
};

enum {
	K_CRITICAL, K_NOT_BACK, K_RECOVERED, K_FLAPPING, K_SETTLED, K_RULE,
	K_RULE_CLEAR, K_OFFLINE, K_ONLINE, K_FIRST, K_SILENCE, K_SILENCE_END,
	K_HUB_FAULT, K_HUB_OK, K_TEST, K_CTR_DOWN, K_CTR_UP, K_HUB_DOWN
};

/* One alert waiting to leave. */
struct hub_alert_entry {
	/* what a storm groups: kind or rule */
	char		 key[HUB_ALERT_KEY_MAX];
	const struct hub_alert_kind *kind;
	struct hub_agent *a;		/* not owned */
	int		 opens;		/* a closing alert may cancel it */
	int		 incident;	/* sent: the incident is alerted */
	char		 rule[96];	/* a rule's text, for summaries */
	char		 ctr[MC_CTR_ID_LEN + 1];	/* a container's alert:
						 * its id (hub_alert_ctr.c) */
	char		 title[HUB_ALERT_TITLE_MAX];
	char		 text[HUB_ALERT_TEXT_MAX];
	struct hub_alert_entry *next;
};

/* ---- hub_alert_send.c ---- */

/* A new alert of kind (K_*) about a (NULL: the hub), titled, grouped in
 * storms by key (NULL: its kind); the caller writes its text.  Owned by
 * the caller; NULL (logged) if out of memory. */
struct hub_alert_entry *hub_alert_entry_new(int kind, struct hub_agent *a,
	    const char *key);
/* Record and send one alert now (not freed). */
void	hub_alert_entry_send(struct hub_alert_entry *e);
/* One message naming every agent of a group (taken and freed): n of
 * them; r of the kind went out just before; more: the rest of a storm. */
void	hub_alert_summary_send(struct hub_alert_entry *group, int n, int r,
	    int more);

/* ---- hub_alert_ack.c ---- */

/* A new incident opens (a critical onset, a rule firing): what was
 * acknowledged before does not cover it. */
void	hub_alert_ack_end(struct hub_alert_state *st);
/* The incident is acknowledged: its alert is not repeated. */
int	hub_alert_acked(const struct hub_alert_state *st);

/* ---- hub_alert_storm.c ---- */

/* Queue e (taken; NULL is ignored) in the batch. */
void	hub_alert_batch_add(struct hub_alert_entry *e);
/* Drop a's waiting alerts that a closing alert of key cancels (key NULL:
 * its incident), in the batch and held by storms.  Returns how many. */
int	hub_alert_cancel_pending(struct hub_agent *a, const char *key);
/* Drop a's waiting alerts that open an incident of container id.
 * Returns how many. */
int	hub_alert_cancel_ctr(struct hub_agent *a, const char *id);
/* hub_alert_tick(): send the batch when due, close storms that are over. */
void	hub_alert_storm_tick(double now);
/* hub_alert_shutdown(): free what waits, saying how many were not sent. */
void	hub_alert_storm_shutdown(void);

#endif
