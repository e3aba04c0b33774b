/*
 * hub_bus_redis.c - the bus thread: this hub's presence in Redis and the
 * list of the others (hiredis' synchronous API, on this thread only; the
 * event loop never talks to Redis).
 *
 * Every HUB_BUS_PERIOD seconds a round:
 *  - SET maestro:hub:NAME JSON PX lease: this hub's announcement (the
 *    figures the service thread handed over last), which lives only as
 *    long as the lease unless renewed, so a dead hub disappears by
 *    itself and no one has to clean up after it;
 *  - SCAN maestro:hub:* and MGET them: every hub announced (at most
 *    HUB_BUS_HUBS_MAX; the SCAN is bounded too, so give Maestro a Redis
 *    database of its own, /DB in the URL);
 *  - the difference with the previous round: a hub gone without a
 *    goodbye is down, with one a clean stop; a hub that went and
 *    announces again is back.  For each alertable change one
 *    SET maestro:alert:KIND:NAME:ID 1 NX PX 60000 decides which hub
 *    alerts: the one whose SET took the key (ID is the run of the hub
 *    concerned, which every hub sees alike, so each run of a hub is
 *    alerted once).  A lock that could not be asked alerts: twice
 *    rather than never.
 *  - with the Telegram bot's commands on, the poller's lease: taken
 *    (SET PX) when nobody holds it, renewed (PEXPIRE) by its holder, in
 *    one script so that two hubs never both take it; given back at stop.
 * The round goes to the service thread whole (hub_bus_redis_take()).
 * Redis unreachable: the round says why, the connection is made again
 * after a backoff (0.5 s doubling to 5 s); the list of hubs known stays,
 * and for 2 leases after each connection no hub known before it is
 * declared gone (after a Redis restart every hub announces again within
 * its backoff, and until then its key is simply missing).  Every command waits at most
 * 1 s for Redis.  At stop a last announcement says goodbye
 * ("stopping": true) so the others record a clean stop, not an outage.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "hub_bus.h"
#include "mc_log.h"
#include "mc_util.h"

#define KEY_PREFIX	"maestro:hub:"
#define KEY_MAX		(sizeof(KEY_PREFIX) + HUB_BUS_NAME_MAX + 1)
#define SCAN_CALLS_MAX	64	/* SCAN calls per round */
#define LOCK_MS		60000	/* an alert lock's life */
#define BACKOFF_MIN	0.5
#define BACKOFF_MAX	5.0
#define ANNOUNCE_MAX	2048	/* bytes of one announcement */
#define LEASE_TG_KEY	"maestro:lease:telegram"

