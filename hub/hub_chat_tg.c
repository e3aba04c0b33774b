/*
 * hub_chat_tg.c - the Telegram bot's two threads, off the service thread:
 * the poller (getUpdates, long polling) and the sender (sendMessage,
 * editMessageText, answerCallbackQuery).
 *
 * The poller holds one getUpdates open for up to POLL_WAIT seconds; the
 * Bot API answers as soon as an update comes.  Each update is read here
 * into a bounded struct hub_chat_in and handed whole to the service
 * thread (a list under tg.mu and a hub_ws_wake()); the service thread
 * never sees JSON from Telegram nor waits for it.  Rules kept:
 *  - the offset always advances past every update read, also one that is
 *    skipped (not JSON as expected, a field missing, a text over
 *    HUB_CHAT_TEXT_MAX, older than CHAT_STALE): nothing is read twice and
 *    nothing is read forever.  Skipped ones are logged with a count;
 *  - an answer is at most RESP_MAX bytes.  One past it is asked again one
 *    update at a time, and a single update past it is skipped by the
 *    update_id read from the part that came;
 *  - a 429 waits the retry_after it names; network errors, timeouts, 5xx
 *    and other refusals wait 1, 2, 4 ... POLL_BACKOFF_MAX seconds;
 *  - the inbox is bounded: the poller waits for room before reading more
 *    (Telegram keeps what it has not been asked for).
 * The sender is hub_chat_send.c's (one call at a time from a bounded
 * queue, with the alert channels' rules for an answer).
 * In a cluster (a bus) every hub has the bot, but Telegram hands each
 * update to one getUpdates and answers a second one at the same time
 * with 409: only the hub holding the bus's lease polls
 * (hub_chat_tg_lead()); the others wait, and take over within a lease
 * when it dies.  Without a bus the hub polls.  Stopping aborts
 * the transfer in flight (libcurl's progress callback).  The base URL
 * holds the bot token: it goes to libcurl only, never to a log.
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

#define POLL_WAIT	25	/* seconds getUpdates waits for an update */
#define POLL_LIMIT	20	/* updates asked for at once */
#define POLL_BACKOFF_MAX 60.0	/* seconds */
#define RETRY_AFTER_MAX	300.0	/* a longer 429 waits this long */
#define RESP_MAX	(1024 * 1024)	/* bytes of one getUpdates answer */
#define INBOX_MAX	256	/* updates read, not yet handed over */
#define SEND_AGE_MAX	3600.0	/* seconds an answer may wait to be sent */
#define CHAT_STALE	600	/* seconds: an older message is not acted on */
#define ID_MAX		((int64_t)1 << 53)	/* exact in a JSON number */

static struct {
	char		 base[2048];	/* secret: ".../botTOKEN/" */
	pthread_t	 poller;
	int		 npoll;		/* started */
	struct hub_chat_sender *out;	/* owned: the answers' sender */
	pthread_mutex_t	 mu;		/* guards what follows */
	pthread_cond_t	 cv;		/* on CLOCK_MONOTONIC */
	int		 stop;
	struct hub_chat_in *in_head, *in_tail;	/* owned */
	int		 nin;
	atomic_int	 stopping;	/* the poll's progress callback */
	atomic_int	 lead;		/* this hub polls */
	uint64_t	 skipped;	/* poller: updates skipped */
} tg = { .mu = PTHREAD_MUTEX_INITIALIZER, .lead = 1 };

void
hub_chat_in_free(struct hub_chat_in *in)
{
	if (in == NULL)
		return;
	free(in->orig);
	free(in);
}

/* ---- reading one update (the poller) ---- */

/* from{id, username}: 0, or -1 without an id. */
static int
read_from(const struct mc_json *from, struct hub_chat_in *in)
{
	const char *u = mc_json_str(from, "username");

	if (mc_json_int(from, "id", -ID_MAX, ID_MAX, &in->user_id) == -1)
		return -1;
	if (u != NULL && strlen(u) < sizeof(in->username) &&
	    strlen(u) == strspn(u, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	    "opqrstuvwxyz0123456789_"))
		mc_strlcpy(in->username, u, sizeof(in->username));
	return 0;
}

/* A message's chat and id: 0, or -1 when one is missing. */
static int
read_chat(const struct mc_json *msg, struct hub_chat_in *in)
{
	const struct mc_json *chat = mc_json_get(msg, "chat");
	const char *type = mc_json_str(chat, "type");

	if (chat == NULL || mc_json_int(chat, "id", -ID_MAX, ID_MAX,
	    &in->chat_id) == -1 || mc_json_int(msg, "message_id", 0, ID_MAX,
	    &in->message_id) == -1)
		return -1;
	in->chat_private = type != NULL && strcmp(type, "private") == 0;
	return 0;
}

