/*
 * hub_bus_end.c - the end of an agent's incident, recorded once across
 * the hubs of a cluster.
 *
 * The hub that records an agent's critical (hub_bus_live.c) is the one
 * that records its end: when another hub has the agent again, that hub's
 * feed says so and the recorder hears it like every hub that follows the
 * agent.  Each hub knows the recorder from its feed line
 * (hub_agent.incident_by); it also writes maestro:incident:NAME = its
 * name, for a week, because a hub that restarts during the incident
 * forgets (it takes the status back from the store, not who set it).
 * A hub that sees a critical agent come back (hub_live.c) therefore
 *  - leaves the end to the recorder when it knows it and it is up;
 *  - does not know it: reads the mark; records the end itself when the
 *    mark names this hub (it recorded it in an earlier run), leaves it
 *    when it names a hub that is up;
 *  - else (the recorder went down, no mark): the hub that takes
 *    maestro:alert:recovered:NAME (SET NX, one window: a new incident of
 *    the agent cannot end sooner) records it, RECOVERED alert included.
 * Redis not answering, or the hubs that are up not known yet (a hub just
 * started answers hellos before its first round with Redis): the end
 * waits, asked again every second, at most END_WAIT seconds; then this
 * hub records it: twice rather than never.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_bus.h"
#include "mc_log.h"
#include "mc_util.h"

#define END_KEY		"maestro:alert:recovered:"
#define MARK_KEY	"maestro:incident:"
#define KEY_MAX		(sizeof(MARK_KEY) + MC_NAME_MAX)
#define MARK_MS		"604800000"	/* a week */
#define END_WAIT	30.0	/* seconds an end waits for Redis */
#define ENDS_MAX	4096	/* ends waiting for Redis */

/* An incident's end on its way through the mark and the lock. */
struct end {
	char		 name[MC_NAME_MAX + 1];
	uint8_t		 by;		/* hub_agent.incident_by */
	enum hub_status	 to;
	double		 began;
	char		 detail[128];
	double		 until;		/* monotonic: recorded here after */
	struct end	*next;		/* waiting for Redis */
};

static struct {
	struct end	*waiting;	/* owned */
	size_t		 nwaiting;
	double		 next;		/* monotonic: the next retry */
	uint64_t	 here, elsewhere;
} en;

void
hub_bus_end_mark(const struct hub_agent *a)
{
	char key[KEY_MAX];

	snprintf(key, sizeof(key), MARK_KEY "%s", a->name);
	hub_bus_link_queue(LINK_MARK, key, MARK_MS, sizeof(MARK_MS) - 1,
	    NULL, NULL);
}

/* Record it here and let e go. */
static void
record(struct hub_agent *a, struct end *e)
{
	en.here++;
	hub_live_recovered(a, e->to, e->detail, e->began);
	free(e);
}

/* The agent, if the end still stands (it may have gone, or changed). */
static struct hub_agent *
still(const struct end *e)
{
	struct hub_agent *a = hub_agent_find(e->name);

	return a != NULL && a->status == e->to ? a : NULL;
}

/* Redis did not answer: wait and ask again, or (late, too many) record
 * here.  Takes e. */
static void
wait_bus(struct hub_agent *a, struct end *e)
{
	if (mc_now() >= e->until || en.nwaiting >= ENDS_MAX) {
		record(a, e);
		return;
	}
	e->next = en.waiting;
	en.waiting = e;
	en.nwaiting++;
}

static void
locked(void *arg, const struct hub_link_res *res)
{
	struct end *e = arg;
	struct hub_agent *a = still(e);

	if (a == NULL)
		free(e);
	else if (!res->ok)
		wait_bus(a, e);
	else if (res->n == 1)
		record(a, e);
	else {
		en.elsewhere++;
		free(e);
	}
}

/* Whoever takes the end's lock records it (one window: a new incident
 * of the agent cannot end sooner).  Takes e. */
static void
lock(struct hub_agent *a, struct end *e)
{
	if (hub_bus_live_lock(END_KEY, a->name, locked, e) == -1)
		wait_bus(a, e);
}

static void
marked(void *arg, const struct hub_link_res *res)
{
	struct end *e = arg;
	struct hub_agent *a = still(e);

	if (a == NULL)
		free(e);
	else if (!res->ok || !hub_bus_peers_known())
		wait_bus(a, e);
	else if (res->data != NULL && strcmp(res->data, hub_bus_self()) == 0)
		record(a, e);		/* recorded by this hub's last run */
	else if (res->data != NULL && hub_bus_peer_up(res->data, NULL)) {
		en.elsewhere++;		/* its recorder is up */
		free(e);
	} else
		lock(a, e);
}

/* The mark when the recorder is not known here, else the lock. */
static void
ask(struct hub_agent *a, struct end *e)
{
	char key[KEY_MAX];

	if (e->by != HUB_HELD_UNKNOWN) {
		lock(a, e);		/* its recorder is down */
		return;
	}
	snprintf(key, sizeof(key), MARK_KEY "%s", a->name);
	if (hub_bus_link_queue(LINK_GET, key, NULL, 0, marked, e) == -1)
		wait_bus(a, e);
}

void
hub_bus_end(struct hub_agent *a, uint8_t by, enum hub_status to,
    const char *detail, double began)
{
	const char *recorder = hub_bus_live_hub(by);
	struct end *e;

	if (recorder != NULL && hub_bus_peer_up(recorder, NULL))
		return;		/* the hub that recorded it records its end */
	if ((e = calloc(1, sizeof(*e))) == NULL) {	/* owned by the answers
							 * or en.waiting */
		en.here++;
		hub_live_recovered(a, to, detail, began);
		return;
	}
	mc_strlcpy(e->name, a->name, sizeof(e->name));
	e->by = by;
	e->to = to;
	e->began = began;
	mc_strlcpy(e->detail, detail, sizeof(e->detail));
	e->until = mc_now() + END_WAIT;
	if (hub_bus_peers_known())
		ask(a, e);
	else
		wait_bus(a, e);	/* just started: who is up is not known */
}

void
hub_bus_end_cron(double now)
{
	struct end *e, *next;
	struct hub_agent *a;

	if (en.waiting == NULL || now < en.next ||
	    !hub_bus_link_up(NULL, 0) || !hub_bus_peers_known())
		return;
	en.next = now + 1;
	e = en.waiting;
	en.waiting = NULL;
	en.nwaiting = 0;
	for (; e != NULL; e = next) {
		next = e->next;
		if ((a = still(e)) != NULL)
			ask(a, e);
		else
			free(e);
	}
}

void
hub_bus_end_free_all(void)
{
	struct end *e, *next;

	for (e = en.waiting; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	en.waiting = NULL;
	en.nwaiting = 0;
}

void
hub_bus_end_prom(struct mc_buf *b)
{
	hub_prom_family(b, "maestro_cluster_incident_ends_total", "counter",
	    "Ends of incidents whose recording hub was gone, restarted or "
	    "unknown here, by who recorded them: this hub (its mark, the "
	    "lock, or Redis silent for 30 s) or another.");
	mc_buf_printf(b, "maestro_cluster_incident_ends_total{recorded="
	    "\"here\"} %llu\n", (unsigned long long)en.here);
	mc_buf_printf(b, "maestro_cluster_incident_ends_total{recorded="
	    "\"elsewhere\"} %llu\n", (unsigned long long)en.elsewhere);
}
