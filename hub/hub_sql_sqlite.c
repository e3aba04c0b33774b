/*
 * hub_sql_sqlite.c - the store on SQLite: one hub, one file, the default.
 *
 * WAL mode lets readers (the sqlite3 shell, a copy) run while the hub
 * writes.  The schema is made with CREATE ... IF NOT EXISTS, and columns
 * added after a table was first made are added to an older hub.db at open
 * (added[]), so any hub.db a former hub wrote opens.  Ids are numbered on
 * from the largest stored: one hub owns the file, so one block is all ids.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "hub_sql.h"
#include "mc_buf.h"
#include "mc_util.h"

struct lite {
	struct hub_sql	 base;		/* first */
	sqlite3		*db;		/* owned */
};

struct lite_stmt {
	struct hub_sql_stmt	 base;	/* first */
	sqlite3_stmt		*st;	/* owned */
};

static const char schema[] =
"PRAGMA journal_mode=WAL;"
"PRAGMA synchronous=NORMAL;"
"CREATE TABLE IF NOT EXISTS agents(id INTEGER PRIMARY KEY, name TEXT UNIQUE"
"  NOT NULL, cred_hash TEXT NOT NULL, created REAL, hostname TEXT, os TEXT,"
"  kernel TEXT, arch TEXT, version TEXT, cpus INTEGER, mem_total INTEGER,"
"  tags TEXT, status TEXT, since REAL, last_seen REAL, boot TEXT);"
"CREATE TABLE IF NOT EXISTS enroll_keys(id TEXT PRIMARY KEY, hash TEXT NOT"
"  NULL, uses INTEGER, used INTEGER, expires REAL, created REAL,"
"  revoked INTEGER NOT NULL DEFAULT 0);"
"CREATE TABLE IF NOT EXISTS tokens(id TEXT PRIMARY KEY, hash TEXT NOT NULL,"
"  role INTEGER, name TEXT, created REAL, revoked INTEGER NOT NULL DEFAULT 0);"
"CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, ts REAL, type"
"  TEXT, agent TEXT, from_status TEXT, to_status TEXT, detail TEXT,"
"  cmd TEXT);"
"CREATE INDEX IF NOT EXISTS events_ts ON events(ts);"
"CREATE TABLE IF NOT EXISTS commands(id TEXT PRIMARY KEY, agent TEXT, kind"
"  TEXT, cmd TEXT, arg TEXT, requested_by TEXT, created REAL, started REAL,"
"  finished REAL, status TEXT, exit_code INTEGER, truncated INTEGER,"
"  out_bytes INTEGER, output BLOB, error TEXT, blob BLOB, timeout REAL,"
"  cap INTEGER, expires REAL, signed TEXT, hub TEXT);"
"CREATE INDEX IF NOT EXISTS commands_agent ON commands(agent, created);"
/* listener releases (hub_release.c): the files are in DATA/releases/ */
"CREATE TABLE IF NOT EXISTS releases(version TEXT PRIMARY KEY, sha256 TEXT"
"  NOT NULL, size INTEGER, key TEXT, sig TEXT, signer TEXT,"
"  published_by TEXT, published REAL);"
/* terminal sessions (hub_rec.c): the casts are files in DATA/sessions/ */
"CREATE TABLE IF NOT EXISTS sessions(id TEXT PRIMARY KEY, agent TEXT, user"
"  TEXT, opened REAL, closed REAL, duration REAL, reason TEXT, exit INTEGER,"
"  bytes_in INTEGER, bytes_out INTEGER, cast_bytes INTEGER,"
"  truncated INTEGER);"
"CREATE INDEX IF NOT EXISTS sessions_opened ON sessions(opened);"
"CREATE INDEX IF NOT EXISTS sessions_agent ON sessions(agent, opened);"
"CREATE INDEX IF NOT EXISTS sessions_closed ON sessions(closed);"
/* metric history (hub_series.c): minute and quarter-hour averages */
"CREATE TABLE IF NOT EXISTS metrics_1m(agent_id INTEGER NOT NULL, ts INTEGER"
"  NOT NULL, cpu REAL, mem REAL, disk REAL, rx REAL, tx REAL,"
"  gpu_util REAL, gpu_mem REAL, gpu_temp REAL, cpu_temp REAL,"
"  PRIMARY KEY(agent_id, ts)) WITHOUT ROWID;"
"CREATE TABLE IF NOT EXISTS metrics_15m(agent_id INTEGER NOT NULL, ts INTEGER"
"  NOT NULL, cpu REAL, mem REAL, disk REAL, rx REAL, tx REAL,"
"  gpu_util REAL, gpu_mem REAL, gpu_temp REAL, cpu_temp REAL,"
"  PRIMARY KEY(agent_id, ts)) WITHOUT ROWID;"
/* alerts sent (hub_alert_send.c) and silences (hub_silence.c) */
"CREATE TABLE IF NOT EXISTS alerts(id TEXT PRIMARY KEY, ts REAL, kind TEXT,"
"  agent TEXT, severity TEXT, title TEXT, text TEXT, outcomes TEXT);"
"CREATE INDEX IF NOT EXISTS alerts_ts ON alerts(ts);"
"CREATE TABLE IF NOT EXISTS silences(id TEXT PRIMARY KEY, agent TEXT, tag"
"  TEXT, created REAL, until REAL, reason TEXT, created_by TEXT, ended REAL,"
"  end_how TEXT, hub TEXT);"
/* Web Push subscriptions (hub_push.c) */
"CREATE TABLE IF NOT EXISTS push_subs(id TEXT PRIMARY KEY, token TEXT,"
"  token_name TEXT, endpoint TEXT, p256dh TEXT, auth TEXT, created REAL);";

