/*
 * hub_sql_pg.c - the store on PostgreSQL (libpq), shared by several hubs.
 *
 * Statements are written with `?`; they are turned into `$1, $2, ...` once,
 * at prepare.  A statement the store keeps (keep = 1, hub_db_exec()'s) is
 * prepared on the server at its first run and on each new connection;
 * others go as one PQexecParams.  Parameters go as text, blobs as binary;
 * every row comes back at the first step and the next steps walk them.
 *
 * A lost connection, a server shutting down or out of resources (SQLSTATE
 * classes 08, 57P, 53) or a transaction that lost a race (40001, 40P01) is
 * a failure of the store (HUB_SQL_FAIL): hub_db.c holds the batch and tries
 * again with backoff, and the next BEGIN reconnects first.  Anything else
 * is the statement's own error.  In PostgreSQL such an error spoils the
 * whole transaction, so each job of a batch runs after a savepoint and a
 * job whose statement failed is rolled back to it alone (job_begin/_end),
 * which is what SQLite does by itself.  The schema is versioned
 * (hub_sql_pg_schema.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "hub_sql.h"
#include "hub_sql_pg.h"
#include "mc_buf.h"
#include "mc_log.h"
#include "mc_util.h"

#define PG_PARAMS	32	/* the most `?` one statement has */
#define BYTEA_OID	17

struct pg_param {
	const char	*v;		/* NULL binds NULL; borrowed or num */
	int		 len, fmt;
	char		 num[32];	/* a number's text */
};

struct pg_stmt {
	struct hub_sql_stmt	 base;		/* first */
	char			*sql;		/* owned: with $n */
	int			 nparams;
	int			 keep;
	char			 name[24];	/* server-side, when keep */
	uint64_t		 gen;		/* connection it was prepared on */
	struct pg_param		 p[PG_PARAMS];
	PGresult		*res;		/* owned: the rows */
	int			 row, nrows;
	unsigned char		*blob;		/* owned: a bytea unescaped */
	size_t			 bloblen;
	int			 blobcol;
};

#define PG(d)		((struct hub_pg *)(void *)(d))
#define PST(s)		((struct pg_stmt *)(void *)(s))

static void
pg_seterr(struct hub_pg *p, const char *msg)
{
	size_t n;

	mc_strlcpy(p->err, msg && *msg ? msg : "unknown error",
	    sizeof(p->err));
	n = strlen(p->err);
	while (n > 0 && (p->err[n - 1] == '\n' || p->err[n - 1] == ' '))
		p->err[--n] = '\0';
}

/* The outcome of res (NULL: the connection failed) as a HUB_SQL code. */
int
hub_pg_rc(struct hub_pg *p, PGresult *res)
{
	const char *state;

	if (res == NULL || PQstatus(p->c) != CONNECTION_OK) {
		pg_seterr(p, PQerrorMessage(p->c));
		return HUB_SQL_FAIL;
	}
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		return HUB_SQL_OK;
	default:
		break;
	}
	pg_seterr(p, PQresultErrorMessage(res));
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state == NULL || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0 || strncmp(state, "53", 2) == 0 ||
	    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return HUB_SQL_FAIL;
	return HUB_SQL_ERROR;
}

/* A connection again if it was lost: 0 / -1. */
int
hub_pg_alive(struct hub_pg *p)
{
	if (PQstatus(p->c) == CONNECTION_OK)
		return 0;
	PQreset(p->c);
	if (PQstatus(p->c) != CONNECTION_OK) {
		pg_seterr(p, PQerrorMessage(p->c));
		return -1;
	}
	p->gen++;	/* the server forgot our prepared statements */
	mc_info("store: connected to PostgreSQL again");
	return 0;
}

/* Run sql without parameters; HUB_SQL_OK or a failure. */
int
hub_pg_exec(struct hub_pg *p, const char *sql)
{
	PGresult *res = PQexec(p->c, sql);
	int rc = hub_pg_rc(p, res);

	PQclear(res);
	return rc;
}

