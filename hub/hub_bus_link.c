/*
 * hub_bus_link.c - the bus's second thread: messages between hubs and
 * the agents each holds (hub_bus_redis.c's thread keeps the hubs'
 * presence on its own 2 s round; this one answers within a millisecond).
 *
 * Two connections to Redis, both hiredis' synchronous API on this thread
 * only:
 *  - a command connection: the service thread's jobs (an agent's hold
 *    written or dropped, a lookup, a message forwarded to the hub that
 *    holds an agent, a publish) are taken from a queue in batches of at
 *    most LINK_BATCH, written with redisAppendCommand and their answers
 *    read after, so 15,000 renewals cost a few round trips, not 15,000;
 *  - a subscriber connection on maestro:to:NAME (messages for this hub)
 *    and maestro:feed (every hub's live feed): read when poll() says it
 *    is readable, never waited on.
 * The thread sleeps in poll() on the subscriber and a pipe the service
 * thread writes a byte to when it queues a job and no byte is pending
 * (the thread takes the bytes, then drains the queue to empty before it
 * sleeps again, so a job queued meanwhile needs no byte of its own).  A
 * hold (LINK_HOLD) writes none: it is not urgent, and leaves with the
 * next wake-up
 * (another job, a message, or poll()'s 1 s timeout), so the holds of a
 * second go to Redis in one pipelined batch instead of a wake-up and a
 * round trip each (measured: a write() and a context switch per hold
 * were 5 % of a cluster hub's samples).  Results (a job's answer
 * with the callback the service thread gave, a message received) go to
 * an out queue, and hub_ws_wake() makes the loop drain it
 * (hub_bus_link_drain()); callbacks run there, on the service thread.
 * Both queues are bounded: a full in queue fails a job at once (its
 * callback says why), a full out queue drops messages (counted, logged).
 * Redis unreachable: every job fails at once with the reason, and a new
 * connection is tried at most every LINK_RETRY seconds, so a dead bus
 * costs the loop nothing and a caller gets its 503 at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "hub_bus.h"
#include "mc_log.h"
#include "mc_util.h"

#define LINK_BATCH	2000	/* jobs per pipelined batch */
#define LINK_JOBS_MAX	50000	/* jobs waiting for the thread */
#define LINK_OUT_MAX	20000	/* results waiting for the loop */
#define LINK_RETRY	0.5	/* seconds between connection attempts */

/* The first member of a job and of a result: their queues are one kind. */
struct link_node {
	struct link_node	*next;
};

struct link_fifo {
	struct link_node	*head, *tail;	/* owned */
	size_t			 n;
};

struct hub_link_job {
	struct link_node	 node;	/* first */
	enum hub_link_op	 op;
	char			*key;	/* owned */
	char			*val;	/* owned; may be NULL */
	size_t			 vlen;
	hub_link_done_fn	 done;	/* service thread; may be NULL */
	void			*arg;
};

struct link_out {
	struct link_node	 node;	/* first */
	struct hub_link_res	 res;	/* res.data owned */
	hub_link_done_fn	 done;	/* NULL: a message received */
	void			*arg;
};

static struct {
	pthread_t	 thread;
	int		 running;
	int		 wake[2];	/* pipe: the service thread writes */
	pthread_mutex_t	 mu;
	int		 stop;				/* under mu */
	int		 woken;		/* a byte is in wake: under mu */
	struct link_fifo jobs;				/* under mu */
	struct link_fifo out;				/* under mu */
	uint64_t	 dropped;			/* under mu */
	int		 up;				/* under mu */
	char		 err[HUB_BUS_ERR_MAX];		/* under mu */
	/* the thread's own */
	struct hub_bus_cfg cfg;
	redisContext	*cmd, *sub;
	double		 next_try;	/* monotonic */
} lk = { .mu = PTHREAD_MUTEX_INITIALIZER, .wake = { -1, -1 } };

/* ---- the queues ---- */

static void
fifo_push(struct link_fifo *q, struct link_node *n)
{
	n->next = NULL;
	if (q->tail != NULL)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	q->n++;
}

/* The first max nodes (all when max is 0), as a chain the caller owns. */
static struct link_node *
fifo_cut(struct link_fifo *q, size_t max)
{
	struct link_node *head = q->head, *n = head;
	size_t k = 1;

	while (n != NULL && n->next != NULL && (max == 0 || k < max)) {
		n = n->next;
		k++;
	}
	if (n == NULL)
		return NULL;
	q->head = n->next;
	n->next = NULL;
	if (q->head == NULL)
		q->tail = NULL;
	q->n -= k;
	return head;
}

