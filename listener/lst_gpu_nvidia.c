/*
 * lst_gpu_nvidia.c - NVIDIA GPUs through nvidia-smi.  The listener is one
 * static file and cannot load libnvidia-ml, so it asks the driver's own
 * tool, one call per sample:
 *
 *   nvidia-smi --query-gpu=index,name,uuid,utilization.gpu,
 *       utilization.memory,memory.used,memory.total,temperature.gpu,
 *       power.draw,power.limit,fan.speed,clocks.sm
 *       --format=csv,noheader,nounits
 *
 * Why one call per sample and not a resident "-l" child: docs/config.md.
 *
 * Rules kept here:
 * - nvidia-smi is looked for on PATH, then where drivers put it
 *   (/usr/bin, /usr/local/nvidia/bin, /opt/nvidia/NAME/bin); a machine
 *   without it looks again every LST_HW_RESCAN seconds, so a driver
 *   installed later is found.
 * - A call runs off the heartbeat path (lst_probe.c), started after a
 *   heartbeat is queued, at most one at a time and at most every
 *   LST_GPU_EVERY_MIN seconds; a heartbeat carries the last good sample
 *   while it is at most LST_GPU_FRESH sampling intervals old, else no
 *   GPUs.  A call past LST_GPU_DEADLINE has its process group killed.
 * - A failure (a deadline, an exit status other than 0, no line that
 *   reads as a GPU) doubles the wait before the next call, up to
 *   LST_GPU_BACKOFF_MAX; a good answer ends the back-off.  Failures and
 *   skipped garbage lines are warned of once per LST_GPU_WARN_EVERY, the
 *   rest at debug level: a broken driver must not fill the log.
 * - "[N/A]", "[Not Supported]", "N/A", "[Unknown Error]", an empty field
 *   or a figure out of the protocol's range is absent, never 0.  Memory
 *   is MiB, sent as bytes.
 * - The metrics command's process list is lst_gpu_nvidia_procs.c's.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

#define NFIELDS		12
#define MIB		1048576.0
#define OPT_SCAN	32	/* entries of /opt/nvidia looked at */

static const char *const query_argv[] = {
	"nvidia-smi",
	"--query-gpu=index,name,uuid,utilization.gpu,utilization.memory,"
	    "memory.used,memory.total,temperature.gpu,power.draw,power.limit,"
	    "fan.speed,clocks.sm",
	"--format=csv,noheader,nounits",
	NULL
};

/* ---- finding nvidia-smi ---- */

static int
exe_at(const char *dir, char *out, size_t size)
{
	struct stat st;

	if (dir[0] != '/' || lst_hw_path(out, size, "%s/nvidia-smi", dir) == -1)
		return -1;	/* a relative PATH entry is never trusted */
	if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(out, X_OK) == 0)
		return 0;
	return -1;
}

static int
find_on_path(char *out, size_t size)
{
	const char *path = getenv("PATH"), *p, *end;
	char dir[MC_PATH_MAX];
	size_t n;

	for (p = path; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ":");
		n = (size_t)(end - p);
		if (n == 0 || n >= sizeof(dir))
			continue;
		memcpy(dir, p, n);
		dir[n] = '\0';
		if (exe_at(dir, out, size) == 0)
			return 0;
	}
	return -1;
}

/* /opt/nvidia/NAME/bin, NAME in directory order. */
static int
find_in_opt(char *out, size_t size)
{
	char dir[MC_PATH_MAX];
	struct dirent *e;
	int seen = 0, r = -1;
	DIR *d;

	d = opendir("/opt/nvidia");
	if (d == NULL)
		return -1;
	for (e = readdir(d); e != NULL && r == -1 && seen < OPT_SCAN;
	    e = readdir(d), seen++)
		if (e->d_name[0] != '.' && lst_hw_path(dir, sizeof(dir),
		    "/opt/nvidia/%s/bin", e->d_name) == 0)
			r = exe_at(dir, out, size);
	closedir(d);
	return r;
}

static void
find(struct lst_nvidia *nv)
{
	nv->looked = mc_now();
	if (find_on_path(nv->path, sizeof(nv->path)) == 0 ||
	    exe_at("/usr/bin", nv->path, sizeof(nv->path)) == 0 ||
	    exe_at("/usr/local/nvidia/bin", nv->path, sizeof(nv->path)) == 0 ||
	    find_in_opt(nv->path, sizeof(nv->path)) == 0) {
		mc_info("GPUs: sampling NVIDIA cards with %s", nv->path);
		return;
	}
	nv->path[0] = '\0';
	mc_debug("GPUs: no nvidia-smi on PATH or where drivers put it");
}

