/*
 * hub_db.c - the SQLite store, written by its own thread.
 *
 * The service thread never touches the disk once the loop runs: it calls
 * hub_db_exec(), which copies the arguments into a job on a queue and
 * returns.  The writer thread takes everything queued, runs it in one
 * transaction with cached prepared statements, and sleeps again, so a
 * burst of status changes costs one fsync.  WAL mode lets readers (backups,
 * the sqlite3 shell) run while the hub writes.  State is read only once, at
 * start, before the event loop (hub_db_load()).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

#define JOB_ARGS	16
#define STMT_CACHE	48
/* queued jobs past this are dropped with an error: the disk is stuck */
#define QUEUE_MAX	200000

struct db_arg {
	char		 type;
	int64_t		 i;
	double		 d;
	void		*p;	/* owned copy for 't' and 'b' */
	size_t		 n;
};

struct db_job {
	const char	*sql;		/* NULL for a call job */
	hub_db_run_fn	 run;
	hub_db_done_fn	 done;
	void		*arg;
	int		 nargs;
	struct db_arg	 args[JOB_ARGS];
	struct db_job	*next;
};

static struct {
	sqlite3		*db;
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct db_job	*head, *tail;	/* owned */
	struct db_job	*done_head, *done_tail;	/* owned: committed calls */
	size_t		 queued;
	int		 stop;
	struct { const char *sql; sqlite3_stmt *st; } cache[STMT_CACHE];
	int		 ncache;
} dbs = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

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
"  TEXT, agent TEXT, from_status TEXT, to_status TEXT, detail TEXT);"
"CREATE INDEX IF NOT EXISTS events_ts ON events(ts);"
"CREATE TABLE IF NOT EXISTS commands(id TEXT PRIMARY KEY, agent TEXT, kind"
"  TEXT, cmd TEXT, arg TEXT, requested_by TEXT, created REAL, started REAL,"
"  finished REAL, status TEXT, exit_code INTEGER, truncated INTEGER,"
"  out_bytes INTEGER, output BLOB, error TEXT, blob BLOB, timeout REAL,"
"  cap INTEGER, expires REAL);"
"CREATE INDEX IF NOT EXISTS commands_agent ON commands(agent, created);"
/* metric history (hub_hist.c): minute and quarter-hour averages */
"CREATE TABLE IF NOT EXISTS metrics_1m(agent_id INTEGER NOT NULL, ts INTEGER"
"  NOT NULL, cpu REAL, mem REAL, disk REAL, rx REAL, tx REAL,"
"  PRIMARY KEY(agent_id, ts)) WITHOUT ROWID;"
"CREATE TABLE IF NOT EXISTS metrics_15m(agent_id INTEGER NOT NULL, ts INTEGER"
"  NOT NULL, cpu REAL, mem REAL, disk REAL, rx REAL, tx REAL,"
"  PRIMARY KEY(agent_id, ts)) WITHOUT ROWID;";

/* The cached statement for sql; *owned is set when the cache is full and
 * the caller must finalize it. */
static sqlite3_stmt *
stmt_get(const char *sql, int *owned)
{
	sqlite3_stmt *st;
	int i;

	*owned = 0;
	for (i = 0; i < dbs.ncache; i++)
		if (dbs.cache[i].sql == sql)
			return dbs.cache[i].st;
	if (sqlite3_prepare_v2(dbs.db, sql, -1, &st, NULL) != SQLITE_OK) {
		mc_err("db: cannot prepare '%.60s': %s", sql,
		    sqlite3_errmsg(dbs.db));
		return NULL;
	}
	if (dbs.ncache < STMT_CACHE) {
		dbs.cache[dbs.ncache].sql = sql;
		dbs.cache[dbs.ncache++].st = st;
	} else
		*owned = 1;
	return st;
}

static void
job_bind(sqlite3_stmt *st, const struct db_job *j)
{
	const struct db_arg *a;
	int i;

	for (i = 0; i < j->nargs; i++) {
		a = &j->args[i];
		switch (a->type) {
		case 'i': sqlite3_bind_int64(st, i + 1, a->i); break;
		case 'd': sqlite3_bind_double(st, i + 1, a->d); break;
		case 't':
			if (a->p == NULL)
				sqlite3_bind_null(st, i + 1);
			else
				sqlite3_bind_text(st, i + 1, a->p, -1,
				    SQLITE_STATIC);
			break;
		case 'b':
			sqlite3_bind_blob(st, i + 1, a->p ? a->p : "",
			    (int)a->n, SQLITE_STATIC);
			break;
		default: sqlite3_bind_null(st, i + 1); break;
		}
	}
}

