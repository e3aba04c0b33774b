/*
 * hub_api.c - the REST API: one route table, one handler per route.
 *
 * A route is {method, pattern, role, handler}; '*' in a pattern matches
 * one path segment and becomes a parameter.  Authentication and the role
 * check happen here, before any handler, from the table; handlers see a
 * validated request and only build their reply.  docs/api.md documents
 * every route with an example.
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
#include "mc_log.h"
#include "mc_util.h"

#define RESP_MAX	(64 * 1024 * 1024)
#define RL_BUCKETS	256

typedef void (*route_fn)(struct hub_req *);

struct route {
	const char		*method;
	const char		*pattern;
	enum hub_role_level	 role;	/* 0: no token needed */
	route_fn		 fn;
};

/* Start a JSON reply body. */
static void
body_begin(struct mc_buf *b, struct mc_jw *w)
{
	mc_buf_init(b, RESP_MAX);
	mc_jw_init(w, b);
}

static void
body_send(struct hub_req *r, int status, struct mc_buf *b, struct mc_jw *w)
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
static struct mc_jdoc *
body_json(struct hub_req *r)
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
static void __attribute__((format(printf, 3, 4)))
audit(const struct hub_req *r, const char *action, const char *fmt, ...)
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

/* ---- handlers ---- */

static void
api_healthz(struct hub_req *r)
{
	struct hub_db_health h;
	struct hub_agent *a;
	struct mc_buf b;
	struct mc_jw w;
	size_t online = 0, connected = 0;

	for (a = hub_agent_first(); a != NULL; a = a->next) {
		online += a->status == ST_ONLINE;
		connected += a->conn != NULL;
	}
	hub_db_health(&h);
	body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "status", h.failing ? "degraded" : "ok");
	mc_jw_str(&w, "version", MC_VERSION);
	mc_jw_u64(&w, "agents", hub_agent_count());
	mc_jw_u64(&w, "online", online);
	mc_jw_u64(&w, "connected", connected);
	if (h.failing) {
		mc_jw_str(&w, "store", h.reason);
		mc_jw_dbl(&w, "store_failing_since", h.failing_since);
		mc_jw_u64(&w, "store_queued", h.queued);
	}
	mc_jw_obj_end(&w);
	/* a monitor that checks the status code sees the fault */
	body_send(r, h.failing ? 503 : 200, &b, &w);
}

static void
api_agents(struct hub_req *r)
{
	struct hub_agent *a;
	struct mc_buf b;
	struct mc_jw w;

	body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "agents");
	for (a = hub_agent_first(); a != NULL; a = a->next)
		hub_agent_write(&w, a, 0);
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	body_send(r, 200, &b, &w);
}

static struct hub_agent *
agent_param(struct hub_req *r)
{
	struct hub_agent *a = hub_agent_find(r->params[0]);

	if (a == NULL)
		hub_http_error(r, 404, "not_found", "unknown agent '%s' (see "
		    "GET /api/agents)", r->params[0]);
	return a;
}

static void
api_agent(struct hub_req *r)
{
	struct hub_agent *a = agent_param(r);
	struct mc_buf b;
	struct mc_jw w;

	if (a == NULL)
		return;
	body_begin(&b, &w);
	hub_agent_write(&w, a, 1);
	body_send(r, 200, &b, &w);
}

/* "queue": seconds, or a duration string such as "10m". */
static int
queue_parse(struct hub_req *r, const struct mc_json *o, double *out)
{
	const struct mc_json *q = mc_json_get(o, "queue");

	*out = 0;
	if (q == NULL || q->type == MC_JNULL)
		return 0;
	if ((q->type == MC_JNUM && q->num >= 0 && q->num <= 30 * 86400 &&
	    (*out = q->num, 1)) || (q->type == MC_JSTR &&
	    mc_parse_duration(q->str, out) == 0 && *out <= 30 * 86400))
		return 0;
	hub_http_error(r, 400, "bad_request", "queue must be seconds or a "
	    "duration such as \"10m\", at most 30 days");
	return -1;
}

