/*
 * hub_cmd.c - a command's life on the hub: queued, sent, running, then
 * done, failed, timeout, lost or expired.
 *
 * Rules kept here:
 *  - a command runs at most once: the hub sends it again only to the same
 *    listener process (same boot id) that said it never got it;
 *  - nothing is silently dropped: a command the listener lost (it was
 *    restarted mid-command) becomes lost at its next hello; one with no
 *    result 30 s after its timeout becomes lost; one queued past its queue
 *    time becomes expired;
 *  - at most hub.conf.max_running commands run per agent; the rest wait
 *    on the hub, in order;
 *  - what the listener reports about a command is taken in
 *    hub_cmd_report.c.
 * Live commands (unfinished and recently finished) stay in memory so their
 * output can be streamed; memory is bounded by MC_CMDS_LIVE_MAX commands
 * and CMD_BYTES_MAX bytes, dropping the oldest finished ones without
 * readers first (they stay on disk).  Every change is queued to hub_db.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

#define CMD_BYTES_MAX	((size_t)512 * 1024 * 1024)
/* seconds between stores of a running command's output */
#define CMD_OUT_SAVE_EVERY 2.0
#define CMD_BUCKETS	16384

static struct {
	struct hub_cmd	*buckets[CMD_BUCKETS];	/* by id; owned via list */
	struct hub_cmd	*head, *tail;		/* oldest first */
	size_t		 count;
	size_t		 bytes;
} live;

int
hub_cmd_finished(const struct hub_cmd *c)
{
	return c->status >= CMD_DONE;
}

int
hub_cmd_in_flight(const struct hub_cmd *c)
{
	return c->status == CMD_SENT || c->status == CMD_RUNNING;
}

static size_t
id_bucket(const char *id)
{
	return mc_hash_str(id) % CMD_BUCKETS;
}

