/*
 * ctl_agents.c - "hubctl agents" and "hubctl show AGENT" (their GPU and
 * sensor parts: ctl_hw.c; their containers: ctl_containers.c).
 *
 * Both read GET /api/agents[/NAME] and print either the API's JSON as it
 * came (--json) or text for people.  Every string from the hub goes
 * through ctl_safe() (names and tags are free text); numbers the hub
 * leaves null print as "-".
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "mc_proto.h"

#define AGENTS_COLS	10	/* with GPU and CTR, each shown when any
				 * agent has one */

int
ctl_agent_path(const char *name, const char *suffix, char *out,
    size_t outlen)
{
	char enc[MC_PATH_MAX];

	if (ctl_urlenc(name, enc, sizeof(enc)) == -1 ||
	    (size_t)snprintf(out, outlen, "/api/agents/%s%s", enc,
	    suffix) >= outlen) {
		fprintf(stderr, "hubctl: agent name too long\n");
		return -1;
	}
	return 0;
}

int
ctl_agent_unknown(const char *name)
{
	fputs("hubctl: unknown agent '", stderr);
	ctl_put_safe(stderr, name);
	fputs("' (see `hubctl agents`)\n", stderr);
	return CTL_EXIT_AGENT;
}

/* "-" or a whole percentage. */
static void
pct(const struct mc_json *o, const char *key, char *out, size_t outlen)
{
	double v;

	if (mc_json_num(o, key, &v) == 0)
		snprintf(out, outlen, "%.0f%%", v);
	else
		snprintf(out, outlen, "-");
}

/* Tags joined with ',' (or "-"). */
static void
tags(const struct mc_json *o, char *out, size_t outlen)
{
	const struct mc_json *t = mc_json_get(o, "tags"), *e;
	struct mc_buf b;

	mc_buf_init(&b, outlen - 1);
	for (e = t && t->type == MC_JARR ? t->child : NULL; e; e = e->next)
		if (e->type == MC_JSTR)
			mc_buf_printf(&b, "%s%s", b.len ? "," : "", e->str);
	snprintf(out, outlen, "%s", b.len ? b.data : "-");
	mc_buf_free(&b);
}

static void
last_seen(const struct mc_json *o, char *out, size_t outlen)
{
	double ts = 0;

	if (mc_json_num(o, "last_seen", &ts) == -1)
		ts = 0;
	ctl_ago(ts, out, outlen);
}

static void
agent_row(struct ctl_table *t, const struct mc_json *a, int gpu, int ctr)
{
	char buf[1024];

	ctl_table_add(t, ctl_jstr(a, "name", "?"));
	ctl_table_add(t, ctl_jstr(a, "status", "?"));
	last_seen(a, buf, sizeof(buf));
	ctl_table_add(t, buf);
	pct(a, "cpu", buf, sizeof(buf));
	ctl_table_add(t, buf);
	pct(a, "mem", buf, sizeof(buf));
	ctl_table_add(t, buf);
	pct(a, "disk", buf, sizeof(buf));
	ctl_table_add(t, buf);
	if (gpu) {
		ctl_hw_gpu_cell(a, buf, sizeof(buf));
		ctl_table_add(t, buf);
	}
	if (ctr) {
		ctl_ctr_cell(a, buf, sizeof(buf));
		ctl_table_add(t, buf);
	}
	tags(a, buf, sizeof(buf));
	ctl_table_add(t, buf);
	ctl_table_add(t, ctl_jstr(a, "version", "-"));
}

static int
print_agents(const struct ctl_resp *r)
{
	static const char *const head[AGENTS_COLS] = { "NAME", "STATUS",
	    "LAST-SEEN", "CPU", "MEM", "DISK", "GPU", "CTR", "TAGS",
	    "VERSION" };
	const struct mc_json *list, *a;
	struct ctl_table t;
	int i, gpu, ctr;

	list = r->doc ? mc_json_get(mc_json_root(r->doc), "agents") : NULL;
	if (list == NULL || list->type != MC_JARR) {
		fprintf(stderr, "hubctl: the hub's answer has no agent list\n");
		return CTL_EXIT_FAIL;
	}
	gpu = ctl_hw_any_gpu(list);
	ctr = ctl_ctr_any(list);
	ctl_table_init(&t, AGENTS_COLS - !gpu - !ctr);
	for (i = 0; i < AGENTS_COLS; i++)
		if ((gpu || strcmp(head[i], "GPU") != 0) &&
		    (ctr || strcmp(head[i], "CTR") != 0))
			ctl_table_add(&t, head[i]);
	for (a = list->child; a != NULL; a = a->next)
		if (a->type == MC_JOBJ)
			agent_row(&t, a, gpu, ctr);
	if (ctl_table_print(&t) == -1)
		return CTL_EXIT_FAIL;
	if (list->len == 0)
		fprintf(stderr, "hubctl: no agents yet; start a listener with "
		    "a key from `hubctl enroll-key create`\n");
	return CTL_EXIT_OK;
}