/* ---- failures ---- */

static void __attribute__((format(printf, 2, 3)))
complain(struct lst_nvidia *nv, const char *fmt, ...)
{
	char what[300];
	double now = mc_now();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (nv->warned != 0 && now - nv->warned < LST_GPU_WARN_EVERY) {
		nv->held++;
		mc_debug("nvidia-smi: %s", what);
		return;
	}
	if (nv->warned == 0)
		mc_warn("nvidia-smi: %s (more problems within the hour are "
		    "logged at debug level)", what);
	else
		mc_warn("nvidia-smi: %s (and %d more problems in the last "
		    "hour, logged at debug level)", what, nv->held);
	nv->warned = now;
	nv->held = 0;
}

static void
failed(struct lst_nvidia *nv, const char *why)
{
	double wait = nv->every;
	int i;

	nv->fails++;
	for (i = 0; i < nv->fails && wait < LST_GPU_BACKOFF_MAX; i++)
		wait *= 2;
	if (wait > LST_GPU_BACKOFF_MAX)
		wait = LST_GPU_BACKOFF_MAX;
	nv->next = mc_now() + wait;
	complain(nv, "%s; next try in %.0f s", why, wait);
}

static void
not_started(struct lst_nvidia *nv, int err)
{
	char why[64];

	snprintf(why, sizeof(why), "cannot start it: %s", strerror(err));
	failed(nv, why);
}

/* ---- reading its answer ---- */

static int
no_value(const char *s)
{
	return s[0] == '\0' || s[0] == '[' || strcmp(s, "N/A") == 0;
}

/* A figure, or NAN when absent or out of [min, max]. */
static double
num(const char *s, double scale, double min, double max)
{
	double v;

	if (no_value(s) || mc_parse_dbl(s, -1e18, 1e18, &v) == -1)
		return NAN;
	v *= scale;
	return v >= min && v <= max ? v : NAN;
}

/* Split line at commas into at most max trimmed fields; the count. */
static int
split(char *line, char **f, int max)
{
	char *p = line, *c;
	int n = 0;

	while (n < max) {
		c = strchr(p, ',');
		if (c != NULL)
			*c = '\0';
		f[n++] = mc_trim(p);
		if (c == NULL)
			return n;
		p = c + 1;
	}
	return max + 1;		/* more fields than expected */
}

/* One line of the query.  0, or -1 when it is not a GPU. */
static int
parse_gpu(char *line, struct mc_gpu *g)
{
	char *f[NFIELDS];
	int64_t index;

	if (split(line, f, NFIELDS) != NFIELDS ||
	    mc_parse_i64(f[0], 0, 255, &index) == -1)
		return -1;
	memset(g, 0, sizeof(*g));
	g->index = (int)index;
	mc_strlcpy(g->vendor, "nvidia", sizeof(g->vendor));
	if (!no_value(f[1]))
		lst_hw_name(g->name, sizeof(g->name), f[1]);
	if (!no_value(f[2]))
		lst_hw_name(g->uuid, sizeof(g->uuid), f[2]);
	g->util = num(f[3], 1, 0, 100);
	g->mem_util = num(f[4], 1, 0, 100);
	g->mem_used = num(f[5], MIB, 0, 4611686018427387904.0);
	g->mem_total = num(f[6], MIB, 0, 4611686018427387904.0);
	g->temp = num(f[7], 1, -100, 300);
	g->power = num(f[8], 1, 0, 1e5);
	g->power_limit = num(f[9], 1, 0, 1e5);
	g->fan = num(f[10], 1, 0, 100);
	g->sm_clock = num(f[11], 1, 0, 1e6);
	return 0;
}

/* The GPUs in out; lines that are not one are counted and the first
 * kept (printable) in bad. */
static int
parse_all(char *out, struct mc_gpu *gpu, int *nbad, char *bad, size_t size)
{
	char *line, *next;
	int n = 0;

	*nbad = 0;
	bad[0] = '\0';
	for (line = out; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		if (*mc_trim(line) == '\0')
			continue;
		if (n < MC_GPU_MAX && parse_gpu(line, &gpu[n]) == 0) {
			n++;
			continue;
		}
		if ((*nbad)++ == 0)
			lst_hw_name(bad, size, line);
	}
	return n;
}

