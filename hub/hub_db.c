/*
 * hub_db.c - the store, written by its own thread.
 *
 * The service thread never touches the disk or the database server once
 * the loop runs: it calls hub_db_exec(), which copies the arguments into a
 * job on a queue and returns.  The writer thread takes everything queued,
 * runs it in one transaction with cached prepared statements, and sleeps
 * again, so a burst of status changes costs one fsync.  The engine is
 * SQLite (one hub, the default) or PostgreSQL (several hubs), behind
 * hub_sql.h; `store =` picks it (hub_db_open()).  State is read once, at
 * start, before the event loop (hub_db_load()); what another hub of the
 * same store wrote later is looked up on a miss (hub_db_find.c).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub.h"
#include "hub_sql.h"
#include "mc_buf.h"
#include "mc_log.h"
#include "mc_util.h"

/* arguments of one write: commands' row takes 21 (hub_cmd.c); more is a
 * bug, refused loudly rather than stored as NULLs */
#define JOB_ARGS	24
#define STMT_CACHE	48
/*
 * Jobs held in memory at most: those queued plus those of a batch that
 * could not be committed.  Past it a write is dropped and counted, and a
 * call is answered "not stored" at once (an ack is then not sent, so the
 * listener keeps its result).  At about 200 bytes a job, 200,000 are
 * 40 MB: minutes of a large fleet's writes while the disk is full.
 */
#define QUEUE_MAX	200000
/* a failed commit is tried again after this, doubling up to the max */
#define RETRY_MIN	0.25
#define RETRY_MAX	5.0

struct db_arg {
	char		 type;
	int64_t		 i;
	double		 d;
	void		*p;	/* owned copy for 't' and 'b' */
	size_t		 n;
};

enum db_kind { JOB_WRITE, JOB_CALL, JOB_READ };

struct db_job {
	enum db_kind	 kind;
	const char	*sql;		/* JOB_WRITE */
	hub_db_run_fn	 run;
	hub_db_done_fn	 done;
	void		*arg;
	int		 nargs;
	struct db_arg	 args[JOB_ARGS];
	int		 stored;	/* what done is told */
	struct db_job	*next;
};

/* a singly linked list with its tail */
struct db_list {
	struct db_job	*head, *tail;
};

