/*
 * jsonbench.c - what one heartbeat costs the JSON code, in ns.
 *
 * The hub parses every heartbeat, so this times the hub's path for one:
 * mc_msg_parse() + mc_hb_decode() + mc_msg_free() over a heartbeat of the
 * size and shape a real listener sends (about 620 bytes, 60 values, the
 * long fractions real CPU deltas give; as bench/swarm_payload.c makes).
 * It also times writing that heartbeat, mc_hb_encode() (the mc_jw
 * streaming writer), beside building the same document as a cJSON tree
 * and printing it with cJSON's printer (unformatted, into a preallocated
 * buffer, then freeing the tree): the writer stays only while it is the
 * faster of the two (common/mc_jw.c says so with these figures).
 *
 *   jsonbench [N [RUNS [OP]]]   N operations per run (200000), RUNS runs
 *                               (7); OP parse, write or cjson-write alone
 *                               (for a profiler), else all three
 *
 * Each figure is the median over the runs of the mean ns per operation in
 * one run, with the fastest and slowest run beside it.  Run it on an idle
 * machine; it is single-threaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "mc_proto.h"
#include "mc_util.h"

#define RUNS_MAX	64

/* One realistic heartbeat: three filesystems, two interfaces. */
static void
fill(struct mc_hb *hb)
{
	static const struct mc_fs fs[] = {
		{ "/", 200112345088ULL, 499513745408ULL },
		{ "/home", 1203982254080ULL, 1999844147200ULL },
		{ "/boot/efi", 157286400ULL, 536870912ULL },
	};
	static const struct mc_net net[] = {
		{ "enp5s0", 1283377.52391044, 301274.129843721 },
		{ "docker0", 51234.8812930412, 20944.0319845712 },
	};
	struct mc_metrics *m = &hb->m;

	memset(hb, 0, sizeof(*hb));
	hb->seq = 123457;
	m->has_cpu = 1;
	m->cpu_user = 31.0947264193847;
	m->cpu_system = 7.71352863014917;
	m->cpu_iowait = 0.583920174839201;
	m->load[0] = 2.48757811355078;
	m->load[1] = 2.21953209813245;
	m->load[2] = 1.69221073094512;
	m->mem_used = 41231686041ULL;
	m->mem_total = 68719476736ULL;
	m->swap_used = 121634816ULL;
	m->swap_total = 2147483648ULL;
	m->nfs = 3;
	memcpy(m->fs, fs, sizeof(fs));
	m->nnet = 2;
	memcpy(m->net, net, sizeof(net));
	m->uptime = 1296010;
	m->procs = 412;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The operations timed; each returns something so none is optimized away. */
typedef size_t (*op_fn)(const struct mc_buf *json, const struct mc_hb *hb);

static size_t
op_parse(const struct mc_buf *json, const struct mc_hb *hb)
{
	struct mc_msg m;
	struct mc_hb out;
	const char *code;
	char err[256];
	size_t r;

	(void)hb;
	if (mc_msg_parse(&m, MC_TO_HUB, json->data, json->len, &code, err,
	    sizeof(err)) == -1 || mc_hb_decode(&m, &out, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "jsonbench: %s\n", err);
		exit(1);
	}
	r = (size_t)out.m.procs;
	mc_msg_free(&m);
	return r;
}

static size_t
op_write(const struct mc_buf *json, const struct mc_hb *hb)
{
	struct mc_buf b;
	size_t r;

	(void)json;
	mc_buf_init(&b, MC_MSG_MAX);
	if (mc_hb_encode(&b, hb) == -1)
		exit(1);
	r = b.len;
	mc_buf_free(&b);
	return r;
}

static void
cj_pair(cJSON *o, const char *key, double used, double total)
{
	cJSON *p = cJSON_AddObjectToObject(o, key);

	cJSON_AddNumberToObject(p, "used", used);
	cJSON_AddNumberToObject(p, "total", total);
}

/* The heartbeat as a cJSON tree (caller frees with cJSON_Delete). */
static cJSON *
cj_tree(const struct mc_hb *hb)
{
	const struct mc_metrics *m = &hb->m;
	cJSON *root = cJSON_CreateObject(), *o, *a, *e;
	int i;

	cJSON_AddStringToObject(root, "t", "hb");
	cJSON_AddNumberToObject(root, "seq", (double)hb->seq);
	o = cJSON_AddObjectToObject(root, "m");
	a = cJSON_AddObjectToObject(o, "cpu");
	cJSON_AddNumberToObject(a, "user", m->cpu_user);
	cJSON_AddNumberToObject(a, "system", m->cpu_system);
	cJSON_AddNumberToObject(a, "iowait", m->cpu_iowait);
	a = cJSON_AddArrayToObject(o, "load");
	for (i = 0; i < 3; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(m->load[i]));
	cj_pair(o, "mem", (double)m->mem_used, (double)m->mem_total);
	cj_pair(o, "swap", (double)m->swap_used, (double)m->swap_total);
	a = cJSON_AddArrayToObject(o, "fs");
	for (i = 0; i < m->nfs; i++) {
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "mount", m->fs[i].mount);
		cJSON_AddNumberToObject(e, "used", (double)m->fs[i].used);
		cJSON_AddNumberToObject(e, "total", (double)m->fs[i].total);
		cJSON_AddItemToArray(a, e);
	}
	a = cJSON_AddArrayToObject(o, "net");
	for (i = 0; i < m->nnet; i++) {
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "iface", m->net[i].iface);
		cJSON_AddNumberToObject(e, "rx_bps", m->net[i].rx_bps);
		cJSON_AddNumberToObject(e, "tx_bps", m->net[i].tx_bps);
		cJSON_AddItemToArray(a, e);
	}
	cJSON_AddNumberToObject(o, "uptime", (double)m->uptime);
	cJSON_AddNumberToObject(o, "procs", m->procs);
	return root;
}

