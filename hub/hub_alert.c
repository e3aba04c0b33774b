/*
 * hub_alert.c - alerts people can trust: status changes and threshold
 * rules become messages in words, with noise control.
 *
 * Rules kept here (docs/alerts.md says the same for operators):
 *  - One alert per incident, one recovery.  An agent that goes critical
 *    (or does not come back from a restart) is alerted once; its recovery
 *    says how long it was down.  A recovery goes out only for an incident
 *    whose alert went out: not for one muted by a silence or held while
 *    flapping, and an incident that ends before its alert left sends
 *    neither.
 *  - An intended stop or a clean shutdown (a goodbye) is never critical;
 *    with alert_on_offline it is an info notice, and so are the return
 *    and a new agent's first connection (first_online, never "again").
 *  - Flapping: more than flap_count critical onsets within flap_window make
 *    one "flapping" alert instead of the next critical.  The agent's
 *    criticals and recoveries are then held until it keeps one state for
 *    flap_window / 2, and one message says how it settled.
 *  - Storms: an alert waits in a batch for at most storm_window (0.5 s) so
 *    that agents failing together are named in one summary.  A batch of
 *    criticals leaves at once when no other agent is late, i.e. nothing
 *    else is on its way to critical, so a lone incident is not delayed.
 *    A kind with storm_count or more (those in the batch plus those of the
 *    kind sent during the last storm interval, max(heartbeat,
 *    storm_window)) becomes one summary, and the storm stays open until an
 *    interval passes without another of that kind: those are held and
 *    named together in one more summary when it closes.
 *  - A silence mutes an agent's alerts at the moment they would leave.
 * Every alert is recorded (the alerts table and an "alert" event), also
 * with no channel configured; hub_notify.c records each delivery.  All of
 * this runs on the service thread, O(1) per status change; the tick costs
 * O(batch + storms + flapping agents), and O(agents) only while a batch
 * of criticals waits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

#define FLAP_RING	32	/* critical onsets remembered per agent */
#define BATCH_MAX	10000	/* alerts waiting; past it the batch leaves */
#define STORMS_MAX	16	/* storm kinds open at once */
#define RECENT_KEPT	256	/* recent sends remembered for storm counts */
#define KEY_MAX		24
#define TITLE_MAX	160
#define TEXT_MAX	1024
#define SUMMARY_NAMES	2400	/* bytes of agent names in one summary */

struct hub_alert_state {
	int		 alerted;	/* this incident's alert went out */
	double		 down_seen;	/* wall: last sign of life before it */
	int		 flapping;
	double		 last_toggle;	/* monotonic: last status change */
	double		 onsets[FLAP_RING];	/* monotonic, a ring */
	int		 nonsets, onset_next;
	struct hub_agent *flap_next;	/* the list of flapping agents */
};

struct kind {
	const char	*event;		/* "event" in the webhook's JSON */
	enum hub_sev	 sev;
	const char	*label;		/* the title's first word */
	const char	*many;		/* a summary: "N agents <many>: ..." */
};

enum {
	K_CRITICAL, K_NOT_BACK, K_RECOVERED, K_FLAPPING, K_SETTLED, K_RULE,
	K_RULE_CLEAR, K_OFFLINE, K_ONLINE, K_FIRST, K_SILENCE, K_SILENCE_END,
	K_HUB_FAULT, K_HUB_OK, K_TEST
};

