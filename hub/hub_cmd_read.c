/*
 * hub_cmd_read.c - past commands, read from the store off the loop.
 *
 * The read runs on the database thread after every write queued before
 * it, so it sees each command as the hub last recorded it.  The JSON is
 * built there and handed back to the service thread whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "hub.h"
#include "hub_sql.h"
#include "mc_log.h"
#include "mc_util.h"

#define HISTORY_JSON_MAX	(8 * 1024 * 1024)

struct past_job {
	struct hub_db_answer ans;	/* first: hub_db_ask() */
	char		 agent[MC_NAME_MAX + 1];	/* "" for all */
	char		 id[MC_ID_MAX];		/* hub_cmd_read() */
	int		 png;
	int		 limit;
};

static void
col_str(struct mc_jw *w, struct hub_sql_stmt *st, const char *key, int i)
{
	const char *t = hub_sql_text(st, i);

	if (t == NULL)
		mc_jw_null(w, key);
	else
		mc_jw_str(w, key, (const char *)t);
}

static void
col_time(struct mc_jw *w, struct hub_sql_stmt *st, const char *key, int i)
{
	double t = hub_sql_double(st, i);

	if (t > 0)
		mc_jw_dbl(w, key, t);
	else
		mc_jw_null(w, key);
}

/*
 * The fields of a stored command that both queries select first, in this
 * order: id, agent, kind, cmd, requested_by, created, finished, status,
 * exit_code, truncated, error, arg.  Leaves the object open.
 */
static void
cols_common(struct mc_jw *w, struct hub_sql_stmt *st)
{
	mc_jw_obj(w, NULL);
	col_str(w, st, "id", 0);
	col_str(w, st, "agent", 1);
	col_str(w, st, "type", 2);
	col_str(w, st, "cmd", 3);
	if (hub_sql_bytes(st, 11) > 0)
		col_str(w, st, "arg", 11);
	col_str(w, st, "requested_by", 4);
	col_time(w, st, "created", 5);
	col_time(w, st, "finished", 6);
	col_str(w, st, "status", 7);
	if ((int)hub_sql_int64(st, 8) >= 0 && hub_sql_double(st, 6) > 0)
		mc_jw_i64(w, "exit", (int)hub_sql_int64(st, 8));
	else
		mc_jw_null(w, "exit");
	mc_jw_bool(w, "truncated", (int)hub_sql_int64(st, 9));
	col_str(w, st, "error", 10);
}

static void
row_write(struct mc_jw *w, struct hub_sql_stmt *st)
{
	cols_common(w, st);
	mc_jw_obj_end(w);
}

static int
past_run(struct hub_sql *db, void *arg)
{
	static const char q_all[] = "SELECT id, agent, kind, cmd,"
	    " requested_by, created, finished, status, exit_code, truncated,"
	    " error, arg FROM commands ORDER BY created DESC LIMIT ?";
	static const char q_agent[] = "SELECT id, agent, kind, cmd,"
	    " requested_by, created, finished, status, exit_code, truncated,"
	    " error, arg FROM commands WHERE agent = ? ORDER BY created DESC"
	    " LIMIT ?";
	struct past_job *j = arg;
	struct hub_sql_stmt *st;
	struct mc_jw w;
	int n = 1;

	mc_jw_init(&w, &j->ans.out);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "commands");
	if (hub_sql_prepare(db, j->agent[0] ? q_agent : q_all, &st) == HUB_SQL_OK) {
		if (j->agent[0])
			hub_sql_bind_text(st, n++, j->agent);
		hub_sql_bind_int64(st, n, j->limit);
		while (hub_sql_step(st) == HUB_SQL_ROW && !w.err)
			row_write(&w, st);
		hub_sql_finalize(st);
	} else
		mc_err("history: %s", hub_sql_errmsg(db));
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1)
		mc_buf_reset(&j->ans.out);
	return HUB_SQL_OK;
}

void
hub_cmd_history(const char *agent, int limit,
    void (*done)(void *arg, char *json, size_t len), void *arg)
{
	struct past_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		done(arg, NULL, 0);
		return;
	}
	mc_strlcpy(j->agent, agent ? agent : "", sizeof(j->agent));
	j->limit = limit;
	hub_db_ask(past_run, &j->ans, HISTORY_JSON_MAX, done, arg);
}

/* One command as GET /api/commands/{id} shows it; after the common
 * columns the query adds out_bytes, output, length(blob), started. */
static void
one_write(struct mc_jw *w, struct hub_sql_stmt *st)
{
	char link[MC_ID_MAX + 32];

	cols_common(w, st);
	mc_jw_i64(w, "out_bytes", hub_sql_int64(st, 12));
	mc_jw_strn(w, "output", (const char *)hub_sql_blob(st, 13) ?
	    (const char *)hub_sql_blob(st, 13) : "",
	    hub_sql_bytes(st, 13));
	if (hub_sql_int64(st, 14) > 0) {
		snprintf(link, sizeof(link), "/api/commands/%s/png",
		    hub_sql_text(st, 0));
		mc_jw_str(w, "png", link);
		mc_jw_i64(w, "png_bytes", hub_sql_int64(st, 14));
	}
	col_time(w, st, "started", 15);
	mc_jw_obj_end(w);
}

static int
read_run(struct hub_sql *db, void *arg)
{
	static const char q_one[] = "SELECT id, agent, kind, cmd,"
	    " requested_by, created, finished, status, exit_code, truncated,"
	    " error, arg, out_bytes, output, length(blob), started"
	    " FROM commands WHERE id = ?";
	static const char q_png[] = "SELECT blob FROM commands WHERE id = ?";
	struct past_job *j = arg;
	struct hub_sql_stmt *st;
	struct mc_jw w;

	if (hub_sql_prepare(db, j->png ? q_png : q_one, &st) !=
	    HUB_SQL_OK) {
		mc_err("read command: %s", hub_sql_errmsg(db));
		return HUB_SQL_OK;
	}
	hub_sql_bind_text(st, 1, j->id);
	if (hub_sql_step(st) == HUB_SQL_ROW) {
		if (j->png) {
			if (hub_sql_bytes(st, 0) > 0)
				mc_buf_append(&j->ans.out, hub_sql_blob(st,
				    0), hub_sql_bytes(st, 0));
		} else {
			mc_jw_init(&w, &j->ans.out);
			one_write(&w, st);
			if (mc_jw_done(&w) == -1)
				mc_buf_reset(&j->ans.out);
		}
	}
	hub_sql_finalize(st);
	return HUB_SQL_OK;
}

void
hub_cmd_read(const char *id, int png,
    void (*done)(void *arg, char *data, size_t len), void *arg)
{
	struct past_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		done(arg, NULL, 0);
		return;
	}
	mc_strlcpy(j->id, id, sizeof(j->id));
	j->png = png;
	hub_db_ask(read_run, &j->ans, png ? MC_BLOB_MAX :
	    MC_OUTPUT_CAP_MAX * 7, done, arg);
}
