/*
 * hub_http.c - HTTP replies as data: a status and a JSON body, or a
 * stream of a command's output as newline-delimited JSON.
 *
 * Handlers fill a reply here; hub_ws.c turns it into headers and writes.
 * Every error reply has the same shape, {"error": ..., "code": ...}, made
 * in one function.  A stream replays the command's output from the first
 * byte, then follows it live, then ends with one "end" line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

/* raw output bytes per streamed line */
#define STREAM_PIECE	(16 * 1024)

void
hub_http_reply(struct hub_req *r, int status, struct mc_buf *body)
{
	struct hub_http *h = r->http;

	mc_buf_free(&h->resp);
	h->resp = *body;	/* takes the storage */
	mc_buf_init(body, body->limit);
	h->resp_off = 0;
	h->status = status;
}

void
hub_http_error(struct hub_req *r, int status, const char *code,
    const char *fmt, ...)
{
	char msg[512];
	struct mc_buf b;
	struct mc_jw w;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mc_buf_init(&b, 4096);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "error", msg);
	mc_jw_str(&w, "code", code);
	mc_jw_obj_end(&w);
	mc_buf_puts(&b, "\n");
	hub_http_reply(r, status, &b);
	mc_buf_free(&b);
	if (status >= 500)
		mc_warn("%s: %s %s -> %d %s", r->conn->peer, r->http->method,
		    r->http->path, status, msg);
	else
		mc_debug("%s: %s %s -> %d %s", r->conn->peer, r->http->method,
		    r->http->path, status, msg);
}

struct defer {
	uint64_t	 ticket;
	struct hub_conn	*conn;		/* not owned */
	struct defer	*next;
};

static struct defer	*defers;	/* owned list: replies being made */
static uint64_t		 next_ticket = 1;

uint64_t
hub_http_defer(struct hub_req *r)
{
	struct defer *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		hub_http_error(r, 503, "unavailable", "out of memory");
		return 0;
	}
	d->ticket = next_ticket++;
	d->conn = r->conn;
	d->next = defers;
	defers = d;
	return d->ticket;
}

struct hub_conn *
hub_http_resume(uint64_t ticket)
{
	struct defer **pp, *d;
	struct hub_conn *c;

	for (pp = &defers; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->ticket == ticket) {
			d = *pp;
			*pp = d->next;
			c = d->conn;
			free(d);
			return c;
		}
	}
	return NULL;
}

void
hub_http_forget(struct hub_conn *c)
{
	struct defer **pp = &defers, *d;

	while (*pp != NULL) {
		if ((*pp)->conn == c) {
			d = *pp;
			*pp = d->next;
			free(d);
		} else
			pp = &(*pp)->next;
	}
}

void
hub_http_stream(struct hub_req *r, struct hub_cmd *c)
{
	struct hub_http *h = r->http;

	h->stream = c;
	h->stream_chunk = 0;
	h->stream_off = 0;
	h->stream_done = 0;
	h->stream_ka = 0;	/* say the command's state at once */
	mc_strlcpy(h->stream_id, c->id, sizeof(h->stream_id));
	h->status = 200;
	hub_cmd_subscribe(c, r->conn);
}

/* Cut at most STREAM_PIECE bytes without splitting a UTF-8 sequence. */
static size_t
piece_len(const char *p, size_t avail)
{
	size_t n = avail < STREAM_PIECE ? avail : STREAM_PIECE;

	if (n == avail)
		return n;
	while (n > 1 && ((unsigned char)p[n] & 0xc0) == 0x80)
		n--;
	return n;
}

int
hub_http_stream_next(struct hub_http *h, struct mc_buf *out)
{
	const struct hub_cmd *c = h->stream;
	const struct hub_chunk *ch;
	struct mc_jw w;
	const char *p;
	size_t n;

	if (c == NULL || h->stream_done)
		return 1;
	mc_jw_init(&w, out);
	/* the last chunk may still grow (output of the same stream is
	 * appended to it), so move past a chunk only once a next one exists */
	while (h->stream_chunk + 1 < c->nchunks &&
	    h->stream_off == c->chunks[h->stream_chunk].len) {
		h->stream_chunk++;
		h->stream_off = 0;
	}
	if (h->stream_chunk < c->nchunks &&
	    h->stream_off < c->chunks[h->stream_chunk].len) {
		ch = &c->chunks[h->stream_chunk];
		p = c->out.data + ch->off + h->stream_off;
		n = piece_len(p, ch->len - h->stream_off);
		mc_jw_obj(&w, NULL);
		mc_jw_str(&w, "t", "out");
		mc_jw_str(&w, "stream", ch->stream == MC_STDERR ? "stderr" :
		    "stdout");
		mc_jw_strn(&w, "data", p, n);
		mc_jw_obj_end(&w);
		mc_buf_puts(out, "\n");
		h->stream_off += n;
		return 0;
	}
	if (!hub_cmd_finished(c)) {
		/* a quiet command: a line now and then keeps proxies and
		 * idle timers from closing the stream, and says why */
		if (out->len > 0 || mc_now() < h->stream_ka)
			return -1;
		h->stream_ka = mc_now() + HUB_STREAM_KEEPALIVE;
		mc_jw_obj(&w, NULL);
		mc_jw_str(&w, "t", "wait");
		mc_jw_str(&w, "status", hub_cmd_status_name(c->status));
		mc_jw_obj_end(&w);
		mc_buf_puts(out, "\n");
		return 0;
	}
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "t", "end");
	hub_cmd_write_outcome(&w, c);
	mc_jw_obj_end(&w);
	mc_buf_puts(out, "\n");
	h->stream_done = 1;
	return 1;
}

void
hub_http_free(struct hub_http *h)
{
	if (h == NULL)
		return;
	mc_buf_free(&h->body);
	mc_buf_free(&h->resp);
	hub_http_file_free(h->file);
	free(h);
}
