/*
 * lst_cmd_metrics.c - the "metrics" command: take a fresh sample and
 * return it as the command's output, one JSON object in the heartbeat's
 * "m" format and a newline, then a result "done".  Like a shell command it
 * reports started (with the listener's pid), out and result, in that
 * order.
 *
 * On a machine with NVIDIA GPUs the object also has "gpu_procs", the
 * processes using them, which only nvidia-smi can tell: the command then
 * waits, in the loop, for that call (LST_GPU_PROCS_DEADLINE at most;
 * lst_gpu_nvidia_procs.c) and is answered by lst_cmd_metrics_ready().
 * Commands arriving meanwhile wait for the same call; past LST_MWAIT_MAX
 * of them a command is answered at once without the list.
 */
#include <string.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

/* The sample in the heartbeat's format, with extra's members (an object,
 * "{}" for none) added to it, into json.  0 or -1. */
static int
encode(struct lst *l, const struct mc_buf *extra, struct mc_buf *json)
{
	struct mc_jw w;

	lst_metrics_collect(l, &l->hb.m, LST_SAMPLE_PEEK);
	mc_jw_init(&w, json);
	mc_metrics_write(&w, NULL, &l->hb.m);
	if (mc_jw_done(&w) == -1)
		return -1;
	/* "{...}" and "{"gpu_procs":[...]}" make "{...,"gpu_procs":[...]}" */
	if (extra != NULL && extra->len > 2 && json->len > 2) {
		json->data[--json->len] = '\0';
		if (mc_buf_append(json, ",", 1) == -1 ||
		    mc_buf_append(json, extra->data + 1, extra->len - 1) == -1)
			return -1;
	}
	/* one line, like any program's output: a terminal's prompt (or the
	 * next command's output) starts on the next line */
	return mc_buf_append(json, "\n", 1);
}

static void
answer(struct lst *l, const char *id, uint64_t cap, double t0,
    const struct mc_buf *extra)
{
	struct mc_result r;
	struct mc_buf json;

	mc_buf_init(&json, 4 * MC_OUT_CHUNK);
	if (encode(l, extra, &json) == -1 ||
	    lst_cmd_output(l, id, json.data, json.len, cap) == -1) {
		mc_buf_free(&json);
		lst_cmd_fail(l, id, "cannot send the metrics");
		return;
	}
	memset(&r, 0, sizeof(r));
	mc_strlcpy(r.id, id, sizeof(r.id));
	r.outcome = MC_DONE;
	r.out_bytes = json.len;
	r.truncated = json.len > cap;
	r.duration = mc_now() - t0;
	mc_buf_free(&json);
	lst_cmd_result(l, &r);
}

void
lst_cmd_metrics(struct lst *l, const struct mc_cmd *c)
{
	struct lst_mwait *mw;

	lst_cmd_started(l, c->id, getpid());
	if (l->nmwait < LST_MWAIT_MAX && lst_gpu_procs_start(l) == 0) {
		mw = &l->mwait[l->nmwait++];
		mc_strlcpy(mw->id, c->id, sizeof(mw->id));
		mw->cap = c->cap;
		mw->t0 = mc_now();
		return;
	}
	answer(l, c->id, c->cap, mc_now(), NULL);
}

void
lst_cmd_metrics_ready(struct lst *l)
{
	struct mc_buf extra;
	struct mc_jw w;
	int i;

	mc_buf_init(&extra, 2 * MC_OUT_CHUNK);
	mc_jw_init(&w, &extra);
	mc_jw_obj(&w, NULL);
	lst_gpu_procs_write(l, &w);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1) {
		mc_warn("metrics: the GPU process list is over %d bytes; left "
		    "out", 2 * MC_OUT_CHUNK);
		mc_buf_reset(&extra);
	}
	for (i = 0; i < l->nmwait; i++)
		answer(l, l->mwait[i].id, l->mwait[i].cap, l->mwait[i].t0,
		    &extra);
	l->nmwait = 0;
	mc_buf_free(&extra);
}
