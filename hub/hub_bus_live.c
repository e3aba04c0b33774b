/*
 * hub_bus_live.c - liveness in a cluster: an agent is critical only when
 * no hub has heard it for miss x heartbeat, and one hub records it.
 *
 * Every hub watches the agents it holds as a lone hub does (hub_live.c),
 * and also the ones it restored from the shared store and those that
 * dropped from it.  When one of them has been silent here for the window,
 * hub_live.c does not decide alone: it asks the bus who holds the agent
 * (its hold in Redis, hub_bus_hold.c, says which hub and when it last
 * heard it), and then
 *  - a hub that is up (its own lease in Redis is alive) holds it: that
 *    hub watches it; this one stops, and follows what it says (the live
 *    feed, hub_live_heard_of()).  An agent that moved from one hub to
 *    another within the window raises nothing;
 *  - the hold is of a hub that is not up but it heard the agent within
 *    the window: ask again one window from now;
 *  - nobody holds it, or its own hold is this hub's: it is critical.  The
 *    hub that takes maestro:alert:critical:NAME (SET NX, for one window)
 *    records it — event, store, alert — and the others only follow, so
 *    one incident is one alert however many hubs watched the agent.
 *    Its end is recorded once too (hub_bus_end.c);
 * A bus that cannot answer leaves the decision to this hub: twice rather
 * than never.
 * When a hub goes down (its lease ran out), each survivor watches again
 * every agent it knows that hub held, from now: those that reappear on
 * any hub within the window raise nothing, the others are critical once.
 * Who holds what is learnt from the answers above and from the live feed
 * (hub_bus_feed.c tells hub_bus_live_heard_of() of every agent another
 * hub sends); hub names are kept in a table of HUB_BUS_HUBS_MAX and an
 * agent carries the index (hub_agent.held_by), not the name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_bus.h"
#include "mc_log.h"
#include "mc_util.h"

#define LOCK_KEY	"maestro:alert:critical:"
#define LOCK_PREFIX_MAX	64	/* bytes of a lock's key before the name */

/* An agent asked about, by name: it may be gone when the answer comes. */
struct ask {
	char		 name[MC_NAME_MAX + 1];
};

static struct {
	char		 hubs[HUB_BUS_HUBS_MAX][HUB_BUS_NAME_MAX + 1];
	int		 nhubs;
	uint64_t	 held, critical, elsewhere, again, unanswered;
	uint64_t	 taken_over;
} lv;

static double
window(void)
{
	return hub.conf.miss * hub.conf.heartbeat;
}

/* A hub's number for hub_agent.held_by (1-based), HUB_HELD_UNKNOWN when
 * the table is full. */
static uint8_t
hub_index(const char *name)
{
	int i;

	for (i = 0; i < lv.nhubs; i++)
		if (strcmp(lv.hubs[i], name) == 0)
			return (uint8_t)(i + 1);
	if (lv.nhubs == HUB_BUS_HUBS_MAX)
		return HUB_HELD_UNKNOWN;
	mc_strlcpy(lv.hubs[lv.nhubs], name, sizeof(lv.hubs[0]));
	return (uint8_t)++lv.nhubs;
}

const char *
hub_bus_live_hub(uint8_t idx)
{
	if (idx == HUB_HELD_HERE || idx == HUB_HELD_UNKNOWN ||
	    idx > lv.nhubs)
		return NULL;
	return lv.hubs[idx - 1];
}

/* The agent, if it is still silent and still asked about; else NULL (and
 * the question is dropped). */
static struct hub_agent *
still_silent(const struct ask *q)
{
	struct hub_agent *a = hub_agent_find(q->name);

	if (a == NULL || !a->live_asking)
		return NULL;
	if (mc_now() - a->last_hb < window()) {
		a->live_asking = 0;	/* heard here meanwhile */
		return NULL;
	}
	return a;
}

static void
decide(struct hub_agent *a, enum hub_live_verdict v)
{
	switch (v) {
	case LIVE_HELD:
		lv.held++;
		break;
	case LIVE_CRITICAL:
		lv.critical++;
		hub_bus_end_mark(a);
		break;
	case LIVE_CRITICAL_ELSEWHERE:
		lv.elsewhere++;
		break;
	case LIVE_AGAIN:
		lv.again++;
		break;
	}
	hub_live_verdict(a, v, "");
}

static void
locked(void *arg, const struct hub_link_res *res)
{
	struct ask *q = arg;
	struct hub_agent *a = still_silent(q);

	if (a != NULL) {
		if (!res->ok)
			lv.unanswered++;
		/* n is 1 when this hub's SET took the key */
		decide(a, !res->ok || res->n == 1 ? LIVE_CRITICAL :
		    LIVE_CRITICAL_ELSEWHERE);
	}
	free(q);
}

