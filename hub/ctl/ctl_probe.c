/*
 * ctl_probe.c - is the hub speaking the other scheme than --hub says?
 *
 * --hub http:// to a hub with TLS: the hub takes the request for a broken
 * TLS handshake and closes the connection, which looks exactly like its
 * admission control closing connections in a reconnect storm (retried for
 * seconds) or like a hub going away (waited for minutes).  --hub https://
 * to a hub run with --insecure-no-tls: its plain answer is no TLS record,
 * which looked like an unreachable hub.  Asking once with the other
 * scheme tells a wrong URL, which no wait mends, from the rest.
 *
 * The probe carries no token: over TLS it stops once the handshake is
 * done (the certificate is not checked, since nothing is sent), over
 * plain HTTP it asks GET /healthz, which needs none.  It runs at most
 * once per hubctl process (c->probed): the answer does not change.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "ctl.h"

/* The hub's base URL with the other scheme; -1 if it does not fit. */
static int
other_base(const struct ctl *c, char *out, size_t outlen)
{
	const char *rest = strstr(c->base, "://");
	int n;

	if (rest == NULL)
		return -1;
	n = snprintf(out, outlen, "%s%s", c->tls ? "http" : "https", rest);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static size_t
discard(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	(void)arg;
	return size * nmemb;
}

/* A handle for url that gives up quickly and follows nothing. */
static CURL *
probe_handle(const char *url, const char *proto)
{
	CURL *h = curl_easy_init();

	if (h == NULL)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, proto);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)CTL_PROBE_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)CTL_PROBE_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "hubctl/" MC_VERSION);
	return h;
}

/* 1 if a TLS handshake with the hub completes. */
static int
speaks_tls(const char *base)
{
	char url[CTL_URL_MAX + 16];
	CURL *h;
	int ok;

	snprintf(url, sizeof(url), "%s/", base);
	if ((h = probe_handle(url, "https")) == NULL)
		return 0;
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	ok = curl_easy_perform(h) == CURLE_OK;
	curl_easy_cleanup(h);
	return ok;
}

/* 1 if the hub answers GET /healthz in plain HTTP. */
static int
speaks_http(const char *base)
{
	char url[CTL_URL_MAX + 24];
	long status = 0;
	CURL *h;

	snprintf(url, sizeof(url), "%s/healthz", base);
	if ((h = probe_handle(url, "http")) == NULL)
		return 0;
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	return status >= 100;
}

int
ctl_probe_scheme(struct ctl *c, char *why, size_t whylen)
{
	char other[CTL_URL_MAX + 8];

	if (c->probed || other_base(c, other, sizeof(other)) == -1)
		return 0;
	c->probed = 1;
	if (!c->tls && speaks_tls(other)) {
		snprintf(why, whylen, "the hub at %s speaks TLS, not plain "
		    "HTTP: use --hub %s (with --fingerprint sha256:..., which "
		    "maestro-hub prints at start)", c->base, other);
		return 1;
	}
	if (c->tls && speaks_http(other)) {
		snprintf(why, whylen, "the hub at %s speaks plain HTTP, not "
		    "TLS (it runs with --insecure-no-tls): use --hub %s%s",
		    c->base, other, c->pinned ? " without --fingerprint" : "");
		return 1;
	}
	return 0;
}
