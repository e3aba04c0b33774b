/*
 * hub_db_load.c - the hub's state read from the store at start.
 *
 * Runs once, before the event loop and before the writer thread starts,
 * so it reads the database directly: agents, tokens and enrollment keys,
 * the last events for the in-memory ring, and the commands that were not
 * finished when the hub stopped.
 */
#include <string.h>

#include <sqlite3.h>

#include "hub.h"
#include "mc_util.h"

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

/* Tags are stored comma-joined; a tag never contains a comma. */
static void
load_tags(struct hub_agent *a, const char *tags)
{
	size_t n;

	a->ntags = 0;
	while (*tags && a->ntags < MC_TAGS_MAX) {
		n = strcspn(tags, ",");
		if (n > 0 && n <= MC_TAG_MAX) {
			memcpy(a->tags[a->ntags], tags, n);
			a->tags[a->ntags++][n] = '\0';
		}
		tags += n + (tags[n] == ',');
	}
}

static int
load_agents(sqlite3 *db)
{
	sqlite3_stmt *st;
	struct hub_agent *a;

	if (sqlite3_prepare_v2(db, "SELECT id, name, cred_hash, hostname,"
	    " os, kernel, arch, version, cpus, mem_total, tags, status,"
	    " last_seen, boot FROM agents ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		a = hub_agent_restore(sqlite3_column_int64(st, 0),
		    col_text(st, 1), col_text(st, 2));
		if (a == NULL)
			continue;
		mc_strlcpy(a->hostname, col_text(st, 3), sizeof(a->hostname));
		mc_strlcpy(a->os, col_text(st, 4), sizeof(a->os));
		mc_strlcpy(a->kernel, col_text(st, 5), sizeof(a->kernel));
		mc_strlcpy(a->arch, col_text(st, 6), sizeof(a->arch));
		mc_strlcpy(a->version, col_text(st, 7), sizeof(a->version));
		a->cpus = sqlite3_column_int(st, 8);
		a->mem_total = (uint64_t)sqlite3_column_int64(st, 9);
		load_tags(a, col_text(st, 10));
		mc_strlcpy(a->boot, col_text(st, 13), sizeof(a->boot));
		hub_live_restore(a, col_text(st, 11),
		    sqlite3_column_double(st, 12));
	}
	sqlite3_finalize(st);
	return 0;
}

static int
load_auth(sqlite3 *db)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT id, hash, role, name, created,"
	    " revoked FROM tokens", -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW)
		hub_auth_restore_token(col_text(st, 0), col_text(st, 1),
		    sqlite3_column_int(st, 2), col_text(st, 3),
		    sqlite3_column_double(st, 4), sqlite3_column_int(st, 5));
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "SELECT id, hash, uses, used, expires,"
	    " created, revoked FROM enroll_keys", -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW)
		hub_auth_restore_key(col_text(st, 0), col_text(st, 1),
		    sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
		    sqlite3_column_double(st, 4), sqlite3_column_double(st, 5),
		    sqlite3_column_int(st, 6));
	sqlite3_finalize(st);
	return 0;
}

/* Events are numbered on from the newest stored one. */
static int
load_events(sqlite3 *db)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM events",
	    -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		hub_events_restore(sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	return 0;
}

/* Commands that were not finished when the hub stopped: they live on. */
static int
load_commands(sqlite3 *db)
{
	struct hub_cmd_row r;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT id, agent, kind, cmd, arg,"
	    " requested_by, created, started, status, timeout, cap, expires,"
	    " output, out_bytes, signed FROM commands WHERE status IN ('queued', 'sent', 'running')"
	    " ORDER BY created", -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		r.id = col_text(st, 0);
		r.agent = col_text(st, 1);
		r.kind = col_text(st, 2);
		r.cmd = (const char *)sqlite3_column_text(st, 3);
		r.arg = col_text(st, 4);
		r.by = col_text(st, 5);
		r.created = sqlite3_column_double(st, 6);
		r.started = sqlite3_column_double(st, 7);
		r.status = col_text(st, 8);
		r.timeout = sqlite3_column_double(st, 9);
		r.cap = (uint64_t)sqlite3_column_int64(st, 10);
		r.expires = sqlite3_column_double(st, 11);
		r.out = sqlite3_column_blob(st, 12);
		r.out_len = (size_t)sqlite3_column_bytes(st, 12);
		r.out_bytes = (uint64_t)sqlite3_column_int64(st, 13);
		r.sig = (const char *)sqlite3_column_text(st, 14);
		hub_cmd_restore(&r);
	}
	sqlite3_finalize(st);
	return 0;
}

int
hub_db_load_state(struct sqlite3 *db)
{
	if (load_agents(db) == -1 || load_auth(db) == -1 ||
	    load_events(db) == -1 || hub_roll_load(db) == -1 ||
	    load_commands(db) == -1 ||
	    hub_release_load(db) == -1)
		return -1;
	return 0;
}