/* KEYS[1] held by ARGV[1] for ARGV[2] ms: 1, or 0 when another holds it */
static const char lease_take[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
    "return 1 end "
    "if v then return 0 end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1";
/* KEYS[1] given back by ARGV[1] (if it holds it) */
static const char lease_give[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) end return 0";

/* A hub that went, remembered to tell when it is back. */
struct gone {
	char		 name[HUB_BUS_NAME_MAX + 1];
	int		 down;		/* BUS_DOWN, else BUS_LEFT */
};

static struct {
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 stop;			/* under mu */
	struct hub_bus_peer self;		/* under mu */
	int		 have_self;		/* under mu */
	struct hub_bus_round *done;		/* under mu; owned */
	/* the bus thread's own */
	struct hub_bus_cfg cfg;
	redisContext	*c;
	double		 settle_until;	/* wall: no hub is gone before */
	double		 failing_since;	/* wall; 0 while Redis answers */
	struct hub_bus_peer known[HUB_BUS_HUBS_MAX];	/* the others */
	int		 unsure[HUB_BUS_HUBS_MAX];	/* known[i] was known
						 * before this connection */
	int		 nknown;
	struct gone	 gone[HUB_BUS_HUBS_MAX];
	int		 ngone;
} br = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* ---- the connection ---- */

static void
disconnect(void)
{
	if (br.c != NULL)
		redisFree(br.c);
	br.c = NULL;
}

/* The reason of a failed command: hiredis' error, or Redis' answer. */
static void
why(const redisReply *rep, const char *what, char *err, size_t errlen)
{
	if (rep == NULL)
		snprintf(err, errlen, "%s: %s", what, br.c && br.c->errstr[0] ?
		    br.c->errstr : "no answer");
	else if (rep->type == REDIS_REPLY_ERROR)
		snprintf(err, errlen, "%s: %.*s", what, (int)rep->len,
		    rep->str);
	else
		snprintf(err, errlen, "%s: unexpected answer (type %d)", what,
		    rep->type);
}

/* A command whose answer must be the status OK. */
static int
want_ok(redisReply *rep, const char *what, char *err, size_t errlen)
{
	int ok = rep != NULL && rep->type == REDIS_REPLY_STATUS &&
	    strcmp(rep->str, "OK") == 0;

	if (!ok)
		why(rep, what, err, errlen);
	freeReplyObject(rep);
	return ok ? 0 : -1;
}

static int
connect_bus(char *err, size_t errlen)
{
	struct timeval tv = { 1, 0 };
	const struct hub_bus_url *u = &br.cfg.url;
	int i;

	br.c = redisConnectWithTimeout(u->host, u->port, tv);
	if (br.c == NULL || br.c->err) {
		snprintf(err, errlen, "cannot connect to %.100s port %d: %.120s",
		    u->host, u->port, br.c ? br.c->errstr : "out of memory");
		disconnect();
		return -1;
	}
	if (redisSetTimeout(br.c, tv) != REDIS_OK) {
		snprintf(err, errlen, "cannot set a timeout: %s",
		    br.c->errstr);
		goto fail;
	}
	if (br.cfg.password[0] != '\0' && want_ok(redisCommand(br.c,
	    "AUTH %s", br.cfg.password), "AUTH", err, errlen) == -1)
		goto fail;
	if (u->db != 0 && want_ok(redisCommand(br.c, "SELECT %d", u->db),
	    "SELECT", err, errlen) == -1)
		goto fail;
	/* the hubs known so far may be missing for a while (Redis
	 * restarted empty): they are not gone before settle_until */
	br.settle_until = mc_wall() + 2.0 * HUB_BUS_LEASE_MS / 1000;
	for (i = 0; i < br.nknown; i++)
		br.unsure[i] = 1;
	return 0;
fail:
	disconnect();
	return -1;
}

/* ---- this hub's announcement ---- */

static int
announce(const struct hub_bus_peer *p, char *err, size_t errlen)
{
	char key[KEY_MAX];
	struct mc_buf b;
	struct mc_jw w;
	int r;

	mc_buf_init(&b, ANNOUNCE_MAX);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "name", p->name);
	mc_jw_str(&w, "id", p->id);
	mc_jw_str(&w, "url", p->url);
	mc_jw_str(&w, "version", p->version);
	mc_jw_dbl(&w, "started", p->started);
	mc_jw_dbl(&w, "ts", mc_wall());
	mc_jw_i64(&w, "agents", p->agents);
	mc_jw_i64(&w, "online", p->online);
	mc_jw_i64(&w, "watching", p->watching);
	mc_jw_dbl(&w, "heartbeat", p->heartbeat);
	mc_jw_i64(&w, "miss", p->miss);
	if (p->push_key[0] != '\0')
		mc_jw_str(&w, "push_key", p->push_key);
	mc_jw_str(&w, "store", p->store);
	mc_jw_bool(&w, "stopping", p->stopping);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1 || b.data == NULL) {
		mc_buf_free(&b);
		snprintf(err, errlen, "this hub's announcement is too large");
		return -1;
	}
	snprintf(key, sizeof(key), KEY_PREFIX "%s", p->name);
	r = want_ok(redisCommand(br.c, "SET %s %b PX %d", key, b.data, b.len,
	    HUB_BUS_LEASE_MS), "SET", err, errlen);
	mc_buf_free(&b);
	return r;
}

