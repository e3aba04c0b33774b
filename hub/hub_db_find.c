/*
 * hub_db_find.c - what another hub of the same store wrote, found here.
 *
 * Hubs sharing a PostgreSQL store each hold the fleet's agents and tokens
 * in memory, loaded at start.  An agent enrolled through another hub
 * later (or one that fails over from a dead hub) is unknown here: before
 * it is refused, its row is looked up in the store on the writer thread
 * and, if found, restored into the registry and the hello goes on.  A
 * name not found is remembered for NEG_TTL seconds (NEG_SLOTS names), so
 * a listener with a wrong name cannot make every hello a query.  The
 * same lookup serves an agent that another hub's live feed names and this
 * hub does not know (hub_db_find_learn()): restored, it is watched here
 * like the others, so that if it dies together with its hub a survivor
 * records it critical (without it nobody would); at most LEARN_MAX such
 * lookups wait at once, one per name.  Tokens
 * and enrollment keys are few and small: both tables are read again
 * every TOKEN_EVERY seconds and the new ones (and revocations, and keys'
 * uses counted by the other hubs) taken.  On SQLite the same code runs
 * and finds nothing new: one hub owns the file.
 */
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hub_sql.h"
#include "mc_log.h"
#include "mc_util.h"

#define NEG_SLOTS	256
#define NEG_TTL		10.0	/* seconds a miss is remembered */
#define TOKEN_EVERY	5.0	/* seconds between reads of the tokens */
#define TOKENS_MAX	1024	/* rows one read takes, of each table */
#define LEARN_MAX	64	/* lookups for agents the feed named */

/* A lookup waits for the store; its connection may close meanwhile. */
struct find_job {
	struct hub_conn	*conn;		/* not owned; NULL once it closed */
	int		 learn;		/* for the feed: no connection */
	struct mc_hello	 hello;		/* owned copy; wiped at the end */
	int		 found;
	int64_t		 id;
	char		 cred_hash[MC_SHA256_HEX];
	char		 status[16];
	double		 last_seen;
	double		 since;
	struct find_job	*next;
};

static struct {
	struct find_job	*pending;	/* not owned: each by its callback */
	int		 learning;	/* of them, hub_db_find_learn()'s */
	uint64_t	 learnt;
	struct { uint32_t h; double until; } neg[NEG_SLOTS];
	double		 token_next;	/* monotonic */
	int		 token_reading;
} fs;

static int
neg_hit(const char *name, double now)
{
	uint32_t h = mc_hash_str(name);
	size_t i = h % NEG_SLOTS;

	return fs.neg[i].h == h && fs.neg[i].until > now;
}

static void
neg_add(const char *name, double now)
{
	uint32_t h = mc_hash_str(name);
	size_t i = h % NEG_SLOTS;

	fs.neg[i].h = h;
	fs.neg[i].until = now + NEG_TTL;
}

/* Writer thread. */
static int
find_run(struct hub_sql *db, void *arg)
{
	struct find_job *j = arg;
	struct hub_sql_stmt *st;
	int rc;

	if ((rc = hub_sql_prepare(db, "SELECT id, cred_hash, status,"
	    " last_seen, since FROM agents WHERE name = ?", &st)) !=
	    HUB_SQL_OK)
		return rc;
	hub_sql_bind_text(st, 1, j->hello.name);
	if ((rc = hub_sql_step(st)) == HUB_SQL_ROW) {
		j->found = 1;
		j->id = hub_sql_int64(st, 0);
		mc_strlcpy(j->cred_hash, hub_sql_str(st, 1),
		    sizeof(j->cred_hash));
		mc_strlcpy(j->status, hub_sql_str(st, 2), sizeof(j->status));
		j->last_seen = hub_sql_double(st, 3);
		j->since = hub_sql_double(st, 4);
	}
	hub_sql_finalize(st);
	return rc == HUB_SQL_ROW || rc == HUB_SQL_DONE ? HUB_SQL_OK : rc;
}

static void
unlink_job(struct find_job *j)
{
	struct find_job **pp;

	for (pp = &fs.pending; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			return;
		}
}

/* An agent named by another hub's feed, found in the store: from now on
 * it is known here (hub_live_restore() starts watching it; the bus says
 * who holds it). */
static void
learnt(struct find_job *j, int stored)
{
	struct hub_agent *a;

	fs.learning--;
	if (!stored || !j->found) {
		if (stored)
			neg_add(j->hello.name, mc_now());
		return;
	}
	if (hub_agent_find(j->hello.name) != NULL || (a = hub_agent_restore(
	    j->id, j->hello.name, j->cred_hash)) == NULL)
		return;
	hub_live_restore(a, j->status, j->last_seen, j->since);
	fs.learnt++;
	mc_info("agent '%s' (enrolled through another hub) found in the "
	    "store; watched here too", a->name);
}

static void
find_done(void *arg, int stored)
{
	struct find_job *j = arg;	/* owned here */
	struct hub_agent *a;

	unlink_job(j);
	if (j->learn)
		learnt(j, stored);
	else if (j->conn != NULL) {
		if (stored && j->found &&
		    hub_agent_find(j->hello.name) == NULL &&
		    (a = hub_agent_restore(j->id, j->hello.name,
		    j->cred_hash)) != NULL) {
			hub_live_restore(a, j->status, j->last_seen,
			    j->since);
			mc_info("%s: agent '%s' found in the store (enrolled "
			    "through another hub)", j->conn->peer,
			    j->hello.name);
		} else if (!j->found)
			neg_add(j->hello.name, mc_now());
		hub_agent_hello_go(j->conn, &j->hello);
	}
	explicit_bzero(&j->hello, sizeof(j->hello));
	free(j);
}

