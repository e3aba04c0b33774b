/*
 * hub_series.c - downsampled metric history, kept in the store.
 *
 * Heartbeats are not written to disk.  Each one adds its summary figures
 * (CPU, memory, fullest disk, network in and out, and the hardware ones of
 * hub_hw.c: GPU util and memory, hottest GPU and CPU) to its agent's
 * current minute in memory (struct hub_series_acc, O(1)).  A figure the
 * agent does not report (no GPU, no sensor) is NULL in the store and
 * absent from a point, never 0.  Once a minute the cron
 * tick hands every finished minute to the database thread as one batch
 * (one job, one transaction: never a write per heartbeat), as the average
 * of that minute: table metrics_1m.  Every quarter of an hour the finished
 * quarters are rolled up into metrics_15m, which the 7-day view reads;
 * the rollup catches up after a hub restart.  Every hour (and at start)
 * rows past the retention are pruned: metrics_15m keeps history_retention
 * (default 7 days), metrics_1m at most HIST_FINE_KEEP of it.
 *
 * Reads (GET /api/agents/{name}/history) run on the database thread after
 * every write queued before them and build the JSON there; the minute in
 * progress is added from memory, so the last point is never a minute old.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>


#include "hub.h"
#include "hub_sql.h"
#include "mc_log.h"
#include "mc_util.h"

#define HIST_MINUTE		60
#define HIST_QUARTER		900
/* minute rows are kept this long at most (the 24 h view reads them) */
#define HIST_FINE_KEEP		(48 * 3600)
#define HIST_PRUNE_EVERY	3600.0
/* one history reply: 7 days of quarters or 24 h of minutes */
#define HIST_JSON_MAX		(2 * 1024 * 1024)

/* a point's figures: the five base ones, then HUB_HW_COUNT */
#define NFIG	(5 + HUB_HW_COUNT)

struct hist_row {
	int64_t	agent_id, ts;
	double	v[NFIG];	/* cpu, mem, disk, rx, tx, hw...; NAN: none */
};

/* A batch of finished minutes for the database thread. */
struct hist_batch {
	size_t		n, cap;
	struct hist_row	rows[];
};

static struct {
	int		 started;
	int64_t		 minute;	/* the minute being recorded */
	int64_t		 quarter;	/* the quarter being recorded */
	double		 last_prune;	/* wall clock */
	struct hist_batch *ready;	/* owned: rows not yet handed over */
} hs;

static int64_t
floor_to(double wall, int64_t step)
{
	int64_t t = (int64_t)wall;

	return t - t % step;
}

/* The averages of the agent's minute so far (h->n > 0). */
static void
acc_avg(const struct hub_series_acc *h, struct hist_row *r)
{
	int i;

	r->ts = h->minute;
	r->v[0] = h->ncpu > 0 ? h->cpu / h->ncpu : NAN;
	r->v[1] = h->mem / h->n;
	r->v[2] = h->disk / h->n;
	r->v[3] = h->rx / h->n;
	r->v[4] = h->tx / h->n;
	for (i = 0; i < HUB_HW_COUNT; i++)
		r->v[5 + i] = h->nhw[i] > 0 ? (double)h->hw[i] / h->nhw[i] :
		    NAN;
}

/* Queue the agent's accumulated minute as a row and empty it. */
static void
acc_take(struct hub_agent *a)
{
	struct hub_series_acc *h = &a->hist;
	struct hist_batch *b = hs.ready;
	struct hist_row *r;
	size_t cap;

	if (h->n == 0)
		return;
	if (b == NULL || b->n == b->cap) {
		cap = b ? b->cap * 2 : 256;
		b = realloc(b, sizeof(*b) + cap * sizeof(b->rows[0]));
		if (b == NULL) {
			mc_err("history: out of memory; a minute is lost");
			h->n = 0;
			return;
		}
		if (hs.ready == NULL)
			b->n = 0;
		b->cap = cap;
		hs.ready = b;
	}
	r = &b->rows[b->n++];
	r->agent_id = a->id;
	acc_avg(h, r);
	memset(h, 0, sizeof(*h));
}

void
hub_series_sample(struct hub_agent *a)
{
	struct hub_series_acc *h = &a->hist;
	int64_t m = floor_to(mc_wall(), HIST_MINUTE);
	int i;

	if (!a->have_metrics)
		return;
	if (h->n > 0 && h->minute != m)
		acc_take(a);	/* the cron tick has not run since */
	h->minute = m;
	h->n++;
	if (!isnan(a->g.cpu)) {		/* NAN: not measured yet */
		h->ncpu++;
		h->cpu += a->g.cpu;
	}
	h->mem += a->g.mem;
	h->disk += a->g.disk;
	h->rx += a->g.rx;
	h->tx += a->g.tx;
	for (i = 0; i < HUB_HW_COUNT; i++)
		if (!isnan(a->g.hw[i]) && h->nhw[i] < UINT16_MAX) {
			h->nhw[i]++;
			h->hw[i] += a->g.hw[i];
		}
}

