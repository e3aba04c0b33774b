/*
 * hub_events.c - the event log: recorded once, read from the store.
 *
 * Every status change, command outcome, alert, silence, audit entry and
 * fault of the hub is one event.  A command's event also carries the
 * command's text (cut short), so a reader of the log sees what ran without
 * asking for each command.  The hub numbers events itself (the id
 * after the largest stored at start), so the live feed can carry the id
 * before the row is committed, and a client that lost its feed (a hub
 * restart, a dropped connection) asks for what came after the last id it
 * saw: nothing lost, nothing twice.
 *
 * GET /api/events reads the events table on the database thread, after
 * every write queued before it, so a page never misses an event the feed
 * already showed.  Newest first by default and with before=ID; oldest
 * first with after=ID or since=TIME, which is how a client pages forward.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "hub.h"
#include "hub_sql.h"
#include "mc_log.h"
#include "mc_util.h"

#define EVENTS_JSON_MAX	(4 * 1024 * 1024)

void
hub_event_write(struct mc_jw *w, const struct hub_event_rec *e)
{
	mc_jw_obj(w, NULL);
	mc_jw_i64(w, "id", e->id);
	mc_jw_dbl(w, "ts", e->ts);
	mc_jw_str(w, "type", e->type);
	mc_jw_str(w, "agent", e->agent);
	mc_jw_str(w, "from", e->from);
	mc_jw_str(w, "to", e->to);
	if (e->detail != NULL && e->detail[0])
		mc_jw_str(w, "detail", e->detail);
	if (e->cmd != NULL && e->cmd[0])
		mc_jw_str(w, "cmd", e->cmd);
	mc_jw_obj_end(w);
}

static void
record(const char *type, const char *agent, const char *from,
    const char *to, const char *detail, const char *cmd)
{
	struct hub_event_rec e = {
	    hub_db_next_id(HUB_SEQ_EVENTS), mc_wall(), type, agent, from,
	    to, detail, cmd };

	hub_ui_event(&e);
	hub_db_exec("INSERT INTO events(id, ts, type, agent, from_status,"
	    " to_status, detail, cmd) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	    "idtttttt", e.id, e.ts, type, agent, from, to, detail,
	    cmd != NULL && cmd[0] ? cmd : NULL);
}

void
hub_event(const char *type, const char *agent, const char *from,
    const char *to, const char *detail)
{
	record(type, agent, from, to, detail, NULL);
}

void
hub_event_command(const char *agent, const char *by, const char *to,
    const char *detail, const char *text)
{
	static const char more[] = "\xe2\x80\xa6";	/* U+2026 ... */
	char cmd[MC_TEXT_MAX];

	if (text == NULL)
		text = "";
	if (mc_strlcpy(cmd, text, sizeof(cmd) - (sizeof(more) - 1)) == -1)
		memcpy(cmd + strlen(cmd), more, sizeof(more));
	record("command", agent, by, to, detail, cmd);
}

/* ---- reading a page ---- */

struct events_job {
	struct hub_db_answer	ans;	/* first: freed by hub_db_ask() */
	struct hub_events_query	q;
};

static const char *
col(struct hub_sql_stmt *st, int i)
{
	const char *s = hub_sql_text(st, i);

	return s != NULL ? (const char *)s : "";
}

/*
 * The query from fixed pieces: the parameters are bound, never pasted.
 * One row more than the limit says whether another page follows.
 */
static struct hub_sql_stmt *
page_prepare(struct hub_sql *db, const struct hub_events_query *q)
{
	char sql[512];
	struct hub_sql_stmt *st;
	int n = 1, asc = q->after >= 0 || q->since > 0;

	snprintf(sql, sizeof(sql), "SELECT id, ts, type, agent, from_status,"
	    " to_status, detail, cmd FROM events WHERE 1 = 1%s%s%s%s%s ORDER BY id %s"
	    " LIMIT ?", q->before > 0 ? " AND id < ?" : "",
	    q->after >= 0 ? " AND id > ?" : "",
	    q->since > 0 ? " AND ts >= ?" : "",
	    q->agent[0] ? " AND agent = ?" : "",
	    q->type[0] ? " AND type = ?" : "", asc ? "ASC" : "DESC");
	if (hub_sql_prepare(db, sql, &st) != HUB_SQL_OK)
		return NULL;
	if (q->before > 0)
		hub_sql_bind_int64(st, n++, q->before);
	if (q->after >= 0)
		hub_sql_bind_int64(st, n++, q->after);
	if (q->since > 0)
		hub_sql_bind_double(st, n++, q->since);
	if (q->agent[0])
		hub_sql_bind_text(st, n++, q->agent);
	if (q->type[0])
		hub_sql_bind_text(st, n++, q->type);
	hub_sql_bind_int64(st, n, q->limit + 1);
	return st;
}

static int
page_run(struct hub_sql *db, void *arg)
{
	struct events_job *j = arg;
	struct hub_event_rec e;
	struct hub_sql_stmt *st;
	struct mc_jw w;
	int rows = 0, more = 0;

	if ((st = page_prepare(db, &j->q)) == NULL) {
		mc_err("events: %s", hub_sql_errmsg(db));
		return HUB_SQL_OK;	/* nothing written: the caller's 500 */
	}
	mc_jw_init(&w, &j->ans.out);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "events");
	while (hub_sql_step(st) == HUB_SQL_ROW && !w.err) {
		if (rows++ == j->q.limit) {
			more = 1;
			break;
		}
		e.id = hub_sql_int64(st, 0);
		e.ts = hub_sql_double(st, 1);
		e.type = col(st, 2);
		e.agent = col(st, 3);
		e.from = col(st, 4);
		e.to = col(st, 5);
		e.detail = col(st, 6);
		e.cmd = col(st, 7);
		hub_event_write(&w, &e);
	}
	hub_sql_finalize(st);
	mc_jw_arr_end(&w);
	mc_jw_bool(&w, "more", more);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1)
		mc_buf_reset(&j->ans.out);
	return HUB_SQL_OK;
}

void
hub_events_read(const struct hub_events_query *q,
    void (*done)(void *arg, char *json, size_t len), void *arg)
{
	struct events_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		done(arg, NULL, 0);
		return;
	}
	j->q = *q;
	hub_db_ask(page_run, &j->ans, EVENTS_JSON_MAX, done, arg);
}