struct hub_cmd *
hub_cmd_find(const char *id)
{
	struct hub_cmd *c;

	for (c = live.buckets[id_bucket(id)]; c != NULL; c = c->hnext)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

void
hub_cmd_bytes(ptrdiff_t delta)
{
	live.bytes += (size_t)delta;
}

static size_t
cmd_bytes(const struct hub_cmd *c)
{
	return c->out.len + c->blob.len;
}

static void
cmd_unlink(struct hub_cmd *c)
{
	struct hub_cmd **pp = &live.buckets[id_bucket(c->id)];

	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	if (c->prev)
		c->prev->next = c->next;
	else
		live.head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		live.tail = c->prev;
	live.count--;
	live.bytes -= cmd_bytes(c);
}

static void
cmd_free(struct hub_cmd *c)
{
	struct hub_cmd_sub *s, *next;

	for (s = c->subs; s != NULL; s = next) {
		next = s->next;
		free(s);
	}
	mc_buf_free(&c->out);
	mc_buf_free(&c->blob);
	free(c->chunks);
	free(c->cmd);
	free(c->rel);
	free(c->sig);
	free(c->fwd);
	free(c);
}

/* Drop the oldest finished commands nobody reads until under the bounds. */
static void
cmd_evict(size_t want)
{
	struct hub_cmd *c = live.head, *next;

	while (c != NULL && (live.count + 1 > MC_CMDS_LIVE_MAX ||
	    live.bytes + want > CMD_BYTES_MAX)) {
		next = c->next;
		if (hub_cmd_finished(c) && c->subs == NULL) {
			cmd_unlink(c);
			cmd_free(c);
		}
		c = next;
	}
}

void
hub_cmd_notify(struct hub_cmd *c)
{
	struct hub_cmd_sub *s;

	for (s = c->subs; s != NULL; s = s->next)
		hub_ws_want_write(s->conn->wsi);
	if (c->fwd != NULL)
		hub_bus_cmd_changed(c);
}

/* A shadow is stored by the hub that runs it.  The row names this hub as
 * the command's sender; a row another hub took over since
 * (hub_cmd_adopt.c) is left as that hub writes it. */
static void
cmd_save(const struct hub_cmd *c)
{
	char *sig;

	if (c->shadow)
		return;
	sig = hub_sign_text(c->sig);	/* owned */

	hub_db_exec("INSERT INTO commands(id, agent, kind, cmd, arg,"
	    " requested_by, created, started, finished, status, exit_code,"
	    " truncated, out_bytes, output, error, blob, timeout, cap, expires,"
	    " signed, hub) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
	    " ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
	    " agent = excluded.agent,"
	    " kind = excluded.kind, cmd = excluded.cmd, arg = excluded.arg,"
	    " requested_by = excluded.requested_by, created = excluded.created,"
	    " started = excluded.started, finished = excluded.finished,"
	    " status = excluded.status, exit_code = excluded.exit_code,"
	    " truncated = excluded.truncated, out_bytes = excluded.out_bytes,"
	    " output = excluded.output, error = excluded.error,"
	    " blob = excluded.blob, timeout = excluded.timeout,"
	    " cap = excluded.cap, expires = excluded.expires,"
	    " signed = excluded.signed WHERE commands.hub = excluded.hub",
	    "ttttttdddtiiibtbdidtt", c->id,
	    c->agent, mc_kind_name(c->kind), c->cmd, c->arg, c->by,
	    c->created, c->started, c->finished,
	    hub_cmd_status_name(c->status), (int64_t)c->exit_code,
	    (int64_t)c->truncated, (int64_t)c->out_bytes,
	    c->out.data ? c->out.data : "", c->out.len,
	    c->error[0] ? c->error : NULL, c->blob.data ? c->blob.data : "",
	    c->blob.len, c->timeout, (int64_t)c->cap,
	    c->expires > 0 ? mc_wall() + (c->expires - mc_now()) : 0.0, sig,
	    hub.conf.hub_name);
	free(sig);
}

/* ---- the agent's list of unfinished commands ---- */

void
hub_cmd_agent_add(struct hub_agent *a, struct hub_cmd *c)
{
	struct hub_cmd **pp = &a->cmds;

	while (*pp != NULL)
		pp = &(*pp)->anext;
	*pp = c;
	c->anext = NULL;
}

void
hub_cmd_agent_del(struct hub_agent *a, struct hub_cmd *c)
{
	struct hub_cmd **pp;

	for (pp = &a->cmds; *pp != NULL; pp = &(*pp)->anext) {
		if (*pp == c) {
			*pp = c->anext;
			c->anext = NULL;
			return;
		}
	}
}

/* ---- creating and sending ---- */

/* A new command with a fresh id, or with id when restoring one; a
 * shadow (a NULL) is for agent and joins no agent's list. */
struct hub_cmd *
hub_cmd_new(struct hub_agent *a, const char *agent,
    const struct hub_cmd_req *r, const char *id)
{
	struct hub_cmd *c;
	size_t i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	memcpy(c->id, "c-", 2);
	if (id != NULL)
		mc_strlcpy(c->id, id, sizeof(c->id));
	if ((id == NULL && mc_random_hex(c->id + 2, 8) == -1) ||
	    (r->cmd && (c->cmd = strdup(r->cmd)) == NULL) ||
	    (r->rel && (c->rel = malloc(sizeof(*c->rel))) == NULL) ||
	    (r->sig && (c->sig = malloc(sizeof(*c->sig))) == NULL)) {
		free(c->rel);
		free(c->cmd);
		free(c);
		return NULL;
	}
	if (r->sig)
		*c->sig = *r->sig;
	mc_strlcpy(c->agent, agent, sizeof(c->agent));
	c->kind = r->kind;
	c->prune = r->prune;
	if (r->rel)
		*c->rel = *r->rel;
	mc_strlcpy(c->arg, r->arg ? r->arg : "", sizeof(c->arg));
	c->timeout = r->timeout;
	c->cap = r->cap;
	c->exit_code = -1;
	mc_buf_init(&c->out, (size_t)r->cap);
	mc_buf_init(&c->blob, MC_BLOB_MAX);
	mc_strlcpy(c->by, r->by, sizeof(c->by));
	c->created = mc_wall();
	/* a command sent with a queue time waits that long for its agent;
	 * one that waits only for a free slot waits as long as that takes,
	 * unless its agent says goodbye first */
	c->expires = r->queue > 0 ? mc_now() + r->queue : 0;
	i = id_bucket(c->id);
	c->hnext = live.buckets[i];
	live.buckets[i] = c;
	c->prev = live.tail;
	if (live.tail)
		live.tail->next = c;
	else
		live.head = c;
	live.tail = c;
	live.count++;
	if (a != NULL)
		hub_cmd_agent_add(a, c);
	else
		c->shadow = 1;
	return c;
}

static int
cmd_send(struct hub_agent *a, struct hub_cmd *c)
{
	struct mc_cmd m;
	struct mc_buf b;
	int r;

	memset(&m, 0, sizeof(m));
	mc_strlcpy(m.id, c->id, sizeof(m.id));
	m.kind = c->kind;
	/* one text per command: the hub keeps container_update's image where
	 * a shell command keeps its line (stored, shown in history) */
	if (c->cmd && c->kind == MC_KIND_CONTAINER_UPDATE)
		mc_strlcpy(m.image, c->cmd, sizeof(m.image));
	else if (c->cmd)
		mc_strlcpy(m.cmd, c->cmd, sizeof(m.cmd));
	m.prune = c->prune;
	if (c->rel)
		m.rel = *c->rel;
	mc_strlcpy(m.arg, c->arg, sizeof(m.arg));
	m.timeout = c->timeout;
	m.cap = c->cap;
	m.sig = c->sig;
	mc_buf_init(&b, MC_MSG_MAX);
	r = mc_cmd_encode(&b, &m) == 0 ? hub_conn_send(a->conn, b.data,
	    b.len) : -1;
	mc_buf_free(&b);
	if (r == -1)
		return -1;
	c->status = CMD_SENT;
	c->deadline = mc_now() + c->timeout + HUB_CMD_LOST_GRACE;
	a->running++;
	return 0;
}

int
hub_cmd_agent_ready(const struct hub_agent *a)
{
	return a->conn != NULL && !a->conn->closing &&
	    a->status != ST_OFFLINE;
}

int
hub_cmd_send(struct hub_agent *a, struct hub_cmd *c)
{
	if (cmd_send(a, c) == -1)
		return -1;
	mc_info("command %s (%s) sent to '%s'", c->id,
	    mc_kind_name(c->kind), a->name);
	hub_ui_command(c);
	return 0;
}

/* On a shared store a command is sent only once this hub's claim on it
 * is committed (hub_cmd_claim()), so two hubs never both send it. */
void
hub_cmd_dispatch(struct hub_agent *a)
{
	struct hub_cmd *c;

	for (c = a->cmds; c != NULL && hub_cmd_agent_ready(a) &&
	    a->running < hub.conf.max_running; c = c->anext) {
		if (c->status != CMD_QUEUED || c->claiming)
			continue;
		if (hub_db_shared()) {
			hub_cmd_claim(a, c);
			continue;
		}
		if (hub_cmd_send(a, c) == -1)
			return;
		hub_db_exec("UPDATE commands SET status = 'sent' WHERE id = ?",
		    "t", c->id);
	}
}

struct hub_cmd *
hub_cmd_submit(struct hub_agent *a, const struct hub_cmd_req *r, int *status,
    char *why, size_t whylen)
{
	struct hub_cmd *c;

	if (!hub_cmd_agent_ready(a) && r->queue <= 0) {
		*status = 409;
		snprintf(why, whylen, "agent '%s' is not %s (status: %s); "
		    "send with a queue time to run it when it is back",
		    a->name, a->conn == NULL ? "connected" : "online",
		    hub_status_name(a->status));
		return NULL;
	}
	cmd_evict((size_t)r->cap);
	if (live.count >= MC_CMDS_LIVE_MAX ||
	    (c = hub_cmd_new(a, a->name, r, NULL)) == NULL) {
		*status = 503;
		snprintf(why, whylen, "%d commands are in flight; try again "
		    "when some finish", MC_CMDS_LIVE_MAX);
		return NULL;
	}
	c->status = CMD_QUEUED;
	mc_info("command %s (%s) for '%s' by %s", c->id,
	    mc_kind_name(c->kind), a->name, c->by);
	cmd_save(c);
	hub_cmd_dispatch(a);
	if (c->status == CMD_QUEUED)
		hub_ui_command(c);
	return c;
}

struct hub_cmd *
hub_cmd_shadow_new(const char *agent, const struct hub_cmd_req *r,
    const char *id)
{
	struct hub_cmd *c;

	if (hub_cmd_find(id) != NULL)
		return NULL;
	cmd_evict((size_t)r->cap);
	if (live.count >= MC_CMDS_LIVE_MAX ||
	    (c = hub_cmd_new(NULL, agent, r, id)) == NULL)
		return NULL;
	c->deadline = mc_now() + c->timeout + 2 * HUB_CMD_LOST_GRACE;
	return c;
}

/* ---- the end, and a listener back ---- */

void
hub_cmd_finish(struct hub_cmd *c, enum hub_cmd_status st)
{
	struct hub_agent *a = c->shadow ? NULL : hub_agent_find(c->agent);
	char detail[64];

	if (c->shadow) {	/* the hub that runs it did the rest */
		c->status = st;
		c->finished = c->finished > 0 ? c->finished : mc_wall();
		hub_cmd_notify(c);
		return;
	}

	if (a != NULL) {
		if (hub_cmd_in_flight(c) && a->running > 0)
			a->running--;
		hub_cmd_agent_del(a, c);
	}
	c->status = st;
	c->finished = mc_wall();
	if (st == CMD_DONE)
		snprintf(detail, sizeof(detail), "%s %s exit %d", c->id,
		    mc_kind_name(c->kind), c->exit_code);
	else
		snprintf(detail, sizeof(detail), "%s %s %s", c->id,
		    mc_kind_name(c->kind), hub_cmd_status_name(st));
	hub_event_command(c->agent, c->by, hub_cmd_status_name(st), detail,
	    c->cmd != NULL ? c->cmd : c->arg);
	hub_prom_command(st);
	cmd_save(c);
	hub_cmd_notify(c);
	hub_ui_command(c);
	hub_update_on_cmd(c);
	hub_roll_on_cmd(c);
	hub_chat_on_cmd(c);
	if (a != NULL)
		hub_cmd_dispatch(a);
}

void
hub_cmd_on_hello(struct hub_agent *a, const char *boot,
    const char *const *pending, int npending)
{
	struct hub_cmd *c, *next;
	int i, held, same = a->boot[0] && strcmp(a->boot, boot) == 0;

	for (c = a->cmds; c != NULL; c = next) {
		next = c->anext;
		if (!hub_cmd_in_flight(c))
			continue;
		for (held = 0, i = 0; i < npending && !held; i++)
			held = strcmp(pending[i], c->id) == 0;
		if (held)
			continue;
		if (same) {
			/* this very process never got it: send it again */
			c->status = CMD_QUEUED;
			a->running--;
		} else if (c->kind == MC_KIND_RESTART) {
			c->exit_code = 0;
			hub_cmd_finish(c, CMD_DONE);
		} else {
			snprintf(c->error, sizeof(c->error), "the listener "
			    "restarted while the command was in flight; it "
			    "may or may not have run");
			mc_warn("command %s on '%s' is lost: the listener "
			    "restarted", c->id, a->name);
			hub_cmd_finish(c, CMD_LOST);
		}
	}
	if (strcmp(a->boot, boot) != 0) {
		mc_strlcpy(a->boot, boot, sizeof(a->boot));
		hub_db_exec("UPDATE agents SET boot = ? WHERE id = ?", "ti",
		    a->boot, a->id);
	}
	hub_cmd_dispatch(a);
}

/* A running command's output so far goes to the store now and then. */
static void
output_save(struct hub_cmd *c, double now)
{
	if (!hub_cmd_in_flight(c) || c->out.len == c->out_saved ||
	    now - c->out_saved_at < CMD_OUT_SAVE_EVERY)
		return;
	c->out_saved = c->out.len;
	c->out_saved_at = now;
	cmd_save(c);
}

void
hub_cmd_shutdown(void)
{
	struct hub_cmd *c;

	for (c = live.head; c != NULL; c = c->next)
		output_save(c, INFINITY);
}

/* A command waiting only for a free slot gives up when its agent leaves
 * on purpose (it was accepted for an agent that was online). */
static int
agent_gone(const struct hub_cmd *c)
{
	const struct hub_agent *a = hub_agent_find(c->agent);

	return !c->shadow && (a == NULL || a->status == ST_OFFLINE);
}

/* Wake the streams of a quiet command that owe a keep-alive line. */
static void
stream_keepalive(const struct hub_cmd *c, double now)
{
	const struct hub_cmd_sub *s;

	if (hub_cmd_finished(c))
		return;
	for (s = c->subs; s != NULL; s = s->next)
		if (s->conn->http != NULL && now >= s->conn->http->stream_ka)
			hub_ws_want_write(s->conn->wsi);
}

void
hub_cmd_expire(double now)
{
	struct hub_cmd *c, *next;

	for (c = live.head; c != NULL; c = next) {
		next = c->next;
		stream_keepalive(c, now);
		output_save(c, now);
		if (c->status == CMD_QUEUED && c->expires > 0 &&
		    now >= c->expires) {
			snprintf(c->error, sizeof(c->error), "agent '%s' was "
			    "not back within the command's queue time",
			    c->agent);
			hub_cmd_finish(c, CMD_EXPIRED);
		} else if (c->status == CMD_QUEUED && c->expires == 0 &&
		    agent_gone(c)) {
			snprintf(c->error, sizeof(c->error), "agent '%s' went "
			    "offline before the command could start",
			    c->agent);
			hub_cmd_finish(c, CMD_EXPIRED);
		} else if (hub_cmd_in_flight(c) && now >= c->deadline)
			hub_cmd_overdue(c);
	}
}

void
hub_cmd_lost(struct hub_cmd *c)
{
	snprintf(c->error, sizeof(c->error), "no result from agent '%s' "
	    "within %.0fs after the command's timeout", c->agent,
	    HUB_CMD_LOST_GRACE);
	mc_warn("command %s on '%s' is lost", c->id, c->agent);
	hub_cmd_finish(c, CMD_LOST);
}

void
hub_cmd_free_all(void)
{
	struct hub_cmd *c, *next;

	for (c = live.head; c != NULL; c = next) {
		next = c->next;
		cmd_free(c);
	}
	memset(&live, 0, sizeof(live));
}
