/*
 * lst_cmd_metrics.c - the "metrics" command: take a fresh sample and
 * return it as the command's output, one JSON object in the heartbeat's
 * "m" format and a newline, then a result "done".  Like a shell command it reports
 * started (with the listener's pid), out and result, in that order.
 */
#include <string.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

void
lst_cmd_metrics(struct lst *l, const struct mc_cmd *c)
{
	struct mc_result r;
	struct mc_buf json;
	struct mc_jw w;
	double t0 = mc_now();

	lst_cmd_started(l, c->id, getpid());
	lst_metrics_collect(&l->hb.m, &l->cpu, &l->net_last,
	    LST_SAMPLE_PEEK);
	mc_buf_init(&json, 4 * MC_OUT_CHUNK);
	mc_jw_init(&w, &json);
	mc_metrics_write(&w, NULL, &l->hb.m);
	/* one line, like any program's output: a terminal's prompt (or the
	 * next command's output) starts on the next line */
	if (mc_jw_done(&w) == -1 || mc_buf_append(&json, "\n", 1) == -1 ||
	    lst_cmd_output(l, c->id, json.data, json.len, c->cap) == -1) {
		mc_buf_free(&json);
		lst_cmd_fail(l, c->id, "cannot send the metrics");
		return;
	}
	memset(&r, 0, sizeof(r));
	mc_strlcpy(r.id, c->id, sizeof(r.id));
	r.outcome = MC_DONE;
	r.out_bytes = json.len;
	r.truncated = json.len > c->cap;
	r.duration = mc_now() - t0;
	mc_buf_free(&json);
	lst_cmd_result(l, &r);
}