/* ---- writing (database thread) ---- */

static int
write_run(struct hub_sql *db, void *arg)
{
	static const char sql[] = "INSERT INTO metrics_1m(agent_id,"
	    " ts, cpu, mem, disk, rx, tx, gpu_util, gpu_mem, gpu_temp,"
	    " cpu_temp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT(agent_id, ts) DO UPDATE SET cpu = excluded.cpu,"
	    " mem = excluded.mem, disk = excluded.disk, rx = excluded.rx,"
	    " tx = excluded.tx, gpu_util = excluded.gpu_util,"
	    " gpu_mem = excluded.gpu_mem, gpu_temp = excluded.gpu_temp,"
	    " cpu_temp = excluded.cpu_temp";
	struct hist_batch *b = arg;
	struct hub_sql_stmt *st;
	size_t i;
	int rc, k;

	if ((rc = hub_sql_prepare(db, sql, &st)) != HUB_SQL_OK) {
		mc_err("history: %s", hub_sql_errmsg(db));
		return rc;
	}
	for (i = 0, rc = HUB_SQL_DONE; i < b->n && rc == HUB_SQL_DONE; i++) {
		hub_sql_bind_int64(st, 1, b->rows[i].agent_id);
		hub_sql_bind_int64(st, 2, b->rows[i].ts);
		for (k = 0; k < NFIG; k++)	/* avg() skips NULL */
			if (isnan(b->rows[i].v[k]))
				hub_sql_bind_null(st, 3 + k);
			else
				hub_sql_bind_double(st, 3 + k, b->rows[i].v[k]);
		if ((rc = hub_sql_step(st)) != HUB_SQL_DONE &&
		    !hub_db_is_store_error(rc))
			mc_err("history: %s", hub_sql_errmsg(db));
		hub_sql_reset(st);
	}
	hub_sql_finalize(st);
	/* a full disk: the batch is held and this runs again */
	return rc == HUB_SQL_DONE ? HUB_SQL_OK : rc;
}

static void
write_done(void *arg, int stored)
{
	if (!stored)
		mc_warn("history: a minute of metrics was not stored");
	free(arg);
}

/* Every agent's finished minute, in one job. */
static void
flush_minutes(void)
{
	struct hub_agent *a;

	for (a = hub_agent_first(); a != NULL; a = a->next)
		if (a->hist.n > 0 && a->hist.minute < hs.minute)
			acc_take(a);
	if (hs.ready == NULL)
		return;
	hub_db_call(write_run, write_done, hs.ready);
	hs.ready = NULL;
}

void
hub_series_shutdown(void)
{
	struct hub_agent *a;

	for (a = hub_agent_first(); a != NULL; a = a->next)
		acc_take(a);
	if (hs.ready != NULL)
		hub_db_call(write_run, write_done, hs.ready);
	hs.ready = NULL;
}

/* Roll every finished quarter not yet rolled up (idempotent: it starts
 * after the newest quarter already in metrics_15m). */
static void
rollup(int64_t upto)
{
	hub_db_exec("INSERT INTO metrics_15m(agent_id, ts, cpu,"
	    " mem, disk, rx, tx, gpu_util, gpu_mem, gpu_temp, cpu_temp)"
	    " SELECT agent_id, ts - ts % 900, avg(cpu), avg(mem), avg(disk),"
	    " avg(rx), avg(tx), avg(gpu_util), avg(gpu_mem), avg(gpu_temp),"
	    " avg(cpu_temp) FROM metrics_1m WHERE"
	    " ts >= coalesce((SELECT max(ts) + 900 FROM metrics_15m), 0)"
	    " AND ts < ? GROUP BY agent_id, ts - ts % 900"
	    " ON CONFLICT(agent_id, ts) DO UPDATE SET cpu = excluded.cpu,"
	    " mem = excluded.mem, disk = excluded.disk, rx = excluded.rx,"
	    " tx = excluded.tx, gpu_util = excluded.gpu_util,"
	    " gpu_mem = excluded.gpu_mem, gpu_temp = excluded.gpu_temp,"
	    " cpu_temp = excluded.cpu_temp", "i", upto);
}

static void
prune(double wall)
{
	double keep = hub.conf.history_retention;
	double fine = keep < HIST_FINE_KEEP ? keep : HIST_FINE_KEEP;

	hub_db_exec("DELETE FROM metrics_1m WHERE ts < ?", "i",
	    (int64_t)(wall - fine));
	hub_db_exec("DELETE FROM metrics_15m WHERE ts < ?", "i",
	    (int64_t)(wall - keep));
}

