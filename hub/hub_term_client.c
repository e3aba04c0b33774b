/*
 * hub_term_client.c - WS /ws/term: a terminal on an agent, one session
 * per connection, for hubctl term and the dashboard (docs/api.md, "WS
 * /ws/term"; the relay towards the agent is hub_term.c).
 *
 * The first message signs in and says where to,
 * {"t":"auth","token":T,"agent":A,"cols":C,"rows":R}, never in the URL,
 * and may carry an operator's signed envelope for the session ("signed",
 * kind "terminal"), which goes on in term_open for the listener to check.
 * A token of operator role or above opens a session on a connected agent
 * whose listener runs terminals and has fewer than MC_TERM_SESSIONS_MAX;
 * any refusal is {"t":"error","code","error"} and close 1008.  Then
 * binary messages are keystrokes one way and output the other, and text
 * messages are resize, close and ping; the session's end is
 * {"t":"end","reason",...} and close 1000.
 *
 * Rules kept here:
 * - A message is joined here under its own bound (TERM_TEXT_MAX for
 *   text, MC_TERM_CHUNK for binary); past it the session ends with
 *   too_large and close 1009, before more is buffered.
 * - The client is read only while its session's input window has room
 *   (hub_tclient_pause); its output waits on its connection's queue, a
 *   window at most, and each write is reported back (hub_term_written).
 *   A paused client that closes is found by the kernel's TCP state at
 *   the next hub_term_cron, not when its window opens.
 * - No auth within TERM_AUTH_TIMEOUT, or a token revoked meanwhile:
 *   closed.  Failed sign-ins count against the address (hub_guard.c).
 * - When the hub stops, every client is told (end "shutdown") and given
 *   TERM_STOP_WAIT to receive it before the loop ends.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_term.h"
#include "mc_log.h"
#include "mc_util.h"

/* seconds a new connection has to send its auth message */
#define TERM_AUTH_TIMEOUT	10.0
/* the largest text message a client sends (auth, resize, close, ping) */
#define TERM_TEXT_MAX		4096
/* seconds the clients get to receive their end when the hub stops */
#define TERM_STOP_WAIT		1.0

struct hub_tclient {
	struct hub_conn		*conn;		/* not owned: it owns us */
	const struct hub_token	*token;		/* NULL until signed in */
	struct hub_term		*term;		/* not owned (hub_term.c);
						 * NULL before and after */
	double			 opened;	/* monotonic */
	int			 paused;	/* not read: the window is full */
	uint64_t		 rid;		/* its session runs at another
						 * hub (hub_bus_term.c); 0 */
	struct hub_tclient	*next, *prev;	/* every client */
};

static struct {
	struct hub_tclient	*head;		/* owned via each conn */
	size_t			 count;
	double			 stop_by;	/* monotonic; 0: not stopping */
} tcl;

/* ---- sending ---- */

static void
send_obj_end(struct hub_conn *c, struct mc_buf *b, struct mc_jw *w)
{
	mc_jw_obj_end(w);
	if (mc_jw_done(w) == 0)
		hub_conn_send(c, b->data, b->len);
	mc_buf_free(b);
}

/* Close once the queue drained; read again so the close completes. */
void
hub_tclient_close(struct hub_conn *c, int code)
{
	hub_tclient_pause(c, 0);
	c->closing = 1;
	c->close_code = code;
	hub_ws_want_write(c->wsi);
}

/* Refuse or end on an error: {"t":"error"}, log, close with code. */
static void
client_fail(struct hub_conn *c, int close_code, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
client_fail(struct hub_conn *c, int close_code, const char *code,
    const char *fmt, ...)
{
	struct hub_tclient *tc = c->tclient;
	char msg[MC_TEXT_MAX];
	struct mc_buf b;
	struct mc_jw w;
	va_list ap;

	if (c->closing)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mc_info("%s: terminal client refused (%s): %s; closing", c->peer, code,
	    msg);
	mc_buf_init(&b, 2 * MC_TEXT_MAX);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "t", "error");
	mc_jw_str(&w, "code", code);
	mc_jw_str(&w, "error", msg);
	send_obj_end(c, &b, &w);
	if (tc != NULL && tc->term != NULL)
		hub_term_close(tc->term);
	hub_tclient_close(c, close_code);
}

void
hub_tclient_refuse(struct hub_conn *c, const char *code, const char *msg)
{
	client_fail(c, 1008, code, "%s", msg);
}

