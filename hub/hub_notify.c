/*
 * hub_notify.c - alert delivery to Telegram, Discord and a generic JSON
 * webhook, through libcurl, off the service thread.
 *
 * Each configured channel has its own worker thread and its own bounded
 * queue, so a slow or dead channel delays nothing but itself: neither the
 * service thread (heartbeats, commands, the API) nor the other channels.
 * The service thread renders a message once per channel, escaping what
 * that format needs (hub_notify_render.c), and queues it; the worker POSTs
 * it with timeouts, retries network errors and 5xx answers with backoff,
 * and honours the services' own rate-limit answers (429 with retry_after,
 * in the body as Telegram and Discord send it, or a Retry-After header):
 * nothing more goes to that channel before the time it names
 * (hub_notify_http.c says what an answer means; this file holds the
 * channels, their threads and queues, and how many tries a message gets).
 * Every outcome (sent, retried, failed) goes back to the service thread on
 * a mutex-protected list and a hub_ws_wake(); hub_notify_drain() records
 * it as a "delivery" event, in the alerts table and in the Prometheus
 * counters.
 *
 * Secrets: the bot token and the webhook URLs are only ever in a channel's
 * url, which goes to libcurl and nowhere else.  Logs and events name the
 * channel and the outcome; details are HTTP statuses, libcurl's generic
 * error texts and the service's own error description, never a URL.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "hub_notify.h"
#include "mc_log.h"
#include "mc_util.h"

#define CHANNELS_MAX	3
#define TRIES_MAX	5	/* network errors and 5xx, per message */
#define LIMITED_MAX	10	/* 429 answers honoured per message */
#define TEST_WAIT	25.0	/* seconds; inside hubctl's 30 s timeout */
#define DETAIL_MAX	160

enum outcome { OUT_SENT, OUT_RETRIED, OUT_FAILED };

static const char *const outcome_names[] = { "sent", "retried", "failed" };

struct result {
	char		 id[MC_ID_MAX];
	char		 agent[MC_NAME_MAX + 1];
	int		 chan;		/* index in nt.ch */
	enum outcome	 out;
	int		 attempt;
	uint64_t	 test;
	char		 detail[DETAIL_MAX];
	struct result	*next;
};

/* A POST /api/alerts/test waiting for every channel's answer. */
struct test {
	uint64_t	 id;
	uint64_t	 ticket;	/* hub_http_defer() */
	double		 deadline;	/* monotonic */
	int		 got[CHANNELS_MAX];
	enum outcome	 out[CHANNELS_MAX];
	char		 detail[CHANNELS_MAX][DETAIL_MAX];
	struct test	*next;
};

static struct {
	struct hub_notify_chan ch[CHANNELS_MAX];
	int		 nch;
	int		 curl_ok;
	pthread_mutex_t	 mu;		/* guards head, tail */
	struct result	*head, *tail;	/* owned: outcomes not yet drained */
	struct test	*tests;		/* owned; service thread */
	uint64_t	 next_test;
} nt = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* ---- outcomes: worker -> service thread ---- */

/* Any thread. */
static void
post_result(int chan, const struct hub_notify_job *j, enum outcome out,
    int attempt, const char *detail)
{
	struct result *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		mc_err("alerts: out of memory recording a delivery outcome");
		return;
	}
	mc_strlcpy(r->id, j->id, sizeof(r->id));
	mc_strlcpy(r->agent, j->agent, sizeof(r->agent));
	r->chan = chan;
	r->out = out;
	r->attempt = attempt;
	r->test = j->test;
	mc_strlcpy(r->detail, detail, sizeof(r->detail));
	pthread_mutex_lock(&nt.mu);
	if (nt.tail)
		nt.tail->next = r;
	else
		nt.head = r;
	nt.tail = r;
	pthread_mutex_unlock(&nt.mu);
	hub_ws_wake();
}

/* ---- the worker: one per channel ---- */

int
hub_notify_sleep(pthread_mutex_t *mu, pthread_cond_t *cv, const int *stop,
    double secs)
{
	struct timespec ts;
	int stopped, rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)secs;
	ts.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(mu);
	while (!*stop && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(cv, mu, &ts);
	stopped = *stop;
	pthread_mutex_unlock(mu);
	return stopped ? -1 : 0;
}

void
hub_notify_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

/* Wait secs, or less if the hub stops: 0, or -1 when stopping. */
static int
chan_sleep(struct hub_notify_chan *ch, double secs)
{
	return hub_notify_sleep(&ch->mu, &ch->cv, &ch->stop, secs);
}

/* Try until sent, until retrying cannot help or the tries run out.  A
 * test gets one try: its answer is what the operator asked for. */
