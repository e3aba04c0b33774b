/*
 * hub_cmd_report.c - what a listener reports about a command: that it
 * started, its output, a file's pieces, its result; and the ack once the
 * result is stored.
 *
 * Rules kept here:
 *  - a message about a command is accepted only from its own agent;
 *  - output is placed by its "at" when the listener numbers it, so output
 *    sent again after a reconnect (lst_tail.c) fills what a restarted or
 *    new hub had not stored, and is never shown twice;
 *  - a result is acknowledged only once it is committed (hub_db_call),
 *    and a result for a command this hub does not know is acknowledged
 *    too, so the listener forgets it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

static int
chunk_add(struct hub_cmd *c, enum mc_stream stream, size_t off, size_t len)
{
	struct hub_chunk *last = c->nchunks ? &c->chunks[c->nchunks - 1] : NULL;
	struct hub_chunk *n;
	size_t cap;

	if (last && last->stream == stream && last->off + last->len == off) {
		last->len += len;
		return 0;
	}
	if (c->nchunks == c->chunks_cap) {
		cap = c->chunks_cap ? c->chunks_cap * 2 : 8;
		if ((n = realloc(c->chunks, cap * sizeof(*n))) == NULL)
			return -1;
		c->chunks = n;
		c->chunks_cap = cap;
	}
	c->chunks[c->nchunks].stream = stream;
	c->chunks[c->nchunks].off = off;
	c->chunks[c->nchunks++].len = len;
	return 0;
}

/* The command, if it exists and belongs to this agent. */
static struct hub_cmd *
cmd_of(const struct hub_agent *a, const char *id)
{
	struct hub_cmd *c = hub_cmd_find(id);

	if (c == NULL || strcmp(c->agent, a->name) != 0) {
		mc_warn("agent '%s' reported on unknown command %s; ignored",
		    a->name, id);
		return NULL;
	}
	return c;
}

void
hub_cmd_on_started(struct hub_agent *a, const struct mc_started *s)
{
	struct hub_cmd *c = cmd_of(a, s->id);

	if (c == NULL || c->status != CMD_SENT)
		return;
	c->status = CMD_RUNNING;
	c->started = mc_wall();
	hub_db_exec("UPDATE commands SET status = 'running', started = ?"
	    " WHERE id = ?", "dt", c->started, c->id);
	hub_cmd_notify(c);
	hub_ui_command(c);
}

void
hub_cmd_out_add(struct hub_cmd *c, enum mc_stream stream, const char *data,
    size_t len)
{
	size_t room, n, off;

	room = c->out.limit - c->out.len;
	n = len < room ? len : room;
	if (n < len)
		c->truncated = 1;
	if (n == 0)
		return;
	off = c->out.len;
	if (mc_buf_append(&c->out, data, n) == -1 ||
	    chunk_add(c, stream, off, n) == -1) {
		c->truncated = 1;
		return;
	}
	hub_cmd_bytes((ptrdiff_t)n);
}

void
hub_cmd_out_clear(struct hub_cmd *c)
{
	hub_cmd_bytes(-(ptrdiff_t)c->out.len);
	mc_buf_reset(&c->out);
	c->nchunks = 0;
	c->out_saved = 0;
}

/*
 * How many of o's bytes this hub already has.  A listener numbers its
 * chunks ("at": the bytes it sent before) and after a reconnect sends
 * again the last ones it wrote (lst_tail.c), because a hub restarted
 * from its store, or the one that took the command over, has only what
 * was stored, and bytes in flight die with a connection.  What is here
 * is skipped; a hole (what neither the store nor the listener's tail
 * kept) is counted, and the result says so (output_gap).
 */
static size_t
out_have(struct hub_cmd *c, const struct mc_out *o)
{
	if (!o->has_at || o->at == c->out_bytes)
		return 0;
	if (o->at > c->out_bytes) {
		c->out_lost += o->at - c->out_bytes;
		c->out_bytes = o->at;
		return 0;
	}
	return c->out_bytes - o->at < o->len ?
	    (size_t)(c->out_bytes - o->at) : o->len;
}

void
hub_cmd_on_out(struct hub_agent *a, const struct mc_out *o)
{
	struct hub_cmd *c = cmd_of(a, o->id);
	size_t have;

	if (c == NULL || !hub_cmd_in_flight(c))
		return;
	have = out_have(c, o);
	if (have == o->len)
		return;			/* a repeat */
	if (c->status == CMD_SENT)
		c->status = CMD_RUNNING;
	c->out_bytes += o->len - have;
	hub_cmd_out_add(c, o->stream, o->data + have, o->len - have);
	hub_cmd_notify(c);
}

void
hub_cmd_on_blob(struct hub_agent *a, const struct mc_blob *b)
{
	struct hub_cmd *c = cmd_of(a, b->id);

	if (c != NULL && hub_cmd_in_flight(c))
		hub_cmd_blob_add(c, b->off, b->data, b->len);
}

