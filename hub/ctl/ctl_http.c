/*
 * ctl_http.c - hubctl's requests to the hub's REST API, over libcurl.
 *
 * One easy handle per request, which is plenty for a command line, and
 * the multi interface for a fan-out that follows many command streams at
 * once (ctl_http_multi: a bounded number open, the next started as one
 * ends).  The rules kept here: the token goes only into the Authorization
 * header and is never printed; redirects are not followed (the token
 * would follow them); only http and https are spoken; every buffered
 * response is bounded (CTL_RESPONSE_MAX or less, CTL_LINE_MAX);
 * connecting gives up after CTL_CONNECT_TIMEOUT and a plain request after
 * CTL_REQUEST_TIMEOUT, but a command stream has no time limit (commands
 * may run for days) and relies on TCP keepalive to notice a dead hub; a
 * 429 (the token's rate) is asked again after its Retry-After.  Transport
 * and authentication failures map to exit status 3 here, in one place.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ctl.h"
#include "mc_proto.h"
#include "mc_util.h"

struct xfer {
	CURL		*h;
	struct curl_slist *hdrs;
	struct ctl_resp	*r;
	ctl_line_fn	 fn;		/* NULL: buffer the whole body */
	void		*arg;
	struct mc_buf	 line;		/* a partial stream line */
	int		 stopped;	/* fn asked to stop */
	int		 overflow;	/* a limit was hit */
	int		 lost;		/* the hub was out of reach */
	char		 errbuf[CURL_ERROR_SIZE];
	double		 started;	/* ctl_http_multi: when it started */
};

int
ctl_http_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
ctl_http_cleanup(void)
{
	curl_global_cleanup();
}

void
ctl_resp_init(struct ctl_resp *r)
{
	r->status = 0;
	mc_buf_init(&r->body, CTL_RESPONSE_MAX);
	r->doc = NULL;
}

void
ctl_resp_free(struct ctl_resp *r)
{
	mc_buf_free(&r->body);
	mc_json_free(r->doc);
	r->doc = NULL;
}

int
ctl_http_2xx(long status)
{
	return status >= 200 && status < 300;
}

/* Hand every complete line in the buffer to fn. */
static int
feed_lines(struct xfer *x, const char *p, size_t n)
{
	size_t off = 0, len;
	char *nl;

	if (mc_buf_append(&x->line, p, n) == -1) {
		x->overflow = 1;
		return -1;
	}
	for (;;) {
		nl = memchr(x->line.data + off, '\n', x->line.len - off);
		if (nl == NULL)
			break;
		len = (size_t)(nl - (x->line.data + off));
		*nl = '\0';
		if (x->fn(x->arg, x->line.data + off, len) == -1) {
			x->stopped = 1;
			return -1;
		}
		off += len + 1;
	}
	mc_buf_consume(&x->line, off);
	if (x->line.len > CTL_LINE_MAX) {
		x->overflow = 1;
		return -1;
	}
	return 0;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	long status = 0;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (x->fn != NULL && ctl_http_2xx(status))
		return feed_lines(x, p, n) == 0 ? n : 0;
	if (mc_buf_append(&x->r->body, p, n) == -1) {
		x->overflow = 1;
		return 0;
	}
	return n;
}

static CURLcode
on_ssl_ctx(CURL *h, void *ssl_ctx, void *pin)
{
	(void)h;
	return ctl_pin_install(ssl_ctx, pin) == 0 ? CURLE_OK :
	    CURLE_ABORTED_BY_CALLBACK;
}

int
ctl_http_tls(const struct ctl *c, void *curl)
{
	CURL *h = curl;

	if (!c->tls)
		return 0;
	if (c->o.insecure || c->pinned) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->o.insecure)
		return 0;
	if (c->pinned) {
		/* a resumed session would skip the certificate */
		curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
		if (curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION,
		    on_ssl_ctx) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA,
		    (void *)c->pin) != CURLE_OK)
			return -1;
		return 0;
	}
	if (c->o.ca[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, c->o.ca);
	return 0;
}