static const struct kind kinds[] = {
	[K_CRITICAL] = { "critical", SEV_CRITICAL, "CRITICAL",
	    "are CRITICAL (no heartbeat)" },
	[K_NOT_BACK] = { "not_back", SEV_CRITICAL, "CRITICAL",
	    "did not come back from a restart" },
	[K_RECOVERED] = { "recovered", SEV_RECOVERY, "RECOVERED",
	    "recovered" },
	[K_FLAPPING] = { "flapping", SEV_WARNING, "FLAPPING",
	    "are FLAPPING" },
	[K_SETTLED] = { "settled", SEV_RECOVERY, "SETTLED",
	    "stopped flapping" },
	[K_RULE] = { "rule", SEV_WARNING, "WARNING", "break the rule" },
	[K_RULE_CLEAR] = { "rule_clear", SEV_RECOVERY, "RESOLVED",
	    "are back within the rule" },
	[K_OFFLINE] = { "offline", SEV_INFO, "OFFLINE",
	    "went offline (they said goodbye)" },
	[K_ONLINE] = { "online", SEV_INFO, "ONLINE", "are online again" },
	[K_FIRST] = { "first_online", SEV_INFO, "NEW", "connected for the "
	    "first time" },
	[K_SILENCE] = { "silence", SEV_INFO, "SILENCED", "are silenced" },
	[K_SILENCE_END] = { "silence_end", SEV_INFO, "SILENCE ENDED",
	    "are no longer silenced" },
	/* the hub's own faults (hub_db_watch() and friends) */
	[K_HUB_FAULT] = { "hub_fault", SEV_CRITICAL, "HUB", "hub faults" },
	[K_HUB_OK] = { "hub_ok", SEV_RECOVERY, "HUB", "hub recoveries" },
	[K_TEST] = { "test", SEV_INFO, "TEST", "were tested" },
};

#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))

/* One alert waiting to leave. */
struct entry {
	char		 key[KEY_MAX];	/* what a storm groups: kind or rule */
	const struct kind *kind;
	struct hub_agent *a;		/* not owned */
	int		 opens;		/* a closing alert may cancel it */
	int		 incident;	/* sent: the incident is alerted */
	char		 rule[96];	/* a rule's text, for summaries */
	char		 title[TITLE_MAX];
	char		 text[TEXT_MAX];
	struct entry	*next;
};

struct storm {
	char		 key[KEY_MAX];	/* "": a free slot */
	double		 until;		/* monotonic: open until */
	struct entry	*held, *held_tail;	/* owned */
	int		 nheld;
};

static struct {
	struct entry	*batch, *batch_tail;	/* owned */
	int		 nbatch;
	double		 opened;	/* monotonic: the batch's first alert */
	struct storm	 storms[STORMS_MAX];
	struct {
		char	 key[KEY_MAX];
		double	 ts;		/* monotonic; 0: unused */
	}		 recent[RECENT_KEPT];
	int		 recent_next;
	struct hub_agent *flapping;	/* list through state->flap_next */
} al;

/* ---- words ---- */

const char *
hub_sev_name(enum hub_sev s)
{
	static const char *const names[] = { "critical", "warning",
	    "recovery", "info" };

	return s <= SEV_INFO ? names[s] : "?";
}

void
hub_alert_dur(double secs, char *out, size_t outlen)
{
	long s;

	if (secs < 0)
		secs = 0;
	if (secs < 10 && secs - (double)(long)secs >= 0.05) {
		snprintf(out, outlen, "%.1fs", secs);
		return;
	}
	s = (long)(secs + 0.5);
	if (s < 60)
		snprintf(out, outlen, "%lds", s);
	else if (s < 3600 && s % 60 != 0)
		snprintf(out, outlen, "%ldm %lds", s / 60, s % 60);
	else if (s < 3600)
		snprintf(out, outlen, "%ldm", s / 60);
	else if (s < 86400 && s % 3600 / 60 != 0)
		snprintf(out, outlen, "%ldh %ldm", s / 3600, s % 3600 / 60);
	else if (s < 86400)
		snprintf(out, outlen, "%ldh", s / 3600);
	else
		snprintf(out, outlen, "%ldd %ldh", s / 86400, s % 86400 / 3600);
}

