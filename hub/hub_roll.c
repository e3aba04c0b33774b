/*
 * hub_roll.c - rolling a published release out to listeners, a batch at
 * a time, driven on the hub's loop by command results, hellos and
 * hub_cron, so a roll goes on without the hubctl that started it.
 *
 * An agent goes pending -> sent (its listener_update is out) ->
 * installed (the command's result is done: the listener swapped and
 * re-executes) -> updated (a hello names the new version).  Or: failed
 * (the command failed, with its reason, or could not be sent),
 * rolled_back (a hello after the install names another version; the
 * listener's "update" error says why), timed_out (no hello with the new
 * version HUB_ROLL_CONFIRM s after the result).  An agent already on the
 * version, or not online when its batch starts, is skipped.
 *
 * Rules kept here:
 * - The next batch starts when every agent of this one is settled and
 *   the pause has passed; a batch with any failed, rolled_back or
 *   timed_out agent stops the roll, naming the first.
 * - One roll runs at a time: two would race for the same listeners.
 * - Rolls live in memory (the last HUB_ROLLS_MAX); a hub restart ends
 *   them.  Their commands are ordinary ones, stored with the history;
 *   one the store holds unfinished at start-up ends lost
 *   (hub_roll_load), since its release and ticket were in memory only.
 * - Events: roll_started, roll_stopped, roll_done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "hub.h"
#include "hub_sql.h"
#include "mc_log.h"
#include "mc_util.h"

#define ROLL_CMD_TIMEOUT	300	/* seconds for download and swap */
#define ROLL_RESTARTED		"the hub restarted during the roll; roll again"

static struct hub_roll *rolls;		/* owned list, newest first */

static const char *const state_names[] = {
	"pending", "sent", "installed", "updated", "skipped", "failed",
	"rolled_back", "timed_out"
};

const char *
hub_roll_state_name(enum hub_roll_state s)
{
	return s <= ROLL_TIMED_OUT ? state_names[s] : "?";
}

const char *
hub_roll_status(const struct hub_roll *r)
{
	if (r->finished == 0)
		return r->resume > 0 ? "pausing" : "running";
	return r->stop_why[0] ? "stopped" : "done";
}

static int
is_bad(enum hub_roll_state s)
{
	return s >= ROLL_FAILED;
}

static int
is_settled(enum hub_roll_state s)
{
	return s >= ROLL_UPDATED;
}

struct hub_roll *
hub_roll_find(const char *id)
{
	struct hub_roll *r;

	for (r = rolls; r != NULL; r = r->nextr)
		if (strcmp(r->id, id) == 0)
			return r;
	return NULL;
}

const struct hub_roll *
hub_roll_first(void)
{
	return rolls;
}

static void
roll_free(struct hub_roll *r)
{
	if (r != NULL)
		free(r->agents);
	free(r);
}

/* Drop the oldest finished rolls past HUB_ROLLS_MAX - 1. */
static void
rolls_trim(void)
{
	struct hub_roll **pp, *r;
	int n = 0;

	for (pp = &rolls; *pp != NULL;) {
		r = *pp;
		if (++n >= HUB_ROLLS_MAX && r->finished > 0) {
			*pp = r->nextr;
			roll_free(r);
		} else
			pp = &r->nextr;
	}
}

void
hub_roll_write(struct mc_jw *w, const struct hub_roll *r)
{
	const struct hub_roll_agent *t;
	int i, n[ROLL_TIMED_OUT + 1];

	memset(n, 0, sizeof(n));
	mc_jw_obj(w, NULL);
	mc_jw_str(w, "id", r->id);
	mc_jw_str(w, "version", r->version);
	mc_jw_i64(w, "batch", r->batch);
	mc_jw_dbl(w, "pause", r->pause);
	mc_jw_str(w, "requested_by", r->by);
	mc_jw_dbl(w, "created", r->created);
	mc_jw_str(w, "state", hub_roll_status(r));
	if (r->finished > 0)
		mc_jw_dbl(w, "finished", r->finished);
	else
		mc_jw_null(w, "finished");
	if (r->stop_why[0] != '\0')
		mc_jw_str(w, "stopped", r->stop_why);
	mc_jw_arr(w, "agents");
	for (i = 0; i < r->nagents; i++) {
		t = &r->agents[i];
		n[t->state]++;
		mc_jw_obj(w, NULL);
		mc_jw_str(w, "agent", t->agent);
		mc_jw_str(w, "state", hub_roll_state_name(t->state));
		mc_jw_str(w, "before", t->before);
		mc_jw_str(w, "after", t->after);
		if (t->cmd[0] != '\0')
			mc_jw_str(w, "command", t->cmd);
		if (t->error[0] != '\0')
			mc_jw_str(w, "error", t->error);
		mc_jw_obj_end(w);
	}
	mc_jw_arr_end(w);
	mc_jw_obj(w, "counts");
	for (i = 0; i <= ROLL_TIMED_OUT; i++)
		mc_jw_i64(w, state_names[i], n[i]);
	mc_jw_obj_end(w);
	mc_jw_obj_end(w);
}

