/*
 * lst_docker.c - a minimal HTTP/1.1 client for the Docker Engine API on
 * its unix socket; no docker CLI is needed.
 *
 * It runs in forked children (lst_cmd_docker.c, the container tracker's
 * lst_ctr_child.c), so it may block: a command's timeout kills its child,
 * and the tracker's child arms an alarm around each request.
 * Rules kept here:
 * - One request per connection ("Connection: close"), with an optional
 *   JSON body; the response is read to the end of the stream, at most the
 *   caller's body limit plus LST_HTTP_HEAD_MAX of headers (a pull's
 *   progress stream gets a larger limit than an inspect), and then
 *   parsed: a body by
 *   Content-Length, chunked transfer coding, or up to the close.
 * - Connection failures say what to do: no socket (Docker not installed
 *   or not running, or docker_socket points elsewhere) and no permission
 *   (the docker group) each get their own reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lst.h"

#define LST_HTTP_HEAD_MAX	(64 * 1024)

int
lst_docker_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (mc_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) == -1) {
		snprintf(err, errlen, "docker_socket path too long: %s", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR)
		snprintf(err, errlen, "no Docker socket at %s (is Docker "
		    "installed and running? set docker_socket)", path);
	else if (errno == EACCES || errno == EPERM)
		snprintf(err, errlen, "permission denied on %s: add the "
		    "listener's user to the docker group", path);
	else
		snprintf(err, errlen, "cannot connect to %s: %s", path,
		    strerror(errno));
	close(fd);
	return -1;
}

/* Read until the peer closes, at most max bytes.  0, or -1 with err. */
static int
read_all(int fd, struct mc_buf *b, size_t max, char *err, size_t errlen)
{
	char chunk[16384];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "reading from Docker: %s",
			    strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		if (b->len + (size_t)n > max ||
		    mc_buf_append(b, chunk, (size_t)n) == -1) {
			snprintf(err, errlen, "Docker's answer is over %d bytes",
			    (int)max);
			return -1;
		}
	}
}

int
lst_docker_call(const char *sock, const char *method, const char *path,
    struct mc_buf *body, char *err, size_t errlen)
{
	return lst_docker_send(sock, method, path, NULL, 0, body, err, errlen);
}

int
lst_docker_send(const char *sock, const char *method, const char *path,
    const char *json, size_t jlen, struct mc_buf *body, char *err,
    size_t errlen)
{
	struct mc_buf resp;
	char req[2048], clen[64];
	int fd, n, status = -1;

	/* a POST always says its length: the engine waits for a body else */
	clen[0] = '\0';
	if (json != NULL)
		snprintf(clen, sizeof(clen), "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n", jlen);
	else if (strcmp(method, "POST") == 0)
		mc_strlcpy(clen, "Content-Length: 0\r\n", sizeof(clen));
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: docker\r\n"
	    "User-Agent: maestro-listener/%s\r\nConnection: close\r\n%s\r\n",
	    method, path, MC_VERSION, clen);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		snprintf(err, errlen, "request too long");
		return -1;
	}
	fd = lst_docker_connect(sock, err, errlen);
	if (fd == -1)
		return -1;
	/* the response is bounded by what the caller's body may hold */
	mc_buf_init(&resp, body->limit + LST_HTTP_HEAD_MAX);
	if (lst_write_all(fd, req, (size_t)n) == -1 || (json != NULL &&
	    lst_write_all(fd, json, jlen) == -1))
		snprintf(err, errlen, "writing to Docker: %s", strerror(errno));
	else if (read_all(fd, &resp, resp.limit, err, errlen) == 0)
		status = lst_http_parse(resp.data, resp.len, body, err, errlen);
	close(fd);
	mc_buf_free(&resp);
	return status;
}

/* ---- parsing ---- */

/* The end of the line starting at p (its "\r\n"), or NULL. */
static const char *
line_end(const char *p, const char *end)
{
	const char *q;

	for (q = p; q + 1 < end; q++)
		if (q[0] == '\r' && q[1] == '\n')
			return q;
	return NULL;
}

/* Header name (case-insensitive) on the line [p, e): its value or NULL. */
static const char *
header_value(const char *p, const char *e, const char *name, size_t *vlen)
{
	size_t n = strlen(name);

	if ((size_t)(e - p) <= n || strncasecmp(p, name, n) != 0 ||
	    p[n] != ':')
		return NULL;
	p += n + 1;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*vlen = (size_t)(e - p);
	return p;
}

/* A decimal or hex number of at most 15 digits from [p, p+n). */
static int
parse_num(const char *p, size_t n, int base, int64_t *out)
{
	char digits[16];
	size_t i;

	if (n == 0 || n >= sizeof(digits))
		return -1;
	for (i = 0; i < n; i++) {
		if (!(p[i] >= '0' && p[i] <= '9') && !(base == 16 &&
		    ((p[i] >= 'a' && p[i] <= 'f') || (p[i] >= 'A' &&
		    p[i] <= 'F'))))
			return -1;
		digits[i] = p[i];
	}
	digits[n] = '\0';
	*out = (int64_t)strtoll(digits, NULL, base);
	return 0;
}

