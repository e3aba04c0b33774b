/*
 * hub_api_cmd.c - the REST API's agents and commands: the agent list and
 * one agent, a command for one agent or a fan-out, its record, output
 * stream and picture, past commands and an agent's metric history.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hub_api.h"
#include "mc_log.h"
#include "mc_util.h"

void
hub_api_agents(struct hub_req *r)
{
	struct hub_agent *a;
	struct mc_buf b;
	struct mc_jw w;

	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "agents");
	for (a = hub_agent_first(); a != NULL; a = a->next)
		hub_agent_write(&w, a, 0);
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 200, &b, &w);
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

void
hub_api_agent(struct hub_req *r)
{
	struct hub_agent *a = agent_param(r);
	struct mc_buf b;
	struct mc_jw w;

	if (a == NULL)
		return;
	hub_api_body_begin(&b, &w);
	hub_agent_write(&w, a, 1);
	hub_api_body_send(r, 200, &b, &w);
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

/* container_update: "image" (its text is the command's), "arg",
 * "prune"; at least one of image and arg. */
static int
update_parse(struct hub_req *r, const struct mc_json *o,
    struct hub_cmd_req *q)
{
	const char *image = mc_json_str(o, "image");

	q->cmd = image != NULL && *image != '\0' ? image : NULL;
	if ((q->cmd == NULL && (q->arg == NULL || *q->arg == '\0')) ||
	    (q->cmd != NULL && strlen(q->cmd) >= MC_IMAGE_MAX) ||
	    (q->arg != NULL && strlen(q->arg) >= MC_TEXT_MAX)) {
		hub_http_error(r, 400, "bad_request", "container_update needs "
		    "\"image\" (under %d bytes), \"arg\" (a container), or "
		    "both", MC_IMAGE_MAX);
		return -1;
	}
	if (mc_json_get(o, "prune") != NULL &&
	    mc_json_bool(o, "prune", &q->prune) == -1) {
		hub_http_error(r, 400, "bad_request", "prune must be true or "
		    "false");
		return -1;
	}
	return 0;
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
		    "screenshot, metrics, container_update");
		return -1;
	}
	q->cmd = mc_json_str(o, "cmd");
	q->arg = mc_json_str(o, "arg");
	if (q->kind == MC_KIND_CONTAINER_UPDATE && update_parse(r, o, q) == -1)
		return -1;
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
	q->timeout = q->kind == MC_KIND_CONTAINER_UPDATE ?
	    HUB_UPDATE_TIMEOUT : MC_TIMEOUT_DEFAULT;
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
	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "id", c->id);
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 202, &b, &w);
}

void
hub_api_command(struct hub_req *r)
{
	struct hub_agent *a = agent_param(r);
	struct hub_cmd_req q;
	struct mc_jdoc *d;

	if (a == NULL || (d = hub_api_body_json(r)) == NULL)
		return;
	if (cmd_req_parse(r, mc_json_root(d), &q) == 0)
		submit(r, a, &q);
	mc_json_free(d);
}

/* The optional body of a command-by-path: {"queue": ...}. */
static int
queue_parse_body(struct hub_req *r, double *out)
{
	struct mc_jdoc *d = hub_api_body_json(r);
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

void
hub_api_restart(struct hub_req *r)
{
	api_kind(r, MC_KIND_RESTART);
}

void
hub_api_stop(struct hub_req *r)
{
	api_kind(r, MC_KIND_STOP);
}

void
hub_api_screenshot(struct hub_req *r)
{
	api_kind(r, MC_KIND_SCREENSHOT);
}

static void
cmd_json_done(void *arg, char *json, size_t len)
{
	hub_api_deferred_reply((uint64_t)(uintptr_t)arg, json, len, NULL,
	    "unknown command");
}

static void
cmd_png_done(void *arg, char *png, size_t len)
{
	hub_api_deferred_reply((uint64_t)(uintptr_t)arg, png, len, "image/png",
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

void
hub_api_cmd_get(struct hub_req *r)
{
	struct hub_cmd *c = hub_cmd_find(r->params[0]);
	struct mc_buf b;
	struct mc_jw w;

	if (c == NULL) {
		cmd_from_store(r, 0);
		return;
	}
	hub_api_body_begin(&b, &w);
	hub_cmd_write(&w, c, 1);
	hub_api_body_send(r, 200, &b, &w);
}

void
hub_api_cmd_stream(struct hub_req *r)
{
	struct hub_cmd *c = cmd_param(r);

	if (c != NULL)
		hub_http_stream(r, c);
}

void
hub_api_history(struct hub_req *r)
{
	char agent[MC_NAME_MAX + 1];
	int64_t limit = 50;
	uint64_t ticket;

	if (hub_api_query_int(r, "limit", 1, 1000, &limit) == -1)
		return;
	hub_api_query_str(r, "agent", agent, sizeof(agent));
	if ((ticket = hub_http_defer(r)) == 0)
		return;
	hub_cmd_history(agent, (int)limit, hub_api_read_done,
	    (void *)(uintptr_t)ticket);
}

/* Does the agent match a fan-out target? */
static int
target_match(const struct hub_agent *a, const char *tag, int all)
{
	return all || hub_agent_has_tag(a, tag);
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
void
hub_api_fanout(struct hub_req *r)
{
	const struct mc_json *o, *t;
	struct hub_cmd_req q;
	struct hub_agent *a;
	struct mc_jdoc *d;
	const char *tag;
	struct mc_buf b;
	struct mc_jw w;
	int all = 0;

	if ((d = hub_api_body_json(r)) == NULL)
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
	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "commands");
	for (a = hub_agent_first(); a != NULL; a = a->next)
		if (target_match(a, tag, all))
			fanout_one(&w, a, &q);
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	mc_json_free(d);
	hub_api_body_send(r, 202, &b, &w);
}

void
hub_api_cmd_png(struct hub_req *r)
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

/* GET /api/agents/{name}/history?range=1h|24h|7d */
void
hub_api_agent_history(struct hub_req *r)
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
	hub_api_query_str(r, "range", range, sizeof(range));
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
		hub_series_read(a, ranges[i].secs, hub_api_read_done,
		    (void *)(uintptr_t)ticket);
}