/* ---- moving on ---- */

static void
roll_finish(struct hub_roll *r)
{
	char detail[MC_TEXT_MAX];
	int i, up = 0, skipped = 0;

	for (i = 0; i < r->nagents; i++) {
		up += r->agents[i].state == ROLL_UPDATED;
		skipped += r->agents[i].state == ROLL_SKIPPED;
	}
	r->finished = mc_wall();
	r->resume = 0;
	if (r->stop_why[0] != '\0') {
		snprintf(detail, sizeof(detail), "%s: stopped after %d "
		    "updated: %.180s", r->version, up, r->stop_why);
		mc_warn("roll %s %s", r->id, detail);
		hub_event("roll_stopped", "", r->id, "stopped", detail);
		return;
	}
	snprintf(detail, sizeof(detail), "%s: %d updated, %d skipped",
	    r->version, up, skipped);
	mc_info("roll %s done: %s", r->id, detail);
	hub_event("roll_done", "", r->id, "done", detail);
}

/* The listener_update for one agent: its release with a fresh ticket. */
static int
agent_send(struct hub_roll *r, struct hub_roll_agent *t,
    const struct hub_release *rel, struct hub_agent *a)
{
	char ticket[HUB_TICKET_HEX], why[256];
	struct hub_cmd_req q;
	struct mc_release m;
	struct hub_cmd *c;
	int status;

	memset(&m, 0, sizeof(m));
	mc_strlcpy(m.version, rel->version, sizeof(m.version));
	mc_strlcpy(m.sha256, rel->sha256, sizeof(m.sha256));
	m.size = rel->size;
	mc_strlcpy(m.key, rel->key, sizeof(m.key));
	mc_strlcpy(m.sig, rel->sig, sizeof(m.sig));
	memset(&q, 0, sizeof(q));
	q.kind = MC_KIND_LISTENER_UPDATE;
	q.rel = &m;
	q.timeout = ROLL_CMD_TIMEOUT;
	q.cap = MC_OUTPUT_CAP_DEFAULT;
	q.by = r->by;
	/* the ticket names the command, whose id exists only once it is
	 * made: make a ticket, send, then bind it (nothing runs between) */
	if (hub_release_ticket("", rel->version, ticket) == -1) {
		snprintf(t->error, sizeof(t->error), "%d downloads are in "
		    "flight", HUB_RELEASE_TICKETS);
		return -1;
	}
	snprintf(m.path, sizeof(m.path), "/releases/%s/maestro-listener"
	    "?ticket=%s", rel->version, ticket);
	if ((c = hub_cmd_submit(a, &q, &status, why, sizeof(why))) == NULL) {
		snprintf(t->error, sizeof(t->error), "%s", why);
		return -1;
	}
	hub_release_ticket_bind(ticket, c->id);
	mc_strlcpy(t->cmd, c->id, sizeof(t->cmd));
	return 0;
}

/* Start one agent of the batch: sent, skipped or failed. */
static void
agent_start(struct hub_roll *r, struct hub_roll_agent *t,
    const struct hub_release *rel)
{
	struct hub_agent *a = hub_agent_find(t->agent);

	if (a == NULL) {
		t->state = ROLL_SKIPPED;
		snprintf(t->error, sizeof(t->error), "unknown agent");
		return;
	}
	mc_strlcpy(t->before, a->version, sizeof(t->before));
	if (strcmp(a->version, r->version) == 0) {
		t->state = ROLL_SKIPPED;
		mc_strlcpy(t->after, a->version, sizeof(t->after));
		snprintf(t->error, sizeof(t->error), "already on %s",
		    r->version);
		return;
	}
	if (a->conn == NULL || a->status != ST_ONLINE) {
		t->state = ROLL_SKIPPED;
		snprintf(t->error, sizeof(t->error), "not online (%s)",
		    hub_status_name(a->status));
		return;
	}
	t->state = agent_send(r, t, rel, a) == 0 ? ROLL_SENT : ROLL_FAILED;
}