/* A string of at most max - 1 bytes without NUL into out: 0, or -1. */
static int
read_text(const struct mc_json *o, const char *key, char *out, size_t max)
{
	const struct mc_json *t = mc_json_get(o, key);

	if (t == NULL || t->type != MC_JSTR || t->len >= max ||
	    strlen(t->str) != t->len)
		return -1;
	memcpy(out, t->str, t->len + 1);
	return 0;
}

/* A message (a command): 1 read, 0 not for us (no text, stale), -1
 * malformed (why says what). */
static int
read_message(const struct mc_json *m, struct hub_chat_in *in,
    const char **why)
{
	int64_t date;

	in->kind = CHAT_MESSAGE;
	*why = "a message without from.id, chat.id or message_id";
	if (read_from(mc_json_get(m, "from"), in) == -1 ||
	    read_chat(m, in) == -1)
		return -1;
	if (mc_json_get(m, "text") == NULL)
		return 0;	/* a photo, a member joining: nothing to do */
	*why = "a text that is not a string of less than 1024 bytes";
	if (read_text(m, "text", in->text, sizeof(in->text)) == -1)
		return -1;
	if (mc_json_int(m, "date", 0, ID_MAX, &date) == 0 &&
	    mc_wall() - (double)date > CHAT_STALE) {
		mc_info("chat: a message of %.0f s ago is not acted on (sent "
		    "while the hub was away)", mc_wall() - (double)date);
		return 0;
	}
	return 1;
}

/* A button press: 1 read, -1 malformed. */
static int
read_callback(const struct mc_json *cb, struct hub_chat_in *in,
    const char **why)
{
	const struct mc_json *msg = mc_json_get(cb, "message");
	const char *orig = mc_json_str(msg, "text");
	size_t n;

	in->kind = CHAT_CALLBACK;
	*why = "a callback_query without id, from.id, data or message";
	if (read_text(cb, "id", in->callback_id, sizeof(in->callback_id)) ==
	    -1 || read_from(mc_json_get(cb, "from"), in) == -1 ||
	    read_text(cb, "data", in->text, 65) == -1 || msg == NULL ||
	    read_chat(msg, in) == -1)
		return -1;
	if (orig != NULL) {
		n = strnlen(orig, HUB_CHAT_ORIG_MAX);
		if (n == HUB_CHAT_ORIG_MAX)	/* cut at a character's start */
			while (n > 0 && ((unsigned char)orig[n] & 0xc0) == 0x80)
				n--;
		if ((in->orig = malloc(n + 1)) != NULL) {
			memcpy(in->orig, orig, n);
			in->orig[n] = '\0';
		}
	}
	return 1;
}

static void
skipped(int64_t id, const char *why)
{
	tg.skipped++;
	mc_warn("chat: update %lld skipped: %s (%llu skipped since the start)",
	    (long long)id, why, (unsigned long long)tg.skipped);
}

/* Queue in (taken) for the service thread, waiting for room: 0, or -1
 * when the hub stops (in freed). */
static int
inbox_put(struct hub_chat_in *in)
{
	pthread_mutex_lock(&tg.mu);
	while (tg.nin >= INBOX_MAX && !tg.stop)
		pthread_cond_wait(&tg.cv, &tg.mu);
	if (tg.stop) {
		pthread_mutex_unlock(&tg.mu);
		hub_chat_in_free(in);
		return -1;
	}
	in->got = mc_now();
	if (tg.in_tail != NULL)
		tg.in_tail->next = in;
	else
		tg.in_head = in;
	tg.in_tail = in;
	tg.nin++;
	pthread_mutex_unlock(&tg.mu);
	hub_ws_wake();
	return 0;
}

