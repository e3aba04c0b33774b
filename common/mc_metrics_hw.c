/*
 * mc_metrics_hw.c - the hardware part of a heartbeat's metrics: GPUs,
 * temperature sensors and fans ("gpus", "temps", "fans" in "m"), written,
 * read with every field's range, and summed up for rules and history.
 *
 * Each figure is optional on its own: what a card or sensor does not
 * report is NAN in memory and absent on the wire, so "no fan" never reads
 * as "fan at 0 %".  docs/protocol.md has the table.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mc_proto.h"
#include "mc_proto_field.h"

#define BYTES_MAX	4611686018427387904.0	/* 2^62, as the other sizes */

static const char *const temp_kinds[] = {
	[MC_TEMP_OTHER] = "other", [MC_TEMP_CPU] = "cpu",
	[MC_TEMP_DISK] = "disk",
};

const char *
mc_temp_kind_name(enum mc_temp_kind k)
{
	return (unsigned)k < sizeof(temp_kinds) / sizeof(temp_kinds[0]) ?
	    temp_kinds[k] : "other";
}

/* An unknown kind reads as "other": a newer listener may tell more. */
static enum mc_temp_kind
temp_kind_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(temp_kinds) / sizeof(temp_kinds[0]); i++)
		if (strcmp(s, temp_kinds[i]) == 0)
			return (enum mc_temp_kind)i;
	return MC_TEMP_OTHER;
}

/* ---- writing ---- */

static void
opt(struct mc_jw *w, const char *key, double v, int decimals)
{
	if (!isnan(v))
		mc_jw_fixed(w, key, v, decimals);
}

static void
write_gpu(struct mc_jw *w, const struct mc_gpu *g)
{
	mc_jw_obj(w, NULL);
	mc_jw_i64(w, "index", g->index);
	if (g->vendor[0] != '\0')
		mc_jw_str(w, "vendor", g->vendor);
	if (g->name[0] != '\0')
		mc_jw_str(w, "name", g->name);
	if (g->uuid[0] != '\0')
		mc_jw_str(w, "uuid", g->uuid);
	opt(w, "util", g->util, 2);
	opt(w, "mem_util", g->mem_util, 2);
	opt(w, "mem_used", g->mem_used, 0);
	opt(w, "mem_total", g->mem_total, 0);
	opt(w, "temp", g->temp, 1);
	opt(w, "power", g->power, 2);
	opt(w, "power_limit", g->power_limit, 2);
	opt(w, "fan", g->fan, 2);
	opt(w, "sm_clock", g->sm_clock, 0);
	mc_jw_obj_end(w);
}

void
mc_metrics_gpus_write(struct mc_jw *w, const char *key,
    const struct mc_metrics *m)
{
	int i;

	mc_jw_arr(w, key);
	for (i = 0; i < m->ngpu; i++)
		write_gpu(w, &m->gpu[i]);
	mc_jw_arr_end(w);
}

void
mc_metrics_hw_write(struct mc_jw *w, const struct mc_metrics *m)
{
	int i;

	if (m->ngpu > 0)
		mc_metrics_gpus_write(w, "gpus", m);
	if (m->ntemp > 0) {
		mc_jw_arr(w, "temps");
		for (i = 0; i < m->ntemp; i++) {
			mc_jw_obj(w, NULL);
			mc_jw_str(w, "name", m->temp[i].name);
			mc_jw_str(w, "kind", mc_temp_kind_name(m->temp[i].kind));
			mc_jw_fixed(w, "c", m->temp[i].c, 1);
			mc_jw_obj_end(w);
		}
		mc_jw_arr_end(w);
	}
	if (m->nfan > 0) {
		mc_jw_arr(w, "fans");
		for (i = 0; i < m->nfan; i++) {
			mc_jw_obj(w, NULL);
			mc_jw_str(w, "name", m->fan[i].name);
			mc_jw_fixed(w, "rpm", m->fan[i].rpm, 0);
			mc_jw_obj_end(w);
		}
		mc_jw_arr_end(w);
	}
}