int
ctl_cmd_agents(struct ctl *c, int argc, char **argv)
{
	struct ctl_resp r;
	struct ctl_args a;
	int ret;

	ret = ctl_begin(c, "agents", argc, argv, NULL, &a, 0, 0);
	if (ret != 0)
		return ret;
	ctl_resp_init(&r);
	ret = ctl_api(c, "GET", "/api/agents", NULL, &r);
	if (ret == 0 && c->o.json)
		ctl_print_body(&r);
	else if (ret == 0)
		ret = print_agents(&r);
	ctl_resp_free(&r);
	return ret;
}

/* ---- show ---- */

static void
kv(const char *label, const char *value)
{
	printf("%-12s ", label);
	ctl_put_safe(stdout, value);
	putchar('\n');
}

/* "incident: CRITICAL, 1 rule holding; acknowledged by alice" */
static void
show_incident(const struct mc_json *inc)
{
	char by[MC_NAME_MAX * 4 + 1];
	double rules = 0;
	int crit = 0;

	if (inc == NULL || inc->type != MC_JOBJ)
		return;
	mc_json_bool(inc, "critical", &crit);
	mc_json_num(inc, "rules", &rules);
	printf("%-12s %s%s", "incident:", crit ? "CRITICAL" : "",
	    crit && rules > 0 ? ", " : "");
	if (rules > 0)
		printf("%.0f rule%s holding", rules, rules > 1 ? "s" : "");
	ctl_safe(ctl_jstr(inc, "acked_by", ""), by, sizeof(by));
	if (by[0] != '\0')
		printf("; acknowledged by %s\n", by);
	else
		printf("; not acknowledged (hubctl ack)\n");
}

static void
show_status(const struct mc_json *a)
{
	char seen[64], since[64], line[256];
	double ts;
	int conn;

	if (mc_json_num(a, "since", &ts) == -1)
		ts = 0;
	ctl_ago(ts, since, sizeof(since));
	ctl_safe(ctl_jstr(a, "status", "?"), line, sizeof(line));
	printf("%-12s %s (since %s)\n", "status:", line,
	    ts > 0 ? since : "unknown");
	last_seen(a, seen, sizeof(seen));
	kv("last seen:", seen);
	if (mc_json_bool(a, "connected", &conn) == 0)
		kv("connected:", conn ? "yes" : "no");
	show_incident(mc_json_get(a, "incident"));
}

static void
show_facts(const struct mc_json *a)
{
	static const char *const facts[][2] = { { "hostname", "hostname:" },
	    { "os", "os:" }, { "kernel", "kernel:" }, { "arch", "arch:" },
	    { "version", "version:" } };
	char buf[1024];
	double v;
	size_t i;

	for (i = 0; i < sizeof(facts) / sizeof(facts[0]); i++)
		kv(facts[i][1], ctl_jstr(a, facts[i][0], "-"));
	if (mc_json_num(a, "cpus", &v) == 0)
		printf("%-12s %.0f\n", "cpus:", v);
	if (mc_json_num(a, "mem_total", &v) == 0) {
		ctl_bytes(v, buf, sizeof(buf));
		kv("memory:", buf);
	}
	tags(a, buf, sizeof(buf));
	kv("tags:", buf);
}

/* "4.0 GiB of 62.7 GiB (6%)"; label is already safe. */
static void
used_of(const char *label, uint64_t used, uint64_t total)
{
	char u[32], t[32];

	ctl_bytes((double)used, u, sizeof(u));
	ctl_bytes((double)total, t, sizeof(t));
	printf("%-12s %s of %s (%.0f%%)\n", label, u, t, total ?
	    100.0 * (double)used / (double)total : 0.0);
}