/* Fill a command request from the body; replies 400 itself on error. */
static int
cmd_req_parse(struct hub_req *r, const struct mc_json *o,
    struct hub_cmd_req *q)
{
	const char *type = mc_json_str(o, "type");
	double d;
	int64_t cap;

	memset(q, 0, sizeof(*q));
	if (type == NULL || mc_kind_parse(type, &q->kind) == -1) {
		hub_http_error(r, 400, "bad_request", "type must be one of "
		    "shell, docker_ps, docker_restart, restart, stop, "
		    "screenshot, metrics");
		return -1;
	}
	q->cmd = mc_json_str(o, "cmd");
	q->arg = mc_json_str(o, "arg");
	if (q->kind == MC_KIND_SHELL && (q->cmd == NULL || *q->cmd == '\0' ||
	    strlen(q->cmd) > MC_CMD_MAX)) {
		hub_http_error(r, 400, "bad_request", "shell needs \"cmd\", "
		    "1 to %d bytes", MC_CMD_MAX);
		return -1;
	}
	if (q->kind == MC_KIND_DOCKER_RESTART && (q->arg == NULL ||
	    *q->arg == '\0' || strlen(q->arg) >= MC_TEXT_MAX)) {
		hub_http_error(r, 400, "bad_request", "docker_restart needs "
		    "\"arg\": the container name or id");
		return -1;
	}
	q->timeout = MC_TIMEOUT_DEFAULT;
	if (mc_json_get(o, "timeout") && (mc_json_num(o, "timeout", &d) ==
	    -1 || d <= 0 || d > MC_TIMEOUT_MAX)) {
		hub_http_error(r, 400, "bad_request", "timeout must be a "
		    "number of seconds from 0 to %d", MC_TIMEOUT_MAX);
		return -1;
	}
	if (mc_json_get(o, "timeout"))
		q->timeout = d;
	cap = MC_OUTPUT_CAP_DEFAULT;
	if (mc_json_get(o, "cap") && mc_json_int(o, "cap", 0,
	    MC_OUTPUT_CAP_MAX, &cap) == -1) {
		hub_http_error(r, 400, "bad_request", "cap must be a whole "
		    "number of bytes from 0 to %d", MC_OUTPUT_CAP_MAX);
		return -1;
	}
	q->cap = (uint64_t)cap;
	if (queue_parse(r, o, &q->queue) == -1)
		return -1;
	q->by = r->token->name;
	return 0;
}

static void
submit(struct hub_req *r, struct hub_agent *a, const struct hub_cmd_req *q)
{
	char why[256];
	struct hub_cmd *c;
	struct mc_buf b;
	struct mc_jw w;
	int status;

	if ((c = hub_cmd_submit(a, q, &status, why, sizeof(why))) == NULL) {
		hub_http_error(r, status, status == 409 ? "not_online" :
		    "unavailable", "%s", why);
		return;
	}
	body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "id", c->id);
	mc_jw_obj_end(&w);
	body_send(r, 202, &b, &w);
}

static void
api_command(struct hub_req *r)
{
	struct hub_agent *a = agent_param(r);
	struct hub_cmd_req q;
	struct mc_jdoc *d;

	if (a == NULL || (d = body_json(r)) == NULL)
		return;
	if (cmd_req_parse(r, mc_json_root(d), &q) == 0)
		submit(r, a, &q);
	mc_json_free(d);
}

/* The optional body of a command-by-path: {"queue": ...}. */
static int
queue_parse_body(struct hub_req *r, double *out)
{
	struct mc_jdoc *d = body_json(r);
	int ret;

	if (d == NULL)
		return -1;
	ret = queue_parse(r, mc_json_root(d), out);
	mc_json_free(d);
	return ret;
}

/* POST /api/agents/{name}/restart|stop|screenshot: a command by path. */
static void
api_kind(struct hub_req *r, enum mc_kind kind)
{
	struct hub_agent *a = agent_param(r);
	struct hub_cmd_req q;

	if (a == NULL)
		return;
	memset(&q, 0, sizeof(q));
	q.kind = kind;
	q.timeout = MC_TIMEOUT_DEFAULT;
	q.cap = MC_OUTPUT_CAP_DEFAULT;
	q.by = r->token->name;
	if (queue_parse_body(r, &q.queue) == 0)
		submit(r, a, &q);
}

