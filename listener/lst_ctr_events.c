/*
 * lst_ctr_events.c - the Docker engine's event stream, container events
 * only: one GET /events that the engine answers with a chunked body that
 * never ends, one JSON object and a newline per event.  In the tracker's
 * child (lst_ctr_child.c), which polls the descriptor and reads it here
 * once it is readable, so the read itself never waits.
 *
 * Rules kept here:
 * - The head is read once, blocking, under the child's alarm; a status
 *   other than 200 is the engine's refusal and ends the attempt.
 * - The body is decoded as it comes (chunk sizes, data, CRLF) and split
 *   on newlines; one event is at most LST_CTR_EVENT_MAX bytes, and a
 *   longer one breaks the stream (the child reconnects and lists again,
 *   so nothing is lost but time).
 * - The end of the stream (the last chunk, EOF, an error) is reported
 *   once as -1 with a reason; the caller closes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lst.h"

/* {"type":["container"]}, URL-encoded */
#define EVENTS_PATH	"/v1.41/events?filters=%7B%22type%22%3A%5B%22" \
			"container%22%5D%7D"

static const char events_req[] =
	"GET " EVENTS_PATH " HTTP/1.1\r\nHost: docker\r\n"
	"User-Agent: maestro-listener/" MC_VERSION "\r\n\r\n";

void
lst_ctr_events_close(struct lst_ctr_events *ev)
{
	if (ev->fd >= 0)
		close(ev->fd);
	ev->fd = -1;
	mc_buf_free(&ev->raw);
	mc_buf_free(&ev->body);
}

/* Read the head into ev->raw; what follows it stays there.  0 or -1. */
static int
read_head(struct lst_ctr_events *ev, char *err, size_t errlen)
{
	char chunk[4096], *end;
	ssize_t n;

	for (;;) {
		end = ev->raw.len > 0 ? memmem(ev->raw.data, ev->raw.len,
		    "\r\n\r\n", 4) : NULL;
		if (end != NULL)
			break;
		n = read(ev->fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || mc_buf_append(&ev->raw, chunk, (size_t)n) == -1) {
			snprintf(err, errlen, "the engine closed the event "
			    "stream before its head");
			return -1;
		}
	}
	*end = '\0';
	if (strncmp(ev->raw.data, "HTTP/1.1 200", 12) != 0 &&
	    strncmp(ev->raw.data, "HTTP/1.0 200", 12) != 0) {
		snprintf(err, errlen, "the engine refused the event stream: "
		    "%.60s", ev->raw.data);
		return -1;
	}
	ev->chunked = strcasestr(ev->raw.data, "\r\ntransfer-encoding: "
	    "chunked") != NULL;
	mc_buf_consume(&ev->raw, (size_t)(end + 4 - ev->raw.data));
	return 0;
}

int
lst_ctr_events_open(struct lst_ctr_events *ev, const char *sock, char *err,
    size_t errlen)
{
	memset(ev, 0, sizeof(*ev));
	mc_buf_init(&ev->raw, LST_CTR_EVENT_MAX + 4096);
	mc_buf_init(&ev->body, LST_CTR_EVENT_MAX);
	ev->fd = lst_docker_connect(sock, err, errlen);
	if (ev->fd == -1)
		goto fail;
	if (lst_write_all(ev->fd, events_req, sizeof(events_req) - 1) == -1) {
		snprintf(err, errlen, "writing to Docker: %s", strerror(errno));
		goto fail;
	}
	if (read_head(ev, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	lst_ctr_events_close(ev);
	return -1;
}

/* Move decoded body bytes from ev->raw into ev->body.  0, 1 at the last
 * chunk, -1 when the chunking is broken. */
static int
dechunk(struct lst_ctr_events *ev)
{
	char *e, *stop;
	size_t k;
	long size;

	while (ev->raw.len > 0) {
		if (ev->left > 0) {
			k = ev->raw.len < (size_t)ev->left ? ev->raw.len :
			    (size_t)ev->left;
			if (mc_buf_append(&ev->body, ev->raw.data, k) == -1)
				return -1;
			mc_buf_consume(&ev->raw, k);
			ev->left -= (int64_t)k;
			ev->crlf = ev->left == 0;
			continue;
		}
		if (ev->crlf) {
			if (ev->raw.len < 2)
				return 0;
			mc_buf_consume(&ev->raw, 2);
			ev->crlf = 0;
			continue;
		}
		e = memmem(ev->raw.data, ev->raw.len, "\r\n", 2);
		if (e == NULL)
			return ev->raw.len > 64 ? -1 : 0;
		size = strtol(ev->raw.data, &stop, 16);
		if (stop == ev->raw.data || size < 0 || size > LST_CTR_EVENT_MAX)
			return -1;
		mc_buf_consume(&ev->raw, (size_t)(e + 2 - ev->raw.data));
		if (size == 0)
			return 1;
		ev->left = size;
	}
	return 0;
}

/* Hand each whole line of ev->body to fn. */
static void
lines(struct lst_ctr_events *ev, void (*fn)(void *, const char *, size_t),
    void *arg)
{
	char *nl;
	size_t n;

	while (ev->body.len > 0 &&
	    (nl = memchr(ev->body.data, '\n', ev->body.len)) != NULL) {
		n = (size_t)(nl - ev->body.data);
		if (n > 0)
			fn(arg, ev->body.data, n);
		mc_buf_consume(&ev->body, n + 1);
	}
}

int
lst_ctr_events_read(struct lst_ctr_events *ev,
    void (*fn)(void *arg, const char *line, size_t n), void *arg, char *err,
    size_t errlen)
{
	char chunk[16384];
	ssize_t n;
	int r = 0;

	n = read(ev->fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		snprintf(err, errlen, "%s", n == 0 ? "the engine closed the "
		    "event stream" : strerror(errno));
		return -1;
	}
	if (ev->chunked) {
		if (mc_buf_append(&ev->raw, chunk, (size_t)n) == -1)
			r = -1;
		else
			r = dechunk(ev);
	} else if (mc_buf_append(&ev->body, chunk, (size_t)n) == -1)
		r = -1;
	lines(ev, fn, arg);
	if (r == 1)
		snprintf(err, errlen, "the engine ended the event stream");
	else if (r == -1 || ev->body.len >= ev->body.limit)
		snprintf(err, errlen, "the event stream is malformed, or an "
		    "event is over %d bytes", LST_CTR_EVENT_MAX);
	return r != 0 || ev->body.len >= ev->body.limit ? -1 : 0;
}
