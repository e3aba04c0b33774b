/*
 * hub_push_send.c - Web Push delivery (RFC 8030) on a thread of its own,
 * through libcurl, off the service thread.
 *
 * The service thread queues one job per subscription (a copy of it and
 * the alert's payload); this thread encrypts the payload for that
 * subscription, signs a VAPID token for the endpoint's origin and POSTs
 * it.  A job that must be retried (a network error or a 5xx: doubling
 * backoff; a 429: the Retry-After it names) goes back into the queue with
 * the time it is due, so one slow push service delays only its own jobs.
 * 404 and 410 mean the browser dropped the subscription: the outcome is
 * "gone" and the service thread removes it.  Other answers fail the job.
 * Every outcome goes back on a mutex-protected list and a hub_ws_wake().
 *
 * The endpoint is a capability URL: it is never logged; details name the
 * subscription's id and the HTTP status.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "hub_notify.h"
#include "hub_push.h"
#include "mc_log.h"
#include "mc_util.h"

#define TRIES_MAX	5	/* network errors and 5xx, per job */
#define LIMITED_MAX	10	/* 429 answers honoured per job */
#define RETRY_AFTER_CAP	300.0	/* a longer rate limit fails the job */
#define REQUEST_TIMEOUT	10L	/* seconds for one whole request */
#define PUSH_TTL	86400	/* seconds the push service keeps it */
#define ANSWER_MAX	4096
#define DETAIL_MAX	160

struct outcome {
	char		 sub[MC_ID_MAX];
	char		 alert[MC_ID_MAX];
	char		 agent[MC_NAME_MAX + 1];
	enum hub_push_out out;
	int		 attempt;
	char		 detail[DETAIL_MAX];
	struct outcome	*next;
};

static struct {
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* on CLOCK_MONOTONIC */
	struct hub_push_job *jobs;	/* owned, under mu; any order */
	size_t		 queued;	/* under mu */
	int		 stop;		/* under mu */
	atomic_int	 stopping;	/* read by the transfer's callback */
	char		 subject[256];	/* push_subject, copied at start */
	pthread_mutex_t	 omu;		/* guards outs */
	struct outcome	*outs, **otail;	/* owned: not yet drained */
} ps = { .mu = PTHREAD_MUTEX_INITIALIZER, .omu = PTHREAD_MUTEX_INITIALIZER };

void
hub_push_job_free(struct hub_push_job *j)
{
	if (j == NULL)
		return;
	free(j->payload);
	free(j);
}

/* Any thread. */
static void
post_outcome(const struct hub_push_job *j, enum hub_push_out out,
    const char *detail)
{
	struct outcome *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		mc_err("push: out of memory recording a delivery outcome");
		return;
	}
	mc_strlcpy(o->sub, j->sub.id, sizeof(o->sub));
	mc_strlcpy(o->alert, j->alert, sizeof(o->alert));
	mc_strlcpy(o->agent, j->agent, sizeof(o->agent));
	o->out = out;
	o->attempt = j->attempt;
	mc_strlcpy(o->detail, detail, sizeof(o->detail));
	pthread_mutex_lock(&ps.omu);
	if (ps.otail == NULL)
		ps.otail = &ps.outs;
	*ps.otail = o;
	ps.otail = &o->next;
	pthread_mutex_unlock(&ps.omu);
	hub_ws_wake();
}

/* ---- the queue ---- */

/* Under mu: the job due first, unlinked, when it is due by now; else
 * NULL with the seconds until one is in *wait (-1: none queued). */
static struct hub_push_job *
take_due(double now, double *wait)
{
	struct hub_push_job **pp, **best = NULL, *j;

	for (pp = &ps.jobs; *pp != NULL; pp = &(*pp)->next)
		if (best == NULL || (*pp)->due < (*best)->due)
			best = pp;
	if (best == NULL) {
		*wait = -1;
		return NULL;
	}
	if ((*best)->due > now) {
		*wait = (*best)->due - now;
		return NULL;
	}
	j = *best;
	*best = j->next;
	j->next = NULL;
	ps.queued--;
	return j;
}

