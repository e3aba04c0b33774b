/*
 * hub_admit.c - admission control: who may open a connection, and how
 * long a connection may take to say what it wants.
 *
 * After a hub restart every agent connects again within seconds, and each
 * new connection costs a TLS handshake: tens of thousands at once.  lws
 * keeps every connection in a handshake on a sorted timeout list (O(n) to
 * insert), so the loop slows down as they pile up and nobody gets in, an
 * operator's hubctl included.  And one host alone can do the same on
 * purpose: a thousand TCP connections that never start TLS, opened again
 * and again, would fill every handshake slot.  So, before any TLS work:
 *  - at most handshake_max connections may be between accept and their
 *    first request, at most handshake_per_ip of them from one address;
 *  - at most connections_per_ip connections from one address in all;
 *  - a connection that has not made its first request handshake_timeout
 *    after its accept is closed.
 * A connection over a limit is closed at once; a listener tries again
 * after its backoff, hubctl after a short wait.  0 turns a limit off.
 *
 * The records here are keyed by the peer's address; each connection's
 * record hangs off its wsi (hub_ws.c keeps the pointer) and is freed with
 * it, so nothing here outlives its connection.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

#define SRC_BUCKETS	1024

/* one source address */
struct admit_src {
	unsigned char	 addr[16];	/* IPv4 as ::ffff:a.b.c.d */
	int		 conns;		/* open connections */
	int		 handshakes;	/* of them, before their first request */
	double		 last_log;	/* monotonic: last "refused" log line */
	struct admit_src *next;		/* hash chain */
};

/* one connection */
struct hub_admit {
	void		*wsi;		/* not owned: closed by hub_ws */
	struct admit_src *src;
	double		 deadline;	/* monotonic; 0 after the handshake */
	struct hub_admit *prev, *next;	/* the handshake list, oldest first */
};

static struct {
	struct admit_src *srcs[SRC_BUCKETS];	/* owned chains */
	struct hub_admit *oldest, *newest;	/* connections in handshake */
	int		 handshakes;
	uint64_t	 refused_busy, refused_source, timeouts;
} adm;

/* The peer of fd as 16 bytes; -1 if it has none (not a TCP socket). */
static int
peer_addr(int fd, unsigned char out[16])
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	if (ss.ss_family == AF_INET6) {
		memcpy(out, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		return 0;
	}
	if (ss.ss_family != AF_INET)
		return -1;
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	return 0;
}

static struct admit_src **
src_slot(const unsigned char addr[16])
{
	struct admit_src **pp;

	for (pp = &adm.srcs[mc_hash(addr, 16) % SRC_BUCKETS]; *pp != NULL; pp = &(*pp)->next)
		if (memcmp((*pp)->addr, addr, 16) == 0)
			break;
	return pp;
}

static void
addr_text(const unsigned char addr[16], char *out, size_t outlen)
{
	static const unsigned char v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (memcmp(addr, v4, 12) == 0)
		inet_ntop(AF_INET, addr + 12, out, (socklen_t)outlen);
	else
		inet_ntop(AF_INET6, addr, out, (socklen_t)outlen);
}

/* One line per address at most every 10 s: a flood must not flood the
 * log too. */
static void
log_refused(struct admit_src *s, const unsigned char addr[16],
    const char *why)
{
	char ip[INET6_ADDRSTRLEN];
	double now = mc_now();

	if (s != NULL && now - s->last_log < 10)
		return;
	if (s != NULL)
		s->last_log = now;
	addr_text(addr, ip, sizeof(ip));
	mc_warn("%s: connection refused: %s", ip, why);
}

int
hub_admit_accept(int fd)
{
	const struct hub_conf *c = &hub.conf;
	unsigned char addr[16];
	struct admit_src *s;

	if (c->handshake_max > 0 && adm.handshakes >= c->handshake_max) {
		adm.refused_busy++;
		return -1;
	}
	if (peer_addr(fd, addr) == -1)
		return 0;
	if ((s = *src_slot(addr)) == NULL)
		return 0;
	if (c->handshake_per_ip > 0 && s->handshakes >= c->handshake_per_ip) {
		adm.refused_source++;
		log_refused(s, addr, "too many connections from this address "
		    "in their handshake (handshake_per_ip)");
		return -1;
	}
	if (c->connections_per_ip > 0 && s->conns >= c->connections_per_ip) {
		adm.refused_source++;
		log_refused(s, addr, "too many connections from this address "
		    "(connections_per_ip)");
		return -1;
	}
	return 0;
}

static void
list_unlink(struct hub_admit *a)
{
	if (a->prev)
		a->prev->next = a->next;
	else
		adm.oldest = a->next;
	if (a->next)
		a->next->prev = a->prev;
	else
		adm.newest = a->prev;
	a->prev = a->next = NULL;
}

struct hub_admit *
hub_admit_start(void *wsi, int fd)
{
	unsigned char addr[16];
	struct admit_src **pp, *s = NULL;
	struct hub_admit *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if (peer_addr(fd, addr) == 0) {
		pp = src_slot(addr);
		if (*pp == NULL && (*pp = calloc(1, sizeof(**pp))) != NULL)
			memcpy((*pp)->addr, addr, 16);
		s = *pp;
	}
	if (s != NULL) {
		s->conns++;
		s->handshakes++;
	}
	a->wsi = wsi;
	a->src = s;
	a->deadline = mc_now() + hub.conf.handshake_timeout;
	a->prev = adm.newest;
	if (adm.newest)
		adm.newest->next = a;
	else
		adm.oldest = a;
	adm.newest = a;
	adm.handshakes++;
	return a;
}

void
hub_admit_request(struct hub_admit *a)
{
	if (a == NULL || a->deadline == 0)
		return;
	list_unlink(a);
	a->deadline = 0;
	adm.handshakes--;
	if (a->src)
		a->src->handshakes--;
}

void
hub_admit_end(struct hub_admit *a)
{
	struct admit_src **pp;

	if (a == NULL)
		return;
	hub_admit_request(a);
	if (a->src != NULL && --a->src->conns == 0) {
		pp = src_slot(a->src->addr);
		*pp = a->src->next;
		free(a->src);
	}
	free(a);
}

void
hub_admit_cron(double now)
{
	struct hub_admit *a;

	if (hub.conf.handshake_timeout <= 0)
		return;
	/* every deadline is accept + the same timeout: oldest first */
	while ((a = adm.oldest) != NULL && a->deadline <= now) {
		adm.timeouts++;
		hub_admit_request(a);
		hub_ws_close_soon(a->wsi);
	}
}

void
hub_admit_stats(struct hub_admit_stats *st)
{
	st->handshakes = adm.handshakes;
	st->refused_busy = adm.refused_busy;
	st->refused_source = adm.refused_source;
	st->timeouts = adm.timeouts;
}

void
hub_admit_free_all(void)
{
	struct admit_src *s, *next;
	int i;

	for (i = 0; i < SRC_BUCKETS; i++) {
		for (s = adm.srcs[i]; s != NULL; s = next) {
			next = s->next;
			free(s);
		}
		adm.srcs[i] = NULL;
	}
}