static void
deliver(struct hub_notify_chan *ch, CURL *h, const struct hub_notify_job *j)
{
	char detail[DETAIL_MAX], more[DETAIL_MAX + 32];
	int tries = 0, limited = 0, attempt = 0, idx = (int)(ch - nt.ch);
	enum hub_notify_verdict v;
	double wait = 0;

	for (;;) {
		attempt++;
		v = hub_notify_try(ch, h, j, &tries, &limited, &wait, detail,
		    sizeof(detail));
		if (v == V_SENT) {
			post_result(idx, j, OUT_SENT, attempt, detail);
			return;
		}
		if (v == V_FAIL || j->test || tries >= TRIES_MAX ||
		    limited > LIMITED_MAX) {
			post_result(idx, j, OUT_FAILED, attempt, detail);
			return;
		}
		snprintf(more, sizeof(more), "%s; next try in %gs", detail,
		    wait);
		post_result(idx, j, OUT_RETRIED, attempt, more);
		if (chan_sleep(ch, wait) == -1) {
			post_result(idx, j, OUT_FAILED, attempt, "the hub "
			    "stopped before the next try");
			return;
		}
	}
}

/* The next job, or NULL when the hub stops. */
static struct hub_notify_job *
chan_pop(struct hub_notify_chan *ch)
{
	struct hub_notify_job *j = NULL;

	pthread_mutex_lock(&ch->mu);
	while (ch->head == NULL && !ch->stop)
		pthread_cond_wait(&ch->cv, &ch->mu);
	if (!ch->stop) {
		j = ch->head;
		ch->head = j->next;
		if (ch->head == NULL)
			ch->tail = NULL;
		ch->queued--;
	}
	pthread_mutex_unlock(&ch->mu);
	return j;
}

static void *
chan_main(void *arg)
{
	struct hub_notify_chan *ch = arg;
	struct hub_notify_job *j;
	CURL *h = curl_easy_init();

	if (h == NULL) {
		mc_err("alerts: %s: cannot set up libcurl; this channel is "
		    "off", ch->name);
		return NULL;
	}
	while ((j = chan_pop(ch)) != NULL) {
		deliver(ch, h, j);
		hub_notify_job_free(j);
	}
	curl_easy_cleanup(h);
	return NULL;
}

/* Queue j (taken) on ch.  0, or -1 (j not taken) when the queue is full. */
static int
chan_push(struct hub_notify_chan *ch, struct hub_notify_job *j)
{
	pthread_mutex_lock(&ch->mu);
	if (ch->queued >= MC_ALERT_QUEUE_MAX) {
		pthread_mutex_unlock(&ch->mu);
		return -1;
	}
	if (ch->tail)
		ch->tail->next = j;
	else
		ch->head = j;
	ch->tail = j;
	ch->queued++;
	pthread_cond_signal(&ch->cv);
	pthread_mutex_unlock(&ch->mu);
	return 0;
}

/* ---- start and stop ---- */

int
hub_notify_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		mc_err("cannot initialise libcurl");
		return -1;
	}
	nt.curl_ok = 1;
	return 0;
}

void
hub_notify_cleanup(void)
{
	struct result *r;
	struct test *t;

	while ((r = nt.head) != NULL) {
		nt.head = r->next;
		free(r);
	}
	nt.tail = NULL;
	while ((t = nt.tests) != NULL) {
		nt.tests = t->next;
		free(t);
	}
	hub_push_free_all();
	if (nt.curl_ok)
		curl_global_cleanup();
	nt.curl_ok = 0;
}

static struct hub_notify_chan *
chan_add(enum hub_notify_kind kind, const char *name)
{
	struct hub_notify_chan *ch = &nt.ch[nt.nch++];

	memset(ch, 0, sizeof(*ch));
	ch->kind = kind;
	ch->name = name;
	return ch;
}

/* The configured channels; their URLs are built here and never shown. */
static int
chans_configure(void)
{
	const struct hub_conf *c = &hub.conf;
	struct hub_notify_chan *ch;
	char url[sizeof(ch->url)], auth[sizeof(ch->auth)];
	size_t n;

	if (c->telegram_bot_token[0] != '\0') {
		ch = chan_add(CH_TELEGRAM, "telegram");
		n = strlen(c->telegram_api);
		while (n > 0 && c->telegram_api[n - 1] == '/')
			n--;
		if ((size_t)snprintf(ch->url, sizeof(ch->url),
		    "%.*s/bot%s/sendMessage", (int)n, c->telegram_api,
		    c->telegram_bot_token) >= sizeof(ch->url))
			return -1;
		mc_strlcpy(ch->chat_id, c->telegram_chat_id,
		    sizeof(ch->chat_id));
	}
	if (hub_chat_dc_bot(url, sizeof(url), auth, sizeof(auth))) {
		/* Discord's bot: the same embeds, with buttons, instead of
		 * the webhook (hub_chat_discord.c) */
		ch = chan_add(CH_DISCORD, "discord");
		mc_strlcpy(ch->url, url, sizeof(ch->url));
		mc_strlcpy(ch->auth, auth, sizeof(ch->auth));
		explicit_bzero(auth, sizeof(auth));
	} else if (c->discord_webhook_url[0] != '\0') {
		ch = chan_add(CH_DISCORD, "discord");
		mc_strlcpy(ch->url, c->discord_webhook_url, sizeof(ch->url));
	}
	if (c->webhook_url[0] != '\0') {
		ch = chan_add(CH_WEBHOOK, "webhook");
		mc_strlcpy(ch->url, c->webhook_url, sizeof(ch->url));
	}
	return 0;
}