/* ---- the list ---- */

static int
key_seen(char keys[][KEY_MAX], int n, const char *k)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(keys[i], k) == 0)
			return 1;
	return 0;
}

/* The keys maestro:hub:*, at most HUB_BUS_HUBS_MAX (*more set past it). */
static int
scan(char keys[][KEY_MAX], int *nkeys, int *more, char *err, size_t errlen)
{
	char cursor[32] = "0";
	redisReply *rep, *list;
	size_t i;
	int calls = 0;

	*nkeys = 0;
	do {
		rep = redisCommand(br.c, "SCAN %s MATCH " KEY_PREFIX "* COUNT "
		    "100", cursor);
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
		    rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			why(rep, "SCAN", err, errlen);
			freeReplyObject(rep);
			return -1;
		}
		mc_strlcpy(cursor, rep->element[0]->str, sizeof(cursor));
		list = rep->element[1];
		for (i = 0; i < list->elements; i++) {
			if (list->element[i]->type != REDIS_REPLY_STRING ||
			    list->element[i]->len >= KEY_MAX ||
			    key_seen(keys, *nkeys, list->element[i]->str))
				continue;
			if (*nkeys == HUB_BUS_HUBS_MAX) {
				*more = 1;
				continue;
			}
			mc_strlcpy(keys[(*nkeys)++], list->element[i]->str,
			    KEY_MAX);
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0 && ++calls < SCAN_CALLS_MAX);
	if (strcmp(cursor, "0") != 0)
		*more = 1;
	return 0;
}

static void
str_field(const struct mc_json *o, const char *k, char *out, size_t size)
{
	const char *s = mc_json_str(o, k);

	mc_strlcpy(out, s ? s : "", size);
}

/* One announcement read; 0, or -1 when it is not one (a foreign key). */
static int
peer_parse(const char *key, const char *text, size_t len,
    struct hub_bus_peer *p)
{
	char err[128];
	struct mc_jdoc *d = mc_json_parse(text, len, err, sizeof(err));
	const struct mc_json *o = d ? mc_json_root(d) : NULL;
	const char *name = o ? mc_json_str(o, "name") : NULL;
	int r = -1;

	memset(p, 0, sizeof(*p));
	if (name != NULL && hub_bus_name_valid(name) &&
	    strcmp(key + strlen(KEY_PREFIX), name) == 0) {
		mc_strlcpy(p->name, name, sizeof(p->name));
		str_field(o, "id", p->id, sizeof(p->id));
		str_field(o, "url", p->url, sizeof(p->url));
		str_field(o, "version", p->version, sizeof(p->version));
		str_field(o, "store", p->store, sizeof(p->store));
		str_field(o, "push_key", p->push_key, sizeof(p->push_key));
		mc_json_num(o, "started", &p->started);
		mc_json_num(o, "ts", &p->seen);
		mc_json_int(o, "agents", 0, INT64_MAX, &p->agents);
		mc_json_int(o, "online", 0, INT64_MAX, &p->online);
		mc_json_int(o, "watching", 0, INT64_MAX, &p->watching);
		mc_json_num(o, "heartbeat", &p->heartbeat);
		mc_json_int(o, "miss", 0, INT64_MAX, &p->miss);
		mc_json_bool(o, "stopping", &p->stopping);
		r = 0;
	}
	mc_json_free(d);
	return r;
}

static int
peer_cmp(const void *a, const void *b)
{
	const struct hub_bus_peer *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->id, y->id);
}

