/*
 * hub_cmd_adopt.c - commands on a store several hubs share: who sends
 * one, and who takes it over when its hub dies.
 *
 * Every command's row names the hub that sends it (commands.hub, this
 * hub's hub_name, written with the row).  On SQLite one hub owns the file
 * and nothing here asks the store: the start-up load takes every
 * unfinished command, as before.  On PostgreSQL (hub_db_shared()):
 *  - start-up restores only this hub's unfinished commands (and claims
 *    those no hub names, rows from before the column), hub_db_load.c;
 *  - a queued command is sent only once this hub's claim on it is
 *    committed: "UPDATE ... SET status = 'sent' WHERE id = ? AND hub =
 *    ME" changes one row or none, so of two hubs that both hold it in
 *    memory exactly one sends it; the loser drops it and follows it in
 *    the store as a shadow;
 *  - a listener's hello at hub B is answered only once B looked up the
 *    agent's unfinished commands in the store: those the hello lists as
 *    held (the listener will deliver their results here, whoever sent
 *    them) and those of a hub that is gone (the bus no longer lists it:
 *    a queued one is then sent from here, once) are taken over with a
 *    compare-and-set on commands.hub and restored into memory before the
 *    welcome, so the results the listener sends again after the welcome
 *    find their command, are stored once and acknowledged;
 *  - cmd_save() (hub_cmd.c) rewrites a row only while it still names
 *    this hub, so a hub that lost a command never overwrites its new
 *    owner's result;
 *  - a shadow (a command asked for through the bus, hub_bus_cmd.c) whose
 *    runner went down is followed in the store: its row is read every
 *    FOLLOW_EVERY seconds until it ends there (its adopter finished it)
 *    or its deadline passes (lost);
 *  - a command with no result by its deadline is lost only once its row
 *    still names this hub: its listener may have moved to another hub
 *    while this one ran (a network blip), and that hub took it over at
 *    the hello; then this hub follows it in the store like a shadow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hub_sql.h"
#include "mc_log.h"
#include "mc_util.h"

#define ADOPT_MAX	64	/* unfinished commands one hello looks at */
#define FOLLOW_MAX	4096	/* shadows followed in the store */
#define FOLLOW_BATCH	64	/* rows one read takes */
#define FOLLOW_EVERY	1.0	/* seconds between reads */

#define OPEN_STATUS	"status IN ('queued', 'sent', 'running')"

/* ---- start-up ---- */

/* A shadow this hub now runs becomes the command itself: it keeps the
 * output it was sent (at least what the store has) and stores it. */
static struct hub_cmd *
promote(struct hub_agent *a, struct hub_cmd *c)
{
	c->shadow = 0;
	hub_cmd_agent_add(a, c);
	c->out_saved = 0;
	return c;
}

/*
 * An unfinished command from the store rejoins its agent.  One in flight
 * keeps waiting for its result (the listener may still hold it: its next
 * hello settles it), with a fresh deadline; a queued one keeps its queue
 * time.
 */
void
hub_cmd_restore(const struct hub_cmd_row *row)
{
	struct hub_agent *a = hub_agent_find(row->agent);
	double now = mc_now(), wall = mc_wall();
	struct hub_cmd_req r;
	struct mc_sig *sig;	/* owned; hub_cmd_new copies it */
	struct hub_cmd *c, *had = hub_cmd_find(row->id);

	memset(&r, 0, sizeof(r));
	if (a == NULL || mc_kind_parse(row->kind, &r.kind) == -1 ||
	    (had != NULL && !had->shadow))
		return;
	/* a signature that no longer reads is dropped, and the listener
	 * decides whether it runs the command without one */
	sig = hub_sign_parse(row->sig);
	if (row->sig != NULL && row->sig[0] != '\0' && sig == NULL)
		mc_warn("command %s: its stored signature does not read; "
		    "it goes unsigned", row->id);
	r.sig = sig;
	r.cmd = row->cmd;
	r.arg = row->arg;
	r.timeout = row->timeout > 0 ? row->timeout : MC_TIMEOUT_DEFAULT;
	r.cap = row->cap ? row->cap : MC_OUTPUT_CAP_DEFAULT;
	r.by = row->by;
	c = had != NULL ? promote(a, had) : hub_cmd_new(a, a->name, &r,
	    row->id);
	free(sig);
	if (c == NULL)
		return;
	if (hub_cmd_status_parse(row->status, &c->status) == -1)
		c->status = CMD_QUEUED;
	c->created = row->created;
	c->started = row->started;
	if (row->expires > 0)
		c->expires = now + (row->expires - wall);
	if (hub_cmd_in_flight(c)) {
		c->deadline = now + c->timeout + HUB_CMD_LOST_GRACE;
		a->running++;
	}
	if (had != NULL || row->out_len == 0)
		return;
	/* what it printed before the restart; the rest follows it */
	c->out_bytes = row->out_bytes;
	hub_cmd_out_add(c, MC_STDOUT, row->out, row->out_len);
	c->out_saved = c->out.len;
}

