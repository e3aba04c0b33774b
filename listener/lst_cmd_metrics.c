/*
 * lst_cmd_metrics.c - the "metrics" command: take a fresh sample and
 * return it as the command's output, one JSON object in the heartbeat's
 * "m" format, then a result "done".  Like a shell command it reports
 * started (with the listener's pid), out and result, in that order.
 */
#include <string.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

static void
send_started(struct lst *l, const char *id)
{
	struct mc_started s;

	memset(&s, 0, sizeof(s));
	mc_strlcpy(s.id, id, sizeof(s.id));
	s.pid = (int)getpid();
	if (mc_started_encode(lst_ws_buf(l), &s) == -1 ||
	    lst_ws_send(l, LST_Q_CTRL) == -1)
		mc_warn("command %s: 'started' dropped: send queue full", id);
}

/* Send json (at most cap bytes of it) as stdout, in chunks of at most
 * MC_OUT_CHUNK bytes as the protocol asks.  0 or -1. */
static int
send_output(struct lst *l, const char *id, const struct mc_buf *json,
    uint64_t cap)
{
	size_t len = json->len < cap ? json->len : (size_t)cap, off;
	struct mc_out o;

	memset(&o, 0, sizeof(o));
	mc_strlcpy(o.id, id, sizeof(o.id));
	o.stream = MC_STDOUT;
	for (off = 0; off < len; off += o.len) {
		o.data = json->data + off;
		o.len = len - off < MC_OUT_CHUNK ? len - off : MC_OUT_CHUNK;
		if (mc_out_encode(lst_ws_buf(l), &o) == -1 ||
		    lst_ws_send(l, LST_Q_CTRL) == -1)
			return -1;
	}
	return 0;
}

void
lst_cmd_metrics(struct lst *l, const struct mc_cmd *c)
{
	struct mc_result r;
	struct mc_buf json;
	struct mc_jw w;
	double t0 = mc_now();

	send_started(l, c->id);
	lst_metrics_collect(&l->hb.m, &l->net_last);
	mc_buf_init(&json, 4 * MC_OUT_CHUNK);
	mc_jw_init(&w, &json);
	mc_metrics_write(&w, NULL, &l->hb.m);
	if (mc_jw_done(&w) == -1 ||
	    send_output(l, c->id, &json, c->cap) == -1) {
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
