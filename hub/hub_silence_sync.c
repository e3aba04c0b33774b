/*
 * hub_silence_sync.c - the silences of a store several hubs share, read
 * every SYNC_EVERY seconds so that one made or cleared through another
 * hub is in force, or over, here too (hub_silence_sync() decides).
 *
 * Only on a shared store: on SQLite one hub owns the file and its
 * silences are all in its memory.  The read runs on the reader
 * connection, never on the loop; one at a time.  It takes the silences
 * whose time is not up, open or ended (an ended one ends here too), the
 * newest SYNC_ROWS of them: more than MC_SILENCES_MAX can run at once.
 */
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hub_sql.h"
#include "mc_log.h"
#include "mc_util.h"

#define SYNC_EVERY	5.0	/* seconds between reads */
#define SYNC_ROWS	(2 * MC_SILENCES_MAX)

struct sync_read {
	double			 now;		/* wall: until must be later */
	struct hub_silence_row	*rows;		/* owned */
	int			 n, cap;
};

static struct {
	double	 next;		/* monotonic */
	int	 reading;
} ss;

/* The next row to fill, growing the array; NULL when full or out of
 * memory. */
static struct hub_silence_row *
row_new(struct sync_read *r)
{
	struct hub_silence_row *rows;
	int cap;

	if (r->n == r->cap) {
		cap = r->cap ? r->cap * 2 : 16;
		if (r->cap >= SYNC_ROWS || (rows = realloc(r->rows,
		    (size_t)cap * sizeof(*rows))) == NULL)
			return NULL;
		r->rows = rows;
		r->cap = cap;
	}
	memset(&r->rows[r->n], 0, sizeof(r->rows[0]));
	return &r->rows[r->n++];
}

/* Reader thread. */
static int
sync_run(struct hub_sql *db, void *arg)
{
	struct sync_read *r = arg;
	struct hub_silence_row *row;
	struct hub_sql_stmt *st;
	int rc;

	if ((rc = hub_sql_prepare(db, "SELECT id, agent, tag, created, until,"
	    " reason, created_by, hub, CASE WHEN ended IS NULL THEN 0 ELSE 1"
	    " END FROM silences WHERE until > ? ORDER BY created DESC",
	    &st)) != HUB_SQL_OK)
		return rc;
	hub_sql_bind_double(st, 1, r->now);
	while ((rc = hub_sql_step(st)) == HUB_SQL_ROW &&
	    (row = row_new(r)) != NULL) {
		mc_strlcpy(row->id, hub_sql_str(st, 0), sizeof(row->id));
		mc_strlcpy(row->agent, hub_sql_str(st, 1), sizeof(row->agent));
		mc_strlcpy(row->tag, hub_sql_str(st, 2), sizeof(row->tag));
		row->created = hub_sql_double(st, 3);
		row->until = hub_sql_double(st, 4);
		mc_strlcpy(row->reason, hub_sql_str(st, 5),
		    sizeof(row->reason));
		mc_strlcpy(row->by, hub_sql_str(st, 6), sizeof(row->by));
		mc_strlcpy(row->hub, hub_sql_str(st, 7), sizeof(row->hub));
		row->ended = hub_sql_int64(st, 8) != 0;
	}
	hub_sql_finalize(st);
	return HUB_SQL_OK;
}

/* Service thread. */
static void
sync_done(void *arg, int stored)
{
	struct sync_read *r = arg;	/* owned here */

	ss.reading = 0;
	if (stored)
		hub_silence_sync(r->rows, r->n);
	free(r->rows);
	free(r);
}

void
hub_silence_sync_cron(double now)
{
	struct sync_read *r;

	if (!hub_db_shared() || now < ss.next || ss.reading)
		return;
	ss.next = now + SYNC_EVERY;
	if ((r = calloc(1, sizeof(*r))) == NULL)	/* owned by sync_done */
		return;
	r->now = mc_wall();
	ss.reading = 1;
	hub_db_read(sync_run, sync_done, r);
}