static void
api_restart(struct hub_req *r)
{
	api_kind(r, MC_KIND_RESTART);
}

static void
api_stop(struct hub_req *r)
{
	api_kind(r, MC_KIND_STOP);
}

static void
api_screenshot(struct hub_req *r)
{
	api_kind(r, MC_KIND_SCREENSHOT);
}

/* Finish a deferred reply with data read from the store (taken), or,
 * without data, with status and code and the words in missing. */
static void
deferred_fail(uint64_t ticket, char *data, size_t len, const char *ctype,
    int status, const char *code, const char *missing)
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

/* ... where no data means there is no such thing: 404. */
static void
deferred_reply(uint64_t ticket, char *data, size_t len, const char *ctype,
    const char *missing)
{
	deferred_fail(ticket, data, len, ctype, 404, "not_found", missing);
}

static void
history_done(void *arg, char *json, size_t len)
{
	deferred_reply((uint64_t)(uintptr_t)arg, json, len, NULL,
	    "cannot read the history");
}

static void
cmd_json_done(void *arg, char *json, size_t len)
{
	deferred_reply((uint64_t)(uintptr_t)arg, json, len, NULL,
	    "unknown command");
}

static void
cmd_png_done(void *arg, char *png, size_t len)
{
	deferred_reply((uint64_t)(uintptr_t)arg, png, len, "image/png",
	    "this command has no picture");
}

/* Not in memory: look in the store, answer later. */
static void
cmd_from_store(struct hub_req *r, int png)
{
	uint64_t ticket = hub_http_defer(r);

	if (ticket != 0)
		hub_cmd_read(r->params[0], png, png ? cmd_png_done :
		    cmd_json_done, (void *)(uintptr_t)ticket);
}

static struct hub_cmd *
cmd_param(struct hub_req *r)
{
	struct hub_cmd *c = hub_cmd_find(r->params[0]);

	if (c == NULL)
		hub_http_error(r, 404, "not_found", "unknown command '%s'",
		    r->params[0]);
	return c;
}

static void
api_cmd_get(struct hub_req *r)
{
	struct hub_cmd *c = hub_cmd_find(r->params[0]);
	struct mc_buf b;
	struct mc_jw w;

	if (c == NULL) {
		cmd_from_store(r, 0);
		return;
	}
	body_begin(&b, &w);
	hub_cmd_write(&w, c, 1);
	body_send(r, 200, &b, &w);
}

static void
api_cmd_stream(struct hub_req *r)
{
	struct hub_cmd *c = cmd_param(r);

	if (c != NULL)
		hub_http_stream(r, c);
}

static int
query_int(struct hub_req *r, const char *name, int64_t min, int64_t max,
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
static void
query_str(struct hub_req *r, const char *name, char *out, size_t outlen)
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

static void
api_history(struct hub_req *r)
{
	char agent[MC_NAME_MAX + 1];
	int64_t limit = 50;
	uint64_t ticket;

	if (query_int(r, "limit", 1, 1000, &limit) == -1)
		return;
	query_str(r, "agent", agent, sizeof(agent));
	if ((ticket = hub_http_defer(r)) == 0)
		return;
	hub_cmd_history(agent, (int)limit, history_done,
	    (void *)(uintptr_t)ticket);
}

/* Does the agent match a fan-out target? */
static int
target_match(const struct hub_agent *a, const char *tag, int all)
{
	int i;

	if (all)
		return 1;
	for (i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i], tag) == 0)
			return 1;
	return 0;
}

static void
fanout_one(struct mc_jw *w, struct hub_agent *a, const struct hub_cmd_req *q)
{
	char why[256];
	struct hub_cmd *c;
	int status;

	mc_jw_obj(w, NULL);
	mc_jw_str(w, "agent", a->name);
	if ((c = hub_cmd_submit(a, q, &status, why, sizeof(why))) != NULL) {
		mc_jw_str(w, "id", c->id);
	} else {
		mc_jw_null(w, "id");
		mc_jw_str(w, "status", hub_status_name(a->status));
		mc_jw_str(w, "error", why);
	}
	mc_jw_obj_end(w);
}

