/*
 * lst_metrics.c - this machine's facts (for the hello) and metrics (for
 * heartbeats and the "metrics" command), mostly from libstatgrab; GPUs,
 * temperatures and fans come from lst_gpu.c and lst_sensors.c.
 *
 * Rules kept here: a sample allocates nothing that grows (libstatgrab
 * keeps its own per-thread buffers, released by sg_shutdown()); every
 * value is clamped to what the protocol accepts, so a rounding error can
 * never get a heartbeat refused; only real, device-backed filesystems are
 * reported (no proc, tmpfs, overlay, squashfs...), each device once.
 */
#include <ctype.h>
#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <statgrab.h>

#include "lst.h"
#include "mc_log.h"

/* Filesystem types that hold data on a device.  libstatgrab's default
 * list also has tmpfs, overlay, squashfs (always 100% full) and more. */
static const char *real_fs[] = {
	"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs",
	"reiserfs", "nilfs2", "bcachefs", "vfat", "exfat", "ntfs", "ntfs3",
	"fuseblk", "hfsplus", "ufs", NULL
};

/*
 * A CPU figure needs a window long enough to mean something: the first
 * heartbeat follows the start by milliseconds, where the few ticks
 * counted read as 0 % or 100 %.  A window shorter than this gives the
 * last full window's figure, or none (the heartbeat leaves "cpu" out).
 */
#define CPU_WINDOW_MIN	1.0	/* seconds */

static void cpu_window_start(struct lst_cpu_window *cw);

int
lst_metrics_init(struct lst_cpu_window *cw)
{
	size_t n;

	if (sg_init(1) != SG_ERROR_NONE)
		mc_warn("libstatgrab: %s; some metrics may be missing",
		    sg_str_error(sg_get_error()));
	if (sg_set_valid_filesystems(real_fs) != SG_ERROR_NONE)
		mc_warn("libstatgrab: cannot restrict filesystem types");
	/* first readings: later samples report differences from these */
	cpu_window_start(cw);
	sg_get_network_io_stats_diff(&n);
	return 0;
}

void
lst_metrics_shutdown(void)
{
	sg_shutdown();
}

/* ---- facts ---- */

/* PRETTY_NAME from os-release, unquoted, into out. */
static void
os_name(char *out, size_t size)
{
	static const char *const paths[] = { "/etc/os-release",
	    "/usr/lib/os-release" };
	char *text = NULL, *line, *next, *v;
	size_t i, n;

	mc_strlcpy(out, "Linux", size);
	for (i = 0; i < 2 && text == NULL; i++)
		text = mc_read_file(paths[i], 64 * 1024, NULL);
	if (text == NULL)
		return;
	for (line = text; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		if (strncmp(line, "PRETTY_NAME=", 12) != 0)
			continue;
		v = mc_trim(line + 12);
		n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v[n - 1] = '\0';
			v++;
		}
		if (*v != '\0')
			mc_strlcpy(out, v, size);
		break;
	}
	free(text);
}

void
lst_metrics_facts(struct mc_hello *h)
{
	struct utsname u;
	sg_mem_stats *mem;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n;

	h->v = MC_PROTO_VERSION;
	mc_strlcpy(h->version, MC_VERSION, sizeof(h->version));
	if (gethostname(h->hostname, sizeof(h->hostname)) == -1)
		h->hostname[0] = '\0';
	h->hostname[sizeof(h->hostname) - 1] = '\0';
	os_name(h->os, sizeof(h->os));
	if (uname(&u) == 0) {
		mc_strlcpy(h->kernel, u.release, sizeof(h->kernel));
		mc_strlcpy(h->arch, u.machine, sizeof(h->arch));
	}
	h->cpus = cpus > 0 ? (int)cpus : 0;
	mem = sg_get_mem_stats(&n);
	h->mem_total = mem != NULL && n > 0 ? mem->total : 0;
}

/* ---- metrics ---- */

/* NaN becomes lo, so that no rounding can get a heartbeat refused. */
static double
clamp(double v, double lo, double hi)
{
	return !(v >= lo) ? lo : v > hi ? hi : v;
}

/* The kernel's cumulative ticks now, or NULL (logged by libstatgrab). */
static const sg_cpu_stats *
cpu_read(void)
{
	size_t n;

	/* libstatgrab 0.92 leaves n at 0 here even with a valid reading */
	return sg_get_cpu_stats(&n);
}

static void
cpu_window_start(struct lst_cpu_window *cw)
{
	const sg_cpu_stats *c = cpu_read();

	if (c == NULL)
		return;
	cw->user = c->user + c->nice;
	cw->kernel = c->kernel;
	cw->iowait = c->iowait;
	cw->total = c->total;
	cw->start = mc_now();
}

/* Percent of the window's ticks; counters that went back (a CPU taken
 * offline) count as none. */
static double
cpu_share(unsigned long long now, unsigned long long then, double ticks)
{
	return now > then ? clamp(100.0 * (double)(now - then) / ticks, 0,
	    100) : 0;
}

static void
sample_cpu(struct mc_metrics *m, struct lst_cpu_window *cw,
    enum lst_sample how)
{
	const sg_cpu_stats *c = cpu_read();
	double ticks;