static int
pg_exec(struct hub_sql *d, const char *sql)
{
	return hub_pg_exec(PG(d), sql);
}

/* `?` to `$n`, outside quotes; the count in *n.  NULL: out of memory. */
static char *
translate(const char *sql, int *n)
{
	size_t len = strlen(sql), o = 0;
	char *out = malloc(len * 3 + 1);	/* owned by the caller */
	char quote = 0;

	*n = 0;
	if (out == NULL)
		return NULL;
	for (; *sql; sql++) {
		if (quote) {
			if (*sql == quote)
				quote = 0;
		} else if (*sql == '\'' || *sql == '"')
			quote = *sql;
		else if (*sql == '?') {
			o += (size_t)snprintf(out + o, 4, "$%d", ++*n);
			continue;
		}
		out[o++] = *sql;
	}
	out[o] = '\0';
	return out;
}

static int
pg_prepare(struct hub_sql *d, const char *sql, int keep,
    struct hub_sql_stmt **out)
{
	struct pg_stmt *s = calloc(1, sizeof(*s));	/* owned by *out */

	*out = NULL;
	if (s == NULL || (s->sql = translate(sql, &s->nparams)) == NULL) {
		free(s);
		pg_seterr(PG(d), "out of memory");
		return HUB_SQL_FAIL;
	}
	if (s->nparams > PG_PARAMS) {
		pg_seterr(PG(d), "too many parameters");
		free(s->sql);
		free(s);
		return HUB_SQL_ERROR;
	}
	s->base.db = d;
	s->keep = keep;
	if (keep)
		snprintf(s->name, sizeof(s->name), "m%llu",
		    (unsigned long long)++PG(d)->nstmt);
	*out = &s->base;
	return HUB_SQL_OK;
}

static void
rows_clear(struct pg_stmt *s)
{
	PQclear(s->res);
	s->res = NULL;
	PQfreemem(s->blob);
	s->blob = NULL;
	s->blobcol = -1;
}

static void
pg_reset(struct hub_sql_stmt *st)
{
	struct pg_stmt *s = PST(st);
	int i;

	rows_clear(s);
	for (i = 0; i < PG_PARAMS; i++) {
		s->p[i].v = NULL;
		s->p[i].len = s->p[i].fmt = 0;
	}
}

static void
pg_finalize(struct hub_sql_stmt *st)
{
	struct pg_stmt *s = PST(st);

	rows_clear(s);
	/* a kept statement lives as long as the connection: its name is
	 * never reused, and hub_db.c keeps those until it closes */
	free(s->sql);
	free(s);
}

static struct pg_param *
param(struct hub_sql_stmt *st, int i)
{
	static struct pg_param spare;

	if (i < 1 || i > PG_PARAMS)
		return &spare;
	return &PST(st)->p[i - 1];
}

static void
pg_bind_int64(struct hub_sql_stmt *st, int i, int64_t v)
{
	struct pg_param *p = param(st, i);

	snprintf(p->num, sizeof(p->num), "%lld", (long long)v);
	p->v = p->num;
	p->fmt = 0;
}

static void
pg_bind_double(struct hub_sql_stmt *st, int i, double v)
{
	struct pg_param *p = param(st, i);

	snprintf(p->num, sizeof(p->num), "%.17g", v);
	p->v = p->num;
	p->fmt = 0;
}

static void
pg_bind_text(struct hub_sql_stmt *st, int i, const char *s)
{
	struct pg_param *p = param(st, i);

	p->v = s;
	p->fmt = 0;
}

static void
pg_bind_blob(struct hub_sql_stmt *st, int i, const void *b, size_t n)
{
	struct pg_param *p = param(st, i);

	p->v = b ? b : "";
	p->len = (int)n;
	p->fmt = 1;
}

static void
pg_bind_null(struct hub_sql_stmt *st, int i)
{
	param(st, i)->v = NULL;
}