/* Where the roll stands: stop, pause, start the next batch, or finish. */
static void
roll_step(struct hub_roll *r)
{
	const struct hub_release *rel;
	int i;

	if (r->finished > 0)
		return;
	for (i = r->batch_start; i < r->next; i++)
		if (!is_settled(r->agents[i].state))
			return;
	for (i = r->batch_start; i < r->next && !r->stop_why[0]; i++)
		if (is_bad(r->agents[i].state))
			snprintf(r->stop_why, sizeof(r->stop_why), "%s %s: %.150s",
			    r->agents[i].agent,
			    hub_roll_state_name(r->agents[i].state),
			    r->agents[i].error[0] ? r->agents[i].error : "-");
	rel = hub_release_find(r->version);
	if (r->stop_why[0] == '\0' && rel == NULL)
		snprintf(r->stop_why, sizeof(r->stop_why), "release %s is "
		    "gone", r->version);
	if (r->stop_why[0] != '\0' || r->next == r->nagents) {
		roll_finish(r);
		return;
	}
	if (r->next > 0 && r->pause > 0 && r->resume == 0) {
		r->resume = mc_now() + r->pause;
		return;
	}
	if (r->resume > 0 && mc_now() < r->resume)
		return;
	r->resume = 0;
	r->batch_start = r->next;
	while (r->next < r->nagents && r->next - r->batch_start < r->batch)
		agent_start(r, &r->agents[r->next++], rel);
	mc_info("roll %s: batch of %d from agent %d", r->id,
	    r->next - r->batch_start, r->batch_start + 1);
	roll_step(r);	/* a batch all skipped goes straight on */
}

static struct hub_roll_agent *
agent_of(struct hub_roll *r, const char *name)
{
	int i;

	for (i = r->batch_start; i < r->next; i++)
		if (strcmp(r->agents[i].agent, name) == 0)
			return &r->agents[i];
	return NULL;
}

static struct hub_roll *
running(void)
{
	struct hub_roll *r;

	for (r = rolls; r != NULL; r = r->nextr)
		if (r->finished == 0)
			return r;
	return NULL;
}

void
hub_roll_on_cmd(const struct hub_cmd *c)
{
	struct hub_roll *r = running();
	struct hub_roll_agent *t;

	if (c->kind != MC_KIND_LISTENER_UPDATE || r == NULL ||
	    (t = agent_of(r, c->agent)) == NULL ||
	    strcmp(t->cmd, c->id) != 0 || t->state != ROLL_SENT)
		return;
	if (c->status == CMD_DONE && c->exit_code <= 0) {
		t->state = ROLL_INSTALLED;
		t->deadline = mc_now() + HUB_ROLL_CONFIRM;
	} else {
		t->state = ROLL_FAILED;
		snprintf(t->error, sizeof(t->error), "%s%s%.200s",
		    hub_cmd_status_name(c->status), c->error[0] ? ": " : "",
		    c->error);
	}
	mc_info("roll %s: '%s' %s", r->id, t->agent,
	    hub_roll_state_name(t->state));
	roll_step(r);
}

void
hub_roll_on_hello(const struct hub_agent *a, const char *upd_version,
    const char *upd_error)
{
	struct hub_roll *r = running();
	struct hub_roll_agent *t;

	if (r == NULL || (t = agent_of(r, a->name)) == NULL ||
	    (t->state != ROLL_SENT && t->state != ROLL_INSTALLED))
		return;
	mc_strlcpy(t->after, a->version, sizeof(t->after));
	if (strcmp(a->version, r->version) == 0)
		t->state = ROLL_UPDATED;
	else if (t->state == ROLL_INSTALLED ||
	    strcmp(upd_version, r->version) == 0) {
		/* back on another version after the swap: undone */
		t->state = ROLL_ROLLED_BACK;
		if (strcmp(upd_version, r->version) == 0 && upd_error[0])
			mc_strlcpy(t->error, upd_error, sizeof(t->error));
		else
			snprintf(t->error, sizeof(t->error), "came back with "
			    "version %s", a->version);
	} else
		return;	/* a reconnect before the swap: still sent */
	mc_info("roll %s: '%s' %s (%s)", r->id, t->agent,
	    hub_roll_state_name(t->state), a->version);
	roll_step(r);
}

void
hub_roll_cron(double now)
{
	struct hub_roll *r = running();
	struct hub_roll_agent *t;
	int i;

	if (r == NULL)
		return;
	for (i = r->batch_start; i < r->next; i++) {
		t = &r->agents[i];
		if (t->state != ROLL_INSTALLED || now < t->deadline)
			continue;
		t->state = ROLL_TIMED_OUT;
		snprintf(t->error, sizeof(t->error), "not back with version %s "
		    "%d s after it installed it", r->version, HUB_ROLL_CONFIRM);
	}
	roll_step(r);
}

/* ---- after a restart ---- */

/*
 * The store keeps a listener_update's row but not its release (version,
 * sha256, path) nor its ticket, which lived in memory with the roll.
 * Restored as-is it would be sent again without a release (queued, or
 * re-queued when its listener reconnects without it) and its download
 * would meet a ticket the hub no longer has.  So, before the commands are
 * loaded, every unfinished one ends lost with what to do; the roll that
 * sent it ended with the hub.
 */