static size_t
op_cjson_write(const struct mc_buf *json, const struct mc_hb *hb)
{
	static char out[4096];
	cJSON *root = cj_tree(hb);

	(void)json;
	if (!cJSON_PrintPreallocated(root, out, sizeof(out), 0))
		exit(1);
	cJSON_Delete(root);
	return strlen(out);
}

static void
run(const char *only, const char *op, op_fn fn, const struct mc_buf *json,
    const struct mc_hb *hb, long n, int runs)
{
	static const char *const names[] = {
		"parse", "parse+decode (mc_msg_parse)",
		"write", "write (mc_jw, mc_hb_encode)",
		"cjson-write", "write (cJSON tree + print)",
	};
	const char *name = op;
	double ns[RUNS_MAX], t0;
	volatile size_t sink = 0;
	size_t k;
	long i;
	int r;

	if (only != NULL && strcmp(only, op) != 0)
		return;
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k += 2)
		if (strcmp(names[k], op) == 0)
			name = names[k + 1];
	for (i = 0; i < n / 10; i++)	/* warm caches and the allocator */
		sink += fn(json, hb);
	for (r = 0; r < runs; r++) {
		t0 = now_ns();
		for (i = 0; i < n; i++)
			sink += fn(json, hb);
		ns[r] = (now_ns() - t0) / (double)n;
	}
	qsort(ns, (size_t)runs, sizeof(ns[0]), cmp_dbl);
	printf("%-34s %8.0f ns  (min %.0f, max %.0f, %d runs of %ld)\n", name,
	    ns[runs / 2], ns[0], ns[runs - 1], runs, n);
	(void)sink;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 7;
	const char *only = argc > 3 ? argv[3] : NULL;
	struct mc_buf json;
	struct mc_hb hb;

	if (n < 10 || runs < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: jsonbench [N [RUNS [parse|write|"
		    "cjson-write]]] (N >= 10, RUNS 1-%d)\n", RUNS_MAX);
		return 2;
	}
	fill(&hb);
	mc_buf_init(&json, MC_MSG_MAX);
	if (mc_hb_encode(&json, &hb) == -1)
		return 1;
	printf("heartbeat: %zu bytes of JSON\n", json.len);
	run(only, "parse", op_parse, &json, &hb, n, runs);
	run(only, "write", op_write, &json, &hb, n, runs);
	run(only, "cjson-write", op_cjson_write, &json, &hb, n, runs);
	mc_buf_free(&json);
	return 0;
}