static void
job_free(struct hub_link_job *j)
{
	if (j == NULL)
		return;
	free(j->key);
	free(j->val);
	free(j);
}

/* Queue a result (res->data taken) for the loop.  Under lk.mu. */
static void
out_add_locked(const struct hub_link_res *res, hub_link_done_fn done,
    void *arg)
{
	struct link_out *o;

	if ((done == NULL && lk.out.n >= LINK_OUT_MAX) ||
	    (o = calloc(1, sizeof(*o))) == NULL) {
		lk.dropped++;
		free(res->data);
		return;
	}
	o->res = *res;
	o->done = done;
	o->arg = arg;
	fifo_push(&lk.out, &o->node);
}

static void
out_add(const struct hub_link_res *res, hub_link_done_fn done, void *arg)
{
	pthread_mutex_lock(&lk.mu);
	out_add_locked(res, done, arg);
	pthread_mutex_unlock(&lk.mu);
}

/* A job that did not reach Redis: its callback hears why. */
static void
job_fail(struct hub_link_job *j, const char *why)
{
	struct hub_link_res res;

	if (j->done != NULL) {
		memset(&res, 0, sizeof(res));
		res.op = j->op;
		mc_strlcpy(res.err, why, sizeof(res.err));
		out_add(&res, j->done, j->arg);
	}
	job_free(j);
}

int
hub_bus_link_queue(enum hub_link_op op, const char *key, const char *val,
    size_t vlen, hub_link_done_fn done, void *arg)
{
	struct hub_link_job *j = calloc(1, sizeof(*j));	/* owned by the
							 * queue, then the
							 * thread */
	char one = 1;
	int full, wake;

	if (j == NULL || (j->key = strdup(key)) == NULL ||
	    (val != NULL && (j->val = malloc(vlen + 1)) == NULL)) {
		job_free(j);
		return -1;
	}
	if (val != NULL) {
		memcpy(j->val, val, vlen);
		j->val[vlen] = '\0';
	}
	j->op = op;
	j->vlen = vlen;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&lk.mu);
	full = !lk.running || lk.jobs.n >= LINK_JOBS_MAX;
	wake = !full && op != LINK_HOLD && !lk.woken;
	if (!full)
		fifo_push(&lk.jobs, &j->node);
	if (wake)
		lk.woken = 1;
	pthread_mutex_unlock(&lk.mu);
	if (full) {
		job_free(j);
		return -1;
	}
	if (!wake)
		return 0;
	/* a full pipe already holds a wake-up */
	if (write(lk.wake[1], &one, 1) == -1 && errno != EAGAIN)
		mc_debug("bus: wake-up of the link thread: %s",
		    strerror(errno));
	return 0;
}

/* Up to LINK_BATCH jobs, oldest first; the caller owns them. */
static struct hub_link_job *
jobs_take(void)
{
	struct link_node *head;

	pthread_mutex_lock(&lk.mu);
	head = fifo_cut(&lk.jobs, LINK_BATCH);
	pthread_mutex_unlock(&lk.mu);
	return (struct hub_link_job *)head;
}

static struct hub_link_job *
job_next(const struct hub_link_job *j)
{
	return (struct hub_link_job *)j->node.next;
}

/* ---- the connections ---- */

static void
link_state(int up, const char *err)
{
	pthread_mutex_lock(&lk.mu);
	lk.up = up;
	mc_strlcpy(lk.err, err, sizeof(lk.err));
	pthread_mutex_unlock(&lk.mu);
}

/* why may point into a context freed here: it is copied first. */
static void
disconnect(const char *why)
{
	char err[HUB_BUS_ERR_MAX];

	mc_strlcpy(err, why, sizeof(err));
	if (lk.cmd != NULL)
		redisFree(lk.cmd);
	if (lk.sub != NULL)
		redisFree(lk.sub);
	lk.cmd = lk.sub = NULL;
	link_state(0, err);
}

