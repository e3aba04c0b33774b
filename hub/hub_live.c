/*
 * hub_live.c - agent liveness: the status machine and its events.
 *
 * Statuses follow the contract: online -> late (1 to miss-1 heartbeats
 * missed) -> critical (miss missed) -> online on the next heartbeat;
 * offline only after a goodbye, and never critical from there.  One
 * extension: restarting, after a goodbye with reason "restart"; it turns
 * critical like a silent agent if the listener is not back in time.  A
 * heartbeat counts as missed half an interval after it was due, so normal
 * jitter never shows as late.  An agent restored from the store and not
 * heard since the hub started is not critical before miss x heartbeat and
 * restart_grace (default 90 s: longer than a listener's backoff of at most
 * 60 s plus jitter) have passed since the start, so a hub restart never
 * produces a burst of criticals.  The grace covers only those: an agent
 * heard since the start is critical miss x heartbeat after its last sign
 * of life, like any other.
 *
 * The clock is watched without looking at every agent: agents that can
 * still turn late or critical are kept in a list ordered by their last
 * sign of life (a heartbeat moves its agent to the tail, so the order
 * holds), and a cron tick walks it from the head only as far as the
 * agents that are overdue.  A scan of all agents at every tick cost the
 * hub more than anything else at 19,000 agents (a fifth of its CPU: each
 * agent is a cache miss).
 *
 * Every change is one event (hub_events.c).  An agent's very first sign of
 * life (it was never seen, by this hub run or one before) says so in the
 * event's detail: offline -> online there is no return.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "hub.h"
#include "hub_sql.h"
#include "mc_log.h"
#include "mc_util.h"

#define SEEN_SAVE_EVERY	60.0	/* seconds between last_seen writes */

/*
 * last_seen is written at most once a minute per agent, and not one write
 * per heartbeat that finds it due: agents beat at independent times, so
 * that would be one store transaction each (about 300 a second at 19,000
 * agents).  The heartbeat adds its agent to a batch instead, and each cron
 * tick hands the batch to the store as one job.
 */
struct seen_row {
	int64_t		 id;
	double		 seen;
};

struct seen_batch {
	size_t		 n, cap;
	struct seen_row	 rows[];
};

static struct seen_batch *seen;	/* owned until handed to the store */

static struct {
	struct hub_agent *head, *tail;	/* oldest last_hb first */
} watch;

static size_t nonline;		/* agents with status online */

size_t
hub_live_online_count(void)
{
	return nonline;
}

static void
watch_del(struct hub_agent *a)
{
	if (!a->watched)
		return;
	if (a->wprev != NULL)
		a->wprev->wnext = a->wnext;
	else
		watch.head = a->wnext;
	if (a->wnext != NULL)
		a->wnext->wprev = a->wprev;
	else
		watch.tail = a->wprev;
	a->wnext = a->wprev = NULL;
	a->watched = 0;
}

/* last_hb was just set to now: the agent is the newest. */
static void
watch_tail(struct hub_agent *a)
{
	watch_del(a);
	a->wprev = watch.tail;
	if (watch.tail != NULL)
		watch.tail->wnext = a;
	else
		watch.head = a;
	watch.tail = a;
	a->watched = 1;
}

static const char *const status_names[] = {
	"online", "late", "critical", "offline", "restarting"
};

const char *
hub_status_name(enum hub_status s)
{
	return s <= ST_RESTARTING ? status_names[s] : "?";
}

int
hub_status_parse(const char *s, enum hub_status *out)
{
	int i;

	for (i = 0; i <= ST_RESTARTING; i++) {
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum hub_status)i;
			return 0;
		}
	}
	return -1;
}

/* The status in memory, the watch list and the views. */
static void
status_move(struct hub_agent *a, enum hub_status to)
{
	nonline += (to == ST_ONLINE) - (a->status == ST_ONLINE);
	a->status = to;
	a->incident_by = HUB_HELD_UNKNOWN;
	a->since = mc_wall();
	hub_alert_down_track(a);
	if (to == ST_CRITICAL || to == ST_OFFLINE)
		watch_del(a);	/* only a heartbeat brings it back */
	hub_ui_agent(a, 1);
}

/* What a change this hub decided leaves: the log, an event, the store's
 * row and the alerts.  The status is a->status already. */
static void
status_record(struct hub_agent *a, enum hub_status from, const char *detail)
{
	enum hub_status to = a->status;

	a->saved_seen = a->last_seen;
	if (to == ST_CRITICAL)
		mc_warn("agent '%s': %s -> critical (no heartbeat for %.1fs)",
		    a->name, hub_status_name(from), mc_now() - a->last_hb);
	else
		mc_info("agent '%s': %s -> %s%s%s", a->name,
		    hub_status_name(from), hub_status_name(to),
		    detail[0] ? ": " : "", detail);
	hub_event("status", a->name, hub_status_name(from),
	    hub_status_name(to), detail);
	hub_db_exec("UPDATE agents SET status = ?, since = ?, last_seen = ?"
	    " WHERE id = ?", "tddi", hub_status_name(to), a->since,
	    a->last_seen, a->id);
	hub_alert_status(a, from, to, detail);
}

