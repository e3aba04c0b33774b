/*
 * hub_silence.c - silences: alerts muted for planned work.
 *
 * A silence covers one agent or every agent with a tag, for a duration,
 * with a reason and who asked.  Running silences live in memory (checked
 * when an alert is about to leave: O(silences)) and in the silences table,
 * so they survive a hub restart; they are read back off the loop at start.
 * A silence's start and its end (time up, or cleared) are events and are
 * told to the alert channels, and when one ends, agents it covered that
 * are still critical are alerted then (hub_alert_unmuted()).
 *
 * Silences from the config repository (silences.conf, hub_gitcfg_apply.c)
 * are planned: each has its own start, lives in memory only (the
 * repository is their record) and is marked "git"; a new commit replaces
 * exactly those, keeping the ones it gives again unchanged, and never
 * touches a silence made through the API.
 *
 * On a store several hubs share, a silence made through any hub's API is
 * in force on all of them, since the hub that records an agent's
 * incident is the one that mutes it.  Each row names the hub that made
 * it; every few seconds each hub reads the silences (hub_silence_sync.c,
 * hub_silence_sync()): one it does not have is taken quietly (its maker
 * told its start), one ended through another hub (cleared there) ends
 * here quietly, and what it muted here is alerted now, as for one ending
 * here.  When its time is up every hub ends it, and only its maker tells
 * the channels (a maker that is down tells when it is back: its start-up
 * read finds the silence still open).  A silence cleared here is told
 * here, whoever made it.  The ids of the silences ended here are
 * remembered (hub_idring.c), so that a read from before the end was
 * stored does not bring one back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "hub.h"
#include "hub_sql.h"
#include "mc_log.h"
#include "mc_util.h"

struct hub_silence {
	char		 id[16];		/* "s-<hex>" */
	char		 agent[MC_NAME_MAX + 1];	/* or "" */
	char		 tag[MC_TAG_MAX + 1];	/* or "" */
	double		 created, until;	/* wall clock */
	double		 start;		/* wall clock; covers from then */
	int		 git;		/* from the config repository */
	char		 reason[MC_TEXT_MAX];
	char		 by[MC_NAME_MAX + 1];
	char		 hub[64];		/* the hub that made it */
	struct hub_silence *next;
};

static struct {
	struct hub_silence *head;	/* owned: running, oldest first */
	int		    n;
	struct hub_idring   gone;		/* ended here */
	int		    full_told;
} sl;

/* Made here (or one hub owns the store): this hub tells its end. */
static int
mine(const struct hub_silence *s)
{
	return !hub_db_shared() || strcmp(s->hub, hub.conf.hub_name) == 0;
}

/* "pc-gpu" or "tag gpu", for events and messages. */
static void
target(const struct hub_silence *s, char *out, size_t outlen)
{
	if (s->agent[0] != '\0')
		snprintf(out, outlen, "%s", s->agent);
	else
		snprintf(out, outlen, "tag:%s", s->tag);
}

static void
target_words(const struct hub_silence *s, char *out, size_t outlen)
{
	if (s->agent[0] != '\0')
		snprintf(out, outlen, "%s", s->agent);
	else
		snprintf(out, outlen, "agents tagged %s", s->tag);
}

static void
link_silence(struct hub_silence *s)
{
	struct hub_silence **pp = &sl.head;

	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = s;
	sl.n++;
}

int
hub_silence_covers(const struct hub_silence *s, const struct hub_agent *a)
{
	if (s->agent[0] != '\0')
		return strcmp(s->agent, a->name) == 0;
	return hub_agent_has_tag(a, s->tag);
}

int
hub_silence_any_covers(const struct hub_silence *list,
    const struct hub_agent *a)
{
	for (; list != NULL; list = list->next)
		if (hub_silence_covers(list, a))
			return 1;
	return 0;
}

const struct hub_silence *
hub_silence_match(const struct hub_agent *a)
{
	const struct hub_silence *s;
	double now = mc_wall();

	for (s = sl.head; s != NULL; s = s->next)
		if (s->start <= now && s->until > now &&
		    hub_silence_covers(s, a))
			return s;
	return NULL;
}

