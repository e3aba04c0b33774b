/*
 * ctl_http.c - hubctl's requests to the hub's REST API, over libcurl.
 *
 * One easy handle per request, which is plenty for a command line.  The
 * rules kept here: the token goes only into the Authorization header and
 * is never printed; redirects are not followed (the token would follow
 * them); only http and https are spoken; every buffered response is
 * bounded (CTL_RESPONSE_MAX, CTL_LINE_MAX); connecting gives up after
 * CTL_CONNECT_TIMEOUT and a plain request after CTL_REQUEST_TIMEOUT, but
 * a command stream has no time limit (commands may run for days) and
 * relies on TCP keepalive to notice a dead hub.  Transport and
 * authentication failures map to exit status 3 here, in one place.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "ctl.h"
#include "mc_proto.h"

struct xfer {
	CURL		*h;
	struct ctl_resp	*r;
	ctl_line_fn	 fn;		/* NULL: buffer the whole body */
	void		*arg;
	struct mc_buf	 line;		/* a partial stream line */
	int		 stopped;	/* fn asked to stop */
	int		 overflow;	/* a limit was hit */
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

static int
is_2xx(long status)
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
	if (x->fn != NULL && is_2xx(status))
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

/* Certificate checks; -1 if pinning is not possible with this libcurl. */
static int
setup_tls(const struct ctl *c, CURL *h)
{
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
		l = curl_slist_append(l, "Content-Type: application/json");
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

/* Say why the transfer failed; returns the exit status. */
static int
transport_fail(const struct ctl *c, const struct xfer *x, CURLcode rc,
    const char *errbuf)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	char seen[CTL_FP_TEXT_MAX];

	if (x->overflow) {
		fprintf(stderr, "hubctl: the hub's answer is over hubctl's "
		    "limit (%d MiB for a response, %d MiB for a line)\n",
		    CTL_RESPONSE_MAX >> 20, CTL_LINE_MAX >> 20);
		return CTL_EXIT_FAIL;
	}
	if (ctl_pin_mismatch(seen, sizeof(seen))) {
		fprintf(stderr, "hubctl: the hub at %s presented certificate "
		    "%s, which is not the --fingerprint given; the token was "
		    "not sent\n", c->base, seen);
		return CTL_EXIT_HUB;
	}
	if (rc == CURLE_PEER_FAILED_VERIFICATION) {
		fprintf(stderr, "hubctl: cannot verify the certificate of the "
		    "hub at %s: %s; pass --fingerprint sha256:HEX (maestro-hub "
		    "prints it) or --ca FILE\n", c->base, why);
		return CTL_EXIT_HUB;
	}
	if (x->r->status != 0) {
		fprintf(stderr, "hubctl: the connection to the hub at %s "
		    "broke: %s\n", c->base, why);
		return CTL_EXIT_HUB;
	}
	fprintf(stderr, "hubctl: cannot reach hub at %s: %s; is maestro-hub "
	    "running? (--hub, MAESTRO_HUB)\n", c->base, why);
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

static int
perform(struct ctl *c, const char *method, const char *path,
    const struct mc_buf *body, struct xfer *x, long timeout)
{
	char url[CTL_URL_MAX * 2], errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	int ret = CTL_EXIT_FAIL;

	errbuf[0] = '\0';
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->base, path) >=
	    sizeof(url)) {
		fprintf(stderr, "hubctl: request URL too long\n");
		return CTL_EXIT_USAGE;
	}
	x->h = curl_easy_init();
	hdrs = make_headers(c, body != NULL);
	if (x->h == NULL || hdrs == NULL) {
		fprintf(stderr, "hubctl: out of memory\n");
		goto done;
	}
	setup_common(x->h, url, x, errbuf, timeout);
	setup_method(x->h, method, body);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, hdrs);
	if (setup_tls(c, x->h) == -1) {
		fprintf(stderr, "hubctl: this libcurl cannot pin a certificate "
		    "(it needs the OpenSSL backend); use --ca FILE\n");
		ret = CTL_EXIT_HUB;
		goto done;
	}
	rc = curl_easy_perform(x->h);
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->r->status);
	if (x->stopped)
		ret = CTL_EXIT_FAIL;
	else if (rc != CURLE_OK)
		ret = transport_fail(c, x, rc, errbuf);
	else
		ret = 0;
	if (ret == 0)
		finish_resp(x->h, x->r);
done:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(x->h);
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
	int ret;

	memset(&x, 0, sizeof(x));
	x.r = r;
	x.fn = fn;
	x.arg = arg;
	mc_buf_init(&x.line, CTL_LINE_MAX + CURL_MAX_WRITE_SIZE);
	ret = perform(c, "GET", path, NULL, &x, 0L);
	/* a last line without its newline */
	if (ret == 0 && is_2xx(r->status) && x.line.len > 0 &&
	    fn(arg, x.line.data, x.line.len) == -1)
		ret = CTL_EXIT_FAIL;
	mc_buf_free(&x.line);
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
	if (!is_2xx(r->status))
		return ctl_api_fail(c, r);
	return 0;
}
