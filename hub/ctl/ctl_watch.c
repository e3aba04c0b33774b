/*
 * ctl_watch.c - hubctl watch: the hub's live feed (/ws/ui) as lines.
 *
 * A small WebSocket client (RFC 6455) over the raw connection of
 * ctl_http.c, so TLS and the certificate pin are curl's as for every other
 * request: the upgrade request, a check of the hub's Sec-WebSocket-Accept,
 * masked client frames, and text messages read back (fragments joined,
 * pings answered, at most WATCH_MSG_MAX bytes).  The token goes in the
 * first message, {"t":"auth"}, never in the URL.
 *
 * Each item prints as one line: local time, kind, agent, text.  Kinds are
 * the event types (status, alert, delivery, silence, ...) and "command"
 * for a command's status changes; metric updates are not printed.  Agent
 * names and texts come from whoever runs a listener, so they go through
 * ctl_safe().  With --json every message prints as the hub sent it.
 *
 * Events carry the hub's ids.  When the hub goes away (a restart), watch
 * connects again and first reads the events after the last id it showed
 * from GET /api/events, so none is lost and none shows twice; --since
 * starts with the stored events after an id or a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/evp.h>

#include "ctl.h"
#include "mc_util.h"

/* the largest message accepted (a snapshot of many agents) */
#define WATCH_MSG_MAX		(16 * 1024 * 1024)
/* the hub's answer to the upgrade */
#define WATCH_HEAD_MAX		8192
/* a ping after this long without a message; twice: the hub is gone */
#define WATCH_IDLE_MS		30000
/* --since and a resume read at most this many pages of 1,000 events */
#define WATCH_PAGES		100
#define WS_GUID			"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN		16

enum { OP_CONT = 0, OP_TEXT = 1, OP_CLOSE = 8, OP_PING = 9 };

struct watch {
	struct ctl	*c;
	struct ctl_raw	*raw;
	unsigned char	 in[16384];	/* bytes read, not yet used */
	size_t		 off, len;
	struct mc_buf	 msg;		/* owned: the message being joined */
	int		 idle;		/* read timeouts in a row */
	int		 closed;	/* the hub sent close */
	int		 opening;	/* in the upgrade: a dropped connection
					 * is feed_open()'s to explain */
	int		 dropped;	/* ... and it was dropped */
	int64_t		 last_id;	/* the newest event shown */
};

static int	send_frame(struct watch *w, int op, const void *data,
		    size_t n);

/* ---- bytes ---- */

/* Read more into w->in; a quiet hub gets a ping.  0, or -1 (said why). */
static int
fill(struct watch *w)
{
	static const char ping[] = "{\"t\":\"ping\"}";
	long n;

	if (w->off == w->len)
		w->off = w->len = 0;
	for (;;) {
		n = ctl_raw_recv(w->raw, w->in + w->len, sizeof(w->in) - w->len,
		    WATCH_IDLE_MS);
		if (n > 0) {
			w->len += (size_t)n;
			w->idle = 0;
			return 0;
		}
		if (n != -2)
			break;
		if (++w->idle == 2) {
			fprintf(stderr, "hubctl: the hub has not answered for "
			    "%d s; giving up\n", WATCH_IDLE_MS / 1000);
			return -1;
		}
		if (send_frame(w, OP_TEXT, ping, sizeof(ping) - 1) == -1)
			break;
	}
	w->dropped = w->opening;
	if (!w->opening)
		fprintf(stderr, "hubctl: the hub at %s closed the "
		    "connection\n", w->c->base);
	return -1;
}

/* Take exactly n bytes (n <= sizeof(w->in)). */
static int
take(struct watch *w, void *out, size_t n)
{
	unsigned char *o = out;
	size_t k;

	while (n > 0) {
		if (w->off == w->len && fill(w) == -1)
			return -1;
		k = w->len - w->off < n ? w->len - w->off : n;
		memcpy(o, w->in + w->off, k);
		w->off += k;
		o += k;
		n -= k;
	}
	return 0;
}

/* ---- frames ---- */