const struct hub_silence *
hub_silence_add(const char *agent, const char *tag, double secs,
    const char *reason, const char *by, char *why, size_t whylen)
{
	char who[MC_NAME_MAX + 16], words[MC_NAME_MAX + 32], dur[32], until[48];
	char text[MC_TEXT_MAX * 3], title[MC_NAME_MAX + 48];
	struct hub_silence *s;

	if (sl.n >= MC_SILENCES_MAX) {
		snprintf(why, whylen, "%d silences are running already; clear "
		    "some first", MC_SILENCES_MAX);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    mc_random_hex(s->id + 2, 6) == -1) {
		free(s);
		snprintf(why, whylen, "cannot make a silence now");
		return NULL;
	}
	s->id[0] = 's';
	s->id[1] = '-';
	mc_strlcpy(s->agent, agent ? agent : "", sizeof(s->agent));
	mc_strlcpy(s->tag, tag ? tag : "", sizeof(s->tag));
	s->created = s->start = mc_wall();
	s->until = s->created + secs;
	mc_strlcpy(s->reason, reason ? reason : "", sizeof(s->reason));
	mc_strlcpy(s->by, by ? by : "", sizeof(s->by));
	mc_strlcpy(s->hub, hub.conf.hub_name, sizeof(s->hub));
	link_silence(s);
	hub_db_exec("INSERT INTO silences(id, agent, tag, created, until,"
	    " reason, created_by, hub) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	    "tttddttt", s->id, s->agent, s->tag, s->created, s->until,
	    s->reason, s->by, s->hub);
	target(s, who, sizeof(who));
	target_words(s, words, sizeof(words));
	hub_alert_dur(secs, dur, sizeof(dur));
	hub_alert_time(s->until, until, sizeof(until));
	snprintf(text, sizeof(text), "Alerts for %s are silenced for %s "
	    "(until %s) by %s%s%s.", words, dur, until, s->by,
	    s->reason[0] ? ": " : "", s->reason);
	snprintf(title, sizeof(title), "SILENCED: %s", words);
	mc_info("silence %s: %s", s->id, text);
	hub_event("silence", who, "", "started", text);
	hub_alert_notice("silence", s->agent, title, text);
	return s;
}

/* End s, a planned silence that has not started: nothing was muted, so
 * nothing is re-alerted and no channel is told; the event log says it.
 * (A commit that drops 100 planned silences is not 100 alerts.) */
static void
planned_end(struct hub_silence *s, const char *who, const char *words,
    const char *how, const char *by)
{
	char text[MC_TEXT_MAX * 3], from[48];

	hub_alert_time(s->start, from, sizeof(from));
	snprintf(text, sizeof(text), "The silence on %s planned from %s was "
	    "%s%s%s before it started%s%s.", words, from, how,
	    by != NULL ? " by " : "", by != NULL ? by : "",
	    s->reason[0] ? "; it was for: " : "", s->reason);
	if (!s->git)
		hub_db_exec("UPDATE silences SET ended = ?, end_how = ? "
		    "WHERE id = ?", "dtt", mc_wall(), how, s->id);
	hub_event("silence", who, "planned", how, text);
	free(s);
}

/* End s (unlinked by the caller) without a word: another hub tells.  It
 * goes on *ended for ended_flush(), which alerts what it muted here. */
static void
silence_quiet(struct hub_silence *s, const char *how,
    struct hub_silence **ended)
{
	sl.n--;
	hub_idring_add(&sl.gone, s->id);
	mc_info("silence %s (made through hub %s) %s", s->id,
	    s->hub[0] ? s->hub : "unknown", how);
	s->next = *ended;
	*ended = s;
}

/* End s (unlinked by the caller): record and tell.  A silence that was
 * muting goes on *ended for ended_flush(); a planned one is freed. */