/* One connection with AUTH and SELECT done, or NULL with why in err. */
static redisContext *
open_one(char *err, size_t errlen)
{
	const struct hub_bus_url *u = &lk.cfg.url;
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout(u->host, u->port, tv);
	redisReply *rep = NULL;

	if (c == NULL || c->err) {
		snprintf(err, errlen, "cannot connect to %.100s port %d: "
		    "%.120s", u->host, u->port, c ? c->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK)
		goto fail_c;
	if (lk.cfg.password[0] != '\0') {
		rep = redisCommand(c, "AUTH %s", lk.cfg.password);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
			goto fail_c;
		freeReplyObject(rep);
	}
	rep = redisCommand(c, "SELECT %d", u->db);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
		goto fail_c;
	freeReplyObject(rep);
	return c;
fail_c:
	snprintf(err, errlen, "%.120s", rep && rep->type == REDIS_REPLY_ERROR ?
	    rep->str : c->errstr[0] ? c->errstr : "no answer");
	freeReplyObject(rep);
fail:
	if (c != NULL)
		redisFree(c);
	return NULL;
}

/* Both connections, the subscriber on this hub's channel and the feed. */
static int
connect_link(void)
{
	char err[HUB_BUS_ERR_MAX], chan[HUB_BUS_CHAN_MAX];
	redisReply *rep;
	int i;

	if (lk.cmd != NULL)
		return 0;
	if (mc_now() < lk.next_try)
		return -1;
	lk.next_try = mc_now() + LINK_RETRY;
	if ((lk.cmd = open_one(err, sizeof(err))) == NULL ||
	    (lk.sub = open_one(err, sizeof(err))) == NULL)
		goto fail;
	hub_bus_chan_to(chan, sizeof(chan), lk.cfg.name);
	if (redisAppendCommand(lk.sub, "SUBSCRIBE %s %s", chan,
	    HUB_BUS_CHAN_FEED) != REDIS_OK)
		goto fail_sub;
	for (i = 0; i < 2; i++) {
		if (redisGetReply(lk.sub, (void **)&rep) != REDIS_OK ||
		    rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			goto fail_sub;
		}
		freeReplyObject(rep);
	}
	link_state(1, "");
	return 0;
fail_sub:
	snprintf(err, sizeof(err), "SUBSCRIBE: %.120s", lk.sub->errstr[0] ?
	    lk.sub->errstr : "refused");
fail:
	disconnect(err);
	return -1;
}

/* ---- jobs ---- */

/* Compare-and-delete: the hold goes only while it is still this run's
 * (another hub may hold the agent now). */
static const char cad_lua[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) end return 0";

/* Forward to the agent's holder in one round trip: {hold, receivers};
 * receivers -1 when the holder is this hub, 0 when nobody listens. */
static const char send_lua[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if not v then return {'', 0} end "
    "local h = string.match(v, '^(%S+)') "
    "if h == ARGV[2] then return {v, -1} end "
    "return {v, redis.call('PUBLISH', '" HUB_BUS_CHAN_TO "' .. h, "
    "ARGV[1])}";

static int
job_append(redisContext *c, const struct hub_link_job *j)
{
	switch (j->op) {
	case LINK_HOLD:
		return redisAppendCommand(c, "SET %s %b PX %d", j->key, j->val,
		    j->vlen, HUB_BUS_HOLD_LEASE_MS);
	case LINK_UNHOLD:
		return redisAppendCommand(c, "EVAL %s 1 %s %b", cad_lua,
		    j->key, j->val, j->vlen);
	case LINK_GET:
		return redisAppendCommand(c, "GET %s", j->key);
	case LINK_SEND:
		return redisAppendCommand(c, "EVAL %s 1 %s %b %s", send_lua,
		    j->key, j->val, j->vlen, lk.cfg.name);
	case LINK_PUB:
		return redisAppendCommand(c, "PUBLISH %s %b", j->key, j->val,
		    j->vlen);
	case LINK_LOCK:
		return redisAppendCommand(c, "SET %s %s NX PX %s", j->key,
		    lk.cfg.name, j->val);
	case LINK_MARK:
		return redisAppendCommand(c, "SET %s %s PX %s", j->key,
		    lk.cfg.name, j->val);
	case LINK_MSG:
		break;
	}
	return REDIS_ERR;
}

static char *
dup_str(const redisReply *r, size_t *len)
{
	char *s;

	if (r == NULL || r->type != REDIS_REPLY_STRING)
		return NULL;
	if ((s = malloc(r->len + 1)) == NULL)
		return NULL;
	memcpy(s, r->str, r->len);
	s[r->len] = '\0';
	*len = r->len;
	return s;
}

/* A job's answer into res: 0, or -1 when Redis refused it. */
static int
job_answer(const struct hub_link_job *j, const redisReply *rep,
    struct hub_link_res *res)
{
	res->op = j->op;
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(res->err, sizeof(res->err), "%.200s", rep->str);
		return -1;
	}
	if (j->op == LINK_GET)
		res->data = dup_str(rep, &res->len);
	else if (j->op == LINK_SEND && rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements == 2 &&
	    rep->element[1]->type == REDIS_REPLY_INTEGER) {
		res->data = rep->element[0]->len > 0 ?
		    dup_str(rep->element[0], &res->len) : NULL;
		res->n = rep->element[1]->integer;
	} else if (rep->type == REDIS_REPLY_INTEGER)
		res->n = rep->integer;
	else if (j->op == LINK_LOCK)	/* OK when taken, nil when held */
		res->n = rep->type == REDIS_REPLY_STATUS;
	res->ok = 1;
	return 0;
}

/* One batch: every command written, then every answer read in order. */
static void
batch_run(struct hub_link_job *head)
{
	struct hub_link_job *j, *next;
	struct hub_link_res res;
	redisReply *rep;
	int broken = 0;

	for (j = head; j != NULL; j = job_next(j))
		if (job_append(lk.cmd, j) != REDIS_OK)
			broken = 1;
	for (j = head; j != NULL; j = next) {
		next = job_next(j);
		rep = NULL;
		if (!broken && redisGetReply(lk.cmd, (void **)&rep) !=
		    REDIS_OK)
			broken = 1;
		if (broken || rep == NULL) {
			job_fail(j, lk.cmd->errstr[0] ? lk.cmd->errstr :
			    "no answer");
			freeReplyObject(rep);
			continue;
		}
		memset(&res, 0, sizeof(res));
		if (job_answer(j, rep, &res) == -1 && j->done == NULL)
			mc_warn("bus: Redis refused a write: %s", res.err);
		freeReplyObject(rep);
		if (j->done != NULL)
			out_add(&res, j->done, j->arg);
		else
			free(res.data);
		job_free(j);
	}
	if (broken)
		disconnect(lk.cmd->errstr[0] ? lk.cmd->errstr :
		    "the connection broke");
}

static void
jobs_run(void)
{
	struct hub_link_job *head, *j;
	char why[HUB_BUS_ERR_MAX + 32];

	while ((head = jobs_take()) != NULL) {
		if (connect_link() == 0) {
			batch_run(head);
			continue;
		}
		pthread_mutex_lock(&lk.mu);
		snprintf(why, sizeof(why), "the bus is unreachable: %s",
		    lk.err);
		pthread_mutex_unlock(&lk.mu);
		for (; head != NULL; head = j) {
			j = job_next(head);
			job_fail(head, why);
		}
	}
}

/* ---- messages ---- */

/* ["message", channel, payload] into the out queue. */
static void
message_take(redisReply *rep)
{
	struct hub_link_res res;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(rep->element[0]->str, "message") != 0 ||
	    rep->element[2]->type != REDIS_REPLY_STRING ||
	    rep->element[2]->len > HUB_BUS_MSG_MAX)
		return;
	memset(&res, 0, sizeof(res));
	res.op = LINK_MSG;
	res.ok = 1;
	res.feed = rep->element[1]->type == REDIS_REPLY_STRING &&
	    strcmp(rep->element[1]->str, HUB_BUS_CHAN_FEED) == 0;
	if ((res.data = dup_str(rep->element[2], &res.len)) != NULL)
		out_add(&res, NULL, NULL);
}