static int
send_frame(struct watch *w, int op, const void *data, size_t n)
{
	const unsigned char *d = data;
	unsigned char mask[4], *buf;
	size_t h = 0, i;
	int r;

	if (getrandom(mask, sizeof(mask), 0) != (ssize_t)sizeof(mask) ||
	    (buf = malloc(n + 14)) == NULL)
		return -1;
	buf[h++] = (unsigned char)(0x80 | op);
	if (n < 126) {
		buf[h++] = (unsigned char)(0x80 | n);
	} else if (n < 65536) {
		buf[h++] = 0x80 | 126;
		buf[h++] = (unsigned char)(n >> 8);
		buf[h++] = (unsigned char)n;
	} else {
		buf[h++] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			buf[h++] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	}
	memcpy(buf + h, mask, 4);
	h += 4;
	for (i = 0; i < n; i++)
		buf[h + i] = d[i] ^ mask[i & 3];
	r = ctl_raw_send(w->raw, buf, h + n);
	memset(buf, 0, h + n);	/* the auth message holds the token */
	free(buf);
	return r;
}

/* A frame's header: opcode, FIN and payload length. */
static int
read_head(struct watch *w, int *op, int *fin, uint64_t *len)
{
	unsigned char b[2], ext[8];
	size_t k, i;

	if (take(w, b, 2) == -1)
		return -1;
	*fin = b[0] >> 7;
	*op = b[0] & 0x0f;
	if (b[1] & 0x80) {
		fprintf(stderr, "hubctl: the hub sent a masked frame\n");
		return -1;
	}
	*len = b[1] & 0x7f;
	if (*len >= 126) {
		k = *len == 126 ? 2 : 8;
		if (take(w, ext, k) == -1)
			return -1;
		for (*len = 0, i = 0; i < k; i++)
			*len = *len << 8 | ext[i];
	}
	return 0;
}

static int
read_payload(struct watch *w, uint64_t n, struct mc_buf *to)
{
	unsigned char chunk[4096];
	size_t k;

	while (n > 0) {
		k = n < sizeof(chunk) ? (size_t)n : sizeof(chunk);
		if (take(w, chunk, k) == -1)
			return -1;
		if (mc_buf_append(to, chunk, k) == -1) {
			fprintf(stderr, "hubctl: a message from the hub is "
			    "over %d MiB\n", WATCH_MSG_MAX >> 20);
			return -1;
		}
		n -= k;
	}
	return 0;
}

/* A control frame: answer a ping, note a close. */
static int
control(struct watch *w, int op, uint64_t n)
{
	struct mc_buf b;
	int r;

	if (n > 125) {
		fprintf(stderr, "hubctl: the hub sent a bad control frame\n");
		return -1;
	}
	mc_buf_init(&b, 125);
	r = read_payload(w, n, &b);
	if (r == 0 && op == OP_PING)
		r = send_frame(w, 0xA, b.data, b.len);
	if (r == 0 && op == OP_CLOSE) {
		send_frame(w, OP_CLOSE, b.data, b.len);
		w->closed = 1;
	}
	mc_buf_free(&b);
	return r;
}

/* The next complete data message into w->msg.  0, or -1 when the feed
 * ended (said why). */