static int
chan_start(struct hub_notify_chan *ch)
{
	pthread_mutex_init(&ch->mu, NULL);
	hub_notify_cond_init(&ch->cv);
	atomic_store(&ch->stopping, 0);
	if (pthread_create(&ch->thread, NULL, chan_main, ch) != 0) {
		mc_err("alerts: cannot start the %s thread", ch->name);
		return -1;
	}
	ch->running = 1;
	return 0;
}

int
hub_notify_start(void)
{
	char names[64] = "";
	size_t off = 0;
	int i;

	if (chans_configure() == -1) {
		mc_err("alerts: a channel setting is too long");
		return -1;
	}
	if (hub_push_start() == -1)
		return -1;
	for (i = 0; i < nt.nch; i++) {
		if (chan_start(&nt.ch[i]) == -1)
			return -1;
		off += (size_t)snprintf(names + off, sizeof(names) - off,
		    "%s%s", i ? ", " : "", nt.ch[i].name);
	}
	if (nt.nch > 0)
		mc_info("alerts: %d channel%s (%s)", nt.nch, nt.nch > 1 ? "s" :
		    "", names);
	else
		mc_info("alerts: no channel configured; alerts are recorded "
		    "only (see docs/alerts.md)");
	return 0;
}

static void
chan_stop(struct hub_notify_chan *ch)
{
	struct hub_notify_job *j;
	size_t dropped = 0;

	if (!ch->running)
		return;
	pthread_mutex_lock(&ch->mu);
	ch->stop = 1;
	atomic_store(&ch->stopping, 1);
	pthread_cond_broadcast(&ch->cv);
	pthread_mutex_unlock(&ch->mu);
	pthread_join(ch->thread, NULL);
	ch->running = 0;
	while ((j = ch->head) != NULL) {
		ch->head = j->next;
		post_result((int)(ch - nt.ch), j, OUT_FAILED, 0, "not sent: "
		    "the hub stopped");
		hub_notify_job_free(j);
		dropped++;
	}
	ch->tail = NULL;
	if (dropped > 0)
		mc_warn("alerts: %s: %zu message%s not sent (the hub stopped)",
		    ch->name, dropped, dropped > 1 ? "s" : "");
	pthread_cond_destroy(&ch->cv);
	pthread_mutex_destroy(&ch->mu);
}

void
hub_notify_stop(void)
{
	int i;

	for (i = 0; i < nt.nch; i++)
		chan_stop(&nt.ch[i]);
	hub_push_stop();
}

int
hub_notify_channels(void)
{
	return nt.nch;
}

