/*
 * lst_gpu_amd.c - AMD GPUs (the amdgpu driver) from sysfs, no tool
 * needed: sys/class/drm/cardN/device of every card whose PCI vendor is
 * 0x1002, under sysfs_root.
 *
 * Rules kept here:
 * - Cards are searched once at start and again every LST_HW_RESCAN
 *   seconds; a heartbeat reads a few small files per card.  cardN-* are
 *   the card's connectors, not cards.  index is the card's place among
 *   the AMD cards, in card number order.
 * - gpu_busy_percent and mem_busy_percent are the util figures,
 *   mem_info_vram_used/_total the memory (bytes); from the card's hwmon:
 *   temp1_input (the edge sensor, millidegrees), power1_average (or
 *   power1_input on newer chips) and power1_cap (microwatts), pwm1
 *   (0-255, as a fan %: fan1_input is rpm, not the % the protocol has)
 *   and freq1_input (the shader clock, Hz).  A file that is missing or
 *   out of range leaves its figure out, never 0.
 * - The name is product_name when the card has one, else "AMD GPU" and
 *   its PCI device id; uuid is unique_id when the card has one.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lst.h"

#define CARDS_SCAN	64	/* cardN entries looked at */

/* The first hwmon directory of a card, into out ("" if none). */
static void
card_hwmon(const char *dev, char *out, size_t size)
{
	char dir[LST_SYSPATH_MAX];
	int num;

	out[0] = '\0';
	if (lst_hw_path(dir, sizeof(dir), "%s/hwmon", dev) == -1 ||
	    lst_hw_list(dir, "hwmon", "", &num, 1) != 1 ||
	    lst_hw_path(out, size, "%s/hwmon%d", dir, num) == -1)
		out[0] = '\0';
}

/* cardN's device directory if it is an AMD GPU: 0, else -1. */
static int
card_probe(const char *base, int num, struct lst_amd_card *c)
{
	char file[LST_SYSPATH_MAX], buf[128], name[160];

	if (lst_hw_path(c->dev, sizeof(c->dev), "%s/card%d/device", base,
	    num) == -1 || lst_hw_path(file, sizeof(file), "%s/vendor",
	    c->dev) == -1 || lst_hw_read(file, buf, sizeof(buf)) == -1 ||
	    strcmp(buf, "0x1002") != 0)
		return -1;
	if (lst_hw_path(file, sizeof(file), "%s/product_name", c->dev) == -1 ||
	    lst_hw_read(file, name, sizeof(name)) == -1) {
		if (lst_hw_path(file, sizeof(file), "%s/device", c->dev) == -1 ||
		    lst_hw_read(file, buf, sizeof(buf)) == -1)
			mc_strlcpy(buf, "?", sizeof(buf));
		snprintf(name, sizeof(name), "AMD GPU %.32s", buf);
	}
	lst_hw_name(c->name, sizeof(c->name), name);
	c->uuid[0] = '\0';
	if (lst_hw_path(file, sizeof(file), "%s/unique_id", c->dev) == 0 &&
	    lst_hw_read(file, buf, sizeof(buf)) == 0)
		lst_hw_name(c->uuid, sizeof(c->uuid), buf);
	card_hwmon(c->dev, c->hwmon, sizeof(c->hwmon));
	return 0;
}

static void
scan(struct lst *l)
{
	struct lst_amd *a = &l->amd;
	char base[LST_SYSPATH_MAX];
	int nums[CARDS_SCAN], n, i;

	a->ncard = 0;
	a->looked = mc_now();
	if (lst_hw_path(base, sizeof(base), "%s/sys/class/drm",
	    lst_hw_root(l)) == -1)
		return;
	n = lst_hw_list(base, "card", "", nums, CARDS_SCAN);
	for (i = 0; i < n && a->ncard < MC_GPU_MAX; i++)
		if (card_probe(base, nums[i], &a->card[a->ncard]) == 0)
			a->ncard++;
}

/* dir/file as a number times scale, within [min, max]; else NAN. */
static double
fig(const char *dir, const char *file, double scale, double min, double max)
{
	char path[LST_SYSPATH_MAX];
	double v;

	if (dir[0] == '\0' || lst_hw_path(path, sizeof(path), "%s/%s", dir,
	    file) == -1 || lst_hw_num(path, &v) == -1)
		return NAN;
	v *= scale;
	return v >= min && v <= max ? v : NAN;
}

static void
card_read(const struct lst_amd_card *c, int index, struct mc_gpu *g)
{
	const double bytes_max = 4611686018427387904.0;	/* 2^62 */

	memset(g, 0, sizeof(*g));
	g->index = index;
	mc_strlcpy(g->vendor, "amd", sizeof(g->vendor));
	mc_strlcpy(g->name, c->name, sizeof(g->name));
	mc_strlcpy(g->uuid, c->uuid, sizeof(g->uuid));
	g->util = fig(c->dev, "gpu_busy_percent", 1, 0, 100);
	g->mem_util = fig(c->dev, "mem_busy_percent", 1, 0, 100);
	g->mem_used = fig(c->dev, "mem_info_vram_used", 1, 0, bytes_max);
	g->mem_total = fig(c->dev, "mem_info_vram_total", 1, 0, bytes_max);
	g->temp = fig(c->hwmon, "temp1_input", 1e-3, -100, 300);
	g->power = fig(c->hwmon, "power1_average", 1e-6, 0, 1e5);
	if (isnan(g->power))
		g->power = fig(c->hwmon, "power1_input", 1e-6, 0, 1e5);
	g->power_limit = fig(c->hwmon, "power1_cap", 1e-6, 0, 1e5);
	g->fan = fig(c->hwmon, "pwm1", 100.0 / 255, 0, 100);
	g->sm_clock = fig(c->hwmon, "freq1_input", 1e-6, 0, 1e6);
}

static void
amd_collect(struct lst *l, struct mc_metrics *m)
{
	struct lst_amd *a = &l->amd;
	int i;

	if (a->looked == 0 || mc_now() - a->looked >= LST_HW_RESCAN)
		scan(l);
	for (i = 0; i < a->ncard && m->ngpu < MC_GPU_MAX; i++)
		card_read(&a->card[i], i, &m->gpu[m->ngpu++]);
}

const struct lst_gpu_src lst_gpu_amd = {
	.name = "amdgpu",
	.collect = amd_collect,
};
