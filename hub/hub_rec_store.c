/*
 * hub_rec_store.c - terminal sessions in hub.db and their casts on disk,
 * read, recovered and pruned on the store's thread (hub_db.c).
 *
 * hub_rec.c writes the rows (inserted at open, finished at close); this
 * file is everything else that touches them: the list and the cast the
 * API serves, the rows a killed hub left open, and retention.  Each runs
 * as a job on the store's thread, after every write queued before it, so
 * a list never misses a session whose "opened" event was already sent,
 * and the loop never waits for the disk.  A cast is opened here and
 * served in pieces read on this thread too (hub_http_file.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "hub.h"
#include "hub_sql.h"
#include "mc_log.h"
#include "mc_util.h"

#define LIST_JSON_MAX	(1024 * 1024)
/* sessions deleted per retention round (hub_retain.c's pace) */
#define RETAIN_BATCH	600
/* bytes read at a time looking back for a cast's last whole line */
#define CAST_TAIL	4096

static void
cast_path(const char *sid, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s.cast", hub_rec_dir(), sid);
}

/* ---- a killed hub's sessions ---- */

/* Close one open row: it ended when its cast was last written (its
 * mtime), or, with no cast, when it opened. */
static int
recover_one(struct hub_sql *db, const char *sid, double opened)
{
	static const char q[] = "UPDATE sessions SET closed = ?, duration = ?,"
	    " reason = 'shutdown', cast_bytes = ? WHERE id = ?";
	char path[MC_PATH_MAX + MC_ID_MAX + 16];
	double closed = opened;
	struct hub_sql_stmt *st;
	int64_t size = 0;
	struct stat sb;
	int rc;

	cast_path(sid, path, sizeof(path));
	if (hub_rec_sid_valid(sid) && stat(path, &sb) == 0) {
		size = (int64_t)sb.st_size;
		if ((double)sb.st_mtime > opened)
			closed = (double)sb.st_mtim.tv_sec +
			    (double)sb.st_mtim.tv_nsec / 1e9;
	}
	if ((rc = hub_sql_prepare(db, q, &st)) != HUB_SQL_OK)
		return rc;
	hub_sql_bind_double(st, 1, closed);
	hub_sql_bind_double(st, 2, closed - opened);
	hub_sql_bind_int64(st, 3, size);
	hub_sql_bind_text(st, 4, sid);
	rc = hub_sql_step(st);
	hub_sql_finalize(st);
	return rc == HUB_SQL_DONE ? HUB_SQL_OK : rc;
}

static int
recover_run(struct hub_sql *db, void *arg)
{
	static const char q[] = "SELECT id, opened FROM sessions WHERE closed"
	    " IS NULL LIMIT 1";
	char sid[MC_ID_MAX];
	struct hub_sql_stmt *st;
	double opened;
	int rc = HUB_SQL_OK, n = 0;

	(void)arg;
	/* one at a time: each UPDATE takes its row out of the query */
	for (;;) {
		if ((rc = hub_sql_prepare(db, q, &st)) !=
		    HUB_SQL_OK)
			break;
		if (hub_sql_step(st) != HUB_SQL_ROW) {
			hub_sql_finalize(st);
			break;
		}
		mc_strlcpy(sid, hub_sql_text(st, 0) ?
		    hub_sql_text(st, 0) : "", sizeof(sid));
		opened = hub_sql_double(st, 1);
		hub_sql_finalize(st);
		if ((rc = recover_one(db, sid, opened)) != HUB_SQL_OK)
			break;
		n++;
	}
	if (rc != HUB_SQL_OK)
		mc_err("sessions: cannot close the rows left open: %s",
		    hub_sql_errmsg(db));
	else if (n > 0)
		mc_info("sessions: %d terminal sessions were open when the hub "
		    "last stopped without closing them; they are closed now "
		    "(reason shutdown), their recordings kept as they are", n);
	return rc;
}

void
hub_rec_recover(void)
{
	hub_db_call(recover_run, NULL, NULL);
}

/* ---- retention ---- */

struct retain_job {
	double	cutoff;
};

static void
retain_cast(const char *sid)
{
	char path[MC_PATH_MAX + MC_ID_MAX + 16];

	/* the id comes from the database: it names a file only if it has
	 * the shape the hub gives ids */
	if (!hub_rec_sid_valid(sid))
		return;
	cast_path(sid, path, sizeof(path));
	if (unlink(path) == -1 && errno != ENOENT)
		mc_warn("sessions: cannot delete %s: %s", path,
		    strerror(errno));
}