static void
silence_end(struct hub_silence *s, const char *how, const char *by,
    struct hub_silence **ended)
{
	char who[MC_NAME_MAX + 16], words[MC_NAME_MAX + 32];
	char text[MC_TEXT_MAX * 3], title[MC_NAME_MAX + 48];
	double now = mc_wall();

	if (by == NULL && !mine(s)) {
		silence_quiet(s, "ended; its hub tells", ended);
		return;
	}
	sl.n--;
	hub_idring_add(&sl.gone, s->id);
	target(s, who, sizeof(who));
	target_words(s, words, sizeof(words));
	if (s->start > now) {
		planned_end(s, who, words, how, by);
		return;
	}
	if (by != NULL)
		snprintf(text, sizeof(text), "The silence on %s was cleared by "
		    "%s%s%s.", words, by, s->reason[0] ? "; it was for: " : "",
		    s->reason);
	else
		snprintf(text, sizeof(text), "The silence on %s has ended%s%s.",
		    words, s->reason[0] ? "; it was for: " : "", s->reason);
	snprintf(title, sizeof(title), "SILENCE ENDED: %s", words);
	mc_info("silence %s: %s", s->id, text);
	if (!s->git)
		hub_db_exec("UPDATE silences SET ended = ?, end_how = ? "
		    "WHERE id = ?", "dtt", now, how, s->id);
	hub_event("silence", who, "started", how, text);
	hub_alert_notice("silence_end", s->agent, title, text);
	s->next = *ended;
	*ended = s;
}

/* Re-alert what the ended silences (a list) muted and is still down, in
 * one walk of the agents for all of them, then free them. */
static void
ended_flush(struct hub_silence *ended)
{
	struct hub_silence *next;

	if (ended != NULL)
		hub_alert_unmuted(ended);
	for (; ended != NULL; ended = next) {
		next = ended->next;
		free(ended);
	}
}

int
hub_silence_clear(const char *id, const char *by)
{
	struct hub_silence **pp, *s, *ended = NULL;

	for (pp = &sl.head; (s = *pp) != NULL; pp = &s->next) {
		if (strcmp(s->id, id) == 0) {
			*pp = s->next;
			silence_end(s, "cleared", by, &ended);
			ended_flush(ended);
			return 0;
		}
	}
	return -1;
}

void
hub_silence_expire(double wall)
{
	struct hub_silence **pp = &sl.head, *s, *ended = NULL;

	while ((s = *pp) != NULL) {
		if (s->until > wall) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		silence_end(s, "ended", NULL, &ended);
	}
	ended_flush(ended);
}

/* ---- the config repository's silences ---- */

static int
plan_same(const struct hub_silence *s, const struct hub_silence_plan *p)
{
	return strcmp(s->agent, p->agent) == 0 && strcmp(s->tag, p->tag) == 0
	    && s->start == p->start && s->until == p->until &&
	    strcmp(s->reason, p->reason) == 0;
}

/* End the git silences that plan (n of them) no longer holds; keep[i] is
 * set for each plan entry already running. */
static void
git_end_gone(const struct hub_silence_plan *plan, int n, char *keep)
{
	struct hub_silence **pp = &sl.head, *s, *ended = NULL;
	int i, found;

	while ((s = *pp) != NULL) {
		found = 0;
		for (i = 0; s->git && i < n && !found; i++)
			if (!keep[i] && plan_same(s, &plan[i]))
				found = keep[i] = 1;
		if (!s->git || found) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		silence_end(s, "removed", "a config commit", &ended);
	}
	ended_flush(ended);
}

