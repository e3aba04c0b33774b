/*
 * hub_ui.c - the live feed of /ws/ui, for the dashboard and hubctl watch.
 *
 * A UI connection signs in with its first message, {"t":"auth","token":T}
 * (never in the URL, so the token is in no log and no history), gets a
 * snapshot of every agent, and from then on every change as it happens:
 * an agent's status at once, its metrics at most once a second (batched
 * per cron tick), every event recorded by hub_event() and every change of
 * a command's status.  docs/api.md describes the messages.
 *
 * Rules kept here:
 *  - no work at all while no UI is signed in: every hook returns at once;
 *  - a pushed item is encoded once and queued to each UI connection, so it
 *    costs O(UI connections); batched agents are kept in a dirty list, so
 *    a flush costs O(agents that changed), never a scan of all agents;
 *  - each connection's queue is bounded (hub_conn_send, MC_PEER_QUEUE_MAX):
 *    a browser that does not read is dropped, never buffered forever;
 *  - a session that does not sign in within UI_AUTH_TIMEOUT, or whose
 *    token is revoked, is closed; a bad message closes that session alone.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

/* seconds a new connection has to send its auth message */
#define UI_AUTH_TIMEOUT		10.0
/* the largest message a UI sends (auth, ping) */
#define UI_IN_MAX		4096
/* seconds between two pushes of an agent's metrics */
#define UI_FLUSH_EVERY		1.0
/* bytes of agents per batched "agents" message */
#define UI_BATCH_BYTES		(64 * 1024)

struct hub_ui {
	struct hub_conn		*conn;		/* not owned: it owns us */
	const struct hub_token	*token;		/* NULL until signed in */
	double			 opened;	/* monotonic */
	struct hub_ui		*next, *prev;	/* every UI session */
};

static struct {
	struct hub_ui	 *head;		/* owned via each conn->ui */
	size_t		  signed_in;
	struct hub_agent **dirty;	/* owned array; agents not owned */
	size_t		  ndirty, cap;
	double		  last_flush;	/* monotonic */
} ui;

size_t
hub_ui_count(void)
{
	return ui.signed_in;
}

/* ---- sending ---- */

/* Refuse a session: say why, log it, close after the queue drains. */
static void
ui_fail(struct hub_conn *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ui_fail(struct hub_conn *c, const char *code, const char *fmt, ...)
{
	char msg[256];
	struct mc_buf b;
	struct mc_jw w;
	va_list ap;

	if (c->closing)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mc_info("%s: ui session refused (%s): %s; closing", c->peer, code, msg);
	mc_buf_init(&b, 1024);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "t", "error");
	mc_jw_str(&w, "code", code);
	mc_jw_str(&w, "error", msg);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == 0)
		hub_conn_send(c, b.data, b.len);
	mc_buf_free(&b);
	c->closing = 1;
	c->close_code = 1008;
	hub_ws_want_write(c->wsi);
}

void
hub_ui_raw(const char *msg, size_t len)
{
	struct hub_ui *u;

	for (u = ui.head; u != NULL; u = u->next)
		if (u->token != NULL && !u->conn->closing)
			hub_conn_send(u->conn, msg, len);
}

/* Queue one encoded message to every signed-in session. */
static void
broadcast(const struct mc_buf *b)
{
	hub_ui_raw(b->data, b->len);
}

/* Start {"t":"T","KEY": and a writer for the one value that follows
 * (t and key are literals that need no escaping). */
static void
wrap_begin(struct mc_buf *b, struct mc_jw *w, const char *t, const char *key)
{
	mc_buf_init(b, MC_PEER_QUEUE_MAX);
	mc_buf_printf(b, "{\"t\":\"%s\",\"%s\":", t, key);
	mc_jw_init(w, b);
}

/* Close the message, queue it to every session, release it. */
static void
wrap_send(struct mc_buf *b, struct mc_jw *w)
{
	if (mc_jw_done(w) == 0 && mc_buf_puts(b, "}") == 0)
		broadcast(b);
	else
		mc_err("ui: a message was over %d bytes; not sent",
		    MC_PEER_QUEUE_MAX);
	mc_buf_free(b);
}

