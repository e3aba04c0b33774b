/*
 * swarm_update.c - the simulated agents' answer to listener_update: the
 * release is downloaded from the hub, its size and sha256 are checked,
 * and the agent answers done (or failed with the reason), says bye
 * "restart" and comes back announcing the new version, as a listener
 * that swapped its binary and re-executed would.
 *
 * Rules kept here:
 * - Downloads never run on the swarm's loop.  One worker thread drives
 *   them with libcurl's multi interface, at most --downloads at once
 *   (the rest wait in order), hashing each piece as it arrives, so a
 *   roll to thousands of agents costs the loop one job per command.
 * - Jobs move by ownership: the agent's command slot owns its job until
 *   `started` is written, the worker from sw_update_submit() until the
 *   download ends, then the done list until the loop takes it back at
 *   LWS_CALLBACK_EVENT_WAIT_CANCELLED (lws_cancel_service() is the only
 *   lws call the worker makes).  A job whose slot has moved on (the same
 *   slot now answers another command) is freed there.
 * - TLS as the agents' WebSocket: the certificate pinned with
 *   --fingerprint is checked in OpenSSL's verify callback, before any
 *   byte of the release is read; without a pin nothing is verified
 *   (--insecure).  The URL is the hub's own host and port + the
 *   command's path; the ticket in it is the only credential.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "mc_log.h"
#include "swarm.h"

/* seconds to connect, and the longest a download may crawl below one
 * byte a second before it is given up */
#define UPD_CONNECT_SECS	20
#define UPD_STALL_SECS		60
/* how long the worker sleeps in curl when nothing wakes it, ms */
#define UPD_POLL_MS		1000

struct sw_update_job {
	struct sw_update_job	*next;
	uint32_t		 agent;		/* index in s->agents */
	uint32_t		 slot;		/* its command slot */
	char			 id[MC_ID_MAX];
	char			 url[512 + MC_TEXT_MAX];
	char			 version[MC_VERSION_TEXT_MAX];
	char			 sha256[MC_SHA256_HEX];
	uint64_t		 size;
	double			 timeout;	/* the command's, seconds */
	/* the worker's, while it downloads */
	CURL			*easy;		/* owned */
	EVP_MD_CTX		*md;		/* owned */
	uint64_t		 got;
	char			 cerr[CURL_ERROR_SIZE];
	/* the outcome */
	int			 ok;
	char			 error[MC_TEXT_MAX];
};

struct sw_update {
	pthread_t		 thread;
	int			 running;	/* the thread was started */
	pthread_mutex_t		 mu;		/* guards what follows */
	struct sw_update_job	*todo, **todo_tail;	/* owned, FIFO */
	struct sw_update_job	*done;		/* owned, any order */
	int			 stop;
	/* the worker's alone */
	CURLM			*multi;		/* owned */
	struct sw_update_job	*flying;	/* owned: in curl now */
	int			 inflight;
	int			 max;		/* --downloads */
	struct lws_context	*ctx;		/* not owned: to wake the loop */
	char			 base[512];	/* https://HOST:PORT */
	char			 pin[MC_SHA256_HEX];	/* "" unless pinned */
	int			 tls;
};

void
sw_update_job_free(struct sw_update_job *j)
{
	if (j == NULL)
		return;
	if (j->easy != NULL)
		curl_easy_cleanup(j->easy);
	EVP_MD_CTX_free(j->md);
	free(j);
}

/* ---- the worker ---- */

/* OpenSSL's verdict on each certificate of the chain: only the hub's
 * own (depth 0) matters, and only its fingerprint. */
static int
pin_verify(int preverify, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	const char *pin = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	X509 *x = X509_STORE_CTX_get_current_cert(xs);
	unsigned char *der = NULL;
	char got[MC_SHA256_HEX];
	int n;

	(void)preverify;
	if (X509_STORE_CTX_get_error_depth(xs) > 0)
		return 1;
	if (x == NULL || (n = i2d_X509(x, &der)) <= 0)
		return 0;
	mc_sha256_hex(der, (size_t)n, got);
	OPENSSL_free(der);
	return mc_secret_eq(got, pin);
}

static CURLcode
pin_setup(CURL *easy, void *sslctx, void *arg)
{
	(void)easy;
	SSL_CTX_set_app_data((SSL_CTX *)sslctx, arg);
	SSL_CTX_set_verify((SSL_CTX *)sslctx, SSL_VERIFY_PEER, pin_verify);
	return CURLE_OK;
}

/* A piece of the release: count it, hash it, refuse more than size. */
static size_t
on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct sw_update_job *j = arg;

	if (j->got + n > j->size) {
		snprintf(j->error, sizeof(j->error), "the download is larger "
		    "than the release's %llu bytes", (unsigned long long)j->size);
		return 0;
	}
	j->got += n;
	EVP_DigestUpdate(j->md, p, n);
	return sz * n;
}