static int
read_message(struct watch *w)
{
	uint64_t n;
	int op, fin;

	mc_buf_reset(&w->msg);
	for (;;) {
		if (read_head(w, &op, &fin, &n) == -1)
			return -1;
		if (op >= OP_CLOSE) {
			if (control(w, op, n) == -1)
				return -1;
			if (w->closed) {
				fprintf(stderr, "hubctl: the hub closed the "
				    "feed\n");
				return -1;
			}
			continue;
		}
		if (read_payload(w, n, &w->msg) == -1)
			return -1;
		if (fin)
			return 0;
	}
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

/* Read the answer to the upgrade up to its blank line; the bytes after
 * it stay in w->in. */
static int
read_head_block(struct watch *w, char *head, size_t headlen)
{
	char *end;
	size_t n;

	for (;;) {
		n = w->len < headlen - 1 ? w->len : headlen - 1;
		memcpy(head, w->in, n);
		head[n] = '\0';
		if ((end = strstr(head, "\r\n\r\n")) != NULL) {
			w->off = (size_t)(end - head) + 4;
			end[2] = '\0';
			return 0;
		}
		if (w->len >= headlen - 1) {
			fprintf(stderr, "hubctl: the hub's answer to the "
			    "upgrade is too long\n");
			return -1;
		}
		if (fill(w) == -1)
			return -1;
	}
}

static int
upgrade(struct watch *w)
{
	char req[1024], key[64], want[64], got[128], head[WATCH_HEAD_MAX];
	unsigned char raw[WS_KEY_LEN];
	char err[128];
	struct mc_buf b;
	struct mc_url u;
	int n;

	if (mc_url_parse(w->c->base, &u, err, sizeof(err)) == -1 ||
	    getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	mc_buf_init(&b, sizeof(key) - 1);
	if (mc_b64_encode(&b, raw, sizeof(raw)) == -1) {
		mc_buf_free(&b);
		return -1;
	}
	memcpy(key, b.data, b.len + 1);
	mc_buf_free(&b);
	n = snprintf(req, sizeof(req), "GET /ws/ui HTTP/1.1\r\nHost: %s%s%s:%d"
	    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
	    "User-Agent: hubctl/" MC_VERSION "\r\n\r\n",
	    strchr(u.host, ':') ? "[" : "", u.host,
	    strchr(u.host, ':') ? "]" : "", u.port, key);
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    ctl_raw_send(w->raw, req, (size_t)n) == -1 ||
	    read_head_block(w, head, sizeof(head)) == -1)
		return -1;
	if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
		n = (int)strcspn(head, "\r\n");
		fprintf(stderr, "hubctl: the hub refused the live feed: %.*s\n",
		    n > 80 ? 80 : n, head);
		return -1;
	}
	if (expected_accept(key, want, sizeof(want)) == -1 ||
	    header(head, "Sec-WebSocket-Accept", got, sizeof(got)) == NULL ||
	    strcmp(want, got) != 0) {
		fprintf(stderr, "hubctl: the hub's WebSocket handshake is not "
		    "valid\n");
		return -1;
	}
	return 0;
}

static int
send_auth(struct watch *w)
{
	struct mc_buf b;
	struct mc_jw jw;
	int r = -1;

	mc_buf_init(&b, CTL_TOKEN_MAX + 64);
	mc_jw_init(&jw, &b);
	mc_jw_obj(&jw, NULL);
	mc_jw_str(&jw, "t", "auth");
	mc_jw_str(&jw, "token", w->c->o.token);
	mc_jw_obj_end(&jw);
	if (mc_jw_done(&jw) == 0)
		r = send_frame(w, OP_TEXT, b.data, b.len);
	if (b.data != NULL)
		memset(b.data, 0, b.cap);
	mc_buf_free(&b);
	return r;
}

/* ---- printing ---- */

static void
when(double ts, char *out, size_t outlen)
{
	time_t t = (time_t)ts;
	struct tm tm;

	if (ts <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, outlen, "-");
}

/* One line: time, kind, agent, text (all made safe). */
static void
line(double ts, const char *kind, const char *agent, const char *text)
{
	char t[32], k[64], a[4 * MC_NAME_MAX + 4], x[2048];

	when(ts, t, sizeof(t));
	ctl_safe(kind, k, sizeof(k));
	ctl_safe(agent && *agent ? agent : "-", a, sizeof(a));
	ctl_safe(text, x, sizeof(x));
	printf("%s  %-8s  %-16s  %s\n", t, k, a, x);
	fflush(stdout);
}

static void
on_snapshot(const struct mc_json *o)
{
	static const char *const st[] = { "online", "late", "critical",
	    "restarting", "offline" };
	const struct mc_json *l = mc_json_get(o, "agents"), *a;
	size_t n[5] = { 0 }, total = 0, i;
	char text[256];
	size_t off;
	double now = 0;

	for (a = l ? l->child : NULL; a != NULL; a = a->next, total++)
		for (i = 0; i < 5; i++)
			if (strcmp(ctl_jstr(a, "status", ""), st[i]) == 0)
				n[i]++;
	off = (size_t)snprintf(text, sizeof(text), "%zu agent%s", total,
	    total == 1 ? "" : "s");
	for (i = 0; i < 5 && off < sizeof(text); i++)
		if (n[i])
			off += (size_t)snprintf(text + off, sizeof(text) - off,
			    ", %zu %s", n[i], st[i]);
	mc_json_num(o, "now", &now);
	line(now, "watching", NULL, text);
}

