/*
 * lst_sensors.c - the machine's temperatures and fans from the kernel's
 * hwmon drivers (sys/class/hwmon under sysfs_root): CPU package and
 * cores (coretemp, k10temp, zenpower, cpu_thermal), NVMe and SATA drives
 * (nvme, drivetemp), the board's other sensors and its fans.
 *
 * Rules kept here:
 * - The tree is searched once at start and again every LST_HW_RESCAN
 *   seconds (a module loaded later is found); a heartbeat only reads the
 *   input files found, one small read each.
 * - A sensor is "<chip>/<label>" (tempN / fanN without a label), cut to
 *   MC_SENSOR_NAME_MAX - 1 bytes; a second chip of the same name (two
 *   NVMe drives) is "nvme#2".  amdgpu and nvidia chips are left out:
 *   their temperature is the GPU's (lst_gpu_amd.c).
 * - coretemp's "Core N" inputs are left out when the chip has a
 *   "Package id N" one: the package reads as its hottest core, and a
 *   server's 2 x 56 cores would otherwise fill MC_TEMP_MAX and most of a
 *   heartbeat with figures no one charts.
 * - A reading outside -40..125 °C is not a temperature (an unconnected
 *   input reads -128 or 127, a drive asleep fails to read): left out of
 *   that heartbeat.
 * - A fan is reported once it has been seen turning, and from then on
 *   also at 0 rpm: a fan that stopped is what an operator needs to see,
 *   while a header with no fan on it reads 0 forever and is noise.  A
 *   semi-passive fan standing still since the start shows up when it
 *   first turns.
 */
#include <stdio.h>
#include <string.h>

#include "lst.h"

#define CHIPS_MAX	256	/* hwmon directories looked at */
#define INPUTS_MAX	64	/* tempN / fanN inputs of one chip */

static const char *const cpu_chips[] = {
	"coretemp", "k10temp", "zenpower", "cpu_thermal", NULL
};
static const char *const disk_chips[] = { "nvme", "drivetemp", NULL };
/* reported as GPU temperatures instead */
static const char *const gpu_chips[] = { "amdgpu", "nvidia", NULL };

static int
in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

static enum mc_temp_kind
chip_kind(const char *chip)
{
	if (in_list(cpu_chips, chip))
		return MC_TEMP_CPU;
	if (in_list(disk_chips, chip))
		return MC_TEMP_DISK;
	return MC_TEMP_OTHER;
}

/* One chip's tempN_input or fanN_input files into list (at *n, < max);
 * chip is the name as sent, kind what its temperatures measure. */
static void
scan_inputs(const char *dir, const char *chip, enum mc_temp_kind kind,
    const char *type, struct lst_sensor *list, int *n, int max)
{
	char labels[INPUTS_MAX][48], file[LST_SYSPATH_MAX], full[160];
	int nums[INPUTS_MAX], k, i, package = 0;
	struct lst_sensor *s;

	k = lst_hw_list(dir, type, "_input", nums, INPUTS_MAX);
	for (i = 0; i < k; i++) {
		if (lst_hw_path(file, sizeof(file), "%s/%s%d_label", dir, type,
		    nums[i]) == -1 || lst_hw_read(file, labels[i],
		    sizeof(labels[i])) == -1)
			snprintf(labels[i], sizeof(labels[i]), "%s%d", type,
			    nums[i]);
		package |= strncmp(labels[i], "Package id", 10) == 0;
	}
	for (i = 0; i < k && *n < max; i++) {
		if (package && strncmp(labels[i], "Core ", 5) == 0)
			continue;
		s = &list[*n];
		if (lst_hw_path(s->path, sizeof(s->path), "%s/%s%d_input", dir,
		    type, nums[i]) == -1)
			continue;
		snprintf(full, sizeof(full), "%.63s/%.47s", chip, labels[i]);
		lst_hw_name(s->name, sizeof(s->name), full);
		s->kind = kind;
		s->spun = 0;
		(*n)++;
	}
}