static PGresult *
run(struct pg_stmt *s)
{
	struct hub_pg *p = PG(s->base.db);
	const char *vals[PG_PARAMS];
	int lens[PG_PARAMS], fmts[PG_PARAMS], i;
	PGresult *res;

	for (i = 0; i < s->nparams; i++) {
		vals[i] = s->p[i].v;
		lens[i] = s->p[i].len;
		fmts[i] = s->p[i].fmt;
	}
	if (!s->keep)
		return PQexecParams(p->c, s->sql, s->nparams, NULL, vals, lens,
		    fmts, 0);
	if (s->gen != p->gen || s->name[0] == '\0' || !s->gen) {
		res = PQprepare(p->c, s->name, s->sql, s->nparams, NULL);
		if (hub_pg_rc(p, res) != HUB_SQL_OK)
			return res;
		PQclear(res);
		s->gen = p->gen;
	}
	return PQexecPrepared(p->c, s->name, s->nparams, vals, lens, fmts, 0);
}

static int
pg_step(struct hub_sql_stmt *st)
{
	struct pg_stmt *s = PST(st);
	struct hub_pg *p = PG(st->db);
	const char *n;
	int rc;

	if (s->res != NULL) {
		PQfreemem(s->blob);
		s->blob = NULL;
		s->blobcol = -1;
		return ++s->row < s->nrows ? HUB_SQL_ROW : HUB_SQL_DONE;
	}
	s->res = run(s);
	if ((rc = hub_pg_rc(p, s->res)) != HUB_SQL_OK) {
		rows_clear(s);
		return rc;
	}
	n = PQcmdTuples(s->res);
	p->changes = n && *n ? strtoll(n, NULL, 10) : 0;
	s->row = 0;
	s->nrows = PQntuples(s->res);
	s->blobcol = -1;
	return s->nrows > 0 ? HUB_SQL_ROW : HUB_SQL_DONE;
}

static const char *
cell(struct hub_sql_stmt *st, int i)
{
	struct pg_stmt *s = PST(st);

	if (s->res == NULL || s->row >= s->nrows || i < 0 ||
	    i >= PQnfields(s->res) || PQgetisnull(s->res, s->row, i))
		return NULL;
	return PQgetvalue(s->res, s->row, i);
}

static int64_t
pgs_int64(struct hub_sql_stmt *st, int i)
{
	const char *v = cell(st, i);

	return v ? strtoll(v, NULL, 10) : 0;
}

static double
pgs_double(struct hub_sql_stmt *st, int i)
{
	const char *v = cell(st, i);

	return v ? strtod(v, NULL) : 0;
}

static const char *
pgs_text(struct hub_sql_stmt *st, int i)
{
	return cell(st, i);
}

/* A bytea comes as text (\x...): unescaped once a row and column. */
static const unsigned char *
bytea(struct hub_sql_stmt *st, int i, size_t *len)
{
	struct pg_stmt *s = PST(st);
	const char *v = cell(st, i);

	*len = 0;
	if (v == NULL)
		return NULL;
	if (PQftype(s->res, i) != BYTEA_OID) {
		*len = (size_t)PQgetlength(s->res, s->row, i);
		return (const unsigned char *)v;
	}
	if (s->blobcol != i) {
		PQfreemem(s->blob);
		/* owned by s until the next step or reset */
		s->blob = PQunescapeBytea((const unsigned char *)v,
		    &s->bloblen);
		s->blobcol = s->blob ? i : -1;
	}
	*len = s->blob ? s->bloblen : 0;
	return s->blob;
}

static const void *
pgs_blob(struct hub_sql_stmt *st, int i)
{
	size_t n;

	return bytea(st, i, &n);
}

static size_t
pgs_bytes(struct hub_sql_stmt *st, int i)
{
	size_t n;

	bytea(st, i, &n);
	return n;
}

static int
pgs_null(struct hub_sql_stmt *st, int i)
{
	return cell(st, i) == NULL;
}

static int64_t
pg_changes(struct hub_sql *d)
{
	return PG(d)->changes;
}

static const char *
pg_errmsg(struct hub_sql *d)
{
	return PG(d)->err;
}

