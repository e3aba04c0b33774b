/*
 * ctl_containers.c - "hubctl containers" (the fleet's containers, from
 * GET /api/containers), the containers part of "hubctl show AGENT" and the
 * CTR column of "hubctl agents".
 *
 * The filters go to the hub as query parameters (it filters, so a big
 * fleet's answer stays small); --json prints the hub's answer as it came.
 * Every string from the hub goes through the table's ctl_safe().
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "mc_proto.h"

#define CTR_COLS	10
#define QUERY_MAX	(4 * MC_IMAGE_MAX + 4 * MC_NAME_MAX)

/* ---- the agents' CTR column ---- */

int
ctl_ctr_any(const struct mc_json *list)
{
	const struct mc_json *a;

	for (a = list->child; a != NULL; a = a->next)
		if (mc_json_get(a, "containers") != NULL)
			return 1;
	return 0;
}

/* "3/4" running of all, "!" after it when one is down or unhealthy. */
void
ctl_ctr_cell(const struct mc_json *a, char *out, size_t outlen)
{
	const struct mc_json *n = mc_json_get(a, "containers");
	double run = 0, total = 0, down = 0, bad = 0;

	if (n == NULL || n->type != MC_JOBJ) {
		snprintf(out, outlen, "-");
		return;
	}
	mc_json_num(n, "running", &run);
	mc_json_num(n, "total", &total);
	mc_json_num(n, "down", &down);
	mc_json_num(n, "unhealthy", &bad);
	snprintf(out, outlen, "%.0f/%.0f%s", run, total, down + bad > 0 ?
	    "!" : "");
}

/* ---- one row ---- */

static void
num_cell(struct ctl_table *t, const struct mc_json *o, const char *key,
    int bytes)
{
	char buf[64];
	double v;

	if (mc_json_num(o, key, &v) == -1)
		snprintf(buf, sizeof(buf), "-");
	else if (bytes)
		ctl_bytes(v, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "%.1f%%", v);
	ctl_table_add(t, buf);
}

static void
row(struct ctl_table *t, const struct mc_json *c, int with_agent)
{
	char buf[64];
	double v;
	int behind = 0;

	if (with_agent)
		ctl_table_add(t, ctl_jstr(c, "agent", "?"));
	ctl_table_add(t, ctl_jstr(c, "name", "?"));
	ctl_table_add(t, ctl_jstr(c, "image", "-"));
	ctl_table_add(t, ctl_jstr(c, "state", "?"));
	ctl_table_add(t, ctl_jstr(c, "health", "-"));
	if (mc_json_num(c, "restarts", &v) == -1)
		v = 0;
	snprintf(buf, sizeof(buf), "%.0f", v);
	ctl_table_add(t, buf);
	num_cell(t, c, "cpu", 0);
	num_cell(t, c, "mem", 1);
	if (strcmp(ctl_jstr(c, "state", ""), "running") == 0 &&
	    mc_json_num(c, "started", &v) == 0)
		ctl_ago(v, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "-");
	ctl_table_add(t, buf);
	mc_json_bool(c, "behind", &behind);
	ctl_table_add(t, behind ? "BEHIND" : "-");
}

static void
fleet_row(struct ctl_table *t, const struct mc_json *c)
{
	row(t, c, 1);
}

static void
agent_row(struct ctl_table *t, const struct mc_json *c)
{
	row(t, c, 0);
}

static const char *const head[CTR_COLS] = { "AGENT", "NAME", "IMAGE",
    "STATE", "HEALTH", "RESTARTS", "CPU", "MEM", "UP-SINCE", "UPDATE" };

/* ---- hubctl containers ---- */

/* "&key=VALUE" (encoded) appended when value is set; -1 (said) if long. */
static int
query_add(struct mc_buf *q, const char *key, const char *value)
{
	char enc[QUERY_MAX];

	if (value == NULL)
		return 0;
	if (ctl_urlenc(value, enc, sizeof(enc)) == -1 ||
	    mc_buf_printf(q, "&%s=%s", key, enc) == -1)
		return ctl_usage("containers", "--%s is too long", key);
	return 0;
}

static int
fleet_print(const struct ctl_resp *r)
{
	const struct mc_json *root = r->doc ? mc_json_root(r->doc) : NULL;
	int more = 0, ret;
	size_t n = 0;
	double total = 0;

	ret = ctl_print_list(r, "containers", "container", head, CTR_COLS,
	    fleet_row, &n);
	if (ret == CTL_EXIT_OK && root != NULL &&
	    mc_json_bool(root, "more", &more) == 0 && more &&
	    mc_json_num(root, "total", &total) == 0)
		fprintf(stderr, "hubctl: %zu of %.0f containers shown; narrow "
		    "the list with --agent, --tag, --image or --state\n", n,
		    total);
	else if (ret == CTL_EXIT_OK && n == 0)
		fprintf(stderr, "hubctl: no container matches\n");
	return ret;
}

int
ctl_cmd_containers(struct ctl *c, int argc, char **argv)
{
	const char *tag = NULL, *image = NULL, *agent = NULL, *state = NULL;
	const struct ctl_flag flags[] = { { "--tag", 1, &tag },
	    { "--image", 1, &image }, { "--agent", 1, &agent },
	    { "--state", 1, &state }, { NULL, 0, NULL } };
	struct ctl_resp r;
	struct ctl_args a;
	struct mc_buf q;
	int ret;

	ret = ctl_begin(c, "containers", argc, argv, flags, &a, 0, 0);
	if (ret != 0)
		return ret;
	mc_buf_init(&q, QUERY_MAX * 2);
	mc_buf_puts(&q, "/api/containers?limit=5000");
	if (query_add(&q, "tag", tag) != 0 ||
	    query_add(&q, "image", image) != 0 ||
	    query_add(&q, "agent", agent) != 0 ||
	    query_add(&q, "state", state) != 0) {
		mc_buf_free(&q);
		return CTL_EXIT_USAGE;
	}
	ctl_resp_init(&r);
	ret = ctl_http(c, "GET", q.data, NULL, &r);
	if (ret == 0 && r.status == 404 && agent != NULL)
		ret = ctl_agent_unknown(agent);
	else if (ret == 0 && !ctl_http_2xx(r.status))
		ret = ctl_api_fail(c, &r);
	else if (ret == 0 && c->o.json)
		ctl_print_body(&r);
	else if (ret == 0)
		ret = fleet_print(&r);
	ctl_resp_free(&r);
	mc_buf_free(&q);
	return ret;
}

/* ---- hubctl show AGENT ---- */

int
ctl_ctr_show(struct ctl *c, const char *agent)
{
	char path[MC_PATH_MAX * 4];
	struct ctl_resp r;
	int ret, stale = 0;

	if (ctl_agent_path(agent, "/containers", path, sizeof(path)) == -1)
		return CTL_EXIT_USAGE;
	ctl_resp_init(&r);
	ret = ctl_api(c, "GET", path, NULL, &r);
	if (ret == 0 && r.doc != NULL)
		mc_json_bool(mc_json_root(r.doc), "stale", &stale);
	if (ret == 0) {
		printf("\ncontainers:%s\n", stale ? " (as last reported: the "
		    "agent is away or lost Docker)" : "");
		ret = ctl_print_list(&r, "containers", "container", head + 1,
		    CTR_COLS - 1, agent_row, NULL);
	}
	ctl_resp_free(&r);
	return ret;
}
