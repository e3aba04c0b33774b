/*
 * lst_gpu.c - the GPUs of this machine, from every source it has: NVIDIA
 * cards through nvidia-smi (lst_gpu_nvidia.c), AMD cards through sysfs
 * (lst_gpu_amd.c).  A source that finds nothing costs a search every
 * LST_HW_RESCAN seconds and nothing else.
 *
 * The sources are a fixed table walked in order; the callers (heartbeat,
 * metrics command, signals, exit) go through the functions below and
 * never ask which sources a machine has.  A source leaves out an
 * operation it does not have (NULL).
 */
#include "lst.h"

static const struct lst_gpu_src *const srcs[] = {
	&lst_gpu_nvidia,
	&lst_gpu_amd,
};

#define NSRC	(sizeof(srcs) / sizeof(srcs[0]))

void
lst_gpu_init(struct lst *l)
{
	size_t i;

	for (i = 0; i < NSRC; i++)
		if (srcs[i]->init != NULL)
			srcs[i]->init(l);
}

void
lst_gpu_tick(struct lst *l)
{
	double every = l->hb_every > 0 ? l->hb_every : LST_GPU_EVERY_START;
	size_t i;

	for (i = 0; i < NSRC; i++)
		if (srcs[i]->tick != NULL)
			srcs[i]->tick(l, every);
}

void
lst_gpu_collect(struct lst *l, struct mc_metrics *m)
{
	size_t i;

	for (i = 0; i < NSRC; i++)
		if (srcs[i]->collect != NULL)
			srcs[i]->collect(l, m);
}

int
lst_gpu_procs_start(struct lst *l)
{
	int r = -1;
	size_t i;

	for (i = 0; i < NSRC; i++)
		if (srcs[i]->procs_start != NULL && srcs[i]->procs_start(l) == 0)
			r = 0;
	return r;
}

void
lst_gpu_procs_write(struct lst *l, struct mc_jw *w)
{
	size_t i;

	for (i = 0; i < NSRC; i++)
		if (srcs[i]->procs_write != NULL)
			srcs[i]->procs_write(l, w);
}

void
lst_gpu_reap(struct lst *l)
{
	size_t i;

	for (i = 0; i < NSRC; i++)
		if (srcs[i]->reap != NULL)
			srcs[i]->reap(l);
}

void
lst_gpu_kill_all(struct lst *l)
{
	size_t i;

	for (i = 0; i < NSRC; i++)
		if (srcs[i]->kill != NULL)
			srcs[i]->kill(l);
}

void
lst_gpu_free_all(struct lst *l)
{
	size_t i;

	for (i = 0; i < NSRC; i++)
		if (srcs[i]->free != NULL)
			srcs[i]->free(l);
}
