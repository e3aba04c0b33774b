/*
 * hub_api.c - the REST API: one route table, one handler per route.
 *
 * A route is {method, pattern, role, handler}; '*' in a pattern matches
 * one path segment and becomes a parameter.  Authentication and the role
 * check happen here, before any handler, from the table; handlers see a
 * validated request and only build their reply: the agents' and
 * commands' in hub_api_cmd.c, the administration's in hub_api_admin.c,
 * the terminal recordings' in hub_api_sessions.c, the containers' in
 * hub_api_ctr.c,
 * the few without a token (health, install, download, metrics) here.
 * docs/api.md documents every route with an example.
 *
 * Every request with a token is rate-limited per token (a token bucket of
 * api_burst requests refilled at api_rate per second): past it the answer
 * is 429 with Retry-After, so one runaway script cannot starve the loop.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hub_api.h"
#include "mc_log.h"
#include "mc_util.h"

#define RL_BUCKETS	256

typedef void (*route_fn)(struct hub_req *);

struct route {
	const char		*method;
	const char		*pattern;
	enum hub_role_level	 role;	/* 0: no token needed */
	route_fn		 fn;
};

/* Start a JSON reply body. */
void
hub_api_body_begin(struct mc_buf *b, struct mc_jw *w)
{
	mc_buf_init(b, HUB_API_RESP_MAX);
	mc_jw_init(w, b);
}

void
hub_api_body_send(struct hub_req *r, int status, struct mc_buf *b,
    struct mc_jw *w)
{
	if (mc_jw_done(w) == -1) {
		mc_buf_free(b);
		hub_http_error(r, 500, "internal", "reply too large");
		return;
	}
	mc_buf_puts(b, "\n");
	hub_http_reply(r, status, b);
	mc_buf_free(b);
}

/* A string value holding a NUL (\u0000): the hub works with C strings, so
 * it would be cut short silently (a command run without its tail). */
static int
has_nul(const struct mc_json *j, int depth)
{
	const struct mc_json *c;

	if (j->type == MC_JSTR)
		return strlen(j->str) != j->len;
	if (depth > MC_JSON_DEPTH_MAX)
		return 0;
	for (c = j->child; c != NULL; c = c->next)
		if (has_nul(c, depth + 1))
			return 1;
	return 0;
}

/* Parse the request body as a JSON object; replies 400 itself on error. */
struct mc_jdoc *
hub_api_body_json(struct hub_req *r)
{
	char err[256];
	struct mc_jdoc *d;

	if (r->http->body.len == 0)
		return mc_json_parse("{}", 2, err, sizeof(err));
	d = mc_json_parse(r->http->body.data, r->http->body.len, err,
	    sizeof(err));
	if (d == NULL) {
		hub_http_error(r, 400, "bad_request", "body: %s", err);
		return NULL;
	}
	if (mc_json_root(d)->type != MC_JOBJ) {
		hub_http_error(r, 400, "bad_request", "body must be a JSON "
		    "object");
		mc_json_free(d);
		return NULL;
	}
	if (has_nul(mc_json_root(d), 0)) {
		hub_http_error(r, 400, "bad_request", "a string in the body "
		    "holds \\u0000 (NUL), which no command, name or setting "
		    "may contain");
		mc_json_free(d);
		return NULL;
	}
	return d;
}

/*
 * Changes to who may do what are events too, with the acting token: a
 * token or key made or revoked, a backup taken.  (Silences record their
 * own, hub_silence.c; a config reload, hub_conf.c.)
 */
