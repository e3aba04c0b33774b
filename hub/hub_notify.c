/*
 * hub_notify.c - alert delivery to Telegram, Discord and a generic JSON
 * webhook, through libcurl, off the service thread.
 *
 * Each configured channel has its own worker thread and its own bounded
 * queue, so a slow or dead channel delays nothing but itself: neither the
 * service thread (heartbeats, commands, the API) nor the other channels.
 * The service thread renders a message once per channel, escaping what
 * that format needs, and queues it; the worker POSTs it with timeouts,
 * retries network errors and 5xx answers with backoff, and honours the
 * services' own rate-limit answers (429 with retry_after, in the body as
 * Telegram and Discord send it, or a Retry-After header): nothing more
 * goes to that channel before the time it names.  Every outcome (sent,
 * retried, failed) goes back to the service thread on a mutex-protected
 * list and a hub_ws_wake(); hub_notify_drain() records it as a "delivery"
 * event, in the alerts table and in the Prometheus counters.
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
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

#define CHANNELS_MAX	3
#define CONNECT_TIMEOUT	5L	/* seconds */
#define REQUEST_TIMEOUT	10L	/* seconds for one whole request */
#define TRIES_MAX	5	/* network errors and 5xx, per message */
#define LIMITED_MAX	10	/* 429 answers honoured per message */
#define BACKOFF_FIRST	1.0	/* seconds; doubles with every try */
#define BACKOFF_CAP	30.0
#define RETRY_AFTER_CAP	300.0	/* a longer rate limit fails the message */
#define ANSWER_MAX	(16 * 1024)	/* response bytes kept to parse */
#define TEST_WAIT	25.0	/* seconds; inside hubctl's 30 s timeout */
#define DETAIL_MAX	160
#define DESC_MAX	100	/* bytes of a service's error description */
/* rendered text limits: Telegram takes 4096 characters, a Discord
 * description 4096 and a title 256 */
#define TG_TEXT_MAX	4000
#define DC_TITLE_MAX	250
#define DC_DESC_MAX	4000

enum chan_kind { CH_TELEGRAM, CH_DISCORD, CH_WEBHOOK };
enum outcome { OUT_SENT, OUT_RETRIED, OUT_FAILED };

static const char *const outcome_names[] = { "sent", "retried", "failed" };

/* Embed colours by severity: critical red, warning orange, recovery
 * green, info blue. */
static const long sev_colour[] = { 0xE53935, 0xFB8C00, 0x43A047, 0x1E88E5 };

struct job {
	char		 id[MC_ID_MAX];		/* the alert's id */
	char		 agent[MC_NAME_MAX + 1];
	uint64_t	 test;
	char		*body;			/* owned: the request body */
	size_t		 len;
	struct job	*next;
};

struct chan {
	enum chan_kind	 kind;
	const char	*name;
	char		 url[2048];	/* secret: for libcurl only */
	char		 chat_id[128];	/* telegram */
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* on CLOCK_MONOTONIC */
	struct job	*head, *tail;	/* owned, under mu */
	size_t		 queued;	/* under mu */
	int		 stop;		/* under mu */
	atomic_int	 stopping;	/* read by the transfer's callback */
};

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

/* One answer from a service. */
struct answer {
	CURLcode	 rc;
	long		 status;	/* HTTP status; 0: none */
	struct mc_buf	 body;		/* owned, at most ANSWER_MAX */
	double		 retry_after;	/* Retry-After header; -1: none */
};

static struct {
	struct chan	 ch[CHANNELS_MAX];
	int		 nch;
	int		 curl_ok;
	pthread_mutex_t	 mu;		/* guards head, tail */
	struct result	*head, *tail;	/* owned: outcomes not yet drained */
	struct test	*tests;		/* owned; service thread */
	uint64_t	 next_test;
} nt = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* ---- rendering (service thread) ---- */

/* Append s to b with each byte passed through esc (which appends what
 * the byte becomes), stopping at a character boundary before limit bytes
 * and then adding "...". */
typedef void (*esc_fn)(struct mc_buf *b, unsigned char c);