/* Columns added to a table after it was first made: a hub.db from an older
 * hub gets them at open (each is looked for first, so this runs once). */
static const struct {
	const char	*probe, *add;
} added[] = {
	{ "SELECT cmd FROM events LIMIT 0",
	  "ALTER TABLE events ADD COLUMN cmd TEXT" },
	/* the hardware summaries of the history (hub_series.c) */
	{ "SELECT gpu_util FROM metrics_1m LIMIT 0",
	  "ALTER TABLE metrics_1m ADD COLUMN gpu_util REAL;"
	  "ALTER TABLE metrics_1m ADD COLUMN gpu_mem REAL;"
	  "ALTER TABLE metrics_1m ADD COLUMN gpu_temp REAL;"
	  "ALTER TABLE metrics_1m ADD COLUMN cpu_temp REAL" },
	{ "SELECT gpu_util FROM metrics_15m LIMIT 0",
	  "ALTER TABLE metrics_15m ADD COLUMN gpu_util REAL;"
	  "ALTER TABLE metrics_15m ADD COLUMN gpu_mem REAL;"
	  "ALTER TABLE metrics_15m ADD COLUMN gpu_temp REAL;"
	  "ALTER TABLE metrics_15m ADD COLUMN cpu_temp REAL" },
	/* an operator's signature, kept for a queued command (hub_sign.c) */
	{ "SELECT signed FROM commands LIMIT 0",
	  "ALTER TABLE commands ADD COLUMN signed TEXT" },
	/* the hub that sends a command (hub_cmd_adopt.c) */
	{ "SELECT hub FROM commands LIMIT 0",
	  "ALTER TABLE commands ADD COLUMN hub TEXT" },
	/* the hub that made a silence (hub_silence.c) */
	{ "SELECT hub FROM silences LIMIT 0",
	  "ALTER TABLE silences ADD COLUMN hub TEXT" },
};

#define LITE(d)		(((struct lite *)(void *)(d))->db)
#define STMT(s)		(((struct lite_stmt *)(void *)(s))->st)

/*
 * Failures of the store itself (a full or failing disk, a file that went
 * away, a lock held too long): the batch is kept and tried again.  Any
 * other error is the statement's own (a constraint) and would fail again
 * forever.
 */
