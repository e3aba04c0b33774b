/*
 * hub_api_cmd.c - the REST API's agents and commands: the agent list and
 * one agent, a command for one agent or a fan-out, its record, output
 * stream and picture, past commands and an agent's metric history.
 * A command may come as an operator's signed envelope ("signed"): then
 * the payload says what runs, and the body only how long to queue it
 * and how much output to keep (hub_sign.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
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
	/* in a cluster, those held by other hubs as their feed says */
	for (a = hub_agent_first(); a != NULL; a = a->next)
		if (!hub_bus_feed_write_agent(&w, a->name, a))
			hub_agent_write(&w, a, 0);
	hub_bus_feed_write_others(&w);
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
	struct hub_agent *a = hub_agent_find(r->params[0]);
	struct mc_buf b;
	struct mc_jw w;

	hub_api_body_begin(&b, &w);
	/* held by another hub: as its feed last said */
	if (hub_bus_feed_write_agent(&w, r->params[0], a)) {
		hub_api_body_send(r, 200, &b, &w);
		return;
	}
	mc_buf_free(&b);
	if ((a = agent_param(r)) == NULL)
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

/* "cap": output bytes the hub keeps. */
static int
cap_parse(struct hub_req *r, const struct mc_json *o, uint64_t *out)
{
	int64_t cap = MC_OUTPUT_CAP_DEFAULT;

	if (mc_json_get(o, "cap") && mc_json_int(o, "cap", 0,
	    MC_OUTPUT_CAP_MAX, &cap) == -1) {
		hub_http_error(r, 400, "bad_request", "cap must be a whole "
		    "number of bytes from 0 to %d", MC_OUTPUT_CAP_MAX);
		return -1;
	}
	*out = (uint64_t)cap;
	return 0;
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
	if (cap_parse(r, o, &q->cap) == -1 ||
	    queue_parse(r, o, &q->queue) == -1)
		return -1;
	q->by = r->token->name;
	return 0;
}

/*
 * A signed command: what runs from the payload, cap and queue from the
 * body; replies 400 itself.  A queue longer than the signature stays
 * valid is refused: the listener would answer it expired.
 */
static int
signed_req_parse(struct hub_req *r, const struct mc_json *o,
    const char *agent, const struct hub_signed *s, struct hub_cmd_req *q)
{
	char err[MC_TEXT_MAX];
	int64_t left = s->sc.exp - (int64_t)time(NULL);

	memset(q, 0, sizeof(*q));
	if (hub_sign_req(s, agent, q, err, sizeof(err)) == -1) {
		hub_http_error(r, 400, "bad_request", "%s", err);
		return -1;
	}
	if (cap_parse(r, o, &q->cap) == -1 ||
	    queue_parse(r, o, &q->queue) == -1)
		return -1;
	if (q->queue > 0 && q->queue > (double)left) {
		hub_http_error(r, 400, "bad_request", "queue is longer than "
		    "the signature is valid (%lld s left): the agent would "
		    "refuse the command as expired", (long long)left);
		return -1;
	}
	q->by = r->token->name;
	return 0;
}

