/*
 * rtt.c - the command round trip through the hub's REST API, timed by a
 * client whose own cost is small next to what it measures.
 *
 *   rtt --hub http://127.0.0.1:PORT --token-file FILE --agents N
 *       [--count 500] [--prefix swarm]
 *
 * One round trip: POST /api/agents/NAME/command {"type":"shell","cmd":
 * "true"} to a random agent PREFIX-00001..N, then GET the command's stream
 * until its end line.  Keep-alive connections are reused; a connection the
 * hub closes is opened again, inside the timing.  Prints one line:
 *
 *   n=500 failed=0 p50_ms=0.412 p99_ms=0.803 max_ms=1.920
 *
 * Plain HTTP only (bench/run measures round trips without TLS), loopback
 * or any IPv4 address; every read has a deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mc_config.h"
#include "mc_json.h"
#include "mc_util.h"

#define RTT_IO_MS	10000	/* longest wait for one reply */
#define RTT_REPLY_MAX	(256 * 1024)
#define RTT_COUNT_MAX	100000

struct rtt_conf {
	char	hub[256];
	char	token_file[MC_PATH_MAX];
	int	agents;
	int	count;
	char	prefix[32];
};

struct rtt {
	struct rtt_conf	 conf;
	struct sockaddr_in addr;
	char		 token[256];
	int		 fd;		/* -1 when closed */
	char		 buf[RTT_REPLY_MAX];
	size_t		 len;		/* bytes read into buf */
	size_t		 body;		/* where the body starts */
	int		 keep;		/* the hub keeps the connection */
};

#define OFF(f)	offsetof(struct rtt_conf, f)
#define SZ(f)	sizeof(((struct rtt_conf *)0)->f)
static const struct mc_opt opts[] = {
	{ "hub", MC_OPT_STR, OFF(hub), SZ(hub), 0, 0, NULL },
	{ "token_file", MC_OPT_STR, OFF(token_file), SZ(token_file), 0, 0,
	    NULL },
	{ "agents", MC_OPT_INT, OFF(agents), sizeof(int), 1, 1000000, NULL },
	{ "count", MC_OPT_INT, OFF(count), sizeof(int), 1, RTT_COUNT_MAX,
	    NULL },
	{ "prefix", MC_OPT_STR, OFF(prefix), SZ(prefix), 0, 0, NULL },
	MC_OPT_END
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
conn_close(struct rtt *r)
{
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
}

static int
conn_open(struct rtt *r)
{
	int one = 1;

	if (r->fd != -1)
		return 0;
	if ((r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(r->fd, (struct sockaddr *)&r->addr, sizeof(r->addr)) == 0)
		return 0;
	conn_close(r);
	return -1;
}

static int
send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read more into r->buf; 0 at EOF, -1 on error, timeout or a full buf. */
static ssize_t
read_more(struct rtt *r)
{
	struct pollfd p = { .fd = r->fd, .events = POLLIN };
	ssize_t n;

	if (r->len + 1 >= sizeof(r->buf) || poll(&p, 1, RTT_IO_MS) != 1)
		return -1;
	do
		n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len,
		    0);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		r->len += (size_t)n;
		r->buf[r->len] = '\0';
	}
	return n;
}

/* Is the body complete: by Content-Length, the last chunk, or EOF? */
static int
body_done(const struct rtt *r, long clen, int chunked)
{
	size_t have = r->len - r->body;

	if (clen >= 0)
		return have >= (size_t)clen;
	if (chunked)
		return have >= 5 &&
		    memcmp(r->buf + r->len - 5, "0\r\n\r\n", 5) == 0;
	return 0;
}

