/*
 * hub_bus_cmd.c - a command that came over the bus: the hub that runs it
 * sends its progress to the hub that asked, which keeps a shadow of it.
 *
 * The holder marks the command with the asker's name (c->fwd) and, every
 * time the command changes (hub_cmd_notify(): started, output, the end),
 * publishes on maestro:to:ASKER what is new: {"t":"cmd","id":ID,
 * "status":...,"exit":...,"truncated":...,"out_bytes":...,"error":...,
 * "started":...,"finished":...,"out":[[STREAM,BASE64],...]}, the output
 * past what was sent, base64 so every byte arrives as it was, in pieces
 * of at most CMD_PIECE bytes.  A screenshot's picture follows once the
 * command ended, in pieces of CMD_PIECE ("png":[OFFSET,BASE64], one per
 * message), before the message with the outcome, so the asker serves it
 * as the holder does.  The mark goes with the last message.
 * The asker holds a shadow (hub_cmd_shadow_new(): in memory only, never
 * stored, no event: the holder stores and records it) that the messages
 * fill, so GET /api/commands/ID, its stream and hubctl send follow it at
 * the asker exactly as a local command.  Messages from one hub arrive in
 * the order it sent them (one connection publishes them all), so the
 * shadow exists before its first progress.  A running shadow that hears
 * nothing for its timeout and twice HUB_CMD_LOST_GRACE is lost (the
 * holder would have said lost after one); the shadows of a hub that went
 * down (hub_bus.c) are lost at once, a queued one too, unless the store
 * is shared: another hub may take the command over, so the shadow
 * follows its row in the store until it ends or its deadline passes
 * (hub_cmd_adopt.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_bus.h"
#include "mc_log.h"
#include "mc_util.h"

#define CMD_PIECE	(512 * 1024)	/* output bytes per message */

/* An unfinished shadow and the hub that runs it. */
struct shadow {
	char		 id[MC_ID_MAX];
	char		 hub[HUB_BUS_NAME_MAX + 1];
	struct shadow	*next;
};

static struct {
	struct shadow	*head;		/* owned */
	size_t		 n;
} sh;

static void
shadow_add(const char *id, const char *holder)
{
	struct shadow *s;

	if (sh.n >= MC_CMDS_LIVE_MAX || (s = calloc(1, sizeof(*s))) == NULL)
		return;		/* owned by sh */
	mc_strlcpy(s->id, id, sizeof(s->id));
	mc_strlcpy(s->hub, holder, sizeof(s->hub));
	s->next = sh.head;
	sh.head = s;
	sh.n++;
}

/* Forget the shadows that ended (or were evicted). */
static void
shadow_prune(void)
{
	struct shadow **pp = &sh.head, *s;
	struct hub_cmd *c;

	while ((s = *pp) != NULL) {
		c = hub_cmd_find(s->id);
		if (c != NULL && c->shadow && !hub_cmd_finished(c)) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		free(s);
		sh.n--;
	}
}

void
hub_bus_cmd_cron(double now)
{
	static double next;

	if (now < next)
		return;
	next = now + 10;
	shadow_prune();
}

void
hub_bus_cmd_free_all(void)
{
	struct shadow *s, *next;

	for (s = sh.head; s != NULL; s = next) {
		next = s->next;
		free(s);
	}
	sh.head = NULL;
	sh.n = 0;
}

void
hub_bus_cmd_hub_down(const char *name)
{
	struct shadow *s;
	struct hub_cmd *c;

	for (s = sh.head; s != NULL; s = s->next) {
		if (strcmp(s->hub, name) != 0 ||
		    (c = hub_cmd_find(s->id)) == NULL || !c->shadow ||
		    hub_cmd_finished(c))
			continue;
		if (hub_db_shared()) {
			/* its agent's listener moves to another hub of the
			 * store, which takes the command over: follow it */
			hub_cmd_follow(c);
			continue;
		}
		snprintf(c->error, sizeof(c->error), "hub %s, which ran it for "
		    "agent '%s', went down: it may or may not have run", name,
		    c->agent);
		hub_cmd_finish(c, CMD_LOST);
	}
	shadow_prune();
}

void
hub_bus_cmd_forward(struct hub_cmd *c, const char *to)
{
	free(c->fwd);
	c->fwd = strdup(to);	/* owned by c */
	c->fwd_bytes = 0;
	c->fwd_blob = 0;
}

