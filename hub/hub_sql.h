/*
 * hub_sql.h - the store's SQL, whatever engine holds it.
 *
 * The hub's store (hub_db.c) runs SQL through this small interface: a
 * connection, statements prepared from text with `?` placeholders, binds,
 * steps, columns.  Two drivers implement it: hub_sql_sqlite.c (one hub, a
 * file, the default) and hub_sql_pg.c (PostgreSQL, several hubs sharing
 * one fleet).  One is chosen at start from `store =` (hub_db_open()); the
 * rest of the hub never asks which.  SQL given to it must read the same
 * on SQLite 3.40 and PostgreSQL 15 (docs/architecture.md says what that
 * rules out).
 *
 * Everything here runs on the store's writer thread, or before the event
 * loop starts: a driver may block on its disk or its server.
 */
#ifndef HUB_SQL_H
#define HUB_SQL_H

#include <stddef.h>
#include <stdint.h>

struct mc_buf;

/* What steps and runs return. */
enum {
	HUB_SQL_OK	= 0,
	HUB_SQL_ERROR	= 1,	/* the statement's own fault: logged, skipped */
	HUB_SQL_FAIL	= 2,	/* the store's: the batch waits and is retried */
	HUB_SQL_ROW	= 100,
	HUB_SQL_DONE	= 101
};

/* The id blocks a hub takes from the store (hub_db_ids.c). */
enum hub_sql_seq { HUB_SEQ_AGENTS, HUB_SEQ_EVENTS, HUB_SEQ_N };

struct hub_sql;
struct hub_sql_stmt;

struct hub_sql_ops {
	const char	*name;		/* "sqlite", "postgresql" */
	const char	*fault_hint;	/* what to look at when it fails */
	/* tables, indexes and migrations; 0 / -1 with err */
	int		(*schema)(struct hub_sql *db, char *err, size_t errlen);
	void		(*close)(struct hub_sql *db);
	/* one or more statements without parameters or rows */
	int		(*exec)(struct hub_sql *db, const char *sql);
	/* keep: the statement will be run many times (server-side prepared
	 * where that is a thing); HUB_SQL_OK or a failure */
	int		(*prepare)(struct hub_sql *db, const char *sql, int keep,
			    struct hub_sql_stmt **st);
	void		(*finalize)(struct hub_sql_stmt *st);
	/* i counts from 1; text and blobs must stay valid until the next
	 * step or reset of st */
	void		(*bind_int64)(struct hub_sql_stmt *st, int i, int64_t v);
	void		(*bind_double)(struct hub_sql_stmt *st, int i, double v);
	void		(*bind_text)(struct hub_sql_stmt *st, int i,
			    const char *s);	/* NULL binds NULL */
	void		(*bind_blob)(struct hub_sql_stmt *st, int i,
			    const void *p, size_t n);
	void		(*bind_null)(struct hub_sql_stmt *st, int i);
	/* HUB_SQL_ROW, HUB_SQL_DONE, HUB_SQL_ERROR or HUB_SQL_FAIL */
	int		(*step)(struct hub_sql_stmt *st);
	/* back to before the first step, bindings cleared */
	void		(*reset)(struct hub_sql_stmt *st);
	/* columns of the current row, i from 0; valid until the next step */
	int64_t		(*col_int64)(struct hub_sql_stmt *st, int i);
	double		(*col_double)(struct hub_sql_stmt *st, int i);
	const char	*(*col_text)(struct hub_sql_stmt *st, int i);	/* NULL */
	const void	*(*col_blob)(struct hub_sql_stmt *st, int i);
	size_t		(*col_bytes)(struct hub_sql_stmt *st, int i);
	int		(*col_null)(struct hub_sql_stmt *st, int i);
	/* rows changed by the last statement */
	int64_t		(*changes)(struct hub_sql *db);
	const char	*(*errmsg)(struct hub_sql *db);
	/* BEGIN, COMMIT, ROLLBACK: HUB_SQL_OK or a failure */
	int		(*begin)(struct hub_sql *db);
	int		(*commit)(struct hub_sql *db);
	void		(*rollback)(struct hub_sql *db);
	/* around each job of a batch, so that a statement's error undoes
	 * that job alone (NULL where the engine does so by itself) */
	int		(*job_begin)(struct hub_sql *db);
	int		(*job_end)(struct hub_sql *db);
	/* bytes the store uses, for /metrics; 0 / -1 */
	int		(*size)(struct hub_sql *db, int64_t *bytes);
	/* a consistent copy of the whole store into out (at most max
	 * bytes): 0 / -1.  NULL where the engine has its own tool, which
	 * backup_hint names for the API's answer. */
	int		(*backup)(struct hub_sql *db, struct mc_buf *out,
			    size_t max);
	const char	*backup_hint;
	/* the first id of a fresh block for seq and how many follow it;
	 * HUB_SQL_OK or a failure */
	int		(*ids)(struct hub_sql *db, enum hub_sql_seq seq,
			    int64_t *first, int64_t *count);
};