static void
messages_read(void)
{
	redisReply *rep;

	if (redisBufferRead(lk.sub) != REDIS_OK) {
		disconnect(lk.sub->errstr[0] ? lk.sub->errstr :
		    "the subscriber's connection closed");
		return;
	}
	for (;;) {
		rep = NULL;
		if (redisGetReplyFromReader(lk.sub, (void **)&rep) !=
		    REDIS_OK) {
			disconnect("a message did not read");
			return;
		}
		if (rep == NULL)
			return;
		message_take(rep);
		freeReplyObject(rep);
	}
}

static int
stopping(void)
{
	int s;

	pthread_mutex_lock(&lk.mu);
	s = lk.stop;
	pthread_mutex_unlock(&lk.mu);
	return s;
}

static void *
worker(void *arg)
{
	struct pollfd p[2];
	char buf[256];
	int n, have_out;

	(void)arg;
	while (!stopping()) {
		connect_link();
		p[0].fd = lk.wake[0];
		p[0].events = POLLIN;
		p[1].fd = lk.sub != NULL ? lk.sub->fd : -1;
		p[1].events = POLLIN;
		n = poll(p, 2, lk.sub != NULL ? 1000 : (int)(LINK_RETRY *
		    1000));
		if (n > 0 && (p[0].revents & POLLIN)) {
			while (read(lk.wake[0], buf, sizeof(buf)) > 0)
				;
			pthread_mutex_lock(&lk.mu);
			lk.woken = 0;
			pthread_mutex_unlock(&lk.mu);
		}
		if (n > 0 && lk.sub != NULL && (p[1].revents & (POLLIN |
		    POLLHUP | POLLERR)))
			messages_read();
		jobs_run();
		pthread_mutex_lock(&lk.mu);
		have_out = lk.out.n > 0;
		pthread_mutex_unlock(&lk.mu);
		if (have_out)
			hub_ws_wake();
	}
	disconnect("stopped");
	explicit_bzero(lk.cfg.password, sizeof(lk.cfg.password));
	return NULL;
}

