/*
 * hub_update.c - rolling container updates: one container_update command
 * per target, a batch of them at a time, driven by command results on
 * the hub's loop, so a roll goes on when the hubctl that asked for it is
 * gone (Ctrl-C, a lost connection).
 *
 * Rules kept here:
 * - A target is an agent (every container of it created from the image)
 *   or, for the periodic check, one container of an agent.  Targets go
 *   in order, batch at a time; the next batch starts when every command
 *   of this one has a result.
 * - A target whose command is rolled back (exit 1) or fails (failed,
 *   timeout, lost, expired) stops the roll once its batch is over: the
 *   targets not started are "skipped" with the reason.  The periodic
 *   check goes on instead (its containers are independent).
 * - An agent that is not online when its turn comes is skipped with its
 *   status, not queued: an update that ran hours later, outside the
 *   roll's order and unwatched, is worse than one the operator reruns.
 *   A skip does not stop the roll, but the roll is then not "ok".
 * - Rolls live in memory (the last HUB_UPDATES_MAX); their commands are
 *   ordinary commands, stored and in the history.  A hub restart ends a
 *   roll: its commands in flight still finish, the rest never start.
 * - Events: update_started and update_done, one each per roll.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

static struct hub_update *rolls;	/* owned list, newest first */
static double auto_next;		/* monotonic: the next periodic check */

static const char *const state_names[] = {
	"waiting", "running", "updated", "up_to_date", "rolled_back",
	"failed", "skipped"
};

const char *
hub_update_state_name(enum hub_upd_state s)
{
	return s <= UPD_SKIPPED ? state_names[s] : "?";
}

static int
target_ok(const struct hub_upd_target *t)
{
	return t->state == UPD_UPDATED || t->state == UPD_CURRENT;
}

struct hub_update *
hub_update_find(const char *id)
{
	struct hub_update *u;

	for (u = rolls; u != NULL; u = u->next)
		if (strcmp(u->id, id) == 0)
			return u;
	return NULL;
}

const struct hub_update *
hub_update_first(void)
{
	return rolls;
}

static void
roll_free(struct hub_update *u)
{
	if (u != NULL)
		free(u->targets);
	free(u);
}

/* Drop the oldest finished rolls until one more fits; 0 or -1 (full). */
static int
rolls_trim(void)
{
	struct hub_update **pp, **oldest = NULL, *u;
	int n = 0;

	for (pp = &rolls; *pp != NULL; pp = &(*pp)->next) {
		n++;
		if ((*pp)->finished > 0)
			oldest = pp;
	}
	if (n < HUB_UPDATES_MAX)
		return 0;
	if (oldest == NULL)
		return -1;
	u = *oldest;
	*oldest = u->next;
	roll_free(u);
	return 0;
}

/* ---- outcomes ---- */

/* The last line of out that holds needle into dst; dst stays as it was
 * when none does. */
static void
out_line(const struct mc_buf *out, const char *needle, char *dst,
    size_t size)
{
	const char *p = out->data, *end = out->data + out->len, *e;
	size_t n = strlen(needle);

	for (; p != NULL && p < end; p = e != NULL ? e + 1 : NULL) {
		e = memchr(p, '\n', (size_t)(end - p));
		if (memmem(p, (size_t)((e != NULL ? e : end) - p), needle,
		    n) == NULL)
			continue;
		snprintf(dst, size, "%.*s", (int)((e != NULL ? e : end) - p), p);
	}
}

/* What a finished command says about its target. */
static void
target_settle(struct hub_upd_target *t, const struct hub_cmd *c)
{
	int updated = 0;

	t->detail[0] = '\0';
	if (c->status == CMD_DONE && c->exit_code == 0) {
		out_line(&c->out, "summary: ", t->detail, sizeof(t->detail));
		if (sscanf(t->detail, "summary: %d updated", &updated) != 1)
			updated = 0;
		t->state = updated > 0 ? UPD_UPDATED : UPD_CURRENT;
	} else if (c->status == CMD_DONE && c->exit_code == 1) {
		/* the reason, rather than the summary */
		t->state = UPD_BACK;
		out_line(&c->out, "summary: ", t->detail, sizeof(t->detail));
		out_line(&c->out, ": rollback incomplete", t->detail,
		    sizeof(t->detail));
		out_line(&c->out, ": rolled back: ", t->detail,
		    sizeof(t->detail));
	} else {
		t->state = UPD_FAILED;
		snprintf(t->detail, sizeof(t->detail), "%s%s%.200s",
		    hub_cmd_status_name(c->status), c->error[0] ? ": " : "",
		    c->error);
	}
}

/* ---- the roll ---- */