/* The chip's name, with "#k" when it is the k-th of that name. */
static void
chip_name(const char *name, int k, char *out, size_t size)
{
	if (k > 1)
		snprintf(out, size, "%.40s#%d", name, k);
	else
		snprintf(out, size, "%.40s", name);
}

static int
same_name_before(char (*names)[32], int n, const char *name)
{
	int i, k = 1;

	for (i = 0; i < n; i++)
		k += strcmp(names[i], name) == 0;
	return k;
}

static void
scan(struct lst *l)
{
	struct lst_sensors *ss = &l->sensors;
	char base[LST_SYSPATH_MAX], dir[LST_SYSPATH_MAX], file[LST_SYSPATH_MAX];
	char names[CHIPS_MAX][32], chip[64];
	int nums[CHIPS_MAX], n, i, k;

	ss->ntemp = ss->nfan = 0;
	if (lst_hw_path(base, sizeof(base), "%s/sys/class/hwmon",
	    lst_hw_root(l)) == -1)
		return;
	n = lst_hw_list(base, "hwmon", "", nums, CHIPS_MAX);
	for (i = 0; i < n; i++) {
		names[i][0] = '\0';
		if (lst_hw_path(dir, sizeof(dir), "%s/hwmon%d", base,
		    nums[i]) == -1 || lst_hw_path(file, sizeof(file), "%s/name",
		    dir) == -1 || lst_hw_read(file, names[i],
		    sizeof(names[i])) == -1 || in_list(gpu_chips, names[i]))
			continue;
		k = same_name_before(names, i, names[i]);
		chip_name(names[i], k, chip, sizeof(chip));
		scan_inputs(dir, chip, chip_kind(names[i]), "temp", ss->temp,
		    &ss->ntemp, MC_TEMP_MAX);
		scan_inputs(dir, chip, MC_TEMP_OTHER, "fan", ss->fan, &ss->nfan,
		    MC_FAN_MAX);
	}
}

/* A search keeps what fans were seen turning. */
static void
rescan(struct lst *l)
{
	struct lst_sensors *ss = &l->sensors;
	char spun[MC_FAN_MAX][LST_SYSPATH_MAX];
	int nspun = 0, i, j;

	for (i = 0; i < ss->nfan; i++)
		if (ss->fan[i].spun)
			memcpy(spun[nspun++], ss->fan[i].path,
			    sizeof(spun[0]));
	scan(l);
	ss->looked = mc_now();
	for (i = 0; i < ss->nfan; i++)
		for (j = 0; j < nspun; j++)
			if (strcmp(ss->fan[i].path, spun[j]) == 0)
				ss->fan[i].spun = 1;
}

void
lst_sensors_collect(struct lst *l, struct mc_metrics *m)
{
	struct lst_sensors *ss = &l->sensors;
	struct lst_sensor *s;
	double v;
	int i;

	if (ss->looked == 0 || mc_now() - ss->looked >= LST_HW_RESCAN)
		rescan(l);
	for (i = 0; i < ss->ntemp && m->ntemp < MC_TEMP_MAX; i++) {
		s = &ss->temp[i];
		if (lst_hw_num(s->path, &v) == -1 || !(v >= -40000) ||
		    !(v <= 125000))
			continue;
		mc_strlcpy(m->temp[m->ntemp].name, s->name, MC_SENSOR_NAME_MAX);
		m->temp[m->ntemp].kind = s->kind;
		m->temp[m->ntemp++].c = v / 1000.0;
	}
	for (i = 0; i < ss->nfan && m->nfan < MC_FAN_MAX; i++) {
		s = &ss->fan[i];
		if (lst_hw_num(s->path, &v) == -1 || !(v >= 0) || !(v <= 1e6))
			continue;
		if (v > 0)
			s->spun = 1;
		if (!s->spun)
			continue;
		mc_strlcpy(m->fan[m->nfan].name, s->name, MC_SENSOR_NAME_MAX);
		m->fan[m->nfan++].rpm = v;
	}
}