/* Start j's transfer.  0, or -1 with j->error set (j is then done). */
static int
job_begin(struct sw_update *u, struct sw_update_job *j)
{
	CURL *e;

	if ((j->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(j->md, EVP_sha256(), NULL) != 1 ||
	    (j->easy = e = curl_easy_init()) == NULL) {
		snprintf(j->error, sizeof(j->error), "out of memory");
		return -1;
	}
	curl_easy_setopt(e, CURLOPT_URL, j->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->cerr);
	curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)UPD_CONNECT_SECS);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)UPD_STALL_SECS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(j->timeout * 1000));
	if (u->tls) {
		/* curl's chain and name checks give way to the pin (or to
		 * nothing, as --insecure says) */
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
		if (u->pin[0] != '\0') {
			curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION,
			    pin_setup);
			curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA,
			    (void *)u->pin);
		}
	}
	if (curl_multi_add_handle(u->multi, e) != CURLM_OK) {
		snprintf(j->error, sizeof(j->error), "cannot start the "
		    "download");
		return -1;
	}
	return 0;
}

/* The transfer ended with res: the verdict in j->ok / j->error. */
static void
job_judge(struct sw_update_job *j, CURLcode res)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[MC_SHA256_HEX];
	unsigned int mdlen = 0, i;

	if (res != CURLE_OK) {
		if (j->error[0] == '\0')
			snprintf(j->error, sizeof(j->error), "download of "
			    "the release failed: %.200s", j->cerr[0] ? j->cerr :
			    curl_easy_strerror(res));
		return;
	}
	if (j->got != j->size) {
		snprintf(j->error, sizeof(j->error), "download cut short: "
		    "%llu of %llu bytes", (unsigned long long)j->got,
		    (unsigned long long)j->size);
		return;
	}
	EVP_DigestFinal_ex(j->md, md, &mdlen);
	for (i = 0; i < mdlen && i * 2 + 2 < sizeof(hex); i++)
		snprintf(hex + i * 2, 3, "%02x", md[i]);
	if (strcmp(hex, j->sha256) != 0) {
		snprintf(j->error, sizeof(j->error), "sha256 %s is not the "
		    "release's %s", hex, j->sha256);
		return;
	}
	j->ok = 1;
}

/* Hand j back to the loop and wake it. */
static void
job_done(struct sw_update *u, struct sw_update_job *j)
{
	if (j->easy != NULL) {
		curl_multi_remove_handle(u->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	EVP_MD_CTX_free(j->md);
	j->md = NULL;
	pthread_mutex_lock(&u->mu);
	j->next = u->done;
	u->done = j;
	pthread_mutex_unlock(&u->mu);
	lws_cancel_service(u->ctx);
}

/* Move waiting jobs into curl while fewer than max are in flight. */
static void
take_todo(struct sw_update *u)
{
	struct sw_update_job *j;

	for (;;) {
		pthread_mutex_lock(&u->mu);
		j = u->inflight < u->max ? u->todo : NULL;
		if (j != NULL) {
			u->todo = j->next;
			if (u->todo == NULL)
				u->todo_tail = &u->todo;
		}
		pthread_mutex_unlock(&u->mu);
		if (j == NULL)
			return;
		j->next = NULL;
		if (job_begin(u, j) == -1) {
			job_done(u, j);
			continue;
		}
		j->next = u->flying;
		u->flying = j;
		u->inflight++;
	}
}

static void
unfly(struct sw_update *u, struct sw_update_job *j)
{
	struct sw_update_job **pp;

	for (pp = &u->flying; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			j->next = NULL;
			u->inflight--;
			return;
		}
	}
}

static void
reap(struct sw_update *u)
{
	struct sw_update_job *j;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(u->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		j = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &j);
		job_judge(j, m->data.result);
		unfly(u, j);
		job_done(u, j);
	}
}

static int
stopping(struct sw_update *u)
{
	int stop;

	pthread_mutex_lock(&u->mu);
	stop = u->stop;
	pthread_mutex_unlock(&u->mu);
	return stop;
}

static void *
worker(void *arg)
{
	struct sw_update *u = arg;
	int still;

	while (!stopping(u)) {
		take_todo(u);
		curl_multi_perform(u->multi, &still);
		reap(u);
		curl_multi_poll(u->multi, NULL, 0, UPD_POLL_MS, NULL);
	}
	return NULL;
}

/* ---- the loop's side ---- */

static void
base_url(struct sw *s, struct sw_update *u)
{
	const char *scheme = s->url.tls ? "https" : "http";

	if (strchr(s->url.host, ':') != NULL)
		snprintf(u->base, sizeof(u->base), "%s://[%s]:%d", scheme,
		    s->url.host, s->url.port);
	else
		snprintf(u->base, sizeof(u->base), "%s://%s:%d", scheme,
		    s->url.host, s->url.port);
}

int
sw_update_init(struct sw *s)
{
	struct sw_update *u;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (u = calloc(1, sizeof(*u))) == NULL)
		return -1;
	pthread_mutex_init(&u->mu, NULL);
	u->todo_tail = &u->todo;
	u->max = s->conf.downloads;
	u->ctx = s->ctx;
	u->tls = s->url.tls;
	mc_strlcpy(u->pin, s->fp, sizeof(u->pin));
	base_url(s, u);
	s->upd = u;
	if ((u->multi = curl_multi_init()) == NULL ||
	    pthread_create(&u->thread, NULL, worker, u) != 0)
		return -1;
	u->running = 1;
	return 0;
}