void
hub_series_cron(double wall)
{
	int64_t m = floor_to(wall, HIST_MINUTE);
	int64_t q = floor_to(wall, HIST_QUARTER);

	if (!hs.started) {
		hs.started = 1;
		hs.minute = m;
		hs.quarter = q;
		hs.last_prune = wall;
		rollup(q);
		prune(wall);
		return;
	}
	if (m != hs.minute) {
		hs.minute = m;
		flush_minutes();
	}
	if (q != hs.quarter) {
		hs.quarter = q;
		rollup(q);
	}
	if (wall - hs.last_prune >= HIST_PRUNE_EVERY) {
		hs.last_prune = wall;
		prune(wall);
	}
}

/* ---- reading ---- */

struct hist_read {
	struct hub_db_answer ans;	/* first: hub_db_ask() */
	int64_t		 agent_id;
	int		 range;		/* seconds */
	int64_t		 since;
	int		 have_now;	/* the minute in progress, from memory */
	struct hist_row	 now;
};

/* The base figures are null when not measured; the hardware ones are
 * absent, so an agent without a GPU has the points it always had. */
static void
point_write(struct mc_jw *w, int64_t ts, const double v[NFIG])
{
	static const char *const keys[5] = { "cpu", "mem", "disk", "rx", "tx" };
	int i;

	mc_jw_obj(w, NULL);
	mc_jw_i64(w, "ts", ts);
	for (i = 0; i < 5; i++)
		mc_jw_dbl(w, keys[i], v[i]);
	for (i = 0; i < HUB_HW_COUNT; i++)
		if (!isnan(v[5 + i]))
			mc_jw_fixed(w, hub_hw_key((enum hub_hw)i), v[5 + i], 2);
	mc_jw_obj_end(w);
}

/* Points of sql (agent_id, since, and for the quarter view its start). */
static void
points_query(struct hub_sql *db, struct hist_read *j, const char *sql,
    struct mc_jw *w, int64_t *last)
{
	struct hub_sql_stmt *st;
	double v[NFIG];
	int i;

	if (hub_sql_prepare(db, sql, &st) != HUB_SQL_OK) {
		mc_err("history: %s", hub_sql_errmsg(db));
		return;
	}
	hub_sql_bind_int64(st, 1, j->agent_id);
	hub_sql_bind_int64(st, 2, j->since);
	while (hub_sql_step(st) == HUB_SQL_ROW && !w->err) {
		if (hub_sql_null(st, 0))
			continue;
		for (i = 0; i < NFIG; i++)	/* NULL: not measured */
			v[i] = hub_sql_null(st, i + 1) ?
			    NAN : hub_sql_double(st, i + 1);
		*last = hub_sql_int64(st, 0);
		point_write(w, *last, v);
	}
	hub_sql_finalize(st);
}

static int
read_run(struct hub_sql *db, void *arg)
{
#define FIGS	"cpu, mem, disk, rx, tx, gpu_util, gpu_mem, gpu_temp, cpu_temp"
	static const char q_fine[] = "SELECT ts, " FIGS " FROM metrics_1m"
	    " WHERE agent_id = ? AND ts >= ? ORDER BY ts";
	static const char q_coarse[] = "SELECT ts, " FIGS " FROM metrics_15m"
	    " WHERE agent_id = ? AND ts >= ? ORDER BY ts";
#undef FIGS
	/* the quarters not rolled up yet, from the minutes */
	static const char q_recent[] = "SELECT ts - ts % 900, avg(cpu),"
	    " avg(mem), avg(disk), avg(rx), avg(tx), avg(gpu_util),"
	    " avg(gpu_mem), avg(gpu_temp), avg(cpu_temp) FROM metrics_1m WHERE"
	    " agent_id = ? AND ts >= ? GROUP BY ts - ts % 900 ORDER BY 1";
	struct hist_read *j = arg;
	int coarse = j->range > 86400;
	struct mc_jw w;
	int64_t last = -1;

	mc_jw_init(&w, &j->ans.out);
	mc_jw_obj(&w, NULL);
	mc_jw_i64(&w, "step", coarse ? HIST_QUARTER : HIST_MINUTE);
	mc_jw_arr(&w, "points");
	points_query(db, j, coarse ? q_coarse : q_fine, &w, &last);
	if (coarse) {
		j->since = last >= 0 ? last + HIST_QUARTER : j->since;
		points_query(db, j, q_recent, &w, &last);
	} else if (j->have_now && j->now.ts > last) {
		point_write(&w, j->now.ts, j->now.v);
	}
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1)
		mc_buf_reset(&j->ans.out);
	return HUB_SQL_OK;
}

void
hub_series_read(struct hub_agent *a, int range_s,
    void (*done)(void *arg, char *json, size_t len), void *arg)
{
	const struct hub_series_acc *h = &a->hist;
	struct hist_read *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		done(arg, NULL, 0);
		return;
	}
	j->agent_id = a->id;
	j->range = range_s;
	j->since = (int64_t)mc_wall() - range_s;
	if (h->n > 0) {
		j->have_now = 1;
		acc_avg(h, &j->now);
	}
	hub_db_ask(read_run, &j->ans, HIST_JSON_MAX, done, arg);
}
