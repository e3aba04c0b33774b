/*
 * hub_bus_hold.c - which hub holds which agent: each hub announces the
 * agents connected to it in Redis, and any hub can ask who holds one.
 *
 * maestro:agent:NAME = "HUB RUN HEARD" with a lease of
 * HUB_BUS_HOLD_LEASE_MS: the hub's name, its run id (a restarted hub's
 * old holds are told from its new ones) and the wall clock the agent was
 * last heard.  It is written at once when an agent connects, renewed at
 * the agent's first heartbeat HUB_BUS_HOLD_RENEW seconds or more after
 * the last write (HEARD then says how fresh the agent is, to within a
 * renewal), and deleted when the agent leaves cleanly, only while the
 * value is still this run's (the agent may already be held by another
 * hub).  An agent that drops without a goodbye keeps its hold until the
 * lease ends, with the HEARD of its last write: whoever asks sees that
 * its holder is up (the holder watches it) or not (HEARD then bounds how
 * long it has been silent).  The hubs' feed (hub_bus_feed.c) tells every
 * hub when each agent was heard within a second; the hold only has to
 * say who holds it, which changes at connect, so it is renewed seldom:
 * renewing every agent every 10 s by a walk was about 9 % of a cluster
 * hub's samples (the walk, the link queue and hiredis' formatting).
 * Renewing from the heartbeat needs no walk; after the link comes back
 * (Redis may have restarted empty) each hold is written again at its
 * agent's next heartbeat.  The writes go to the link thread, which
 * pipelines them (hub_bus_link.c).  Nothing here waits for Redis.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_bus.h"
#include "mc_log.h"
#include "mc_util.h"

#define HOLD_VALUE_MAX	(HUB_BUS_NAME_MAX + HUB_BUS_ID_HEX + 40)
#define HOLD_KEY_MAX	(sizeof(HUB_BUS_HOLD_KEY) + MC_NAME_MAX)

static struct {
	uint64_t	 refused;	/* writes the link queue refused */
	int		 was_up;	/* the link stood at the last tick */
	double		 epoch;		/* monotonic: holds written before
					 * are due (Redis may have lost them) */
} hd;

struct lookup {
	hub_bus_hold_fn	 fn;
	void		*arg;
};

static void
hold_key(char *out, size_t size, const char *name)
{
	snprintf(out, size, HUB_BUS_HOLD_KEY "%s", name);
}

static void
hold_write(struct hub_agent *a, double now)
{
	char key[HOLD_KEY_MAX], val[HOLD_VALUE_MAX];
	double heard = mc_wall() - (now - a->last_hb);
	int n;

	hold_key(key, sizeof(key), a->name);
	n = snprintf(val, sizeof(val), "%s %s %.3f", hub_bus_self(),
	    hub_bus_self_id(), heard);
	a->hold_at = now;
	if (hub_bus_link_queue(LINK_HOLD, key, val, (size_t)n, NULL,
	    NULL) == 0)
		hd.refused = 0;
	else if (hd.refused++ == 0)
		mc_warn("bus: the link queue is full: agents' holds are not "
		    "renewed until it drains");
}

void
hub_bus_hold_attach(struct hub_agent *a)
{
	if (hub_bus_self()[0] != '\0')
		hold_write(a, mc_now());
}

void
hub_bus_hold_detach(struct hub_agent *a)
{
	char key[HOLD_KEY_MAX], mine[HOLD_VALUE_MAX];
	int n;

	a->hold_at = 0;
	/* only a goodbye ends the hold: a dropped agent stays announced
	 * with its last sign of life until the lease runs out */
	if (hub_bus_self()[0] == '\0' || a->status != ST_OFFLINE)
		return;
	hold_key(key, sizeof(key), a->name);
	n = snprintf(mine, sizeof(mine), "%s %s ", hub_bus_self(),
	    hub_bus_self_id());
	hub_bus_link_queue(LINK_UNHOLD, key, mine, (size_t)n, NULL, NULL);
}

void
hub_bus_hold_seen(struct hub_agent *a)
{
	if (a->conn != NULL && (a->last_hb - a->hold_at >= HUB_BUS_HOLD_RENEW ||
	    a->hold_at < hd.epoch) && hub_bus_self()[0] != '\0')
		hold_write(a, a->last_hb);
}

void
hub_bus_hold_cron(double now)
{
	int up = hub_bus_link_up(NULL, 0);

	/* a new connection: Redis may have restarted empty, so every hold
	 * is written again at its agent's next heartbeat */
	if (up && !hd.was_up)
		hd.epoch = now;
	hd.was_up = up;
}

/* ---- who holds an agent ---- */

int
hub_bus_hold_parse(const char *v, struct hub_bus_holder *h)
{
	const char *sp1 = strchr(v, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') :
	    NULL;
	char num[32];

	memset(h, 0, sizeof(*h));
	if (sp1 == NULL || sp2 == NULL || sp1 == v ||
	    (size_t)(sp1 - v) > HUB_BUS_NAME_MAX ||
	    (size_t)(sp2 - sp1 - 1) >= sizeof(h->run) ||
	    mc_strlcpy(num, sp2 + 1, sizeof(num)) == -1)
		return -1;
	memcpy(h->hub, v, (size_t)(sp1 - v));
	memcpy(h->run, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	h->heard = strtod(num, NULL);
	h->found = 1;
	h->self = strcmp(h->hub, hub_bus_self()) == 0 &&
	    strcmp(h->run, hub_bus_self_id()) == 0;
	return 0;
}

static void
lookup_done(void *arg, const struct hub_link_res *res)
{
	struct lookup *l = arg;
	struct hub_bus_holder h;

	memset(&h, 0, sizeof(h));
	if (!res->ok)
		l->fn(l->arg, 0, res->err, &h);
	else if (res->data != NULL && hub_bus_hold_parse(res->data, &h) == -1)
		l->fn(l->arg, 0, "an agent's hold in Redis does not read", &h);
	else
		l->fn(l->arg, 1, "", &h);
	free(l);
}

int
hub_bus_hold_lookup(const char *name, hub_bus_hold_fn fn, void *arg)
{
	struct lookup *l = malloc(sizeof(*l));	/* owned by the job, freed
						 * in lookup_done */
	char key[HOLD_KEY_MAX];

	if (l == NULL)
		return -1;
	l->fn = fn;
	l->arg = arg;
	hold_key(key, sizeof(key), name);
	if (hub_bus_link_queue(LINK_GET, key, NULL, 0, lookup_done, l) == -1) {
		free(l);
		return -1;
	}
	return 0;
}
