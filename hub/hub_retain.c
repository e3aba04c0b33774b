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
 * (hub_series.c).  The database's size (SQLite: pages in use; PostgreSQL:
 * pg_database_size) is read on the writer thread at the same pace, for
 * /metrics.
 */
#include <stdlib.h>


#include "hub.h"
#include "hub_sql.h"
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
size_run(struct hub_sql *db, void *arg)
{
	struct size_job *j = arg;

	if (db->ops->size(db, &j->bytes) == -1)
		j->bytes = 0;
	return HUB_SQL_OK;
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
	hub_db_exec("DELETE FROM commands WHERE id IN (SELECT id FROM"
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