/* One element of "result": the offset moves past its update_id. */
static void
update_one(const struct mc_json *u, int64_t *offset)
{
	const struct mc_json *m = mc_json_get(u, "message");
	const struct mc_json *cb = mc_json_get(u, "callback_query");
	struct hub_chat_in *in;
	const char *why = "neither a message nor a callback_query";
	int64_t id;
	int r = -1;

	if (mc_json_int(u, "update_id", 0, ID_MAX, &id) == -1) {
		skipped(-1, "no update_id");
		return;
	}
	if (id >= *offset)
		*offset = id + 1;
	if ((in = calloc(1, sizeof(*in))) == NULL) {
		skipped(id, "out of memory");
		return;
	}
	in->update_id = id;
	if (m != NULL && m->type == MC_JOBJ)
		r = read_message(m, in, &why);
	else if (cb != NULL && cb->type == MC_JOBJ)
		r = read_callback(cb, in, &why);
	if (r == 1) {
		inbox_put(in);
		return;
	}
	if (r == -1)
		skipped(id, why);
	hub_chat_in_free(in);
}

/* ---- the poller ---- */

/* An answer past RESP_MAX: the first update_id in the part read, or -1. */
static int64_t
first_update_id(const struct mc_buf *b)
{
	const char *p = b->data ? strstr(b->data, "\"update_id\"") : NULL;
	int64_t id = 0;

	if (p == NULL)
		return -1;
	p += 11;
	p += strspn(p, " \t\r\n:");
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9' && id < ID_MAX; p++)
		id = id * 10 + (*p - '0');
	return id;
}

/* A 200 answer: 0 when its updates were read, -1 when it was not a list
 * of updates (nothing can be told of them). */
static int
poll_answer(const struct hub_notify_answer *a, int64_t *offset)
{
	const struct mc_json *root, *res, *u;
	struct mc_jdoc *d;
	char err[128];
	int ok = 0;

	if ((d = mc_json_parse(a->body.data, a->body.len, err,
	    sizeof(err))) == NULL) {
		mc_warn("chat: getUpdates answered something that is not JSON "
		    "(%s)", err);
		return -1;
	}
	root = mc_json_root(d);
	res = mc_json_get(root, "result");
	if (mc_json_bool(root, "ok", &ok) == -1 || !ok || res == NULL ||
	    res->type != MC_JARR) {
		mc_warn("chat: getUpdates answered without ok and a result "
		    "list");
		mc_json_free(d);
		return -1;
	}
	for (u = res->child; u != NULL; u = u->next) {
		if (u->type == MC_JOBJ)
			update_one(u, offset);
		else
			skipped(-1, "not an object");
	}
	mc_json_free(d);
	return 0;
}

/* One getUpdates; the answer in a (the caller frees its body). */
static void
poll_once(CURL *h, int64_t offset, int limit, struct hub_notify_answer *a)
{
	char url[sizeof(tg.base) + 16], body[192];
	int n;

	snprintf(url, sizeof(url), "%sgetUpdates", tg.base);
	n = snprintf(body, sizeof(body), "{\"offset\":%lld,\"timeout\":%d,"
	    "\"limit\":%d,\"allowed_updates\":[\"message\","
	    "\"callback_query\"]}", (long long)offset, POLL_WAIT, limit);
	memset(a, 0, sizeof(*a));
	a->retry_after = -1;
	mc_buf_init(&a->body, RESP_MAX);
	hub_notify_post(h, url, body, (size_t)n, POLL_WAIT + 10, &tg.stopping,
	    a);
}

/* What to wait after an answer, in seconds (0: poll again now); *fails
 * counts the failures in a row, *limit the updates to ask for. */
static double
poll_judge(struct hub_notify_answer *a, int64_t *offset, int *limit,
    int *fails)
{
	char desc[128];
	double ra = hub_notify_answer_parse(a, desc, sizeof(desc));
	int64_t id;

	if (a->rc == CURLE_OK && a->status == 200 && a->over && *limit > 1) {
		*limit = 1;	/* ask again, one at a time */
		return 0;
	}
	if (a->rc == CURLE_OK && a->status == 200 && a->over) {
		id = first_update_id(&a->body);
		skipped(id, "an update over 1 MiB");
		if (id >= *offset)
			*offset = id + 1;
		return id >= 0 ? 0 : hub_notify_backoff(++*fails);
	}
	if (a->rc == CURLE_OK && a->status == 200 &&
	    poll_answer(a, offset) == 0) {
		*fails = 0;
		*limit = POLL_LIMIT;
		return 0;
	}
	if (a->rc == CURLE_OK && a->status == 429) {
		/* the service says how long: not a failure to back off from */
		ra = ra < 0 ? a->retry_after : ra;
		ra = ra < 0 ? hub_notify_backoff(*fails + 1) : ra;
		mc_warn("chat: getUpdates rate limited: waiting %gs", ra);
		return ra < RETRY_AFTER_MAX ? ra : RETRY_AFTER_MAX;
	}
	++*fails;
	if (*fails == 1 || *fails % 10 == 0)
		mc_warn("chat: getUpdates failed (%s%s%s; %d in a row)",
		    a->rc != CURLE_OK ? curl_easy_strerror(a->rc) : "HTTP",
		    desc[0] ? ": " : "", desc, *fails);
	ra = hub_notify_backoff(*fails);
	return ra < POLL_BACKOFF_MAX ? ra : POLL_BACKOFF_MAX;
}

