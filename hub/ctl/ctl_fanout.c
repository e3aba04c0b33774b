/*
 * ctl_fanout.c - "hubctl send --tag TAG | --all KIND ...": one command on
 * many agents, from the request to the summary and the exit status.
 *
 * One POST /api/commands makes a command for every matching agent (the
 * hub answers which agents it could not reach), then every command's
 * stream is followed at once and its lines printed with the agent's name
 * (ctl_fanout_follow.c).  A summary on stderr closes.  The exit status is
 * 0 only if every targeted agent ran the command and it exited 0; 1
 * otherwise (an agent not reached counts as failed); 4 when no agent
 * matched; 3 when the hub went away before every outcome was known.
 * Names and hub texts are made safe; output is the operator's own and is
 * written as it is.  --json prints one object instead, {"commands":
 * [final records], "offline": [agents not reached]}; docker_ps prints one
 * table with an AGENT column; screenshots stay on the hub, their links
 * are printed.  With a signing key, hubctl asks for the agent list
 * first and signs the command once for each agent the target picks, as
 * the hub picks them (a tag matched exactly, or all); the hub sends each
 * agent its own envelope.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_fanout.h"
#include "mc_util.h"

/* the summary's groups */
enum group { G_OK, G_FAILED, G_TIMEOUT, G_OFFLINE, G_COUNT };

/* ---- the end of --json ---- */

/* --json: the agents not reached, and the end of the object. */
static void
json_end(const struct ctl_fan *fan)
{
	const struct ctl_fan_target *t;
	struct mc_buf b;
	struct mc_jw w;
	size_t i;
	int more = 0;

	fputs("\n],\"offline\":[", stdout);
	mc_buf_init(&b, 4096);
	for (i = 0; i < fan->n; i++) {
		t = &fan->t[i];
		if (t->id[0] != '\0')
			continue;
		mc_buf_reset(&b);
		mc_jw_init(&w, &b);
		mc_jw_obj(&w, NULL);
		mc_jw_str(&w, "agent", t->name);
		mc_jw_null(&w, "id");
		mc_jw_str(&w, "status", t->status);
		mc_jw_str(&w, "error", t->error);
		mc_jw_obj_end(&w);
		if (mc_jw_done(&w) == 0) {
			fputs(more ? ",\n" : "\n", stdout);
			fwrite(b.data, 1, b.len, stdout);
			more = 1;
		}
	}
	mc_buf_free(&b);
	fputs("\n]}\n", stdout);
}

/* ---- the summary ---- */

/* The group of t and how the summary names it. */
static enum group
classify(const struct ctl_fan_target *t, char *what, size_t size)
{
	snprintf(what, size, "%s", t->safe);
	if (t->id[0] == '\0') {
		if (strcmp(t->status, "offline") != 0)
			snprintf(what, size, "%s: %s", t->safe, t->status);
		return G_OFFLINE;
	}
	if (!t->ended) {
		snprintf(what, size, "%s unknown", t->safe);
		return G_FAILED;
	}
	if (strcmp(t->status, "done") == 0 && t->exit_code == 0)
		return G_OK;
	if (strcmp(t->status, "timeout") == 0)
		return G_TIMEOUT;
	if (strcmp(t->status, "done") == 0)
		snprintf(what, size, "%s exit %lld", t->safe,
		    (long long)t->exit_code);
	else
		snprintf(what, size, "%s %s", t->safe, t->status);
	return G_FAILED;
}

/* Print the summary; returns the number of agents not ok. */
static size_t
summary(const struct ctl_fan *fan)
{
	static const char *const label[G_COUNT] = { "ok", "failed",
	    "timed out", "offline" };
	char what[MC_NAME_MAX + 64];
	struct mc_buf names[G_COUNT];
	size_t count[G_COUNT] = { 0 }, i;
	enum group g;
	int k;

	for (k = 0; k < G_COUNT; k++)
		mc_buf_init(&names[k], 64 * 1024);
	for (i = 0; i < fan->n; i++) {
		g = classify(&fan->t[i], what, sizeof(what));
		if (g != G_OK && count[g] < CTL_FANOUT_NAMES)
			mc_buf_printf(&names[g], "%s%s", count[g] ? ", " : "",
			    what);
		count[g]++;
	}
	fprintf(stderr, "summary: %zu ok", count[G_OK]);
	for (k = G_FAILED; k < G_COUNT; k++) {
		if (count[k] == 0)
			continue;
		fprintf(stderr, ", %zu %s (%s%s", count[k], label[k],
		    names[k].data ? names[k].data : "",
		    count[k] > CTL_FANOUT_NAMES ? ", ..." : "");
		fputc(')', stderr);
		mc_buf_free(&names[k]);
	}
	fputc('\n', stderr);
	mc_buf_free(&names[G_OK]);
	return fan->n - count[G_OK];
}

