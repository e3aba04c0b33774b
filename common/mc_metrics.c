/*
 * mc_metrics.c - a heartbeat's metrics: the "m" object written and read
 * with every field's type and range (docs/protocol.md has the table), and
 * the three summaries the hub works with (CPU, memory, fullest disk).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mc_proto.h"
#include "mc_proto_field.h"
#include "mc_util.h"

/* Metrics are written no finer than they mean anything: percentages and
 * load to 1/100, rates to a whole byte per second.  At 15 significant
 * digits, reading a heartbeat's numbers back was the hub's largest cost
 * after the kernel (strtod, docs/benchmarks.md). */
#define PCT_DECIMALS	2
#define LOAD_DECIMALS	2

void
mc_metrics_write(struct mc_jw *w, const char *key, const struct mc_metrics *m)
{
	int i;

	mc_jw_obj(w, key);
	if (m->has_cpu) {
		mc_jw_obj(w, "cpu");
		mc_jw_fixed(w, "user", m->cpu_user, PCT_DECIMALS);
		mc_jw_fixed(w, "system", m->cpu_system, PCT_DECIMALS);
		mc_jw_fixed(w, "iowait", m->cpu_iowait, PCT_DECIMALS);
		mc_jw_obj_end(w);
	}
	mc_jw_arr(w, "load");
	for (i = 0; i < 3; i++)
		mc_jw_fixed(w, NULL, m->load[i], LOAD_DECIMALS);
	mc_jw_arr_end(w);
	mc_jw_obj(w, "mem");
	mc_jw_u64(w, "used", m->mem_used);
	mc_jw_u64(w, "total", m->mem_total);
	mc_jw_obj_end(w);
	mc_jw_obj(w, "swap");
	mc_jw_u64(w, "used", m->swap_used);
	mc_jw_u64(w, "total", m->swap_total);
	mc_jw_obj_end(w);
	mc_jw_arr(w, "fs");
	for (i = 0; i < m->nfs; i++) {
		mc_jw_obj(w, NULL);
		mc_jw_str(w, "mount", m->fs[i].mount);
		mc_jw_u64(w, "used", m->fs[i].used);
		mc_jw_u64(w, "total", m->fs[i].total);
		mc_jw_obj_end(w);
	}
	mc_jw_arr_end(w);
	mc_jw_arr(w, "net");
	for (i = 0; i < m->nnet; i++) {
		mc_jw_obj(w, NULL);
		mc_jw_str(w, "iface", m->net[i].iface);
		mc_jw_fixed(w, "rx_bps", m->net[i].rx_bps, 0);
		mc_jw_fixed(w, "tx_bps", m->net[i].tx_bps, 0);
		mc_jw_obj_end(w);
	}
	mc_jw_arr_end(w);
	mc_jw_u64(w, "uptime", m->uptime);
	mc_jw_u64(w, "procs", m->procs);
	mc_metrics_hw_write(w, m);
	mc_jw_obj_end(w);
}

static int
read_pair(const struct mc_json *o, const char *key, uint64_t *used,
    uint64_t *total, char *err, size_t errlen)
{
	const struct mc_json *p = mc_json_get(o, key);

	*used = *total = 0;
	if (p == NULL)
		return 0;
	return mc_field_u64(p, "used", used, err, errlen) == -1 ||
	    mc_field_u64(p, "total", total, err, errlen) == -1 ? -1 : 0;
}

static int
read_fs(const struct mc_json *arr, struct mc_metrics *m, char *err,
    size_t errlen)
{
	const struct mc_json *e;
	struct mc_fs *f;

	m->nfs = 0;
	if (arr == NULL)
		return 0;
	if (arr->type != MC_JARR || arr->len > MC_FS_MAX) {
		snprintf(err, errlen, "fs: at most %d entries", MC_FS_MAX);
		return -1;
	}
	for (e = arr->child; e != NULL; e = e->next) {
		f = &m->fs[m->nfs++];
		if (mc_field_text(e, "mount", f->mount, sizeof(f->mount), 1, err,
		    errlen) == -1 ||
		    mc_field_u64(e, "used", &f->used, err, errlen) == -1 ||
		    mc_field_u64(e, "total", &f->total, err, errlen) == -1)
			return -1;
	}
	return 0;
}