/* POST /api/commands {"target":{"tag":T}|{"all":true}, "type":...} */
static void
api_fanout(struct hub_req *r)
{
	const struct mc_json *o, *t;
	struct hub_cmd_req q;
	struct hub_agent *a;
	struct mc_jdoc *d;
	const char *tag;
	struct mc_buf b;
	struct mc_jw w;
	int all = 0;

	if ((d = body_json(r)) == NULL)
		return;
	o = mc_json_root(d);
	t = mc_json_get(o, "target");
	tag = mc_json_str(t, "tag");
	if (t == NULL || ((tag == NULL || *tag == '\0') &&
	    (mc_json_bool(t, "all", &all) == -1 || !all))) {
		hub_http_error(r, 400, "bad_request", "target must be "
		    "{\"tag\":\"TAG\"} or {\"all\":true}");
		mc_json_free(d);
		return;
	}
	if (cmd_req_parse(r, o, &q) == -1) {
		mc_json_free(d);
		return;
	}
	body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "commands");
	for (a = hub_agent_first(); a != NULL; a = a->next)
		if (target_match(a, tag, all))
			fanout_one(&w, a, &q);
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	mc_json_free(d);
	body_send(r, 202, &b, &w);
}

static void
api_cmd_png(struct hub_req *r)
{
	struct hub_cmd *c = hub_cmd_find(r->params[0]);
	struct mc_buf b;

	if (c == NULL) {
		cmd_from_store(r, 1);
		return;
	}
	if (c->blob.len == 0 || !hub_cmd_finished(c)) {
		hub_http_error(r, 404, "not_found", "command %s has no "
		    "picture%s", c->id, hub_cmd_finished(c) ? "" :
		    " (yet: it is still running)");
		return;
	}
	mc_buf_init(&b, c->blob.len);
	if (mc_buf_append(&b, c->blob.data, c->blob.len) == -1) {
		mc_buf_free(&b);
		hub_http_error(r, 503, "unavailable", "out of memory");
		return;
	}
	hub_http_reply(r, 200, &b);
	mc_buf_free(&b);
	r->http->ctype = "image/png";
}

static void
hist_points_done(void *arg, char *json, size_t len)
{
	deferred_reply((uint64_t)(uintptr_t)arg, json, len, NULL,
	    "cannot read the metric history");
}

/* GET /api/agents/{name}/history?range=1h|24h|7d */
static void
api_agent_history(struct hub_req *r)
{
	static const struct { const char *name; int secs; } ranges[] = {
		{ "1h", 3600 }, { "24h", 86400 }, { "7d", 7 * 86400 },
	};
	struct hub_agent *a = agent_param(r);
	char range[8];
	uint64_t ticket;
	size_t i;

	if (a == NULL)
		return;
	query_str(r, "range", range, sizeof(range));
	if (range[0] == '\0')
		mc_strlcpy(range, "1h", sizeof(range));
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (strcmp(range, ranges[i].name) == 0)
			break;
	if (i == sizeof(ranges) / sizeof(ranges[0])) {
		hub_http_error(r, 400, "bad_request", "range must be 1h, 24h "
		    "or 7d");
		return;
	}
	if ((ticket = hub_http_defer(r)) != 0)
		hub_series_read(a, ranges[i].secs, hist_points_done,
		    (void *)(uintptr_t)ticket);
}