static void
show_fs(const struct mc_fs *f)
{
	char mount[MC_MOUNT_MAX], label[MC_MOUNT_MAX + 8];

	ctl_safe(f->mount, mount, sizeof(mount));
	snprintf(label, sizeof(label), "disk %s:", mount);
	used_of(label, f->used, f->total);
}

static void
show_net(const struct mc_net *n)
{
	char rx[32], tx[32];

	ctl_bytes(n->rx_bps, rx, sizeof(rx));
	ctl_bytes(n->tx_bps, tx, sizeof(tx));
	fputs("net ", stdout);
	ctl_put_safe(stdout, n->iface);
	printf(": rx %s/s, tx %s/s\n", rx, tx);
}

static void
show_metrics(const struct mc_json *a)
{
	const struct mc_json *mj = mc_json_get(a, "metrics");
	struct mc_metrics m;
	char err[256], buf[64];
	int i;

	if (mj == NULL || mj->type != MC_JOBJ) {
		printf("\nmetrics:     none yet (no heartbeat)\n");
		return;
	}
	if (mc_metrics_read(mj, &m, err, sizeof(err)) == -1) {
		printf("\nmetrics:     unreadable (%s)\n", err);
		return;
	}
	printf("\nlast heartbeat:\n");
	if (m.has_cpu)
		printf("%-12s %.0f%% (user %.1f%%, system %.1f%%, iowait "
		    "%.1f%%)\n", "cpu:", mc_metrics_cpu_pct(&m), m.cpu_user,
		    m.cpu_system, m.cpu_iowait);
	else
		kv("cpu:", "not measured yet (first heartbeat after a start)");
	printf("%-12s %.2f %.2f %.2f\n", "load:", m.load[0], m.load[1],
	    m.load[2]);
	used_of("memory:", m.mem_used, m.mem_total);
	used_of("swap:", m.swap_used, m.swap_total);
	for (i = 0; i < m.nfs; i++)
		show_fs(&m.fs[i]);
	for (i = 0; i < m.nnet; i++)
		show_net(&m.net[i]);
	ctl_hw_show(&m);
	ctl_uptime((double)m.uptime, buf, sizeof(buf));
	kv("uptime:", buf);
	printf("%-12s %u\n", "processes:", (unsigned)m.procs);
}

static int
print_agent(const struct ctl_resp *r)
{
	const struct mc_json *a = r->doc ? mc_json_root(r->doc) : NULL;

	if (a == NULL || a->type != MC_JOBJ) {
		fprintf(stderr, "hubctl: the hub's answer is not an agent\n");
		return CTL_EXIT_FAIL;
	}
	kv("name:", ctl_jstr(a, "name", "?"));
	show_status(a);
	show_facts(a);
	show_metrics(a);
	return CTL_EXIT_OK;
}

int
ctl_agent_call(struct ctl *c, const char *noun, int argc, char **argv,
    const char *method, const char *suffix, struct ctl_resp *r)
{
	char path[MC_PATH_MAX * 4];
	struct ctl_args a;
	int ret;

	ctl_resp_init(r);
	ret = ctl_begin(c, noun, argc, argv, NULL, &a, 1, 1);
	if (ret != 0)
		return ret;
	if (ctl_agent_path(a.v[0], suffix, path, sizeof(path)) == -1)
		return CTL_EXIT_USAGE;
	ret = ctl_http(c, method, path, NULL, r);
	if (ret == 0 && r->status == 404)
		ret = ctl_agent_unknown(a.v[0]);
	else if (ret == 0 && (r->status < 200 || r->status > 299))
		ret = ctl_api_fail(c, r);
	else if (ret == 0 && c->o.json)
		ctl_print_body(r);
	return ret;
}

int
ctl_cmd_show(struct ctl *c, int argc, char **argv)
{
	struct ctl_resp r;
	int ret;

	ret = ctl_agent_call(c, "show", argc, argv, "GET", "", &r);
	if (ret == 0 && !c->o.json)
		ret = print_agent(&r);
	if (ret == CTL_EXIT_OK && !c->o.json && r.doc != NULL &&
	    mc_json_get(mc_json_root(r.doc), "containers") != NULL)
		ret = ctl_ctr_show(c, ctl_jstr(mc_json_root(r.doc), "name",
		    ""));
	ctl_resp_free(&r);
	return ret;
}