static void
esc_append(struct mc_buf *b, const char *s, esc_fn esc, size_t limit)
{
	size_t start = b->len;

	for (; *s != '\0'; s++) {
		if (b->len - start >= limit &&
		    ((unsigned char)*s & 0xc0) != 0x80) {
			mc_buf_puts(b, "...");
			return;
		}
		esc(b, (unsigned char)*s);
	}
}

static void
esc_html(struct mc_buf *b, unsigned char c)
{
	if (c == '&')
		mc_buf_puts(b, "&amp;");
	else if (c == '<')
		mc_buf_puts(b, "&lt;");
	else if (c == '>')
		mc_buf_puts(b, "&gt;");
	else
		mc_buf_append(b, &c, 1);
}

/* Discord markdown: every character that can start formatting, a link
 * or a heading is shown literally. */
static void
esc_md(struct mc_buf *b, unsigned char c)
{
	if (c != '\0' && strchr("\\*_~`|>#[]()", c) != NULL)
		mc_buf_append(b, "\\", 1);
	mc_buf_append(b, &c, 1);
}

static void
render_telegram(const struct chan *ch, const struct hub_msg *m,
    struct mc_jw *w)
{
	struct mc_buf t;

	mc_buf_init(&t, 2 * TG_TEXT_MAX);
	mc_buf_puts(&t, "<b>");
	esc_append(&t, m->title, esc_html, 400);
	mc_buf_puts(&t, "</b>\n");
	esc_append(&t, m->text, esc_html, TG_TEXT_MAX - t.len);
	mc_jw_obj(w, NULL);
	mc_jw_str(w, "chat_id", ch->chat_id);
	mc_jw_str(w, "text", t.data ? t.data : "");
	mc_jw_str(w, "parse_mode", "HTML");
	mc_jw_bool(w, "disable_web_page_preview", 1);
	mc_jw_obj_end(w);
	mc_buf_free(&t);
}

static void
render_discord(const struct hub_msg *m, struct mc_jw *w)
{
	struct mc_buf t, d;

	mc_buf_init(&t, 2 * DC_TITLE_MAX);
	mc_buf_init(&d, 2 * DC_DESC_MAX);
	esc_append(&t, m->title, esc_md, DC_TITLE_MAX - 4);
	esc_append(&d, m->text, esc_md, DC_DESC_MAX - 4);
	mc_jw_obj(w, NULL);
	mc_jw_arr(w, "embeds");
	mc_jw_obj(w, NULL);
	mc_jw_str(w, "title", t.data ? t.data : "");
	mc_jw_str(w, "description", d.data ? d.data : "");
	mc_jw_i64(w, "color", sev_colour[m->sev]);
	mc_jw_obj_end(w);
	mc_jw_arr_end(w);
	mc_jw_obj(w, "allowed_mentions");
	mc_jw_arr(w, "parse");
	mc_jw_arr_end(w);
	mc_jw_obj_end(w);
	mc_jw_obj_end(w);
	mc_buf_free(&t);
	mc_buf_free(&d);
}

static void
render_webhook(const struct hub_msg *m, struct mc_jw *w)
{
	int i;

	mc_jw_obj(w, NULL);
	mc_jw_str(w, "event", m->event);
	mc_jw_str(w, "severity", hub_sev_name(m->sev));
	if (m->agent[0] != '\0')
		mc_jw_str(w, "agent", m->agent);
	else
		mc_jw_null(w, "agent");
	if (m->nagents > 0) {
		mc_jw_arr(w, "agents");
		for (i = 0; i < m->nagents; i++)
			mc_jw_str(w, NULL, m->agents[i]);
		mc_jw_arr_end(w);
	}
	mc_jw_str(w, "title", m->title);
	mc_jw_str(w, "text", m->text);
	mc_jw_dbl(w, "ts", m->ts);
	mc_jw_str(w, "id", m->id);
	mc_jw_obj_end(w);
}

