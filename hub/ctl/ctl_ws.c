/*
 * ctl_ws.c - hubctl's WebSocket client (RFC 6455), for hubctl watch
 * (/ws/ui) and hubctl term (/ws/term).
 *
 * It runs over the raw connection of ctl_raw.c, so TLS and the
 * certificate pin are curl's as for every other request.  Here: the
 * upgrade request and the check of the hub's Sec-WebSocket-Accept; the
 * sign-in message (the token goes in it, never in the URL); masked client
 * frames, text or binary; messages read back, text or binary, with
 * fragments joined up to a bound, pings answered and a close answered.
 *
 * Frames wait in a send queue of fixed size that never moves: bytes stay
 * at their address until the socket took them, because TLS resends a
 * write that would have blocked from the same address.  Sent bytes are
 * wiped (the sign-in holds the token).  Reading is incremental, so a
 * caller with its own poll loop asks with timeout 0 and polls
 * ctl_ws_fd(), and one without simply waits in ctl_ws_recv().  No
 * extension is negotiated: a frame with reserved bits, a masked frame or
 * an unknown opcode from the hub ends the connection.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "ctl.h"
#include "mc_util.h"

#define WS_GUID			"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN		16
/* the hub's answer to the upgrade */
#define WS_HEAD_MAX		8192
#define WS_CONTROL_MAX		125
/* queue room past CTL_WS_OUT_MAX: a pong and a close */
#define WS_OUT_CAP		(CTL_WS_OUT_MAX + \
				 2 * (CTL_WS_FRAME_HEAD + WS_CONTROL_MAX))

struct ctl_ws {
	struct ctl	*c;
	struct ctl_raw	*raw;		/* owned */
	unsigned char	 in[16384];	/* bytes read, not yet parsed */
	size_t		 in_off, in_len;
	int		 in_frame;	/* a frame's header is read ... */
	int		 op, fin;	/* ... and says this */
	uint64_t	 left;		/* its payload bytes still to come */
	int		 msg_op;	/* the message being joined; 0: none */
	int		 delivered;	/* msg was handed out: empty it first */
	struct mc_buf	 msg;		/* owned: the data message */
	struct mc_buf	 ctl;		/* owned: a control frame's payload */
	unsigned char	*out;		/* owned; WS_OUT_CAP bytes */
	size_t		 out_head, out_len;
	int		 out_retry;	/* the last send would have blocked */
	double		 heard;		/* when the last byte came */
	int		 pinged;	/* a ping went out since */
	int		 close_code;
};

/* ---- sending ---- */

/* Append bytes to the queue, keeping it at most limit long.  The queue
 * moves to the front of out only when no send is to be retried. */
static unsigned char *
out_reserve(struct ctl_ws *w, size_t n, size_t limit)
{
	if (w->out_len + n > limit)
		return NULL;
	if (w->out_head + w->out_len + n > WS_OUT_CAP) {
		if (w->out_retry)
			return NULL;
		memmove(w->out, w->out + w->out_head, w->out_len);
		w->out_head = 0;
	}
	return w->out + w->out_head + w->out_len;
}

static int
queue_frame(struct ctl_ws *w, int op, const void *data, size_t n,
    size_t limit)
{
	const unsigned char *d = data;
	unsigned char mask[4], *p;
	size_t h = 0, i;

	if ((p = out_reserve(w, n + CTL_WS_FRAME_HEAD, limit)) == NULL ||
	    getrandom(mask, sizeof(mask), 0) != (ssize_t)sizeof(mask))
		return -1;
	p[h++] = (unsigned char)(0x80 | op);
	if (n < 126) {
		p[h++] = (unsigned char)(0x80 | n);
	} else if (n < 65536) {
		p[h++] = 0x80 | 126;
		p[h++] = (unsigned char)(n >> 8);
		p[h++] = (unsigned char)n;
	} else {
		p[h++] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			p[h++] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	}
	memcpy(p + h, mask, 4);
	h += 4;
	for (i = 0; i < n; i++)
		p[h + i] = d[i] ^ mask[i & 3];
	w->out_len += h + n;
	return 0;
}