void
hub_cmd_blob_add(struct hub_cmd *c, uint64_t off, const void *data,
    size_t len)
{
	if (off == 0 && c->blob.len > 0) {
		/* the listener starts the file again (a piece was lost with a
		 * connection): forget what came before */
		hub_cmd_bytes(-(ptrdiff_t)c->blob.len);
		mc_buf_reset(&c->blob);
	}
	if (off != c->blob.len || mc_buf_append(&c->blob, data, len) == -1) {
		mc_warn("command %s: file piece at %llu out of order or over "
		    "%d bytes; dropping the file", c->id,
		    (unsigned long long)off, MC_BLOB_MAX);
		hub_cmd_bytes(-(ptrdiff_t)c->blob.len);
		mc_buf_free(&c->blob);
		mc_strlcpy(c->error, "the file did not arrive whole",
		    sizeof(c->error));
		return;
	}
	hub_cmd_bytes((ptrdiff_t)len);
}

static enum hub_cmd_status
outcome_status(enum mc_outcome o)
{
	switch (o) {
	case MC_DONE: return CMD_DONE;
	case MC_TIMEOUT: return CMD_TIMEOUT;
	default: return CMD_FAILED;
	}
}

/*
 * Output streams to the hub as it comes.  The hub stores the output of a
 * running command every few seconds and when it stops (hub_cmd.c); a
 * listener keeps the last output it wrote until the result's ack and
 * sends it again after a reconnect (out_have), so a restart (a kill -9)
 * or a takeover loses only what is older than that tail and newer than
 * the store.  Holes found on the way, and the result's count of bytes
 * against what arrived, say how many: say so rather than show a silent
 * hole.  A truncated command's count includes what the listener never
 * sent (over the cap, or past a full queue): the flag says that, not a
 * hole.
 */
static void
output_gap(struct hub_cmd *c, const struct mc_result *r)
{
	uint64_t lost = c->out_lost;

	if (!r->truncated && r->out_bytes > c->out_bytes)
		lost += r->out_bytes - c->out_bytes;
	if (lost == 0 || c->error[0] != '\0')
		return;
	snprintf(c->error, sizeof(c->error), "%llu of its %llu output bytes "
	    "were lost: the hub stopped before it could store them",
	    (unsigned long long)lost, (unsigned long long)
	    (r->out_bytes > c->out_bytes ? r->out_bytes : c->out_bytes));
}

struct ack_job {
	char	agent[MC_NAME_MAX + 1];
	char	id[MC_ID_MAX];
};

/* The result is committed: now the agent may forget it.  If the agent
 * reconnected meanwhile it gets the ack on its new connection; if it is
 * gone it resends the result later and is acknowledged then. */
static void
ack_done(void *arg, int stored)
{
	struct ack_job *j = arg;
	struct hub_agent *a = hub_agent_find(j->agent);
	struct mc_ack ack;
	struct mc_buf b;

	/* not stored: no ack, so the listener keeps the result and sends
	 * it again when it reconnects */
	if (stored && a != NULL && a->conn != NULL) {
		memset(&ack, 0, sizeof(ack));
		mc_strlcpy(ack.id, j->id, sizeof(ack.id));
		mc_buf_init(&b, 256);
		if (mc_ack_encode(&b, &ack) == 0 &&
		    hub_conn_send(a->conn, b.data, b.len) == 0)
			hub.stats.acks++;
		mc_buf_free(&b);
	}
	free(j);
}

/* Acknowledge agent's result id once everything queued for the store
 * before it is written. */
static void
ack_later(const char *agent, const char *id)
{
	struct ack_job *j = calloc(1, sizeof(*j));	/* freed by ack_done */

	if (j == NULL)
		return;
	mc_strlcpy(j->agent, agent, sizeof(j->agent));
	mc_strlcpy(j->id, id, sizeof(j->id));
	hub_db_call(NULL, ack_done, j);
}

void
hub_cmd_on_result(struct hub_conn *conn, const struct mc_result *r)
{
	struct hub_cmd *c = cmd_of(conn->agent, r->id);

	/* A result for a command not known here: it ended before (a hub
	 * killed after storing it but before its ack, a command this hub
	 * no longer keeps in memory) or it was never stored.  Nobody can
	 * take it any more; unacknowledged, the listener would keep it,
	 * and send it at every reconnect, for good. */
	if (c == NULL) {
		mc_info("agent '%s': result for command %s, which this hub "
		    "does not run; acknowledged so the agent forgets it",
		    conn->agent->name, r->id);
		hub.stats.results_unknown++;
		ack_later(conn->agent->name, r->id);
		return;
	}
	if (hub_cmd_in_flight(c)) {
		c->exit_code = r->exit_code;
		c->truncated |= r->truncated;
		output_gap(c, r);
		if (r->out_bytes > c->out_bytes)
			c->out_bytes = r->out_bytes;
		if (c->error[0] == '\0')
			mc_strlcpy(c->error, r->error, sizeof(c->error));
		mc_info("command %s on '%s': %s, exit %d", c->id, c->agent,
		    mc_outcome_name(r->outcome), r->exit_code);
		hub_cmd_finish(c, outcome_status(r->outcome));
	}
	/* acknowledge once the result is on disk; a resent result is
	 * acknowledged again and changes nothing */
	ack_later(c->agent, c->id);
}
