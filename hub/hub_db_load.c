/*
 * hub_db_load.c - the hub's state read from the store at start.
 *
 * Runs once, before the event loop and before the writer thread starts,
 * so it reads the database directly: agents, tokens and enrollment keys,
 * and the commands that were not finished when the hub stopped.
 */
#include <string.h>

#include "hub.h"
#include "hub_sql.h"
#include "mc_util.h"

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
load_agents(struct hub_sql *db)
{
	struct hub_sql_stmt *st;
	struct hub_agent *a;

	if (hub_sql_prepare(db, "SELECT id, name, cred_hash, hostname,"
	    " os, kernel, arch, version, cpus, mem_total, tags, status,"
	    " last_seen, boot, since FROM agents ORDER BY id", &st) !=
	    HUB_SQL_OK)
		return -1;
	while (hub_sql_step(st) == HUB_SQL_ROW) {
		a = hub_agent_restore(hub_sql_int64(st, 0),
		    hub_sql_str(st, 1), hub_sql_str(st, 2));
		if (a == NULL)
			continue;
		mc_strlcpy(a->hostname, hub_sql_str(st, 3), sizeof(a->hostname));
		mc_strlcpy(a->os, hub_sql_str(st, 4), sizeof(a->os));
		mc_strlcpy(a->kernel, hub_sql_str(st, 5), sizeof(a->kernel));
		mc_strlcpy(a->arch, hub_sql_str(st, 6), sizeof(a->arch));
		mc_strlcpy(a->version, hub_sql_str(st, 7), sizeof(a->version));
		a->cpus = (int)hub_sql_int64(st, 8);
		a->mem_total = (uint64_t)hub_sql_int64(st, 9);
		load_tags(a, hub_sql_str(st, 10));
		mc_strlcpy(a->boot, hub_sql_str(st, 13), sizeof(a->boot));
		hub_live_restore(a, hub_sql_str(st, 11),
		    hub_sql_double(st, 12), hub_sql_double(st, 14));
	}
	hub_sql_finalize(st);
	return 0;
}

static int
load_auth(struct hub_sql *db)
{
	struct hub_sql_stmt *st;

	if (hub_sql_prepare(db, "SELECT id, hash, role, name, created,"
	    " revoked FROM tokens", &st) != HUB_SQL_OK)
		return -1;
	while (hub_sql_step(st) == HUB_SQL_ROW)
		hub_auth_restore_token(hub_sql_str(st, 0), hub_sql_str(st, 1),
		    (int)hub_sql_int64(st, 2), hub_sql_str(st, 3),
		    hub_sql_double(st, 4), (int)hub_sql_int64(st, 5));
	hub_sql_finalize(st);
	if (hub_sql_prepare(db, "SELECT id, hash, uses, used, expires,"
	    " created, revoked FROM enroll_keys", &st) != HUB_SQL_OK)
		return -1;
	while (hub_sql_step(st) == HUB_SQL_ROW)
		hub_auth_restore_key(hub_sql_str(st, 0), hub_sql_str(st, 1),
		    hub_sql_int64(st, 2), hub_sql_int64(st, 3),
		    hub_sql_double(st, 4), hub_sql_double(st, 5),
		    (int)hub_sql_int64(st, 6));
	hub_sql_finalize(st);
	return 0;
}

/* This hub's name on the unfinished commands it sends: on SQLite every
 * one (the file is this hub's, whatever it was called before), on a
 * shared store those no hub names yet (rows from before the column). */
static int
claim_commands(struct hub_sql *db)
{
	struct hub_sql_stmt *st;
	int rc;

	rc = hub_sql_prepare(db, hub_db_shared() ?
	    "UPDATE commands SET hub = ? WHERE hub IS NULL AND"
	    " status IN ('queued', 'sent', 'running')" :
	    "UPDATE commands SET hub = ? WHERE"
	    " status IN ('queued', 'sent', 'running')", &st);
	if (rc != HUB_SQL_OK)
		return -1;
	hub_sql_bind_text(st, 1, hub.conf.hub_name);
	rc = hub_sql_step(st);
	hub_sql_finalize(st);
	return rc == HUB_SQL_DONE ? 0 : -1;
}

/* Commands that were not finished when the hub stopped: they live on.
 * On a shared store, only this hub's: the others' are theirs to send or
 * to hand over (hub_cmd_adopt.c). */
static int
load_commands(struct hub_sql *db)
{
	struct hub_cmd_row r;
	struct hub_sql_stmt *st;

	if (claim_commands(db) == -1 || hub_sql_prepare(db, "SELECT id,"
	    " agent, kind, cmd, arg, requested_by, created, started, status,"
	    " timeout, cap, expires, output, out_bytes, signed FROM commands"
	    " WHERE status IN ('queued', 'sent', 'running') AND hub = ?"
	    " ORDER BY created", &st) != HUB_SQL_OK)
		return -1;
	hub_sql_bind_text(st, 1, hub.conf.hub_name);
	while (hub_sql_step(st) == HUB_SQL_ROW) {
		r.id = hub_sql_str(st, 0);
		r.agent = hub_sql_str(st, 1);
		r.kind = hub_sql_str(st, 2);
		r.cmd = hub_sql_text(st, 3);
		r.arg = hub_sql_str(st, 4);
		r.by = hub_sql_str(st, 5);
		r.created = hub_sql_double(st, 6);
		r.started = hub_sql_double(st, 7);
		r.status = hub_sql_str(st, 8);
		r.timeout = hub_sql_double(st, 9);
		r.cap = (uint64_t)hub_sql_int64(st, 10);
		r.expires = hub_sql_double(st, 11);
		r.out = hub_sql_blob(st, 12);
		r.out_len = hub_sql_bytes(st, 12);
		r.out_bytes = (uint64_t)hub_sql_int64(st, 13);
		r.sig = hub_sql_text(st, 14);
		hub_cmd_restore(&r);
	}
	hub_sql_finalize(st);
	return 0;
}

int
hub_db_load_state(struct hub_sql *db)
{
	if (load_agents(db) == -1 || load_auth(db) == -1 ||
	    hub_roll_load(db) == -1 ||
	    load_commands(db) == -1 ||
	    hub_release_load(db) == -1)
		return -1;
	return 0;
}