/* ---- the claim before a send ---- */

struct claim_job {
	char	 id[MC_ID_MAX];
	char	 agent[MC_NAME_MAX + 1];
	char	 me[sizeof(hub.conf.hub_name)];
	int	 won;
};

/* Writer thread. */
static int
claim_run(struct hub_sql *db, void *arg)
{
	struct claim_job *j = arg;
	struct hub_sql_stmt *st;
	int rc;

	if ((rc = hub_sql_prepare(db, "UPDATE commands SET status = 'sent'"
	    " WHERE id = ? AND hub = ? AND " OPEN_STATUS, &st)) != HUB_SQL_OK)
		return rc;
	hub_sql_bind_text(st, 1, j->id);
	hub_sql_bind_text(st, 2, j->me);
	rc = hub_sql_step(st);
	j->won = rc == HUB_SQL_DONE && hub_sql_changes(db) == 1;
	hub_sql_finalize(st);
	return rc == HUB_SQL_DONE ? HUB_SQL_OK : rc;
}

static void
claim_done(void *arg, int stored)
{
	struct claim_job *j = arg;	/* owned here */
	struct hub_agent *a = hub_agent_find(j->agent);
	struct hub_cmd *c = hub_cmd_find(j->id);

	if (a != NULL && a->running > 0)
		a->running--;		/* the slot hub_cmd_claim() kept */
	if (c == NULL || !c->claiming) {
		free(j);
		return;
	}
	c->claiming = 0;
	if (stored && !j->won) {
		/* another hub took it over (its agent went there): it is
		 * that hub's to send; this one follows it in the store */
		mc_info("command %s for '%s' is sent by another hub now",
		    c->id, c->agent);
		if (a != NULL)
			hub_cmd_agent_del(a, c);
		c->shadow = 1;
		hub_cmd_follow(c);
	} else if (stored && c->status == CMD_QUEUED && a != NULL &&
	    (!hub_cmd_agent_ready(a) || hub_cmd_send(a, c) == -1))
		/* claimed but not sent after all: queued again */
		hub_db_exec("UPDATE commands SET status = 'queued'"
		    " WHERE id = ? AND hub = ?", "tt", c->id,
		    hub.conf.hub_name);
	free(j);
	/* not stored (the store fails): it stays queued for the next
	 * dispatch, which the agent's next hello or result brings */
	if (stored && a != NULL)
		hub_cmd_dispatch(a);
}

void
hub_cmd_claim(struct hub_agent *a, struct hub_cmd *c)
{
	struct claim_job *j = calloc(1, sizeof(*j));	/* owned by
							 * claim_done */

	if (j == NULL)
		return;
	mc_strlcpy(j->id, c->id, sizeof(j->id));
	mc_strlcpy(j->agent, a->name, sizeof(j->agent));
	mc_strlcpy(j->me, hub.conf.hub_name, sizeof(j->me));
	c->claiming = 1;
	a->running++;		/* keeps its slot until the answer */
	hub_db_call(claim_run, claim_done, j);
}

/* ---- taking over at a hello ---- */

/* One unfinished command of the agent, as the store has it; the strings
 * are owned. */
struct adopt_cmd {
	char		 id[MC_ID_MAX];
	char		*hub;		/* NULL: no hub named */
	int		 take;		/* decided on the service thread */
	int		 got;		/* taken over: the row below is read */
	char		*kind, *cmd, *arg, *by, *status, *sig;
	double		 created, started, timeout, expires;
	uint64_t	 cap, out_bytes;
	void		*out;
	size_t		 out_len;
};