/* ---- the start ---- */

static int
no_match(const struct ctl_fan *fan)
{
	if (fan->q->all) {
		fprintf(stderr, "hubctl: the hub has no agents; start a "
		    "listener with a key from `hubctl enroll-key create`\n");
	} else {
		fputs("hubctl: no agent has the tag '", stderr);
		ctl_put_safe(stderr, fan->q->tag);
		fputs("' (see `hubctl agents`)\n", stderr);
	}
	return CTL_EXIT_AGENT;
}

/* Does agent a (of GET /api/agents) have the fan-out's tag? */
static int
has_tag(const struct mc_json *a, const char *tag)
{
	const struct mc_json *tags = mc_json_get(a, "tags"), *e;

	for (e = tags && tags->type == MC_JARR ? tags->child : NULL; e;
	    e = e->next)
		if (e->type == MC_JSTR && strcmp(e->str, tag) == 0)
			return 1;
	return 0;
}

/* Sign the command for every agent the target picks: *sig (owned by the
 * caller, free) and *n.  0, or an exit status after saying why. */
static int
sign_targets(struct ctl_fan *fan, struct mc_sig **sig, size_t *n)
{
	const struct mc_json *list = NULL, *a;
	const char *name;
	struct ctl_resp r;
	int ret;

	*sig = NULL;
	*n = 0;
	ctl_resp_init(&r);
	ret = ctl_api(fan->c, "GET", "/api/agents", NULL, &r);
	if (ret == 0)
		list = mc_json_get(mc_json_root(r.doc), "agents");
	if (ret == 0 && (list == NULL || list->type != MC_JARR)) {
		fprintf(stderr, "hubctl: the hub's answer has no agent list\n");
		ret = CTL_EXIT_FAIL;
	} else if (ret == 0 && list->len > 0 &&
	    (*sig = calloc(list->len, sizeof(**sig))) == NULL) {
		fprintf(stderr, "hubctl: out of memory\n");
		ret = CTL_EXIT_FAIL;
	}
	for (a = ret == 0 ? list->child : NULL; a != NULL && ret == 0;
	    a = a->next) {
		name = mc_json_str(a, "name");
		if (name == NULL || (!fan->q->all && !has_tag(a, fan->q->tag)))
			continue;
		if (ctl_sign_send(fan->q->key, fan->q, name, &(*sig)[*n]) == -1)
			ret = CTL_EXIT_FAIL;
		else
			(*n)++;
	}
	ctl_resp_free(&r);
	if (ret == 0 && *n == 0)
		ret = no_match(fan);
	return ret;
}

static int
post(struct ctl_fan *fan, struct ctl_resp *r)
{
	struct mc_sig *sig = NULL;	/* owned */
	struct mc_buf body;
	size_t nsig = 0;
	int ret = 0;

	if (fan->q->key != NULL)
		ret = sign_targets(fan, &sig, &nsig);
	mc_buf_init(&body, MC_FANOUT_BODY_MAX);
	if (ret == 0 && ctl_send_body(fan->q, sig, nsig, &body) == -1)
		ret = ctl_usage("send", "the request is over %d bytes%s",
		    MC_FANOUT_BODY_MAX, nsig > 0 ? " (one signed command per agent: "
		    "send to fewer agents at a time)" : "");
	free(sig);
	if (ret != 0) {
		mc_buf_free(&body);
		return ret;
	}
	ret = ctl_http(fan->c, "POST", "/api/commands", &body, r);
	mc_buf_free(&body);
	if (ret != 0)
		return ret;
	if (r->status == 404 || r->status == 405) {
		fprintf(stderr, "hubctl: this hub is older than hubctl and "
		    "cannot send to a tag or to all agents (HTTP %ld); upgrade "
		    "it, or send to each agent by name\n", r->status);
		return CTL_EXIT_FAIL;
	}
	if (!ctl_http_2xx(r->status))
		return ctl_api_fail(fan->c, r);
	return 0;
}