/* Every hub announced, into r->peers. */
static int
list(struct hub_bus_round *r, char *err, size_t errlen)
{
	static char keys[HUB_BUS_HUBS_MAX][KEY_MAX];	/* this thread's */
	const char *argv[HUB_BUS_HUBS_MAX + 1];
	size_t argl[HUB_BUS_HUBS_MAX + 1], i;
	redisReply *rep;
	int n, k;

	if (scan(keys, &n, &r->more, err, errlen) == -1)
		return -1;
	if (n == 0)
		return 0;
	argv[0] = "MGET";
	argl[0] = 4;
	for (k = 0; k < n; k++) {
		argv[k + 1] = keys[k];
		argl[k + 1] = strlen(keys[k]);
	}
	rep = redisCommandArgv(br.c, n + 1, argv, argl);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != (size_t)n) {
		why(rep, "MGET", err, errlen);
		freeReplyObject(rep);
		return -1;
	}
	for (i = 0; i < rep->elements; i++)
		if (rep->element[i]->type == REDIS_REPLY_STRING &&
		    peer_parse(keys[i], rep->element[i]->str,
		    rep->element[i]->len, &r->peers[r->npeers]) == 0)
			r->npeers++;
	freeReplyObject(rep);
	qsort(r->peers, (size_t)r->npeers, sizeof(r->peers[0]), peer_cmp);
	return 0;
}

/* ---- what changed ---- */