struct adopt_job {
	char		 agent[MC_NAME_MAX + 1];
	char		 me[sizeof(hub.conf.hub_name)];
	int		 npending;
	char		 pending[MC_PENDING_MAX][MC_ID_MAX];
	int		 n;
	struct adopt_cmd cmds[ADOPT_MAX];
	hub_db_done_fn	 done;		/* the caller's, with its arg */
	void		*arg;
};

static char *
dup_col(struct hub_sql_stmt *st, int i)
{
	const char *s = hub_sql_text(st, i);

	return s != NULL ? strdup(s) : NULL;
}

static void
adopt_free(struct adopt_job *j)
{
	struct adopt_cmd *m;
	int i;

	for (i = 0; i < j->n; i++) {
		m = &j->cmds[i];
		free(m->hub);
		free(m->kind);
		free(m->cmd);
		free(m->arg);
		free(m->by);
		free(m->status);
		free(m->sig);
		free(m->out);
	}
	free(j);
}

/* Writer thread: the agent's unfinished commands that another hub
 * sends. */
static int
list_run(struct hub_sql *db, void *arg)
{
	struct adopt_job *j = arg;
	struct hub_sql_stmt *st;
	const char *h;
	int rc;

	if ((rc = hub_sql_prepare(db, "SELECT id, hub FROM commands WHERE"
	    " agent = ? AND " OPEN_STATUS " ORDER BY created", &st)) !=
	    HUB_SQL_OK)
		return rc;
	hub_sql_bind_text(st, 1, j->agent);
	while ((rc = hub_sql_step(st)) == HUB_SQL_ROW && j->n < ADOPT_MAX) {
		h = hub_sql_text(st, 1);
		if (h != NULL && strcmp(h, j->me) == 0)
			continue;
		mc_strlcpy(j->cmds[j->n].id, hub_sql_str(st, 0), MC_ID_MAX);
		j->cmds[j->n++].hub = h != NULL ? strdup(h) : NULL;
	}
	hub_sql_finalize(st);
	return rc == HUB_SQL_ROW || rc == HUB_SQL_DONE ? HUB_SQL_OK : rc;
}

static void
row_read(struct hub_sql_stmt *st, struct adopt_cmd *m)
{
	size_t n = hub_sql_bytes(st, 12);

	m->kind = dup_col(st, 0);
	m->cmd = dup_col(st, 1);
	m->arg = dup_col(st, 2);
	m->by = dup_col(st, 3);
	m->created = hub_sql_double(st, 4);
	m->started = hub_sql_double(st, 5);
	m->status = dup_col(st, 6);
	m->timeout = hub_sql_double(st, 7);
	m->cap = (uint64_t)hub_sql_int64(st, 8);
	m->expires = hub_sql_double(st, 9);
	m->out_bytes = (uint64_t)hub_sql_int64(st, 10);
	m->sig = dup_col(st, 11);
	if (n > 0 && (m->out = malloc(n)) != NULL) {	/* owned by m */
		memcpy(m->out, hub_sql_blob(st, 12), n);
		m->out_len = n;
	}
	m->got = m->kind != NULL && m->status != NULL;
}

/* Writer thread: take over each command chosen, if its row still names
 * the hub it named when listed, and read it. */