static void
roll_finish(struct hub_update *u)
{
	int i, n[UPD_SKIPPED + 1];
	char detail[MC_TEXT_MAX];

	memset(n, 0, sizeof(n));
	for (i = 0; i < u->ntargets; i++)
		n[u->targets[i].state]++;
	u->finished = mc_wall();
	u->ok = n[UPD_UPDATED] + n[UPD_CURRENT] == u->ntargets;
	snprintf(detail, sizeof(detail), "%.128s: %d updated, %d up to date, "
	    "%d rolled back, %d failed, %d skipped", u->image[0] ? u->image :
	    "auto", n[UPD_UPDATED], n[UPD_CURRENT], n[UPD_BACK],
	    n[UPD_FAILED], n[UPD_SKIPPED]);
	mc_info("update %s %s: %s", u->id, u->ok ? "done" : "not ok",
	    detail);
	hub_event("update_done", "", u->id, u->ok ? "ok" : "failed", detail);
}

/* The reason a target not started is skipped, once the roll stopped. */
static void
skip_rest(struct hub_update *u)
{
	int i;

	for (i = u->next_target; i < u->ntargets; i++) {
		u->targets[i].state = UPD_SKIPPED;
		snprintf(u->targets[i].detail, sizeof(u->targets[i].detail),
		    "the roll stopped: %.200s", u->stop_why);
	}
	u->next_target = u->ntargets;
}

/* Send one target's command; 0, or -1 when it is skipped. */
static int
target_start(struct hub_update *u, struct hub_upd_target *t)
{
	struct hub_agent *a = hub_agent_find(t->agent);
	struct hub_cmd_req q;
	struct hub_cmd *c;
	char why[256];
	int status;

	memset(&q, 0, sizeof(q));
	q.kind = MC_KIND_CONTAINER_UPDATE;
	q.cmd = u->image[0] ? u->image : NULL;
	q.arg = t->container[0] ? t->container : NULL;
	q.prune = u->prune;
	q.timeout = u->timeout;
	q.cap = MC_OUTPUT_CAP_DEFAULT;
	q.by = u->by;
	if (a == NULL) {
		snprintf(t->detail, sizeof(t->detail), "unknown agent");
		t->state = UPD_SKIPPED;
		return -1;
	}
	if ((c = hub_cmd_submit(a, &q, &status, why, sizeof(why))) == NULL) {
		snprintf(t->detail, sizeof(t->detail), "%s", why);
		t->state = UPD_SKIPPED;
		return -1;
	}
	mc_strlcpy(t->cmd, c->id, sizeof(t->cmd));
	t->state = UPD_RUNNING;
	u->running++;
	return 0;
}

/* Start the next batch; finish the roll when nothing is left. */
static void
roll_step(struct hub_update *u)
{
	int started = 0;

	if (u->running > 0 || u->finished > 0)
		return;
	if (u->stop_why[0] != '\0')
		skip_rest(u);
	while (started < u->batch && u->next_target < u->ntargets)
		if (target_start(u, &u->targets[u->next_target++]) == 0)
			started++;
	if (u->running == 0)
		roll_finish(u);
}

void
hub_update_on_cmd(const struct hub_cmd *c)
{
	struct hub_upd_target *t;
	struct hub_update *u;
	int i;

	if (c->kind != MC_KIND_CONTAINER_UPDATE)
		return;
	for (u = rolls; u != NULL; u = u->next) {
		for (i = 0; i < u->ntargets; i++) {
			t = &u->targets[i];
			if (t->state != UPD_RUNNING || strcmp(t->cmd, c->id) != 0)
				continue;
			target_settle(t, c);
			u->running--;
			if (!target_ok(t) && !u->go_on && u->stop_why[0] == '\0')
				snprintf(u->stop_why, sizeof(u->stop_why),
				    "%s %s", t->agent, t->state == UPD_BACK ?
				    "was rolled back" : "failed");
			mc_info("update %s: '%s' %s", u->id, t->agent,
			    hub_update_state_name(t->state));
			roll_step(u);
			return;
		}
	}
}