static void
target_init(struct ctl_fan *fan, struct ctl_fan_target *t,
    const struct mc_json *e)
{
	const char *id = mc_json_str(e, "id");
	int kind = fan->q->kind;

	mc_strlcpy(t->name, ctl_jstr(e, "agent", "?"), sizeof(t->name));
	ctl_safe(t->name, t->safe, sizeof(t->safe));
	mc_buf_init(&t->part[0], CTL_FANOUT_LINE);
	mc_buf_init(&t->part[1], CTL_FANOUT_LINE);
	t->exit_code = -1;
	t->notes = !fan->c->o.json;
	t->print = t->notes && kind != MC_KIND_DOCKER_PS &&
	    kind != MC_KIND_SCREENSHOT;
	if (id != NULL && ctl_id_valid(id)) {
		mc_strlcpy(t->id, id, sizeof(t->id));
		return;
	}
	ctl_safe(ctl_jstr(e, "status", "unknown"), t->status,
	    sizeof(t->status));
	ctl_safe(ctl_jstr(e, "error", id != NULL ? "the hub gave no usable "
	    "command id" : "not sent"), t->error, sizeof(t->error));
	if (t->notes)
		fprintf(stderr, "hubctl: %s: not sent: %s\n", t->safe,
		    t->error);
}

/* In a cluster: count, and say, which hubs did not take part (their
 * agents are missing unless the hub asked knew them): the fan-out then
 * fails, as it did not reach every agent. */
static void
hubs_missing(struct ctl_fan *fan, const struct mc_json *hubs)
{
	const struct mc_json *h;
	char name[MC_NAME_MAX + 1], why[MC_TEXT_MAX];
	int ok;

	if (hubs == NULL || hubs->type != MC_JARR)
		return;
	for (h = hubs->child; h != NULL; h = h->next) {
		if (mc_json_bool(h, "ok", &ok) == 0 && ok)
			continue;
		fan->hubs_missing++;
		if (fan->c->o.json)
			continue;
		ctl_safe(ctl_jstr(h, "name", "?"), name, sizeof(name));
		ctl_safe(ctl_jstr(h, "error", "no answer"), why, sizeof(why));
		fprintf(stderr, "hubctl: hub %s %s: the agents it holds are "
		    "not in this fan-out\n", name, why);
	}
}