/* The chunks' bytes from c->fwd_bytes on, at most CMD_PIECE of them. */
static void
out_write(struct mc_jw *w, struct hub_cmd *c, struct mc_buf *tmp)
{
	size_t i = c->nchunks, from, n, sent = 0;

	while (i > 0 && c->chunks[i - 1].off + c->chunks[i - 1].len >
	    c->fwd_bytes)
		i--;
	mc_jw_arr(w, "out");
	for (; i < c->nchunks && sent < CMD_PIECE; i++) {
		from = c->chunks[i].off > c->fwd_bytes ? c->chunks[i].off :
		    c->fwd_bytes;
		n = c->chunks[i].off + c->chunks[i].len - from;
		if (n > CMD_PIECE - sent)
			n = CMD_PIECE - sent;
		mc_buf_reset(tmp);
		if (mc_b64_encode(tmp, c->out.data + from, n) == -1)
			break;
		mc_jw_arr(w, NULL);
		mc_jw_i64(w, NULL, c->chunks[i].stream);
		mc_jw_strn(w, NULL, tmp->data, tmp->len);
		mc_jw_arr_end(w);
		c->fwd_bytes = from + n;
		sent += n;
	}
	mc_jw_arr_end(w);
}

/* The picture's bytes from c->fwd_blob on, at most CMD_PIECE of them. */
static void
png_write(struct mc_jw *w, struct hub_cmd *c, struct mc_buf *tmp)
{
	size_t n = c->blob.len - c->fwd_blob;

	if (n > CMD_PIECE)
		n = CMD_PIECE;
	mc_buf_reset(tmp);
	if (mc_b64_encode(tmp, c->blob.data + c->fwd_blob, n) == -1)
		return;
	mc_jw_arr(w, "png");
	mc_jw_u64(w, NULL, c->fwd_blob);
	mc_jw_strn(w, NULL, tmp->data, tmp->len);
	mc_jw_arr_end(w);
	c->fwd_blob += n;
}

/* Output, then (once it ended) the picture, are left for another
 * message. */
static int
progress_left(const struct hub_cmd *c)
{
	return c->fwd_bytes < c->out.len ||
	    (hub_cmd_finished(c) && c->fwd_blob < c->blob.len);
}

/* One progress message; 1 when more is left for another. */
static int
progress_send(struct hub_cmd *c)
{
	char chan[HUB_BUS_CHAN_MAX];
	struct mc_buf b, tmp;
	struct mc_jw w;

	mc_buf_init(&b, CMD_PIECE * 2 + 16 * 1024);
	mc_buf_init(&tmp, CMD_PIECE * 2);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "t", "cmd");
	mc_jw_str(&w, "id", c->id);
	if (c->fwd_bytes < c->out.len || !hub_cmd_finished(c) ||
	    c->fwd_blob == c->blob.len)
		out_write(&w, c, &tmp);
	else
		png_write(&w, c, &tmp);
	if (!progress_left(c)) {
		hub_cmd_write_outcome(&w, c);
		mc_jw_dbl(&w, "started", c->started);
		mc_jw_dbl(&w, "finished", c->finished);
	}
	mc_jw_obj_end(&w);
	hub_bus_chan_to(chan, sizeof(chan), c->fwd);
	if (mc_jw_done(&w) == -1 || hub_bus_link_queue(LINK_PUB, chan, b.data,
	    b.len, NULL, NULL) == -1)
		mc_warn("bus: command %s's progress was not sent to hub %s",
		    c->id, c->fwd);
	mc_buf_free(&tmp);
	mc_buf_free(&b);
	return progress_left(c);
}

void
hub_bus_cmd_changed(struct hub_cmd *c)
{
	int more;

	if (c->fwd == NULL)
		return;
	do
		more = progress_send(c);
	while (more);
	if (hub_cmd_finished(c)) {
		free(c->fwd);
		c->fwd = NULL;
	}
}

/* ---- the asker's shadow ---- */

uint64_t
hub_bus_cap(const struct mc_json *o)
{
	int64_t cap = MC_OUTPUT_CAP_DEFAULT;

	mc_json_int(o, "cap", 0, MC_OUTPUT_CAP_MAX, &cap);
	return (uint64_t)cap;
}