/* Decode a chunked body from [p, end) into body.  0 or -1. */
static int
dechunk(const char *p, const char *end, struct mc_buf *body, char *err,
    size_t errlen)
{
	const char *e;
	size_t n;
	int64_t size;

	for (;;) {
		e = line_end(p, end);
		if (e == NULL)
			goto bad;
		/* chunk extensions after ';' are allowed and ignored */
		for (n = 0; p + n < e && p[n] != ';'; n++)
			;
		if (parse_num(p, n, 16, &size) == -1)
			goto bad;
		p = e + 2;
		if (size == 0)
			return 0;	/* trailers, if any, are ignored */
		if ((int64_t)(end - p) < size + 2)
			goto bad;
		if (mc_buf_append(body, p, (size_t)size) == -1) {
			snprintf(err, errlen, "Docker's answer is over %zu bytes",
			    body->limit);
			return -1;
		}
		p += size;
		if (p[0] != '\r' || p[1] != '\n')
			goto bad;
		p += 2;
	}
bad:
	snprintf(err, errlen, "Docker sent a malformed chunked body");
	return -1;
}

/* The status line: "HTTP/1.x NNN reason".  The status or -1. */
static int
status_line(const char *p, const char *e)
{
	int64_t st;

	if (e - p < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    parse_num(p + 9, 3, 10, &st) == -1 || (e - p > 12 && p[12] != ' '))
		return -1;
	return (int)st;
}

int
lst_http_parse(const char *resp, size_t n, struct mc_buf *body, char *err,
    size_t errlen)
{
	const char *p = resp, *end = resp + n, *e, *v;
	int status, chunked = 0;
	int64_t clen = -1;
	size_t vlen;

	e = line_end(p, end);
	status = e != NULL ? status_line(p, e) : -1;
	if (status == -1) {
		snprintf(err, errlen, "Docker's answer is not HTTP/1.x");
		return -1;
	}
	for (p = e + 2;; p = e + 2) {
		e = line_end(p, end);
		if (e == NULL) {
			snprintf(err, errlen, "Docker's answer ended in its "
			    "headers");
			return -1;
		}
		if (e == p)
			break;
		v = header_value(p, e, "Content-Length", &vlen);
		if (v != NULL && parse_num(v, vlen, 10, &clen) == -1) {
			snprintf(err, errlen, "Docker sent a bad Content-Length");
			return -1;
		}
		v = header_value(p, e, "Transfer-Encoding", &vlen);
		if (v != NULL && vlen >= 7 &&
		    strncasecmp(v + vlen - 7, "chunked", 7) == 0)
			chunked = 1;
	}
	p = e + 2;
	mc_buf_reset(body);
	if (chunked)
		return dechunk(p, end, body, err, errlen) == -1 ? -1 : status;
	if (clen >= 0) {
		if ((int64_t)(end - p) < clen) {
			snprintf(err, errlen, "Docker's answer is shorter than "
			    "its Content-Length");
			return -1;
		}
		end = p + clen;
	}
	if (mc_buf_append(body, p, (size_t)(end - p)) == -1) {
		snprintf(err, errlen, "Docker's answer is over %zu bytes",
		    body->limit);
		return -1;
	}
	return status;
}

void
lst_docker_message(const struct mc_buf *body, int status, char *out,
    size_t size)
{
	struct mc_jdoc *d = NULL;
	const char *msg = NULL;
	char err[64];

	if (body->len > 0)
		d = mc_json_parse(body->data, body->len, err, sizeof(err));
	if (d != NULL)
		msg = mc_json_str(mc_json_root(d), "message");
	if (msg != NULL && msg[0] != '\0')
		mc_strlcpy(out, msg, size);
	else
		snprintf(out, size, "Docker answered HTTP %d", status);
	mc_json_free(d);
}

int
lst_url_escape(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~') {
			if (o + 1 >= size)
				return -1;
			out[o++] = (char)ch;
			continue;
		}
		if (o + 3 >= size)
			return -1;
		out[o++] = '%';
		out[o++] = hex[ch >> 4];
		out[o++] = hex[ch & 15];
	}
	if (o >= size)
		return -1;
	out[o] = '\0';
	return 0;
}

/* %-escape an image reference for a path: '/', ':' and '@' stay, as the
 * engine's routes take them. */
int
lst_docker_ref_path(const char *ref, char *out, size_t size)
{
	char part[MC_IMAGE_MAX * 3];
	size_t o = 0, n;
	const char *p;

	for (p = ref; *p != '\0'; p += n) {
		n = strcspn(p, "/:@");
		if (n == 0) {
			if (o + 1 >= size)
				return -1;
			out[o++] = *p;
			n = 1;
			continue;
		}
		if (n >= sizeof(part))
			return -1;
		memcpy(part, p, n);
		part[n] = '\0';
		if (lst_url_escape(part, out + o, size - o) == -1)
			return -1;
		o += strlen(out + o);
	}
	out[o] = '\0';
	return 0;
}

const char *
lst_docker_ref_short(const char *ref)
{
	if (strncmp(ref, "docker.io/", 10) == 0)
		ref += 10;
	if (strncmp(ref, "library/", 8) == 0)
		ref += 8;
	return ref;
}
