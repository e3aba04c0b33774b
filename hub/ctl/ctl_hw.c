/*
 * ctl_hw.c - an agent's GPUs and sensors in hubctl's text: the GPU column
 * of "hubctl agents" and the hardware lines of "hubctl show".
 *
 * A figure the hub does not give (a card without a fan, a GPU without a
 * power reading) is left out of the line, never printed as 0.  Names come
 * from the agent and go through ctl_safe().
 */
#include <math.h>
#include <stdio.h>

#include "ctl.h"
#include "mc_proto.h"

int
ctl_hw_any_gpu(const struct mc_json *list)
{
	const struct mc_json *a;
	double n;

	for (a = list->child; a != NULL; a = a->next)
		if (a->type == MC_JOBJ && mc_json_num(a, "gpu_count", &n) == 0 &&
		    n > 0)
			return 1;
	return 0;
}

/* "87% 71°C": the busiest GPU's util and temperature, "-" without. */
void
ctl_hw_gpu_cell(const struct mc_json *a, char *out, size_t outlen)
{
	double util, temp;
	int hu = mc_json_num(a, "gpu_util", &util) == 0;
	int ht = mc_json_num(a, "gpu_busy_temp", &temp) == 0;

	if (hu && ht)
		snprintf(out, outlen, "%.0f%% %.0f°C", util, temp);
	else if (hu)
		snprintf(out, outlen, "%.0f%%", util);
	else if (ht)
		snprintf(out, outlen, "%.0f°C", temp);
	else
		snprintf(out, outlen, "-");
}

/* ", " then "before" v "after", when there is a figure. */
static void
part(struct mc_buf *b, const char *before, double v, int decimals,
    const char *after)
{
	if (isnan(v))
		return;
	mc_buf_printf(b, "%s%s%.*f%s", b->len > 0 ? ", " : "", before,
	    decimals, v, after);
}

static void
gpu_memory(struct mc_buf *b, const struct mc_gpu *g)
{
	char u[32], t[32];

	if (isnan(g->mem_used) || isnan(g->mem_total)) {
		part(b, "memory ", g->mem_used, 0, " B");
		return;
	}
	ctl_bytes(g->mem_used, u, sizeof(u));
	ctl_bytes(g->mem_total, t, sizeof(t));
	mc_buf_printf(b, "%smemory %s of %s (%.0f%%)", b->len ? ", " : "", u,
	    t, g->mem_total > 0 ? 100.0 * g->mem_used / g->mem_total : 0.0);
}

static void
show_gpu(const struct mc_gpu *g)
{
	char label[32];
	struct mc_buf b;

	snprintf(label, sizeof(label), "gpu %d:", g->index);
	printf("%-12s ", label);
	ctl_put_safe(stdout, g->name[0] ? g->name : "(unnamed)");
	if (g->uuid[0] != '\0') {
		fputs(" ", stdout);
		ctl_put_safe(stdout, g->uuid);
	}
	putchar('\n');
	mc_buf_init(&b, 1024);
	part(&b, "util ", g->util, 0, "%");
	gpu_memory(&b, g);
	part(&b, "", g->temp, 0, "°C");
	if (!isnan(g->power) && !isnan(g->power_limit))
		mc_buf_printf(&b, "%spower %.1f W of %.0f W", b.len ? ", " :
		    "", g->power, g->power_limit);
	else
		part(&b, "power ", g->power, 1, " W");
	part(&b, "fan ", g->fan, 0, "%");
	part(&b, "clock ", g->sm_clock, 0, " MHz");
	if (b.len > 0)
		printf("%-12s %s\n", "", b.data);
	mc_buf_free(&b);
}

void
ctl_hw_show(const struct mc_metrics *m)
{
	char name[MC_SENSOR_NAME_MAX * 4], label[MC_SENSOR_NAME_MAX * 4 + 8];
	int i;

	for (i = 0; i < m->ngpu; i++)
		show_gpu(&m->gpu[i]);
	for (i = 0; i < m->ntemp; i++) {
		ctl_safe(m->temp[i].name, name, sizeof(name));
		snprintf(label, sizeof(label), "temp %s:", name);
		printf("%-12s %.1f°C (%s)\n", label, m->temp[i].c,
		    mc_temp_kind_name(m->temp[i].kind));
	}
	for (i = 0; i < m->nfan; i++) {
		ctl_safe(m->fan[i].name, name, sizeof(name));
		snprintf(label, sizeof(label), "fan %s:", name);
		printf("%-12s %.0f rpm\n", label, m->fan[i].rpm);
	}
}