/* Read one reply; its status, or -1.  The body stays in r->buf. */
static int
read_reply(struct rtt *r)
{
	char *end, *h;
	long clen = -1;
	int status, chunked;
	ssize_t n;

	r->len = 0;
	while ((end = strstr(r->buf, "\r\n\r\n")) == NULL || r->len == 0)
		if (read_more(r) <= 0)
			return -1;
	r->body = (size_t)(end - r->buf) + 4;
	if (sscanf(r->buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	*end = '\0';
	if ((h = strcasestr(r->buf, "\r\ncontent-length:")) != NULL)
		clen = strtol(h + 17, NULL, 10);
	chunked = strcasestr(r->buf, "\r\ntransfer-encoding: chunked") !=
	    NULL;
	r->keep = strcasestr(r->buf, "\r\nconnection: close") == NULL;
	*end = '\r';
	while (!body_done(r, clen, chunked)) {
		if ((n = read_more(r)) < 0)
			return -1;
		if (n == 0)
			break;
	}
	return status;
}

static int
request(struct rtt *r, const char *method, const char *path,
    const char *body)
{
	char req[1024];
	int n, status;

	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: hub\r\n"
	    "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", method, path, r->token,
	    body ? strlen(body) : 0, body ? body : "");
	if (n < 0 || (size_t)n >= sizeof(req) || conn_open(r) == -1)
		return -1;
	if (send_all(r->fd, req, (size_t)n) == -1) {
		conn_close(r);
		return -1;
	}
	status = read_reply(r);
	if (status == -1 || !r->keep)
		conn_close(r);
	return status;
}

/* One round trip to a random agent; its milliseconds, or -1. */
static double
round_trip(struct rtt *r)
{
	char path[256], id[64], err[128];
	const char *s;
	struct mc_jdoc *d;
	double t0 = now_ms();

	snprintf(path, sizeof(path), "/api/agents/%s-%05d/command",
	    r->conf.prefix, 1 + (int)(random() % r->conf.agents));
	if (request(r, "POST", path, "{\"type\":\"shell\",\"cmd\":\"true\"}")
	    != 202)
		return -1;
	d = mc_json_parse(r->buf + r->body, r->len - r->body, err,
	    sizeof(err));
	s = d ? mc_json_str(mc_json_root(d), "id") : NULL;
	if (s == NULL || mc_strlcpy(id, s, sizeof(id)) == -1) {
		mc_json_free(d);
		return -1;
	}
	mc_json_free(d);
	snprintf(path, sizeof(path), "/api/commands/%s/stream", id);
	if (request(r, "GET", path, NULL) != 200 ||
	    strstr(r->buf + r->body, "\"t\":\"end\"") == NULL)
		return -1;
	return now_ms() - t0;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
setup(struct rtt *r, int argc, char **argv)
{
	char err[300], *tok;
	struct mc_url u;
	int npos;

	r->conf.count = 500;
	mc_strlcpy(r->conf.prefix, "swarm", sizeof(r->conf.prefix));
	if (mc_args_apply(argc, argv, opts, &r->conf, &npos, NULL, err,
	    sizeof(err)) == -1 || r->conf.hub[0] == '\0' ||
	    r->conf.agents == 0 || r->conf.token_file[0] == '\0') {
		fprintf(stderr, "rtt: %s\nusage: rtt --hub http://ADDR:PORT "
		    "--token-file FILE --agents N [--count 500] [--prefix "
		    "swarm]\n", npos == 0 && err[0] ? err : "missing option");
		return -1;
	}
	if (mc_url_parse(r->conf.hub, &u, err, sizeof(err)) == -1 || u.tls ||
	    inet_pton(AF_INET, u.host, &r->addr.sin_addr) != 1) {
		fprintf(stderr, "rtt: --hub must be http://IPV4:PORT\n");
		return -1;
	}
	r->addr.sin_family = AF_INET;
	r->addr.sin_port = htons((uint16_t)u.port);
	if ((tok = mc_read_file(r->conf.token_file, 200, NULL)) == NULL) {
		fprintf(stderr, "rtt: cannot read %s\n", r->conf.token_file);
		return -1;
	}
	mc_strlcpy(r->token, mc_trim(tok), sizeof(r->token));
	free(tok);
	r->fd = -1;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct rtt r;
	double *ms;
	int i, n = 0, failed = 0;

	if (setup(&r, argc, argv) == -1)
		return 2;
	if ((ms = calloc((size_t)r.conf.count, sizeof(*ms))) == NULL)
		return 1;
	srandom((unsigned)time(NULL));
	for (i = 0; i < r.conf.count; i++) {
		double t = round_trip(&r);

		if (t < 0)
			failed++;
		else
			ms[n++] = t;
	}
	conn_close(&r);
	qsort(ms, (size_t)n, sizeof(*ms), cmp_dbl);
	if (n > 0)
		printf("n=%d failed=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
		    n, failed, ms[n / 2], ms[(n * 99) / 100 < n ?
		    (n * 99) / 100 : n - 1], ms[n - 1]);
	else
		printf("n=0 failed=%d\n", failed);
	free(ms);
	return n > 0 ? 0 : 1;
}