	if (c != NULL && cw->start > 0 && c->total > cw->total &&
	    mc_now() - cw->start >= CPU_WINDOW_MIN) {
		ticks = (double)(c->total - cw->total);
		cw->last[0] = cpu_share(c->user + c->nice, cw->user, ticks);
		cw->last[1] = cpu_share(c->kernel, cw->kernel, ticks);
		cw->last[2] = cpu_share(c->iowait, cw->iowait, ticks);
		cw->have_last = 1;
		if (how == LST_SAMPLE_HB)
			cpu_window_start(cw);
	} else if (c != NULL && cw->start == 0) {
		cpu_window_start(cw);	/* no reading at start */
	}
	if (!cw->have_last)
		return;
	m->has_cpu = 1;
	m->cpu_user = cw->last[0];
	m->cpu_system = cw->last[1];
	m->cpu_iowait = cw->last[2];
}

static void
sample_memory(struct mc_metrics *m)
{
	sg_load_stats *ld;
	sg_mem_stats *mem;
	sg_swap_stats *sw;
	size_t n;

	ld = sg_get_load_stats(&n);
	if (ld != NULL && n > 0) {
		m->load[0] = clamp(ld->min1, 0, 1e9);
		m->load[1] = clamp(ld->min5, 0, 1e9);
		m->load[2] = clamp(ld->min15, 0, 1e9);
	}
	mem = sg_get_mem_stats(&n);
	if (mem != NULL && n > 0) {
		m->mem_used = mem->used;
		m->mem_total = mem->total;
	}
	sw = sg_get_swap_stats(&n);
	if (sw != NULL && n > 0) {
		m->swap_used = sw->used;
		m->swap_total = sw->total;
	}
}

/* Device-backed (or zfs, whose devices are datasets) and not yet seen. */
static int
fs_wanted(const sg_fs_stats *f, const sg_fs_stats *all, size_t i)
{
	size_t j;

	if (f->size == 0 || f->device_name == NULL || f->mnt_point == NULL)
		return 0;
	if (strncmp(f->device_name, "/dev/", 5) != 0 &&
	    (f->fs_type == NULL || strcmp(f->fs_type, "zfs") != 0))
		return 0;
	for (j = 0; j < i; j++)		/* bind mounts: report once */
		if (all[j].device_name != NULL &&
		    strcmp(all[j].device_name, f->device_name) == 0 &&
		    all[j].size != 0)
			return 0;
	return 1;
}

static void
sample_fs(struct mc_metrics *m)
{
	sg_fs_stats *fs;
	struct mc_fs *o;
	size_t n, i;

	fs = sg_get_fs_stats(&n);
	if (fs == NULL)
		return;
	for (i = 0; i < n && m->nfs < MC_FS_MAX; i++) {
		if (!fs_wanted(&fs[i], fs, i))
			continue;
		o = &m->fs[m->nfs++];
		mc_strlcpy(o->mount, fs[i].mnt_point, sizeof(o->mount));
		o->used = fs[i].used;
		o->total = fs[i].size;
	}
}

static void
sample_net(struct mc_metrics *m, double *last)
{
	sg_network_io_stats *io;
	double now = mc_now(), dt = now - *last;
	struct mc_net *o;
	size_t n, i;

	/* libstatgrab's own interval has whole-second resolution; ours
	 * is exact, which matters at sub-second heartbeats */
	io = sg_get_network_io_stats_diff(&n);
	*last = now;
	if (io == NULL || dt < 0.001)
		return;
	for (i = 0; i < n && m->nnet < MC_NET_MAX; i++) {
		if (io[i].interface_name == NULL ||
		    strcmp(io[i].interface_name, "lo") == 0)
			continue;
		o = &m->net[m->nnet++];
		mc_strlcpy(o->iface, io[i].interface_name, sizeof(o->iface));
		o->rx_bps = clamp((double)io[i].rx / dt, 0, 1e15);
		o->tx_bps = clamp((double)io[i].tx / dt, 0, 1e15);
	}
}

/* Processes: the numeric entries of /proc.  (libstatgrab's process count
 * reads every process's stat and cmdline files; this reads one
 * directory.) */
static uint32_t
count_procs(void)
{
	struct dirent *e;
	uint32_t n = 0;
	DIR *d;

	d = opendir("/proc");
	if (d == NULL)
		return 0;
	for (e = readdir(d); e != NULL; e = readdir(d))
		n += isdigit((unsigned char)e->d_name[0]) != 0;
	closedir(d);
	return n;
}

void
lst_metrics_collect(struct lst *l, struct mc_metrics *m, enum lst_sample how)
{
	sg_host_info *h;
	size_t n;

	/* not memset whole: its hardware arrays are large and mostly
	 * unused, and the counts say how much of them counts */
	memset(m, 0, offsetof(struct mc_metrics, ngpu));
	m->ngpu = m->ntemp = m->nfan = 0;
	sample_cpu(m, &l->cpu, how);
	sample_memory(m);
	sample_fs(m);
	sample_net(m, &l->net_last);
	h = sg_get_host_info(&n);
	if (h != NULL && n > 0 && h->uptime > 0)
		m->uptime = (uint64_t)h->uptime;
	m->procs = count_procs();
	lst_gpu_collect(l, m);
	lst_sensors_collect(l, m);
}