static struct curl_slist *
make_headers(const struct ctl *c, int has_body)
{
	struct curl_slist *l = NULL, *n;
	char auth[CTL_TOKEN_MAX + 32];
	volatile char *v = auth;
	size_t i;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->o.token);
	n = curl_slist_append(l, auth);
	for (i = 0; i < sizeof(auth); i++)
		v[i] = 0;
	if (n == NULL)
		return NULL;
	l = n;
	l = curl_slist_append(l, "Accept: application/json");
	if (l != NULL && has_body)
		l = curl_slist_append(l, c->ctype != NULL ? c->ctype :
		    "Content-Type: application/json");
	if (l != NULL)
		l = curl_slist_append(l, "Expect:");
	if (l == NULL)
		curl_slist_free_all(n);
	return l;
}

static void
setup_method(CURL *h, const char *method, const struct mc_buf *body)
{
	if (strcmp(method, "GET") == 0)
		return;
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
		    body != NULL && body->data != NULL ? body->data : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
		    body != NULL ? (long)body->len : 0L);
		return;
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
}

static void
setup_common(CURL *h, const char *url, struct xfer *x, char *errbuf,
    long timeout)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)CTL_CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 15L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "hubctl/" MC_VERSION);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
}

/* Why the transfer failed, into why (without "hubctl: "); returns the
 * exit status. */
static int
transport_why(const struct ctl *c, struct xfer *x, CURLcode rc,
    char *why, size_t whylen)
{
	const char *e = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
	char seen[CTL_FP_TEXT_MAX];

	if (x->overflow && x->fn != NULL && ctl_http_2xx(x->r->status)) {
		snprintf(why, whylen, "a line of the hub's stream is over "
		    "hubctl's limit of %d MiB", CTL_LINE_MAX >> 20);
		return CTL_EXIT_FAIL;
	}
	if (x->overflow) {
		snprintf(why, whylen, "the hub's answer is over hubctl's limit "
		    "of %zu MiB", x->r->body.limit >> 20);
		return CTL_EXIT_FAIL;
	}
	if (ctl_pin_mismatch(seen, sizeof(seen))) {
		snprintf(why, whylen, "the hub at %s presented certificate "
		    "%s, which is not the --fingerprint given; the token was "
		    "not sent", c->base, seen);
		return CTL_EXIT_HUB;
	}
	if (rc == CURLE_PEER_FAILED_VERIFICATION) {
		snprintf(why, whylen, "cannot verify the certificate of the "
		    "hub at %s: %s; pass --fingerprint sha256:HEX (maestro-hub "
		    "prints it) or --ca FILE", c->base, e);
		return CTL_EXIT_HUB;
	}
	/* the two a hub restart looks like: worth waiting for */
	x->lost = 1;
	if (x->r->status != 0) {
		snprintf(why, whylen, "the connection to the hub at %s broke: "
		    "%s", c->base, e);
		return CTL_EXIT_HUB;
	}
	snprintf(why, whylen, "cannot reach hub at %s: %s; is maestro-hub "
	    "running? (--hub, MAESTRO_HUB)", c->base, e);
	return CTL_EXIT_HUB;
}

static void
finish_resp(CURL *h, struct ctl_resp *r)
{
	char err[128];

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body.len > 0)
		r->doc = mc_json_parse(r->body.data, r->body.len, err,
		    sizeof(err));
}

/* Release what xfer_open() made; x may be half made. */
static void
xfer_close(struct xfer *x)
{
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	if (x->h != NULL)
		curl_easy_cleanup(x->h);
	x->h = NULL;
	mc_buf_free(&x->line);
}

/*
 * Make the easy handle for one request (x->r, x->fn and x->arg set).
 * Returns 0, or an exit status with the reason in why (x is closed).
 */