static int
take_run(struct hub_sql *db, void *arg)
{
	struct adopt_job *j = arg;
	struct hub_sql_stmt *up, *sel;
	struct adopt_cmd *m;
	int i, rc;

	if ((rc = hub_sql_prepare(db, "UPDATE commands SET hub = ? WHERE"
	    " id = ? AND agent = ? AND " OPEN_STATUS " AND (hub = ? OR"
	    " hub IS NULL)", &up)) != HUB_SQL_OK)
		return rc;
	if ((rc = hub_sql_prepare(db, "SELECT kind, cmd, arg, requested_by,"
	    " created, started, status, timeout, cap, expires, out_bytes,"
	    " signed, output FROM commands WHERE id = ?", &sel)) !=
	    HUB_SQL_OK) {
		hub_sql_finalize(up);
		return rc;
	}
	for (i = 0; i < j->n && rc == HUB_SQL_OK; i++) {
		m = &j->cmds[i];
		if (!m->take)
			continue;
		hub_sql_reset(up);
		hub_sql_bind_text(up, 1, j->me);
		hub_sql_bind_text(up, 2, m->id);
		hub_sql_bind_text(up, 3, j->agent);
		hub_sql_bind_text(up, 4, m->hub);
		if ((rc = hub_sql_step(up)) != HUB_SQL_DONE)
			break;
		rc = HUB_SQL_OK;
		if (hub_sql_changes(db) != 1)
			continue;
		hub_sql_reset(sel);
		hub_sql_bind_text(sel, 1, m->id);
		if (hub_sql_step(sel) == HUB_SQL_ROW)
			row_read(sel, m);
	}
	hub_sql_finalize(up);
	hub_sql_finalize(sel);
	return rc;
}

static void
take_done(void *arg, int stored)
{
	struct adopt_job *j = arg;	/* owned here */
	struct hub_cmd_row r;
	struct adopt_cmd *m;
	int i;

	for (i = 0; stored && i < j->n; i++) {
		m = &j->cmds[i];
		if (!m->got)
			continue;
		memset(&r, 0, sizeof(r));
		r.id = m->id;
		r.agent = j->agent;
		r.kind = m->kind;
		r.cmd = m->cmd;
		r.arg = m->arg ? m->arg : "";
		r.by = m->by ? m->by : "";
		r.status = m->status;
		r.sig = m->sig;
		r.created = m->created;
		r.started = m->started;
		r.timeout = m->timeout;
		r.expires = m->expires;
		r.cap = m->cap;
		r.out = m->out;
		r.out_len = m->out_len;
		r.out_bytes = m->out_bytes;
		hub_cmd_restore(&r);
		mc_info("command %s (%s) for '%s' taken over from hub %s",
		    m->id, m->status, j->agent, m->hub ? m->hub : "(none)");
	}
	j->done(j->arg, 1);
	adopt_free(j);
}

static int
listed(const struct adopt_job *j, const char *id)
{
	int i;

	for (i = 0; i < j->npending; i++)
		if (strcmp(j->pending[i], id) == 0)
			return 1;
	return 0;
}

/* The list read: choose, and take over what was chosen. */
static void
list_done(void *arg, int stored)
{
	struct adopt_job *j = arg;	/* owned here */
	struct hub_cmd *c;
	struct adopt_cmd *m;
	int i, any = 0;

	for (i = 0; stored && i < j->n; i++) {
		m = &j->cmds[i];
		c = hub_cmd_find(m->id);
		if (c != NULL && !c->shadow)
			continue;	/* this hub runs it already */
		/* held by the listener: its result comes here, whoever
		 * sent it; not held: its hub sends or settles it, unless
		 * that hub is gone */
		m->take = listed(j, m->id) || (m->hub != NULL &&
		    hub_bus_hub_gone(m->hub));
		any |= m->take;
	}
	if (!any) {
		j->done(j->arg, 1);
		adopt_free(j);
		return;
	}
	hub_db_call(take_run, take_done, j);
}

int
hub_cmd_adopt(const char *agent, const char *const *pending, int npending,
    hub_db_done_fn done, void *arg)
{
	struct hub_db_health h;
	struct adopt_job *j;
	int i;

	if (!hub_db_shared())
		return -1;
	/* a store that fails would hold the hello until it is back: the
	 * listener is welcomed now and what it holds waits for later */
	hub_db_health(&h);
	if (h.failing || (j = calloc(1, sizeof(*j))) == NULL)	/* owned by
								 * the jobs */
		return -1;
	mc_strlcpy(j->agent, agent, sizeof(j->agent));
	mc_strlcpy(j->me, hub.conf.hub_name, sizeof(j->me));
	for (i = 0; i < npending && i < MC_PENDING_MAX; i++)
		mc_strlcpy(j->pending[j->npending++], pending[i], MC_ID_MAX);
	j->done = done;
	j->arg = arg;
	hub_db_read(list_run, list_done, j);
	return 0;
}

/* ---- shadows followed in the store ---- */

