/*
 * hub_hw.c - an agent's hardware as the hub sums it up: the GPU and
 * temperature figures kept from each heartbeat (struct hub_gauges' hw),
 * and how an agent's JSON shows them.
 *
 * The rules it keeps: a figure no heartbeat reports is NAN here and absent
 * from the JSON, never 0 (an agent without a GPU has no GPU figures, and
 * its JSON is what it was before GPUs existed).  Keeping them costs a few
 * comparisons per heartbeat and no allocation; they are what the agent
 * list, history (hub_series.c), rules and /metrics read, so none of those
 * has to unpack the last heartbeat.
 */
#include <math.h>

#include "hub.h"

static const char *const keys[HUB_HW_COUNT] = {
	[HUB_HW_GPU_UTIL] = "gpu_util", [HUB_HW_GPU_MEM] = "gpu_mem",
	[HUB_HW_GPU_TEMP] = "gpu_temp", [HUB_HW_CPU_TEMP] = "cpu_temp",
};

const char *
hub_hw_key(enum hub_hw k)
{
	return keys[k];
}

void
hub_hw_keep(struct hub_gauges *g, const struct mc_metrics *m)
{
	const struct mc_gpu *busy = mc_metrics_busiest_gpu(m);

	g->hw[HUB_HW_GPU_UTIL] = (float)mc_metrics_gpu_util(m);
	g->hw[HUB_HW_GPU_MEM] = (float)mc_metrics_gpu_mem_pct(m);
	g->hw[HUB_HW_GPU_TEMP] = (float)mc_metrics_gpu_temp(m);
	g->hw[HUB_HW_CPU_TEMP] = (float)mc_metrics_cpu_temp(m);
	g->busy_temp = busy != NULL ? (float)busy->temp : NAN;
	g->ngpu = (unsigned char)m->ngpu;
	g->ntemp = (unsigned char)m->ntemp;
	g->nfan = (unsigned char)m->nfan;
}

void
hub_hw_clear(struct hub_gauges *g)
{
	int i;

	for (i = 0; i < HUB_HW_COUNT; i++)
		g->hw[i] = NAN;
	g->busy_temp = NAN;
	g->ngpu = g->ntemp = g->nfan = 0;
}

static void
opt(struct mc_jw *w, const char *key, float v)
{
	/* floats print as the short decimal they were kept as, not as
	 * 71.09999847 */
	if (!isnan(v))
		mc_jw_fixed(w, key, v, 2);
}

void
hub_hw_write(struct mc_jw *w, const struct hub_agent *a)
{
	const struct hub_gauges *g = &a->g;
	int i;

	if (g->ngpu > 0)
		mc_jw_i64(w, "gpu_count", g->ngpu);
	for (i = 0; i < HUB_HW_COUNT; i++)
		opt(w, keys[i], g->hw[i]);
	opt(w, "gpu_busy_temp", g->busy_temp);
}

void
hub_hw_write_gpus(struct mc_jw *w, const struct mc_metrics *m)
{
	if (m->ngpu > 0)
		mc_metrics_gpus_write(w, "gpus", m);
}