static int
retain_run(struct hub_sql *db, void *arg)
{
	static const char q_old[] = "SELECT id FROM sessions WHERE closed < ?"
	    " ORDER BY closed LIMIT ?";
	static const char q_del[] = "DELETE FROM sessions WHERE id = ?";
	struct retain_job *j = arg;
	struct hub_sql_stmt *st, *del;
	const char *sid;
	int rc;

	if ((rc = hub_sql_prepare(db, q_old, &st)) != HUB_SQL_OK)
		return rc;
	if ((rc = hub_sql_prepare(db, q_del, &del)) !=
	    HUB_SQL_OK) {
		hub_sql_finalize(st);
		return rc;
	}
	hub_sql_bind_double(st, 1, j->cutoff);
	hub_sql_bind_int64(st, 2, RETAIN_BATCH);
	while ((rc = hub_sql_step(st)) == HUB_SQL_ROW) {
		sid = hub_sql_text(st, 0);
		if (sid == NULL)
			continue;
		retain_cast(sid);
		hub_sql_bind_text(del, 1, sid);
		rc = hub_sql_step(del);
		hub_sql_reset(del);
		if (rc != HUB_SQL_DONE)
			break;
	}
	rc = rc == HUB_SQL_DONE ? HUB_SQL_OK : rc;
	hub_sql_finalize(del);
	hub_sql_finalize(st);
	return rc;
}

static void
retain_done(void *arg, int stored)
{
	(void)stored;
	free(arg);
}

void
hub_rec_retain(double cutoff)
{
	struct retain_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return;
	j->cutoff = cutoff;
	hub_db_call(retain_run, retain_done, j);
}

/* ---- the list ---- */

struct list_job {
	struct hub_db_answer	 ans;	/* first: hub_db_ask() */
	char			 agent[MC_NAME_MAX + 1];	/* "": all */
	int			 limit;
};

static void
col_time(struct mc_jw *w, struct hub_sql_stmt *st, const char *key, int i)
{
	if (hub_sql_null(st, i))
		mc_jw_null(w, key);
	else
		mc_jw_dbl(w, key, hub_sql_double(st, i));
}

static void
col_str(struct mc_jw *w, struct hub_sql_stmt *st, const char *key, int i)
{
	const char *t = hub_sql_text(st, i);

	if (t == NULL)
		mc_jw_null(w, key);
	else
		mc_jw_str(w, key, (const char *)t);
}

/* One row: id, agent, user, opened, closed, duration, reason, exit,
 * bytes_in, bytes_out, cast_bytes, truncated. */
static void
row_write(struct mc_jw *w, struct hub_sql_stmt *st)
{
	mc_jw_obj(w, NULL);
	col_str(w, st, "id", 0);
	col_str(w, st, "agent", 1);
	col_str(w, st, "user", 2);
	col_time(w, st, "opened", 3);
	col_time(w, st, "closed", 4);
	col_time(w, st, "duration", 5);
	col_str(w, st, "reason", 6);
	if (hub_sql_null(st, 7))
		mc_jw_null(w, "exit");
	else
		mc_jw_i64(w, "exit", hub_sql_int64(st, 7));
	mc_jw_i64(w, "bytes_in", hub_sql_int64(st, 8));
	mc_jw_i64(w, "bytes_out", hub_sql_int64(st, 9));
	mc_jw_i64(w, "cast_bytes", hub_sql_int64(st, 10));
	mc_jw_bool(w, "truncated", (int)hub_sql_int64(st, 11));
	mc_jw_obj_end(w);
}

static int
list_run(struct hub_sql *db, void *arg)
{
	static const char q_all[] = "SELECT id, agent, \"user\", opened, closed,"
	    " duration, reason, exit, bytes_in, bytes_out, cast_bytes,"
	    " truncated FROM sessions ORDER BY opened DESC LIMIT ?";
	static const char q_agent[] = "SELECT id, agent, \"user\", opened, closed,"
	    " duration, reason, exit, bytes_in, bytes_out, cast_bytes,"
	    " truncated FROM sessions WHERE agent = ? ORDER BY opened DESC"
	    " LIMIT ?";
	struct list_job *j = arg;
	struct hub_sql_stmt *st;
	struct mc_jw w;
	int n = 1;

	if (hub_sql_prepare(db, j->agent[0] ? q_agent : q_all, &st) != HUB_SQL_OK) {
		mc_err("sessions: %s", hub_sql_errmsg(db));
		return HUB_SQL_OK;	/* nothing written: the caller's 500 */
	}
	if (j->agent[0])
		hub_sql_bind_text(st, n++, j->agent);
	hub_sql_bind_int64(st, n, j->limit);
	mc_jw_init(&w, &j->ans.out);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "sessions");
	while (hub_sql_step(st) == HUB_SQL_ROW && !w.err)
		row_write(&w, st);
	hub_sql_finalize(st);
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1)
		mc_buf_reset(&j->ans.out);
	return HUB_SQL_OK;
}