static int
take_targets(struct ctl_fan *fan, const struct ctl_resp *r)
{
	const struct mc_json *list = NULL, *e;

	if (r->doc != NULL) {
		list = mc_json_get(mc_json_root(r->doc), "commands");
		hubs_missing(fan, mc_json_get(mc_json_root(r->doc), "hubs"));
	}
	if (list == NULL || list->type != MC_JARR) {
		fprintf(stderr, "hubctl: the hub's answer has no command "
		    "list\n");
		return CTL_EXIT_FAIL;
	}
	if (list->len == 0)
		return no_match(fan);
	if ((fan->t = calloc(list->len, sizeof(*fan->t))) == NULL) {
		fprintf(stderr, "hubctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	for (e = list->child; e != NULL && fan->n < list->len; e = e->next)
		if (e->type == MC_JOBJ)
			target_init(fan, &fan->t[fan->n++], e);
	return fan->n > 0 ? 0 : no_match(fan);
}

/* ---- --queue: which agents the commands wait for ---- */

static int
by_name(const void *a, const void *b)
{
	const struct ctl_fan_target *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int
agent_offline(const struct mc_json *a)
{
	const char *s = mc_json_str(a, "status");
	int conn;

	return (mc_json_bool(a, "connected", &conn) == 0 && !conn) ||
	    (s != NULL && (strcmp(s, "offline") == 0 ||
	    strcmp(s, "restarting") == 0));
}

/* Say which commands wait on the hub for an agent that is not online. */
static void
announce_queued(struct ctl_fan *fan)
{
	const struct mc_json *list = NULL, *a;
	struct ctl_fan_target **idx, key, *kp = &key, **hit;
	struct ctl_resp r;
	const char *name;
	size_t i;

	if (fan->q->queue <= 0 || fan->c->o.json ||
	    (idx = calloc(fan->n, sizeof(*idx))) == NULL)
		return;
	for (i = 0; i < fan->n; i++)
		idx[i] = &fan->t[i];
	qsort(idx, fan->n, sizeof(*idx), by_name);
	ctl_resp_init(&r);
	if (ctl_http(fan->c, "GET", "/api/agents", NULL, &r) == 0 &&
	    r.status == 200 && r.doc != NULL)
		list = mc_json_get(mc_json_root(r.doc), "agents");
	for (a = list && list->type == MC_JARR ? list->child : NULL; a;
	    a = a->next) {
		name = mc_json_str(a, "name");
		if (name == NULL || !agent_offline(a) ||
		    mc_strlcpy(key.name, name, sizeof(key.name)) == -1)
			continue;
		hit = bsearch(&kp, idx, fan->n, sizeof(*idx), by_name);
		if (hit == NULL || (*hit)->id[0] == '\0')
			continue;
		fprintf(stderr, "hubctl: %s is not online; queued for up to ",
		    (*hit)->safe);
		ctl_put_safe(stderr, fan->q->queue_text);
		fprintf(stderr, " (command %s)\n", (*hit)->id);
	}
	ctl_resp_free(&r);
	free(idx);
}

/* After the streams: records, tables, the summary; the exit status. */
static int
report(struct ctl_fan *fan)
{
	static const char *const head[] = { "AGENT", "NAME", "IMAGE",
	    "STATE", "STATUS", "PORTS" };
	int json = fan->c->o.json, docker = fan->q->kind == MC_KIND_DOCKER_PS;
	char what[MC_NAME_MAX + 64];
	size_t i, bad = 0;

	ctl_table_init(&fan->docker, 6);
	for (i = 0; docker && !json && i < 6; i++)
		ctl_table_add(&fan->docker, head[i]);
	if (json)
		fputs("{\"commands\":[", stdout);
	ctl_fanout_records(fan);
	if (json)
		json_end(fan);
	if (fan->docker.ncells > 6)
		ctl_table_print(&fan->docker);
	else
		mc_buf_free(&fan->docker.cells);
	if (!json)
		bad = summary(fan);
	for (i = 0; json && i < fan->n; i++)
		bad += classify(&fan->t[i], what, sizeof(what)) != G_OK;
	for (i = 0; i < fan->n; i++)
		fan->hub_lost |= !fan->t[i].ended && fan->t[i].hub_err;
	if (fan->hub_lost) {
		fprintf(stderr, "hubctl: lost the hub; some commands may still "
		    "be queued or running (see `hubctl history`)\n");
		return CTL_EXIT_HUB;
	}
	return bad == 0 && fan->hubs_missing == 0 ? CTL_EXIT_OK :
	    CTL_EXIT_FAIL;
}

int
ctl_fanout(struct ctl *c, const struct ctl_send *q)
{
	struct ctl_fan fan;
	struct ctl_resp r;
	size_t i;
	int ret;

	memset(&fan, 0, sizeof(fan));
	fan.c = c;
	fan.q = q;
	fan.records = c->o.json || q->kind == MC_KIND_DOCKER_PS ||
	    q->kind == MC_KIND_SCREENSHOT;
	ctl_resp_init(&r);
	ret = post(&fan, &r);
	if (ret == 0)
		ret = take_targets(&fan, &r);
	ctl_resp_free(&r);
	if (ret == 0) {
		announce_queued(&fan);
		ret = ctl_fanout_follow(&fan);
	}
	if (ret == 0)
		ret = report(&fan);
	for (i = 0; i < fan.n; i++) {
		mc_buf_free(&fan.t[i].part[0]);
		mc_buf_free(&fan.t[i].part[1]);
	}
	free(fan.t);
	return ret;
}