/* Drivers put this first in their connection and statement structs. */
struct hub_sql {
	const struct hub_sql_ops	*ops;
};
struct hub_sql_stmt {
	struct hub_sql	*db;
};

/* The drivers' openers: a connection (owned by the caller, closed with
 * hub_sql_close()) or NULL with the reason in err. */
struct hub_sql	*hub_sql_sqlite_open(const char *path, char *err,
		    size_t errlen);
/* conninfo: a libpq URL without a password; password may be NULL */
struct hub_sql	*hub_sql_pg_open(const char *conninfo, const char *password,
		    char *err, size_t errlen);

/* The calls, for readability at the call sites. */
static inline int
hub_sql_prepare(struct hub_sql *db, const char *sql, struct hub_sql_stmt **st)
{
	return db->ops->prepare(db, sql, 0, st);
}
static inline void
hub_sql_finalize(struct hub_sql_stmt *st)
{
	if (st != NULL)
		st->db->ops->finalize(st);
}
static inline int
hub_sql_step(struct hub_sql_stmt *st)
{
	return st->db->ops->step(st);
}
static inline void
hub_sql_reset(struct hub_sql_stmt *st)
{
	st->db->ops->reset(st);
}
static inline void
hub_sql_bind_int64(struct hub_sql_stmt *st, int i, int64_t v)
{
	st->db->ops->bind_int64(st, i, v);
}
static inline void
hub_sql_bind_double(struct hub_sql_stmt *st, int i, double v)
{
	st->db->ops->bind_double(st, i, v);
}
static inline void
hub_sql_bind_text(struct hub_sql_stmt *st, int i, const char *s)
{
	st->db->ops->bind_text(st, i, s);
}
static inline void
hub_sql_bind_blob(struct hub_sql_stmt *st, int i, const void *p, size_t n)
{
	st->db->ops->bind_blob(st, i, p, n);
}
static inline void
hub_sql_bind_null(struct hub_sql_stmt *st, int i)
{
	st->db->ops->bind_null(st, i);
}
static inline int64_t
hub_sql_int64(struct hub_sql_stmt *st, int i)
{
	return st->db->ops->col_int64(st, i);
}
static inline double
hub_sql_double(struct hub_sql_stmt *st, int i)
{
	return st->db->ops->col_double(st, i);
}
/* NULL for a NULL */
static inline const char *
hub_sql_text(struct hub_sql_stmt *st, int i)
{
	return st->db->ops->col_text(st, i);
}
/* "" for a NULL */
static inline const char *
hub_sql_str(struct hub_sql_stmt *st, int i)
{
	const char *t = st->db->ops->col_text(st, i);

	return t ? t : "";
}
static inline const void *
hub_sql_blob(struct hub_sql_stmt *st, int i)
{
	return st->db->ops->col_blob(st, i);
}
static inline size_t
hub_sql_bytes(struct hub_sql_stmt *st, int i)
{
	return st->db->ops->col_bytes(st, i);
}
static inline int
hub_sql_null(struct hub_sql_stmt *st, int i)
{
	return st->db->ops->col_null(st, i);
}
static inline int
hub_sql_exec(struct hub_sql *db, const char *sql)
{
	return db->ops->exec(db, sql);
}
static inline const char *
hub_sql_errmsg(struct hub_sql *db)
{
	return db->ops->errmsg(db);
}
static inline int64_t
hub_sql_changes(struct hub_sql *db)
{
	return db->ops->changes(db);
}
static inline void
hub_sql_close(struct hub_sql *db)
{
	if (db != NULL)
		db->ops->close(db);
}

#endif