static int
lite_rc(sqlite3 *db, int rc)
{
	if (rc == SQLITE_OK)
		return HUB_SQL_OK;
	if (rc == SQLITE_ROW)
		return HUB_SQL_ROW;
	if (rc == SQLITE_DONE)
		return HUB_SQL_DONE;
	switch (sqlite3_extended_errcode(db) & 0xff) {
	case SQLITE_FULL: case SQLITE_IOERR: case SQLITE_CANTOPEN:
	case SQLITE_READONLY: case SQLITE_BUSY: case SQLITE_LOCKED:
	case SQLITE_NOMEM: case SQLITE_PROTOCOL: case SQLITE_CORRUPT:
	case SQLITE_NOTADB: case SQLITE_PERM:
		return HUB_SQL_FAIL;
	}
	return HUB_SQL_ERROR;
}

static int
lite_exec(struct hub_sql *d, const char *sql)
{
	return lite_rc(LITE(d), sqlite3_exec(LITE(d), sql, NULL, NULL, NULL));
}

static int
lite_prepare(struct hub_sql *d, const char *sql, int keep,
    struct hub_sql_stmt **out)
{
	struct lite_stmt *s;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)	/* owned by *out */
		return HUB_SQL_FAIL;
	rc = sqlite3_prepare_v3(LITE(d), sql, -1,
	    keep ? SQLITE_PREPARE_PERSISTENT : 0, &s->st, NULL);
	if (rc != SQLITE_OK) {
		free(s);
		return lite_rc(LITE(d), rc);
	}
	s->base.db = d;
	*out = &s->base;
	return HUB_SQL_OK;
}

static void
lite_finalize(struct hub_sql_stmt *st)
{
	sqlite3_finalize(STMT(st));
	free(st);
}

static void
lite_bind_int64(struct hub_sql_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(STMT(st), i, v);
}

static void
lite_bind_double(struct hub_sql_stmt *st, int i, double v)
{
	sqlite3_bind_double(STMT(st), i, v);
}

static void
lite_bind_text(struct hub_sql_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(STMT(st), i);
	else
		sqlite3_bind_text(STMT(st), i, s, -1, SQLITE_STATIC);
}

static void
lite_bind_blob(struct hub_sql_stmt *st, int i, const void *p, size_t n)
{
	sqlite3_bind_blob64(STMT(st), i, p ? p : "", n, SQLITE_STATIC);
}

static void
lite_bind_null(struct hub_sql_stmt *st, int i)
{
	sqlite3_bind_null(STMT(st), i);
}

static int
lite_step(struct hub_sql_stmt *st)
{
	return lite_rc(LITE(st->db), sqlite3_step(STMT(st)));
}

static void
lite_reset(struct hub_sql_stmt *st)
{
	sqlite3_reset(STMT(st));
	sqlite3_clear_bindings(STMT(st));
}

static int64_t
lite_int64(struct hub_sql_stmt *st, int i)
{
	return sqlite3_column_int64(STMT(st), i);
}

static double
lite_double(struct hub_sql_stmt *st, int i)
{
	return sqlite3_column_double(STMT(st), i);
}

static const char *
lite_text(struct hub_sql_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(STMT(st), i);
}

static const void *
lite_blob(struct hub_sql_stmt *st, int i)
{
	return sqlite3_column_blob(STMT(st), i);
}

static size_t
lite_bytes(struct hub_sql_stmt *st, int i)
{
	return (size_t)sqlite3_column_bytes(STMT(st), i);
}

static int
lite_null(struct hub_sql_stmt *st, int i)
{
	return sqlite3_column_type(STMT(st), i) == SQLITE_NULL;
}

static int64_t
lite_changes(struct hub_sql *d)
{
	return sqlite3_changes(LITE(d));
}

static const char *
lite_errmsg(struct hub_sql *d)
{
	return sqlite3_errmsg(LITE(d));
}

static int
lite_begin(struct hub_sql *d)
{
	return lite_exec(d, "BEGIN");
}

static int
lite_commit(struct hub_sql *d)
{
	return lite_exec(d, "COMMIT");
}

static void
lite_rollback(struct hub_sql *d)
{
	sqlite3_exec(LITE(d), "ROLLBACK", NULL, NULL, NULL);
}

