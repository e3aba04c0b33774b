/*
 * hub_chat_send.c - a chat front end's sender: a thread that sends its
 * answers one at a time from a bounded queue, off the service thread.
 * Telegram's answers (sendMessage, editMessageText, answerCallbackQuery,
 * hub_chat_tg.c) and Discord's follow-ups (hub_chat_discord.c) each have
 * one.
 *
 * Each request is tried with the alert channels' rules for an answer
 * (hub_notify_try(): 429 honoured, 5xx and network errors retried
 * SEND_TRIES times), and given up when it waited longer than the sender's
 * max_age (Discord's interaction token answers for 15 minutes).  URLs
 * hold secrets (the bot token, an interaction's token): they go to
 * libcurl only, never to a log, and are wiped when done.  Stopping aborts
 * the transfer in flight and drops what waits.
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

/* One request waiting for the sender. */
struct out {
	char		 method[8];
	char		 what[32];	/* for the log: "sendMessage" */
	char		*url;		/* owned; secret */
	char		*body;		/* owned */
	size_t		 len;
	double		 queued;	/* monotonic */
	struct out	*next;
};

struct hub_chat_sender {
	const char	*name;		/* for the log */
	double		 max_age;	/* seconds a request may wait */
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mu;		/* guards what follows */
	pthread_cond_t	 cv;		/* on CLOCK_MONOTONIC */
	int		 stop;
	struct out	*head, *tail;	/* owned */
	int		 n;
	struct hub_notify_chan send;	/* the request's url and stopping */
};

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
pop(struct hub_chat_sender *ds)
{
	struct out *o = NULL;

	pthread_mutex_lock(&ds->mu);
	while (ds->head == NULL && !ds->stop)
		pthread_cond_wait(&ds->cv, &ds->mu);
	if (!ds->stop) {
		o = ds->head;
		ds->head = o->next;
		if (ds->head == NULL)
			ds->tail = NULL;
		ds->n--;
	}
	pthread_mutex_unlock(&ds->mu);
	return o;
}

/* One request, tried until it is sent or retrying cannot help. */
static void
send_one(struct hub_chat_sender *ds, CURL *h, struct out *o)
{
	struct hub_notify_job j;
	char detail[160];
	int tries = 0, limited = 0;
	enum hub_notify_verdict v;
	double wait = 0;

	memset(&j, 0, sizeof(j));
	j.body = o->body;
	j.len = o->len;
	ds->send.method = o->method;
	if (mc_strlcpy(ds->send.url, o->url, sizeof(ds->send.url)) == -1) {
		mc_warn("chat: %s: %s not sent: its URL is too long", ds->name,
		    o->what);
		return;
	}
	for (;;) {
		v = hub_notify_try(&ds->send, h, &j, &tries, &limited, &wait,
		    detail, sizeof(detail));
		if (v == V_SENT)
			return;
		if (v == V_FAIL || tries >= SEND_TRIES ||
		    limited > SEND_LIMITED ||
		    mc_now() + wait - o->queued > ds->max_age) {
			mc_warn("chat: %s: %s failed: %s", ds->name, o->what,
			    detail);
			return;
		}
		if (hub_notify_sleep(&ds->mu, &ds->cv, &ds->stop, wait) == -1)
			return;
	}
}

static void *
sender_main(void *arg)
{
	struct hub_chat_sender *ds = arg;
	struct out *o;
	CURL *h = curl_easy_init();

	if (h == NULL) {
		mc_err("chat: %s: cannot set up libcurl; answers are not sent",
		    ds->name);
		return NULL;
	}
	while ((o = pop(ds)) != NULL) {
		send_one(ds, h, o);
		out_free(o);
	}
	explicit_bzero(ds->send.url, sizeof(ds->send.url));
	curl_easy_cleanup(h);
	return NULL;
}

void
hub_chat_sender_put(struct hub_chat_sender *ds, const char *method,
    const char *what, const char *url, char *body, size_t len)
{
	struct out *o = calloc(1, sizeof(*o));	/* owned by the queue */

	if (o == NULL || (o->url = strdup(url)) == NULL) {
		free(o);
		free(body);
		return;
	}
	mc_strlcpy(o->method, method, sizeof(o->method));
	mc_strlcpy(o->what, what, sizeof(o->what));
	o->body = body;
	o->len = len;
	o->queued = mc_now();
	pthread_mutex_lock(&ds->mu);
	if (ds->n >= OUTBOX_MAX || ds->stop || !ds->running) {
		pthread_mutex_unlock(&ds->mu);
		mc_warn("chat: %s: %s not sent: %d wait already", ds->name,
		    what, OUTBOX_MAX);
		out_free(o);
		return;
	}
	if (ds->tail != NULL)
		ds->tail->next = o;
	else
		ds->head = o;
	ds->tail = o;
	ds->n++;
	pthread_cond_broadcast(&ds->cv);
	pthread_mutex_unlock(&ds->mu);
}

struct hub_chat_sender *
hub_chat_sender_start(const char *name, double max_age)
{
	/* owned by the caller until hub_chat_sender_stop() */
	struct hub_chat_sender *ds = calloc(1, sizeof(*ds));

	if (ds == NULL)
		return NULL;
	ds->name = name;
	ds->max_age = max_age;
	pthread_mutex_init(&ds->mu, NULL);
	hub_notify_cond_init(&ds->cv);
	ds->send.name = name;
	atomic_store(&ds->send.stopping, 0);
	if (pthread_create(&ds->thread, NULL, sender_main, ds) != 0) {
		hub_chat_sender_stop(ds);
		return NULL;
	}
	ds->running = 1;
	return ds;
}

void
hub_chat_sender_stop(struct hub_chat_sender *ds)
{
	struct out *o;

	if (ds == NULL)
		return;
	pthread_mutex_lock(&ds->mu);
	ds->stop = 1;
	atomic_store(&ds->send.stopping, 1);
	pthread_cond_broadcast(&ds->cv);
	pthread_mutex_unlock(&ds->mu);
	if (ds->running)
		pthread_join(ds->thread, NULL);
	while ((o = ds->head) != NULL) {
		ds->head = o->next;
		out_free(o);
	}
	pthread_cond_destroy(&ds->cv);
	pthread_mutex_destroy(&ds->mu);
	free(ds);
}