/* ---- sessions ---- */

void
hub_ui_open(struct hub_conn *c)
{
	struct hub_ui *u = calloc(1, sizeof(*u));

	if (u == NULL) {
		mc_err("%s: out of memory for a ui session", c->peer);
		hub_ws_close_soon(c->wsi);
		return;
	}
	u->conn = c;
	u->opened = mc_now();
	u->next = ui.head;
	if (ui.head)
		ui.head->prev = u;
	ui.head = u;
	c->ui = u;
	mc_debug("%s: ui connection opened", c->peer);
}

/* Nobody watches any more: forget what was waiting to be pushed. */
static void
dirty_clear(void)
{
	size_t i;

	for (i = 0; i < ui.ndirty; i++)
		ui.dirty[i]->ui_dirty = 0;
	ui.ndirty = 0;
	if (ui.signed_in == 0) {
		free(ui.dirty);
		ui.dirty = NULL;
		ui.cap = 0;
	}
}

void
hub_ui_close(struct hub_conn *c)
{
	struct hub_ui *u = c->ui;

	if (u == NULL)
		return;
	if (u->prev)
		u->prev->next = u->next;
	else
		ui.head = u->next;
	if (u->next)
		u->next->prev = u->prev;
	if (u->token != NULL) {
		ui.signed_in--;
		mc_info("%s: ui session of token %s closed", c->peer,
		    u->token->id);
	}
	if (ui.signed_in == 0)
		dirty_clear();
	c->ui = NULL;
	free(u);
}

static void
send_snapshot(struct hub_conn *c, const struct hub_token *t)
{
	struct hub_agent *a;
	struct mc_buf b;
	struct mc_jw w;

	mc_buf_init(&b, MC_PEER_QUEUE_MAX);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "t", "snapshot");
	mc_jw_str(&w, "version", MC_VERSION);
	mc_jw_str(&w, "token", t->id);
	mc_jw_str(&w, "name", t->name);
	mc_jw_str(&w, "role", hub_role_name(t->role));
	mc_jw_dbl(&w, "heartbeat", hub.conf.heartbeat);
	mc_jw_i64(&w, "miss", hub.conf.miss);
	mc_jw_dbl(&w, "now", mc_wall());
	mc_jw_arr(&w, "agents");
	/* an agent held by another hub as that hub last told (the bus) */
	for (a = hub_agent_first(); a != NULL; a = a->next)
		if (!hub_bus_feed_write_agent(&w, a->name, a))
			hub_agent_write(&w, a, 0);
	hub_bus_feed_write_others(&w);
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == 0)
		hub_conn_send(c, b.data, b.len);
	else
		ui_fail(c, "too_large", "the snapshot of %zu agents is over "
		    "%d bytes", hub_agent_count(), MC_PEER_QUEUE_MAX);
	mc_buf_free(&b);
}

static void
on_auth(struct hub_conn *c, const struct mc_json *o)
{
	const char *tok = mc_json_str(o, "token");
	const struct hub_token *t;

	if (tok == NULL || (t = hub_auth_token(tok)) == NULL) {
		ui_fail(c, "unauthorized", "%s", tok == NULL ? "auth needs "
		    "\"token\"" : "the hub does not know this token");
		return;
	}
	c->ui->token = t;
	ui.signed_in++;
	mc_info("%s: ui session signed in with token %s (%s)", c->peer, t->id,
	    hub_role_name(t->role));
	send_snapshot(c, t);
}

static void
on_ping(struct hub_conn *c)
{
	static const char pong[] = "{\"t\":\"pong\"}";

	hub_conn_send(c, pong, sizeof(pong) - 1);
}

