/*
 * hub_listen.c - the address the hub serves on: --listen taken apart, its
 * address checked, and the bound socket checked against it, so that a hub
 * asked for loopback never answers on the LAN.  hub_ws.c hands the result
 * to libwebsockets.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

int
hub_listen_split(const char *listen, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(listen, ':');
	int64_t p;
	size_t n;

	if (colon == NULL || mc_parse_i64(colon + 1, 1, 65535, &p) == -1)
		return -1;
	n = (size_t)(colon - listen);
	if (n > 1 && listen[0] == '[' && listen[n - 1] == ']') {
		listen++;
		n -= 2;
	}
	if (n >= hostlen)
		return -1;
	memcpy(host, listen, n);
	host[n] = '\0';
	*port = (int)p;
	return 0;
}

/*
 * An empty host is every IPv4 address, "localhost" is 127.0.0.1 (host is
 * rewritten to the literal); anything else must be an IP literal.  A name
 * is refused: it could resolve to anything, and the hub should not look it
 * up at start.
 */
int
hub_listen_family(char *host, int *family, int *any)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (host[0] == '\0')
		mc_strlcpy(host, "0.0.0.0", 8);
	else if (strcmp(host, "localhost") == 0)
		mc_strlcpy(host, "127.0.0.1", 10);
	if (inet_pton(AF_INET, host, &a4) == 1) {
		*family = AF_INET;
		*any = a4.s_addr == htonl(INADDR_ANY);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		*family = AF_INET6;
		*any = 0;
		return 0;
	}
	mc_err("--listen: '%s' is not an IP address (use 127.0.0.1:PORT, "
	    "0.0.0.0:PORT, [::1]:PORT or [::]:PORT)", host);
	return -1;
}

/* Does ss hold the address host (a literal) and port? */
static int
same_addr(const struct sockaddr_storage *ss, const char *host, int port)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	struct in6_addr a6;
	struct in_addr a4;

	if (ss->ss_family == AF_INET)
		return inet_pton(AF_INET, host, &a4) == 1 &&
		    s4->sin_addr.s_addr == a4.s_addr && ntohs(s4->sin_port) ==
		    port;
	if (ss->ss_family == AF_INET6)
		return inet_pton(AF_INET6, host, &a6) == 1 &&
		    memcmp(&s6->sin6_addr, &a6, sizeof(a6)) == 0 &&
		    ntohs(s6->sin6_port) == port;
	return 0;
}

/*
 * lws 4.1 has no getter for a vhost's listening socket, so look at this
 * process's listening sockets, which at start are only that one.
 */
int
hub_listen_verify(const char *host, int port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, on;

	for (fd = 3; fd < 1024; fd++) {
		sl = sizeof(on);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &sl) == -1 ||
		    !on)
			continue;
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
			continue;
		if (same_addr(&ss, host, port))
			return 0;
		mc_err("--listen %s: lws bound another address; refusing to "
		    "serve on more than asked", hub.conf.listen);
		return -1;
	}
	return 0;
}
