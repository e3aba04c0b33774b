/*
 * lst_fetch.c - one HTTPS download from the hub, for listener_update: a
 * GET of a path on the hub's own host and port, its body written to a
 * file descriptor.
 *
 * It runs in a forked child (lst_update.c), so it blocks; the command's
 * timeout kills it, and each socket read or write gives up after
 * LST_CONNECT_TIMEOUT seconds of silence.  The hub is verified exactly as
 * the WebSocket verifies it (lst_ws.c): the pinned SHA-256 of its
 * certificate when --fingerprint is set, else the CA file (--ca, or the
 * system's bundle) with a hostname check, nothing with --insecure; a hub
 * URL without TLS (ws://) is fetched without.  The answer must be 200
 * with a Content-Length equal to the release's size (at most
 * MC_RELEASE_MAX): the body is read to exactly that many bytes and no
 * further, and a connection that ends sooner is "download cut short".
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lst.h"

#define FETCH_HEAD_MAX	(16 * 1024)	/* status line and headers */
#define FETCH_CHUNK	(64 * 1024)

/* One connection: a socket, with TLS over it when ssl is set. */
struct fetch_conn {
	int	 fd;
	SSL_CTX	*ctx;	/* owned */
	SSL	*ssl;	/* owned */
};

static void
conn_close(struct fetch_conn *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
}

/* The host and port as the Host header writes them (IPv6 bracketed). */
static void
host_header(const struct mc_url *u, char *out, size_t size)
{
	snprintf(out, size, strchr(u->host, ':') != NULL ? "[%s]:%d" :
	    "%s:%d", u->host, u->port);
}

static int
tcp_connect(const struct mc_url *u, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = { LST_CONNECT_TIMEOUT, 0 };
	char port[16];
	int fd = -1, r, e = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", u->port);
	r = getaddrinfo(u->host, port, &hints, &res);
	if (r != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", u->host,
		    gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(err, errlen, "cannot connect to the hub at %s:%d: %s",
		    u->host, u->port, strerror(e));
	return fd;
}

/* Trust anchors and the name to check, as the WebSocket has them. */
static int
tls_setup(const struct lst *l, struct fetch_conn *c, char *err,
    size_t errlen)
{
	const char *ca = l->conf.ca[0] != '\0' ? l->conf.ca :
	    lst_system_ca_bundle();
	unsigned char ip[16];
	int is_ip;

	c->ctx = SSL_CTX_new(TLS_client_method());
	if (c->ctx == NULL || (c->ssl = SSL_new(c->ctx)) == NULL) {
		snprintf(err, errlen, "cannot set up TLS");
		return -1;
	}
	is_ip = inet_pton(AF_INET, l->url.host, ip) == 1 ||
	    inet_pton(AF_INET6, l->url.host, ip) == 1;
	if (!is_ip)
		SSL_set_tlsext_host_name(c->ssl, l->url.host);
	/* pinned: check_pin() replaces the chain and the name */
	if (l->fp[0] != '\0' || l->conf.insecure)
		return 0;
	if (ca == NULL || SSL_CTX_load_verify_locations(c->ctx, ca,
	    NULL) != 1) {
		snprintf(err, errlen, "cannot load the CA file %s", ca != NULL ?
		    ca : "(none found)");
		return -1;
	}
	SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
	if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
	    l->url.host) != 1 : SSL_set1_host(c->ssl, l->url.host) != 1) {
		snprintf(err, errlen, "cannot set the name to verify");
		return -1;
	}
	return 0;
}

/* The peer certificate's SHA-256 against --fingerprint. */
static int
check_pin(const struct lst *l, SSL *ssl, char *err, size_t errlen)
{
	X509 *x = SSL_get1_peer_certificate(ssl);
	unsigned char *der = NULL;
	char got[MC_SHA256_HEX];
	int n;

	if (x == NULL) {
		snprintf(err, errlen, "the hub presented no certificate");
		return -1;
	}
	n = i2d_X509(x, &der);
	X509_free(x);
	if (n <= 0) {
		snprintf(err, errlen, "cannot encode the hub's certificate");
		return -1;
	}
	mc_sha256_hex(der, (size_t)n, got);
	OPENSSL_free(der);
	if (!mc_secret_eq(got, l->fp)) {
		snprintf(err, errlen, "hub certificate fingerprint sha256:%s "
		    "does not match --fingerprint", got);
		return -1;
	}
	return 0;
}

static int
tls_handshake(const struct lst *l, struct fetch_conn *c, char *err,
    size_t errlen)
{
	long v;

	if (tls_setup(l, c, err, errlen) == -1)
		return -1;
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1) {
		v = SSL_get_verify_result(c->ssl);
		snprintf(err, errlen, "TLS handshake with the hub failed: %s",
		    v != X509_V_OK ? X509_verify_cert_error_string(v) :
		    ERR_reason_error_string(ERR_peek_last_error()) != NULL ?
		    ERR_reason_error_string(ERR_peek_last_error()) :
		    "connection closed");
		return -1;
	}
	if (l->fp[0] != '\0')
		return check_pin(l, c->ssl, err, errlen);
	return 0;
}

/* Read up to n bytes: the count, 0 at the end, -1 on an error. */
static ssize_t
conn_read(struct fetch_conn *c, void *buf, size_t n)
{
	ssize_t r;
	int k;

	if (c->ssl == NULL) {
		do {
			r = read(c->fd, buf, n);
		} while (r == -1 && errno == EINTR);
		return r;
	}
	k = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
	if (k > 0)
		return k;
	/* a peer that closes without close_notify ends the body too: the
	 * byte count decides whether it was whole */
	k = SSL_get_error(c->ssl, k);
	return k == SSL_ERROR_ZERO_RETURN || k == SSL_ERROR_SYSCALL ? 0 : -1;
}