/* The body's "signed" envelope: 0 absent, 1 read into s, -1 after a 400. */
static int
signed_read(struct hub_req *r, const struct mc_json *o, struct hub_signed *s)
{
	char err[MC_TEXT_MAX];
	int n = hub_sign_read(o, s, err, sizeof(err));

	if (n == -1)
		hub_http_error(r, 400, "bad_request", "%s", err);
	return n;
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

/*
 * The body of a command for agent a: signed or plain.  kind, when not
 * MC_KIND_COUNT, is the path's (restart, stop, screenshot): a plain body
 * then holds only "queue", a signed one must be of that kind.
 */
static void
command_body(struct hub_req *r, struct hub_agent *a, enum mc_kind kind)
{
	struct hub_signed *s;	/* owned: too large for the stack */
	const struct mc_json *o;
	struct hub_cmd_req q;
	struct mc_jdoc *d;
	int n;

	if ((d = hub_api_body_json(r)) == NULL)
		return;
	o = mc_json_root(d);
	if ((s = malloc(sizeof(*s))) == NULL) {
		hub_http_error(r, 503, "unavailable", "out of memory");
		mc_json_free(d);
		return;
	}
	if ((n = signed_read(r, o, s)) == 1) {
		if (signed_req_parse(r, o, a->name, s, &q) == -1)
			n = -1;
		else if (kind != MC_KIND_COUNT && q.kind != kind) {
			hub_http_error(r, 400, "bad_request", "signed for %s, "
			    "not %s", s->sc.kind, mc_kind_name(kind));
			n = -1;
		}
	} else if (n == 0 && kind == MC_KIND_COUNT) {
		n = cmd_req_parse(r, o, &q);
	} else if (n == 0) {
		memset(&q, 0, sizeof(q));
		q.kind = kind;
		q.timeout = MC_TIMEOUT_DEFAULT;
		q.cap = MC_OUTPUT_CAP_DEFAULT;
		q.by = r->token->name;
		n = queue_parse(r, o, &q.queue);
	}
	if (n != -1)
		submit(r, a, &q);
	free(s);
	mc_json_free(d);
}

/* POST /api/agents/{name}/command, or restart|stop|screenshot (a
 * command by path): an agent connected to another hub of the cluster is
 * reached through it (hub_bus_route.c). */
static void
api_kind(struct hub_req *r, enum mc_kind kind)
{
	struct hub_agent *a = hub_agent_find(r->params[0]);

	if (hub_bus_route_command(r, a, kind))
		return;
	if ((a = agent_param(r)) != NULL)
		command_body(r, a, kind);
}

void
hub_api_command(struct hub_req *r)
{
	api_kind(r, MC_KIND_COUNT);
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
fanout_one(struct mc_jw *w, struct hub_agent *a, const struct hub_cmd_req *q,
    struct hub_fan *fan)
{
	char why[256];
	struct hub_cmd *c;
	int status;

	mc_jw_obj(w, NULL);
	mc_jw_str(w, "agent", a->name);
	if (q == NULL) {
		mc_jw_null(w, "id");
		mc_jw_str(w, "status", hub_status_name(a->status));
		mc_jw_str(w, "error", "no signature for this agent");
	} else if ((c = hub_cmd_submit(a, q, &status, why, sizeof(why))) !=
	    NULL) {
		mc_jw_str(w, "id", c->id);
		hub_bus_fan_accepted(fan, c);
	} else {
		mc_jw_null(w, "id");
		mc_jw_str(w, "status", hub_status_name(a->status));
		mc_jw_str(w, "error", why);
	}
	mc_jw_obj_end(w);
}

/*
 * A signed fan-out: "signed" holds one envelope per agent.  Every
 * envelope is read and checked, with the body's queue and cap, before
 * any command goes (a bad one is a 400 for the whole request), so that
 * a fan-out never stops halfway; its agent name is kept in names (owned by the
 * caller, one MC_NAME_MAX + 1 slot per envelope): -1 after a 400.
 */
static int
fanout_signed_check(struct hub_req *r, const struct mc_json *o,
    const struct mc_json *arr, struct hub_signed *s,
    char (*names)[MC_NAME_MAX + 1])
{
	const struct mc_json *e;
	struct hub_cmd_req q;
	char err[MC_TEXT_MAX];
	size_t i, j;

	for (e = arr->child, i = 0; e != NULL; e = e->next, i++) {
		if (hub_sign_read_env(e, s, err, sizeof(err)) == -1) {
			hub_http_error(r, 400, "bad_request", "signed[%zu]: "
			    "%s", i, err);
			return -1;
		}
		if (signed_req_parse(r, o, s->sc.agent, s, &q) == -1)
			return -1;
		mc_strlcpy(names[i], s->sc.agent, sizeof(names[i]));
		for (j = 0; j < i; j++)
			if (strcmp(names[j], names[i]) == 0) {
				hub_http_error(r, 400, "bad_request", "two "
				    "signed commands for agent %s", names[i]);
				return -1;
			}
	}
	return 0;
}

/* The command for a in a checked signed fan-out: 0 with q filled (it
 * points into s), 1 when none is for a, -1 after a 400. */
static int
fanout_signed_req(struct hub_req *r, const struct mc_json *o,
    const struct mc_json *arr, char (*names)[MC_NAME_MAX + 1],
    const struct hub_agent *a, struct hub_signed *s, struct hub_cmd_req *q)
{
	const struct mc_json *e;
	char err[MC_TEXT_MAX];
	size_t i;

	for (e = arr->child, i = 0; e != NULL; e = e->next, i++)
		if (strcmp(names[i], a->name) == 0)
			break;
	if (e == NULL)
		return 1;
	if (hub_sign_read_env(e, s, err, sizeof(err)) == -1) {
		hub_http_error(r, 400, "bad_request", "%s", err);
		return -1;
	}
	return signed_req_parse(r, o, a->name, s, q);
}

/* Submit to every targeted agent this hub answers for (in a cluster,
 * those another hub holds are its to answer, hub_bus_fan.c) into the
 * open array of w: a signed fan-out when arr is set. */
static int
fanout_run(struct hub_req *r, const struct mc_json *o,
    const struct mc_json *arr, const char *tag, int all, struct mc_jw *w)
{
	char (*names)[MC_NAME_MAX + 1] = NULL;	/* owned */
	struct hub_signed *s = NULL;		/* owned */
	struct hub_cmd_req q;
	struct hub_agent *a;
	int n = 0, ret = -1;

	if (arr == NULL) {
		if (cmd_req_parse(r, o, &q) == -1)
			return -1;
	} else if ((s = malloc(sizeof(*s))) == NULL ||
	    (names = calloc(arr->len + 1, sizeof(*names))) == NULL) {
		hub_http_error(r, 503, "unavailable", "out of memory");
		goto done;
	} else if (fanout_signed_check(r, o, arr, s, names) == -1)
		goto done;
	for (a = hub_agent_first(); a != NULL && n != -1; a = a->next) {
		if (!target_match(a, tag, all) || !hub_bus_fan_here(r->fan, a))
			continue;
		if (arr != NULL)
			n = fanout_signed_req(r, o, arr, names, a, s, &q);
		if (n != -1)
			fanout_one(w, a, n == 1 ? NULL : &q, r->fan);
	}
	ret = n == -1 ? -1 : 0;
done:
	free(names);
	free(s);
	return ret;
}

/* POST /api/commands {"target":{"tag":T}|{"all":true}, "type":...} or
 * {"target":..., "signed":[envelope, ...]} */
void
hub_api_fanout(struct hub_req *r)
{
	const struct mc_json *o, *t, *sig;
	struct hub_fan *fan;
	struct mc_jdoc *d;
	const char *tag;
	struct mc_buf b;
	struct mc_jw lw, *w = &lw;
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
	sig = mc_json_get(o, "signed");
	if (sig != NULL && (sig->type != MC_JARR || sig->len == 0)) {
		hub_http_error(r, 400, "bad_request", "signed must be an array "
		    "of envelopes, one per agent");
		mc_json_free(d);
		return;
	}
	/* in a cluster the other hubs' parts are added as they come */
	if (hub_bus_fan_begin(r, &fan) == -1) {
		mc_json_free(d);
		return;
	}
	if (fan != NULL)
		w = hub_bus_fan_writer(fan);
	else
		hub_api_body_begin(&b, w);
	mc_jw_obj(w, NULL);
	mc_jw_arr(w, "commands");
	if (fanout_run(r, o, sig, tag, all, w) == -1) {
		if (fan != NULL) {
			hub_bus_fan_drop(fan);
			r->fan = NULL;
		} else
			mc_buf_free(&b);
	} else if (fan != NULL)
		hub_bus_fan_send(r, fan);
	else {
		mc_jw_arr_end(w);
		mc_jw_obj_end(w);
		hub_api_body_send(r, 202, &b, w);
	}
	mc_json_free(d);
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