struct follow {
	char		 id[MC_ID_MAX];
	double		 until;		/* monotonic */
};

static struct {
	struct follow	 f[FOLLOW_MAX];
	size_t		 n;
	double		 next;		/* monotonic */
	int		 reading;
} fw;

/* A row read for a followed shadow. */
struct follow_row {
	char		 id[MC_ID_MAX];
	char		 status[16];
	int64_t		 exit_code, truncated, out_bytes;
	char		 error[MC_TEXT_MAX];
	double		 started, finished;
	void		*out;		/* owned */
	size_t		 out_len;
};

struct follow_job {
	size_t		 n;
	struct follow_row r[FOLLOW_BATCH];
};

void
hub_cmd_follow(struct hub_cmd *c)
{
	double until = mc_now() + c->timeout + 2 * HUB_CMD_LOST_GRACE;
	size_t i;

	if (!hub_db_shared() || !c->shadow)
		return;
	c->deadline = until;
	for (i = 0; i < fw.n; i++)
		if (strcmp(fw.f[i].id, c->id) == 0)
			return;
	if (fw.n == FOLLOW_MAX) {
		mc_warn("command %s: %d commands are followed in the store "
		    "already; this one is not", c->id, FOLLOW_MAX);
		return;
	}
	mc_strlcpy(fw.f[fw.n].id, c->id, sizeof(fw.f[0].id));
	fw.f[fw.n++].until = until;
}

/* Writer thread. */
static int
follow_run(struct hub_sql *db, void *arg)
{
	struct follow_job *j = arg;
	struct hub_sql_stmt *st;
	struct follow_row *r;
	size_t i, n;
	int rc;

	if ((rc = hub_sql_prepare(db, "SELECT status, exit_code, truncated,"
	    " out_bytes, error, started, finished, output FROM commands"
	    " WHERE id = ?", &st)) != HUB_SQL_OK)
		return rc;
	for (i = 0; i < j->n; i++) {
		r = &j->r[i];
		hub_sql_reset(st);
		hub_sql_bind_text(st, 1, r->id);
		if (hub_sql_step(st) != HUB_SQL_ROW)
			continue;
		mc_strlcpy(r->status, hub_sql_str(st, 0), sizeof(r->status));
		r->exit_code = hub_sql_int64(st, 1);
		r->truncated = hub_sql_int64(st, 2);
		r->out_bytes = hub_sql_int64(st, 3);
		mc_strlcpy(r->error, hub_sql_str(st, 4), sizeof(r->error));
		r->started = hub_sql_double(st, 5);
		r->finished = hub_sql_double(st, 6);
		n = hub_sql_bytes(st, 7);
		if (n > 0 && (r->out = malloc(n)) != NULL) {	/* owned by
								 * r */
			memcpy(r->out, hub_sql_blob(st, 7), n);
			r->out_len = n;
		}
	}
	hub_sql_finalize(st);
	return HUB_SQL_OK;
}

/* A followed shadow takes its row's outcome once the row ended. */
static void
follow_take(struct hub_cmd *c, const struct follow_row *r)
{
	enum hub_cmd_status st;

	if (hub_cmd_status_parse(r->status, &st) == -1)
		return;
	if (st < CMD_DONE) {
		if (st != c->status) {
			c->status = st;
			c->started = r->started;
			hub_cmd_notify(c);
		}
		return;
	}
	hub_cmd_out_clear(c);
	if (r->out_len > 0)
		hub_cmd_out_add(c, MC_STDOUT, r->out, r->out_len);
	c->exit_code = (int)r->exit_code;
	c->truncated = r->truncated != 0;
	c->out_bytes = (uint64_t)r->out_bytes;
	mc_strlcpy(c->error, r->error, sizeof(c->error));
	c->started = r->started;
	c->finished = r->finished;
	hub_cmd_finish(c, st);
}

static void
follow_done(void *arg, int stored)
{
	struct follow_job *j = arg;	/* owned here */
	struct hub_cmd *c;
	size_t i;

	fw.reading = 0;
	for (i = 0; i < j->n; i++) {
		c = hub_cmd_find(j->r[i].id);
		if (stored && c != NULL && c->shadow && !hub_cmd_finished(c) &&
		    j->r[i].status[0] != '\0')
			follow_take(c, &j->r[i]);
		free(j->r[i].out);
	}
	free(j);
}