void
hub_tclient_opened(struct hub_conn *c, const struct hub_term *s)
{
	struct mc_buf b;
	struct mc_jw w;

	mc_buf_init(&b, 2 * MC_TEXT_MAX);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "t", "open");
	mc_jw_str(&w, "sid", s->sid);
	mc_jw_str(&w, "agent", s->agent);
	mc_jw_i64(&w, "pid", s->pid);
	send_obj_end(c, &b, &w);
}

int
hub_tclient_output(struct hub_conn *c, const void *p, size_t n)
{
	return hub_conn_send_bin(c, NULL, 0, p, n);
}

void
hub_tclient_end(struct hub_conn *c, const char *reason, int exit_code,
    const char *msg)
{
	struct hub_tclient *tc = c->tclient;
	struct mc_buf b;
	struct mc_jw w;

	if (tc != NULL)
		tc->term = NULL;
	if (c->closing)
		return;
	mc_buf_init(&b, 2 * MC_TEXT_MAX);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "t", "end");
	mc_jw_str(&w, "reason", reason);
	if (strcmp(reason, "exit") == 0)
		mc_jw_i64(&w, "exit", exit_code);
	mc_jw_str(&w, "msg", msg);
	send_obj_end(c, &b, &w);
	hub_tclient_close(c, 1000);
}

void
hub_tclient_pause(struct hub_conn *c, int paused)
{
	struct hub_tclient *tc = c->tclient;

	if (tc == NULL || tc->paused == paused)
		return;
	tc->paused = paused;
	hub_ws_rx_pause(c->wsi, paused);
}

/* ---- connections ---- */

void
hub_term_client_open(struct hub_conn *c)
{
	struct hub_tclient *tc = calloc(1, sizeof(*tc));

	if (tc == NULL) {
		mc_err("%s: out of memory for a terminal client", c->peer);
		hub_ws_close_soon(c->wsi);
		return;
	}
	tc->conn = c;
	tc->opened = mc_now();
	tc->next = tcl.head;
	if (tcl.head != NULL)
		tcl.head->prev = tc;
	tcl.head = tc;
	tcl.count++;
	c->tclient = tc;
	mc_debug("%s: terminal connection opened", c->peer);
}

void
hub_term_client_close(struct hub_conn *c)
{
	struct hub_tclient *tc = c->tclient;

	if (tc == NULL)
		return;
	if (tc->term != NULL)
		hub_term_detach(tc->term);
	if (tc->rid != 0)
		hub_bus_term_gone(tc->rid);
	if (tc->prev != NULL)
		tc->prev->next = tc->next;
	else
		tcl.head = tc->next;
	if (tc->next != NULL)
		tc->next->prev = tc->prev;
	tcl.count--;
	c->tclient = NULL;
	free(tc);
}

/* ---- signing in ---- */

/* cols and rows of an auth or resize message (80 x 24 when absent).
 * 0, or -1 after refusing the client. */
static int
read_size(struct hub_conn *c, const struct mc_json *o, int *cols, int *rows)
{
	int64_t v[2] = { 80, 24 };
	const char *keys[2] = { "cols", "rows" };
	int i;

	for (i = 0; i < 2; i++) {
		if (mc_json_get(o, keys[i]) != NULL && mc_json_int(o, keys[i],
		    1, MC_TERM_DIM_MAX, &v[i]) == -1) {
			client_fail(c, 1008, "bad_request", "\"%s\" must be a "
			    "whole number from 1 to %d", keys[i],
			    MC_TERM_DIM_MAX);
			return -1;
		}
	}
	*cols = (int)v[0];
	*rows = (int)v[1];
	return 0;
}

/* The token, or NULL after refusing the client. */
static const struct hub_token *
auth_token(struct hub_conn *c, const struct mc_json *o)
{
	const char *tok = mc_json_str(o, "token");
	const struct hub_token *t;
	char addr[64];
	int wait;

	hub_peer_addr(c->peer, addr, sizeof(addr));
	if (hub_guard_check(addr, &wait) == -1) {
		client_fail(c, 1008, "unauthorized", "too many failed sign-ins "
		    "from this address; try again in %d s", wait);
		return NULL;
	}
	if (tok == NULL || (t = hub_auth_token(tok)) == NULL) {
		if (tok != NULL)
			hub_guard_fail(addr);
		client_fail(c, 1008, "unauthorized", "%s", tok == NULL ?
		    "auth needs \"token\"" : "the hub does not know this "
		    "token");
		return NULL;
	}
	if (t->role < ROLE_OPERATOR) {
		client_fail(c, 1008, "forbidden", "token %s is a %s token; "
		    "terminals need operator or admin", t->id,
		    hub_role_name(t->role));
		return NULL;
	}
	return t;
}