/* GET /metrics: Prometheus text (hub_prom.c). */
static void
api_metrics(struct hub_req *r)
{
	struct mc_buf b;

	mc_buf_init(&b, RESP_MAX);
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

static void
backup_done(void *arg, char *bytes, size_t len)
{
	deferred_fail((uint64_t)(uintptr_t)arg, bytes, len,
	    "application/vnd.sqlite3", 500, "backup_failed", "the hub could "
	    "not copy its database (over 1 GiB, or out of memory: see its "
	    "log); copy DATA/hub.db with `sqlite3 hub.db .backup FILE`");
}

/* GET /api/backup: the whole database, consistent while the hub runs. */
static void
api_backup(struct hub_req *r)
{
	struct hub_db_health h;
	uint64_t ticket;

	/* a copy now would miss what the hub holds in memory */
	hub_db_health(&h);
	if (h.failing) {
		hub_http_error(r, 503, "store_failing", "the hub cannot write "
		    "its database (%s) and holds %zu writes in memory: a "
		    "backup now would miss them. Free space in the data "
		    "directory, then try again", h.reason, h.queued);
		r->http->retry_after = 5;
		return;
	}
	if ((ticket = hub_http_defer(r)) != 0) {
		audit(r, "backup", "backup taken from %s", r->http->client);
		hub_db_backup(backup_done, (void *)(uintptr_t)ticket);
	}
}

static void
events_done(void *arg, char *json, size_t len)
{
	deferred_reply((uint64_t)(uintptr_t)arg, json, len, NULL,
	    "cannot read the event log");
}

/* GET /api/events?limit=&before=ID|after=ID|since=TIME&agent=&type= */
static void
api_events(struct hub_req *r)
{
	struct hub_events_query q = { .limit = 100, .after = -1 };
	int64_t limit = 100, since = 0;
	uint64_t ticket;

	if (query_int(r, "limit", 1, 1000, &limit) == -1 ||
	    query_int(r, "before", 1, INT64_MAX, &q.before) == -1 ||
	    query_int(r, "after", 0, INT64_MAX, &q.after) == -1 ||
	    query_int(r, "since", 0, INT32_MAX, &since) == -1)
		return;
	if (q.before > 0 && (q.after >= 0 || since > 0)) {
		hub_http_error(r, 400, "bad_request", "before pages back, after "
		    "and since page forward: give one direction");
		return;
	}
	q.limit = (int)limit;
	q.since = (double)since;
	query_str(r, "agent", q.agent, sizeof(q.agent));
	query_str(r, "type", q.type, sizeof(q.type));
	if ((ticket = hub_http_defer(r)) != 0)
		hub_events_read(&q, events_done, (void *)(uintptr_t)ticket);
}

static void
api_key_create(struct hub_req *r)
{
	const struct mc_json *o;
	char key[128];
	struct hub_key *k;
	struct mc_jdoc *d;
	struct mc_buf b;
	struct mc_jw w;
	int64_t uses = 0;
	double expires = 0;

	if ((d = body_json(r)) == NULL)
		return;
	o = mc_json_root(d);
	if ((mc_json_get(o, "uses") && mc_json_int(o, "uses", 0, 1000000000,
	    &uses) == -1) || (mc_json_get(o, "expires") &&
	    (mc_json_num(o, "expires", &expires) == -1 || expires < 0))) {
		mc_json_free(d);
		hub_http_error(r, 400, "bad_request", "uses must be a whole "
		    "number >= 0 and expires seconds >= 0 (0: never)");
		return;
	}
	mc_json_free(d);
	k = hub_auth_key_create(uses, expires > 0 ? mc_wall() + expires : 0,
	    key, sizeof(key));
	if (k == NULL) {
		hub_http_error(r, 500, "internal", "cannot make a key");
		return;
	}
	audit(r, "key_create", "enrollment key %s (%lld uses) created", k->id,
	    (long long)k->uses);
	body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "id", k->id);
	mc_jw_str(&w, "key", key);
	mc_jw_i64(&w, "uses", k->uses);
	if (k->expires > 0)
		mc_jw_dbl(&w, "expires", k->expires);
	else
		mc_jw_null(&w, "expires");
	mc_jw_obj_end(&w);
	body_send(r, 201, &b, &w);
}

static void
api_keys(struct hub_req *r)
{
	struct mc_buf b;
	struct mc_jw w;

	body_begin(&b, &w);
	hub_auth_write_keys(&w);
	body_send(r, 200, &b, &w);
}

static void
reply_ok(struct hub_req *r)
{
	struct mc_buf b;
	struct mc_jw w;

	body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_bool(&w, "ok", 1);
	mc_jw_obj_end(&w);
	body_send(r, 200, &b, &w);
}

static void
api_key_revoke(struct hub_req *r)
{
	if (hub_auth_key_revoke(r->params[0]) == -1) {
		hub_http_error(r, 404, "not_found", "no active enrollment key "
		    "'%s'", r->params[0]);
		return;
	}
	audit(r, "key_revoke", "enrollment key %.16s revoked", r->params[0]);
	reply_ok(r);
}