void
hub_alert_time(double wall, char *out, size_t outlen)
{
	time_t t = (time_t)wall, now = time(NULL);
	struct tm tm, today;

	if (wall <= 0) {
		snprintf(out, outlen, "never");
		return;
	}
	gmtime_r(&t, &tm);
	gmtime_r(&now, &today);
	if (tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday)
		strftime(out, outlen, "%H:%M:%S UTC", &tm);
	else
		strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void
metrics_words(const struct hub_agent *a, char *out, size_t outlen)
{
	if (!a->have_metrics) {
		snprintf(out, outlen, "No metrics received yet.");
		return;
	}
	if (isnan(a->g.cpu))
		snprintf(out, outlen, "Last metrics: cpu not measured yet, mem "
		    "%.0f%%, disk %.0f%%.", a->g.mem, a->g.disk);
	else
		snprintf(out, outlen, "Last metrics: cpu %.0f%%, mem %.0f%%, "
		    "disk %.0f%%.", a->g.cpu, a->g.mem, a->g.disk);
}

/* "pc-gpu is CRITICAL: no heartbeat for 31s (last seen 12:00:01 UTC).
 * Last metrics: cpu 4%, mem 31%, disk 62%." */
static void
down_text(const struct hub_agent *a, const char *how, char *out,
    size_t outlen)
{
	char quiet[32], seen[48], m[128];

	hub_alert_dur(mc_wall() - a->last_seen, quiet, sizeof(quiet));
	hub_alert_time(a->last_seen, seen, sizeof(seen));
	metrics_words(a, m, sizeof(m));
	if (a->last_seen > 0)
		snprintf(out, outlen, "%s %s: no heartbeat for %s (last seen "
		    "%s). %s", a->name, how, quiet, seen, m);
	else
		snprintf(out, outlen, "%s %s: no heartbeat since the hub "
		    "started. %s", a->name, how, m);
}

/* ---- recording and sending ---- */

static void
alert_id(char *id, size_t idlen)
{
	static uint64_t n;

	if (idlen < 19 || mc_random_hex(id + 2, 8) == -1)
		snprintf(id + 2, idlen - 2, "%llu", (unsigned long long)++n);
	id[0] = 'a';
	id[1] = '-';
}

static void
alert_send(const struct hub_msg *m)
{
	mc_info("alert %s [%s]: %s", m->id, m->event, m->text);
	hub_event("alert", m->agent, m->event, hub_sev_name(m->sev), m->text);
	hub_db_exec("INSERT INTO alerts(id, ts, kind, agent, severity, title,"
	    " text) VALUES (?, ?, ?, ?, ?, ?, ?)", "tdttttt", m->id, m->ts,
	    m->event, m->agent, hub_sev_name(m->sev), m->title, m->text);
	hub_notify_send(m);
}

static void
entry_send(struct entry *e)
{
	char id[MC_ID_MAX];
	struct hub_msg m;

	alert_id(id, sizeof(id));
	memset(&m, 0, sizeof(m));
	m.id = id;
	m.event = e->kind->event;
	m.sev = e->kind->sev;
	m.agent = e->a ? e->a->name : "";
	m.title = e->title;
	m.text = e->text;
	m.ts = mc_wall();
	if (e->incident && e->a != NULL && e->a->alert != NULL)
		e->a->alert->alerted = 1;
	alert_send(&m);
}

/* One message naming every agent of a group (taken and freed): n of
 * them; r of the kind went out just before; more: the rest of a storm. */
static void
summary_send(struct entry *group, int n, int r, int more)
{
	const struct kind *k = group->kind;
	const char **names = calloc((size_t)n, sizeof(*names));
	char id[MC_ID_MAX], title[TITLE_MAX];
	struct entry *e, *next;
	struct hub_msg m;
	struct mc_buf t;
	int i = 0, listed = 0;

	mc_buf_init(&t, SUMMARY_NAMES + 1024);
	mc_buf_printf(&t, "%d %sagents %s", n, more ? "more " : "", k->many);
	if (group->rule[0] != '\0')
		mc_buf_printf(&t, " %s", group->rule);
	mc_buf_puts(&t, ": ");
	for (e = group; e != NULL; e = next) {
		next = e->next;
		if (names != NULL && e->a != NULL)
			names[i++] = e->a->name;
		if (e->a != NULL && t.len < SUMMARY_NAMES &&
		    mc_buf_printf(&t, "%s%s", listed ? ", " : "",
		    e->a->name) == 0)
			listed++;
		if (e->incident && e->a != NULL && e->a->alert != NULL)
			e->a->alert->alerted = 1;
	}
	if (listed < n)
		mc_buf_printf(&t, " and %d more", n - listed);
	mc_buf_puts(&t, ".");
	if (r > 0)
		mc_buf_printf(&t, " %d more just before.", r);
	if (!more)
		mc_buf_puts(&t, " Others that follow soon are named together.");
	snprintf(title, sizeof(title), "%s: %d %sagents", k->label, n,
	    more ? "more " : "");
	alert_id(id, sizeof(id));
	memset(&m, 0, sizeof(m));
	m.id = id;
	m.event = k->event;
	m.sev = k->sev;
	m.agent = "";
	m.agents = names;
	m.nagents = names ? i : 0;
	m.title = title;
	m.text = t.data ? t.data : "";
	m.ts = mc_wall();
	alert_send(&m);
	for (e = group; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	free(names);
	mc_buf_free(&t);
}

/* ---- the batch and storms ---- */

static struct entry *
entry_new(int kind, struct hub_agent *a, const char *key)
{
	struct entry *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		mc_err("alerts: out of memory; an alert for '%s' is lost",
		    a ? a->name : "");
		return NULL;
	}
	e->kind = &kinds[kind];
	e->a = a;
	mc_strlcpy(e->key, key ? key : kinds[kind].event, sizeof(e->key));
	snprintf(e->title, sizeof(e->title), "%s: %s", kinds[kind].label,
	    a ? a->name : "maestro-hub");
	return e;
}

static void batch_flush(double now);

static void
batch_add(struct entry *e)
{
	if (e == NULL)
		return;
	if (al.batch == NULL)
		al.opened = mc_now();
	if (al.batch_tail)
		al.batch_tail->next = e;
	else
		al.batch = e;
	al.batch_tail = e;
	if (++al.nbatch >= BATCH_MAX)
		batch_flush(mc_now());
}

/* Remove from a list the waiting alerts of a that a closing alert of key
 * cancels (key NULL: its incident).  Returns how many. */
static int
list_cancel(struct entry **head, struct entry **tail, struct hub_agent *a,
    const char *key)
{
	struct entry **pp = head, *e, *last = NULL;
	int n = 0;

	while ((e = *pp) != NULL) {
		if (e->a == a && e->opens && (key == NULL ? e->incident :
		    strcmp(e->key, key) == 0)) {
			*pp = e->next;
			free(e);
			n++;
			continue;
		}
		last = e;
		pp = &e->next;
	}
	*tail = last;
	return n;
}

static int
cancel_pending(struct hub_agent *a, const char *key)
{
	struct storm *s;
	int n, k, i;

	n = list_cancel(&al.batch, &al.batch_tail, a, key);
	al.nbatch -= n;
	if (al.batch == NULL)
		al.opened = 0;
	for (i = 0; i < STORMS_MAX; i++) {
		s = &al.storms[i];
		if (s->key[0] == '\0')
			continue;
		k = list_cancel(&s->held, &s->held_tail, a, key);
		s->nheld -= k;
		n += k;
	}
	return n;
}

static double
storm_interval(void)
{
	return hub.conf.heartbeat > hub.conf.storm_window ?
	    hub.conf.heartbeat : hub.conf.storm_window;
}

static struct storm *
storm_find(const char *key)
{
	int i;

	for (i = 0; i < STORMS_MAX; i++)
		if (strcmp(al.storms[i].key, key) == 0)
			return &al.storms[i];
	return NULL;
}

static void
storm_open(const char *key, double now)
{
	struct storm *s = storm_find(key);

	if (s == NULL)
		s = storm_find("");
	if (s == NULL)
		return;		/* STORMS_MAX kinds at once: no hold */
	mc_strlcpy(s->key, key, sizeof(s->key));
	s->until = now + storm_interval();
}

static void
storm_hold(struct storm *s, struct entry *group, int n, double now)
{
	if (s->held_tail)
		s->held_tail->next = group;
	else
		s->held = group;
	while (group->next != NULL)
		group = group->next;
	s->held_tail = group;
	s->nheld += n;
	s->until = now + storm_interval();
}

static int
recent_count(const char *key, double now)
{
	double since = now - storm_interval();
	int i, n = 0;

	for (i = 0; i < RECENT_KEPT; i++)
		if (al.recent[i].ts > since &&
		    strcmp(al.recent[i].key, key) == 0)
			n++;
	return n;
}

static void
recent_add(const char *key, double now)
{
	int i = al.recent_next++ % RECENT_KEPT;

	mc_strlcpy(al.recent[i].key, key, sizeof(al.recent[i].key));
	al.recent[i].ts = now;
}

/* Drop the alerts of silenced agents (recorded as such); the rest stay
 * in order.  Returns the list, n updated. */
static struct entry *
drop_muted(struct entry *list, int *n)
{
	struct entry *head = NULL, **tail = &head, *e, *next;

	*n = 0;
	for (e = list; e != NULL; e = next) {
		next = e->next;
		e->next = NULL;
		if (e->a != NULL && hub_silence_match(e->a) != NULL) {
			mc_info("alert for '%s' silenced: %s", e->a->name,
			    e->text);
			hub_event("alert", e->a->name, e->kind->event,
			    "silenced", e->text);
			free(e);
			continue;
		}
		*tail = e;
		tail = &e->next;
		(*n)++;
	}
	return head;
}

/* Send one group of alerts of one key: held by an open storm, as one
 * summary, or one by one. */
static void
group_send(const char *key, struct entry *group, double now)
{
	struct storm *s;
	struct entry *e;
	int n, r;

	group = drop_muted(group, &n);
	if (group == NULL)
		return;
	s = storm_find(key);
	if (s != NULL && now < s->until) {
		storm_hold(s, group, n, now);
		return;
	}
	r = recent_count(key, now);
	if (n + r >= hub.conf.storm_count) {
		mc_warn("alerts: storm: %d '%s' alerts at once; one summary",
		    n + r, key);
		summary_send(group, n, r, 0);
		storm_open(key, now);
		return;
	}
	while ((e = group) != NULL) {
		group = e->next;
		entry_send(e);
		recent_add(key, now);
		free(e);
	}
}

static void
batch_flush(double now)
{
	struct entry *list = al.batch, *group, **gt, **pp, *e;
	char key[KEY_MAX];

	al.batch = al.batch_tail = NULL;
	al.nbatch = 0;
	al.opened = 0;
	while (list != NULL) {
		mc_strlcpy(key, list->key, sizeof(key));
		group = NULL;
		gt = &group;
		pp = &list;
		while ((e = *pp) != NULL) {
			if (strcmp(e->key, key) != 0) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			e->next = NULL;
			*gt = e;
			gt = &e->next;
		}
		group_send(key, group, now);
	}
}

/* Is another agent on its way to critical? */
static int
late_elsewhere(void)
{
	const struct hub_agent *a;

	for (a = hub_agent_first(); a != NULL; a = a->next)
		if (a->status == ST_LATE)
			return 1;
	return 0;
}

static int
batch_due(double now)
{
	const struct entry *e;

	if (al.batch == NULL)
		return 0;
	if (now - al.opened >= hub.conf.storm_window)
		return 1;
	for (e = al.batch; e != NULL; e = e->next)
		if (!e->incident)
			return 0;
	return !late_elsewhere();
}

static void
storms_close(double now)
{
	struct storm *s;
	struct entry *held;
	int i, n;

	for (i = 0; i < STORMS_MAX; i++) {
		s = &al.storms[i];
		if (s->key[0] == '\0' || now < s->until)
			continue;
		held = drop_muted(s->held, &n);
		s->held = s->held_tail = NULL;
		s->nheld = 0;
		if (held != NULL)
			summary_send(held, n, 0, 1);
		mc_info("alerts: storm of '%s' alerts is over", s->key);
		s->key[0] = '\0';
	}
}

/* ---- incidents and flapping ---- */

static struct hub_alert_state *
state_get(struct hub_agent *a)
{
	if (a->alert == NULL && (a->alert = calloc(1,
	    sizeof(*a->alert))) == NULL)
		mc_err("alerts: out of memory for agent '%s'", a->name);
	return a->alert;
}

/* Remember a critical onset; how many fall within flap_window. */
static int
flap_onsets(struct hub_alert_state *st, double now)
{
	int i, n = 0;

	st->onsets[st->onset_next] = now;
	st->onset_next = (st->onset_next + 1) % FLAP_RING;
	if (st->nonsets < FLAP_RING)
		st->nonsets++;
	for (i = 0; i < st->nonsets; i++)
		if (now - st->onsets[i] <= hub.conf.flap_window)
			n++;
	return n;
}

static void
flap_start(struct hub_agent *a, struct hub_alert_state *st, int n)
{
	char win[32], settle[32];
	struct entry *e;

	st->flapping = 1;
	st->flap_next = al.flapping;
	al.flapping = a;
	cancel_pending(a, NULL);
	if ((e = entry_new(K_FLAPPING, a, NULL)) == NULL)
		return;
	hub_alert_dur(hub.conf.flap_window, win, sizeof(win));
	hub_alert_dur(hub.conf.flap_window / 2, settle, sizeof(settle));
	snprintf(e->text, sizeof(e->text), "%s is FLAPPING: it went critical "
	    "%d times in %s. Its alerts are held until it keeps one state "
	    "for %s.", a->name, n, win, settle);
	batch_add(e);
}

static void
on_down(struct hub_agent *a, int not_back)
{
	struct hub_alert_state *st = state_get(a);
	double now = mc_now();
	struct entry *e;
	int n;

	if (st == NULL)
		return;
	st->down_seen = a->last_seen;
	st->alerted = 0;
	st->last_toggle = now;
	n = flap_onsets(st, now);
	if (st->flapping)
		return;
	if (n > hub.conf.flap_count) {
		flap_start(a, st, n);
		return;
	}
	if ((e = entry_new(not_back ? K_NOT_BACK : K_CRITICAL, a,
	    NULL)) == NULL)
		return;
	e->opens = e->incident = 1;
	down_text(a, not_back ? "did not come back from a restart" :
	    "is CRITICAL", e->text, sizeof(e->text));
	batch_add(e);
}

static void
on_up(struct hub_agent *a, enum hub_status to, const char *detail)
{
	struct hub_alert_state *st = a->alert;
	char down[32];
	struct entry *e;
	size_t n;

	if (st == NULL)
		return;
	st->last_toggle = mc_now();
	if (st->flapping)
		return;
	if (cancel_pending(a, NULL) > 0 || !st->alerted) {
		st->alerted = 0;	/* never told: nothing to take back */
		return;
	}
	st->alerted = 0;
	if ((e = entry_new(K_RECOVERED, a, NULL)) == NULL)
		return;
	hub_alert_dur(mc_wall() - st->down_seen, down, sizeof(down));
	snprintf(e->text, sizeof(e->text), "%s recovered after %s down.",
	    a->name, down);
	n = strlen(e->text);
	if (to == ST_OFFLINE)
		snprintf(e->text + n, sizeof(e->text) - n, " It said goodbye "
		    "(%s) and is offline.", detail);
	batch_add(e);
}

static void
on_goodbye(struct hub_agent *a, const char *detail)
{
	struct entry *e = entry_new(K_OFFLINE, a, NULL);

	if (e == NULL)
		return;
	snprintf(e->text, sizeof(e->text), "%s went offline: it said goodbye "
	    "(%s). That is not an incident; no critical alert follows.",
	    a->name, detail[0] ? detail : "no reason given");
	batch_add(e);
}

/* Back after a goodbye, or (detail HUB_FIRST_CONNECTION) a new agent. */
static void
on_back(struct hub_agent *a, const char *detail)
{
	int first = strcmp(detail, HUB_FIRST_CONNECTION) == 0;
	struct entry *e = entry_new(first ? K_FIRST : K_ONLINE, a, NULL);

	if (e == NULL)
		return;
	snprintf(e->text, sizeof(e->text), first ? "%s connected for the "
	    "first time." : "%s is online again.", a->name);
	batch_add(e);
}

void
hub_alert_status(struct hub_agent *a, enum hub_status from,
    enum hub_status to, const char *detail)
{
	if (to == ST_CRITICAL)
		on_down(a, from == ST_RESTARTING);
	else if (from == ST_CRITICAL)
		on_up(a, to, detail);
	else if (to == ST_OFFLINE && hub.conf.alert_on_offline)
		on_goodbye(a, detail);
	else if (from == ST_OFFLINE && to == ST_ONLINE &&
	    hub.conf.alert_on_offline)
		on_back(a, detail);
}

static void
settled(struct hub_agent *a)
{
	char settle[32];
	struct entry *e;

	if (a->status == ST_CRITICAL) {
		if ((e = entry_new(K_CRITICAL, a, NULL)) == NULL)
			return;
		e->opens = e->incident = 1;
		down_text(a, "stopped flapping and is CRITICAL", e->text,
		    sizeof(e->text));
	} else {
		if ((e = entry_new(K_SETTLED, a, NULL)) == NULL)
			return;
		hub_alert_dur(hub.conf.flap_window / 2, settle,
		    sizeof(settle));
		snprintf(e->text, sizeof(e->text), "%s stopped flapping: it "
		    "has been %s for %s.", a->name, hub_status_name(a->status),
		    settle);
	}
	batch_add(e);
}

/* Agents that kept one state for flap_window / 2 stop flapping. */
static void
flap_settle(double now)
{
	struct hub_agent **pp = &al.flapping, *a;
	struct hub_alert_state *st;

	while ((a = *pp) != NULL) {
		st = a->alert;
		if (now - st->last_toggle < hub.conf.flap_window / 2) {
			pp = &st->flap_next;
			continue;
		}
		*pp = st->flap_next;
		st->flap_next = NULL;
		st->flapping = 0;
		st->nonsets = st->onset_next = 0;
		settled(a);
	}
}

/* ---- rules, notices, silences, tests ---- */

void
hub_alert_rule(struct hub_agent *a, int rule, const char *rule_text,
    int fired, const char *text)
{
	char key[KEY_MAX];
	struct entry *e;

	snprintf(key, sizeof(key), "rule:%d", rule);
	if (!fired && cancel_pending(a, key) > 0)
		return;		/* it cleared before its alert left */
	if ((e = entry_new(fired ? K_RULE : K_RULE_CLEAR, a, key)) == NULL)
		return;
	e->opens = fired;
	mc_strlcpy(e->rule, rule_text, sizeof(e->rule));
	mc_strlcpy(e->text, text, sizeof(e->text));
	batch_add(e);
}

static const struct kind *
kind_find(const char *event)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i].event, event) == 0)
			return &kinds[i];
	return &kinds[K_TEST];
}