static int
xfer_open(struct ctl *c, struct xfer *x, const char *method,
    const char *path, const struct mc_buf *body, long timeout, char *why,
    size_t whylen)
{
	char url[CTL_URL_MAX * 2];

	x->errbuf[0] = '\0';
	x->lost = 0;
	mc_buf_init(&x->line, CTL_LINE_MAX + CURL_MAX_WRITE_SIZE);
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->base, path) >=
	    sizeof(url)) {
		snprintf(why, whylen, "request URL too long");
		return CTL_EXIT_USAGE;
	}
	x->h = curl_easy_init();
	x->hdrs = make_headers(c, body != NULL);
	if (x->h == NULL || x->hdrs == NULL) {
		snprintf(why, whylen, "out of memory");
		xfer_close(x);
		return CTL_EXIT_FAIL;
	}
	setup_common(x->h, url, x, x->errbuf, timeout);
	setup_method(x->h, method, body);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, (void *)x);
	if (ctl_http_tls(c, x->h) == -1) {
		snprintf(why, whylen, "this libcurl cannot pin a certificate "
		    "(it needs the OpenSSL backend); use --ca FILE");
		xfer_close(x);
		return CTL_EXIT_HUB;
	}
	return 0;
}

/* The transfer ended with rc: its exit status, why when not 0 (empty
 * when the line callback stopped it and said why itself). */
static int
xfer_end(const struct ctl *c, struct xfer *x, CURLcode rc, char *why,
    size_t whylen)
{
	why[0] = '\0';
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->r->status);
	if (x->stopped)
		return CTL_EXIT_FAIL;
	if (rc != CURLE_OK)
		return transport_why(c, x, rc, why, whylen);
	/* a last stream line without its newline */
	if (x->fn != NULL && ctl_http_2xx(x->r->status) && x->line.len > 0 &&
	    x->fn(x->arg, x->line.data, x->line.len) == -1)
		return CTL_EXIT_FAIL;
	finish_resp(x->h, x->r);
	return 0;
}

/* Empty r for the same request again, keeping its body's limit. */
static void
resp_reset(struct ctl_resp *r)
{
	r->status = 0;
	mc_buf_reset(&r->body);
	mc_json_free(r->doc);
	r->doc = NULL;
}

/* After xfer_end(): seconds to wait before asking again when the hub
 * refused for the token's rate (429), else 0. */