static void
query_done(struct lst_probe *p, const char *why, char *out, size_t len)
{
	struct lst_nvidia *nv = &p->l->nv;
	struct mc_gpu gpu[MC_GPU_MAX];
	char bad[64];
	int n, nbad;

	(void)len;
	if (why != NULL) {
		failed(nv, why);
		return;
	}
	n = parse_all(out, gpu, &nbad, bad, sizeof(bad));
	if (n == 0) {
		failed(nv, nbad > 0 ? "no line reads as a GPU" :
		    "no GPU in its answer");
		return;
	}
	if (nbad > 0)
		complain(nv, "%d line(s) that do not read as a GPU skipped "
		    "(the first: \"%s\")", nbad, bad);
	if (nv->fails > 0)
		mc_info("nvidia-smi: answering again, %d GPU(s)", n);
	memcpy(nv->gpu, gpu, (size_t)n * sizeof(gpu[0]));
	nv->ngpu = n;
	nv->at = mc_now();
	nv->fails = 0;
}

/* ---- the source ---- */

static void
nv_init(struct lst *l)
{
	struct lst_nvidia *nv = &l->nv;

	nv->query.l = nv->apps.l = l;
	nv->query.what = "nvidia-smi --query-gpu";
	nv->apps.what = "nvidia-smi --query-compute-apps";
	nv->query.done = query_done;
	nv->every = LST_GPU_EVERY_START;
}

static void
nv_tick(struct lst *l, double every)
{
	struct lst_nvidia *nv = &l->nv;
	double now = mc_now();

	nv->every = every > LST_GPU_EVERY_MIN ? every : LST_GPU_EVERY_MIN;
	if (nv->query.pid != 0 && !nv->stuck &&
	    now - nv->started > 2 * LST_GPU_DEADLINE) {
		/* killed but not gone: stuck in the driver (state D); no
		 * call starts while it lasts, so none piles up */
		nv->stuck = 1;
		complain(nv, "still there %.0f s after it was killed (stuck in "
		    "the driver?); no call until it is gone",
		    now - nv->started - LST_GPU_DEADLINE);
	}
	/* a little early: the heartbeat timer may fire a hair before the
	 * interval is over, and a sample must not skip a beat for that */
	if (nv->query.pid != 0 || now < nv->next ||
	    now - nv->started < 0.9 * nv->every)
		return;
	/* gone (a driver removed): search again, as on a machine that
	 * never had it */
	if (nv->path[0] != '\0' && access(nv->path, X_OK) == -1) {
		mc_info("GPUs: %s is gone", nv->path);
		nv->path[0] = '\0';
	}
	if (nv->path[0] == '\0' && (nv->looked == 0 ||
	    now - nv->looked >= LST_HW_RESCAN))
		find(nv);
	if (nv->path[0] == '\0')
		return;
	nv->started = now;
	nv->stuck = 0;
	if (lst_probe_start(&nv->query, nv->path, query_argv, LST_GPU_OUT_MAX,
	    LST_GPU_DEADLINE) == -1)
		not_started(nv, errno);
}

static void
nv_collect(struct lst *l, struct mc_metrics *m)
{
	struct lst_nvidia *nv = &l->nv;
	int i;

	if (nv->ngpu == 0 || mc_now() - nv->at > LST_GPU_FRESH * nv->every)
		return;
	for (i = 0; i < nv->ngpu && m->ngpu < MC_GPU_MAX; i++)
		m->gpu[m->ngpu++] = nv->gpu[i];
}

static void
nv_reap(struct lst *l)
{
	lst_probe_reap(&l->nv.query);
	lst_probe_reap(&l->nv.apps);
}

static void
nv_kill(struct lst *l)
{
	lst_probe_kill(&l->nv.query);
	lst_probe_kill(&l->nv.apps);
}

static void
nv_free(struct lst *l)
{
	lst_probe_free(&l->nv.query);
	lst_probe_free(&l->nv.apps);
}

const struct lst_gpu_src lst_gpu_nvidia = {
	.name = "nvidia-smi",
	.init = nv_init,
	.tick = nv_tick,
	.collect = nv_collect,
	.procs_start = lst_gpu_nvidia_procs_start,
	.procs_write = lst_gpu_nvidia_procs_write,
	.reap = nv_reap,
	.kill = nv_kill,
	.free = nv_free,
};