/* The start of a batch is where a lost connection is made again. */
static int
pg_begin(struct hub_sql *d)
{
	PG(d)->savepoint = 0;
	if (hub_pg_alive(PG(d)) == -1)
		return HUB_SQL_FAIL;
	return hub_pg_exec(PG(d), "BEGIN");
}

static int
pg_commit(struct hub_sql *d)
{
	PG(d)->savepoint = 0;
	return hub_pg_exec(PG(d), "COMMIT");
}

static void
pg_rollback(struct hub_sql *d)
{
	PG(d)->savepoint = 0;
	if (PQstatus(PG(d)->c) == CONNECTION_OK)
		PQclear(PQexec(PG(d)->c, "ROLLBACK"));
}

/* Before each job of a batch: the point its failure goes back to (one
 * round trip: the previous job's point is let go in the same one). */
static int
pg_job_begin(struct hub_sql *d)
{
	struct hub_pg *p = PG(d);
	int rc;

	rc = hub_pg_exec(p, p->savepoint ? "RELEASE SAVEPOINT job;"
	    " SAVEPOINT job" : "SAVEPOINT job");
	p->savepoint = rc == HUB_SQL_OK;
	return rc;
}

/* After each job: if one of its statements failed, only it is undone. */
static int
pg_job_end(struct hub_sql *d)
{
	struct hub_pg *p = PG(d);

	if (PQtransactionStatus(p->c) != PQTRANS_INERROR)
		return HUB_SQL_OK;
	return hub_pg_exec(p, "ROLLBACK TO SAVEPOINT job");
}

static int
pg_size(struct hub_sql *d, int64_t *bytes)
{
	PGresult *res = PQexec(PG(d)->c,
	    "SELECT pg_database_size(current_database())");
	int rc = -1;

	if (hub_pg_rc(PG(d), res) == HUB_SQL_OK && PQntuples(res) == 1) {
		*bytes = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

static void
pg_close(struct hub_sql *d)
{
	PQfinish(PG(d)->c);
	free(d);
}

static const struct hub_sql_ops pg_ops = {
	.name = "postgresql",
	.fault_hint = "Check that PostgreSQL runs and is reachable",
	.schema = hub_pg_schema,
	.close = pg_close,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.bind_int64 = pg_bind_int64,
	.bind_double = pg_bind_double,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.reset = pg_reset,
	.col_int64 = pgs_int64,
	.col_double = pgs_double,
	.col_text = pgs_text,
	.col_blob = pgs_blob,
	.col_bytes = pgs_bytes,
	.col_null = pgs_null,
	.changes = pg_changes,
	.errmsg = pg_errmsg,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.job_begin = pg_job_begin,
	.job_end = pg_job_end,
	.size = pg_size,
	.backup = NULL,
	.backup_hint = "the store is PostgreSQL: back it up with pg_dump "
	    "(docs/operations.md)",
	.ids = hub_pg_ids,
};

struct hub_sql *
hub_sql_pg_open(const char *conninfo, const char *password, char *err,
    size_t errlen)
{
	const char *keys[5], *vals[5];
	struct hub_pg *p = calloc(1, sizeof(*p));	/* owned by the caller */
	int n = 0;

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->base.ops = &pg_ops;
	p->gen = 1;
	/* the URL's own connect_timeout, if any, wins: it comes after */
	keys[n] = "connect_timeout", vals[n++] = "5";
	keys[n] = "application_name", vals[n++] = "maestro-hub";
	keys[n] = "dbname", vals[n++] = conninfo;
	if (password != NULL)
		keys[n] = "password", vals[n++] = password;
	keys[n] = NULL, vals[n] = NULL;
	p->c = PQconnectdbParams(keys, vals, 1);
	if (p->c == NULL || PQstatus(p->c) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", p->c ? PQerrorMessage(p->c) :
		    "out of memory");
		err[strcspn(err, "\n")] = '\0';
		PQfinish(p->c);
		free(p);
		return NULL;
	}
	/* notices (a table that exists already) are not worth a log line */
	PQsetNoticeProcessor(p->c, hub_pg_notice, NULL);
	return &p->base;
}