int
hub_roll_load(struct hub_sql *db)
{
	struct hub_sql_stmt *st;
	int rc, n;

	if (hub_sql_prepare(db, "UPDATE commands SET status = ?,"
	    " error = ?, finished = ? WHERE kind = ? AND status IN"
	    " ('queued', 'sent', 'running')", &st) != HUB_SQL_OK)
		return -1;
	hub_sql_bind_text(st, 1, hub_cmd_status_name(CMD_LOST));
	hub_sql_bind_text(st, 2, ROLL_RESTARTED);
	hub_sql_bind_double(st, 3, mc_wall());
	hub_sql_bind_text(st, 4, mc_kind_name(MC_KIND_LISTENER_UPDATE));
	rc = hub_sql_step(st);
	hub_sql_finalize(st);
	if (rc != HUB_SQL_DONE)
		return -1;
	if ((n = hub_sql_changes(db)) > 0)
		mc_warn("%d listener_update command%s lost: %s", n,
		    n == 1 ? "" : "s", ROLL_RESTARTED);
	return 0;
}

/* ---- starting ---- */

static int
agent_matches(const struct hub_agent *a, const struct hub_roll_req *q)
{
	return q->all || (q->tag != NULL && hub_agent_has_tag(a, q->tag));
}

static int
agents_fill(struct hub_roll *r, const struct hub_roll_req *q)
{
	struct hub_agent *a;
	int i, n = 0;

	for (i = 0; i < q->nagents; i++)
		mc_strlcpy(r->agents[n++].agent, q->agents[i],
		    sizeof(r->agents[0].agent));
	if (q->nagents > 0)
		return n;
	for (a = hub_agent_first(); a != NULL; a = a->next)
		if (agent_matches(a, q))
			mc_strlcpy(r->agents[n++].agent, a->name,
			    sizeof(r->agents[0].agent));
	return n;
}

/* Why q cannot start: 0, or an HTTP status with the reason in why. */
static int
roll_refused(const struct hub_roll_req *q, char *why, size_t whylen)
{
	const struct hub_release *rel = hub_release_find(q->version);
	const struct hub_roll *r = running();
	int i;

	if (rel == NULL || rel->storing) {
		snprintf(why, whylen, "no release '%s' (hubctl release list)",
		    q->version);
		return 404;
	}
	if (r != NULL) {
		snprintf(why, whylen, "roll %s (%s) is still going; wait for "
		    "it (hubctl release status %s)", r->id, r->version, r->id);
		return 409;
	}
	for (i = 0; i < q->nagents; i++) {
		if (hub_agent_find(q->agents[i]) == NULL) {
			snprintf(why, whylen, "unknown agent '%s'",
			    q->agents[i]);
			return 404;
		}
	}
	return 0;
}

struct hub_roll *
hub_roll_start(const struct hub_roll_req *q, int *status, char *why,
    size_t whylen)
{
	struct hub_agent *a;
	struct hub_roll *r;
	char detail[MC_TEXT_MAX];
	int n = 0;

	if ((*status = roll_refused(q, why, whylen)) != 0)
		return NULL;
	for (a = hub_agent_first(); a != NULL; a = a->next)
		n++;
	if (q->nagents > 0)
		n = q->nagents;
	rolls_trim();
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->agents = calloc((size_t)(n > 0 ? n : 1),
	    sizeof(*r->agents))) == NULL ||
	    mc_random_hex(r->id + 2, 8) == -1) {
		roll_free(r);
		*status = 503;
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	memcpy(r->id, "r-", 2);
	mc_strlcpy(r->version, q->version, sizeof(r->version));
	mc_strlcpy(r->by, q->by, sizeof(r->by));
	r->batch = q->batch > 0 ? q->batch : 10;
	r->pause = q->pause;
	r->created = mc_wall();
	if ((r->nagents = agents_fill(r, q)) == 0) {
		roll_free(r);
		*status = 404;
		snprintf(why, whylen, "no agent matched");
		return NULL;
	}
	r->nextr = rolls;
	rolls = r;
	snprintf(detail, sizeof(detail), "%s on %d agent%s, %d at a time, "
	    "pause %.0f s", r->version, r->nagents, r->nagents == 1 ? "" :
	    "s", r->batch, r->pause);
	mc_info("roll %s by %s: %s", r->id, r->by, detail);
	hub_event("roll_started", "", r->by, r->id, detail);
	roll_step(r);
	return r;
}

void
hub_roll_free_all(void)
{
	struct hub_roll *r, *next;

	for (r = rolls; r != NULL; r = next) {
		next = r->nextr;
		roll_free(r);
	}
	rolls = NULL;
}