void
hub_api_audit(const struct hub_req *r, const char *action, const char *fmt, ...)
{
	char what[MC_TEXT_MAX / 2], text[MC_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(text, sizeof(text), "%s by %s (token %s)", what,
	    r->token->name, r->token->id);
	mc_info("audit: %s", text);
	hub_event("audit", "", "", action, text);
}

/* Finish a deferred reply with data read from the store (taken), or,
 * without data, with status and code and the words in missing. */
void
hub_api_deferred_fail(uint64_t ticket, char *data, size_t len,
    const char *ctype, int status, const char *code, const char *missing)
{
	struct hub_conn *c = hub_http_resume(ticket);
	struct hub_req r;
	struct mc_buf b;

	if (c == NULL) {
		free(data);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.conn = c;
	r.http = c->http;
	if (data == NULL) {
		hub_http_error(&r, status, code, "%s", missing);
	} else {
		mc_buf_adopt(&b, data, len);
		hub_http_reply(&r, 200, &b);
		mc_buf_free(&b);
		r.http->ctype = ctype;
	}
	hub_ws_http_ready(c);
}

/* A list read from the store: no data means the read failed (the log
 * says why), not that something is missing. */
void
hub_api_read_done(void *arg, char *json, size_t len)
{
	hub_api_deferred_fail((uint64_t)(uintptr_t)arg, json, len, NULL, 500,
	    "internal", "the hub could not read its store (see its log)");
}

/* ... where no data means there is no such thing: 404. */
void
hub_api_deferred_reply(uint64_t ticket, char *data, size_t len,
    const char *ctype, const char *missing)
{
	hub_api_deferred_fail(ticket, data, len, ctype, 404, "not_found",
	    missing);
}

int
hub_api_query_int(struct hub_req *r, const char *name, int64_t min, int64_t max,
    int64_t *out)
{
	char key[32], num[24];
	const char *q = r->http->query, *p;
	size_t n;

	snprintf(key, sizeof(key), "%s=", name);
	for (p = q; (p = strstr(p, key)) != NULL; p++)
		if (p == q || p[-1] == '&')
			break;
	if (p == NULL)
		return 0;
	p += strlen(key);
	n = strcspn(p, "&");
	if (n >= sizeof(num))
		n = sizeof(num) - 1;
	memcpy(num, p, n);
	num[n] = '\0';
	if (mc_parse_i64(num, min, max, out) == -1) {
		hub_http_error(r, 400, "bad_request", "%s must be %lld to %lld",
		    name, (long long)min, (long long)max);
		return -1;
	}
	return 0;
}

/* A query parameter as text (no decoding beyond what lws did). */
void
hub_api_query_str(struct hub_req *r, const char *name, char *out, size_t outlen)
{
	char key[32];
	const char *q = r->http->query, *p;
	size_t n;

	out[0] = '\0';
	snprintf(key, sizeof(key), "%s=", name);
	for (p = q; (p = strstr(p, key)) != NULL; p++)
		if (p == q || p[-1] == '&')
			break;
	if (p == NULL)
		return;
	p += strlen(key);
	n = strcspn(p, "&");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

void
hub_api_reply_ok(struct hub_req *r)
{
	struct mc_buf b;
	struct mc_jw w;

	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_bool(&w, "ok", 1);
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 200, &b, &w);
}

/* ---- handlers ---- */

static void
api_healthz(struct hub_req *r)
{
	struct hub_db_health h;
	struct mc_buf b;
	struct mc_jw w;

	hub_db_health(&h);
	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "status", h.failing ? "degraded" : "ok");
	mc_jw_str(&w, "version", MC_VERSION);
	mc_jw_u64(&w, "agents", hub_agent_count());
	mc_jw_u64(&w, "online", hub_live_online_count());
	mc_jw_u64(&w, "connected", hub_agent_connected_count());
	if (h.failing) {
		mc_jw_str(&w, "store", h.reason);
		mc_jw_dbl(&w, "store_failing_since", h.failing_since);
		mc_jw_u64(&w, "store_queued", h.queued);
	}
	hub_bus_health(&w);
	mc_jw_obj_end(&w);
	/* a monitor that checks the status code sees the fault */
	hub_api_body_send(r, h.failing ? 503 : 200, &b, &w);
}

/* GET /metrics: Prometheus text (hub_prom.c). */
static void
api_metrics(struct hub_req *r)
{
	struct mc_buf b;

	mc_buf_init(&b, HUB_API_RESP_MAX);
	hub_prom_write(&b);
	hub_http_reply(r, 200, &b);
	mc_buf_free(&b);
	r->http->ctype = "text/plain; version=0.0.4; charset=utf-8";
}

static void
api_install_sh(struct hub_req *r)
{
	struct mc_buf b;

	mc_buf_init(&b, 512 * 1024);
	if (hub_install_script(r->http->host, &b) == -1) {
		mc_buf_free(&b);
		hub_http_error(r, 404, "not_found", "this hub has no install.sh "
		    "to serve (install_script = FILE), or the Host header is "
		    "not a plain host:port");
		return;
	}
	hub_http_reply(r, 200, &b);
	mc_buf_free(&b);
	r->http->ctype = "text/x-shellscript; charset=utf-8";
}

static void
api_download(struct hub_req *r)
{
	const char *data;
	struct mc_buf b;
	size_t len;

	if (hub_install_binary(&data, &len) == -1) {
		hub_http_error(r, 404, "not_found", "this hub has no listener "
		    "binary to serve (listener_binary = FILE)");
		return;
	}
	mc_buf_init(&b, len);
	if (mc_buf_append(&b, data, len) == -1) {
		mc_buf_free(&b);
		hub_http_error(r, 503, "unavailable", "out of memory");
		return;
	}
	hub_http_reply(r, 200, &b);
	mc_buf_free(&b);
	r->http->ctype = "application/octet-stream";
}

static void
api_download_sum(struct hub_req *r)
{
	const char *sum = hub_install_sha256();
	struct mc_buf b;

	if (sum == NULL) {
		hub_http_error(r, 404, "not_found", "this hub has no listener "
		    "binary to serve");
		return;
	}
	mc_buf_init(&b, 256);
	mc_buf_printf(&b, "%s  maestro-listener\n", sum);
	hub_http_reply(r, 200, &b);
	mc_buf_free(&b);
	r->http->ctype = "text/plain; charset=utf-8";
}

static const struct route routes[] = {
	{ "GET", "/healthz", 0, api_healthz },
	{ "GET", "/install.sh", 0, api_install_sh },
	{ "GET", "/download/maestro-listener", 0, api_download },
	{ "GET", "/download/maestro-listener.sha256", 0, api_download_sum },
	{ "GET", "/metrics", ROLE_VIEWER, api_metrics },
	{ "GET", "/api/agents", ROLE_VIEWER, hub_api_agents },
	{ "GET", "/api/agents/*", ROLE_VIEWER, hub_api_agent },
	{ "GET", "/api/agents/*/history", ROLE_VIEWER, hub_api_agent_history },
	{ "GET", "/api/agents/*/containers", ROLE_VIEWER,
	    hub_api_agent_containers },
	{ "GET", "/api/containers", ROLE_VIEWER, hub_api_containers },
	{ "POST", "/api/agents/*/command", ROLE_OPERATOR, hub_api_command },
	{ "POST", "/api/agents/*/restart", ROLE_OPERATOR, hub_api_restart },
	{ "POST", "/api/agents/*/stop", ROLE_OPERATOR, hub_api_stop },
	{ "POST", "/api/agents/*/screenshot", ROLE_OPERATOR, hub_api_screenshot },
	{ "POST", "/api/agents/*/ack", ROLE_OPERATOR, hub_api_agent_ack },
	{ "GET", "/api/commands", ROLE_VIEWER, hub_api_history },
	{ "POST", "/api/commands", ROLE_OPERATOR, hub_api_fanout },
	{ "GET", "/api/commands/*", ROLE_VIEWER, hub_api_cmd_get },
	{ "GET", "/api/commands/*/stream", ROLE_VIEWER, hub_api_cmd_stream },
	{ "GET", "/api/commands/*/png", ROLE_VIEWER, hub_api_cmd_png },
	{ "GET", "/api/updates", ROLE_VIEWER, hub_api_updates },
	{ "POST", "/api/updates", ROLE_OPERATOR, hub_api_update_start },
	{ "GET", "/api/updates/*", ROLE_VIEWER, hub_api_update_get },
	{ "GET", "/api/releases", ROLE_VIEWER, hub_api_releases },
	{ "POST", "/api/releases", ROLE_ADMIN, hub_api_release_publish },
	{ "POST", "/api/releases/*/roll", ROLE_ADMIN, hub_api_roll_start },
	{ "GET", "/releases/*/maestro-listener", 0, hub_api_release_download },
	{ "GET", "/api/rolls", ROLE_VIEWER, hub_api_rolls },
	{ "GET", "/api/rolls/*", ROLE_VIEWER, hub_api_roll_get },
	{ "GET", "/api/events", ROLE_VIEWER, hub_api_events },
	{ "GET", "/api/hubs", ROLE_VIEWER, hub_api_hubs },
	{ "GET", "/api/sessions", ROLE_VIEWER, hub_api_sessions },
	{ "GET", "/api/sessions/*/cast", ROLE_OPERATOR, hub_api_session_cast },
	{ "GET", "/api/backup", ROLE_ADMIN, hub_api_backup },
	{ "POST", "/api/enroll-keys", ROLE_ADMIN, hub_api_key_create },
	{ "GET", "/api/enroll-keys", ROLE_ADMIN, hub_api_keys },
	{ "DELETE", "/api/enroll-keys/*", ROLE_ADMIN, hub_api_key_revoke },
	{ "POST", "/api/tokens", ROLE_ADMIN, hub_api_token_create },
	{ "GET", "/api/tokens", ROLE_ADMIN, hub_api_tokens },
	{ "DELETE", "/api/tokens/*", ROLE_ADMIN, hub_api_token_revoke },
	{ "POST", "/api/alerts/test", ROLE_ADMIN, hub_api_alerts_test },
	/* signed by Discord, not a token (hub_chat_discord.c) */
	{ "POST", "/api/discord/interactions", 0, hub_chat_discord_interaction },
	{ "GET", "/api/push/key", ROLE_VIEWER, hub_api_push_key },
	{ "GET", "/api/push/subscriptions", ROLE_VIEWER, hub_api_push_list },
	{ "POST", "/api/push/subscriptions", ROLE_VIEWER,
	    hub_api_push_subscribe },
	{ "DELETE", "/api/push/subscriptions/*", ROLE_VIEWER,
	    hub_api_push_revoke },
	{ "GET", "/api/silences", ROLE_VIEWER, hub_api_silences },
	{ "POST", "/api/silences", ROLE_OPERATOR, hub_api_silence_create },
	{ "DELETE", "/api/silences/*", ROLE_OPERATOR, hub_api_silence_clear },
	{ "GET", "/api/config", ROLE_VIEWER, hub_api_config },
	{ "GET", "/api/config/log", ROLE_VIEWER, hub_api_config_log },
	{ "GET", "/api/config/diff", ROLE_VIEWER, hub_api_config_diff },
	{ "POST", "/api/config/sync", ROLE_OPERATOR, hub_api_config_sync },
	{ "POST", "/api/config/rollback", ROLE_OPERATOR,
	    hub_api_config_rollback },
	{ NULL, NULL, 0, NULL }
};

/*
 * The largest body a request may send, decided from its headers before
 * the body is read (hub_ws.c), so only a token allowed to makes the hub
 * hold more than MC_BODY_MAX: an admin's release upload (up to
 * MC_RELEASE_MAX) and an operator's fan-out, which carries one signed
 * envelope per agent (MC_FANOUT_BODY_MAX).
 */
size_t
hub_api_body_max(const struct hub_http *h)
{
	const struct hub_token *t;
	int release = strcmp(h->path, "/api/releases") == 0;
	int fanout = strcmp(h->path, "/api/commands") == 0;

	if (strcmp(h->method, "POST") != 0 || (!release && !fanout) ||
	    strncmp(h->auth, "Bearer ", 7) != 0 ||
	    (t = hub_auth_token(h->auth + 7)) == NULL)
		return MC_BODY_MAX;
	if (release)
		return t->role >= ROLE_ADMIN ? MC_RELEASE_MAX : MC_BODY_MAX;
	return t->role >= ROLE_OPERATOR ? MC_FANOUT_BODY_MAX : MC_BODY_MAX;
}

/* The role a route needs now: /metrics needs none when the hub setting
 * metrics_public says so. */
static enum hub_role_level
route_role(const struct route *rt)
{
	if (rt->fn == api_metrics && hub.conf.metrics_public)
		return 0;
	return rt->role;
}

static int
serve_static(struct hub_req *r)
{
	const char *data;
	struct mc_buf b;
	size_t len;

	if (hub_static_find(r->http->path, &data, &len) == -1)
		return -1;
	mc_buf_init(&b, len);
	if (mc_buf_append(&b, data, len) == -1) {
		mc_buf_free(&b);
		return -1;
	}
	hub_http_reply(r, 200, &b);
	mc_buf_free(&b);
	r->http->ctype = hub_static_type(r->http->path[1] ? r->http->path :
	    "/index.html");
	r->http->is_static = 1;
	return 0;
}

/* Match path against pattern segment by segment; '*' captures. */
static int
route_match(const char *pattern, const char *path, struct hub_req *r)
{
	const char *p = pattern, *s = path;
	size_t n;
	int np = 0;

	while (*p && *s) {
		if (*p == '*') {
			n = strcspn(s, "/");
			if (n == 0 || n >= sizeof(r->pbuf[0]) || np == 2)
				return 0;
			memcpy(r->pbuf[np], s, n);
			r->pbuf[np][n] = '\0';
			r->params[np] = r->pbuf[np];
			np++;
			s += n;
			p++;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	return *p == '\0' && *s == '\0';
}

/* ---- per-token rate limit ---- */

struct bucket {
	char		 id[16];	/* the token's id */
	double		 level;		/* requests that may still be made */
	double		 last;		/* monotonic, of the last refill */
	struct bucket	*next;
};

static struct bucket *buckets[RL_BUCKETS];	/* owned chains */

static struct bucket *
bucket_of(const char *id)
{
	uint32_t h = mc_hash_str(id);
	struct bucket *b;

	for (b = buckets[h % RL_BUCKETS]; b != NULL; b = b->next)
		if (strcmp(b->id, id) == 0)
			return b;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	mc_strlcpy(b->id, id, sizeof(b->id));
	b->level = hub.conf.api_burst;
	b->last = mc_now();
	b->next = buckets[h % RL_BUCKETS];
	buckets[h % RL_BUCKETS] = b;
	return b;
}

/* Take one request from the token's bucket; 429 if it is empty. */
static int
rate_check(struct hub_req *r)
{
	struct bucket *b = bucket_of(r->token->id);
	double now = mc_now(), rate = hub.conf.api_rate;

	if (b == NULL)
		return 0;
	b->level += (now - b->last) * rate;
	if (b->level > hub.conf.api_burst)
		b->level = hub.conf.api_burst;
	b->last = now;
	if (b->level >= 1) {
		b->level -= 1;
		return 0;
	}
	hub_prom_rate_limited();
	hub_http_error(r, 429, "rate_limited", "rate limited: token %s made "
	    "more than %d requests a second (burst %d); retry later",
	    r->token->id, hub.conf.api_rate, hub.conf.api_burst);
	r->http->retry_after = (int)ceil((1 - b->level) / rate);
	if (r->http->retry_after < 1)
		r->http->retry_after = 1;
	return -1;
}

static int
is_stream(const struct hub_req *r)
{
	size_t n = strlen(r->http->path);

	return strcmp(r->http->method, "GET") == 0 && n > 7 &&
	    strcmp(r->http->path + n - 7, "/stream") == 0;
}

static int
authorize(struct hub_req *r, enum hub_role_level need)
{
	const char *h = r->http->auth;
	int wait;

	if (need == 0)
		return 0;
	if (hub_guard_check(r->http->client, &wait) == -1) {
		hub_http_error(r, 429, "auth_blocked", "too many failed "
		    "authentications from this address; wait %d s and use a "
		    "valid token", wait);
		r->http->retry_after = wait;
		return -1;
	}
	if (strncmp(h, "Bearer ", 7) != 0 ||
	    (r->token = hub_auth_token(h + 7)) == NULL) {
		/* a missing token is no guess: only a wrong one counts */
		if (h[0])
			hub_guard_fail(r->http->client);
		hub_http_error(r, 401, "unauthorized", "%s", h[0] ?
		    "the hub does not know this token" : "missing "
		    "'Authorization: Bearer TOKEN'");
		mc_info("%s: %s %s refused: bad or missing token",
		    r->http->client, r->http->method, r->http->path);
		return -1;
	}
	/* following a command's output is part of the request that made
	 * it (which was counted); fan-outs open hundreds of them at once */
	if (!is_stream(r) && rate_check(r) == -1)
		return -1;
	if (r->token->role < need) {
		hub_http_error(r, 403, "forbidden", "this needs the %s role; "
		    "token %s is %s", hub_role_name(need), r->token->id,
		    hub_role_name(r->token->role));
		return -1;
	}
	return 0;
}

/*
 * While the store cannot write, a request that changes something is
 * refused with 503 before it does: a token, a key or a command accepted
 * now would be lost with the next restart.  An alert test writes nothing
 * that matters and shows whether the channels still work.
 */
static int
store_writable(struct hub_req *r, const struct route *rt)
{
	struct hub_db_health h;

	if (strcmp(rt->method, "GET") == 0 || rt->fn == hub_api_alerts_test)
		return 0;
	hub_db_health(&h);
	if (!h.failing)
		return 0;
	hub_http_error(r, 503, "store_failing", "the hub cannot write its "
	    "database (%s); nothing was changed. Free space in the data "
	    "directory, then try again", h.reason);
	r->http->retry_after = 5;
	return -1;
}

int
hub_api_dispatch(struct hub_conn *c)
{
	const struct route *rt;
	struct hub_req r;
	int path_seen = 0;

	memset(&r, 0, sizeof(r));
	r.conn = c;
	r.http = c->http;
	if (c->http->body_too_large) {
		hub_http_error(&r, 413, "too_large", "request body over %zu "
		    "bytes", c->http->body.limit);
		return c->http->status;
	}
	for (rt = routes; rt->method != NULL; rt++) {
		if (!route_match(rt->pattern, c->http->path, &r))
			continue;
		path_seen = 1;
		if (strcmp(rt->method, c->http->method) != 0)
			continue;
		if (authorize(&r, route_role(rt)) == 0 &&
		    store_writable(&r, rt) == 0)
			rt->fn(&r);
		return c->http->status;
	}
	if (!path_seen && strcmp(c->http->method, "GET") == 0 &&
	    strncmp(c->http->path, "/api/", 5) != 0 && serve_static(&r) == 0)
		return c->http->status;
	if (path_seen)
		hub_http_error(&r, 405, "method_not_allowed", "%s is not "
		    "allowed on %s", c->http->method, c->http->path);
	else
		hub_http_error(&r, 404, "not_found", "no such endpoint: %s",
		    c->http->path);
	return c->http->status;
}
