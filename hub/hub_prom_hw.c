/*
 * hub_prom_hw.c - /metrics for each GPU, temperature sensor and fan of
 * every agent's last heartbeat (the per-agent summaries are gauges in
 * hub_prom.c).
 *
 * The text format wants a family's samples together, while an agent's
 * figures come out of one unpacking of its heartbeat: one pass over the
 * agents writes each family into its own buffer, then the buffers are
 * joined.  Only agents whose heartbeat held hardware are unpacked (their
 * counts are in struct hub_gauges), so a fleet without GPUs costs nothing.
 *
 * Cardinality stays bounded by the protocol's limits: at most MC_GPU_MAX
 * GPUs, MC_TEMP_MAX sensors and MC_FAN_MAX fans an agent, labelled by
 * agent and GPU index (the uuid rides along, as maestro_gpu_info holds the
 * name), or by agent and sensor name.  A figure a card does not report
 * has no sample, never a 0.
 */
#include <math.h>
#include <stdio.h>

#include "hub.h"

enum fam { F_INFO, F_UTIL, F_MEM_USED, F_MEM_TOTAL, F_TEMP, F_POWER,
	F_POWER_LIMIT, F_FAN, F_SENSOR_TEMP, F_SENSOR_FAN, F_COUNT };

static const struct {
	const char	*name, *help;
} fams[F_COUNT] = {
	[F_INFO] = { "maestro_gpu_info", "A GPU of an agent: 1, with its "
	    "name and vendor." },
	[F_UTIL] = { "maestro_gpu_utilization_percent", "GPU core busy, "
	    "percent, last heartbeat." },
	[F_MEM_USED] = { "maestro_gpu_memory_used_bytes", "GPU memory used, "
	    "bytes." },
	[F_MEM_TOTAL] = { "maestro_gpu_memory_total_bytes", "GPU memory, "
	    "bytes." },
	[F_TEMP] = { "maestro_gpu_temperature_celsius", "GPU temperature, "
	    "degrees Celsius." },
	[F_POWER] = { "maestro_gpu_power_watts", "GPU power draw, watts." },
	[F_POWER_LIMIT] = { "maestro_gpu_power_limit_watts", "GPU power "
	    "limit, watts." },
	[F_FAN] = { "maestro_gpu_fan_percent", "GPU fan speed, percent (no "
	    "sample for a passively cooled card)." },
	[F_SENSOR_TEMP] = { "maestro_sensor_temperature_celsius", "A "
	    "temperature sensor of an agent, degrees Celsius, by kind (cpu, "
	    "disk, other)." },
	[F_SENSOR_FAN] = { "maestro_sensor_fan_rpm", "A fan of an agent, "
	    "revolutions per minute." },
};

/* The labels of a GPU's samples: agent, gpu index, uuid. */
static void
gpu_labels(struct mc_buf *b, const char *fam, const struct hub_agent *a,
    const struct mc_gpu *g)
{
	mc_buf_printf(b, "%s{agent=\"", fam);
	hub_prom_label(b, a->name);
	mc_buf_printf(b, "\",gpu=\"%d\",uuid=\"", g->index);
	hub_prom_label(b, g->uuid);
	mc_buf_puts(b, "\"");
}

static void
gpu_sample(struct mc_buf *fb, enum fam f, const struct hub_agent *a,
    const struct mc_gpu *g, double v)
{
	if (isnan(v))
		return;
	gpu_labels(&fb[f], fams[f].name, a, g);
	mc_buf_printf(&fb[f], "} %.15g\n", v);
}

static void
gpu_write(struct mc_buf *fb, const struct hub_agent *a,
    const struct mc_gpu *g)
{
	gpu_labels(&fb[F_INFO], fams[F_INFO].name, a, g);
	mc_buf_puts(&fb[F_INFO], ",name=\"");
	hub_prom_label(&fb[F_INFO], g->name);
	mc_buf_puts(&fb[F_INFO], "\",vendor=\"");
	hub_prom_label(&fb[F_INFO], g->vendor);
	mc_buf_puts(&fb[F_INFO], "\"} 1\n");
	gpu_sample(fb, F_UTIL, a, g, g->util);
	gpu_sample(fb, F_MEM_USED, a, g, g->mem_used);
	gpu_sample(fb, F_MEM_TOTAL, a, g, g->mem_total);
	gpu_sample(fb, F_TEMP, a, g, g->temp);
	gpu_sample(fb, F_POWER, a, g, g->power);
	gpu_sample(fb, F_POWER_LIMIT, a, g, g->power_limit);
	gpu_sample(fb, F_FAN, a, g, g->fan);
}

static void
sensors_write(struct mc_buf *fb, const struct hub_agent *a,
    const struct mc_metrics *m)
{
	struct mc_buf *t = &fb[F_SENSOR_TEMP], *f = &fb[F_SENSOR_FAN];
	int i;

	for (i = 0; i < m->ntemp; i++) {
		mc_buf_printf(t, "%s{agent=\"", fams[F_SENSOR_TEMP].name);
		hub_prom_label(t, a->name);
		mc_buf_puts(t, "\",sensor=\"");
		hub_prom_label(t, m->temp[i].name);
		mc_buf_printf(t, "\",kind=\"%s\"} %.15g\n",
		    mc_temp_kind_name(m->temp[i].kind), m->temp[i].c);
	}
	for (i = 0; i < m->nfan; i++) {
		mc_buf_printf(f, "%s{agent=\"", fams[F_SENSOR_FAN].name);
		hub_prom_label(f, a->name);
		mc_buf_puts(f, "\",sensor=\"");
		hub_prom_label(f, m->fan[i].name);
		mc_buf_printf(f, "\"} %.15g\n", m->fan[i].rpm);
	}
}

void
hub_prom_hw_write(struct mc_buf *b)
{
	struct mc_buf fb[F_COUNT];
	struct hub_agent *a;
	struct mc_metrics m;
	int i;

	for (i = 0; i < F_COUNT; i++)
		mc_buf_init(&fb[i], b->limit);	/* joined into b: its limit */
	for (a = hub_agent_first(); a != NULL; a = a->next) {
		if (a->g.ngpu + a->g.ntemp + a->g.nfan == 0 ||
		    hub_agent_metrics(a, &m) == -1)
			continue;
		for (i = 0; i < m.ngpu; i++)
			gpu_write(fb, a, &m.gpu[i]);
		sensors_write(fb, a, &m);
	}
	for (i = 0; i < F_COUNT; i++) {
		hub_prom_family(b, fams[i].name, "gauge", fams[i].help);
		if (fb[i].len > 0)
			mc_buf_append(b, fb[i].data, fb[i].len);
		mc_buf_free(&fb[i]);
	}
}