static int
conn_write(struct fetch_conn *c, const char *buf, size_t n)
{
	if (c->ssl == NULL)
		return lst_write_all(c->fd, buf, n);
	return SSL_write(c->ssl, buf, (int)n) == (int)n ? 0 : -1;
}

/* Read the status line and headers into head (NUL-terminated at the
 * blank line); the body bytes read with them go to *extra, *nextra. */
static int
read_head(struct fetch_conn *c, char *head, char **extra, size_t *nextra,
    char *err, size_t errlen)
{
	size_t len = 0;
	ssize_t n;
	char *end;

	for (;;) {
		n = conn_read(c, head + len, FETCH_HEAD_MAX - 1 - len);
		if (n <= 0) {
			snprintf(err, errlen, "the hub closed the connection "
			    "before answering");
			return -1;
		}
		len += (size_t)n;
		head[len] = '\0';
		end = strstr(head, "\r\n\r\n");
		if (end != NULL)
			break;
		if (len == FETCH_HEAD_MAX - 1) {
			snprintf(err, errlen, "the hub's answer has headers "
			    "over %d bytes", FETCH_HEAD_MAX);
			return -1;
		}
	}
	*end = '\0';
	*extra = end + 4;
	*nextra = len - (size_t)(end + 4 - head);
	return 0;
}

/* The Content-Length header's value, or -1 when absent or not a number. */
static int64_t
content_length(const char *head)
{
	const char *p = head;
	char *end;
	unsigned long long v;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, "Content-Length:", 15) != 0)
			continue;
		p += 15;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno != 0 || v > MC_RELEASE_MAX ||
		    (*end != '\r' && *end != '\0' && *end != ' '))
			return -1;
		return (int64_t)v;
	}
	return -1;
}

/* Status 200 and Content-Length == size, or a reason. */
static int
check_head(const char *head, uint64_t size, char *err, size_t errlen)
{
	int status = 0;
	int64_t cl;
	size_t n;

	if (sscanf(head, "HTTP/1.%*d %d", &status) != 1) {
		snprintf(err, errlen, "the hub's answer is not HTTP");
		return -1;
	}
	if (status != 200) {
		n = strcspn(head, "\r\n");
		snprintf(err, errlen, "the hub refused the download: %.*s",
		    (int)(n > 120 ? 120 : n), head);
		return -1;
	}
	cl = content_length(head);
	if (cl < 0) {
		snprintf(err, errlen, "the hub's answer has no usable "
		    "Content-Length");
		return -1;
	}
	if ((uint64_t)cl != size) {
		snprintf(err, errlen, "the hub sends %" PRId64 " bytes; the "
		    "release is %" PRIu64, cl, size);
		return -1;
	}
	return 0;
}

/* Write n bytes of the body to fd, or say why not. */
static int
body_write(int fd, const char *name, const void *buf, size_t n, char *err,
    size_t errlen)
{
	if (lst_write_all(fd, buf, n) == 0)
		return 0;
	lst_update_errtext(errno, err, errlen);
	snprintf(err + strlen(err), errlen - strlen(err), " writing %s", name);
	return -1;
}

static int
read_body(struct fetch_conn *c, int fd, const char *name, uint64_t size,
    const char *extra, size_t nextra, char *err, size_t errlen)
{
	char *buf;
	uint64_t got;
	ssize_t n;
	int r = -1;

	if (nextra > size)
		nextra = (size_t)size;
	if (body_write(fd, name, extra, nextra, err, errlen) == -1)
		return -1;
	/* owned here: freed below */
	if ((buf = malloc(FETCH_CHUNK)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (got = nextra; got < size; got += (uint64_t)n) {
		n = conn_read(c, buf, size - got < FETCH_CHUNK ?
		    (size_t)(size - got) : FETCH_CHUNK);
		if (n <= 0) {
			snprintf(err, errlen, "download cut short: %" PRIu64
			    " of %" PRIu64 " bytes%s", got, size, n < 0 ?
			    " (read error)" : "");
			goto done;
		}
		if (body_write(fd, name, buf, (size_t)n, err, errlen) == -1)
			goto done;
	}
	r = 0;
done:
	free(buf);
	return r;
}

int
lst_fetch(const struct lst *l, const char *path, int fd, const char *name,
    uint64_t size, char *err, size_t errlen)
{
	struct fetch_conn c = { -1, NULL, NULL };
	char *head, *extra, req[MC_TEXT_MAX + 600], host[300];
	size_t nextra;
	int r = -1;

	/* a hub gone mid-write must be an error return, not our death */
	signal(SIGPIPE, SIG_IGN);
	if (size > MC_RELEASE_MAX) {
		snprintf(err, errlen, "a release of %" PRIu64 " bytes is over "
		    "the limit of %d", size, MC_RELEASE_MAX);
		return -1;
	}
	/* owned here: freed below */
	if ((head = malloc(FETCH_HEAD_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	host_header(&l->url, host, sizeof(host));
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: " LST_PROG "/" MC_VERSION "\r\n"
	    "Connection: close\r\n\r\n", path, host);
	if ((c.fd = tcp_connect(&l->url, err, errlen)) == -1)
		goto done;
	if (l->url.tls && tls_handshake(l, &c, err, errlen) == -1)
		goto done;
	if (conn_write(&c, req, strlen(req)) == -1) {
		snprintf(err, errlen, "cannot send the request to the hub");
		goto done;
	}
	if (read_head(&c, head, &extra, &nextra, err, errlen) == -1 ||
	    check_head(head, size, err, errlen) == -1)
		goto done;
	r = read_body(&c, fd, name, size, extra, nextra, err, errlen);
done:
	conn_close(&c);
	free(head);
	return r;
}
