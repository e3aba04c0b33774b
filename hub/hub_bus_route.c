/*
 * hub_bus_route.c - a command request for an agent another hub holds
 * goes to that hub over the bus, and its answer comes back as if the
 * agent were here.
 *
 * At the hub that got the request (the asker): the caller was
 * authenticated and its role checked here, the body is read as JSON
 * (a 400 is answered here), then the request is deferred and one job
 * asks Redis, in one round trip, who holds the agent and publishes the
 * request on that hub's channel maestro:to:HOLDER (hub_bus_link.c's
 * send script).  Nobody holds it, or the hold names a hub that no longer
 * listens, or it names this one: the request is answered here as before
 * (an unknown agent 404, an offline one 409 or queued).  Redis cannot be
 * asked: 503 "bus_unreachable".  The holder does not answer within
 * ROUTE_TIMEOUT: 504.
 * At the holder: the request runs through the same handler as a local
 * one (the same checks on the body, a signed envelope passed on
 * verbatim), as the caller's token name, and the status and body it
 * answered go back on maestro:to:ASKER; a command accepted gets a
 * shadow at the asker and its progress follows it (hub_bus_cmd.c), so
 * GET /api/commands/ID and its stream work at the asker unchanged.
 * The bus is part of the trusted cluster: a hub runs what comes on its
 * channel without checking a token again, so Redis must not be reachable
 * by anyone else (bus_password_file, a private network).
 * Messages are JSON: {"t":"req","rid":N,"from":HUB,"agent":NAME,
 * "kind":"command"|"restart"|"stop"|"screenshot","by":TOKEN-NAME,
 * "body":TEXT}, {"t":"rep","hub":HOLDER,"rid":N,"status":S,"body":TEXT,
 * "cmd":{...},"cap":N},
 * and hub_bus_cmd.c's {"t":"cmd",...}.  At most ROUTE_PENDING_MAX
 * requests wait for other hubs; past that, 503.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_api.h"
#include "hub_bus.h"
#include "mc_log.h"
#include "mc_util.h"

#define ROUTE_PENDING_MAX	4096
#define ROUTE_TIMEOUT		5.0	/* seconds for the holder's answer */
#define ROUTE_REP_MAX		(256 * 1024)	/* bytes of an answer */

/* A request waiting for the bus or for the holder's answer. */
struct pending {
	uint64_t	 rid;
	uint64_t	 ticket;	/* hub_http_defer() */
	char		 agent[MC_NAME_MAX + 1];
	enum mc_kind	 kind;		/* the path's; MC_KIND_COUNT */
	struct hub_token tok;		/* a copy of the caller's */
	char		 holder[HUB_BUS_NAME_MAX + 1];	/* "" until known */
	double		 deadline;	/* monotonic */
	struct pending	*next;
};

static struct {
	struct pending	*head;		/* owned */
	size_t		 n;
	uint64_t	 next_rid;
} rt;

static const char *
kind_word(enum mc_kind kind)
{
	return kind == MC_KIND_COUNT ? "command" : mc_kind_name(kind);
}

static void
handler_run(struct hub_req *r, enum mc_kind kind)
{
	if (kind == MC_KIND_RESTART)
		hub_api_restart(r);
	else if (kind == MC_KIND_STOP)
		hub_api_stop(r);
	else if (kind == MC_KIND_SCREENSHOT)
		hub_api_screenshot(r);
	else
		hub_api_command(r);
}

/* ---- the asker ---- */

static struct pending *
pending_take(uint64_t rid)
{
	struct pending **pp, *p;

	for (pp = &rt.head; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->rid == rid) {
			p = *pp;
			*pp = p->next;
			rt.n--;
			return p;
		}
	}
	return NULL;
}

static struct pending *
pending_find(uint64_t rid)
{
	struct pending *p;

	for (p = rt.head; p != NULL; p = p->next)
		if (p->rid == rid)
			return p;
	return NULL;
}

/* Nobody else holds the agent: the request is answered here. */
static void
answer_here(struct pending *p)
{
	struct hub_conn *c = hub_http_resume(p->ticket);
	struct hub_req r;

	if (c != NULL) {
		memset(&r, 0, sizeof(r));
		r.conn = c;
		r.http = c->http;
		r.token = &p->tok;
		r.no_route = 1;
		mc_strlcpy(r.pbuf[0], p->agent, sizeof(r.pbuf[0]));
		r.params[0] = r.pbuf[0];
		handler_run(&r, p->kind);
		hub_ws_http_ready(c);
	}
	free(p);
}