void
hub_bus_cmd_shadow(const struct mc_json *o, const char *holder,
    uint64_t cap)
{
	const char *id = mc_json_str(o, "id"), *agent = mc_json_str(o,
	    "agent"), *type = mc_json_str(o, "type"), *st = mc_json_str(o,
	    "status");
	struct hub_cmd_req q;
	struct hub_cmd *c;

	memset(&q, 0, sizeof(q));
	if (id == NULL || strlen(id) >= MC_ID_MAX || agent == NULL ||
	    holder == NULL || !hub_bus_name_valid(holder) ||
	    strlen(agent) > MC_NAME_MAX || type == NULL ||
	    mc_kind_parse(type, &q.kind) == -1)
		return;
	q.cap = cap;
	q.cmd = mc_json_str(o, "cmd");
	if (q.kind == MC_KIND_CONTAINER_UPDATE)
		q.cmd = mc_json_str(o, "image");
	q.arg = mc_json_str(o, "arg");
	q.by = mc_json_str(o, "requested_by");
	q.by = q.by != NULL ? q.by : "";
	q.timeout = MC_TIMEOUT_DEFAULT;
	mc_json_num(o, "timeout", &q.timeout);
	if ((c = hub_cmd_shadow_new(agent, &q, id)) == NULL) {
		mc_warn("bus: no room for command %s run by another hub", id);
		return;
	}
	if (st == NULL || hub_cmd_status_parse(st, &c->status) == -1)
		c->status = CMD_QUEUED;
	mc_json_num(o, "created", &c->created);
	shadow_add(id, holder);
}

/* The output pieces of a progress message into the shadow. */
static void
out_read(struct hub_cmd *c, const struct mc_json *arr)
{
	const struct mc_json *e, *s, *d;
	char *buf;	/* owned */
	long n;

	if (arr == NULL || arr->type != MC_JARR ||
	    (buf = malloc(CMD_PIECE + 4)) == NULL)
		return;
	for (e = arr->child; e != NULL; e = e->next) {
		s = e->type == MC_JARR ? e->child : NULL;
		d = s != NULL ? s->next : NULL;
		if (s == NULL || s->type != MC_JNUM || d == NULL ||
		    d->type != MC_JSTR ||
		    (n = mc_b64_decode(d->str, d->len, buf, CMD_PIECE + 4)) < 0)
			continue;
		hub_cmd_out_add(c, s->num == MC_STDERR ? MC_STDERR : MC_STDOUT,
		    buf, (size_t)n);
	}
	free(buf);
}

/* A piece of the picture into the shadow. */
static void
png_read(struct hub_cmd *c, const struct mc_json *arr)
{
	const struct mc_json *off = arr != NULL && arr->type == MC_JARR ?
	    arr->child : NULL, *d = off != NULL ? off->next : NULL;
	char *buf;	/* owned */
	long n;

	if (off == NULL || off->type != MC_JNUM || off->num < 0 ||
	    d == NULL || d->type != MC_JSTR ||
	    (buf = malloc(CMD_PIECE + 4)) == NULL)
		return;
	if ((n = mc_b64_decode(d->str, d->len, buf, CMD_PIECE + 4)) >= 0)
		hub_cmd_blob_add(c, (uint64_t)off->num, buf, (size_t)n);
	free(buf);
}

void
hub_bus_cmd_progress(const struct mc_json *o)
{
	const char *id = mc_json_str(o, "id"), *st = mc_json_str(o, "status"),
	    *err = mc_json_str(o, "error");
	struct hub_cmd *c = id != NULL ? hub_cmd_find(id) : NULL;
	enum hub_cmd_status status;
	int64_t v;

	if (c == NULL || !c->shadow || hub_cmd_finished(c))
		return;
	c->deadline = mc_now() + c->timeout + 2 * HUB_CMD_LOST_GRACE;
	out_read(c, mc_json_get(o, "out"));
	png_read(c, mc_json_get(o, "png"));
	if (st == NULL || hub_cmd_status_parse(st, &status) == -1) {
		hub_cmd_notify(c);
		return;
	}
	if (mc_json_int(o, "exit", -1, INT32_MAX, &v) == 0)
		c->exit_code = (int)v;
	if (mc_json_int(o, "out_bytes", 0, INT64_MAX, &v) == 0)
		c->out_bytes = (uint64_t)v;
	mc_json_bool(o, "truncated", &c->truncated);
	mc_json_num(o, "started", &c->started);
	mc_json_num(o, "finished", &c->finished);
	if (err != NULL)
		mc_strlcpy(c->error, err, sizeof(c->error));
	if (status >= CMD_DONE) {
		hub_cmd_finish(c, status);
		return;
	}
	c->status = status;
	hub_cmd_notify(c);
}