/* An event not shown yet?  Then it is the newest shown. */
static int
event_new(struct watch *w, const struct mc_json *e)
{
	int64_t id;

	if (mc_json_int(e, "id", 1, INT64_MAX, &id) == -1)
		return 1;
	if (id <= w->last_id)
		return 0;
	w->last_id = id;
	return 1;
}

/* A stored command event ("ID KIND exit N" or "ID KIND STATUS" in its
 * detail), worded like the live feed's command lines. */
static void
command_text(const struct mc_json *e, char *text, size_t size)
{
	const char *detail = ctl_jstr(e, "detail", "");
	const char *cmd = ctl_jstr(e, "cmd", "");
	const char *sp = strchr(detail, ' ');
	const char *rest = sp != NULL ? strchr(sp + 1, ' ') : NULL;
	int head = rest != NULL ? (int)(rest - detail) : (int)strlen(detail);

	snprintf(text, size, "%.*s%s%s by %s: %s%s", head, detail,
	    *cmd ? " " : "", cmd, ctl_jstr(e, "from", "?"),
	    ctl_jstr(e, "to", "?"), rest != NULL &&
	    strncmp(rest, " exit ", 6) == 0 ? rest : "");
}

/* live: the feed also sends a command message, which says more */
static void
on_event(const struct mc_json *e, int live)
{
	const char *type = ctl_jstr(e, "type", "?");
	const char *from = ctl_jstr(e, "from", ""), *to = ctl_jstr(e, "to", "");
	const char *detail = ctl_jstr(e, "detail", "");
	char text[1024];
	double ts = 0;

	if (live && strcmp(type, "command") == 0)
		return;
	mc_json_num(e, "ts", &ts);
	if (strcmp(type, "command") == 0)
		command_text(e, text, sizeof(text));
	else if (strcmp(type, "alert") == 0)	/* what, severity, message */
		snprintf(text, sizeof(text), "%s (%s)%s%s", from, to,
		    *detail ? ": " : "", detail);
	else if (strcmp(type, "delivery") == 0)	/* channel, outcome */
		snprintf(text, sizeof(text), "via %s: %s%s%s%s", from, to,
		    *detail ? " (" : "", detail, *detail ? ")" : "");
	else
		snprintf(text, sizeof(text), "%s%s%s%s%s%s", from, *from && *to ?
		    " -> " : "", to, *detail ? " (" : "", detail,
		    *detail ? ")" : "");
	line(ts, type, ctl_jstr(e, "agent", ""), text);
}

static void
on_command(const struct mc_json *c)
{
	const char *status = ctl_jstr(c, "status", "?");
	const char *what = ctl_jstr(c, "cmd", ctl_jstr(c, "arg", ""));
	const char *error = ctl_jstr(c, "error", "");
	char text[1024], ex[32] = "";
	double ts = 0, code;

	if (mc_json_num(c, "exit", &code) == 0)
		snprintf(ex, sizeof(ex), " exit %d", (int)code);
	if (mc_json_num(c, "finished", &ts) == -1 &&
	    mc_json_num(c, "started", &ts) == -1)
		mc_json_num(c, "created", &ts);
	snprintf(text, sizeof(text), "%s %s%s%s by %s: %s%s%s%s",
	    ctl_jstr(c, "id", "?"), ctl_jstr(c, "type", "?"), *what ? " " : "",
	    what, ctl_jstr(c, "requested_by", "?"), status, ex,
	    *error ? ": " : "", error);
	line(ts, "command", ctl_jstr(c, "agent", ""), text);
}