void
hub_rec_list(const char *agent, int limit,
    void (*done)(void *arg, char *json, size_t len), void *arg)
{
	struct list_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		done(arg, NULL, 0);
		return;
	}
	mc_strlcpy(j->agent, agent, sizeof(j->agent));
	j->limit = limit;
	hub_db_ask(list_run, &j->ans, LIST_JSON_MAX, done, arg);
}

/* ---- one cast ---- */

struct cast_job {
	char			 sid[MC_ID_MAX];
	enum hub_rec_found	 found;
	int			 fd;		/* owned until done; -1 */
	uint64_t		 size;		/* up to its last whole line */
	void			(*done)(void *arg, enum hub_rec_found found,
				    int fd, uint64_t size);
	void			*arg;
};

static int
session_exists(struct hub_sql *db, const char *sid)
{
	static const char q[] = "SELECT 1 FROM sessions WHERE id = ?";
	struct hub_sql_stmt *st;
	int found;

	if (hub_sql_prepare(db, q, &st) != HUB_SQL_OK) {
		mc_err("sessions: %s", hub_sql_errmsg(db));
		return -1;
	}
	hub_sql_bind_text(st, 1, sid);
	found = hub_sql_step(st) == HUB_SQL_ROW;
	hub_sql_finalize(st);
	return found;
}

/*
 * The length of fd's text up to its last newline: a session still open
 * may be in the middle of a line.  Reads back from the end a block at a
 * time; -1 on a read error.
 */
static int64_t
whole_lines(int fd, uint64_t size)
{
	char buf[CAST_TAIL];
	uint64_t end = size, from;
	ssize_t n;

	while (end > 0) {
		from = end > sizeof(buf) ? end - sizeof(buf) : 0;
		n = pread(fd, buf, (size_t)(end - from), (off_t)from);
		if (n != (ssize_t)(end - from))
			return -1;
		while (n > 0 && buf[n - 1] != '\n')
			n--;
		if (n > 0)
			return (int64_t)(from + (uint64_t)n);
		end = from;
	}
	return 0;
}

static int
cast_open(struct cast_job *j, const char *path)
{
	struct stat st;
	int64_t len;

	j->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (j->fd == -1)
		return -1;
	if (fstat(j->fd, &st) == -1 ||
	    (len = whole_lines(j->fd, (uint64_t)st.st_size)) == -1) {
		close(j->fd);
		j->fd = -1;
		return -1;
	}
	j->size = (uint64_t)len;
	return 0;
}

static int
cast_run(struct hub_sql *db, void *arg)
{
	char path[MC_PATH_MAX + MC_ID_MAX + 16];
	struct cast_job *j = arg;
	int found = session_exists(db, j->sid);

	if (found != 1) {
		j->found = found == 0 ? REC_NO_SESSION : REC_UNREADABLE;
		return HUB_SQL_OK;
	}
	cast_path(j->sid, path, sizeof(path));
	if (cast_open(j, path) == -1) {
		j->found = errno == ENOENT ? REC_NO_CAST : REC_UNREADABLE;
		if (errno != ENOENT)
			mc_err("sessions: cannot read %s: %s", path,
			    strerror(errno));
		return HUB_SQL_OK;
	}
	j->found = REC_FOUND;
	return HUB_SQL_OK;
}

static void
cast_done(void *arg, int stored)
{
	struct cast_job *j = arg;

	(void)stored;	/* a read: it ran */
	j->done(j->arg, j->found, j->fd, j->size);
	free(j);
}

void
hub_rec_cast_read(const char *sid,
    void (*done)(void *arg, enum hub_rec_found found, int fd,
    uint64_t size), void *arg)
{
	struct cast_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		done(arg, REC_UNREADABLE, -1, 0);
		return;
	}
	j->fd = -1;
	mc_strlcpy(j->sid, sid, sizeof(j->sid));
	j->found = REC_UNREADABLE;
	j->done = done;
	j->arg = arg;
	hub_db_read(cast_run, cast_done, j);
}
