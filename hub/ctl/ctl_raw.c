/*
 * ctl_raw.c - a raw byte stream to the hub, for the protocol curl does
 * not speak itself: the WebSocket of hubctl watch and hubctl term
 * (ctl_ws.c).
 *
 * libcurl connects (CONNECT_ONLY), with TLS and the certificate pin set
 * up exactly as for every request (ctl_http_tls()), and then only moves
 * bytes, without waiting when sending (the caller keeps what is not
 * taken yet, and polls); the WebSocket framing is ctl_ws.c's.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "ctl.h"

struct ctl_raw {
	CURL		*h;
	curl_socket_t	 fd;
};

int
ctl_raw_open(struct ctl *c, struct ctl_raw **out)
{
	char url[CTL_URL_MAX + 2], errbuf[CURL_ERROR_SIZE], seen[CTL_FP_TEXT_MAX];
	char why[CTL_WHY_MAX];
	struct ctl_raw *r = calloc(1, sizeof(*r));
	CURLcode rc;

	errbuf[0] = '\0';
	snprintf(url, sizeof(url), "%s/", c->base);
	if (r == NULL || (r->h = curl_easy_init()) == NULL) {
		free(r);
		fprintf(stderr, "hubctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	curl_easy_setopt(r->h, CURLOPT_URL, url);
	curl_easy_setopt(r->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->h, CURLOPT_CONNECTTIMEOUT, (long)CTL_CONNECT_TIMEOUT);
	curl_easy_setopt(r->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(r->h, CURLOPT_ERRORBUFFER, errbuf);
	if (ctl_http_tls(c, r->h) == -1) {
		fprintf(stderr, "hubctl: this libcurl cannot pin a certificate "
		    "(it needs the OpenSSL backend); use --ca FILE\n");
		ctl_raw_close(r);
		return CTL_EXIT_HUB;
	}
	rc = curl_easy_perform(r->h);
	if (rc == CURLE_OK)
		rc = curl_easy_getinfo(r->h, CURLINFO_ACTIVESOCKET, &r->fd);
	c->lost = 0;
	if (rc != CURLE_OK) {
		if (ctl_pin_mismatch(seen, sizeof(seen)))
			fprintf(stderr, "hubctl: the hub at %s presented "
			    "certificate %s, which is not the --fingerprint "
			    "given; the token was not sent\n", c->base, seen);
		else if (ctl_http_no_tls_answer(c, errbuf) &&
		    ctl_probe_scheme(c, why, sizeof(why)) == 1)
			fprintf(stderr, "hubctl: %s\n", why);
		else
			c->lost = 1;
		if (c->lost && !c->patient)
			fprintf(stderr, "hubctl: cannot reach hub at %s: %s\n",
			    c->base, errbuf[0] ? errbuf :
			    curl_easy_strerror(rc));
		ctl_raw_close(r);
		return CTL_EXIT_HUB;
	}
	*out = r;
	return 0;
}

static int
raw_wait(const struct ctl_raw *r, short events, int timeout_ms)
{
	struct pollfd p;

	p.fd = r->fd;
	p.events = events;
	p.revents = 0;
	return poll(&p, 1, timeout_ms);
}

long
ctl_raw_send_some(struct ctl_raw *r, const void *buf, size_t n)
{
	size_t sent = 0;
	CURLcode rc;

	rc = curl_easy_send(r->h, buf, n, &sent);
	if (rc == CURLE_AGAIN)
		return 0;
	return rc == CURLE_OK ? (long)sent : -1;
}

int
ctl_raw_fd(const struct ctl_raw *r)
{
	return (int)r->fd;
}

long
ctl_raw_recv(struct ctl_raw *r, void *buf, size_t n, int timeout_ms)
{
	size_t got = 0;
	CURLcode rc;
	int w;

	for (;;) {
		/* TLS may hold decrypted bytes: ask curl before polling */
		rc = curl_easy_recv(r->h, buf, n, &got);
		if (rc == CURLE_OK)
			return (long)got;
		if (rc != CURLE_AGAIN)
			return -1;
		w = raw_wait(r, POLLIN, timeout_ms);
		if (w == 0)
			return -2;
		if (w < 0)
			return -1;
	}
}

void
ctl_raw_close(struct ctl_raw *r)
{
	if (r == NULL)
		return;
	curl_easy_cleanup(r->h);
	free(r);
}