static struct {
	struct hub_sql	*db;		/* owned */
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct db_list	 queue;		/* owned: waiting for the writer */
	struct db_list	 done;		/* owned: for the service thread */
	size_t		 nqueue;	/* jobs in queue */
	size_t		 nheld;		/* jobs in held */
	int		 stop;
	int		 shared;	/* several hubs may write it */
	/* the store's health, under mu (hub_db_health()) */
	int		 failing;
	char		 reason[128];
	double		 failing_since;	/* wall clock */
	uint64_t	 failures, dropped;
	/* writer thread only */
	int		 failing_logged;
	struct db_list	 held;		/* owned: a batch not yet committed */
	double		 backoff;
	struct { const char *sql; struct hub_sql_stmt *st; } cache[STMT_CACHE];
	int		 ncache;
} dbs = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void
list_add(struct db_list *l, struct db_job *j)
{
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static void
list_join(struct db_list *l, struct db_list *more)
{
	if (more->head == NULL)
		return;
	if (l->tail)
		l->tail->next = more->head;
	else
		l->head = more->head;
	l->tail = more->tail;
	more->head = more->tail = NULL;
}

int
hub_db_is_store_error(int rc)
{
	return rc == HUB_SQL_FAIL;
}

/* The cached statement for sql; *owned is set when the cache is full and
 * the caller must finalize it. */
static struct hub_sql_stmt *
stmt_get(const char *sql, int *owned, int *rc)
{
	struct hub_sql_stmt *st;
	int i;

	*owned = 0;
	for (i = 0; i < dbs.ncache; i++)
		if (dbs.cache[i].sql == sql)
			return dbs.cache[i].st;
	if ((*rc = dbs.db->ops->prepare(dbs.db, sql, dbs.ncache < STMT_CACHE,
	    &st)) != HUB_SQL_OK) {
		mc_err("db: cannot prepare '%.60s': %s", sql,
		    hub_sql_errmsg(dbs.db));
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
job_bind(struct hub_sql_stmt *st, const struct db_job *j)
{
	const struct db_arg *a;
	int i;

	for (i = 0; i < j->nargs; i++) {
		a = &j->args[i];
		switch (a->type) {
		case 'i': hub_sql_bind_int64(st, i + 1, a->i); break;
		case 'd': hub_sql_bind_double(st, i + 1, a->d); break;
		case 't': hub_sql_bind_text(st, i + 1, a->p); break;
		case 'b': hub_sql_bind_blob(st, i + 1, a->p, a->n); break;
		default: hub_sql_bind_null(st, i + 1); break;
		}
	}
}

/* Run one statement: HUB_SQL_OK, or the code of a failure. */
static int
job_exec(const struct db_job *j)
{
	struct hub_sql_stmt *st;
	int rc = HUB_SQL_ERROR, owned;

	if ((st = stmt_get(j->sql, &owned, &rc)) == NULL)
		return rc;
	job_bind(st, j);
	rc = hub_sql_step(st);
	if (rc == HUB_SQL_DONE || rc == HUB_SQL_ROW)
		rc = HUB_SQL_OK;
	else if (!hub_db_is_store_error(rc))
		mc_err("db: '%.60s': %s", j->sql, hub_sql_errmsg(dbs.db));
	hub_sql_reset(st);
	if (owned)
		hub_sql_finalize(st);
	return rc;
}

static int
job_run(struct db_job *j)
{
	const struct hub_sql_ops *ops = dbs.db->ops;
	int rc = HUB_SQL_OK;

	if (ops->job_begin != NULL)
		rc = ops->job_begin(dbs.db);
	if (rc == HUB_SQL_OK) {
		if (j->kind == JOB_WRITE)
			rc = job_exec(j);
		else if (j->run != NULL)
			rc = j->run(dbs.db, j->arg);
	}
	if (ops->job_end != NULL && !hub_db_is_store_error(rc) &&
	    ops->job_end(dbs.db) == HUB_SQL_FAIL)
		rc = HUB_SQL_FAIL;
	if (!hub_db_is_store_error(rc))
		return HUB_SQL_OK;
	/* a read reports nothing to keep: it has run, whatever it found */
	return j->kind == JOB_READ ? HUB_SQL_OK : rc;
}

static void
job_free(struct db_job *j)
{
	int i;

	for (i = 0; i < j->nargs; i++)
		free(j->args[i].p);
	free(j);
}

/* Hand finished jobs with a done callback to the service thread. */
static void
post_done(struct db_list *l)
{
	if (l->head == NULL)
		return;
	pthread_mutex_lock(&dbs.mu);
	list_join(&dbs.done, l);
	pthread_mutex_unlock(&dbs.mu);
	hub_ws_wake();
}

/* The job's part is over (stored says whether it is on disk). */
static void
job_settle(struct db_job *j, int stored, struct db_list *done)
{
	if (j->done == NULL) {
		job_free(j);
		return;
	}
	j->stored = stored;
	list_add(done, j);
}

static void
set_health(int failing, size_t nheld)
{
	pthread_mutex_lock(&dbs.mu);
	if (failing) {
		if (!dbs.failing)
			dbs.failing_since = mc_wall();
		dbs.failures++;
		snprintf(dbs.reason, sizeof(dbs.reason), "%s",
		    hub_sql_errmsg(dbs.db));
	} else
		dbs.reason[0] = '\0';
	dbs.failing = failing;
	dbs.nheld = nheld;
	pthread_mutex_unlock(&dbs.mu);
}

/*
 * One transaction over list (the held jobs first, then the new ones).  A
 * read runs and is answered whatever happens to the writes around it; a
 * write or a call is answered only once its transaction is committed.  If
 * the store fails, the transaction is rolled back whole and every write
 * and call of it is held, in order, for the next try: nothing is acked
 * that is not on disk, and nothing is written twice.  Returns 0 when
 * committed.
 */
static int
run_batch(struct db_job *list)
{
	struct db_list keep = { NULL, NULL }, done = { NULL, NULL };
	struct db_job *next;
	size_t nkeep = 0;
	int rc = dbs.db->ops->begin(dbs.db);

	for (; list != NULL; list = next) {
		next = list->next;
		if (rc == HUB_SQL_OK || list->kind == JOB_READ) {
			int jrc = job_run(list);

			if (rc == HUB_SQL_OK)
				rc = jrc;
		}
		if (list->kind == JOB_READ) {
			job_settle(list, 1, &done);
			continue;
		}
		list_add(&keep, list);
		nkeep++;
	}
	if (rc == HUB_SQL_OK &&
	    (rc = dbs.db->ops->commit(dbs.db)) == HUB_SQL_OK) {
		for (list = keep.head; list != NULL; list = next) {
			next = list->next;
			job_settle(list, 1, &done);
		}
		dbs.failing_logged = 0;
		if (dbs.failing)
			mc_info("db: the store writes again (%zu held writes "
			    "stored)", dbs.nheld);
		set_health(0, 0);
		dbs.held.head = dbs.held.tail = NULL;
		post_done(&done);
		return 0;
	}
	set_health(1, nkeep);
	dbs.db->ops->rollback(dbs.db);
	if (!dbs.failing_logged)
		mc_err("db: cannot write the store (%s); holding %zu writes "
		    "and trying again", dbs.reason, nkeep);
	dbs.failing_logged = 1;
	dbs.held = keep;
	post_done(&done);
	return -1;
}

/* Take the queue; with a held batch, wait for its next try first. */
static struct db_job *
take_work(int *stop)
{
	struct db_list l = dbs.held;
	struct timespec until;
	double t;

	pthread_mutex_lock(&dbs.mu);
	if (dbs.held.head != NULL) {
		t = mc_wall() + dbs.backoff;
		until.tv_sec = (time_t)t;
		until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
		while (!dbs.stop && pthread_cond_timedwait(&dbs.cv, &dbs.mu,
		    &until) == 0)
			;
	} else {
		while (dbs.queue.head == NULL && !dbs.stop)
			pthread_cond_wait(&dbs.cv, &dbs.mu);
	}
	list_join(&l, &dbs.queue);
	dbs.nqueue = 0;
	*stop = dbs.stop;
	pthread_mutex_unlock(&dbs.mu);
	dbs.held.head = dbs.held.tail = NULL;
	return l.head;
}

static void *
writer_main(void *arg)
{
	struct db_job *list;
	int stop;

	(void)arg;
	dbs.backoff = RETRY_MIN;
	for (;;) {
		list = take_work(&stop);
		if (list != NULL) {
			if (run_batch(list) == 0)
				dbs.backoff = RETRY_MIN;
			else if ((dbs.backoff *= 2) > RETRY_MAX)
				dbs.backoff = RETRY_MAX;
		}
		if (stop && (list == NULL || dbs.held.head != NULL))
			return NULL;
	}
}

/* Shutdown with the store still failing: what is held is lost, and a
 * call is told so (an ack is not sent: the listener keeps its result and
 * sends it again to the next hub). */
static void
drop_held(void)
{
	struct db_list done = { NULL, NULL };
	struct db_job *j, *next;

	if (dbs.held.head == NULL)
		return;
	mc_err("db: stopping with %zu writes not stored (%s)", dbs.nheld,
	    dbs.reason);
	for (j = dbs.held.head; j != NULL; j = next) {
		next = j->next;
		job_settle(j, 0, &done);
	}
	dbs.held.head = dbs.held.tail = NULL;
	post_done(&done);
}

/* postgres://... or postgresql://...: PostgreSQL; sqlite:PATH: SQLite. */
int
hub_db_open(const char *store, const char *password)
{
	char err[512];

	if (strncmp(store, "postgres://", 11) == 0 ||
	    strncmp(store, "postgresql://", 13) == 0)
		dbs.db = hub_sql_pg_open(store, password, err, sizeof(err));
	else if (strncmp(store, "sqlite:", 7) == 0)
		dbs.db = hub_sql_sqlite_open(store + 7, err, sizeof(err));
	else {
		snprintf(err, sizeof(err), "unknown kind of store");
		dbs.db = NULL;
	}
	if (dbs.db == NULL) {
		mc_err("store %s: %s", store, err);
		return -1;
	}
	if (dbs.db->ops->schema(dbs.db, err, sizeof(err)) == -1) {
		mc_err("store %s: %s", store, err);
		hub_sql_close(dbs.db);
		dbs.db = NULL;
		return -1;
	}
	mc_info("store: %s (%s)", store, dbs.db->ops->name);
	dbs.shared = strcmp(dbs.db->ops->name, "postgresql") == 0;
	return 0;
}

int
hub_db_shared(void)
{
	return dbs.shared;
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
		drop_held();
		hub_db_drain();
	}
	for (i = 0; i < dbs.ncache; i++)
		hub_sql_finalize(dbs.cache[i].st);
	dbs.ncache = 0;
	hub_sql_close(dbs.db);
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

/* Queue a job; -1 (job not taken) past QUEUE_MAX. */
static int
enqueue(struct db_job *j)
{
	pthread_mutex_lock(&dbs.mu);
	if (dbs.nqueue + dbs.nheld >= QUEUE_MAX) {
		dbs.dropped++;
		pthread_mutex_unlock(&dbs.mu);
		mc_err("db: %d writes held; the store is not keeping up, "
		    "dropping one", QUEUE_MAX);
		return -1;
	}
	list_add(&dbs.queue, j);
	dbs.nqueue++;
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
	j->kind = JOB_WRITE;
	j->sql = sql;
	if (strlen(fmt) > JOB_ARGS) {
		mc_err("db: %zu arguments for one write, over %d: %s",
		    strlen(fmt), JOB_ARGS, sql);
		free(j);
		return;
	}
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

static void
call(enum db_kind kind, hub_db_run_fn run, hub_db_done_fn done, void *arg)
{
	struct db_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		mc_err("db: out of memory queueing a call");
		if (done)
			done(arg, 0);
		return;
	}
	j->kind = kind;
	j->run = run;
	j->done = done;
	j->arg = arg;
	if (!dbs.running) {
		/* before start-up or after shutdown: run in place */
		if (run && dbs.db)
			run(dbs.db, arg);
		if (done)
			done(arg, dbs.db != NULL);
		free(j);
		return;
	}
	if (enqueue(j) == -1) {
		if (done)
			done(arg, 0);
		free(j);
	}
}

void
hub_db_call(hub_db_run_fn run, hub_db_done_fn done, void *arg)
{
	call(JOB_CALL, run, done, arg);
}

void
hub_db_read(hub_db_run_fn run, hub_db_done_fn done, void *arg)
{
	call(JOB_READ, run, done, arg);
}

void
hub_db_drain(void)
{
	struct db_job *list, *next;

	pthread_mutex_lock(&dbs.mu);
	list = dbs.done.head;
	dbs.done.head = dbs.done.tail = NULL;
	pthread_mutex_unlock(&dbs.mu);
	for (; list != NULL; list = next) {
		next = list->next;
		list->done(list->arg, list->stored);
		job_free(list);
	}
}

void
hub_db_health(struct hub_db_health *h)
{
	pthread_mutex_lock(&dbs.mu);
	h->failing = dbs.failing;
	mc_strlcpy(h->reason, dbs.reason, sizeof(h->reason));
	h->failing_since = dbs.failing_since;
	h->failures = dbs.failures;
	h->dropped = dbs.dropped;
	h->queued = dbs.nqueue + dbs.nheld;
	pthread_mutex_unlock(&dbs.mu);
}

/*
 * Service thread, each tick: the store started or stopped failing.  Each
 * change is one event and one alert, however long the fault lasts and
 * however many commits fail in it.
 */
void
hub_db_watch(void)
{
	static int was_failing;
	struct hub_db_health h;
	char text[512 + MC_PATH_MAX];

	hub_db_health(&h);
	if (h.failing == was_failing)
		return;
	was_failing = h.failing;
	if (h.failing) {
		snprintf(text, sizeof(text), "The hub cannot write its "
		    "database (%s). It holds %zu writes in memory and tries "
		    "again; API writes answer 503 and no command result is "
		    "acknowledged until the store writes again. %s.", h.reason,
		    h.queued, dbs.db->ops->fault_hint);
		hub_event("hub", "", "ok", "store_failing", h.reason);
		hub_alert_notice("hub_fault", "", "HUB: store failing",
		    text);
		return;
	}
	snprintf(text, sizeof(text), "The hub writes its database again; "
	    "everything held was stored.");
	hub_event("hub", "", "store_failing", "ok", "store writes again");
	hub_alert_notice("hub_ok", "", "HUB: store writes again",
	    text);
}

int
hub_db_load(void)
{
	if (hub_db_load_state(dbs.db) == -1) {
		mc_err("cannot load the store: %s", hub_sql_errmsg(dbs.db));
		return -1;
	}
	if (hub_db_ids_load(dbs.db) == -1) {
		mc_err("cannot take ids from the store: %s",
		    hub_sql_errmsg(dbs.db));
		return -1;
	}
	return start_writer();
}

/* ---- reads answered with bytes ---- */

static void
answer_done(void *arg, int stored)
{
	struct hub_db_answer *a = arg;
	size_t len;
	char *data = mc_buf_take(&a->out, &len);

	if (len == 0 || !stored) {
		free(data);
		data = NULL;
		len = 0;
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
	hub_db_read(run, answer_done, a);
}

/* ---- online backup ---- */

#define BACKUP_MAX	((size_t)1 << 30)

/* Runs between two batches, so the copy is one consistent state. */
static int
backup_run(struct hub_sql *db, void *arg)
{
	struct hub_db_answer *a = arg;

	if (db->ops->backup(db, &a->out, BACKUP_MAX) == -1)
		mc_err("backup: cannot copy the database (over %zu bytes, or "
		    "out of memory)", BACKUP_MAX);
	return HUB_SQL_OK;
}

const char *
hub_db_backup_hint(void)
{
	return dbs.db != NULL && dbs.db->ops->backup == NULL ?
	    dbs.db->ops->backup_hint : NULL;
}

void
hub_db_backup(void (*done)(void *arg, char *bytes, size_t len), void *arg)
{
	struct hub_db_answer *a = calloc(1, sizeof(*a));

	if (a == NULL || hub_db_backup_hint() != NULL) {
		free(a);
		done(arg, NULL, 0);
		return;
	}
	hub_db_ask(backup_run, a, BACKUP_MAX, done, arg);
}