void
hub_alert_notice(const char *event, const char *agent, const char *title,
    const char *text)
{
	const struct kind *k = kind_find(event);
	char id[MC_ID_MAX];
	struct hub_msg m;

	alert_id(id, sizeof(id));
	memset(&m, 0, sizeof(m));
	m.id = id;
	m.event = k->event;
	m.sev = k->sev;
	m.agent = agent;
	m.title = title;
	m.text = text;
	m.ts = mc_wall();
	alert_send(&m);
}

void
hub_alert_unmuted(const struct hub_silence *s)
{
	struct hub_agent *a;
	struct entry *e;

	for (a = hub_agent_first(); a != NULL; a = a->next) {
		if (a->status != ST_CRITICAL || a->alert == NULL ||
		    a->alert->alerted || a->alert->flapping ||
		    !hub_silence_covers(s, a))
			continue;
		cancel_pending(a, NULL);
		if ((e = entry_new(K_CRITICAL, a, NULL)) == NULL)
			continue;
		e->opens = e->incident = 1;
		down_text(a, "is still CRITICAL now that its silence has ended",
		    e->text, sizeof(e->text));
		batch_add(e);
	}
}

void
hub_alert_test(struct hub_req *r)
{
	char id[MC_ID_MAX], text[256];
	struct hub_msg m;

	snprintf(text, sizeof(text), "Test message from maestro-hub, asked "
	    "for by %s: alerts reach this channel.", r->token ?
	    r->token->name : "an operator");
	alert_id(id, sizeof(id));
	memset(&m, 0, sizeof(m));
	m.id = id;
	m.event = "test";
	m.sev = SEV_INFO;
	m.agent = "";
	m.title = "TEST: maestro-hub";
	m.text = text;
	m.ts = mc_wall();
	mc_info("alert %s [test]: to every channel", id);
	hub_event("alert", "", "test", "info", text);
	hub_db_exec("INSERT INTO alerts(id, ts, kind, agent, severity, title,"
	    " text) VALUES (?, ?, ?, ?, ?, ?, ?)", "tdttttt", m.id, m.ts,
	    m.event, m.agent, "info", m.title, m.text);
	hub_notify_test(r, &m);
}