/* ---- reading ---- */

/* Absent or null is "not reported" (NAN); present, it must be in range. */
static int
opt_dbl(const struct mc_json *o, const char *key, double min, double max,
    double *out, char *err, size_t errlen)
{
	const struct mc_json *v = mc_json_get(o, key);

	if (v == NULL || v->type == MC_JNULL) {
		*out = NAN;
		return 0;
	}
	return mc_field_dbl(o, key, min, max, NAN, out, err, errlen);
}

/* A GPU without "index" takes its place in the array. */
static int
read_gpu(const struct mc_json *e, int pos, struct mc_gpu *g, char *err,
    size_t errlen)
{
	char vendor[64];
	int64_t index;

	if (mc_field_int(e, "index", 0, 255, pos, &index, err, errlen) == -1 ||
	    mc_field_text(e, "vendor", vendor, sizeof(vendor), 0, err,
	    errlen) == -1 ||
	    mc_field_text(e, "name", g->name, sizeof(g->name), 0, err,
	    errlen) == -1 ||
	    mc_field_text(e, "uuid", g->uuid, sizeof(g->uuid), 0, err,
	    errlen) == -1 ||
	    opt_dbl(e, "util", 0, 100, &g->util, err, errlen) == -1 ||
	    opt_dbl(e, "mem_util", 0, 100, &g->mem_util, err, errlen) == -1 ||
	    opt_dbl(e, "mem_used", 0, BYTES_MAX, &g->mem_used, err,
	    errlen) == -1 ||
	    opt_dbl(e, "mem_total", 0, BYTES_MAX, &g->mem_total, err,
	    errlen) == -1 ||
	    opt_dbl(e, "temp", -100, 300, &g->temp, err, errlen) == -1 ||
	    opt_dbl(e, "power", 0, 1e5, &g->power, err, errlen) == -1 ||
	    opt_dbl(e, "power_limit", 0, 1e5, &g->power_limit, err,
	    errlen) == -1 ||
	    opt_dbl(e, "fan", 0, 100, &g->fan, err, errlen) == -1 ||
	    opt_dbl(e, "sm_clock", 0, 1e6, &g->sm_clock, err, errlen) == -1)
		return -1;
	g->index = (int)index;
	/* a vendor this hub does not know is kept as unknown, not refused */
	if (strlen(vendor) < sizeof(g->vendor))
		memcpy(g->vendor, vendor, strlen(vendor) + 1);
	return 0;
}

/* arr must be absent or an array of at most max objects. */
static int
check_arr(const struct mc_json *arr, const char *key, int max, char *err,
    size_t errlen)
{
	const struct mc_json *e;

	if (arr->type != MC_JARR || arr->len > (size_t)max) {
		snprintf(err, errlen, "%s: at most %d entries", key, max);
		return -1;
	}
	for (e = arr->child; e != NULL; e = e->next)
		if (e->type != MC_JOBJ) {
			snprintf(err, errlen, "%s: entries must be objects", key);
			return -1;
		}
	return 0;
}

static int
read_gpus(const struct mc_json *arr, struct mc_metrics *m, char *err,
    size_t errlen)
{
	const struct mc_json *e;

	if (arr == NULL)
		return 0;
	if (check_arr(arr, "gpus", MC_GPU_MAX, err, errlen) == -1)
		return -1;
	for (e = arr->child; e != NULL; e = e->next, m->ngpu++)
		if (read_gpu(e, m->ngpu, &m->gpu[m->ngpu], err, errlen) == -1)
			return -1;
	return 0;
}