/* A new roll over n targets (filled by the caller), not started. */
static struct hub_update *
roll_new(const struct hub_update_req *q, int n)
{
	struct hub_update *u;

	if (rolls_trim() == -1 || (u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	if ((u->targets = calloc((size_t)(n > 0 ? n : 1),
	    sizeof(*u->targets))) == NULL || mc_random_hex(u->id + 2, 8) ==
	    -1) {
		roll_free(u);
		return NULL;
	}
	memcpy(u->id, "u-", 2);
	mc_strlcpy(u->image, q->image != NULL ? q->image : "",
	    sizeof(u->image));
	mc_strlcpy(u->by, q->by, sizeof(u->by));
	u->batch = q->batch > 0 ? q->batch : 1;
	u->prune = q->prune;
	u->timeout = q->timeout > 0 ? q->timeout : HUB_UPDATE_TIMEOUT;
	u->go_on = q->go_on;
	u->created = mc_wall();
	return u;
}

static int
agent_matches(const struct hub_agent *a, const struct hub_update_req *q)
{
	return q->all || (q->tag != NULL && hub_agent_has_tag(a, q->tag));
}

/* Add every matching agent as a target; the count. */
static int
targets_fill(struct hub_update *u, const struct hub_update_req *q)
{
	struct hub_agent *a;
	int i, n = 0;

	/* named agents in the order given, a tag or all in the hub's order */
	for (i = 0; i < q->nagents; i++)
		mc_strlcpy(u->targets[n++].agent, q->agents[i],
		    sizeof(u->targets[0].agent));
	if (q->nagents > 0)
		return n;
	for (a = hub_agent_first(); a != NULL; a = a->next)
		if (agent_matches(a, q))
			mc_strlcpy(u->targets[n++].agent, a->name,
			    sizeof(u->targets[0].agent));
	return n;
}

static void
roll_begin(struct hub_update *u, const char *what)
{
	char detail[MC_TEXT_MAX];

	u->next = rolls;
	rolls = u;
	snprintf(detail, sizeof(detail), "%s on %d target%s, %d at a time%s",
	    what, u->ntargets, u->ntargets == 1 ? "" : "s", u->batch,
	    u->prune ? ", prune" : "");
	mc_info("update %s by %s: %s", u->id, u->by, detail);
	hub_event("update_started", "", u->by, u->id, detail);
	roll_step(u);
}

struct hub_update *
hub_update_start(const struct hub_update_req *q, int *status, char *why,
    size_t whylen)
{
	struct hub_agent *a;
	struct hub_update *u;
	int i, n = 0;

	for (i = 0; i < q->nagents; i++) {
		if (hub_agent_find(q->agents[i]) == NULL) {
			*status = 404;
			snprintf(why, whylen, "unknown agent '%s'", q->agents[i]);
			return NULL;
		}
	}
	for (a = hub_agent_first(); a != NULL; a = a->next)
		n++;
	if ((u = roll_new(q, q->nagents > 0 ? q->nagents : n)) == NULL) {
		*status = 503;
		snprintf(why, whylen, "%d updates are running; try again when "
		    "one ends", HUB_UPDATES_MAX);
		return NULL;
	}
	u->ntargets = targets_fill(u, q);
	if (u->ntargets == 0) {
		roll_free(u);
		*status = 404;
		snprintf(why, whylen, "no agent matched");
		return NULL;
	}
	roll_begin(u, u->image);
	return u;
}

/* ---- the periodic check ---- */

/* One roll of one container_update per auto-updated container that is
 * behind, one at a time, going on past failures. */
static void
auto_roll(void)
{
	char (*names)[MC_TEXT_MAX];
	struct hub_update_req q;
	struct hub_update *u;
	struct hub_agent *a;
	int i, k, n = 0;

	for (a = hub_agent_first(); a != NULL; a = a->next)
		if (a->status == ST_ONLINE)
			n += hub_ctr_auto_behind(a, NULL, 0);
	if (n == 0)
		return;
	/* owned here: HUB_AUTO_MAX names is too much for the stack */
	if ((names = calloc(HUB_AUTO_MAX, sizeof(*names))) == NULL) {
		mc_warn("auto-update: out of memory; next time");
		return;
	}
	memset(&q, 0, sizeof(q));
	q.by = "auto-update";
	q.batch = 1;
	q.go_on = 1;
	if ((u = roll_new(&q, n)) == NULL) {
		mc_warn("auto-update: %d containers are behind, but %d updates "
		    "are running; next time", n, HUB_UPDATES_MAX);
		free(names);
		return;
	}
	for (a = hub_agent_first(); a != NULL && u->ntargets < n; a = a->next) {
		if (a->status != ST_ONLINE)
			continue;
		k = hub_ctr_auto_behind(a, names, HUB_AUTO_MAX);
		if (k > HUB_AUTO_MAX)
			k = HUB_AUTO_MAX;	/* the rest next time */
		for (i = 0; i < k && u->ntargets < n; i++) {
			mc_strlcpy(u->targets[u->ntargets].agent, a->name,
			    sizeof(u->targets[0].agent));
			mc_strlcpy(u->targets[u->ntargets++].container,
			    names[i], sizeof(u->targets[0].container));
		}
	}
	free(names);
	roll_begin(u, "containers labelled maestro.update=auto");
}

void
hub_update_cron(double now)
{
	const struct hub_update *u;
	double every = hub.conf.container_update_every;

	if (every <= 0) {
		auto_next = 0;
		return;
	}
	if (auto_next == 0)
		auto_next = now + every;
	if (now < auto_next)
		return;
	auto_next = now + every;
	/* one periodic roll at a time: a slow one is not stacked */
	for (u = rolls; u != NULL; u = u->next)
		if (u->finished == 0 && strcmp(u->by, "auto-update") == 0)
			return;
	auto_roll();
}

void
hub_update_free_all(void)
{
	struct hub_update *u, *next;

	for (u = rolls; u != NULL; u = next) {
		next = u->next;
		roll_free(u);
	}
	rolls = NULL;
}