/* Forget the followed shadows that ended; a queued one past its time is
 * lost (an in-flight one is lost by hub_cmd_expire()). */
static void
follow_prune(double now)
{
	struct hub_cmd *c;
	size_t i = 0;

	while (i < fw.n) {
		c = hub_cmd_find(fw.f[i].id);
		if (c != NULL && c->shadow && !hub_cmd_finished(c) &&
		    now >= fw.f[i].until) {
			snprintf(c->error, sizeof(c->error), "its hub went "
			    "down and no hub took it over in time");
			hub_cmd_finish(c, CMD_LOST);
		}
		if (c != NULL && c->shadow && !hub_cmd_finished(c)) {
			i++;
			continue;
		}
		fw.f[i] = fw.f[--fw.n];
	}
}

/* ---- past the deadline: lost here, or taken over ---- */

struct owner_job {
	char	 id[MC_ID_MAX];
	char	 hub[sizeof(hub.conf.hub_name)];	/* the row's; "" */
};

/* Writer thread. */
static int
owner_run(struct hub_sql *db, void *arg)
{
	struct owner_job *j = arg;
	struct hub_sql_stmt *st;
	int rc;

	if ((rc = hub_sql_prepare(db, "SELECT hub FROM commands WHERE id = ?",
	    &st)) != HUB_SQL_OK)
		return rc;
	hub_sql_bind_text(st, 1, j->id);
	if ((rc = hub_sql_step(st)) == HUB_SQL_ROW)
		mc_strlcpy(j->hub, hub_sql_str(st, 0), sizeof(j->hub));
	hub_sql_finalize(st);
	return rc == HUB_SQL_ROW || rc == HUB_SQL_DONE ? HUB_SQL_OK : rc;
}

static void
owner_done(void *arg, int stored)
{
	struct owner_job *j = arg;	/* owned here */
	struct hub_cmd *c = hub_cmd_find(j->id);
	struct hub_agent *a;

	if (c == NULL || !c->asking || hub_cmd_finished(c)) {
		if (c != NULL)
			c->asking = 0;
		free(j);
		return;
	}
	c->asking = 0;
	/* a store that does not answer cannot say: lost, as on one hub */
	if (!stored || j->hub[0] == '\0' ||
	    strcmp(j->hub, hub.conf.hub_name) == 0) {
		hub_cmd_lost(c);
		free(j);
		return;
	}
	mc_info("command %s for '%s' was taken over by hub %s (its listener "
	    "moved there); followed in the store", c->id, c->agent, j->hub);
	if ((a = hub_agent_find(c->agent)) != NULL) {
		if (a->running > 0)
			a->running--;
		hub_cmd_agent_del(a, c);
	}
	c->shadow = 1;
	hub_cmd_follow(c);
	free(j);
}

void
hub_cmd_overdue(struct hub_cmd *c)
{
	struct owner_job *j;

	if (c->shadow || !hub_db_shared()) {
		hub_cmd_lost(c);
		return;
	}
	if (c->asking)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {	/* owned by
							 * owner_done */
		hub_cmd_lost(c);
		return;
	}
	mc_strlcpy(j->id, c->id, sizeof(j->id));
	c->asking = 1;
	hub_db_read(owner_run, owner_done, j);
}

void
hub_cmd_adopt_cron(double now)
{
	static size_t from;	/* the next batch starts here */
	struct follow_job *j;
	size_t i;

	if (fw.n == 0 || fw.reading || now < fw.next)
		return;
	fw.next = now + FOLLOW_EVERY;
	follow_prune(now);
	if (fw.n == 0 || (j = calloc(1, sizeof(*j))) == NULL)	/* owned by
								 * follow_done */
		return;
	if (from >= fw.n)
		from = 0;
	for (i = from; i < fw.n && j->n < FOLLOW_BATCH; i++)
		mc_strlcpy(j->r[j->n++].id, fw.f[i].id, MC_ID_MAX);
	from = i;
	fw.reading = 1;
	hub_db_read(follow_run, follow_done, j);
}

void
hub_cmd_adopt_free_all(void)
{
	fw.n = 0;
}