/* One message.  0 to go on, or an exit status. */
static int
on_message(struct watch *w)
{
	const struct mc_json *o;
	struct mc_jdoc *d;
	const char *t;
	char err[128], why[512];
	int r = 0;

	if ((d = mc_json_parse(w->msg.data, w->msg.len, err, sizeof(err))) ==
	    NULL)
		return 0;
	o = mc_json_root(d);
	t = ctl_jstr(o, "t", "");
	if (strcmp(t, "event") == 0 && !event_new(w, mc_json_get(o, "event"))) {
		mc_json_free(d);	/* shown while catching up */
		return 0;
	}
	if (w->c->o.json) {
		/* the hub's JSON escapes every control character */
		fwrite(w->msg.data, 1, w->msg.len, stdout);
		putchar('\n');
		fflush(stdout);
	}
	if (strcmp(t, "error") == 0) {
		ctl_safe(ctl_jstr(o, "error", "no reason"), why, sizeof(why));
		fprintf(stderr, "hubctl: the hub refused the live feed (%s): "
		    "%s\n", ctl_jstr(o, "code", "?"), why);
		r = CTL_EXIT_HUB;
	} else if (w->c->o.json) {
		r = 0;	/* printed above */
	} else if (strcmp(t, "snapshot") == 0) {
		on_snapshot(o);
	} else if (strcmp(t, "event") == 0) {
		on_event(mc_json_get(o, "event"), 1);
	} else if (strcmp(t, "command") == 0) {
		on_command(mc_json_get(o, "command"));
	}
	mc_json_free(d);
	return r;
}

/* ---- catching up from the store ---- */

/* A stored event as the feed would have sent it (--json). */
static void
event_json(const struct mc_json *e)
{
	static const char *const keys[] = { "type", "agent", "from", "to",
	    "detail", "cmd" };
	struct mc_buf b;
	struct mc_jw jw;
	double ts = 0;
	int64_t id = 0;
	size_t i;

	mc_buf_init(&b, 64 * 1024);
	mc_jw_init(&jw, &b);
	mc_jw_obj(&jw, NULL);
	mc_jw_str(&jw, "t", "event");
	mc_jw_obj(&jw, "event");
	mc_json_int(e, "id", 0, INT64_MAX, &id);
	mc_json_num(e, "ts", &ts);
	mc_jw_i64(&jw, "id", id);
	mc_jw_dbl(&jw, "ts", ts);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (mc_json_str(e, keys[i]) != NULL)
			mc_jw_str(&jw, keys[i], mc_json_str(e, keys[i]));
	mc_jw_obj_end(&jw);
	mc_jw_obj_end(&jw);
	if (mc_jw_done(&jw) == 0) {
		fwrite(b.data, 1, b.len, stdout);
		putchar('\n');
	}
	mc_buf_free(&b);
}

/*
 * Show the stored events from "query" on (after=ID or since=TIME), oldest
 * first, page by page; 0, or an exit status (c->lost: the hub is out of
 * reach).  At most WATCH_PAGES pages: what is older than that is history.
 */
static int
catch_up(struct watch *w, const char *query)
{
	const struct mc_json *l, *e;
	char path[128];
	struct ctl_resp r;
	int more = 1, page, ret = 0;

	snprintf(path, sizeof(path), "/api/events?limit=1000&%s", query);
	for (page = 0; ret == 0 && more && page < WATCH_PAGES; page++) {
		ctl_resp_init(&r);
		if ((ret = ctl_api(w->c, "GET", path, NULL, &r)) == 0) {
			l = mc_json_get(mc_json_root(r.doc), "events");
			for (e = l ? l->child : NULL; e != NULL; e = e->next) {
				if (!event_new(w, e))
					continue;
				if (w->c->o.json)
					event_json(e);
				else
					on_event(e, 0);
			}
			if (mc_json_bool(mc_json_root(r.doc), "more",
			    &more) == -1)
				more = 0;
		}
		ctl_resp_free(&r);
		snprintf(path, sizeof(path), "/api/events?limit=1000&after=%lld",
		    (long long)w->last_id);
	}
	fflush(stdout);
	return ret;
}

/* The newest stored event: where a watch that loses the hub resumes. */
static int
newest_id(struct watch *w)
{
	const struct mc_json *l;
	struct ctl_resp r;
	int ret;

	ctl_resp_init(&r);
	if ((ret = ctl_api(w->c, "GET", "/api/events?limit=1", NULL, &r)) ==
	    0 && (l = mc_json_get(mc_json_root(r.doc), "events")) != NULL &&
	    l->child != NULL)
		mc_json_int(l->child, "id", 0, INT64_MAX, &w->last_id);
	ctl_resp_free(&r);
	return ret;
}