/* ---- the service thread's side ---- */

int
hub_bus_link_start(const struct hub_bus_cfg *cfg)
{
	int i;

	if (pipe(lk.wake) == -1) {
		mc_err("bus: cannot make a pipe: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < 2; i++)
		fcntl(lk.wake[i], F_SETFL, O_NONBLOCK);
	lk.cfg = *cfg;
	lk.running = 1;
	if (pthread_create(&lk.thread, NULL, worker, NULL) != 0) {
		mc_err("bus: cannot start its link thread");
		lk.running = 0;
		explicit_bzero(lk.cfg.password, sizeof(lk.cfg.password));
		return -1;
	}
	return 0;
}

static void
out_free(struct link_node *n)
{
	struct link_node *next;

	for (; n != NULL; n = next) {
		next = n->next;
		free(((struct link_out *)n)->res.data);
		free(n);
	}
}

void
hub_bus_link_stop(void)
{
	struct hub_link_job *j, *next;
	char one = 1;

	if (!lk.running)
		return;
	pthread_mutex_lock(&lk.mu);
	lk.stop = 1;
	pthread_mutex_unlock(&lk.mu);
	if (write(lk.wake[1], &one, 1) == -1)
		mc_debug("bus: wake-up at stop: %s", strerror(errno));
	pthread_join(lk.thread, NULL);
	pthread_mutex_lock(&lk.mu);
	lk.running = 0;
	for (j = (struct hub_link_job *)fifo_cut(&lk.jobs, 0); j != NULL;
	    j = next) {
		next = job_next(j);
		job_free(j);	/* their callbacks are not owed at exit */
	}
	out_free(fifo_cut(&lk.out, 0));
	pthread_mutex_unlock(&lk.mu);
	close(lk.wake[0]);
	close(lk.wake[1]);
	lk.wake[0] = lk.wake[1] = -1;
}

void
hub_bus_link_drain(void)
{
	struct link_node *head, *n;
	struct link_out *o;
	uint64_t dropped;

	pthread_mutex_lock(&lk.mu);
	head = fifo_cut(&lk.out, 0);
	dropped = lk.dropped;
	lk.dropped = 0;
	pthread_mutex_unlock(&lk.mu);
	if (dropped > 0)
		mc_warn("bus: %llu messages dropped (more than %d waiting "
		    "for the loop)", (unsigned long long)dropped, LINK_OUT_MAX);
	for (n = head; n != NULL; n = n->next) {
		o = (struct link_out *)n;
		if (o->done != NULL)
			o->done(o->arg, &o->res);
		else
			hub_bus_on_message(&o->res);
	}
	out_free(head);
}

int
hub_bus_link_up(char *err, size_t errlen)
{
	int up;

	pthread_mutex_lock(&lk.mu);
	up = lk.running && lk.up;
	if (err != NULL)
		mc_strlcpy(err, lk.running ? lk.err : "no bus", errlen);
	pthread_mutex_unlock(&lk.mu);
	return up;
}
