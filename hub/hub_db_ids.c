/*
 * hub_db_ids.c - agents' and events' ids, taken from the store in blocks.
 *
 * The service thread numbers new agents and events at once, without asking
 * the store: it takes them from a block the store handed out (hub_sql.h's
 * ids()).  On SQLite the one block is every id after the largest stored,
 * as before; on PostgreSQL blocks come from sequences, so hubs sharing a
 * database never hand out the same id, and each hub's ids rise.  When half
 * of a block is used, the next is fetched on the writer thread.  A new
 * agent waits for a block (hub_db_id_ready(): its enrollment is refused as
 * "unavailable, try again" until one is there), since an enrollment storm
 * can use a block up while the fetch waits behind the writes queued before
 * it.  Events do not wait: if their block runs out (the store down for a
 * long time; a block is a million events), numbering goes on past its end
 * and says so once: an id that then collides with another hub's loses its
 * row in the store (the insert is refused and logged), not its place in
 * memory.
 */
#include <stdlib.h>

#include "hub.h"
#include "hub_sql.h"
#include "mc_log.h"

struct id_block {
	int64_t		 next, end;	/* [next, end) */
	int64_t		 size;		/* ids the store's blocks hold */
	int64_t		 spare, spare_end;	/* fetched, not used yet */
	int		 fetching, past_end_logged;
};

static struct id_block blocks[HUB_SEQ_N];

struct fetch_job {
	enum hub_sql_seq seq;
	int64_t		 first, count;
	int		 ok;
};

static int64_t
block_end(int64_t first, int64_t count)
{
	return count > INT64_MAX - first ? INT64_MAX : first + count;
}

int
hub_db_ids_load(struct hub_sql *db)
{
	int64_t first, count;
	int s;

	for (s = 0; s < HUB_SEQ_N; s++) {
		if (db->ops->ids(db, (enum hub_sql_seq)s, &first, &count) !=
		    HUB_SQL_OK)
			return -1;
		blocks[s].next = first;
		blocks[s].end = block_end(first, count);
		blocks[s].size = count;
	}
	return 0;
}

/* Writer thread. */
static int
fetch_run(struct hub_sql *db, void *arg)
{
	struct fetch_job *j = arg;

	j->ok = db->ops->ids(db, j->seq, &j->first, &j->count) == HUB_SQL_OK;
	return HUB_SQL_OK;
}

static void
fetch_done(void *arg, int stored)
{
	struct fetch_job *j = arg;
	struct id_block *b = &blocks[j->seq];

	b->fetching = 0;
	if (stored && j->ok) {
		b->spare = j->first;
		b->spare_end = block_end(j->first, j->count);
	}
	free(j);
}

static void
fetch_next(enum hub_sql_seq seq)
{
	struct id_block *b = &blocks[seq];
	struct fetch_job *j;

	if (b->fetching || b->spare_end > b->spare ||
	    (j = calloc(1, sizeof(*j))) == NULL)	/* owned by fetch_done */
		return;
	j->seq = seq;
	b->fetching = 1;
	hub_db_read(fetch_run, fetch_done, j);
}

int
hub_db_id_ready(int seq)
{
	struct id_block *b = &blocks[seq];

	if (b->next < b->end || b->spare_end > b->spare)
		return 1;
	fetch_next((enum hub_sql_seq)seq);
	return 0;
}

int64_t
hub_db_next_id(int seq)
{
	struct id_block *b = &blocks[seq];

	if (b->next >= b->end && b->spare_end > b->spare) {
		b->next = b->spare;
		b->end = b->spare_end;
		b->spare = b->spare_end = 0;
		b->past_end_logged = 0;
	}
	if (b->next >= b->end && !b->past_end_logged) {
		mc_err("db: used up a block of %s ids before the store gave "
		    "the next; numbering on past it",
		    seq == HUB_SEQ_AGENTS ? "agent" : "event");
		b->past_end_logged = 1;
	}
	if (b->end - b->next < b->size / 2)
		fetch_next(seq);
	if (b->next <= 0)
		b->next = 1;
	return b->next++;
}