int
ctl_ws_flush(struct ctl_ws *w)
{
	long k;

	while (w->out_len > 0) {
		k = ctl_raw_send_some(w->raw, w->out + w->out_head, w->out_len);
		if (k < 0)
			return -1;
		if (k == 0) {
			w->out_retry = 1;
			return 0;
		}
		w->out_retry = 0;
		memset(w->out + w->out_head, 0, (size_t)k);
		w->out_head += (size_t)k;
		w->out_len -= (size_t)k;
	}
	w->out_head = 0;
	return 0;
}

/* Send everything queued, waiting for the socket at most
 * CTL_REQUEST_TIMEOUT.  0 or -1. */
static int
flush_wait(struct ctl_ws *w)
{
	double end = mc_now() + CTL_REQUEST_TIMEOUT;
	struct pollfd p;
	int ms;

	while (ctl_ws_flush(w) == 0 && w->out_len > 0) {
		ms = (int)((end - mc_now()) * 1000);
		if (ms <= 0)
			return -1;
		p.fd = ctl_raw_fd(w->raw);
		p.events = POLLOUT;
		p.revents = 0;
		if (poll(&p, 1, ms) == -1 && errno != EINTR)
			return -1;
	}
	return w->out_len == 0 ? 0 : -1;
}

int
ctl_ws_queue(struct ctl_ws *w, int op, const void *data, size_t n)
{
	size_t limit = op >= CTL_WS_CLOSE ? WS_OUT_CAP : CTL_WS_OUT_MAX;

	if (queue_frame(w, op, data, n, limit) == -1)
		return -1;
	return ctl_ws_flush(w);
}

size_t
ctl_ws_queued(const struct ctl_ws *w)
{
	return w->out_len;
}

size_t
ctl_ws_room(const struct ctl_ws *w)
{
	size_t room = CTL_WS_OUT_MAX - (w->out_len < CTL_WS_OUT_MAX ?
	    w->out_len : CTL_WS_OUT_MAX);

	/* bytes to be retried hold the queue where it is */
	if (w->out_retry && WS_OUT_CAP - w->out_head - w->out_len < room)
		room = WS_OUT_CAP - w->out_head - w->out_len;
	return room > CTL_WS_FRAME_HEAD ? room - CTL_WS_FRAME_HEAD : 0;
}

int
ctl_ws_fd(const struct ctl_ws *w)
{
	return ctl_raw_fd(w->raw);
}

int
ctl_ws_auth(struct ctl_ws *w, const char *agent, int cols, int rows,
    const struct mc_sig *sig)
{
	struct mc_buf b;
	struct mc_jw jw;
	int r = -1;

	/* a signature's payload doubles at most in JSON escaping */
	mc_buf_init(&b, CTL_TOKEN_MAX + 4 * MC_NAME_MAX + 2 * sizeof(*sig) +
	    256);
	mc_jw_init(&jw, &b);
	mc_jw_obj(&jw, NULL);
	mc_jw_str(&jw, "t", "auth");
	mc_jw_str(&jw, "token", w->c->o.token);
	if (agent != NULL) {
		mc_jw_str(&jw, "agent", agent);
		mc_jw_i64(&jw, "cols", cols);
		mc_jw_i64(&jw, "rows", rows);
	}
	if (sig != NULL)
		mc_sig_write(&jw, sig);
	mc_jw_obj_end(&jw);
	if (mc_jw_done(&jw) == 0 &&
	    queue_frame(w, CTL_WS_TEXT, b.data, b.len, WS_OUT_CAP) == 0)
		r = flush_wait(w);
	if (b.data != NULL)
		memset(b.data, 0, b.cap);
	mc_buf_free(&b);
	return r;
}

long
ctl_ws_idle(struct ctl_ws *w, double quiet_s)
{
	static const char ping[] = "{\"t\":\"ping\"}";
	double quiet = mc_now() - w->heard;

	if (quiet < quiet_s)
		return (long)((quiet_s - quiet) * 1000) + 1;
	if (w->pinged)
		return -1;
	/* a ping that finds no room changes nothing: the hub is not
	 * reading, and the next call gives up on it */
	ctl_ws_queue(w, CTL_WS_TEXT, ping, sizeof(ping) - 1);
	w->pinged = 1;
	w->heard = mc_now();
	return (long)(quiet_s * 1000) + 1;
}

