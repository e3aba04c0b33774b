/*
 * lst_gpu_nvidia_procs.c - the processes using NVIDIA GPUs, for the
 * metrics command's "gpu_procs" (not in every heartbeat: the list can be
 * long and changes as jobs start and end):
 *
 *   nvidia-smi --query-compute-apps=gpu_uuid,pid,process_name,used_memory
 *       --format=csv,noheader,nounits
 *
 * Rules kept here: asked for when a metrics command runs, with a deadline
 * of LST_GPU_PROCS_DEADLINE, and only while the GPU query works (a hung
 * nvidia-smi must not make every metrics command wait for it); commands
 * arriving while it runs share its answer.  A failed answer leaves
 * gpu_procs out; a good one with no process is an empty list.  A
 * process name may hold commas (it is a path): the name is what lies
 * between the second and the last field.
 */
#include <stdio.h>
#include <string.h>

#include "lst.h"
#include "mc_log.h"

#define MIB	1048576.0

static const char *const apps_argv[] = {
	"nvidia-smi",
	"--query-compute-apps=gpu_uuid,pid,process_name,used_memory",
	"--format=csv,noheader,nounits",
	NULL
};

static void
apps_done(struct lst_probe *p, const char *why, char *out, size_t len)
{
	struct lst *l = p->l;

	(void)len;
	if (why != NULL)
		mc_debug("%s: %s; gpu_procs left out", p->what, why);
	l->nv.apps_out = why == NULL ? out : NULL;
	lst_cmd_metrics_ready(l);
	l->nv.apps_out = NULL;
}

int
lst_gpu_nvidia_procs_start(struct lst *l)
{
	struct lst_nvidia *nv = &l->nv;

	if (nv->path[0] == '\0' || nv->fails > 0 || nv->at == 0)
		return -1;
	if (nv->apps.pid != 0)
		return 0;	/* this command shares the call under way */
	nv->apps.done = apps_done;
	return lst_probe_start(&nv->apps, nv->path, apps_argv,
	    LST_GPU_OUT_MAX, LST_GPU_PROCS_DEADLINE);
}

/* The index of the GPU with this uuid in the last sample, or -1. */
static int
gpu_index(const struct lst_nvidia *nv, const char *uuid)
{
	int i;

	for (i = 0; i < nv->ngpu; i++)
		if (nv->gpu[i].uuid[0] != '\0' &&
		    strcmp(nv->gpu[i].uuid, uuid) == 0)
			return nv->gpu[i].index;
	return -1;
}

/* One line: "GPU-..., 4242, /usr/bin/python3, 2048".  0 or -1. */
static int
write_proc(const struct lst_nvidia *nv, struct mc_jw *w, char *line)
{
	char *c1, *c2, *cl, name[256];
	double mem;
	int64_t pid;
	int index;

	c1 = strchr(line, ',');
	c2 = c1 != NULL ? strchr(c1 + 1, ',') : NULL;
	cl = strrchr(line, ',');
	if (c2 == NULL || cl == c2)
		return -1;
	*c1 = *c2 = *cl = '\0';
	if (mc_parse_i64(mc_trim(c1 + 1), 1, 4194304, &pid) == -1)
		return -1;
	mc_jw_obj(w, NULL);
	line = mc_trim(line);
	index = gpu_index(nv, line);
	if (line[0] != '\0' && line[0] != '[' && strcmp(line, "N/A") != 0)
		mc_jw_str(w, "gpu", line);
	if (index >= 0)
		mc_jw_i64(w, "index", index);
	mc_jw_i64(w, "pid", pid);
	lst_hw_name(name, sizeof(name), mc_trim(c2 + 1));
	mc_jw_str(w, "name", name);
	if (mc_parse_dbl(mc_trim(cl + 1), 0, 1e12, &mem) == 0)
		mc_jw_fixed(w, "mem", mem * MIB, 0);
	mc_jw_obj_end(w);
	return 0;
}

/* Consumes nv->apps_out (split into lines in place): call it once per
 * answer.  Every command waiting gets the same list, so the caller
 * writes it once and copies it. */
void
lst_gpu_nvidia_procs_write(struct lst *l, struct mc_jw *w)
{
	char *line, *next;
	int n = 0;

	if (l->nv.apps_out == NULL)
		return;
	mc_jw_arr(w, "gpu_procs");
	for (line = l->nv.apps_out; *line != '\0' && n < LST_GPU_PROCS_MAX;
	    line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		if (*mc_trim(line) != '\0')
			n += write_proc(&l->nv, w, line) == 0;
	}
	mc_jw_arr_end(w);
}