/* One row of int64 from sql; 0 / -1. */
static int
lite_one(struct hub_sql *d, const char *sql, int64_t *v, int n)
{
	struct hub_sql_stmt *st;
	int i, rc;

	if (lite_prepare(d, sql, 0, &st) != HUB_SQL_OK)
		return -1;
	if ((rc = lite_step(st)) == HUB_SQL_ROW)
		for (i = 0; i < n; i++)
			v[i] = lite_int64(st, i);
	lite_finalize(st);
	return rc == HUB_SQL_ROW ? 0 : -1;
}

/* Pages in use: the file less its free list. */
static int
lite_size(struct hub_sql *d, int64_t *bytes)
{
	int64_t v[3];

	if (lite_one(d, "SELECT page_count, page_size, freelist_count FROM"
	    " pragma_page_count(), pragma_page_size(),"
	    " pragma_freelist_count()", v, 3) == -1)
		return -1;
	*bytes = (v[0] - v[2]) * v[1];
	return 0;
}

static int
lite_backup(struct hub_sql *d, struct mc_buf *out, size_t max)
{
	sqlite3_int64 size = 0;
	unsigned char *p;
	int rc = -1;

	/* owned here, freed with sqlite3_free() */
	p = sqlite3_serialize(LITE(d), "main", &size, 0);
	if (p != NULL && size > 0 && (size_t)size <= max)
		rc = mc_buf_append(out, p, (size_t)size);
	sqlite3_free(p);
	return rc;
}

/* One hub owns the file: every id after the largest stored is its own. */
static int
lite_ids(struct hub_sql *d, enum hub_sql_seq seq, int64_t *first,
    int64_t *count)
{
	static const char *const q[HUB_SEQ_N] = {
		[HUB_SEQ_AGENTS] = "SELECT coalesce(max(id), 0) FROM agents",
		[HUB_SEQ_EVENTS] = "SELECT coalesce(max(id), 0) FROM events",
	};
	int64_t max;

	if (lite_one(d, q[seq], &max, 1) == -1)
		return HUB_SQL_FAIL;
	*first = max + 1;
	*count = INT64_MAX - max - 1;
	return HUB_SQL_OK;
}

static int
lite_schema(struct hub_sql *d, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	size_t i;

	if (lite_exec(d, schema) != HUB_SQL_OK)
		goto fail;
	for (i = 0; i < sizeof(added) / sizeof(added[0]); i++) {
		if (sqlite3_prepare_v2(LITE(d), added[i].probe, -1, &st,
		    NULL) == SQLITE_OK) {
			sqlite3_finalize(st);
			continue;
		}
		if (lite_exec(d, added[i].add) != HUB_SQL_OK)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot set up the schema: %s",
	    sqlite3_errmsg(LITE(d)));
	return -1;
}

static void
lite_close(struct hub_sql *d)
{
	sqlite3_close(LITE(d));
	free(d);
}

static const struct hub_sql_ops lite_ops = {
	.name = "sqlite",
	.fault_hint = "Free space in the data directory",
	.schema = lite_schema,
	.close = lite_close,
	.exec = lite_exec,
	.prepare = lite_prepare,
	.finalize = lite_finalize,
	.bind_int64 = lite_bind_int64,
	.bind_double = lite_bind_double,
	.bind_text = lite_bind_text,
	.bind_blob = lite_bind_blob,
	.bind_null = lite_bind_null,
	.step = lite_step,
	.reset = lite_reset,
	.col_int64 = lite_int64,
	.col_double = lite_double,
	.col_text = lite_text,
	.col_blob = lite_blob,
	.col_bytes = lite_bytes,
	.col_null = lite_null,
	.changes = lite_changes,
	.errmsg = lite_errmsg,
	.begin = lite_begin,
	.commit = lite_commit,
	.rollback = lite_rollback,
	.size = lite_size,
	.backup = lite_backup,
	.ids = lite_ids,
};

struct hub_sql *
hub_sql_sqlite_open(const char *path, char *err, size_t errlen)
{
	struct lite *l = calloc(1, sizeof(*l));	/* owned by the caller */

	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->base.ops = &lite_ops;
	if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path, l->db ?
		    sqlite3_errmsg(l->db) : "out of memory");
		sqlite3_close(l->db);
		free(l);
		return NULL;
	}
	sqlite3_busy_timeout(l->db, 5000);
	return &l->base;
}