/* ---- reading ---- */

/* Is the frame just read one that may come now?  Then 0. */
static int
check_op(struct ctl_ws *w)
{
	if (w->op >= CTL_WS_CLOSE) {
		if (w->op > CTL_WS_PONG || !w->fin ||
		    w->left > WS_CONTROL_MAX) {
			fprintf(stderr, "hubctl: the hub sent a bad control "
			    "frame\n");
			return -1;
		}
		mc_buf_reset(&w->ctl);
		return 0;
	}
	if (w->op == CTL_WS_CONT ? w->msg_op == 0 :
	    w->op > CTL_WS_BINARY || w->msg_op != 0) {
		fprintf(stderr, "hubctl: the hub sent a frame out of order "
		    "(opcode %d)\n", w->op);
		return -1;
	}
	if (w->op != CTL_WS_CONT)
		w->msg_op = w->op;
	if (w->left > w->msg.limit - w->msg.len) {
		fprintf(stderr, "hubctl: a message from the hub is over "
		    "hubctl's limit of %zu KiB\n", w->msg.limit >> 10);
		return -1;
	}
	return 0;
}

/* A frame's header from w->in: 1 when read, 0 when more bytes are
 * needed, -1 (said why) when it is none hubctl takes. */
static int
parse_head(struct ctl_ws *w)
{
	const unsigned char *b = w->in + w->in_off;
	size_t avail = w->in_len - w->in_off, need = 2, i;
	uint64_t len;

	if (avail < 2)
		return 0;
	len = b[1] & 0x7f;
	need += len == 126 ? 2 : len == 127 ? 8 : 0;
	if (avail < need)
		return 0;
	if (b[1] & 0x80) {
		fprintf(stderr, "hubctl: the hub sent a masked frame\n");
		return -1;
	}
	if (b[0] & 0x70) {
		fprintf(stderr, "hubctl: the hub sent a frame with reserved "
		    "bits set\n");
		return -1;
	}
	if (len >= 126)
		for (len = 0, i = 2; i < need; i++)
			len = len << 8 | b[i];
	w->fin = b[0] >> 7;
	w->op = b[0] & 0x0f;
	w->left = len;
	w->in_off += need;
	return check_op(w) == 0 ? 1 : -1;
}

/* A whole control frame: answer a ping, note a close. */
static enum ctl_ws_got
control(struct ctl_ws *w)
{
	const unsigned char *p = (const unsigned char *)w->ctl.data;

	if (w->op == CTL_WS_PING) {
		/* no room for the pong: the hub sees we are busy */
		ctl_ws_queue(w, CTL_WS_PONG, p, w->ctl.len);
		return CTL_WS_NONE;
	}
	if (w->op == CTL_WS_CLOSE) {
		w->close_code = w->ctl.len >= 2 ? p[0] << 8 | p[1] : 0;
		ctl_ws_queue(w, CTL_WS_CLOSE, p, w->ctl.len);
		return CTL_WS_CLOSED;
	}
	return CTL_WS_NONE;	/* a pong */
}

/* Take what w->in holds: a whole message, a close, or CTL_WS_NONE when
 * more bytes are needed. */
static enum ctl_ws_got
parse(struct ctl_ws *w)
{
	struct mc_buf *to;
	enum ctl_ws_got r;
	size_t k;

	for (;;) {
		if (!w->in_frame) {
			switch (parse_head(w)) {
			case 0:
				return CTL_WS_NONE;
			case -1:
				return CTL_WS_ERR;
			}
			w->in_frame = 1;
		}
		k = w->in_len - w->in_off;
		if (k > w->left)
			k = (size_t)w->left;
		to = w->op >= CTL_WS_CLOSE ? &w->ctl : &w->msg;
		if (k > 0 && mc_buf_append(to, w->in + w->in_off, k) == -1) {
			fprintf(stderr, "hubctl: out of memory\n");
			return CTL_WS_ERR;
		}
		w->in_off += k;
		w->left -= k;
		if (w->left > 0)
			return CTL_WS_NONE;
		w->in_frame = 0;
		if (w->op >= CTL_WS_CLOSE) {
			if ((r = control(w)) != CTL_WS_NONE)
				return r;
		} else if (w->fin) {
			return CTL_WS_MSG;
		}
	}
}