static void
job_run(const struct db_job *j)
{
	sqlite3_stmt *st;
	int rc, owned;

	st = stmt_get(j->sql, &owned);
	if (st == NULL)
		return;
	job_bind(st, j);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		mc_err("db: '%.60s': %s", j->sql, sqlite3_errmsg(dbs.db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (owned)
		sqlite3_finalize(st);
}

static void
job_free(struct db_job *j)
{
	int i;

	for (i = 0; i < j->nargs; i++)
		free(j->args[i].p);
	free(j);
}

/* Hand committed call jobs to the service thread and wake it. */
static void
post_done(struct db_job *head, struct db_job *tail)
{
	if (head == NULL)
		return;
	pthread_mutex_lock(&dbs.mu);
	if (dbs.done_tail)
		dbs.done_tail->next = head;
	else
		dbs.done_head = head;
	dbs.done_tail = tail;
	pthread_mutex_unlock(&dbs.mu);
	hub_ws_wake();
}

static void
run_batch(struct db_job *list)
{
	struct db_job *next, *dh = NULL, *dt = NULL;

	sqlite3_exec(dbs.db, "BEGIN", NULL, NULL, NULL);
	for (; list != NULL; list = next) {
		next = list->next;
		if (list->sql != NULL)
			job_run(list);
		else if (list->run != NULL)
			list->run(dbs.db, list->arg);
		if (list->done == NULL) {
			job_free(list);
			continue;
		}
		list->next = NULL;
		if (dt)
			dt->next = list;
		else
			dh = list;
		dt = list;
	}
	if (sqlite3_exec(dbs.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		mc_err("db: commit failed: %s", sqlite3_errmsg(dbs.db));
	post_done(dh, dt);
}

static void *
writer_main(void *arg)
{
	struct db_job *list;
	int stop;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&dbs.mu);
		while (dbs.head == NULL && !dbs.stop)
			pthread_cond_wait(&dbs.cv, &dbs.mu);
		list = dbs.head;
		dbs.head = dbs.tail = NULL;
		dbs.queued = 0;
		stop = dbs.stop;
		pthread_mutex_unlock(&dbs.mu);
		if (list != NULL)
			run_batch(list);
		if (stop && list == NULL)
			return NULL;
	}
}

int
hub_db_open(const char *path)
{
	char *err = NULL;

	if (sqlite3_open_v2(path, &dbs.db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		mc_err("cannot open %s: %s", path, dbs.db ?
		    sqlite3_errmsg(dbs.db) : "out of memory");
		sqlite3_close(dbs.db);
		dbs.db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(dbs.db, 5000);
	if (sqlite3_exec(dbs.db, schema, NULL, NULL, &err) != SQLITE_OK) {
		mc_err("%s: cannot set up the schema: %s", path, err);
		sqlite3_free(err);
		sqlite3_close(dbs.db);
		dbs.db = NULL;
		return -1;
	}
	return 0;
}

static int
start_writer(void)
{
	if (pthread_create(&dbs.thread, NULL, writer_main, NULL) != 0) {
		mc_err("cannot start the database thread");
		return -1;
	}
	dbs.running = 1;
	return 0;
}

void
hub_db_close(void)
{
	int i;

	if (dbs.running) {
		pthread_mutex_lock(&dbs.mu);
		dbs.stop = 1;
		pthread_cond_signal(&dbs.cv);
		pthread_mutex_unlock(&dbs.mu);
		pthread_join(dbs.thread, NULL);
		dbs.running = 0;
		hub_db_drain();
	}
	for (i = 0; i < dbs.ncache; i++)
		sqlite3_finalize(dbs.cache[i].st);
	dbs.ncache = 0;
	if (dbs.db)
		sqlite3_close(dbs.db);
	dbs.db = NULL;
}

static int
arg_copy(struct db_arg *a, char type, va_list *ap)
{
	const char *s;
	const void *p;

	a->type = type;
	switch (type) {
	case 'i': a->i = va_arg(*ap, int64_t); return 0;
	case 'd': a->d = va_arg(*ap, double); return 0;
	case 'n': return 0;
	case 't':
		s = va_arg(*ap, const char *);
		if (s != NULL && (a->p = strdup(s)) == NULL)
			return -1;
		return 0;
	case 'b':
		p = va_arg(*ap, const void *);
		a->n = va_arg(*ap, size_t);
		if ((a->p = malloc(a->n ? a->n : 1)) == NULL)
			return -1;
		if (a->n)
			memcpy(a->p, p, a->n);
		return 0;
	}
	return -1;
}

/* Queue a job; -1 (job not taken) if the queue is full. */
static int
enqueue(struct db_job *j)
{
	pthread_mutex_lock(&dbs.mu);
	if (dbs.queued >= QUEUE_MAX && j->done == NULL) {
		pthread_mutex_unlock(&dbs.mu);
		mc_err("db: %d writes queued; the disk is not keeping up, "
		    "dropping one", QUEUE_MAX);
		return -1;
	}
	if (dbs.tail)
		dbs.tail->next = j;
	else
		dbs.head = j;
	dbs.tail = j;
	dbs.queued++;
	pthread_cond_signal(&dbs.cv);
	pthread_mutex_unlock(&dbs.mu);
	return 0;
}

void
hub_db_exec(const char *sql, const char *fmt, ...)
{
	struct db_job *j;
	va_list ap;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto fail;
	j->sql = sql;
	va_start(ap, fmt);
	for (; *fmt && j->nargs < JOB_ARGS; fmt++) {
		if (arg_copy(&j->args[j->nargs++], *fmt, &ap) == -1) {
			va_end(ap);
			goto fail;
		}
	}
	va_end(ap);
	if (enqueue(j) == -1)
		job_free(j);
	return;
fail:
	mc_err("db: out of memory queueing a write");
	if (j)
		job_free(j);
}

void
hub_db_call(hub_db_run_fn run, hub_db_done_fn done, void *arg)
{
	struct db_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		mc_err("db: out of memory queueing a call");
		if (done)
			done(arg);
		return;
	}
	j->run = run;
	j->done = done;
	j->arg = arg;
	if (!dbs.running) {
		/* before start-up or after shutdown: run in place */
		if (run && dbs.db)
			run(dbs.db, arg);
		if (done)
			done(arg);
		free(j);
		return;
	}
	enqueue(j);
}

void
hub_db_drain(void)
{
	struct db_job *list, *next;

	pthread_mutex_lock(&dbs.mu);
	list = dbs.done_head;
	dbs.done_head = dbs.done_tail = NULL;
	pthread_mutex_unlock(&dbs.mu);
	for (; list != NULL; list = next) {
		next = list->next;
		list->done(list->arg);
		job_free(list);
	}
}

size_t
hub_db_pending(void)
{
	size_t n;

	pthread_mutex_lock(&dbs.mu);
	n = dbs.queued;
	pthread_mutex_unlock(&dbs.mu);
	return n;
}

/* ---- startup load ---- */

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
load_agents(void)
{
	sqlite3_stmt *st;
	struct hub_agent *a;

	if (sqlite3_prepare_v2(dbs.db, "SELECT id, name, cred_hash, hostname,"
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
load_auth(void)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(dbs.db, "SELECT id, hash, role, name, created,"
	    " revoked FROM tokens", -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW)
		hub_auth_restore_token(col_text(st, 0), col_text(st, 1),
		    sqlite3_column_int(st, 2), col_text(st, 3),
		    sqlite3_column_double(st, 4), sqlite3_column_int(st, 5));
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(dbs.db, "SELECT id, hash, uses, used, expires,"
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

static int
load_events(void)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(dbs.db, "SELECT ts, type, agent, from_status,"
	    " to_status, detail FROM (SELECT * FROM events ORDER BY id DESC"
	    " LIMIT 1024) ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW)
		hub_live_event_restore(sqlite3_column_double(st, 0),
		    col_text(st, 1), col_text(st, 2), col_text(st, 3),
		    col_text(st, 4), col_text(st, 5));
	sqlite3_finalize(st);
	return 0;
}

/* Commands that were not finished when the hub stopped: they live on. */
static int
load_commands(void)
{
	struct hub_cmd_row r;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(dbs.db, "SELECT id, agent, kind, cmd, arg,"
	    " requested_by, created, started, status, timeout, cap, expires"
	    " FROM commands WHERE status IN ('queued', 'sent', 'running')"
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
		hub_cmd_restore(&r);
	}
	sqlite3_finalize(st);
	return 0;
}

int
hub_db_load(void)
{
	if (load_agents() == -1 || load_auth() == -1 || load_events() == -1 ||
	    load_commands() == -1) {
		mc_err("cannot load the store: %s", sqlite3_errmsg(dbs.db));
		return -1;
	}
	return start_writer();
}

/* ---- reads answered with bytes ---- */

static void
answer_done(void *arg)
{
	struct hub_db_answer *a = arg;
	size_t len;
	char *data = mc_buf_take(&a->out, &len);

	if (len == 0) {
		free(data);
		data = NULL;
	}
	a->done(a->arg, data, len);
	free(a);
}

void
hub_db_ask(hub_db_run_fn run, struct hub_db_answer *a, size_t limit,
    void (*done)(void *arg, char *data, size_t len), void *arg)
{
	mc_buf_init(&a->out, limit);
	a->done = done;
	a->arg = arg;
	hub_db_call(run, answer_done, a);
}

/* ---- online backup ---- */

#define BACKUP_MAX	((sqlite3_int64)1 << 30)

/* Runs between two batches, so the copy is one consistent state. */
static void
backup_run(struct sqlite3 *db, void *arg)
{
	struct hub_db_answer *a = arg;
	sqlite3_int64 size = 0;
	unsigned char *p;

	p = sqlite3_serialize(db, "main", &size, 0);
	if (p == NULL || size <= 0 || size > BACKUP_MAX) {
		mc_err("backup: cannot copy the database (%lld bytes)",
		    (long long)size);
		sqlite3_free(p);
		return;
	}
	if (mc_buf_append(&a->out, p, (size_t)size) == -1)
		mc_err("backup: out of memory for %lld bytes", (long long)size);
	sqlite3_free(p);
}

void
hub_db_backup(void (*done)(void *arg, char *bytes, size_t len), void *arg)
{
	struct hub_db_answer *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		done(arg, NULL, 0);
		return;
	}
	hub_db_ask(backup_run, a, (size_t)BACKUP_MAX, done, arg);
}