static long
rate_wait(const struct xfer *x, int ret)
{
	curl_off_t ra = 0;

	if (ret != 0 || x->r->status != 429)
		return 0;
	if (curl_easy_getinfo(x->h, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK ||
	    ra < 1)
		ra = 1;
	return ra > CTL_RETRY_WAIT_MAX ? CTL_RETRY_WAIT_MAX : (long)ra;
}

/*
 * During a reconnect storm the hub closes new connections before any TLS
 * (its admission control, docs/operations.md): the request never reached
 * it, so asking again is safe.  That close looks like this to OpenSSL (a
 * syscall error at EOF) or, without TLS, like an empty answer.
 */
static int
closed_before_request(const struct xfer *x, CURLcode rc)
{
	if (x->r->status != 0)
		return 0;
	if (rc == CURLE_GOT_NOTHING)
		return 1;
	return (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_RECV_ERROR) &&
	    (strstr(x->errbuf, "SSL_ERROR_SYSCALL") != NULL ||
	    strstr(x->errbuf, "unexpected eof") != NULL ||
	    strstr(x->errbuf, "reset by peer") != NULL);
}

int
ctl_http_no_tls_answer(const struct ctl *c, const char *errbuf)
{
	return c->tls && strstr(errbuf, "wrong version number") != NULL;
}

/*
 * A hub of the other scheme fails a request the same way: over http://
 * a TLS hub closes on the request (closed_before_request() too), over
 * https:// a plain hub's answer is no TLS.  The first such failure asks
 * that scheme (ctl_probe.c): 1 with why replaced if that was it, and the
 * hub is then not "lost" - no retry or wait would help.
 */
static int
wrong_scheme(struct ctl *c, struct xfer *x, CURLcode rc, char *why,
    size_t whylen)
{
	if (!closed_before_request(x, rc) &&
	    !ctl_http_no_tls_answer(c, x->errbuf))
		return 0;
	if (ctl_probe_scheme(c, why, whylen) == 0)
		return 0;
	x->lost = 0;
	return 1;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
perform(struct ctl *c, const char *method, const char *path,
    const struct mc_buf *body, struct xfer *x, long timeout)
{
	char why[CTL_WHY_MAX];
	long wait_ms;
	int ret, tries, busy = 0;
	CURLcode rc;

	for (tries = 0;; tries++) {
		rc = CURLE_OK;
		ret = xfer_open(c, x, method, path, body, timeout, why,
		    sizeof(why));
		if (ret == 0) {
			rc = curl_easy_perform(x->h);
			ret = xfer_end(c, x, rc, why, sizeof(why));
		}
		if (ret != 0 && wrong_scheme(c, x, rc, why, sizeof(why))) {
			xfer_close(x);
			break;
		}
		wait_ms = tries < CTL_RETRY_MAX ? rate_wait(x, ret) * 1000 : 0;
		if (ret != 0 && wait_ms == 0 && busy < CTL_BUSY_TRIES &&
		    closed_before_request(x, rc))
			wait_ms = CTL_BUSY_WAIT_MS << busy++;
		xfer_close(x);
		if (wait_ms == 0)
			break;
		/* refused before the hub did anything: ask again */
		resp_reset(x->r);
		sleep_ms(wait_ms);
	}
	if (ret != 0 && busy > 0 && why[0] != '\0')
		fprintf(stderr, "hubctl: the hub closed the connection %d times "
		    "before the request; it may be admitting a reconnect storm "
		    "(try again in a minute)\n", busy + 1);
	c->lost = ret != 0 && x->lost;
	if (ret != 0 && why[0] != '\0' && !(c->lost && c->patient))
		fprintf(stderr, "hubctl: %s\n", why);
	return ret;
}

int
ctl_http(struct ctl *c, const char *method, const char *path,
    const struct mc_buf *body, struct ctl_resp *r)
{
	struct xfer x;

	memset(&x, 0, sizeof(x));
	x.r = r;
	return perform(c, method, path, body, &x, CTL_REQUEST_TIMEOUT);
}

int
ctl_http_stream(struct ctl *c, const char *path, ctl_line_fn fn, void *arg,
    struct ctl_resp *r)
{
	struct xfer x;

	memset(&x, 0, sizeof(x));
	x.r = r;
	x.fn = fn;
	x.arg = arg;
	return perform(c, "GET", path, NULL, &x, 0L);
}

/* ---- many at once ---- */

/*
 * Requests wait in a FIFO to be started (or started again: after a 429,
 * or when their "again" says so) and leave it no faster than one per
 * "spacing" seconds.  The spacing starts at 0, doubles (from 10 ms, up to
 * 1 s) when a request started under the present spacing is refused for
 * the token's rate, and shrinks a little with every answer that is not a
 * refusal, so a fan-out settles near the hub's api_rate without knowing
 * it.  A 429 also holds every start back for its Retry-After.
 */
struct multi {
	struct ctl	*c;
	CURLM		*m;
	struct xfer	*xs;		/* owned; one per request */
	struct ctl_mreq	*q;
	size_t		 n;
	size_t		*fifo;		/* owned ring of request indices */
	size_t		 head, len;
	unsigned	*tries;		/* owned; 429s per request */
	double		 gate;		/* nothing starts before this */
	double		 spacing;	/* seconds between starts */
	double		 grown;		/* when the spacing last grew */
};

static void
fifo_push(struct multi *mu, size_t i)
{
	mu->fifo[(mu->head + mu->len++) % mu->n] = i;
}

/* Start request i; 0, or -1 when it ended at once (q->ret says why). */
static int
multi_start(struct multi *mu, size_t i)
{
	struct xfer *x = &mu->xs[i];
	struct ctl_mreq *q = &mu->q[i];

	memset(x, 0, sizeof(*x));
	x->r = &q->r;
	x->fn = q->fn;
	x->arg = q->arg;
	x->started = mc_now();
	q->ret = xfer_open(mu->c, x, "GET", q->path, NULL, q->fn != NULL ?
	    0L : (long)CTL_REQUEST_TIMEOUT, q->why, sizeof(q->why));
	if (q->ret != 0)
		return -1;
	if (curl_multi_add_handle(mu->m, x->h) != CURLM_OK) {
		snprintf(q->why, sizeof(q->why), "out of memory");
		q->ret = CTL_EXIT_FAIL;
		xfer_close(x);
		return -1;
	}
	return 0;
}

/* Start what the FIFO holds, as the gate allows; returns how many ended
 * at once. */
static size_t
multi_start_due(struct multi *mu)
{
	size_t ended = 0, i;
	double now;

	while (mu->len > 0 && (now = mc_now()) >= mu->gate) {
		i = mu->fifo[mu->head];
		mu->head = (mu->head + 1) % mu->n;
		mu->len--;
		mu->gate = now + mu->spacing;
		if (multi_start(mu, i) == -1)
			ended++;
	}
	return ended;
}

/* A request ended with x: 1 if it goes back into the FIFO. */
static int
multi_again(struct multi *mu, struct xfer *x, size_t i, long wait)
{
	struct ctl_mreq *q = &mu->q[i];
	double now = mc_now();

	if (wait > 0) {
		mu->tries[i]++;
		if (now + wait > mu->gate)
			mu->gate = now + wait;
		if (x->started >= mu->grown) {
			mu->spacing = mu->spacing > 0 ? mu->spacing * 2 :
			    0.01;
			if (mu->spacing > 1.0)
				mu->spacing = 1.0;
			mu->grown = now;
		}
	} else {
		mu->spacing *= 0.98;
		if (q->again == NULL || !q->again(q->arg, q))
			return 0;
	}
	resp_reset(&q->r);
	fifo_push(mu, i);
	return 1;
}

/* Settle every transfer that has ended (or queue it again); returns how
 * many ended. */
static size_t
multi_reap(struct multi *mu)
{
	struct CURLMsg *msg;
	struct xfer *x;
	size_t done = 0, i;
	long wait;
	int left;
	void *priv;

	while ((msg = curl_multi_info_read(mu->m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		x = priv;
		i = (size_t)(x - mu->xs);
		mu->q[i].ret = xfer_end(mu->c, x, msg->data.result,
		    mu->q[i].why, sizeof(mu->q[i].why));
		mu->q[i].lost = mu->q[i].ret != 0 && x->lost;
		wait = mu->tries[i] < CTL_RETRY_MAX ?
		    rate_wait(x, mu->q[i].ret) : 0;
		curl_multi_remove_handle(mu->m, x->h);
		xfer_close(x);
		if (!multi_again(mu, x, i, wait))
			done++;
	}
	return done;
}

/* Milliseconds to sleep at most before the FIFO may move. */
static int
multi_timeout(const struct multi *mu)
{
	double ms;

	if (mu->len == 0)
		return 1000;
	ms = (mu->gate - mc_now()) * 1000;
	return ms < 1 ? 1 : ms > 1000 ? 1000 : (int)ms;
}

/* The loop: at most max_open requests running or waiting to start. */
static int
multi_run(struct multi *mu, size_t max_open)
{
	size_t next = 0, open = 0, i;
	int running;

	while (next < mu->n || open > 0) {
		for (; next < mu->n && open < max_open; next++, open++)
			fifo_push(mu, next);
		open -= multi_start_due(mu);
		if (curl_multi_perform(mu->m, &running) != CURLM_OK)
			break;
		open -= multi_reap(mu);
		if (open > 0 && curl_multi_poll(mu->m, NULL, 0,
		    multi_timeout(mu), NULL) != CURLM_OK)
			break;
	}
	if (next == mu->n && open == 0)
		return 0;
	/* libcurl itself failed: end what is still open */
	for (i = 0; i < next; i++) {
		if (mu->xs[i].h == NULL)
			continue;
		curl_multi_remove_handle(mu->m, mu->xs[i].h);
		xfer_close(&mu->xs[i]);
		mu->q[i].ret = CTL_EXIT_FAIL;
		snprintf(mu->q[i].why, sizeof(mu->q[i].why), "libcurl failed");
	}
	return -1;
}

int
ctl_http_multi(struct ctl *c, struct ctl_mreq *q, size_t n, size_t max_open)
{
	struct multi mu;
	size_t i;
	int ret = -1;

	for (i = 0; i < n; i++) {
		q[i].ret = CTL_EXIT_FAIL;
		snprintf(q[i].why, sizeof(q[i].why), "not started");
	}
	if (n == 0)
		return 0;
	memset(&mu, 0, sizeof(mu));
	mu.c = c;
	mu.q = q;
	mu.n = n;
	mu.xs = calloc(n, sizeof(*mu.xs));
	mu.fifo = calloc(n, sizeof(*mu.fifo));
	mu.tries = calloc(n, sizeof(*mu.tries));
	mu.m = curl_multi_init();
	if (mu.xs != NULL && mu.fifo != NULL && mu.tries != NULL &&
	    mu.m != NULL)
		ret = multi_run(&mu, max_open > 0 ? max_open : 1);
	if (mu.m != NULL)
		curl_multi_cleanup(mu.m);
	free(mu.tries);
	free(mu.fifo);
	free(mu.xs);
	return ret;
}

const char *
ctl_resp_error(const struct ctl_resp *r)
{
	const char *e = NULL;

	if (r->doc != NULL)
		e = mc_json_str(mc_json_root(r->doc), "error");
	return e != NULL ? e : "the hub gave no reason";
}

int
ctl_api_fail(const struct ctl *c, const struct ctl_resp *r)
{
	char why[1024];

	ctl_safe(ctl_resp_error(r), why, sizeof(why));
	if (r->status == 401) {
		fprintf(stderr, "hubctl: the hub refused the token (401): %s; "
		    "pass --token or MAESTRO_TOKEN\n", why);
		return CTL_EXIT_HUB;
	}
	if (r->status == 403) {
		fprintf(stderr, "hubctl: the token's role may not do this "
		    "(403): %s\n", why);
		return CTL_EXIT_HUB;
	}
	fprintf(stderr, "hubctl: %s (HTTP %ld from %s)\n", why, r->status,
	    c->base);
	return CTL_EXIT_FAIL;
}

int
ctl_api(struct ctl *c, const char *method, const char *path,
    const struct mc_buf *body, struct ctl_resp *r)
{
	int ret = ctl_http(c, method, path, body, r);

	if (ret != 0)
		return ret;
	if (!ctl_http_2xx(r->status))
		return ctl_api_fail(c, r);
	return 0;
}

/* ---- waiting for a hub that went away ---- */

int
ctl_hub_wait(struct ctl *c, struct ctl_reattach *ra, const char *what)
{
	double now = mc_now(), pause;

	if (ra->since == 0) {
		ra->since = now;
		ra->pause = 0.5;
		fprintf(stderr, "hubctl: lost the hub at %s; %s when it is back "
		    "(trying for up to %d s)\n", c->base, what,
		    CTL_REATTACH_MAX);
	}
	if (now - ra->since >= CTL_REATTACH_MAX) {
		fprintf(stderr, "hubctl: the hub at %s has been out of reach "
		    "for %d s; giving up\n", c->base, CTL_REATTACH_MAX);
		return -1;
	}
	pause = ra->pause;
	ra->pause = pause * 2 > 5.0 ? 5.0 : pause * 2;
	sleep_ms((long)(pause * 1000));
	ra->tries++;
	c->patient = 1;		/* each failed try is not news */
	return 0;
}

void
ctl_hub_back(struct ctl *c, struct ctl_reattach *ra)
{
	if (ra->since != 0)
		fprintf(stderr, "hubctl: the hub is back (after %.1f s)\n",
		    mc_now() - ra->since);
	memset(ra, 0, sizeof(*ra));
	c->patient = 0;
}
