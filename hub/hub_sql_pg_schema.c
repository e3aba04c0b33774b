/*
 * hub_sql_pg_schema.c - the PostgreSQL store's tables, their versions,
 * and the blocks of ids each hub takes.
 *
 * migrations[] is append-only: entry N brings a database at version N to
 * N + 1, in one transaction with the new number in schema_version, under
 * an advisory lock so that hubs starting together migrate once.  A
 * database newer than this hub (a later hub migrated it) is refused: the
 * hubs of a cluster are upgraded one at a time, and an older hub must not
 * write a schema it does not know.
 *
 * Several hubs write one database, so agents' and events' ids cannot be
 * "the largest stored, plus one": each hub takes blocks from a sequence
 * whose step is the block size (one nextval is a whole block), so blocks
 * never overlap, and a hub's ids rise.  Ids of different hubs interleave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_sql_pg.h"
#include "mc_log.h"

/* Ids in a block (the sequences' step; changing it needs a migration). */
#define AGENT_BLOCK	"4096"
#define EVENT_BLOCK	"1048576"

/* an arbitrary key for pg_advisory_lock: "maestro" */
#define SCHEMA_LOCK	"7163383960398405"

static const char *const migrations[] = {
	/* 0 -> 1: what SQLite's hub.db holds (hub_sql_sqlite.c) */
	"CREATE TABLE agents(id BIGINT PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
	"  cred_hash TEXT NOT NULL, created DOUBLE PRECISION, hostname TEXT,"
	"  os TEXT, kernel TEXT, arch TEXT, version TEXT, cpus BIGINT,"
	"  mem_total BIGINT, tags TEXT, status TEXT, since DOUBLE PRECISION,"
	"  last_seen DOUBLE PRECISION, boot TEXT);"
	"CREATE TABLE enroll_keys(id TEXT PRIMARY KEY, hash TEXT NOT NULL,"
	"  uses BIGINT, used BIGINT, expires DOUBLE PRECISION,"
	"  created DOUBLE PRECISION, revoked BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE tokens(id TEXT PRIMARY KEY, hash TEXT NOT NULL,"
	"  role BIGINT, name TEXT, created DOUBLE PRECISION,"
	"  revoked BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE events(id BIGINT PRIMARY KEY, ts DOUBLE PRECISION,"
	"  type TEXT, agent TEXT, from_status TEXT, to_status TEXT,"
	"  detail TEXT, cmd TEXT);"
	"CREATE INDEX events_ts ON events(ts);"
	"CREATE TABLE commands(id TEXT PRIMARY KEY, agent TEXT, kind TEXT,"
	"  cmd TEXT, arg TEXT, requested_by TEXT, created DOUBLE PRECISION,"
	"  started DOUBLE PRECISION, finished DOUBLE PRECISION, status TEXT,"
	"  exit_code BIGINT, truncated BIGINT, out_bytes BIGINT, output BYTEA,"
	"  error TEXT, blob BYTEA, timeout DOUBLE PRECISION, cap BIGINT,"
	"  expires DOUBLE PRECISION, signed TEXT);"
	"CREATE INDEX commands_agent ON commands(agent, created);"
	"CREATE INDEX commands_status ON commands(status);"
	"CREATE TABLE releases(version TEXT PRIMARY KEY, sha256 TEXT NOT NULL,"
	"  size BIGINT, key TEXT, sig TEXT, signer TEXT, published_by TEXT,"
	"  published DOUBLE PRECISION);"
	"CREATE TABLE sessions(id TEXT PRIMARY KEY, agent TEXT, \"user\" TEXT,"
	"  opened DOUBLE PRECISION, closed DOUBLE PRECISION,"
	"  duration DOUBLE PRECISION, reason TEXT, exit BIGINT, bytes_in BIGINT,"
	"  bytes_out BIGINT, cast_bytes BIGINT, truncated BIGINT);"
	"CREATE INDEX sessions_opened ON sessions(opened);"
	"CREATE INDEX sessions_agent ON sessions(agent, opened);"
	"CREATE INDEX sessions_closed ON sessions(closed);"
	"CREATE TABLE metrics_1m(agent_id BIGINT NOT NULL, ts BIGINT NOT NULL,"
	"  cpu DOUBLE PRECISION, mem DOUBLE PRECISION, disk DOUBLE PRECISION,"
	"  rx DOUBLE PRECISION, tx DOUBLE PRECISION,"
	"  gpu_util DOUBLE PRECISION, gpu_mem DOUBLE PRECISION,"
	"  gpu_temp DOUBLE PRECISION, cpu_temp DOUBLE PRECISION,"
	"  PRIMARY KEY(agent_id, ts));"
	"CREATE TABLE metrics_15m(agent_id BIGINT NOT NULL, ts BIGINT NOT NULL,"
	"  cpu DOUBLE PRECISION, mem DOUBLE PRECISION, disk DOUBLE PRECISION,"
	"  rx DOUBLE PRECISION, tx DOUBLE PRECISION,"
	"  gpu_util DOUBLE PRECISION, gpu_mem DOUBLE PRECISION,"
	"  gpu_temp DOUBLE PRECISION, cpu_temp DOUBLE PRECISION,"
	"  PRIMARY KEY(agent_id, ts));"
	"CREATE TABLE alerts(id TEXT PRIMARY KEY, ts DOUBLE PRECISION,"
	"  kind TEXT, agent TEXT, severity TEXT, title TEXT, text TEXT,"
	"  outcomes TEXT);"
	"CREATE INDEX alerts_ts ON alerts(ts);"
	"CREATE TABLE silences(id TEXT PRIMARY KEY, agent TEXT, tag TEXT,"
	"  created DOUBLE PRECISION, until DOUBLE PRECISION, reason TEXT,"
	"  created_by TEXT, ended DOUBLE PRECISION, end_how TEXT);"
	"CREATE SEQUENCE agent_ids INCREMENT BY " AGENT_BLOCK ";"
	"CREATE SEQUENCE event_ids INCREMENT BY " EVENT_BLOCK ";",
	/* 1 -> 2: the hub that sends a command (hub_cmd_adopt.c); rows from
	 * before are claimed by the first hub that loads them */
	"ALTER TABLE commands ADD COLUMN hub TEXT;",
	/* 2 -> 3: Web Push subscriptions (hub_push.c) */
	"CREATE TABLE push_subs(id TEXT PRIMARY KEY, token TEXT,"
	"  token_name TEXT, endpoint TEXT, p256dh TEXT, auth TEXT,"
	"  created DOUBLE PRECISION);",
	/* 3 -> 4: the hub that made a silence (hub_silence.c), which tells
	 * its end; rows from before have none: every hub takes them as
	 * another's */
	"ALTER TABLE silences ADD COLUMN hub TEXT;",
};
#define NMIGRATIONS	((int)(sizeof(migrations) / sizeof(migrations[0])))