static int
read_net(const struct mc_json *arr, struct mc_metrics *m, char *err,
    size_t errlen)
{
	const struct mc_json *e;
	struct mc_net *n;

	m->nnet = 0;
	if (arr == NULL)
		return 0;
	if (arr->type != MC_JARR || arr->len > MC_NET_MAX) {
		snprintf(err, errlen, "net: at most %d entries", MC_NET_MAX);
		return -1;
	}
	for (e = arr->child; e != NULL; e = e->next) {
		n = &m->net[m->nnet++];
		if (mc_field_text(e, "iface", n->iface, sizeof(n->iface), 1, err,
		    errlen) == -1 ||
		    mc_field_dbl(e, "rx_bps", 0, 1e15, 0, &n->rx_bps, err,
		    errlen) == -1 ||
		    mc_field_dbl(e, "tx_bps", 0, 1e15, 0, &n->tx_bps, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

int
mc_metrics_read(const struct mc_json *o, struct mc_metrics *m, char *err,
    size_t errlen)
{
	const struct mc_json *cpu = mc_json_get(o, "cpu");
	const struct mc_json *load = mc_json_get(o, "load"), *e;
	uint64_t procs;
	int i = 0;

	/* The struct is 17 KiB of mostly empty arrays, read at every
	 * heartbeat: only the figures before them are cleared, and every
	 * array is valid up to its count, which the readers below set. */
	memset(m, 0, offsetof(struct mc_metrics, fs));
	if (cpu != NULL && cpu->type != MC_JOBJ) {
		snprintf(err, errlen, "cpu must be an object");
		return -1;
	}
	if (cpu != NULL && (mc_field_dbl(cpu, "user", 0, 100, 0, &m->cpu_user,
	    err, errlen) == -1 ||
	    mc_field_dbl(cpu, "system", 0, 100, 0, &m->cpu_system, err,
	    errlen) == -1 ||
	    mc_field_dbl(cpu, "iowait", 0, 100, 0, &m->cpu_iowait, err,
	    errlen) == -1))
		return -1;
	m->has_cpu = cpu != NULL;
	if (load != NULL) {
		if (load->type != MC_JARR || load->len != 3) {
			snprintf(err, errlen, "load must be 3 numbers");
			return -1;
		}
		for (e = load->child; e != NULL; e = e->next) {
			if (e->type != MC_JNUM || e->num < 0) {
				snprintf(err, errlen, "load must be 3 numbers");
				return -1;
			}
			m->load[i++] = e->num;
		}
	}
	if (read_pair(o, "mem", &m->mem_used, &m->mem_total, err,
	    errlen) == -1 ||
	    read_pair(o, "swap", &m->swap_used, &m->swap_total, err,
	    errlen) == -1 ||
	    read_fs(mc_json_get(o, "fs"), m, err, errlen) == -1 ||
	    read_net(mc_json_get(o, "net"), m, err, errlen) == -1 ||
	    mc_field_u64(o, "uptime", &m->uptime, err, errlen) == -1 ||
	    mc_field_u64(o, "procs", &procs, err, errlen) == -1 ||
	    mc_metrics_hw_read(o, m, err, errlen) == -1)
		return -1;
	m->procs = (uint32_t)procs;
	return 0;
}

double
mc_metrics_cpu_pct(const struct mc_metrics *m)
{
	return m->has_cpu ? m->cpu_user + m->cpu_system + m->cpu_iowait : NAN;
}

double
mc_metrics_mem_pct(const struct mc_metrics *m)
{
	return m->mem_total ? 100.0 * (double)m->mem_used /
	    (double)m->mem_total : 0;
}

double
mc_metrics_disk_pct(const struct mc_metrics *m)
{
	double worst = 0, p;
	int i;

	for (i = 0; i < m->nfs; i++) {
		if (m->fs[i].total == 0)
			continue;
		p = 100.0 * (double)m->fs[i].used / (double)m->fs[i].total;
		if (p > worst)
			worst = p;
	}
	return worst;
}
