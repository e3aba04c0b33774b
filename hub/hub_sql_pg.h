/*
 * hub_sql_pg.h - what the PostgreSQL driver's files share
 * (hub_sql_pg.c: statements; hub_sql_pg_schema.c: schema and ids).
 */
#ifndef HUB_SQL_PG_H
#define HUB_SQL_PG_H

#include <libpq-fe.h>

#include "hub_sql.h"

struct hub_pg {
	struct hub_sql	 base;		/* first */
	PGconn		*c;		/* owned */
	uint64_t	 gen;		/* bumped at each reconnect */
	uint64_t	 nstmt;		/* server-side statement names */
	int64_t		 changes;
	int		 savepoint;	/* a job's savepoint is set */
	char		 err[256];
};

/* res (NULL: no answer) as HUB_SQL_OK, _ERROR or _FAIL; err set. */
int	hub_pg_rc(struct hub_pg *p, PGresult *res);
/* sql without parameters or rows: HUB_SQL_OK or a failure */
int	hub_pg_exec(struct hub_pg *p, const char *sql);
/* reconnect if the connection was lost: 0 / -1 */
int	hub_pg_alive(struct hub_pg *p);
void	hub_pg_notice(void *arg, const char *msg);

int	hub_pg_schema(struct hub_sql *db, char *err, size_t errlen);
int	hub_pg_ids(struct hub_sql *db, enum hub_sql_seq seq, int64_t *first,
	    int64_t *count);

#endif