/* Under mu: wait until secs pass or cv is signalled (a new job, which
 * may be due before the one waited for, or the stop). */
static void
wait_for(double secs)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)secs;
	ts.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&ps.cv, &ps.mu, &ts);
}

/* The next job due, or NULL when the hub stops. */
static struct hub_push_job *
next_job(void)
{
	struct hub_push_job *j = NULL;
	double wait;

	pthread_mutex_lock(&ps.mu);
	while (!ps.stop && (j = take_due(mc_now(), &wait)) == NULL) {
		if (wait < 0)
			pthread_cond_wait(&ps.cv, &ps.mu);
		else
			wait_for(wait);
	}
	pthread_mutex_unlock(&ps.mu);
	if (j != NULL && ps.stop) {
		hub_push_job_free(j);
		j = NULL;
	}
	return j;
}

/* Put j (taken) in the queue: 0, or -1 (j not taken) when it is full. */
static int
push_job(struct hub_push_job *j)
{
	pthread_mutex_lock(&ps.mu);
	if (ps.queued >= MC_ALERT_QUEUE_MAX || ps.stop) {
		pthread_mutex_unlock(&ps.mu);
		return -1;
	}
	j->next = ps.jobs;
	ps.jobs = j;
	ps.queued++;
	pthread_cond_signal(&ps.cv);
	pthread_mutex_unlock(&ps.mu);
	return 0;
}

int
hub_push_send_queue(struct hub_push_job *j)
{
	j->due = mc_now();
	if (push_job(j) == 0)
		return 0;
	post_outcome(j, PUSH_FAILED, "not sent: the push queue is full");
	hub_push_job_free(j);
	return -1;
}

/* ---- one try ---- */

/* The request's headers (owned by the caller), or NULL. */
static struct curl_slist *
headers(const struct hub_push_job *j, const char *authz)
{
	char line[PUSH_AUTHZ_MAX + 32];
	struct curl_slist *h = NULL, *n;
	const char *fixed[] = { "Content-Type: application/octet-stream",
	    "Content-Encoding: aes128gcm", j->urgent ? "Urgency: high" :
	    "Urgency: normal" };
	size_t i;

	snprintf(line, sizeof(line), "TTL: %d", PUSH_TTL);
	if ((h = curl_slist_append(NULL, line)) == NULL)
		return NULL;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if ((n = curl_slist_append(h, fixed[i])) == NULL)
			goto fail;
		h = n;
	}
	snprintf(line, sizeof(line), "Authorization: %s", authz);
	if ((n = curl_slist_append(h, line)) == NULL)
		goto fail;
	return n;
fail:
	curl_slist_free_all(h);
	return NULL;
}

/* What the answer a means for j: 0 sent, 1 retry (j->due set), -1 fail,
 * -2 gone; the words in detail. */
static int
judge(struct hub_push_job *j, const struct hub_notify_answer *a,
    char *detail, size_t dlen)
{
	double wait, ra = a->retry_after;

	if (a->rc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(detail, dlen, "the hub is stopping");
		return -1;
	}
	if (a->rc != CURLE_OK || a->status >= 500) {
		wait = hub_notify_backoff(++j->tries);
		if (a->rc != CURLE_OK)
			snprintf(detail, dlen, "%s", curl_easy_strerror(a->rc));
		else
			snprintf(detail, dlen, "HTTP %ld", a->status);
	} else if (a->status >= 200 && a->status < 300) {
		snprintf(detail, dlen, "HTTP %ld", a->status);
		return 0;
	} else if (a->status == 404 || a->status == 410) {
		snprintf(detail, dlen, "HTTP %ld: the subscription is gone",
		    a->status);
		return -2;
	} else if (a->status == 429 && ra <= RETRY_AFTER_CAP) {
		++j->limited;
		wait = ra >= 0 ? ra : hub_notify_backoff(j->limited);
		snprintf(detail, dlen, "HTTP 429: rate limited");
	} else {
		snprintf(detail, dlen, "HTTP %ld", a->status);
		return -1;
	}
	if (j->tries >= TRIES_MAX || j->limited > LIMITED_MAX)
		return -1;
	j->due = mc_now() + wait;
	snprintf(detail + strlen(detail), dlen - strlen(detail), "; next try "
	    "in %gs", wait);
	return 1;
}