/* The request body for one channel, as a job.  NULL if out of memory. */
static struct job *
job_new(const struct chan *ch, const struct hub_msg *m)
{
	struct job *j = calloc(1, sizeof(*j));
	struct mc_buf b;
	struct mc_jw w;

	if (j == NULL)
		return NULL;
	mc_buf_init(&b, 64 * 1024);
	mc_jw_init(&w, &b);
	if (ch->kind == CH_TELEGRAM)
		render_telegram(ch, m, &w);
	else if (ch->kind == CH_DISCORD)
		render_discord(m, &w);
	else
		render_webhook(m, &w);
	if (mc_jw_done(&w) == -1 || b.data == NULL) {
		mc_buf_free(&b);
		free(j);
		return NULL;
	}
	mc_strlcpy(j->id, m->id, sizeof(j->id));
	mc_strlcpy(j->agent, m->agent, sizeof(j->agent));
	j->test = m->test;
	j->body = mc_buf_take(&b, &j->len);
	return j;
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->body);
	free(j);
}

/* ---- outcomes: worker -> service thread ---- */

/* Any thread. */
static void
post_result(int chan, const struct job *j, enum outcome out, int attempt,
    const char *detail)
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

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;

	/* past ANSWER_MAX the rest is not needed: keep reading, drop it */
	mc_buf_append(&a->body, p, size * n);
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;
	char v[32];
	double d;

	if (len > 12 && len - 12 < sizeof(v) &&
	    strncasecmp(p, "retry-after:", 12) == 0) {
		memcpy(v, p + 12, len - 12);
		v[len - 12] = '\0';
		if (mc_parse_dbl(mc_trim(v), 0, 1e7, &d) == 0)
			a->retry_after = d;
	}
	return len;
}

/* Abort a transfer in flight when the hub stops. */
static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct chan *ch = arg;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return atomic_load(&ch->stopping) ? 1 : 0;
}

static void
transfer(struct chan *ch, CURL *h, const struct job *j, struct answer *a)
{
	struct curl_slist *hdr, *more;

	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	more = hdr ? curl_slist_append(hdr, "Expect:") : NULL;
	if (more == NULL) {
		curl_slist_free_all(hdr);
		a->rc = CURLE_OUT_OF_MEMORY;
		return;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, ch->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, more);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)j->len);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "maestro-hub/" MC_VERSION);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, REQUEST_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, ch);
	a->rc = curl_easy_perform(h);
	if (a->rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
	curl_slist_free_all(more);
}

/* The service's error description (Telegram "description", Discord
 * "message") as printable ASCII, and its retry_after (Telegram puts it in
 * "parameters", Discord at the top), or -1. */
static double
answer_parse(const struct answer *a, char *desc, size_t desclen)
{
	const struct mc_json *root, *par;
	const char *s;
	struct mc_jdoc *d;
	char err[64];
	double ra = -1;
	size_t n = 0;

	desc[0] = '\0';
	if (a->body.len == 0 || (d = mc_json_parse(a->body.data, a->body.len,
	    err, sizeof(err))) == NULL)
		return -1;
	root = mc_json_root(d);
	par = mc_json_get(root, "parameters");
	if (mc_json_num(par, "retry_after", &ra) == -1 &&
	    mc_json_num(root, "retry_after", &ra) == -1)
		ra = -1;
	s = mc_json_str(root, "description");
	if (s == NULL)
		s = mc_json_str(root, "message");
	for (; s != NULL && *s != '\0' && n + 1 < desclen && n < DESC_MAX; s++)
		if ((unsigned char)*s >= ' ' && (unsigned char)*s < 0x7f)
			desc[n++] = *s;
	desc[n] = '\0';
	mc_json_free(d);
	return ra;
}

static double
backoff(int tries)
{
	double d = BACKOFF_FIRST;

	while (--tries > 0 && d < BACKOFF_CAP)
		d *= 2;
	return d < BACKOFF_CAP ? d : BACKOFF_CAP;
}

enum verdict { V_SENT, V_RETRY, V_FAIL };

/*
 * One try: sent, retry after *wait seconds, or fail (retrying cannot
 * help); detail says what happened.
 */