/* ---- the tick, start and shutdown ---- */

void
hub_alert_tick(double now)
{
	hub_silence_expire(mc_wall());
	flap_settle(now);
	if (batch_due(now))
		batch_flush(now);
	storms_close(now);
	hub_notify_tick(now);
}

static int
schema_run(struct sqlite3 *db, void *arg)
{
	char *err = NULL;

	(void)arg;
	if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS alerts(id TEXT"
	    " PRIMARY KEY, ts REAL, kind TEXT, agent TEXT, severity TEXT,"
	    " title TEXT, text TEXT, outcomes TEXT);"
	    "CREATE INDEX IF NOT EXISTS alerts_ts ON alerts(ts);", NULL, NULL,
	    &err) != SQLITE_OK) {
		mc_err("alerts: cannot create the alerts table: %s", err);
		sqlite3_free(err);
	}
	return SQLITE_OK;
}

int
hub_alert_start(void)
{
	struct hub_alert_state *st;
	struct hub_agent *a;

	hub_db_call(schema_run, NULL, NULL);
	/* agents already critical were alerted before the hub restarted:
	 * their recovery is due */
	for (a = hub_agent_first(); a != NULL; a = a->next) {
		if (a->status != ST_CRITICAL || (st = state_get(a)) == NULL)
			continue;
		st->alerted = 1;
		st->down_seen = a->last_seen;
	}
	hub_silence_start();
	if (hub_rules_count() > 0)
		mc_info("alerts: %d threshold rule%s", hub_rules_count(),
		    hub_rules_count() > 1 ? "s" : "");
	return hub_notify_start();
}

static int
list_free(struct entry *e)
{
	struct entry *next;
	int n = 0;

	for (; e != NULL; e = next, n++) {
		next = e->next;
		free(e);
	}
	return n;
}

void
hub_alert_shutdown(void)
{
	struct hub_agent *a;
	int i, n;

	hub_notify_stop();
	hub_notify_drain();
	n = list_free(al.batch);
	for (i = 0; i < STORMS_MAX; i++)
		n += list_free(al.storms[i].held);
	if (n > 0)
		mc_warn("alerts: %d alert%s not sent (the hub stopped)", n,
		    n > 1 ? "s" : "");
	memset(&al, 0, sizeof(al));
	for (a = hub_agent_first(); a != NULL; a = a->next) {
		free(a->alert);
		a->alert = NULL;
	}
	hub_rules_free_all();
	hub_silence_free_all();
}
