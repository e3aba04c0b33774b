/*
 * hub_conn.c - what every peer connection has: a bounded outgoing queue,
 * message reassembly with a size limit, and the one way to refuse a peer.
 *
 * Rules kept here: a peer's queue never exceeds MC_PEER_QUEUE_MAX bytes (a
 * peer that does not read is dropped, never buffered forever); a message
 * over MC_MSG_MAX closes that peer with 1009; a refused peer gets an
 * "error" message saying why, the hub log says why with its address, and
 * only then is it closed.  Nothing here frees a connection: the adapter
 * closes it from its own callback.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

struct hub_outq {
	struct hub_outq	*next;
	size_t		 len;
	int		 binary;	/* a terminal's data, else JSON text */
	unsigned char	 data[];	/* HUB_PRE headroom, then len bytes */
};

void
hub_conn_init(struct hub_conn *c, void *wsi, enum hub_role role)
{
	memset(c, 0, sizeof(*c));
	c->wsi = wsi;
	c->role = role;
	mc_buf_init(&c->rx, MC_MSG_MAX);
}

void
hub_conn_destroy(struct hub_conn *c)
{
	struct hub_outq *q, *next;

	hub_db_find_forget(c);
	if (c->role == CONN_AGENT) {
		hub_term_agent_gone(c);
		hub_agent_detach(c);
	}
	if (c->role == CONN_UI)
		hub_ui_close(c);
	if (c->role == CONN_TERM)
		hub_term_client_close(c);
	if (c->http) {
		hub_http_forget(c);
		if (c->http->stream)
			hub_cmd_unsubscribe(c->http->stream, c);
		hub_http_free(c->http);
		c->http = NULL;
	}
	for (q = c->outq; q != NULL; q = next) {
		next = q->next;
		free(q);
	}
	c->outq = c->outq_tail = NULL;
	c->outq_bytes = 0;
	mc_buf_free(&c->rx);
}

/* Queue head and data as one message. */
static int
conn_queue(struct hub_conn *c, int binary, const void *head, size_t hlen,
    const void *data, size_t len)
{
	struct hub_outq *q;

	len += hlen;
	if (c->closing)
		return -1;
	if (c->outq_bytes + len > MC_PEER_QUEUE_MAX) {
		mc_warn("%s: peer is not reading (%zu bytes queued); dropping "
		    "it", c->peer, c->outq_bytes);
		c->closing = 1;
		c->close_code = 1008;
		hub_ws_close_soon(c->wsi);
		return -1;
	}
	if ((q = malloc(sizeof(*q) + HUB_PRE + len)) == NULL)
		return -1;
	q->next = NULL;
	q->len = len;
	q->binary = binary;
	if (hlen > 0)
		memcpy(q->data + HUB_PRE, head, hlen);
	memcpy(q->data + HUB_PRE + hlen, data, len - hlen);
	if (c->outq_tail)
		c->outq_tail->next = q;
	else
		c->outq = q;
	c->outq_tail = q;
	c->outq_bytes += len;
	if (c->bus)
		hub_ws_wake();	/* hub_bus_term.c sends it on, next turn */
	else
		hub_ws_want_write(c->wsi);
	return 0;
}

int
hub_conn_send(struct hub_conn *c, const char *buf, size_t len)
{
	return conn_queue(c, 0, NULL, 0, buf, len);
}

int
hub_conn_send_bin(struct hub_conn *c, const void *head, size_t hlen,
    const void *data, size_t len)
{
	return conn_queue(c, 1, head, hlen, data, len);
}

int
hub_conn_peek(struct hub_conn *c, unsigned char **buf, size_t *len,
    int *binary)
{
	if (c->outq == NULL)
		return -1;
	*buf = c->outq->data + HUB_PRE;
	*len = c->outq->len;
	*binary = c->outq->binary;
	return 0;
}

void
hub_conn_pop(struct hub_conn *c)
{
	struct hub_outq *q = c->outq;

	if (q == NULL)
		return;
	c->outq = q->next;
	if (c->outq == NULL)
		c->outq_tail = NULL;
	c->outq_bytes -= q->len;
	/* a terminal client took this much output: its window opens */
	if (q->binary && c->role == CONN_TERM)
		hub_term_client_wrote(c, q->len);
	free(q);
}

void
hub_conn_fail(struct hub_conn *c, int close_code, const char *code,
    const char *fmt, ...)
{
	struct mc_error e;
	struct mc_buf b;
	va_list ap;

	if (c->closing)
		return;
	memset(&e, 0, sizeof(e));
	mc_strlcpy(e.code, code, sizeof(e.code));
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	mc_warn("%s%s%s: refused (%s): %s; closing", c->peer,
	    c->agent ? " agent " : "", c->agent ? c->agent->name : "", code,
	    e.msg);
	hub.stats.refused++;
	mc_buf_init(&b, MC_TEXT_MAX * 4);
	if (mc_error_encode(&b, &e) == 0)
		hub_conn_send(c, b.data, b.len);
	mc_buf_free(&b);
	c->closing = 1;
	c->close_code = close_code;
	hub_ws_want_write(c->wsi);
}

void
hub_conn_warn(struct hub_conn *c, const char *code, const char *fmt, ...)
{
	struct mc_error e;
	struct mc_buf b;
	va_list ap;

	if (c->closing || (c->warned > 0 && mc_now() - c->warned < 60))
		return;
	c->warned = mc_now();
	memset(&e, 0, sizeof(e));
	mc_strlcpy(e.code, code, sizeof(e.code));
	e.warning = 1;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	mc_warn("%s%s%s: %s: %s (told the peer; at most once a minute)",
	    c->peer, c->agent ? " agent " : "", c->agent ? c->agent->name : "",
	    code, e.msg);
	mc_buf_init(&b, MC_TEXT_MAX * 4);
	if (mc_error_encode(&b, &e) == 0)
		hub_conn_send(c, b.data, b.len);
	mc_buf_free(&b);
}

static void
deliver(struct hub_conn *c, const char *buf, size_t len, int binary)
{
	if (c->role == CONN_AGENT && binary)
		hub_term_agent_data(c, buf, len);
	else if (c->role == CONN_AGENT)
		hub_agent_handle(c, buf, len);
	else if (c->role == CONN_UI)
		hub_ui_handle(c, buf, len);
}

/*
 * A message that arrives in one piece, as nearly every heartbeat does, is
 * handled straight from lws's buffer.  Pieces of a longer one are joined
 * in c->rx, which is given back afterwards: across 100,000 mostly idle
 * connections a kept buffer each would cost more than the agents.
 */
int
hub_conn_on_receive(struct hub_conn *c, const void *in, size_t len,
    int final, int binary)
{
	if (c->closing)
		return 0;
	if (final && c->rx.len == 0) {
		deliver(c, in, len, binary);
		return 0;
	}
	if (mc_buf_append(&c->rx, in, len) == -1) {
		mc_buf_free(&c->rx);
		hub_conn_fail(c, 1009, MC_ERR_TOO_LARGE, "message over the %d "
		    "byte limit", MC_MSG_MAX);
		return 0;
	}
	if (!final)
		return 0;
	deliver(c, c->rx.data, c->rx.len, binary);
	mc_buf_free(&c->rx);
	return 0;
}
