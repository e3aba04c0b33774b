/*
 * hub_proxy.c - who a request comes from, also behind a reverse proxy.
 *
 * Behind nginx every request comes from the proxy's address, so the
 * failed-authentication limit (hub_guard.c) would block everybody for one
 * bad client, and the logs would name the proxy.  trusted_proxies lists
 * the proxies (addresses or CIDR prefixes); only for a request from one
 * of them is X-Forwarded-For read, from the right: the first address that
 * is not a trusted proxy is the client.  Anybody can write that header,
 * so it is never read from an address not listed: by default, none.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "mc_util.h"

#define PROXY_MAX	32

struct prefix {
	int		 family;
	unsigned char	 addr[16];
	int		 bits;
};

static struct {
	struct prefix	 p[PROXY_MAX];
	int		 n;
} px;

/* "10.0.0.1", "::1" or "10.0.0.0/8" -> p; 0, or -1 if it is not one. */
static int
prefix_parse(const char *s, struct prefix *p)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int64_t bits;

	if (n == 0 || n >= sizeof(ip))
		return -1;
	memcpy(ip, s, n);
	ip[n] = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, ip, p->addr) == 1) {
		p->family = AF_INET;
		p->bits = 32;
	} else if (inet_pton(AF_INET6, ip, p->addr) == 1) {
		p->family = AF_INET6;
		p->bits = 128;
	} else
		return -1;
	if (slash != NULL) {
		if (mc_parse_i64(slash + 1, 0, p->bits, &bits) == -1)
			return -1;
		p->bits = (int)bits;
	}
	return 0;
}

static int
prefix_has(const struct prefix *p, const struct prefix *a)
{
	int full = p->bits / 8, rest = p->bits % 8;

	if (p->family != a->family || memcmp(p->addr, a->addr, full) != 0)
		return 0;
	return rest == 0 || ((p->addr[full] ^ a->addr[full]) &
	    (0xff << (8 - rest)) & 0xff) == 0;
}

int
hub_proxy_parse(const char *list, int install, char *err, size_t errlen)
{
	struct prefix set[PROXY_MAX];
	char item[64];
	const char *s = list;
	size_t len;
	int n = 0;

	while (*s != '\0') {
		s += strspn(s, ", \t");
		if ((len = strcspn(s, ", \t")) == 0)
			break;
		if (len >= sizeof(item) || n == PROXY_MAX) {
			snprintf(err, errlen, "trusted_proxies: at most %d "
			    "addresses of at most %zu characters", PROXY_MAX,
			    sizeof(item) - 1);
			return -1;
		}
		memcpy(item, s, len);
		item[len] = '\0';
		if (prefix_parse(item, &set[n++]) == -1) {
			snprintf(err, errlen, "trusted_proxies: '%s' is not an "
			    "address or ADDRESS/BITS", item);
			return -1;
		}
		s += len;
	}
	if (install) {
		memcpy(px.p, set, sizeof(set[0]) * (size_t)n);
		px.n = n;
	}
	return 0;
}

static int
trusted(const char *addr)
{
	struct prefix a;
	int i;

	if (px.n == 0 || prefix_parse(addr, &a) == -1)
		return 0;
	a.bits = a.family == AF_INET ? 32 : 128;
	for (i = 0; i < px.n; i++)
		if (prefix_has(&px.p[i], &a))
			return 1;
	return 0;
}

void
hub_peer_addr(const char *peer, char *out, size_t outlen)
{
	const char *colon = strrchr(peer, ':');
	size_t n = colon ? (size_t)(colon - peer) : strlen(peer);

	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, peer, n);
	out[n] = '\0';
}

/* The last address in xff[0..end) not a trusted proxy; end moves left. */
static int
xff_prev(const char *xff, size_t *end, char *out, size_t outlen)
{
	size_t e = *end, b;

	while (e > 0 && (xff[e - 1] == ' ' || xff[e - 1] == ','))
		e--;
	for (b = e; b > 0 && xff[b - 1] != ',' && xff[b - 1] != ' '; b--)
		;
	if (e == b || e - b >= outlen)
		return -1;
	memcpy(out, xff + b, e - b);
	out[e - b] = '\0';
	*end = b;
	return 0;
}

void
hub_proxy_client(const char *peer, const char *xff, char *out,
    size_t outlen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	struct prefix check;
	size_t end = xff != NULL ? strlen(xff) : 0;

	hub_peer_addr(peer, out, outlen);
	if (end == 0 || !trusted(out))
		return;
	while (xff_prev(xff, &end, addr, sizeof(addr)) == 0) {
		if (strchr(addr, '/') != NULL ||
		    prefix_parse(addr, &check) == -1)
			return;	/* not an address: trust what we saw */
		mc_strlcpy(out, addr, outlen);
		if (!trusted(addr))
			return;
	}
}