void
hub_pg_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* The database's version, -1 on a failure. */
static int
version(struct hub_pg *p)
{
	PGresult *res = PQexec(p->c, "SELECT coalesce(max(version), 0) FROM"
	    " schema_version");
	int v = -1;

	if (hub_pg_rc(p, res) == HUB_SQL_OK && PQntuples(res) == 1)
		v = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

static int
migrate(struct hub_pg *p, int from, char *err, size_t errlen)
{
	char sql[96];
	int v;

	for (v = from; v < NMIGRATIONS; v++) {
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version(version,"
		    " applied) VALUES (%d, now())", v + 1);
		if (hub_pg_exec(p, "BEGIN") != HUB_SQL_OK ||
		    hub_pg_exec(p, migrations[v]) != HUB_SQL_OK ||
		    hub_pg_exec(p, sql) != HUB_SQL_OK ||
		    hub_pg_exec(p, "COMMIT") != HUB_SQL_OK) {
			snprintf(err, errlen, "schema version %d: %s", v + 1,
			    p->err);
			PQclear(PQexec(p->c, "ROLLBACK"));
			return -1;
		}
		mc_info("store: PostgreSQL schema at version %d", v + 1);
	}
	return 0;
}

int
hub_pg_schema(struct hub_sql *db, char *err, size_t errlen)
{
	struct hub_pg *p = (struct hub_pg *)(void *)db;
	int v, rc = -1;

	if (hub_pg_exec(p, "SELECT pg_advisory_lock(" SCHEMA_LOCK ")") !=
	    HUB_SQL_OK ||
	    hub_pg_exec(p, "CREATE TABLE IF NOT EXISTS schema_version(version"
	    " INTEGER PRIMARY KEY, applied TIMESTAMPTZ)") != HUB_SQL_OK ||
	    (v = version(p)) < 0) {
		snprintf(err, errlen, "cannot read the schema version: %s",
		    p->err);
		goto done;
	}
	if (v > NMIGRATIONS) {
		snprintf(err, errlen, "the database's schema is version %d, "
		    "newer than this hub's %d: upgrade this hub", v,
		    NMIGRATIONS);
		goto done;
	}
	rc = migrate(p, v, err, errlen);
done:
	hub_pg_exec(p, "SELECT pg_advisory_unlock(" SCHEMA_LOCK ")");
	return rc;
}

int
hub_pg_ids(struct hub_sql *db, enum hub_sql_seq seq, int64_t *first,
    int64_t *count)
{
	/* the block's size is the sequence's step, whatever made it */
	static const char *const q[HUB_SEQ_N] = {
		[HUB_SEQ_AGENTS] = "SELECT nextval('agent_ids'), increment_by"
		    " FROM pg_sequences WHERE sequencename = 'agent_ids'",
		[HUB_SEQ_EVENTS] = "SELECT nextval('event_ids'), increment_by"
		    " FROM pg_sequences WHERE sequencename = 'event_ids'",
	};
	struct hub_pg *p = (struct hub_pg *)(void *)db;
	PGresult *res = PQexec(p->c, q[seq]);
	int rc = hub_pg_rc(p, res);

	if (rc == HUB_SQL_OK && PQntuples(res) != 1) {
		snprintf(p->err, sizeof(p->err), "no sequence for ids");
		rc = HUB_SQL_ERROR;
	}
	if (rc == HUB_SQL_OK) {
		*first = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		*count = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	PQclear(res);
	return rc;
}
