/*
 * hub_ws_http.c - an HTTP request as libwebsockets hands it over: its
 * headers and body into a struct hub_http for hub_api.c, and the reply
 * written back (whole, in pieces from a file, or as a command's stream).
 *
 * Writes happen only in WRITEABLE, one lws_write per callback, at most
 * HTTP_PIECE bytes of body each, from one buffer with LWS_PRE headroom
 * (the loop is single-threaded: one write at a time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "hub.h"
#include "hub_ws.h"
#include "mc_util.h"

/* bytes of an HTTP reply body written per WRITEABLE */
#define HTTP_PIECE	(32 * 1024)
/* a chunk's size line and CRLF, plus the last chunk "0\r\n\r\n" */
#define CHUNK_FRAME	32

static unsigned char wbuf[LWS_PRE + HTTP_PIECE + 1024 + CHUNK_FRAME];

static const char *
http_method(struct lws *wsi)
{
	static const struct { enum lws_token_indexes tok; const char *m; }
	    methods[] = {
		{ WSI_TOKEN_GET_URI, "GET" },
		{ WSI_TOKEN_POST_URI, "POST" },
		{ WSI_TOKEN_DELETE_URI, "DELETE" },
		{ WSI_TOKEN_PUT_URI, "PUT" },
		{ WSI_TOKEN_HEAD_URI, "HEAD" },
		{ WSI_TOKEN_OPTIONS_URI, "OPTIONS" },
	};
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (lws_hdr_total_length(wsi, methods[i].tok) > 0)
			return methods[i].m;
	return "?";
}

static void
http_query(struct lws *wsi, char *out, size_t outlen)
{
	size_t off = 0;
	int i, n;

	out[0] = '\0';
	for (i = 0; i < 8 && off + 2 < outlen; i++) {
		n = lws_hdr_copy_fragment(wsi, out + off, (int)(outlen - off),
		    WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n <= 0)
			break;
		off += (size_t)n;
		out[off++] = '&';
		out[off] = '\0';
	}
}

/*
 * A command's stream has no length ahead.  To an HTTP/1.1 client it goes
 * in chunks, so the connection stays open for the next request (hubctl and
 * scripts follow a POST with its stream); lws's own way for a reply of
 * unknown length is to close the connection after it, kept for HTTP/1.0.
 */
static int
stream_headers(struct lws *wsi, struct hub_http *h, unsigned char **p,
    unsigned char *end)
{
	static const char type[] = "application/x-ndjson";
	unsigned char *line = *p;

	if (lws_add_http_header_status(wsi, (unsigned int)h->status, p, end))
		return -1;
	/* lws answers in the request's HTTP version; it has no getter */
	h->chunked = *p - line > 8 && memcmp(line, "HTTP/1.1", 8) == 0;
	if (!h->chunked) {
		*p = line;
		return lws_add_http_common_headers(wsi, (unsigned int)h->status,
		    type, LWS_ILLEGAL_HTTP_CONTENT_LEN, p, end);
	}
	return lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
	    (const unsigned char *)type, (int)sizeof(type) - 1, p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)
	    "transfer-encoding:", (const unsigned char *)"chunked", 7, p, end);
}