/* Encrypt, sign and POST j once.  See judge() for the result. */
static int
try_once(CURL *h, struct hub_push_job *j, char *detail, size_t dlen)
{
	char authz[PUSH_AUTHZ_MAX];
	struct hub_notify_answer a;
	struct curl_slist *hdr = NULL;
	struct mc_buf body;
	int v = -1;

	memset(&a, 0, sizeof(a));
	a.retry_after = -1;
	mc_buf_init(&a.body, ANSWER_MAX);
	mc_buf_init(&body, PUSH_PAYLOAD_MAX + 256);
	j->attempt++;
	if (hub_push_encrypt(&j->sub, j->payload, j->len, &body) == -1 ||
	    hub_push_vapid(j->sub.endpoint, ps.subject, mc_wall(), authz,
	    sizeof(authz)) == -1 || (hdr = headers(j, authz)) == NULL) {
		snprintf(detail, dlen, "cannot encrypt or sign the message");
		goto done;
	}
	hub_notify_post_with(h, j->sub.endpoint, hdr, body.data, body.len,
	    REQUEST_TIMEOUT, &ps.stopping, &a);
	v = judge(j, &a, detail, dlen);
done:
	curl_slist_free_all(hdr);
	mc_buf_free(&body);
	mc_buf_free(&a.body);
	return v;
}

static void *
send_main(void *arg)
{
	static const enum hub_push_out outs[] = { PUSH_SENT, PUSH_RETRIED };
	char detail[DETAIL_MAX];
	struct hub_push_job *j;
	CURL *h = curl_easy_init();
	int v;

	(void)arg;
	if (h == NULL) {
		mc_err("push: cannot set up libcurl; Web Push is off");
		return NULL;
	}
	while ((j = next_job()) != NULL) {
		v = try_once(h, j, detail, sizeof(detail));
		post_outcome(j, v >= 0 ? outs[v] : v == -2 ? PUSH_GONE :
		    PUSH_FAILED, detail);
		if (v != 1 || push_job(j) == -1)
			hub_push_job_free(j);
	}
	curl_easy_cleanup(h);
	return NULL;
}

/* ---- start, stop, outcomes ---- */

int
hub_push_send_start(void)
{
	mc_strlcpy(ps.subject, hub.conf.push_subject, sizeof(ps.subject));
	hub_notify_cond_init(&ps.cv);
	ps.stop = 0;
	atomic_store(&ps.stopping, 0);
	if (pthread_create(&ps.thread, NULL, send_main, NULL) != 0) {
		mc_err("push: cannot start the delivery thread");
		pthread_cond_destroy(&ps.cv);
		return -1;
	}
	ps.running = 1;
	return 0;
}

void
hub_push_send_stop(void)
{
	struct hub_push_job *j;

	if (!ps.running)
		return;
	pthread_mutex_lock(&ps.mu);
	ps.stop = 1;
	atomic_store(&ps.stopping, 1);
	pthread_cond_broadcast(&ps.cv);
	pthread_mutex_unlock(&ps.mu);
	pthread_join(ps.thread, NULL);
	ps.running = 0;
	while ((j = ps.jobs) != NULL) {
		ps.jobs = j->next;
		post_outcome(j, PUSH_FAILED, "not sent: the hub stopped");
		hub_push_job_free(j);
	}
	ps.queued = 0;
	pthread_cond_destroy(&ps.cv);
}

void
hub_push_send_drain(void (*fn)(const char *, const char *, const char *,
    enum hub_push_out, int, const char *))
{
	struct outcome *list, *next;

	pthread_mutex_lock(&ps.omu);
	list = ps.outs;
	ps.outs = NULL;
	ps.otail = NULL;
	pthread_mutex_unlock(&ps.omu);
	for (; list != NULL; list = next) {
		next = list->next;
		fn(list->sub, list->alert, list->agent, list->out,
		    list->attempt, list->detail);
		free(list);
	}
}
