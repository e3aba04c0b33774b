/*
 * hub_retain.c - the store does not grow without end.
 *
 * Events and alerts older than events_retention (default 365 days),
 * finished commands with their output older than commands_retention
 * (default 90 days), and terminal sessions closed before
 * record_retention (default 90 days; hub_rec_store.c deletes their casts
 * with the rows) are deleted in batches of RETAIN_BATCH rows, each a
 * job for the writer thread, so neither the loop nor the writer is ever
 * held by one long DELETE: every RETAIN_EVERY seconds one batch per table
 * (a backlog, after an upgrade or a lowered setting, is caught up at
 * 3,600 rows a minute a table).  Metric history has its own retention
 * (hub_series.c).  The database's size is read on the writer thread at the
 * same pace, for /metrics.
 */
#include <stdlib.h>

#include <sqlite3.h>

#include "hub.h"
#include "mc_util.h"

#define RETAIN_EVERY	10.0	/* seconds between rounds */
#define RETAIN_BATCH	"600"	/* rows a statement (in the SQL text) */

static struct {
	double		 next;		/* monotonic */
	int64_t		 size;		/* bytes in use, last read */
	int		 reading;	/* a size read is queued */
} rt;

struct size_job {
	int64_t	bytes;
};

static int
size_run(struct sqlite3 *db, void *arg)
{
	struct size_job *j = arg;
	sqlite3_stmt *st;
	int64_t pages = 0, size = 0, freep = 0;

	if (sqlite3_prepare_v2(db, "SELECT page_count, page_size,"
	    " freelist_count FROM pragma_page_count(), pragma_page_size(),"
	    " pragma_freelist_count()", -1, &st, NULL) != SQLITE_OK)
		return SQLITE_OK;
	if (sqlite3_step(st) == SQLITE_ROW) {
		pages = sqlite3_column_int64(st, 0);
		size = sqlite3_column_int64(st, 1);
		freep = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	j->bytes = (pages - freep) * size;
	return SQLITE_OK;
}

static void
size_done(void *arg, int stored)
{
	struct size_job *j = arg;

	if (stored && j->bytes > 0)
		rt.size = j->bytes;
	rt.reading = 0;
	free(j);
}

static void
read_size(void)
{
	struct size_job *j;

	if (rt.reading || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	rt.reading = 1;
	hub_db_read(size_run, size_done, j);
}

void
hub_retain_cron(double now)
{
	double wall = mc_wall();

	if (now < rt.next)
		return;
	rt.next = now + RETAIN_EVERY;
	hub_db_exec("DELETE FROM events WHERE id IN (SELECT id FROM events"
	    " WHERE ts < ? ORDER BY ts LIMIT " RETAIN_BATCH ")", "d",
	    wall - hub.conf.events_retention);
	hub_db_exec("DELETE FROM alerts WHERE id IN (SELECT id FROM alerts"
	    " WHERE ts < ? ORDER BY ts LIMIT " RETAIN_BATCH ")", "d",
	    wall - hub.conf.events_retention);
	hub_db_exec("DELETE FROM commands WHERE rowid IN (SELECT rowid FROM"
	    " commands WHERE created < ? AND status NOT IN ('queued', 'sent',"
	    " 'running') LIMIT " RETAIN_BATCH ")", "d",
	    wall - hub.conf.commands_retention);
	hub_rec_retain(wall - hub.conf.record_retention);
	read_size();
}

int64_t
hub_retain_db_bytes(void)
{
	return rt.size;
}