int
hub_db_find_agent(struct hub_conn *c, const struct mc_hello *h)
{
	struct find_job *j;

	if (neg_hit(h->name, mc_now()) ||
	    (j = calloc(1, sizeof(*j))) == NULL)	/* owned by find_done */
		return -1;
	j->conn = c;
	memcpy(&j->hello, h, sizeof(j->hello));
	j->next = fs.pending;
	fs.pending = j;
	hub_db_read(find_run, find_done, j);
	return 0;
}

void
hub_db_find_learn(const char *name)
{
	struct find_job *j;

	if (!hub_db_shared() || fs.learning >= LEARN_MAX ||
	    neg_hit(name, mc_now()))
		return;
	for (j = fs.pending; j != NULL; j = j->next)
		if (strcmp(j->hello.name, name) == 0)
			return;		/* asked already */
	if ((j = calloc(1, sizeof(*j))) == NULL)	/* owned by find_done */
		return;
	j->learn = 1;
	mc_strlcpy(j->hello.name, name, sizeof(j->hello.name));
	j->next = fs.pending;
	fs.pending = j;
	fs.learning++;
	hub_db_read(find_run, find_done, j);
}

uint64_t
hub_db_find_learnt(void)
{
	return fs.learnt;
}

void
hub_db_find_forget(struct hub_conn *c)
{
	struct find_job *j;

	for (j = fs.pending; j != NULL; j = j->next)
		if (j->conn == c)
			j->conn = NULL;
}

/* ---- tokens and enrollment keys made on another hub ---- */

struct token_row {
	char	 id[16], hash[65], name[MC_NAME_MAX + 1];
	int	 role, revoked;
	double	 created;
};

struct token_read {
	struct token_row	*rows;	/* owned */
	size_t			 n;
	struct hub_key		*keys;	/* owned array (next unused) */
	size_t			 nkeys;
};

static int
keys_run(struct hub_sql *db, struct token_read *r)
{
	struct hub_sql_stmt *st;
	struct hub_key *k;
	int rc;

	if ((rc = hub_sql_prepare(db, "SELECT id, hash, uses, used, expires,"
	    " created, revoked FROM enroll_keys", &st)) != HUB_SQL_OK)
		return rc;
	while ((rc = hub_sql_step(st)) == HUB_SQL_ROW && r->nkeys < TOKENS_MAX) {
		k = &r->keys[r->nkeys++];
		mc_strlcpy(k->id, hub_sql_str(st, 0), sizeof(k->id));
		mc_strlcpy(k->hash, hub_sql_str(st, 1), sizeof(k->hash));
		k->uses = hub_sql_int64(st, 2);
		k->used = hub_sql_int64(st, 3);
		k->expires = hub_sql_double(st, 4);
		k->created = hub_sql_double(st, 5);
		k->revoked = (int)hub_sql_int64(st, 6);
	}
	hub_sql_finalize(st);
	return HUB_SQL_OK;
}

static int
tokens_run(struct hub_sql *db, void *arg)
{
	struct token_read *r = arg;
	struct hub_sql_stmt *st;
	struct token_row *t;
	int rc;

	if ((rc = hub_sql_prepare(db, "SELECT id, hash, role, name, created,"
	    " revoked FROM tokens", &st)) != HUB_SQL_OK)
		return rc;
	while ((rc = hub_sql_step(st)) == HUB_SQL_ROW && r->n < TOKENS_MAX) {
		t = &r->rows[r->n++];
		mc_strlcpy(t->id, hub_sql_str(st, 0), sizeof(t->id));
		mc_strlcpy(t->hash, hub_sql_str(st, 1), sizeof(t->hash));
		t->role = (int)hub_sql_int64(st, 2);
		mc_strlcpy(t->name, hub_sql_str(st, 3), sizeof(t->name));
		t->created = hub_sql_double(st, 4);
		t->revoked = (int)hub_sql_int64(st, 5);
	}
	hub_sql_finalize(st);
	return keys_run(db, r);
}

static void
tokens_done(void *arg, int stored)
{
	struct token_read *r = arg;	/* owned here */
	size_t i;

	fs.token_reading = 0;
	for (i = 0; stored && i < r->n; i++)
		hub_auth_sync_token(r->rows[i].id, r->rows[i].hash,
		    r->rows[i].role, r->rows[i].name, r->rows[i].created,
		    r->rows[i].revoked);
	for (i = 0; stored && i < r->nkeys; i++)
		hub_auth_sync_key(&r->keys[i]);
	explicit_bzero(r->rows, TOKENS_MAX * sizeof(*r->rows));
	explicit_bzero(r->keys, TOKENS_MAX * sizeof(*r->keys));
	free(r->rows);
	free(r->keys);
	free(r);
}

void
hub_db_find_cron(double now)
{
	struct token_read *r;

	if (now < fs.token_next || fs.token_reading)
		return;
	fs.token_next = now + TOKEN_EVERY;
	if ((r = calloc(1, sizeof(*r))) == NULL)	/* owned by tokens_done */
		return;
	if ((r->rows = calloc(TOKENS_MAX, sizeof(*r->rows))) == NULL ||
	    (r->keys = calloc(TOKENS_MAX, sizeof(*r->keys))) == NULL) {
		free(r->rows);
		free(r);
		return;
	}
	fs.token_reading = 1;
	hub_db_read(tokens_run, tokens_done, r);
}