struct sw_update_job *
sw_update_job_new(struct sw *s, struct sw_agent *a, int slot,
    const struct mc_cmd *c)
{
	struct sw_update_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->agent = (uint32_t)(a - s->agents);
	j->slot = (uint32_t)slot;
	mc_strlcpy(j->id, c->id, sizeof(j->id));
	snprintf(j->url, sizeof(j->url), "%s%s", s->upd->base, c->rel.path);
	mc_strlcpy(j->version, c->rel.version, sizeof(j->version));
	mc_strlcpy(j->sha256, c->rel.sha256, sizeof(j->sha256));
	j->size = c->rel.size;
	j->timeout = c->timeout > 0 ? c->timeout : MC_TIMEOUT_DEFAULT;
	if (c->rel.path[0] != '/' || j->size == 0 ||
	    j->size > MC_RELEASE_MAX || strlen(j->sha256) != 64)
		snprintf(j->error, sizeof(j->error), "the command's release "
		    "is incomplete (path, size or sha256)");
	return j;
}

void
sw_update_submit(struct sw *s, struct sw_update_job *j)
{
	struct sw_update *u = s->upd;

	/* refused by sw_update_job_new: straight back, failed */
	if (j->error[0] != '\0') {
		pthread_mutex_lock(&u->mu);
		j->next = u->done;
		u->done = j;
		pthread_mutex_unlock(&u->mu);
		lws_cancel_service(u->ctx);
		return;
	}
	pthread_mutex_lock(&u->mu);
	*u->todo_tail = j;
	u->todo_tail = &j->next;
	pthread_mutex_unlock(&u->mu);
	curl_multi_wakeup(u->multi);
}

/* A finished download back on the loop: to its slot, if that still
 * waits for it. */
static void
job_return(struct sw *s, struct sw_update_job *j)
{
	struct sw_agent *a;
	struct sw_cmd *c;

	if (j->agent >= (uint32_t)s->n || j->slot >= SW_CMD_SLOTS) {
		sw_update_job_free(j);
		return;
	}
	a = &s->agents[j->agent];
	c = &a->cmds[j->slot];
	if (c->phase != SW_CMD_WAIT || c->job != NULL ||
	    strcmp(c->id, j->id) != 0) {
		sw_update_job_free(j);
		return;
	}
	if (j->ok)
		s->st.downloads++;
	else
		sw_error(s, "agent %u: listener_update %s failed: %s",
		    (unsigned)a->index, j->id, j->error);
	c->job = j;
	c->phase = SW_CMD_RESULT;
	sw_ws_wake(a);
}

int
sw_update_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct sw_update_job *j, *next;
	struct sw_update *u;
	struct sw *s;

	(void)user;
	(void)in;
	(void)len;
	if (reason != LWS_CALLBACK_EVENT_WAIT_CANCELLED)
		return 0;
	s = lws_context_user(lws_get_context(wsi));
	if (s == NULL || (u = s->upd) == NULL)
		return 0;
	pthread_mutex_lock(&u->mu);
	j = u->done;
	u->done = NULL;
	pthread_mutex_unlock(&u->mu);
	for (; j != NULL; j = next) {
		next = j->next;
		j->next = NULL;
		job_return(s, j);
	}
	return 0;
}

void
sw_update_result(const struct sw_update_job *j, struct mc_result *r)
{
	r->outcome = j->ok ? MC_DONE : MC_FAILED;
	r->exit_code = j->ok ? 0 : -1;
	if (!j->ok)
		mc_strlcpy(r->error, j->error, sizeof(r->error));
}

const char *
sw_update_version(const struct sw_update_job *j)
{
	return j->ok ? j->version : NULL;
}

static void
list_free(struct sw_update_job *j)
{
	struct sw_update_job *next;

	for (; j != NULL; j = next) {
		next = j->next;
		sw_update_job_free(j);
	}
}

void
sw_update_free(struct sw *s)
{
	struct sw_update *u = s->upd;
	struct sw_update_job *j;

	if (u == NULL)
		return;
	if (u->running) {
		pthread_mutex_lock(&u->mu);
		u->stop = 1;
		pthread_mutex_unlock(&u->mu);
		curl_multi_wakeup(u->multi);
		pthread_join(u->thread, NULL);
	}
	/* transfers still in curl leave it before their handles go */
	while ((j = u->flying) != NULL) {
		u->flying = j->next;
		curl_multi_remove_handle(u->multi, j->easy);
		sw_update_job_free(j);
	}
	if (u->multi != NULL)
		curl_multi_cleanup(u->multi);
	list_free(u->todo);
	list_free(u->done);
	pthread_mutex_destroy(&u->mu);
	free(u);
	s->upd = NULL;
	curl_global_cleanup();
}