unsigned
hub_notify_chan_bit(const char *name)
{
	static const char *const names[] = { [CH_TELEGRAM] = "telegram",
	    [CH_DISCORD] = "discord", [CH_WEBHOOK] = "webhook",
	    [CH_PUSH] = "push" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			return 1u << i;
	return 0;
}

unsigned
hub_notify_configured(void)
{
	unsigned bits = 0;
	int i;

	for (i = 0; i < nt.nch; i++)
		bits |= 1u << nt.ch[i].kind;
	return bits | 1u << CH_PUSH;	/* Web Push is always there */
}

/* ---- service thread ---- */

void
hub_notify_send(const struct hub_msg *m)
{
	char why[DETAIL_MAX];
	struct hub_notify_job *j;
	unsigned to = hub_gitcfg_alert_chans(m);
	int i;

	for (i = 0; i < nt.nch; i++) {
		if (!(to & (1u << nt.ch[i].kind)))
			continue;	/* routed elsewhere (alerts.conf) */
		if ((j = hub_notify_job_new(&nt.ch[i], m)) == NULL) {
			mc_err("alerts: %s: cannot render alert %s",
			    nt.ch[i].name, m->id);
			continue;
		}
		if (chan_push(&nt.ch[i], j) == 0)
			continue;
		snprintf(why, sizeof(why), "not sent: %d messages already wait "
		    "for this channel", MC_ALERT_QUEUE_MAX);
		post_result(i, j, OUT_FAILED, 0, why);
		hub_notify_job_free(j);
	}
	if (to & (1u << CH_PUSH))
		hub_push_alert(m);
}

static struct test *
test_find(uint64_t id)
{
	struct test *t;

	for (t = nt.tests; t != NULL; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

/* {"channels":[...]}: each channel's outcome in test t (NULL: none). */
static void
test_write(const struct test *t, struct mc_buf *b)
{
	struct mc_jw w;
	char late[64];
	int i;

	snprintf(late, sizeof(late), "no answer within %gs", TEST_WAIT);
	mc_buf_init(b, 64 * 1024);
	mc_jw_init(&w, b);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "channels");
	for (i = 0; t != NULL && i < nt.nch; i++) {
		mc_jw_obj(&w, NULL);
		mc_jw_str(&w, "channel", nt.ch[i].name);
		mc_jw_str(&w, "outcome", t->got[i] ? outcome_names[t->out[i]] :
		    "failed");
		mc_jw_str(&w, "detail", t->got[i] ? t->detail[i] : late);
		mc_jw_obj_end(&w);
	}
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	mc_buf_puts(b, "\n");
}

/* Answer a test request (deferred) and forget it. */
static void
test_reply(struct test *t)
{
	struct test **pp;
	struct hub_conn *c = hub_http_resume(t->ticket);
	struct hub_req r;
	struct mc_buf b;

	for (pp = &nt.tests; *pp != t; pp = &(*pp)->next)
		;
	*pp = t->next;
	if (c != NULL) {
		memset(&r, 0, sizeof(r));
		r.conn = c;
		r.http = c->http;
		test_write(t, &b);
		hub_http_reply(&r, 200, &b);
		mc_buf_free(&b);
		hub_ws_http_ready(c);
	}
	free(t);
}

static void
test_result(const struct result *r)
{
	struct test *t = test_find(r->test);
	int i;

	if (t == NULL || r->out == OUT_RETRIED)
		return;
	t->got[r->chan] = 1;
	t->out[r->chan] = r->out;
	mc_strlcpy(t->detail[r->chan], r->detail, sizeof(t->detail[0]));
	for (i = 0; i < nt.nch; i++)
		if (!t->got[i])
			return;
	test_reply(t);
}

void
hub_notify_test(struct hub_req *r, struct hub_msg *m)
{
	struct mc_buf b;
	struct test *t;

	if (nt.nch == 0) {
		test_write(NULL, &b);
		hub_http_reply(r, 200, &b);
		mc_buf_free(&b);
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		hub_http_error(r, 503, "unavailable", "out of memory");
		return;
	}
	if ((t->ticket = hub_http_defer(r)) == 0) {
		free(t);
		return;
	}
	t->id = ++nt.next_test;
	t->deadline = mc_now() + TEST_WAIT;
	t->next = nt.tests;
	nt.tests = t;
	m->test = t->id;
	hub_notify_send(m);
}

void
hub_notify_tick(double now)
{
	struct test *t, *next;

	for (t = nt.tests; t != NULL; t = next) {
		next = t->next;
		if (now >= t->deadline)
			test_reply(t);
	}
}

/* One outcome: the log, the event, the counters and the alert's row. */
static void
record(const struct result *r)
{
	const char *chan = nt.ch[r->chan].name, *out = outcome_names[r->out];
	char detail[MC_ID_MAX + DETAIL_MAX + 32], row[48];

	snprintf(detail, sizeof(detail), "%s try %d: %s", r->id, r->attempt,
	    r->detail);
	if (r->out == OUT_SENT)
		mc_info("alert %s: %s: sent (%s)", r->id, chan, r->detail);
	else
		mc_warn("alert %s: %s: %s (try %d: %s)", r->id, chan, out,
		    r->attempt, r->detail);
	hub_event("delivery", r->agent, chan, out, detail);
	hub_prom_alert(chan, out);
	hub_selfwatch_delivery(chan, r->out == OUT_SENT, r->detail);
	if (r->out == OUT_RETRIED)
		return;
	snprintf(row, sizeof(row), "%s:%s", chan, out);
	hub_db_exec("UPDATE alerts SET outcomes = coalesce(outcomes || ' ', '')"
	    " || ? WHERE id = ?", "tt", row, r->id);
}

void
hub_notify_drain(void)
{
	struct result *list, *next;

	pthread_mutex_lock(&nt.mu);
	list = nt.head;
	nt.head = nt.tail = NULL;
	pthread_mutex_unlock(&nt.mu);
	for (; list != NULL; list = next) {
		next = list->next;
		record(list);
		if (list->test != 0)
			test_result(list);
		free(list);
	}
	hub_push_drain();
}