int
hub_bus_live_lock(const char *prefix, const char *agent,
    hub_link_done_fn done, void *arg)
{
	char key[LOCK_PREFIX_MAX + MC_NAME_MAX + 1], ms[32];
	int n;

	snprintf(key, sizeof(key), "%s%s", prefix, agent);
	n = snprintf(ms, sizeof(ms), "%lld", (long long)(window() * 1000));
	return hub_bus_link_queue(LINK_LOCK, key, ms, (size_t)n, done, arg);
}

/* Nobody else has it: whoever takes the incident's lock records it. */
static void
lock(struct hub_agent *a, struct ask *q)
{
	if (hub_bus_live_lock(LOCK_KEY, a->name, locked, q) == -1) {
		lv.unanswered++;
		decide(a, LIVE_CRITICAL);
		free(q);
	}
}

static void
asked(void *arg, int ok, const char *err, const struct hub_bus_holder *h)
{
	struct ask *q = arg;
	struct hub_agent *a = still_silent(q);

	if (a == NULL) {
		free(q);
		return;
	}
	if (!ok) {
		if (lv.unanswered++ == 0)
			mc_warn("bus: cannot ask who holds agent '%s' (%s): "
			    "this hub decides its liveness alone", a->name,
			    err);
		decide(a, LIVE_CRITICAL);
		free(q);
		return;
	}
	if (h->found && !h->self && hub_bus_peer_up(h->hub, h->run)) {
		a->held_by = hub_index(h->hub);
		decide(a, LIVE_HELD);
		free(q);
	} else if (h->found && !h->self && mc_wall() - h->heard < window()) {
		decide(a, LIVE_AGAIN);
		free(q);
	} else
		lock(a, q);
}

int
hub_bus_live_ask(struct hub_agent *a)
{
	struct ask *q;

	if (hub_bus_self()[0] == '\0')
		return -1;
	if ((q = malloc(sizeof(*q))) == NULL)	/* owned by the lookup, freed
						 * by its answer */
		return -1;
	mc_strlcpy(q->name, a->name, sizeof(q->name));
	if (hub_bus_hold_lookup(a->name, asked, q) == -1) {
		free(q);
		lv.unanswered++;
		return -1;
	}
	a->live_asking = 1;
	return 0;
}

void
hub_bus_live_heard_of(struct hub_agent *a, const char *hub_name,
    const char *status, double heard)
{
	enum hub_status s;

	if (a->conn != NULL || strcmp(hub_name, hub_bus_self()) == 0)
		return;
	a->held_by = hub_index(hub_name);
	if (status != NULL && hub_status_parse(status, &s) == 0)
		hub_live_heard_of(a, hub_name, s, heard);
}

void
hub_bus_live_hub_down(const char *name)
{
	struct hub_agent *a;
	uint8_t idx = hub_index(name);
	uint64_t n = 0;

	if (idx == HUB_HELD_UNKNOWN)
		return;
	for (a = hub_agent_first(); a != NULL; a = a->next) {
		if (a->held_by != idx || a->conn != NULL || a->live_asking ||
		    a->status == ST_CRITICAL || a->status == ST_OFFLINE)
			continue;
		decide(a, LIVE_AGAIN);
		n++;
	}
	lv.taken_over += n;
	if (n > 0)
		mc_info("bus: watching the %llu agents hub %s held: those not "
		    "back on a hub within %.0fs are critical",
		    (unsigned long long)n, name, window());
}

void
hub_bus_live_prom(struct mc_buf *b)
{
	hub_prom_family(b, "maestro_cluster_liveness_total", "counter",
	    "Agents silent here for the window, by what the cluster said: "
	    "held by another hub, critical recorded here, critical recorded "
	    "by another hub, asked again later, taken over from a hub that "
	    "went down, or decided here because the bus did not answer.");
	mc_buf_printf(b, "maestro_cluster_liveness_total{verdict=\"held\"} "
	    "%llu\n", (unsigned long long)lv.held);
	mc_buf_printf(b, "maestro_cluster_liveness_total{verdict=\"critical\"}"
	    " %llu\n", (unsigned long long)lv.critical);
	mc_buf_printf(b, "maestro_cluster_liveness_total{verdict="
	    "\"critical_elsewhere\"} %llu\n", (unsigned long long)lv.elsewhere);
	mc_buf_printf(b, "maestro_cluster_liveness_total{verdict=\"again\"} "
	    "%llu\n", (unsigned long long)lv.again);
	mc_buf_printf(b, "maestro_cluster_liveness_total{verdict="
	    "\"taken_over\"} %llu\n", (unsigned long long)lv.taken_over);
	mc_buf_printf(b, "maestro_cluster_liveness_total{verdict="
	    "\"unanswered\"} %llu\n", (unsigned long long)lv.unanswered);
	hub_prom_family(b, "maestro_cluster_agents_learnt_total", "counter",
	    "Agents enrolled through another hub after this one started, "
	    "found in the shared store when the live feed named them.");
	mc_buf_printf(b, "maestro_cluster_agents_learnt_total %llu\n",
	    (unsigned long long)hub_db_find_learnt());
}