static struct hub_bus_change *
change_add(struct hub_bus_round *r, enum hub_bus_change_kind kind,
    const struct hub_bus_peer *p)
{
	struct hub_bus_change *c;

	if (r->nchanges == HUB_BUS_CHANGES_MAX) {
		r->lost++;
		return NULL;
	}
	c = &r->changes[r->nchanges++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->peer = *p;
	return c;
}

static void
gone_add(const char *name, int down)
{
	struct gone *g;

	if (br.ngone == HUB_BUS_HUBS_MAX)	/* forget the oldest */
		memmove(&br.gone[0], &br.gone[1], sizeof(br.gone[0]) *
		    (HUB_BUS_HUBS_MAX - 1));
	else
		br.ngone++;
	g = &br.gone[br.ngone - 1];
	mc_strlcpy(g->name, name, sizeof(g->name));
	g->down = down;
}

/* The gone entry of name, taken out: -1 (none), 0 (left), 1 (down). */
static int
gone_take(const char *name)
{
	int i, down;

	for (i = br.ngone - 1; i >= 0; i--) {
		if (strcmp(br.gone[i].name, name) != 0)
			continue;
		down = br.gone[i].down;
		memmove(&br.gone[i], &br.gone[i + 1], sizeof(br.gone[0]) *
		    (size_t)(br.ngone - i - 1));
		br.ngone--;
		return down;
	}
	return -1;
}

static const struct hub_bus_peer *
peer_find(const struct hub_bus_round *r, const char *name)
{
	int i;

	for (i = 0; i < r->npeers; i++)
		if (strcmp(r->peers[i].name, name) == 0)
			return &r->peers[i];
	return NULL;
}

static void
went(struct hub_bus_round *r, const struct hub_bus_peer *k)
{
	change_add(r, k->stopping ? BUS_LEFT : BUS_DOWN, k);
	gone_add(k->name, !k->stopping);
}

/* The others now against the others before; this hub is never one.
 * While settling, a hub known from before the connection that is missing
 * stays known (and listed, with its last announcement's time): it may
 * not have announced itself again yet. */
static void
diff(struct hub_bus_round *r)
{
	static struct hub_bus_peer keep[HUB_BUS_HUBS_MAX];	/* this
								 * thread's */
	const struct hub_bus_peer *p;
	struct hub_bus_change *c;
	int i, down, nkeep = 0, settling = mc_wall() < br.settle_until;

	for (i = 0; i < br.nknown; i++) {
		p = peer_find(r, br.known[i].name);
		if (p == NULL && settling && br.unsure[i])
			keep[nkeep++] = br.known[i];
		else if (p == NULL || strcmp(p->id, br.known[i].id) != 0)
			went(r, &br.known[i]);
	}
	for (i = 0; i < r->npeers; i++) {
		p = &r->peers[i];
		if (strcmp(p->name, br.cfg.name) == 0)
			continue;
		down = gone_take(p->name);
		c = down == -1 ? NULL : change_add(r, BUS_BACK, p);
		if (c != NULL)
			c->was_down = down;
	}
	br.nknown = 0;
	for (i = 0; i < r->npeers; i++)
		if (strcmp(r->peers[i].name, br.cfg.name) != 0) {
			br.unsure[br.nknown] = 0;
			br.known[br.nknown++] = r->peers[i];
		}
	for (i = 0; i < nkeep && r->npeers < HUB_BUS_HUBS_MAX; i++) {
		br.unsure[br.nknown] = 1;
		br.known[br.nknown++] = keep[i];
		r->peers[r->npeers++] = keep[i];
	}
	if (nkeep > 0)
		qsort(r->peers, (size_t)r->npeers, sizeof(r->peers[0]),
		    peer_cmp);
}

/* Who alerts each change: the hub whose SET NX takes the lock.  A lock
 * that cannot be asked alerts (and the connection is dropped after). */
static void
locks(struct hub_bus_round *r, int *broken)
{
	struct hub_bus_change *c;
	redisReply *rep;
	char key[128];
	int i;

	for (i = 0; i < r->nchanges; i++) {
		c = &r->changes[i];
		if (c->kind == BUS_LEFT || (c->kind == BUS_BACK &&
		    !c->was_down))
			continue;
		snprintf(key, sizeof(key), "maestro:alert:%s:%s:%s",
		    c->kind == BUS_DOWN ? "hub_down" : "hub_ok", c->peer.name,
		    c->peer.id);
		rep = *broken ? NULL : redisCommand(br.c, "SET %s 1 NX PX %d",
		    key, LOCK_MS);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
			*broken = 1;
		c->alert = rep == NULL || rep->type == REDIS_REPLY_ERROR ||
		    rep->type == REDIS_REPLY_STATUS;
		freeReplyObject(rep);
	}
}

/* The Telegram poller's lease: 1 held here, 0 by another hub, -1 no
 * answer (*broken set). */
static int
lease(int *broken)
{
	redisReply *rep;
	int held = -1;

	if (*broken)
		return -1;
	rep = redisCommand(br.c, "EVAL %s 1 %s %s %d", lease_take, LEASE_TG_KEY,
	    br.cfg.name, HUB_BUS_TG_LEASE_MS);
	if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
		held = rep->integer == 1;
	else
		*broken = 1;
	freeReplyObject(rep);
	return held;
}

/* ---- rounds ---- */

static struct hub_bus_round *
round_run(void)
{
	struct hub_bus_round *r = calloc(1, sizeof(*r));
	struct hub_bus_peer self;
	int have_self, broken = 0;

	if (r == NULL)
		return NULL;
	r->lead = -1;
	pthread_mutex_lock(&br.mu);
	self = br.self;
	have_self = br.have_self;
	pthread_mutex_unlock(&br.mu);
	if ((br.c == NULL && connect_bus(r->err, sizeof(r->err)) == -1) ||
	    (have_self && announce(&self, r->err, sizeof(r->err)) == -1) ||
	    list(r, r->err, sizeof(r->err)) == -1) {
		disconnect();
		r->npeers = 0;
		r->more = 0;
		if (br.failing_since == 0)
			br.failing_since = mc_wall();
		r->failing_since = br.failing_since;
		return r;
	}
	r->ok = 1;
	br.failing_since = 0;
	diff(r);
	locks(r, &broken);
	r->lead = br.cfg.lead_telegram ? lease(&broken) : -1;
	if (broken)
		disconnect();
	return r;
}

/* Hand r to the service thread; the changes of a round it did not take
 * yet go before r's, so none is lost to a quicker round. */
static void
post(struct hub_bus_round *r)
{
	struct hub_bus_round *old;
	int keep, i;

	pthread_mutex_lock(&br.mu);
	old = br.done;
	if (old != NULL && old->nchanges > 0) {
		keep = old->nchanges;
		if (keep + r->nchanges > HUB_BUS_CHANGES_MAX)
			keep = HUB_BUS_CHANGES_MAX - r->nchanges;
		memmove(&r->changes[keep], &r->changes[0],
		    sizeof(r->changes[0]) * (size_t)r->nchanges);
		for (i = 0; i < keep; i++)
			r->changes[i] = old->changes[i];
		r->lost += old->lost + (uint64_t)(old->nchanges - keep);
		r->nchanges += keep;
	}
	br.done = r;
	pthread_mutex_unlock(&br.mu);
	free(old);
}

/* Wait until wall clock until, or stop: 0 to run a round, -1 to stop. */
static int
wait_turn(double until)
{
	struct timespec ts;
	int r = 0, stop;

	ts.tv_sec = (time_t)until;
	ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
	pthread_mutex_lock(&br.mu);
	while (!br.stop && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&br.cv, &br.mu, &ts);
	stop = br.stop;
	pthread_mutex_unlock(&br.mu);
	return stop ? -1 : 0;
}

/* The last announcement: "stopping", so the others see a clean stop. */
static void
goodbye(void)
{
	struct hub_bus_peer self;
	char err[HUB_BUS_ERR_MAX];
	int have_self;

	pthread_mutex_lock(&br.mu);
	self = br.self;
	have_self = br.have_self;
	pthread_mutex_unlock(&br.mu);
	if (!have_self || (br.c == NULL && connect_bus(err,
	    sizeof(err)) == -1))
		return;
	self.stopping = 1;
	if (announce(&self, err, sizeof(err)) == -1)
		mc_warn("bus: no goodbye: %s", err);
	if (br.cfg.lead_telegram && br.c != NULL)
		freeReplyObject(redisCommand(br.c, "EVAL %s 1 %s %s",
		    lease_give, LEASE_TG_KEY, br.cfg.name));
}

static void *
worker(void *arg)
{
	struct hub_bus_round *r;
	double backoff = BACKOFF_MIN, next = 0;

	(void)arg;
	while (wait_turn(next) == 0) {
		r = round_run();
		if (r == NULL) {
			next = mc_wall() + HUB_BUS_PERIOD;
			continue;
		}
		if (r->ok) {
			backoff = BACKOFF_MIN;
			next = mc_wall() + HUB_BUS_PERIOD;
		} else {
			next = mc_wall() + backoff;
			backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX :
			    backoff * 2;
		}
		post(r);
	}
	goodbye();
	disconnect();
	explicit_bzero(br.cfg.password, sizeof(br.cfg.password));
	return NULL;
}

int
hub_bus_redis_start(const struct hub_bus_cfg *cfg)
{
	br.cfg = *cfg;
	if (pthread_create(&br.thread, NULL, worker, NULL) != 0) {
		mc_err("bus: cannot start its thread");
		explicit_bzero(br.cfg.password, sizeof(br.cfg.password));
		return -1;
	}
	br.running = 1;
	return 0;
}

void
hub_bus_redis_stop(void)
{
	if (!br.running)
		return;
	pthread_mutex_lock(&br.mu);
	br.stop = 1;
	pthread_cond_signal(&br.cv);
	pthread_mutex_unlock(&br.mu);
	pthread_join(br.thread, NULL);
	br.running = 0;
	free(br.done);
	br.done = NULL;
}

void
hub_bus_redis_announce(const struct hub_bus_peer *self)
{
	pthread_mutex_lock(&br.mu);
	br.self = *self;
	br.have_self = 1;
	pthread_mutex_unlock(&br.mu);
}

struct hub_bus_round *
hub_bus_redis_take(void)
{
	struct hub_bus_round *r;

	pthread_mutex_lock(&br.mu);
	r = br.done;
	br.done = NULL;
	pthread_mutex_unlock(&br.mu);
	return r;
}