void
hub_ui_handle(struct hub_conn *c, const char *buf, size_t len)
{
	const struct mc_json *o;
	struct mc_jdoc *d;
	const char *t;
	char err[128];

	if (c->closing || c->ui == NULL)
		return;
	if (len > UI_IN_MAX) {
		ui_fail(c, "too_large", "ui messages are at most %d bytes",
		    UI_IN_MAX);
		return;
	}
	if ((d = mc_json_parse(buf, len, err, sizeof(err))) == NULL) {
		ui_fail(c, "bad_request", "not JSON: %s", err);
		return;
	}
	o = mc_json_root(d);
	t = mc_json_str(o, "t");
	if (t == NULL)
		ui_fail(c, "bad_request", "a message needs \"t\"");
	else if (c->ui->token == NULL && strcmp(t, "auth") == 0)
		on_auth(c, o);
	else if (c->ui->token == NULL)
		ui_fail(c, "unauthorized", "the first message must be "
		    "{\"t\":\"auth\",\"token\":...}");
	else if (strcmp(t, "ping") == 0)
		on_ping(c);
	else
		ui_fail(c, "bad_request", "unexpected message type");
	mc_json_free(d);
}

/* ---- what is pushed ---- */

void
hub_ui_agent(struct hub_agent *a, int now)
{
	struct hub_agent **n;
	struct mc_buf b;
	struct mc_jw w;
	size_t cap;

	hub_bus_feed_agent(a, now);
	if (ui.signed_in == 0)
		return;
	if (now) {
		/* a queued metrics push would only repeat this */
		a->ui_dirty = 0;
		wrap_begin(&b, &w, "agent", "agent");
		hub_agent_write(&w, a, 0);
		wrap_send(&b, &w);
		return;
	}
	if (a->ui_dirty)
		return;
	if (ui.ndirty == ui.cap) {
		cap = ui.cap ? ui.cap * 2 : 64;
		if ((n = realloc(ui.dirty, cap * sizeof(*n))) == NULL)
			return;
		ui.dirty = n;
		ui.cap = cap;
	}
	ui.dirty[ui.ndirty++] = a;
	a->ui_dirty = 1;
}

/* Push every agent whose metrics changed, in messages of about
 * UI_BATCH_BYTES: {"t":"agents","agents":[...]}. */
static void
flush_dirty(void)
{
	struct mc_buf b;
	struct mc_jw w;
	size_t i;
	int open = 0;

	for (i = 0; i < ui.ndirty; i++) {
		if (!ui.dirty[i]->ui_dirty)
			continue;
		ui.dirty[i]->ui_dirty = 0;
		if (!open) {
			wrap_begin(&b, &w, "agents", "agents");
			mc_jw_arr(&w, NULL);
			open = 1;
		}
		hub_agent_write(&w, ui.dirty[i], 0);
		if (b.len >= UI_BATCH_BYTES) {
			mc_jw_arr_end(&w);
			wrap_send(&b, &w);
			open = 0;
		}
	}
	if (open) {
		mc_jw_arr_end(&w);
		wrap_send(&b, &w);
	}
	ui.ndirty = 0;
}

void
hub_ui_event(const struct hub_event_rec *e)
{
	struct mc_buf b;
	struct mc_jw w;

	hub_bus_feed_event(e);
	if (ui.signed_in == 0)
		return;
	wrap_begin(&b, &w, "event", "event");
	hub_event_write(&w, e);
	wrap_send(&b, &w);
}

void
hub_ui_command(const struct hub_cmd *c)
{
	struct mc_buf b;
	struct mc_jw w;

	hub_bus_feed_command(c);
	if (ui.signed_in == 0)
		return;
	wrap_begin(&b, &w, "command", "command");
	hub_cmd_write(&w, c, 0);
	wrap_send(&b, &w);
}

void
hub_ui_cron(double now)
{
	struct hub_ui *u;

	for (u = ui.head; u != NULL; u = u->next) {
		if (u->conn->closing)
			continue;
		if (u->token == NULL && now - u->opened > UI_AUTH_TIMEOUT)
			ui_fail(u->conn, "unauthorized", "no auth message "
			    "within %.0f s", UI_AUTH_TIMEOUT);
		else if (u->token != NULL && u->token->revoked)
			ui_fail(u->conn, "unauthorized", "token %s was "
			    "revoked", u->token->id);
	}
	if (ui.ndirty > 0 && now - ui.last_flush >= UI_FLUSH_EVERY) {
		ui.last_flush = now;
		flush_dirty();
	}
}