static void *
poller_main(void *arg)
{
	struct hub_notify_answer a;
	int64_t offset = 0;
	int limit = POLL_LIMIT, fails = 0;
	double wait;
	CURL *h = curl_easy_init();

	(void)arg;
	if (h == NULL) {
		mc_err("chat: cannot set up libcurl; Telegram commands are off");
		return NULL;
	}
	while (!atomic_load(&tg.stopping)) {
		if (!atomic_load(&tg.lead)) {
			if (hub_notify_sleep(&tg.mu, &tg.cv, &tg.stop,
			    1.0) == -1)
				break;
			continue;
		}
		poll_once(h, offset, limit, &a);
		wait = a.rc == CURLE_ABORTED_BY_CALLBACK ? 0 :
		    poll_judge(&a, &offset, &limit, &fails);
		mc_buf_free(&a.body);
		if (wait > 0 && hub_notify_sleep(&tg.mu, &tg.cv, &tg.stop,
		    wait) == -1)
			break;
	}
	curl_easy_cleanup(h);
	return NULL;
}

void
hub_chat_tg_lead(int lead)
{
	if (atomic_exchange(&tg.lead, lead) == lead)
		return;
	mc_info("chat: %s", lead ? "this hub polls Telegram now (it holds "
	    "the cluster's lease)" : "another hub of the cluster polls "
	    "Telegram");
	pthread_mutex_lock(&tg.mu);
	pthread_cond_broadcast(&tg.cv);
	pthread_mutex_unlock(&tg.mu);
}

/* ---- answers: through the sender ---- */

void
hub_chat_tg_call(const char *method, char *body, size_t len)
{
	char url[sizeof(tg.base) + 32];

	if (tg.out == NULL) {
		free(body);
		return;
	}
	snprintf(url, sizeof(url), "%s%s", tg.base, method);
	hub_chat_sender_put(tg.out, "POST", method, url, body, len);
	explicit_bzero(url, sizeof(url));
}

struct hub_chat_in *
hub_chat_tg_take(void)
{
	struct hub_chat_in *list;

	pthread_mutex_lock(&tg.mu);
	list = tg.in_head;
	tg.in_head = tg.in_tail = NULL;
	tg.nin = 0;
	pthread_cond_broadcast(&tg.cv);	/* the poller may wait for room */
	pthread_mutex_unlock(&tg.mu);
	return list;
}

/* ---- start and stop ---- */

int
hub_chat_tg_start(const char *base)
{
	/* room for the longest method name after it */
	if (strlen(base) + 32 >= sizeof(tg.base) ||
	    mc_strlcpy(tg.base, base, sizeof(tg.base)) == -1)
		return -1;
	hub_notify_cond_init(&tg.cv);
	tg.stop = 0;
	atomic_store(&tg.stopping, 0);
	/* in a cluster, not before the bus says this hub holds the lease */
	atomic_store(&tg.lead, hub.conf.bus[0] == '\0');
	if ((tg.out = hub_chat_sender_start("telegram bot",
	    SEND_AGE_MAX)) == NULL)
		return -1;
	if (pthread_create(&tg.poller, NULL, poller_main, NULL) != 0)
		return -1;
	tg.npoll = 1;
	return 0;
}

void
hub_chat_tg_stop(void)
{
	struct hub_chat_in *in;

	pthread_mutex_lock(&tg.mu);
	tg.stop = 1;
	atomic_store(&tg.stopping, 1);
	pthread_cond_broadcast(&tg.cv);
	pthread_mutex_unlock(&tg.mu);
	if (tg.npoll)
		pthread_join(tg.poller, NULL);
	tg.npoll = 0;
	hub_chat_sender_stop(tg.out);
	tg.out = NULL;
	while ((in = tg.in_head) != NULL) {
		tg.in_head = in->next;
		hub_chat_in_free(in);
	}
	tg.in_tail = NULL;
	tg.nin = 0;
	explicit_bzero(tg.base, sizeof(tg.base));
}