static void
answer_fail(struct pending *p, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
answer_fail(struct pending *p, int status, const char *code,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hub_api_deferred_fail(p->ticket, NULL, 0, NULL, status, code, msg);
	free(p);
}

/* The send job's answer: who holds the agent, and whether it heard. */
static void
sent_done(void *arg, const struct hub_link_res *res)
{
	struct pending *p = pending_find((uint64_t)(uintptr_t)arg);
	struct hub_bus_holder h;

	if (p == NULL)
		return;
	if (!res->ok) {
		p = pending_take(p->rid);
		answer_fail(p, 503, "bus_unreachable", "agent '%s' is not "
		    "connected to this hub and %s", p->agent, res->err);
		return;
	}
	if (res->data == NULL || res->n <= 0 ||
	    hub_bus_hold_parse(res->data, &h) == -1) {
		answer_here(pending_take(p->rid));
		return;
	}
	mc_strlcpy(p->holder, h.hub, sizeof(p->holder));
	mc_debug("bus: request %llu for '%s' went to hub %s",
	    (unsigned long long)p->rid, p->agent, h.hub);
}

static int
request_encode(struct mc_buf *b, const struct hub_req *r, uint64_t rid,
    const char *agent, enum mc_kind kind)
{
	const struct mc_buf *body = &r->http->body;
	struct mc_jw w;

	mc_buf_init(b, MC_BODY_MAX * 2 + 4096);
	mc_jw_init(&w, b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "t", "req");
	mc_jw_u64(&w, "rid", rid);
	mc_jw_str(&w, "from", hub_bus_self());
	mc_jw_str(&w, "agent", agent);
	mc_jw_str(&w, "kind", kind_word(kind));
	mc_jw_str(&w, "by", r->token->name);
	mc_jw_strn(&w, "body", body->len > 0 ? body->data : "{}",
	    body->len > 0 ? body->len : 2);
	mc_jw_obj_end(&w);
	return mc_jw_done(&w);
}

/* Defer r and ask the bus; the request is answered from sent_done() or
 * the holder's answer. */
static void
route_send(struct hub_req *r, const char *agent, enum mc_kind kind)
{
	char key[sizeof(HUB_BUS_HOLD_KEY) + MC_NAME_MAX];
	struct pending *p;
	struct mc_buf b;
	uint64_t rid = ++rt.next_rid;

	if (request_encode(&b, r, rid, agent, kind) == -1 ||
	    (p = calloc(1, sizeof(*p))) == NULL) {	/* owned by rt */
		mc_buf_free(&b);
		hub_http_error(r, 503, "unavailable", "out of memory");
		return;
	}
	if ((p->ticket = hub_http_defer(r)) == 0) {
		mc_buf_free(&b);
		free(p);
		return;
	}
	p->rid = rid;
	p->kind = kind;
	p->tok = *r->token;
	p->tok.next = NULL;
	mc_strlcpy(p->agent, agent, sizeof(p->agent));
	p->deadline = mc_now() + ROUTE_TIMEOUT;
	snprintf(key, sizeof(key), HUB_BUS_HOLD_KEY "%s", agent);
	if (hub_bus_link_queue(LINK_SEND, key, b.data, b.len, sent_done,
	    (void *)(uintptr_t)rid) == -1) {
		mc_buf_free(&b);
		answer_fail(p, 503, "bus_unreachable", "agent '%s' is not "
		    "connected to this hub and the bus's queue is full",
		    agent);
		return;
	}
	mc_buf_free(&b);
	p->next = rt.head;
	rt.head = p;
	rt.n++;
}

int
hub_bus_route_command(struct hub_req *r, struct hub_agent *a,
    enum mc_kind kind)
{
	struct mc_jdoc *d;

	if (r->no_route || hub_bus_self()[0] == '\0' ||
	    (a != NULL && a->conn != NULL))
		return 0;
	if (rt.n >= ROUTE_PENDING_MAX) {
		hub_http_error(r, 503, "unavailable", "%d requests wait for "
		    "other hubs; try again", ROUTE_PENDING_MAX);
		r->http->retry_after = 1;
		return 1;
	}
	/* a bad body is answered here, before anything leaves */
	if ((d = hub_api_body_json(r)) == NULL)
		return 1;
	mc_json_free(d);
	route_send(r, r->params[0], kind);
	return 1;
}

/* The holder's answer: status and body, as if answered here. */
static void
on_rep(const struct mc_json *o)
{
	const struct mc_json *body = mc_json_get(o, "body");
	struct pending *p;
	struct hub_conn *c;
	struct hub_req r;
	struct mc_buf b;
	int64_t rid, status;

	if (mc_json_int(o, "rid", 0, INT64_MAX, &rid) == -1 ||
	    mc_json_int(o, "status", 100, 599, &status) == -1 ||
	    body == NULL || body->type != MC_JSTR ||
	    (p = pending_take((uint64_t)rid)) == NULL)
		return;
	if (mc_json_get(o, "cmd") != NULL)
		hub_bus_cmd_shadow(mc_json_get(o, "cmd"), mc_json_str(o, "hub"),
		    hub_bus_cap(o));
	if ((c = hub_http_resume(p->ticket)) != NULL) {
		memset(&r, 0, sizeof(r));
		r.conn = c;
		r.http = c->http;
		mc_buf_init(&b, body->len + 1);
		mc_buf_append(&b, body->str, body->len);
		hub_http_reply(&r, (int)status, &b);
		mc_buf_free(&b);
		hub_ws_http_ready(c);
	}
	free(p);
}

void
hub_bus_route_cron(double now)
{
	struct pending **pp = &rt.head, *p;

	while (*pp != NULL) {
		p = *pp;
		if (now < p->deadline) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		rt.n--;
		mc_warn("bus: hub %s did not answer a request for '%s' within "
		    "%.0fs", p->holder[0] ? p->holder : "(unknown)", p->agent,
		    ROUTE_TIMEOUT);
		answer_fail(p, 504, "hub_timeout", "agent '%s' is held by hub "
		    "%s, which did not answer within %.0f s", p->agent,
		    p->holder[0] ? p->holder : "(not known yet)", ROUTE_TIMEOUT);
	}
}

void
hub_bus_route_free_all(void)
{
	struct pending *p, *next;

	for (p = rt.head; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	rt.head = NULL;
	rt.n = 0;
}

/* ---- the holder ---- */

/* The answer to the asker: {"t":"rep",...} with the command's shadow. */
static void
reply_send(const char *to, int64_t rid, int status, const struct mc_buf *resp,
    const struct hub_cmd *c)
{
	char chan[HUB_BUS_CHAN_MAX];
	struct mc_buf b, cb;
	struct mc_jw w, cw;

	mc_buf_init(&b, ROUTE_REP_MAX * 2);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "t", "rep");
	mc_jw_str(&w, "hub", hub_bus_self());
	mc_jw_i64(&w, "rid", rid);
	mc_jw_i64(&w, "status", status);
	mc_jw_strn(&w, "body", resp->data ? resp->data : "", resp->len);
	if (c != NULL) {
		mc_buf_init(&cb, 64 * 1024);
		mc_jw_init(&cw, &cb);
		hub_cmd_write(&cw, c, 0);
		if (mc_jw_done(&cw) == 0)
			mc_jw_raw(&w, "cmd", cb.data, cb.len);
		mc_buf_free(&cb);
		mc_jw_u64(&w, "cap", c->cap);
	}
	mc_jw_obj_end(&w);
	hub_bus_chan_to(chan, sizeof(chan), to);
	if (mc_jw_done(&w) == -1 || hub_bus_link_queue(LINK_PUB, chan,
	    b.data, b.len, NULL, NULL) == -1)
		mc_warn("bus: the answer to hub %s's request %lld was not "
		    "sent", to, (long long)rid);
	mc_buf_free(&b);
}

/* The command a 202 answer names. */
static struct hub_cmd *
accepted(int status, const struct mc_buf *resp)
{
	char err[64];
	struct mc_jdoc *d;
	const char *id;
	struct hub_cmd *c = NULL;

	if (status != 202 || resp->data == NULL ||
	    (d = mc_json_parse(resp->data, resp->len, err, sizeof(err))) ==
	    NULL)
		return NULL;
	if ((id = mc_json_str(mc_json_root(d), "id")) != NULL)
		c = hub_cmd_find(id);
	mc_json_free(d);
	return c;
}

int
hub_bus_call_init(struct hub_bus_call *bc, const char *from, const char *by,
    const char *path, const struct mc_json *body)
{
	memset(bc, 0, sizeof(*bc));
	if ((bc->h = calloc(1, sizeof(*bc->h))) == NULL)
		return -1;
	snprintf(bc->conn.peer, sizeof(bc->conn.peer), "hub %s", from);
	mc_strlcpy(bc->h->method, "POST", sizeof(bc->h->method));
	snprintf(bc->h->path, sizeof(bc->h->path), "%s (bus)", path);
	mc_buf_init(&bc->h->body, MC_FANOUT_BODY_MAX);
	mc_buf_append(&bc->h->body, body->str, body->len);
	mc_buf_init(&bc->h->resp, ROUTE_REP_MAX);
	mc_strlcpy(bc->tok.id, "bus", sizeof(bc->tok.id));
	mc_strlcpy(bc->tok.name, by, sizeof(bc->tok.name));
	bc->tok.role = ROLE_OPERATOR;	/* checked at the asker */
	bc->r.conn = &bc->conn;
	bc->r.http = bc->h;
	bc->r.token = &bc->tok;
	bc->r.no_route = 1;
	return 0;
}

void
hub_bus_call_free(struct hub_bus_call *bc)
{
	mc_buf_free(&bc->h->body);
	mc_buf_free(&bc->h->resp);
	free(bc->h);
	bc->h = NULL;
}

/* Run a request that came over the bus through the local handler. */
static void
on_req(const struct mc_json *o)
{
	const char *from = mc_json_str(o, "from"), *agent = mc_json_str(o,
	    "agent"), *kind = mc_json_str(o, "kind"), *by = mc_json_str(o,
	    "by");
	const struct mc_json *body = mc_json_get(o, "body");
	char path[MC_NAME_MAX + 64];
	struct hub_bus_call bc;
	struct hub_cmd *c;
	enum mc_kind k = MC_KIND_COUNT;
	int64_t rid;

	if (from == NULL || !hub_bus_name_valid(from) || agent == NULL ||
	    strlen(agent) > MC_NAME_MAX || kind == NULL || by == NULL ||
	    body == NULL || body->type != MC_JSTR ||
	    body->len > MC_BODY_MAX ||
	    mc_json_int(o, "rid", 0, INT64_MAX, &rid) == -1 ||
	    (strcmp(kind, "command") != 0 && mc_kind_parse(kind, &k) == -1))
		return;
	snprintf(path, sizeof(path), "/api/agents/%s/%s", agent, kind);
	if (hub_bus_call_init(&bc, from, by, path, body) == -1)
		return;
	mc_strlcpy(bc.r.pbuf[0], agent, sizeof(bc.r.pbuf[0]));
	bc.r.params[0] = bc.r.pbuf[0];
	handler_run(&bc.r, k);
	c = accepted(bc.h->status, &bc.h->resp);
	if (c != NULL)
		hub_bus_cmd_forward(c, from);
	reply_send(from, rid, bc.h->status ? bc.h->status : 500, &bc.h->resp,
	    c);
	if (c != NULL)
		hub_bus_cmd_changed(c);
	hub_bus_call_free(&bc);
}

void
hub_bus_route_on_message(const char *data, size_t len)
{
	char err[128];
	struct mc_jdoc *d = mc_json_parse(data, len, err, sizeof(err));
	const struct mc_json *o = d != NULL ? mc_json_root(d) : NULL;
	const char *t = o != NULL ? mc_json_str(o, "t") : NULL;

	if (t == NULL)
		mc_warn("bus: a message that does not read: %s", d ? "no "
		    "\"t\"" : err);
	else if (strcmp(t, "req") == 0)
		on_req(o);
	else if (strcmp(t, "rep") == 0)
		on_rep(o);
	else if (strcmp(t, "cmd") == 0)
		hub_bus_cmd_progress(o);
	else if (strcmp(t, "fan") == 0)
		hub_bus_fan_on_req(o);
	else if (strcmp(t, "fanrep") == 0)
		hub_bus_fan_on_rep(o);
	else if (t[0] == 't')
		hub_bus_term_on_message(o, t);
	mc_json_free(d);
}
