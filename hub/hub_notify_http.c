/*
 * hub_notify_http.c - one try of a message on its channel's worker
 * thread: the POST through libcurl with timeouts, and what the answer
 * means: sent, retry later, or fail.
 *
 * A network error or a 5xx answer means retry after a doubling backoff;
 * a 429 means retry after the time the service names (retry_after in the
 * body as Telegram and Discord send it, or a Retry-After header), and a
 * rate limit longer than RETRY_AFTER_CAP fails the message.  How many
 * tries a message gets is hub_notify.c's.  Details say the HTTP status,
 * libcurl's generic error text or the service's own error description,
 * never the URL, which holds the secret.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hub_notify.h"
#include "mc_util.h"

#define CONNECT_TIMEOUT	5L	/* seconds */
#define REQUEST_TIMEOUT	10L	/* seconds for one whole request */
#define BACKOFF_FIRST	1.0	/* seconds; doubles with every try */
#define BACKOFF_CAP	30.0
#define RETRY_AFTER_CAP	300.0	/* a longer rate limit fails the message */
#define ANSWER_MAX	(16 * 1024)	/* response bytes kept to parse */
#define DESC_MAX	100	/* bytes of a service's error description */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct hub_notify_answer *a = arg;

	/* past the body's limit the rest is not needed: keep reading, drop
	 * it, and say so (a caller that parses the body must know) */
	if (mc_buf_append(&a->body, p, size * n) == -1)
		a->over = 1;
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct hub_notify_answer *a = arg;
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
	atomic_int *stopping = arg;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return atomic_load(stopping) ? 1 : 0;
}

void
hub_notify_post(CURL *h, const char *url, const char *body, size_t len,
    long timeout, atomic_int *stopping, struct hub_notify_answer *a)
{
	hub_notify_request(h, NULL, NULL, url, body, len, timeout, stopping,
	    a);
}

static void	transfer(CURL *h, const char *method, const char *url,
		    struct curl_slist *hdr, const char *body, size_t len,
		    long timeout, atomic_int *stopping,
		    struct hub_notify_answer *a);

void
hub_notify_request(CURL *h, const char *method, const char *header,
    const char *url, const char *body, size_t len, long timeout,
    atomic_int *stopping, struct hub_notify_answer *a)
{
	struct curl_slist *hdr, *more;

	/* the list is owned here (freed after the transfer) */
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	more = hdr != NULL && header != NULL ? curl_slist_append(hdr, header) :
	    hdr;
	if (more == NULL) {
		curl_slist_free_all(hdr);
		a->rc = CURLE_OUT_OF_MEMORY;
		return;
	}
	transfer(h, method, url, hdr, body, len, timeout, stopping, a);
	curl_slist_free_all(hdr);
}

void
hub_notify_post_with(CURL *h, const char *url, struct curl_slist *hdr,
    const char *body, size_t len, long timeout, atomic_int *stopping,
    struct hub_notify_answer *a)
{
	transfer(h, NULL, url, hdr, body, len, timeout, stopping, a);
}

/* method NULL: POST; hdr stays the caller's. */
static void
transfer(CURL *h, const char *method, const char *url,
    struct curl_slist *hdr, const char *body, size_t len, long timeout,
    atomic_int *stopping, struct hub_notify_answer *a)
{
	struct curl_slist *more;

	/* no "Expect: 100-continue": one round trip less, and services
	 * that do not answer it stall the request a second */
	if ((more = curl_slist_append(NULL, "Expect:")) == NULL) {
		a->rc = CURLE_OUT_OF_MEMORY;
		return;
	}
	more->next = hdr;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (method != NULL && strcmp(method, "POST") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, more);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "maestro-hub/" MC_VERSION);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, stopping);
	a->rc = curl_easy_perform(h);
	if (a->rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
	more->next = NULL;	/* hdr is the caller's */
	curl_slist_free_all(more);
}

/* The service's error description (Telegram "description", Discord
 * "message") as printable ASCII, and its retry_after (Telegram puts it in
 * "parameters", Discord at the top), or -1. */
double
hub_notify_answer_parse(const struct hub_notify_answer *a, char *desc,
    size_t desclen)
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

double
hub_notify_backoff(int tries)
{
	double d = BACKOFF_FIRST;

	while (--tries > 0 && d < BACKOFF_CAP)
		d *= 2;
	return d < BACKOFF_CAP ? d : BACKOFF_CAP;
}

enum hub_notify_verdict
hub_notify_try(struct hub_notify_chan *ch, CURL *h,
    const struct hub_notify_job *j, int *tries, int *limited, double *wait,
    char *detail, size_t dlen)
{
	enum hub_notify_verdict v = V_FAIL;
	struct hub_notify_answer a;
	char desc[DESC_MAX + 1];
	double ra;

	memset(&a, 0, sizeof(a));
	a.retry_after = -1;
	mc_buf_init(&a.body, ANSWER_MAX);
	hub_notify_request(h, ch->method, ch->auth[0] ? ch->auth : NULL,
	    ch->url, j->body, j->len, REQUEST_TIMEOUT, &ch->stopping, &a);
	ra = hub_notify_answer_parse(&a, desc, sizeof(desc));
	if (ra < 0)
		ra = a.retry_after;
	if (a.rc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(detail, dlen, "the hub is stopping");
	} else if (a.rc != CURLE_OK) {
		/* libcurl's generic text: never the URL */
		snprintf(detail, dlen, "%s", curl_easy_strerror(a.rc));
		*wait = hub_notify_backoff(++*tries);
		v = V_RETRY;
	} else if (a.status >= 200 && a.status < 300) {
		snprintf(detail, dlen, "HTTP %ld", a.status);
		v = V_SENT;
	} else if (a.status == 429 && ra > RETRY_AFTER_CAP) {
		++*limited;
		snprintf(detail, dlen, "HTTP 429: rate limited for %.0fs", ra);
	} else if (a.status == 429) {
		++*limited;
		*wait = ra >= 0 ? ra : hub_notify_backoff(*limited);
		snprintf(detail, dlen, "HTTP 429: rate limited, retry after "
		    "%gs", *wait);
		v = V_RETRY;
	} else {
		if (a.status >= 500) {
			*wait = hub_notify_backoff(++*tries);
			v = V_RETRY;
		}
		snprintf(detail, dlen, "HTTP %ld%s%s", a.status,
		    desc[0] ? ": " : "", desc);
	}
	mc_buf_free(&a.body);
	return v;
}