static void
set_status(struct hub_agent *a, enum hub_status to, const char *detail)
{
	enum hub_status from = a->status;

	if (from == to)
		return;
	status_move(a, to);
	if (to == ST_CRITICAL)
		a->incident_by = HUB_HELD_HERE;
	status_record(a, from, detail);
}

/* A status this hub follows but did not decide: no event, alert or
 * write (the hub that decided made those). */
static void
status_quiet(struct hub_agent *a, enum hub_status to)
{
	if (a->status != to)
		status_move(a, to);
}

/*
 * A critical agent is back: heard here, or by another hub after its
 * incident began.  In a cluster every hub that follows the agent sees
 * that, and the end is recorded once: by the hub that recorded the
 * incident while it still runs (it hears of the agent on the feed as
 * this hub did), else (that hub is gone, restarted, or not known here)
 * once, as hub_bus_end.c decides.
 */
static void
incident_end(struct hub_agent *a, enum hub_status to, const char *detail)
{
	uint8_t by = a->incident_by;
	double began = a->since;

	if (hub.conf.bus[0] == '\0' || by == HUB_HELD_HERE) {
		set_status(a, to, detail);
		return;
	}
	status_quiet(a, to);
	hub_bus_end(a, by, to, detail, began);
}

void
hub_live_recovered(struct hub_agent *a, enum hub_status to,
    const char *detail, double began)
{
	if (a->status != to)
		return;		/* changed meanwhile: that change is recorded */
	hub_alert_adopt(a, began);
	status_record(a, ST_CRITICAL, detail);
}

/* Add the agent to this tick's last_seen writes. */
static void
seen_add(struct hub_agent *a)
{
	struct seen_batch *b = seen;
	size_t cap;

	if (b == NULL || b->n == b->cap) {
		cap = b != NULL ? b->cap * 2 : 64;
		if ((b = realloc(b, sizeof(*b) + cap * sizeof(b->rows[0]))) ==
		    NULL)
			return;		/* tried at its next heartbeat */
		if (seen == NULL)
			b->n = 0;
		b->cap = cap;
		seen = b;
	}
	b->rows[b->n].id = a->id;
	b->rows[b->n++].seen = a->last_seen;
	a->saved_seen = a->last_seen;
}

/* Writer thread. */
static int
seen_write(struct hub_sql *db, void *arg)
{
	static const char sql[] = "UPDATE agents SET last_seen = ? WHERE id = ?";
	struct seen_batch *b = arg;
	struct hub_sql_stmt *st;
	size_t i;
	int rc;

	if ((rc = hub_sql_prepare(db, sql, &st)) != HUB_SQL_OK)
		return rc;
	for (i = 0, rc = HUB_SQL_DONE; i < b->n && rc == HUB_SQL_DONE; i++) {
		hub_sql_bind_double(st, 1, b->rows[i].seen);
		hub_sql_bind_int64(st, 2, b->rows[i].id);
		rc = hub_sql_step(st);
		hub_sql_reset(st);
	}
	hub_sql_finalize(st);
	return rc == HUB_SQL_DONE ? HUB_SQL_OK : rc;
}

static void
seen_done(void *arg, int stored)
{
	(void)stored;	/* not stored: the next minute's write says more */
	free(arg);
}

static void
seen_flush(void)
{
	struct seen_batch *b = seen;

	if (b == NULL || b->n == 0)
		return;
	seen = NULL;
	hub_db_call(seen_write, seen_done, b);
}

void
hub_live_bye(struct hub_agent *a, const char *reason)
{
	if (strcmp(reason, "restart") == 0) {
		/* the clock runs: not back within miss x hb is critical */
		a->last_hb = mc_now();
		watch_tail(a);
		set_status(a, ST_RESTARTING, reason);
		return;
	}
	set_status(a, ST_OFFLINE, reason);
}

void
hub_live_seen(struct hub_agent *a)
{
	int first = a->last_seen <= 0;	/* never seen, by any hub run */

	a->last_hb = mc_now();
	a->last_seen = mc_wall();
	a->heard = 1;
	a->held_by = HUB_HELD_HERE;
	watch_tail(a);
	if (a->status == ST_CRITICAL)
		incident_end(a, ST_ONLINE, "");
	else if (a->status != ST_ONLINE)
		set_status(a, ST_ONLINE, first ? HUB_FIRST_CONNECTION : "");
	else if (a->last_seen - a->saved_seen >= SEEN_SAVE_EVERY)
		seen_add(a);
}