static void
api_token_create(struct hub_req *r)
{
	const struct mc_json *o;
	enum hub_role_level role;
	const char *rs, *name;
	char tok[128];
	struct hub_token *t;
	struct mc_jdoc *d;
	struct mc_buf b;
	struct mc_jw w;

	if ((d = body_json(r)) == NULL)
		return;
	o = mc_json_root(d);
	rs = mc_json_str(o, "role");
	name = mc_json_str(o, "name");
	if (rs == NULL || hub_role_parse(rs, &role) == -1 ||
	    (name && (strlen(name) > MC_NAME_MAX || !mc_name_valid(name)))) {
		mc_json_free(d);
		hub_http_error(r, 400, "bad_request", "role must be admin, "
		    "operator or viewer; name at most %d bytes", MC_NAME_MAX);
		return;
	}
	t = hub_auth_token_create(role, name ? name : rs, tok, sizeof(tok));
	mc_json_free(d);
	if (t == NULL) {
		hub_http_error(r, 500, "internal", "cannot make a token");
		return;
	}
	audit(r, "token_create", "token %s (%s, '%s') created", t->id,
	    hub_role_name(t->role), t->name);
	body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "id", t->id);
	mc_jw_str(&w, "token", tok);
	mc_jw_str(&w, "role", hub_role_name(t->role));
	mc_jw_str(&w, "name", t->name);
	mc_jw_obj_end(&w);
	body_send(r, 201, &b, &w);
}

static void
api_tokens(struct hub_req *r)
{
	struct mc_buf b;
	struct mc_jw w;

	body_begin(&b, &w);
	hub_auth_write_tokens(&w);
	body_send(r, 200, &b, &w);
}

static void
api_token_revoke(struct hub_req *r)
{
	if (hub_auth_token_revoke(r->params[0]) == -1) {
		hub_http_error(r, 404, "not_found", "no active token '%s'",
		    r->params[0]);
		return;
	}
	audit(r, "token_revoke", "token %.16s revoked", r->params[0]);
	reply_ok(r);
}

/* ---- alerts and silences (hub_alert.c, hub_silence.c) ---- */

static void
api_alerts_test(struct hub_req *r)
{
	hub_alert_test(r);
}

static void
api_silences(struct hub_req *r)
{
	struct mc_buf b;
	struct mc_jw w;

	body_begin(&b, &w);
	hub_silence_write(&w);
	body_send(r, 200, &b, &w);
}

/* {"agent":A | "tag":T, "for":"2h" | seconds, "reason":"..."}: exactly
 * one target, a known agent.  Replies itself on error. */
static int
silence_parse(struct hub_req *r, const struct mc_json *o, const char **agent,
    const char **tag, double *secs)
{
	const struct mc_json *f = mc_json_get(o, "for");
	const char *reason = mc_json_str(o, "reason");

	*agent = mc_json_str(o, "agent");
	*tag = mc_json_str(o, "tag");
	if (!*agent == !*tag || (*agent && (strlen(*agent) > MC_NAME_MAX ||
	    !mc_name_valid(*agent))) || (*tag && (strlen(*tag) > MC_TAG_MAX ||
	    !mc_tag_valid(*tag)))) {
		hub_http_error(r, 400, "bad_request", "give exactly one of "
		    "\"agent\" (a name) or \"tag\"");
		return -1;
	}
	if (f == NULL || !((f->type == MC_JNUM && (*secs = f->num, 1)) ||
	    (f->type == MC_JSTR && mc_parse_duration(f->str, secs) == 0)) ||
	    *secs <= 0 || *secs > MC_SILENCE_MAX_SECS) {
		hub_http_error(r, 400, "bad_request", "\"for\" must be seconds "
		    "or a duration such as \"2h\", at most 30 days");
		return -1;
	}
	if (reason != NULL && strlen(reason) >= MC_TEXT_MAX) {
		hub_http_error(r, 400, "bad_request", "\"reason\" is longer "
		    "than %d bytes", MC_TEXT_MAX - 1);
		return -1;
	}
	if (*agent && hub_agent_find(*agent) == NULL) {
		hub_http_error(r, 404, "not_found", "unknown agent '%s' (see "
		    "GET /api/agents)", *agent);
		return -1;
	}
	return 0;
}