/* Keep the bytes not parsed yet (a part of a header at most) at the
 * front of w->in. */
static void
in_compact(struct ctl_ws *w)
{
	memmove(w->in, w->in + w->in_off, w->in_len - w->in_off);
	w->in_len -= w->in_off;
	w->in_off = 0;
}

enum ctl_ws_got
ctl_ws_recv(struct ctl_ws *w, struct ctl_ws_msg *m, int timeout_ms)
{
	enum ctl_ws_got r;
	long n;

	if (w->delivered) {
		mc_buf_reset(&w->msg);
		w->msg_op = 0;
		w->delivered = 0;
	}
	while ((r = parse(w)) == CTL_WS_NONE) {
		in_compact(w);
		n = ctl_raw_recv(w->raw, w->in + w->in_len,
		    sizeof(w->in) - w->in_len, timeout_ms);
		if (n == -2)
			return CTL_WS_NONE;
		if (n <= 0)
			return CTL_WS_EOF;
		w->in_len += (size_t)n;
		w->heard = mc_now();
		w->pinged = 0;
	}
	if (r == CTL_WS_MSG) {
		m->op = w->msg_op;
		m->data = (const unsigned char *)w->msg.data;
		m->len = w->msg.len;
		w->delivered = 1;
	}
	return r;
}

int
ctl_ws_close_code(const struct ctl_ws *w)
{
	return w->close_code;
}

/* ---- the upgrade ---- */

/* base64(SHA-1(key + GUID)), what the hub must answer. */
static int
expected_accept(const char *key, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char text[128];
	struct mc_buf b;
	int r = -1;

	snprintf(text, sizeof(text), "%s%s", key, WS_GUID);
	if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha1(), NULL) != 1)
		return -1;
	mc_buf_init(&b, 64);
	if (mc_b64_encode(&b, md, mdlen) == 0 && b.len < outlen) {
		memcpy(out, b.data, b.len + 1);
		r = 0;
	}
	mc_buf_free(&b);
	return r;
}

/* The value of header name in head (NUL-terminated), or NULL. */
static const char *
header(const char *head, const char *name, char *out, size_t outlen)
{
	const char *p = head, *v;
	size_t nlen = strlen(name), n;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nlen) != 0 || p[nlen] != ':')
			continue;
		v = p + nlen + 1;
		v += strspn(v, " \t");
		n = strcspn(v, "\r\n");
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n >= outlen)
			return NULL;
		memcpy(out, v, n);
		out[n] = '\0';
		return out;
	}
	return NULL;
}

/* The hub dropped the connection during the upgrade, as a hub that
 * speaks TLS does to a plain request (--hub http://), which no wait
 * mends; otherwise it is a hub that is starting, or gone. */
static int
upgrade_dropped(struct ctl *c)
{
	char why[CTL_WHY_MAX];

	if (ctl_probe_scheme(c, why, sizeof(why)) == 1) {
		fprintf(stderr, "hubctl: %s\n", why);
		c->lost = 0;
		return CTL_EXIT_HUB;
	}
	fprintf(stderr, "hubctl: the hub at %s closed the connection\n",
	    c->base);
	c->lost = 1;
	return CTL_EXIT_HUB;
}

/* Read the answer to the upgrade up to its blank line into head; the
 * bytes after it stay in w->in.  0, or an exit status (said why). */