static void
git_add(const struct hub_silence_plan *p, const char *commit)
{
	char who[MC_NAME_MAX + 16], text[MC_TEXT_MAX * 2], from[48], to[48];
	struct hub_silence *s = NULL;

	if (sl.n >= MC_SILENCES_MAX || (s = calloc(1, sizeof(*s))) == NULL ||
	    mc_random_hex(s->id + 2, 6) == -1) {
		free(s);
		mc_warn("silences: no room for one more; silences.conf's "
		    "entries past it are not in force");
		return;
	}
	memcpy(s->id, "s-", 2);
	mc_strlcpy(s->agent, p->agent, sizeof(s->agent));
	mc_strlcpy(s->tag, p->tag, sizeof(s->tag));
	s->created = mc_wall();
	s->start = p->start;
	s->until = p->until;
	s->git = 1;
	mc_strlcpy(s->reason, p->reason, sizeof(s->reason));
	snprintf(s->by, sizeof(s->by), "git %.12s", commit);
	mc_strlcpy(s->hub, hub.conf.hub_name, sizeof(s->hub));
	link_silence(s);
	target(s, who, sizeof(who));
	hub_alert_time(s->start, from, sizeof(from));
	hub_alert_time(s->until, to, sizeof(to));
	snprintf(text, sizeof(text), "Silence from the config repository "
	    "(commit %.12s): %s to %s%s%s.", commit, from, to,
	    s->reason[0] ? ": " : "", s->reason);
	hub_event("silence", who, "", "planned", text);
}

void
hub_silence_install_git(const struct hub_silence_plan *plan, int n,
    const char *commit)
{
	double now = mc_wall();
	char *keep = calloc((size_t)n + 1, 1);
	int i;

	if (keep == NULL) {
		mc_err("silences: out of memory; silences.conf not applied");
		return;
	}
	git_end_gone(plan, n, keep);
	for (i = 0; i < n; i++)
		if (!keep[i] && plan[i].until > now)
			git_add(&plan[i], commit);
	free(keep);
}

const char *
hub_silence_id(const struct hub_silence *s)
{
	return s->id;
}

void
hub_silence_write_one(struct mc_jw *w, const struct hub_silence *s)
{
	mc_jw_obj(w, NULL);
	mc_jw_str(w, "id", s->id);
	if (s->agent[0] != '\0')
		mc_jw_str(w, "agent", s->agent);
	else
		mc_jw_null(w, "agent");
	if (s->tag[0] != '\0')
		mc_jw_str(w, "tag", s->tag);
	else
		mc_jw_null(w, "tag");
	mc_jw_dbl(w, "created", s->created);
	mc_jw_dbl(w, "start", s->start);
	mc_jw_dbl(w, "until", s->until);
	mc_jw_str(w, "source", s->git ? "git" : "api");
	mc_jw_str(w, "reason", s->reason);
	mc_jw_str(w, "by", s->by);
	if (s->hub[0] != '\0')
		mc_jw_str(w, "hub", s->hub);
	mc_jw_obj_end(w);
}

void
hub_silence_write(struct mc_jw *w)
{
	const struct hub_silence *s;

	mc_jw_obj(w, NULL);
	mc_jw_arr(w, "silences");
	for (s = sl.head; s != NULL; s = s->next)
		hub_silence_write_one(w, s);
	mc_jw_arr_end(w);
	mc_jw_obj_end(w);
}

void
hub_silence_each(void (*fn)(const struct hub_silence_plan *, const char *,
    const char *, void *), void *arg)
{
	const struct hub_silence *s;
	struct hub_silence_plan p;

	for (s = sl.head; s != NULL; s = s->next) {
		memset(&p, 0, sizeof(p));
		mc_strlcpy(p.agent, s->agent, sizeof(p.agent));
		mc_strlcpy(p.tag, s->tag, sizeof(p.tag));
		p.start = s->start;
		p.until = s->until;
		mc_strlcpy(p.reason, s->reason, sizeof(p.reason));
		fn(&p, s->id, s->by, arg);
	}
}

void
hub_silence_free_all(void)
{
	struct hub_silence *s;

	while ((s = sl.head) != NULL) {
		sl.head = s->next;
		free(s);
	}
	sl.n = 0;
}

/* ---- a store shared with other hubs ---- */

static struct hub_silence **
find_link(const char *id)
{
	struct hub_silence **pp;

	for (pp = &sl.head; *pp != NULL; pp = &(*pp)->next)
		if (!(*pp)->git && strcmp((*pp)->id, id) == 0)
			return pp;
	return NULL;
}