static void
api_silence_create(struct hub_req *r)
{
	const struct hub_silence *s;
	const char *agent, *tag;
	struct mc_jdoc *d;
	struct mc_buf b;
	struct mc_jw w;
	char why[256];
	double secs;

	if ((d = body_json(r)) == NULL)
		return;
	if (silence_parse(r, mc_json_root(d), &agent, &tag, &secs) == -1) {
		mc_json_free(d);
		return;
	}
	s = hub_silence_add(agent, tag, secs, mc_json_str(mc_json_root(d),
	    "reason"), r->token->name, why, sizeof(why));
	mc_json_free(d);
	if (s == NULL) {
		hub_http_error(r, 503, "unavailable", "%s", why);
		return;
	}
	body_begin(&b, &w);
	hub_silence_write_one(&w, s);
	body_send(r, 201, &b, &w);
}

static void
api_silence_clear(struct hub_req *r)
{
	if (hub_silence_clear(r->params[0], r->token->name) == -1)
		hub_http_error(r, 404, "not_found", "no running silence '%s' "
		    "(see GET /api/silences)", r->params[0]);
	else
		reply_ok(r);
}

static const struct route routes[] = {
	{ "GET", "/healthz", 0, api_healthz },
	{ "GET", "/install.sh", 0, api_install_sh },
	{ "GET", "/download/maestro-listener", 0, api_download },
	{ "GET", "/download/maestro-listener.sha256", 0, api_download_sum },
	{ "GET", "/metrics", ROLE_VIEWER, api_metrics },
	{ "GET", "/api/agents", ROLE_VIEWER, api_agents },
	{ "GET", "/api/agents/*", ROLE_VIEWER, api_agent },
	{ "GET", "/api/agents/*/history", ROLE_VIEWER, api_agent_history },
	{ "POST", "/api/agents/*/command", ROLE_OPERATOR, api_command },
	{ "POST", "/api/agents/*/restart", ROLE_OPERATOR, api_restart },
	{ "POST", "/api/agents/*/stop", ROLE_OPERATOR, api_stop },
	{ "POST", "/api/agents/*/screenshot", ROLE_OPERATOR, api_screenshot },
	{ "GET", "/api/commands", ROLE_VIEWER, api_history },
	{ "POST", "/api/commands", ROLE_OPERATOR, api_fanout },
	{ "GET", "/api/commands/*", ROLE_VIEWER, api_cmd_get },
	{ "GET", "/api/commands/*/stream", ROLE_VIEWER, api_cmd_stream },
	{ "GET", "/api/commands/*/png", ROLE_VIEWER, api_cmd_png },
	{ "GET", "/api/events", ROLE_VIEWER, api_events },
	{ "GET", "/api/backup", ROLE_ADMIN, api_backup },
	{ "POST", "/api/enroll-keys", ROLE_ADMIN, api_key_create },
	{ "GET", "/api/enroll-keys", ROLE_ADMIN, api_keys },
	{ "DELETE", "/api/enroll-keys/*", ROLE_ADMIN, api_key_revoke },
	{ "POST", "/api/tokens", ROLE_ADMIN, api_token_create },
	{ "GET", "/api/tokens", ROLE_ADMIN, api_tokens },
	{ "DELETE", "/api/tokens/*", ROLE_ADMIN, api_token_revoke },
	{ "POST", "/api/alerts/test", ROLE_ADMIN, api_alerts_test },
	{ "GET", "/api/silences", ROLE_VIEWER, api_silences },
	{ "POST", "/api/silences", ROLE_OPERATOR, api_silence_create },
	{ "DELETE", "/api/silences/*", ROLE_OPERATOR, api_silence_clear },
	{ NULL, NULL, 0, NULL }
};

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

	if (strcmp(rt->method, "GET") == 0 || rt->fn == api_alerts_test)
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
		hub_http_error(&r, 413, "too_large", "request body over %d "
		    "bytes", MC_BODY_MAX);
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