void
hub_live_shutdown(void)
{
	struct hub_agent *a;

	for (a = hub_agent_first(); a != NULL; a = a->next)
		if (a->last_seen > a->saved_seen)
			seen_add(a);
	seen_flush();
}

static const char *
critical_detail(const struct hub_agent *a)
{
	return a->status == ST_RESTARTING ? "did not come back from a restart" :
	    "";
}

static void
check(struct hub_agent *a, double now)
{
	double hb = hub.conf.heartbeat, window = hub.conf.miss * hb;
	double quiet = now - a->last_hb, up = now - hub.started;
	int grace = !a->heard && up < hub.conf.restart_grace;

	if (a->live_asking)
		return;		/* the cluster's answer decides */
	/* a restored agent's clock starts with the hub (quiet == up); in a
	 * cluster another hub may have heard it: the bus is asked first */
	if (quiet >= window && up >= window && !grace) {
		if (hub_bus_live_ask(a) == 0)
			return;
		a->held_by = HUB_HELD_HERE;
		set_status(a, ST_CRITICAL, critical_detail(a));
	} else if (quiet > 1.5 * hb && a->status == ST_ONLINE &&
	    a->held_by == HUB_HELD_HERE &&
	    (a->conn != NULL || hub.conf.bus[0] == '\0'))
		/* late is what the agent's own hub sees; in a cluster an
		 * agent whose connection closed is most likely moving to
		 * another hub: critical after the window if none has it */
		set_status(a, ST_LATE, "");
}

void
hub_live_verdict(struct hub_agent *a, enum hub_live_verdict v,
    const char *detail)
{
	a->live_asking = 0;
	switch (v) {
	case LIVE_HELD:
		watch_del(a);
		if (a->status == ST_LATE)
			status_quiet(a, ST_ONLINE);
		break;
	case LIVE_CRITICAL:
		a->held_by = HUB_HELD_HERE;	/* its incident is ours */
		set_status(a, ST_CRITICAL, detail[0] ? detail :
		    critical_detail(a));
		break;
	case LIVE_CRITICAL_ELSEWHERE:
		status_quiet(a, ST_CRITICAL);
		break;
	case LIVE_AGAIN:
		a->last_hb = mc_now();
		watch_tail(a);
		break;
	}
}

void
hub_live_heard_of(struct hub_agent *a, const char *hub_name,
    enum hub_status s, double heard)
{
	char detail[128];

	if (a->conn != NULL)
		return;		/* this hub hears it itself */
	if (s != ST_ONLINE && s != ST_LATE && s != ST_RESTARTING) {
		status_quiet(a, s);
		if (s == ST_CRITICAL && a->incident_by == HUB_HELD_UNKNOWN)
			a->incident_by = a->held_by;	/* its hub's word */
		return;
	}
	watch_del(a);		/* its holder watches it */
	if (a->status != ST_CRITICAL) {
		status_quiet(a, s);
		return;
	}
	/* The agent came back on another hub, or a hub that froze (SIGSTOP,
	 * a stalled VM) runs again with its agents still connected, never
	 * having changed their status, while the cluster found them unheard
	 * and recorded them critical.  The holder's word that it is up is
	 * not enough (its line may predate its first heartbeat since): heard
	 * after the incident began, it is over. */
	if (heard > a->since) {
		snprintf(detail, sizeof(detail), "heard by hub %s", hub_name);
		incident_end(a, s, detail);
	}
}

void
hub_live_tick(double now)
{
	double hb = hub.conf.heartbeat, window = hub.conf.miss * hb;
	double due = window < 1.5 * hb ? window : 1.5 * hb;
	struct hub_agent *a, *next;

	/* after a stalled loop nobody changes status for a heartbeat */
	for (a = watch.head; a != NULL && !hub_selfwatch_settling(now);
	    a = next) {
		next = a->wnext;
		if (now - a->last_hb < due)
			break;		/* the rest beat later */
		check(a, now);
	}
	seen_flush();
}

void
hub_live_restore(struct hub_agent *a, const char *status, double last_seen,
    double since)
{
	enum hub_status s;

	a->last_seen = last_seen;
	a->saved_seen = last_seen;
	a->since = since > 0 ? since : last_seen;
	if (hub_status_parse(status, &s) == -1)
		s = ST_OFFLINE;
	nonline += (s == ST_ONLINE) - (a->status == ST_ONLINE);
	a->status = s;
	a->incident_by = HUB_HELD_UNKNOWN;	/* its recorder may be gone */
	/* in a cluster, another hub may hold it (hub_bus_live.c asks) */
	a->held_by = hub.conf.bus[0] != '\0' ? HUB_HELD_UNKNOWN :
	    HUB_HELD_HERE;
	hub_alert_down_track(a);
	/* the clock of an agent that was up starts with the hub */
	a->last_hb = hub.started;
	if (s != ST_OFFLINE && s != ST_CRITICAL)
		watch_tail(a);
}