static int
read_temps(const struct mc_json *arr, struct mc_metrics *m, char *err,
    size_t errlen)
{
	const struct mc_json *e;
	struct mc_temp *t;
	char kind[16];

	if (arr == NULL)
		return 0;
	if (check_arr(arr, "temps", MC_TEMP_MAX, err, errlen) == -1)
		return -1;
	for (e = arr->child; e != NULL; e = e->next) {
		t = &m->temp[m->ntemp++];
		if (mc_field_text(e, "name", t->name, sizeof(t->name), 1, err,
		    errlen) == -1 ||
		    mc_field_text(e, "kind", kind, sizeof(kind), 0, err,
		    errlen) == -1 ||
		    mc_field_dbl(e, "c", -100, 300, 0, &t->c, err,
		    errlen) == -1)
			return -1;
		if (mc_json_get(e, "c") == NULL) {
			snprintf(err, errlen, "temps: field 'c' is required");
			return -1;
		}
		t->kind = temp_kind_parse(kind);
	}
	return 0;
}

static int
read_fans(const struct mc_json *arr, struct mc_metrics *m, char *err,
    size_t errlen)
{
	const struct mc_json *e;
	struct mc_fan *f;

	if (arr == NULL)
		return 0;
	if (check_arr(arr, "fans", MC_FAN_MAX, err, errlen) == -1)
		return -1;
	for (e = arr->child; e != NULL; e = e->next) {
		f = &m->fan[m->nfan++];
		if (mc_field_text(e, "name", f->name, sizeof(f->name), 1, err,
		    errlen) == -1 ||
		    mc_field_dbl(e, "rpm", 0, 1e6, 0, &f->rpm, err,
		    errlen) == -1)
			return -1;
		if (mc_json_get(e, "rpm") == NULL) {
			snprintf(err, errlen, "fans: field 'rpm' is required");
			return -1;
		}
	}
	return 0;
}

int
mc_metrics_hw_read(const struct mc_json *o, struct mc_metrics *m, char *err,
    size_t errlen)
{
	m->ngpu = m->ntemp = m->nfan = 0;
	return read_gpus(mc_json_get(o, "gpus"), m, err, errlen) == -1 ||
	    read_temps(mc_json_get(o, "temps"), m, err, errlen) == -1 ||
	    read_fans(mc_json_get(o, "fans"), m, err, errlen) == -1 ? -1 : 0;
}

/* ---- summaries ---- */

static double
gpu_max(const struct mc_metrics *m, double (*f)(const struct mc_gpu *))
{
	double best = NAN, v;
	int i;

	for (i = 0; i < m->ngpu; i++)
		if (!isnan(v = f(&m->gpu[i])) && (isnan(best) || v > best))
			best = v;
	return best;
}

static double
g_util(const struct mc_gpu *g)
{
	return g->util;
}

static double
g_temp(const struct mc_gpu *g)
{
	return g->temp;
}

static double
g_mem_pct(const struct mc_gpu *g)
{
	if (isnan(g->mem_used) || isnan(g->mem_total) || g->mem_total <= 0)
		return NAN;
	return 100.0 * g->mem_used / g->mem_total;
}

double
mc_metrics_gpu_util(const struct mc_metrics *m)
{
	return gpu_max(m, g_util);
}

double
mc_metrics_gpu_mem_pct(const struct mc_metrics *m)
{
	return gpu_max(m, g_mem_pct);
}

double
mc_metrics_gpu_temp(const struct mc_metrics *m)
{
	return gpu_max(m, g_temp);
}

double
mc_metrics_cpu_temp(const struct mc_metrics *m)
{
	double best = NAN;
	int i;

	for (i = 0; i < m->ntemp; i++)
		if (m->temp[i].kind == MC_TEMP_CPU &&
		    (isnan(best) || m->temp[i].c > best))
			best = m->temp[i].c;
	return best;
}

/* NAN sorts below every figure. */
static int
above(double a, double b)
{
	return !isnan(a) && (isnan(b) || a > b);
}

const struct mc_gpu *
mc_metrics_busiest_gpu(const struct mc_metrics *m)
{
	const struct mc_gpu *best = NULL, *g;
	int i;

	for (i = 0; i < m->ngpu; i++) {
		g = &m->gpu[i];
		if (best == NULL || above(g->util, best->util) ||
		    (!above(best->util, g->util) && above(g->temp, best->temp)))
			best = g;
	}
	return best;
}
