/*
 * hub_chat_discord_send.c - what the hub sends Discord later, off the
 * service thread: the outcome of a /run, as the edit of the interaction's
 * "thinking" answer (PATCH /webhooks/APP_ID/TOKEN/messages/@original
 * under discord_api).
 *
 * One thread sends one request at a time from a bounded queue, with the
 * alert channels' rules for an answer (hub_notify_try(): 429 honoured,
 * 5xx and network errors retried SEND_TRIES times).  An interaction's
 * token answers for 15 minutes: a follow-up is never held longer.
 * URLs hold the interaction's token (and a request with bot set the bot
 * token in its header): they go to libcurl only, never to a log.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_chat.h"
#include "hub_notify.h"
#include "mc_log.h"
#include "mc_util.h"

#define OUTBOX_MAX	256	/* requests waiting for the sender */
#define SEND_TRIES	3	/* network errors and 5xx, per request */
#define SEND_LIMITED	5	/* 429 answers honoured, per request */
#define TOKEN_LIFE	(15 * 60.0)	/* seconds an interaction answers */

/* One request waiting for the sender. */
struct out {
	char		 method[8];
	char		*url;		/* owned; secret */
	char		*body;		/* owned */
	size_t		 len;
	int		 bot;		/* with the bot token */
	double		 queued;	/* monotonic */
	struct out	*next;
};

static struct {
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mu;		/* guards what follows */
	pthread_cond_t	 cv;		/* on CLOCK_MONOTONIC */
	int		 stop;
	struct out	*head, *tail;	/* owned */
	int		 n;
	struct hub_notify_chan send;	/* the request's url, auth and
					 * stopping */
} ds = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
out_free(struct out *o)
{
	if (o->url != NULL)
		explicit_bzero(o->url, strlen(o->url));
	free(o->url);
	free(o->body);
	free(o);
}

static struct out *
pop(void)
{
	struct out *o = NULL;

	pthread_mutex_lock(&ds.mu);
	while (ds.head == NULL && !ds.stop)
		pthread_cond_wait(&ds.cv, &ds.mu);
	if (!ds.stop) {
		o = ds.head;
		ds.head = o->next;
		if (ds.head == NULL)
			ds.tail = NULL;
		ds.n--;
	}
	pthread_mutex_unlock(&ds.mu);
	return o;
}

/* One request, tried until it is sent or retrying cannot help. */
static void
send_one(CURL *h, struct out *o)
{
	struct hub_notify_job j;
	char detail[160];
	int tries = 0, limited = 0;
	enum hub_notify_verdict v;
	double wait = 0;

	memset(&j, 0, sizeof(j));
	j.body = o->body;
	j.len = o->len;
	ds.send.method = o->method;
	if (mc_strlcpy(ds.send.url, o->url, sizeof(ds.send.url)) == -1 ||
	    (o->bot && !hub_chat_dc_bot(NULL, 0, ds.send.auth,
	    sizeof(ds.send.auth)))) {
		mc_warn("chat: a Discord %s was not sent: its URL is too long",
		    o->method);
		return;
	}
	if (!o->bot)
		ds.send.auth[0] = '\0';
	for (;;) {
		v = hub_notify_try(&ds.send, h, &j, &tries, &limited, &wait,
		    detail, sizeof(detail));
		if (v == V_SENT)
			return;
		if (v == V_FAIL || tries >= SEND_TRIES ||
		    limited > SEND_LIMITED ||
		    mc_now() + wait - o->queued > TOKEN_LIFE) {
			mc_warn("chat: a Discord %s failed: %s", o->method,
			    detail);
			return;
		}
		if (hub_notify_sleep(&ds.mu, &ds.cv, &ds.stop, wait) == -1)
			return;
	}
}

static void *
sender_main(void *arg)
{
	struct out *o;
	CURL *h = curl_easy_init();

	(void)arg;
	if (h == NULL) {
		mc_err("chat: cannot set up libcurl; Discord's follow-ups are "
		    "not sent");
		return NULL;
	}
	while ((o = pop()) != NULL) {
		send_one(h, o);
		out_free(o);
	}
	explicit_bzero(ds.send.url, sizeof(ds.send.url));
	explicit_bzero(ds.send.auth, sizeof(ds.send.auth));
	curl_easy_cleanup(h);
	return NULL;
}

void
hub_chat_dc_call(const char *method, const char *path, char *body,
    size_t len, int bot)
{
	const char *api = hub.conf.discord_api;
	struct out *o = calloc(1, sizeof(*o));	/* owned by the queue */
	size_t n = strlen(api), ulen;

	while (n > 0 && api[n - 1] == '/')
		n--;
	ulen = n + strlen(path) + 1;
	if (o == NULL || (o->url = malloc(ulen)) == NULL) {
		free(o);
		free(body);
		return;
	}
	snprintf(o->url, ulen, "%.*s%s", (int)n, api, path);
	mc_strlcpy(o->method, method, sizeof(o->method));
	o->body = body;
	o->len = len;
	o->bot = bot;
	o->queued = mc_now();
	pthread_mutex_lock(&ds.mu);
	if (ds.n >= OUTBOX_MAX || ds.stop || !ds.running) {
		pthread_mutex_unlock(&ds.mu);
		mc_warn("chat: a Discord %s was not sent: %d wait already",
		    method, OUTBOX_MAX);
		out_free(o);
		return;
	}
	if (ds.tail != NULL)
		ds.tail->next = o;
	else
		ds.head = o;
	ds.tail = o;
	ds.n++;
	pthread_cond_broadcast(&ds.cv);
	pthread_mutex_unlock(&ds.mu);
}

void
hub_chat_dc_followup(const char *app_id, const char *token,
    const char *text)
{
	char path[HUB_CHAT_DC_ID_MAX + HUB_CHAT_DC_TOKEN_MAX + 64];
	struct mc_buf b;
	struct mc_jw w;
	char *body;
	size_t len;

	snprintf(path, sizeof(path), "/webhooks/%s/%s/messages/@original",
	    app_id, token);
	mc_buf_init(&b, 16 * 1024);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "content", text);
	mc_jw_obj(&w, "allowed_mentions");
	mc_jw_arr(&w, "parse");
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1 || b.data == NULL) {
		mc_warn("chat: a Discord follow-up was not sent: too large");
		mc_buf_free(&b);
		explicit_bzero(path, sizeof(path));
		return;
	}
	body = mc_buf_take(&b, &len);	/* owned by the sender from here */
	hub_chat_dc_call("PATCH", path, body, len, 0);
	explicit_bzero(path, sizeof(path));
}

int
hub_chat_dc_send_start(void)
{
	hub_notify_cond_init(&ds.cv);
	ds.stop = 0;
	memset(&ds.send, 0, sizeof(ds.send));
	ds.send.name = "discord bot";
	atomic_store(&ds.send.stopping, 0);
	if (pthread_create(&ds.thread, NULL, sender_main, NULL) != 0)
		return -1;
	ds.running = 1;
	return 0;
}

void
hub_chat_dc_send_stop(void)
{
	struct out *o;

	pthread_mutex_lock(&ds.mu);
	ds.stop = 1;
	atomic_store(&ds.send.stopping, 1);
	pthread_cond_broadcast(&ds.cv);
	pthread_mutex_unlock(&ds.mu);
	if (ds.running)
		pthread_join(ds.thread, NULL);
	ds.running = 0;
	while ((o = ds.head) != NULL) {
		ds.head = o->next;
		out_free(o);
	}
	ds.tail = NULL;
	ds.n = 0;
}