/* ---- the feed ---- */

static void
feed_close(struct watch *w)
{
	ctl_raw_close(w->raw);
	w->raw = NULL;
	w->off = w->len = 0;
	w->idle = w->closed = 0;
	mc_buf_reset(&w->msg);
}

/* The hub dropped the connection during the upgrade, as a hub that
 * speaks TLS does to a plain request (--hub http://), which no wait
 * mends; otherwise it is a hub that is starting, or gone. */
static int
feed_dropped(struct watch *w)
{
	char why[CTL_WHY_MAX];

	if (ctl_probe_scheme(w->c, why, sizeof(why)) == 1) {
		fprintf(stderr, "hubctl: %s\n", why);
		w->c->lost = 0;
		return CTL_EXIT_HUB;
	}
	fprintf(stderr, "hubctl: the hub at %s closed the connection\n",
	    w->c->base);
	w->c->lost = 1;
	return CTL_EXIT_HUB;
}

static int
feed_open(struct watch *w)
{
	int r = ctl_raw_open(w->c, &w->raw);

	if (r != 0)
		return r;
	w->opening = 1;
	w->dropped = 0;
	r = upgrade(w);
	w->opening = 0;
	if (r == -1 && w->dropped)
		return feed_dropped(w);
	if (r == -1 || send_auth(w) == -1) {
		w->c->lost = 1;		/* a hub that is starting, or gone */
		return CTL_EXIT_HUB;
	}
	return 0;
}

/* The feed broke: connect again, then show what was missed.  The feed
 * is open before the store is read, so an event in between is in one of
 * the two, and the ids drop the one shown twice. */
static int
resume(struct watch *w)
{
	struct ctl_reattach ra;
	char what[96], query[48];
	int r;

	memset(&ra, 0, sizeof(ra));
	snprintf(what, sizeof(what), "resuming after event %lld",
	    (long long)w->last_id);
	w->c->lost = 1;
	while (ctl_hub_wait(w->c, &ra, what) == 0) {
		feed_close(w);
		snprintf(query, sizeof(query), "after=%lld",
		    (long long)w->last_id);
		if ((r = feed_open(w)) == 0 && (r = catch_up(w, query)) == 0) {
			ctl_hub_back(w->c, &ra);
			return 0;
		}
		if (!w->c->lost)
			return r;	/* refused, not gone */
	}
	return CTL_EXIT_HUB;
}

/* --since ID (an event id) or DURATION (e.g. 1h): the query to start. */
static int
since_query(const char *since, char *out, size_t outlen)
{
	double secs;
	int64_t id;

	if (mc_parse_i64(since, 0, INT64_MAX, &id) == 0)
		snprintf(out, outlen, "after=%lld", (long long)id);
	else if (mc_parse_duration(since, &secs) == 0 && secs > 0)
		snprintf(out, outlen, "since=%lld",
		    (long long)(mc_wall() - secs));
	else
		return ctl_usage("watch", "--since: '%s' is neither an event "
		    "id nor a duration (e.g. 1h, 7d)", since);
	return 0;
}

int
ctl_cmd_watch(struct ctl *c, int argc, char **argv)
{
	const char *since = NULL;
	const struct ctl_flag flags[] = { { "--since", 1, &since },
	    { NULL, 0, NULL } };
	char query[48];
	struct ctl_args a;
	struct watch *w;
	int r;

	if ((r = ctl_begin(c, "watch", argc, argv, flags, &a, 0, 0)) != 0)
		return r;
	if (since != NULL && (r = since_query(since, query,
	    sizeof(query))) != 0)
		return r;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return CTL_EXIT_FAIL;
	w->c = c;
	mc_buf_init(&w->msg, WATCH_MSG_MAX);
	r = feed_open(w);
	if (r == 0)
		r = since != NULL ? catch_up(w, query) : newest_id(w);
	while (r == 0) {
		if (read_message(w) == -1)
			r = resume(w);
		else
			r = on_message(w);
	}
	ctl_raw_close(w->raw);
	mc_buf_free(&w->msg);
	free(w);
	return r;
}