static enum verdict
try_once(struct chan *ch, CURL *h, const struct job *j, int *tries,
    int *limited, double *wait, char *detail, size_t dlen)
{
	enum verdict v = V_FAIL;
	struct answer a;
	char desc[DESC_MAX + 1];
	double ra;

	memset(&a, 0, sizeof(a));
	a.retry_after = -1;
	mc_buf_init(&a.body, ANSWER_MAX);
	transfer(ch, h, j, &a);
	ra = answer_parse(&a, desc, sizeof(desc));
	if (ra < 0)
		ra = a.retry_after;
	if (a.rc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(detail, dlen, "the hub is stopping");
	} else if (a.rc != CURLE_OK) {
		/* libcurl's generic text: never the URL */
		snprintf(detail, dlen, "%s", curl_easy_strerror(a.rc));
		*wait = backoff(++*tries);
		v = V_RETRY;
	} else if (a.status >= 200 && a.status < 300) {
		snprintf(detail, dlen, "HTTP %ld", a.status);
		v = V_SENT;
	} else if (a.status == 429 && ra > RETRY_AFTER_CAP) {
		++*limited;
		snprintf(detail, dlen, "HTTP 429: rate limited for %.0fs", ra);
	} else if (a.status == 429) {
		++*limited;
		*wait = ra >= 0 ? ra : backoff(*limited);
		snprintf(detail, dlen, "HTTP 429: rate limited, retry after "
		    "%gs", *wait);
		v = V_RETRY;
	} else {
		if (a.status >= 500) {
			*wait = backoff(++*tries);
			v = V_RETRY;
		}
		snprintf(detail, dlen, "HTTP %ld%s%s", a.status,
		    desc[0] ? ": " : "", desc);
	}
	mc_buf_free(&a.body);
	return v;
}

/* Wait secs, or less if the hub stops: 0, or -1 when stopping. */
static int
chan_sleep(struct chan *ch, double secs)
{
	struct timespec ts;
	int stop, rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)secs;
	ts.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ch->mu);
	while (!ch->stop && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&ch->cv, &ch->mu, &ts);
	stop = ch->stop;
	pthread_mutex_unlock(&ch->mu);
	return stop ? -1 : 0;
}

/* Try until sent, until retrying cannot help or the tries run out.  A
 * test gets one try: its answer is what the operator asked for. */
static void
deliver(struct chan *ch, CURL *h, const struct job *j)
{
	char detail[DETAIL_MAX], more[DETAIL_MAX + 32];
	int tries = 0, limited = 0, attempt = 0, idx = (int)(ch - nt.ch);
	enum verdict v;
	double wait = 0;

	for (;;) {
		attempt++;
		v = try_once(ch, h, j, &tries, &limited, &wait, detail,
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
static struct job *
chan_pop(struct chan *ch)
{
	struct job *j = NULL;

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
	struct chan *ch = arg;
	struct job *j;
	CURL *h = curl_easy_init();

	if (h == NULL) {
		mc_err("alerts: %s: cannot set up libcurl; this channel is "
		    "off", ch->name);
		return NULL;
	}
	while ((j = chan_pop(ch)) != NULL) {
		deliver(ch, h, j);
		job_free(j);
	}
	curl_easy_cleanup(h);
	return NULL;
}

/* Queue j (taken) on ch.  0, or -1 (j not taken) when the queue is full. */
static int
chan_push(struct chan *ch, struct job *j)
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
	if (nt.curl_ok)
		curl_global_cleanup();
	nt.curl_ok = 0;
}

static struct chan *
chan_add(enum chan_kind kind, const char *name)
{
	struct chan *ch = &nt.ch[nt.nch++];

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
	struct chan *ch;
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
	if (c->discord_webhook_url[0] != '\0') {
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
chan_start(struct chan *ch)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&ch->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ch->cv, &ca);
	pthread_condattr_destroy(&ca);
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
chan_stop(struct chan *ch)
{
	struct job *j;
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
		job_free(j);
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
}

int
hub_notify_channels(void)
{
	return nt.nch;
}

/* ---- service thread ---- */

void
hub_notify_send(const struct hub_msg *m)
{
	char why[DETAIL_MAX];
	struct job *j;
	int i;

	for (i = 0; i < nt.nch; i++) {
		if ((j = job_new(&nt.ch[i], m)) == NULL) {
			mc_err("alerts: %s: cannot render alert %s",
			    nt.ch[i].name, m->id);
			continue;
		}
		if (chan_push(&nt.ch[i], j) == 0)
			continue;
		snprintf(why, sizeof(why), "not sent: %d messages already wait "
		    "for this channel", MC_ALERT_QUEUE_MAX);
		post_result(i, j, OUT_FAILED, 0, why);
		job_free(j);
	}
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
}