/* The agent's connection to open a session on, or NULL after refusing
 * the client. */
static struct hub_conn *
auth_agent(struct hub_conn *c, const char *name)
{
	struct hub_agent *a = name != NULL ? hub_agent_find(name) : NULL;

	if (name == NULL) {
		client_fail(c, 1008, "bad_request", "auth needs \"agent\"");
		return NULL;
	}
	if (a == NULL) {
		client_fail(c, 1008, "not_found", "no agent '%.64s'", name);
		return NULL;
	}
	if (a->conn == NULL || a->conn->closing) {
		client_fail(c, 1008, "offline", "agent '%s' is not connected "
		    "(%s)", a->name, hub_status_name(a->status));
		return NULL;
	}
	if ((a->caps & MC_CAP_TERM) == 0) {
		client_fail(c, 1008, "unsupported", "the listener of '%s' (%s) "
		    "is older than terminals: upgrade it", a->name,
		    a->version);
		return NULL;
	}
	if (hub_term_count(a->conn) >= MC_TERM_SESSIONS_MAX) {
		client_fail(c, 1008, "busy", "agent '%s' already has %d "
		    "terminal sessions", a->name, MC_TERM_SESSIONS_MAX);
		return NULL;
	}
	return a->conn;
}

/* The auth message's "signed": 0 absent, 1 read into s (a terminal for
 * agent), -1 after refusing the client. */
static int
auth_signed(struct hub_conn *c, const struct mc_json *o, const char *agent,
    struct hub_signed *s)
{
	char err[MC_TEXT_MAX];
	int n = hub_sign_read(o, s, err, sizeof(err));

	if (n == 1 && strcmp(s->sc.kind, MC_SIG_KIND_TERMINAL) != 0) {
		snprintf(err, sizeof(err), "signed for %s, not terminal",
		    s->sc.kind);
		n = -1;
	} else if (n == 1 && strcmp(s->sc.agent, agent) != 0) {
		snprintf(err, sizeof(err), "signed for agent %s, not %s",
		    s->sc.agent, agent);
		n = -1;
	}
	if (n == -1)
		client_fail(c, 1008, "bad_request", "%s", err);
	return n;
}

/* Open the session auth (or a hub's request over the bus) asks for,
 * as the token t. */
static void
auth_open(struct hub_conn *c, const struct mc_json *o,
    const struct hub_token *t)
{
	struct hub_tclient *tc = c->tclient;
	struct hub_signed *s = NULL;	/* owned: too large for the stack */
	struct hub_conn *ac;
	int cols, rows, n;

	if (read_size(c, o, &cols, &rows) == -1 ||
	    (ac = auth_agent(c, mc_json_str(o, "agent"))) == NULL)
		return;
	if ((s = malloc(sizeof(*s))) == NULL) {
		client_fail(c, 1011, "unavailable", "out of memory");
		return;
	}
	if ((n = auth_signed(c, o, ac->agent->name, s)) != -1) {
		tc->token = t;
		tc->term = hub_term_open(ac, c, t->name, cols, rows,
		    n == 1 ? &s->sig : NULL);
		if (tc->term == NULL)
			client_fail(c, 1011, "unavailable", "out of memory");
	}
	free(s);
}

void
hub_term_client_bus_open(struct hub_conn *c, const struct hub_token *t,
    const struct mc_json *o)
{
	if (c->tclient != NULL && c->tclient->token == NULL)
		auth_open(c, o, t);
}

static void
on_auth(struct hub_conn *c, const struct mc_json *o)
{
	struct hub_tclient *tc = c->tclient;
	const struct hub_token *t;
	int cols, rows;

	if (tcl.stop_by > 0) {
		client_fail(c, 1008, "unavailable", "the hub is stopping");
		return;
	}
	if ((t = auth_token(c, o)) == NULL || read_size(c, o, &cols,
	    &rows) == -1)
		return;
	/* an agent connected to another hub: its session runs there */
	tc->rid = hub_bus_term_route(c, o, t->name, cols, rows);
	if (tc->rid != 0) {
		tc->token = t;
		return;
	}
	auth_open(c, o, t);
}

/* ---- what the client sends ---- */

static void
on_resize(struct hub_conn *c, const struct mc_json *o)
{
	int cols, rows;

	if (read_size(c, o, &cols, &rows) == 0 && c->tclient->term != NULL)
		hub_term_resize(c->tclient->term, cols, rows);
}