static int
read_answer(struct ctl_ws *w, char *head, size_t headlen)
{
	char *end;
	size_t n;
	long got;

	for (;;) {
		n = w->in_len < headlen - 1 ? w->in_len : headlen - 1;
		memcpy(head, w->in, n);
		head[n] = '\0';
		if ((end = strstr(head, "\r\n\r\n")) != NULL) {
			w->in_off = (size_t)(end - head) + 4;
			end[2] = '\0';
			return 0;
		}
		if (w->in_len >= headlen - 1 || w->in_len == sizeof(w->in)) {
			fprintf(stderr, "hubctl: the hub's answer to the "
			    "upgrade is too long\n");
			w->c->lost = 1;
			return CTL_EXIT_HUB;
		}
		got = ctl_raw_recv(w->raw, w->in + w->in_len,
		    sizeof(w->in) - w->in_len, CTL_REQUEST_TIMEOUT * 1000);
		if (got == -2) {
			fprintf(stderr, "hubctl: the hub at %s did not answer "
			    "the WebSocket upgrade within %d s\n", w->c->base,
			    CTL_REQUEST_TIMEOUT);
			w->c->lost = 1;
			return CTL_EXIT_HUB;
		}
		if (got <= 0)
			return upgrade_dropped(w->c);
		w->in_len += (size_t)got;
	}
}

/* A fresh Sec-WebSocket-Key. */
static int
make_key(char *key, size_t keylen)
{
	unsigned char raw[WS_KEY_LEN];
	struct mc_buf b;
	int r = -1;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	mc_buf_init(&b, keylen - 1);
	if (mc_b64_encode(&b, raw, sizeof(raw)) == 0) {
		memcpy(key, b.data, b.len + 1);
		r = 0;
	}
	mc_buf_free(&b);
	return r;
}

static int
upgrade(struct ctl_ws *w, const char *path, const char *what)
{
	char req[1024], key[64], want[64], got[128], head[WS_HEAD_MAX];
	char err[128];
	unsigned char *p;
	struct mc_url u;
	int n, r;

	if (mc_url_parse(w->c->base, &u, err, sizeof(err)) == -1 ||
	    make_key(key, sizeof(key)) == -1) {
		fprintf(stderr, "hubctl: cannot make a WebSocket key\n");
		return CTL_EXIT_FAIL;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s%s%s:%d"
	    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
	    "User-Agent: hubctl/" MC_VERSION "\r\n\r\n", path,
	    strchr(u.host, ':') ? "[" : "", u.host,
	    strchr(u.host, ':') ? "]" : "", u.port, key);
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    (p = out_reserve(w, (size_t)n, WS_OUT_CAP)) == NULL)
		return CTL_EXIT_FAIL;
	memcpy(p, req, (size_t)n);
	w->out_len += (size_t)n;
	if (flush_wait(w) == -1)
		return upgrade_dropped(w->c);
	if ((r = read_answer(w, head, sizeof(head))) != 0)
		return r;
	w->c->lost = 1;		/* a hub that is starting, or gone */
	if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
		n = (int)strcspn(head, "\r\n");
		fprintf(stderr, "hubctl: the hub refused %s: %.*s\n", what,
		    n > 80 ? 80 : n, head);
		return CTL_EXIT_HUB;
	}
	if (expected_accept(key, want, sizeof(want)) == -1 ||
	    header(head, "Sec-WebSocket-Accept", got, sizeof(got)) == NULL ||
	    strcmp(want, got) != 0) {
		fprintf(stderr, "hubctl: the hub's WebSocket handshake is not "
		    "valid\n");
		return CTL_EXIT_HUB;
	}
	w->c->lost = 0;
	w->heard = mc_now();
	return 0;
}

int
ctl_ws_open(struct ctl *c, const char *path, const char *what,
    size_t msg_max, struct ctl_ws **out)
{
	struct ctl_ws *w = calloc(1, sizeof(*w));
	int r;

	*out = NULL;
	if (w == NULL || (w->out = malloc(WS_OUT_CAP)) == NULL) {
		free(w);
		fprintf(stderr, "hubctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	w->c = c;
	mc_buf_init(&w->msg, msg_max);
	mc_buf_init(&w->ctl, WS_CONTROL_MAX);
	r = ctl_raw_open(c, &w->raw);
	if (r == 0)
		r = upgrade(w, path, what);
	if (r != 0) {
		ctl_ws_close(w);
		return r;
	}
	*out = w;
	return 0;
}

void
ctl_ws_close(struct ctl_ws *w)
{
	if (w == NULL)
		return;
	ctl_raw_close(w->raw);
	mc_buf_free(&w->msg);
	mc_buf_free(&w->ctl);
	free(w->out);
	free(w);
}