/* A silence another hub made: in force here from now, without a word. */
static void
learn(const struct hub_silence_row *r)
{
	struct hub_silence *s;

	if (sl.n >= MC_SILENCES_MAX) {
		if (!sl.full_told++)
			mc_warn("silences: %d running; silence %s made "
			    "through hub %s is not in force here",
			    MC_SILENCES_MAX, r->id, r->hub);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return;
	mc_strlcpy(s->id, r->id, sizeof(s->id));
	mc_strlcpy(s->agent, r->agent, sizeof(s->agent));
	mc_strlcpy(s->tag, r->tag, sizeof(s->tag));
	s->created = s->start = r->created;
	s->until = r->until;
	mc_strlcpy(s->reason, r->reason, sizeof(s->reason));
	mc_strlcpy(s->by, r->by, sizeof(s->by));
	mc_strlcpy(s->hub, r->hub, sizeof(s->hub));
	link_silence(s);
	mc_info("silence %s on %s%s, made through hub %s, is in force here "
	    "too", s->id, s->agent[0] ? "" : "tag ", s->agent[0] ? s->agent :
	    s->tag, s->hub[0] ? s->hub : "unknown");
}

void
hub_silence_sync(const struct hub_silence_row *rows, int n)
{
	struct hub_silence **pp, *s, *ended = NULL;
	double now = mc_wall();
	int i;

	for (i = 0; i < n; i++) {
		pp = find_link(rows[i].id);
		if (rows[i].ended && pp != NULL) {
			s = *pp;
			*pp = s->next;
			silence_quiet(s, "was ended through another hub",
			    &ended);
		} else if (!rows[i].ended && pp == NULL &&
		    rows[i].until > now && !hub_idring_has(&sl.gone, rows[i].id))
			learn(&rows[i]);
	}
	ended_flush(ended);
}

/* ---- start: the table, and the silences still running ---- */

struct load {
	struct hub_silence *head;	/* owned until installed */
};

/* Writer thread. */
static int
load_run(struct hub_sql *db, void *arg)
{
	struct load *l = arg;
	struct hub_silence *s, **tail = &l->head;
	struct hub_sql_stmt *st;

	if (hub_sql_prepare(db, "SELECT id, agent, tag, created, until,"
	    " reason, created_by, hub FROM silences WHERE ended IS NULL"
	    " ORDER BY created", &st) != HUB_SQL_OK)
		return HUB_SQL_OK;
	while (hub_sql_step(st) == HUB_SQL_ROW) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			break;
		mc_strlcpy(s->id, hub_sql_str(st, 0), sizeof(s->id));
		mc_strlcpy(s->agent, hub_sql_str(st, 1), sizeof(s->agent));
		mc_strlcpy(s->tag, hub_sql_str(st, 2), sizeof(s->tag));
		s->created = hub_sql_double(st, 3);
		s->start = s->created;
		s->until = hub_sql_double(st, 4);
		mc_strlcpy(s->reason, hub_sql_str(st, 5), sizeof(s->reason));
		mc_strlcpy(s->by, hub_sql_str(st, 6), sizeof(s->by));
		mc_strlcpy(s->hub, hub_sql_str(st, 7), sizeof(s->hub));
		*tail = s;
		tail = &s->next;
	}
	hub_sql_finalize(st);
	return HUB_SQL_OK;
}

/* Service thread: the silences read apply from now; those whose time
 * passed while the hub was down end at the next tick. */
static void
load_done(void *arg, int stored)
{
	struct load *l = arg;
	struct hub_silence *s;
	int n = 0;

	(void)stored;	/* a read: it ran */
	while ((s = l->head) != NULL) {
		l->head = s->next;
		s->next = NULL;
		if (sl.n >= MC_SILENCES_MAX) {
			free(s);
			continue;
		}
		link_silence(s);
		n++;
	}
	if (n > 0)
		mc_info("silences: %d running", n);
	free(l);
}

void
hub_silence_start(void)
{
	struct load *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		mc_err("silences: out of memory at start");
		return;
	}
	hub_db_read(load_run, load_done, l);
}