static void
on_text(struct hub_conn *c, const char *buf, size_t len)
{
	struct hub_tclient *tc = c->tclient;
	const struct mc_json *o;
	struct mc_jdoc *d;
	const char *t;
	char err[128];
	static const char pong[] = "{\"t\":\"pong\"}";

	if ((d = mc_json_parse(buf, len, err, sizeof(err))) == NULL) {
		client_fail(c, 1008, "bad_request", "not JSON: %s", err);
		return;
	}
	o = mc_json_root(d);
	t = mc_json_str(o, "t");
	if (t == NULL)
		client_fail(c, 1008, "bad_request", "a message needs \"t\"");
	else if (tc->token == NULL && strcmp(t, "auth") == 0)
		on_auth(c, o);
	else if (tc->token == NULL)
		client_fail(c, 1008, "unauthorized", "the first message must be "
		    "{\"t\":\"auth\",\"token\":...,\"agent\":...}");
	else if (tc->rid != 0 && (strcmp(t, "resize") == 0 ||
	    strcmp(t, "close") == 0))
		hub_bus_term_send(tc->rid, 0, buf, len);
	else if (strcmp(t, "resize") == 0)
		on_resize(c, o);
	else if (strcmp(t, "close") == 0 && tc->term != NULL)
		hub_term_close(tc->term);
	else if (strcmp(t, "ping") == 0)
		hub_conn_send(c, pong, sizeof(pong) - 1);
	else if (strcmp(t, "close") != 0)
		client_fail(c, 1008, "bad_request", "unexpected message type "
		    "'%.32s'", t);
	mc_json_free(d);
}

static void
on_binary(struct hub_conn *c, const void *p, size_t n)
{
	struct hub_tclient *tc = c->tclient;

	if (tc->token == NULL)
		client_fail(c, 1008, "unauthorized", "the first message must be "
		    "{\"t\":\"auth\",\"token\":...,\"agent\":...}");
	else if (tc->rid != 0)
		hub_bus_term_send(tc->rid, 1, p, n);
	else if (tc->term != NULL)
		hub_term_input(tc->term, p, n);
}

void
hub_term_client_receive(struct hub_conn *c, const void *in, size_t len,
    int final, int binary)
{
	size_t limit = binary ? MC_TERM_CHUNK : TERM_TEXT_MAX;

	if (c->closing || c->tclient == NULL)
		return;
	if (c->rx.len + len > limit) {
		mc_buf_free(&c->rx);
		client_fail(c, 1009, "too_large", "%s messages are at most %zu "
		    "bytes", binary ? "binary" : "text", limit);
		return;
	}
	if (final && c->rx.len == 0) {
		if (binary)
			on_binary(c, in, len);
		else
			on_text(c, in, len);
		return;
	}
	if (mc_buf_append(&c->rx, in, len) == -1) {
		mc_buf_free(&c->rx);
		client_fail(c, 1011, "unavailable", "out of memory");
		return;
	}
	if (!final)
		return;
	if (binary)
		on_binary(c, c->rx.data, c->rx.len);
	else
		on_text(c, c->rx.data, c->rx.len);
	mc_buf_free(&c->rx);
}

void
hub_term_client_wrote(struct hub_conn *c, size_t len)
{
	if (c->tclient != NULL && c->tclient->term != NULL)
		hub_term_written(c->tclient->term, len);
}

/* ---- the loop ---- */

void
hub_term_cron(double now)
{
	struct hub_tclient *tc;

	for (tc = tcl.head; tc != NULL; tc = tc->next) {
		if (tc->conn->closing)
			continue;
		if (tc->token == NULL && now - tc->opened > TERM_AUTH_TIMEOUT)
			client_fail(tc->conn, 1008, "unauthorized", "no auth "
			    "message within %.0f s", TERM_AUTH_TIMEOUT);
		else if (tc->token != NULL && tc->token->revoked)
			client_fail(tc->conn, 1008, "unauthorized", "token %s "
			    "was revoked", tc->token->id);
		else if (tc->paused && hub_ws_peer_closed(tc->conn->wsi)) {
			/* unread, its close would wait for the window to
			 * open, which a shell not reading may never do */
			mc_info("%s: terminal client went away while its "
			    "input waited; ending its session", tc->conn->peer);
			hub_ws_close_soon(tc->conn->wsi);
		}
	}
}

int
hub_term_stopped(double now)
{
	struct hub_tclient *tc;

	if (tcl.stop_by == 0) {
		tcl.stop_by = now + TERM_STOP_WAIT;
		hub_term_shutdown();
		for (tc = tcl.head; tc != NULL; tc = tc->next)
			if (!tc->conn->closing)
				client_fail(tc->conn, 1001, "unavailable",
				    "the hub is stopping");
	}
	return tcl.count == 0 || now >= tcl.stop_by;
}