static int
http_send_headers(struct lws *wsi, struct hub_http *h)
{
	unsigned char *start = wbuf + LWS_PRE, *p = start;
	unsigned char *end = wbuf + sizeof(wbuf) - 1;
	const char *type = h->ctype ? h->ctype : "application/json";
	char retry[16];
	int nretry = snprintf(retry, sizeof(retry), "%d", h->retry_after);
	static const char csp[] = "default-src 'self'; script-src 'self'; "
	    "style-src 'self'; img-src 'self' data: blob:; connect-src 'self';"
	    " frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

	if ((h->stream ? stream_headers(wsi, h, &p, end) :
	    lws_add_http_common_headers(wsi, (unsigned int)h->status, type,
	    h->file ? (lws_filepos_t)hub_http_file_size(h) :
	    (lws_filepos_t)h->resp.len, &p, end)) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)
	    "cache-control:", (const unsigned char *)"no-store", 8, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)
	    "x-content-type-options:", (const unsigned char *)"nosniff", 7,
	    &p, end) ||
	    (h->is_static && lws_add_http_header_by_name(wsi,
	    (const unsigned char *)"content-security-policy:",
	    (const unsigned char *)csp, (int)strlen(csp), &p, end)) ||
	    (h->retry_after > 0 && lws_add_http_header_by_name(wsi,
	    (const unsigned char *)"retry-after:", (const unsigned char *)retry,
	    nretry, &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

int
hub_ws_http_dispatch(struct lws *wsi, struct hub_conn *c)
{
	/* a POST with "Content-Length: 0" is routed in http_begin() and then
	 * reported again as a completed body: answer it once */
	if (c->http == NULL || c->http->dispatched)
		return 0;
	c->http->dispatched = 1;
	hub_api_dispatch(c);
	if (c->http->status == 0)
		return 0;	/* deferred: hub_ws_http_ready() follows */
	return http_send_headers(wsi, c->http);
}

void
hub_ws_http_ready(struct hub_conn *c)
{
	if (http_send_headers(c->wsi, c->http) == -1)
		hub_ws_close_soon(c->wsi);
}

/* Discord's signature headers (lws keeps headers it does not know by
 * their lower-case names); "" when missing or too long. */
static void
http_discord_headers(struct lws *wsi, struct hub_http *h)
{
	if (lws_hdr_custom_copy(wsi, h->dc_sig, sizeof(h->dc_sig),
	    "x-signature-ed25519:", 20) < 0)
		h->dc_sig[0] = '\0';
	if (lws_hdr_custom_copy(wsi, h->dc_ts, sizeof(h->dc_ts),
	    "x-signature-timestamp:", 22) < 0)
		h->dc_ts[0] = '\0';
}

int
hub_ws_http_begin(struct lws *wsi, struct hub_conn *c, const char *path)
{
	char num[32], xff[512];
	int64_t clen = 0;

	if (c->role != CONN_HTTP) {
		hub_conn_init(c, wsi, CONN_HTTP);
		hub_ws_peer_name(wsi, c->peer, sizeof(c->peer));
	}
	if (c->http) {
		hub_http_forget(c);
		if (c->http->stream)
			hub_cmd_unsubscribe(c->http->stream, c);
		hub_http_free(c->http);
	}
	if ((c->http = calloc(1, sizeof(*c->http))) == NULL)
		return -1;
	mc_buf_init(&c->http->resp, 0);
	mc_strlcpy(c->http->method, http_method(wsi), sizeof(c->http->method));
	mc_strlcpy(c->http->path, path, sizeof(c->http->path));
	http_query(wsi, c->http->query, sizeof(c->http->query));
	if (lws_hdr_copy(wsi, c->http->auth, sizeof(c->http->auth),
	    WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
		c->http->auth[0] = '\0';
	mc_buf_init(&c->http->body, hub_api_body_max(c->http));
	if (lws_hdr_copy(wsi, c->http->host, sizeof(c->http->host),
	    WSI_TOKEN_HOST) < 0)
		c->http->host[0] = '\0';
	if (lws_hdr_copy(wsi, xff, sizeof(xff),
	    WSI_TOKEN_X_FORWARDED_FOR) < 0)
		xff[0] = '\0';
	hub_proxy_client(c->peer, xff, c->http->client,
	    sizeof(c->http->client));
	if (strcmp(path, "/api/discord/interactions") == 0)
		http_discord_headers(wsi, c->http);
	if (lws_hdr_copy(wsi, num, sizeof(num),
	    WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
	    mc_parse_i64(num, 0, INT64_MAX, &clen) == -1)
		clen = INT64_MAX;
	if ((uint64_t)clen > c->http->body.limit) {
		c->http->body_too_large = 1;
		return hub_ws_http_dispatch(wsi, c);
	}
	if (clen > 0)
		return 0;	/* wait for the body */
	return hub_ws_http_dispatch(wsi, c);
}

int
hub_ws_http_body(struct hub_conn *c, const void *in, size_t len)
{
	if (c->http && mc_buf_append(&c->http->body, in, len) == -1)
		c->http->body_too_large = 1;
	return 0;
}

static int
http_finish(struct lws *wsi)
{
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* out into wbuf as one chunk (and the last chunk); its length. */
static size_t
chunk_frame(const struct mc_buf *out, int last)
{
	unsigned char *p = wbuf + LWS_PRE;
	size_t n = 0;

	if (out->len > 0) {
		n = (size_t)snprintf((char *)p, CHUNK_FRAME, "%zx\r\n",
		    out->len);
		memcpy(p + n, out->data, out->len);
		n += out->len;
		memcpy(p + n, "\r\n", 2);
		n += 2;
	}
	if (last) {
		memcpy(p + n, "0\r\n\r\n", 5);
		n += 5;
	}
	return n;
}

/*
 * Write the n bytes at wbuf + LWS_PRE, the body's last when last.  A
 * body sent in pieces waits between them on something else (a command's
 * output, the store's thread), so it carries no idle timeout.
 */
static int
http_put_piece(struct lws *wsi, size_t n, int last)
{
	if (lws_write(wsi, wbuf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL :
	    LWS_WRITE_HTTP) < (int)n)
		return -1;
	if (last)
		return http_finish(wsi);
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	lws_callback_on_writable(wsi);
	return 0;
}

static int
http_write_stream(struct lws *wsi, struct hub_http *h)
{
	struct mc_buf out;
	int last = 0, r;
	size_t n;

	mc_buf_init(&out, HTTP_PIECE + 1024);
	/* gather lines until a piece is full or nothing more is ready */
	while (out.len < HTTP_PIECE / 2 && !last) {
		r = hub_http_stream_next(h, &out);
		if (r == -1)
			break;
		last = r;
	}
	if (out.len == 0 && !last) {
		mc_buf_free(&out);
		return 0;	/* woken again when output arrives */
	}
	if (h->chunked)
		n = chunk_frame(&out, last);
	else if ((n = out.len) > 0)
		memcpy(wbuf + LWS_PRE, out.data, n);
	mc_buf_free(&out);
	return http_put_piece(wsi, n, last);
}

static int
http_write_file(struct lws *wsi, struct hub_http *h)
{
	const void *p = NULL;
	size_t n = 0;
	int r = hub_http_file_next(h, &p, &n), last;

	if (r == 0)
		return 0;	/* woken when the piece is read */
	if (r == -1)
		return -1;	/* short: closed, the client sees it */
	if (n > HTTP_PIECE)
		n = HTTP_PIECE;
	if (n)
		memcpy(wbuf + LWS_PRE, p, n);
	last = hub_http_file_sent(h, n);
	return http_put_piece(wsi, n, last);
}

int
hub_ws_http_writeable(struct lws *wsi, struct hub_conn *c)
{
	struct hub_http *h = c->http;
	size_t n;
	int last;

	if (h == NULL || h->status == 0)
		return 0;
	if (h->stream)
		return http_write_stream(wsi, h);
	if (h->file)
		return http_write_file(wsi, h);
	n = h->resp.len - h->resp_off;
	if (n > HTTP_PIECE)
		n = HTTP_PIECE;
	last = h->resp_off + n == h->resp.len;
	if (n)
		memcpy(wbuf + LWS_PRE, h->resp.data + h->resp_off, n);
	if (lws_write(wsi, wbuf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL :
	    LWS_WRITE_HTTP) < (int)n)
		return -1;
	h->resp_off += n;
	if (last)
		return http_finish(wsi);
	lws_callback_on_writable(wsi);
	return 0;
}
