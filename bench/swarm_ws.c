/*
 * swarm_ws.c - the simulated agents' connections: connect from a source
 * address, check the hub's certificate, hello, heartbeats, answers to
 * commands, the goodbye, and reconnecting with backoff.
 *
 * Rules kept here:
 * - sw_ws_callback() only dispatches; the logic takes plain bytes
 *   (sw_ws_handle) and never keeps a struct lws * past CLOSED.  The agent
 *   of a connection is its lws opaque user data.
 * - Nothing is queued as bytes.  An agent owes the hub flags (hello,
 *   heartbeat, bye) and command phases (started, out, result); at
 *   WRITEABLE, compose() encodes the most urgent one into the one
 *   outgoing buffer and it is written at once: one lws_write() per
 *   WRITEABLE, and another WRITEABLE asked for while more is owed.  A
 *   heartbeat owed twice is sent once, as a listener replaces a stale one.
 * - Source address: lws 4.1's struct lws_client_connect_info has .iface,
 *   "interface name or IP to bind the socket to"; lws binds the new
 *   socket to it (port 0: the kernel picks the port per source address,
 *   so each address has its own ~28,000 ephemeral ports) before
 *   connect().  No callback is needed for it (4.1 has no CONNECTING
 *   callback to bind in anyway).  The context disables IPv6 when
 *   sources are used, so a hub name that also resolves to IPv6 still
 *   gets an AF_INET socket an IPv4 source can be bound to.
 * - Pings as the listener's lws does: SW_PING_SECS after the connection
 *   is up and after each pong (with timings that keep a ping timer;
 *   lws's own pings are off).
 * - Reconnects as the listener does: 1 s doubling to MC_BACKOFF_CAP with
 *   +-25% jitter, back to 1 s after a welcome.  A failed connect and a
 *   hub error count as errors; a dropped connection counts only as the
 *   reconnect that follows.
 * - The pinned certificate (--fingerprint) is compared at
 *   CLIENT_ESTABLISHED, before the hello, so no credential or key reaches
 *   a hub that does not hold it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "mc_log.h"
#include "swarm.h"

/* What compose() put into the outgoing buffer. */
enum sw_msg { SW_M_NONE, SW_M_FAIL, SW_M_HELLO, SW_M_BYE, SW_M_CMD, SW_M_HB,
    SW_M_PING, SW_M_RESTART };

static const unsigned char headroom[LWS_PRE];

/* lws's own pings off: an agent pings as a listener does, on its own
 * timer (sw_ws_ping_due); lws's validity timer per connection would sit
 * in lws 4.1's O(n) sul list and be re-armed by every pong */
static const lws_retry_bo_t no_lws_pings = {
	.secs_since_valid_ping = 0,
	.secs_since_valid_hangup = 0,
};

/* ---- connecting and reconnecting ---- */

void
sw_ws_wake(struct sw_agent *a)
{
	if (a->wsi != NULL)
		lws_callback_on_writable(a->wsi);
}

static void
want(struct sw_agent *a, uint8_t what)
{
	a->pending |= what;
	sw_ws_wake(a);
}

static void
rx_drop(struct sw_agent *a)
{
	if (a->rx == NULL)
		return;
	mc_buf_free(a->rx);
	free(a->rx);
	a->rx = NULL;
}

/*
 * a's connection is gone or never came up: forget it and plan the next
 * attempt.  why, if not NULL, is logged as an error with the delay.  The
 * state check makes a second call for the same connection a no-op.
 */
static void
agent_down(struct sw *s, struct sw_agent *a, const char *why)
{
	char name[MC_NAME_MAX + 1];
	double d;

	if (a->state == SW_IDLE || a->state == SW_GONE)
		return;
	if (a->state == SW_READY)
		s->st.connected--;
	s->st.live--;
	if (a->pending & SW_P_BYE)
		s->leave_owed--;	/* closed before it could say it */
	a->wsi = NULL;
	a->pending = 0;
	rx_drop(a);
	sw_timer_cancel(s, a);
	sw_timer_ping(s, a, -1);
	if (s->leaving) {
		a->state = SW_GONE;
		return;
	}
	a->state = SW_IDLE;
	/* a cluster: the next hub takes it (--start first: once the
	 * first hub has welcomed it, so the fleet gathers there) */
	if (s->nurls > 1 && (a->welcomed || !s->start_first))
		a->hub = (uint8_t)((a->hub + a->hub_step) % s->nurls);
	if (a->restarted) {
		/* a listener re-executed after its update connects at once;
		 * its backoff starts over, as in a new process */
		a->restarted = 0;
		a->backoff = 1;
		sw_timer_set(s, a, SW_RESTART_SECS);
		return;
	}
	d = a->backoff * sw_rand(s, 0.75, 1.25);
	a->backoff = a->backoff * 2 > MC_BACKOFF_CAP ? MC_BACKOFF_CAP :
	    a->backoff * 2;
	sw_agent_name(s, a, name, sizeof(name));
	if (why != NULL)
		sw_error(s, "%s: %s; retrying in %.1f s", name, why, d);
	else
		mc_debug("%s: connection closed; retrying in %.1f s", name, d);
	sw_timer_set(s, a, d);
}

static int
tls_flags(const struct sw *s)
{
	if (!s->url.tls)
		return 0;
	/* pinned or unverified (a wss hub needs one of the two): the chain
	 * and name checks are replaced by check_pin() or by nothing */
	return LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED |
	    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_INSECURE;
}

static void
ws_connect(struct sw *s, struct sw_agent *a)
{
	struct lws_client_connect_info i;
	const struct mc_url *u = &s->urls[a->hub];

	memset(&i, 0, sizeof(i));
	i.context = s->ctx;
	i.vhost = s->vh;
	i.address = u->host;
	i.port = u->port;
	i.path = s->path;
	i.host = u->host;
	i.origin = u->host;
	i.ssl_connection = tls_flags(s);
	i.local_protocol_name = "maestro-swarm";
	i.opaque_user_data = a;
	i.pwsi = &a->wsi;
	i.retry_and_idle_policy = &no_lws_pings;
	if (s->nsrc > 0)
		i.iface = s->src[a->index % (uint32_t)s->nsrc];
	if (a->tried)
		s->st.reconnects++;
	a->tried = 1;
	a->state = SW_CONNECTING;
	s->st.live++;
	if (lws_client_connect_via_info(&i) == NULL &&
	    a->state == SW_CONNECTING)
		agent_down(s, a, "cannot start a connection");
}

void
sw_ws_due(struct sw *s, struct sw_agent *a)
{
	if (a->state == SW_IDLE) {
		if (s->leaving)
			a->state = SW_GONE;
		else
			ws_connect(s, a);
		return;
	}
	/* while leaving, an agent heartbeats until its turn to say bye */
	if (a->state != SW_READY || (a->pending & SW_P_BYE))
		return;
	want(a, SW_P_HB);
	sw_timer_hb(s, a, 0);
}

void
sw_ws_ping_due(struct sw *s, struct sw_agent *a)
{
	(void)s;
	if (a->wsi != NULL && (a->state == SW_OPEN || a->state == SW_READY))
		want(a, SW_P_PING);
}

void
sw_ws_leave(struct sw *s)
{
	if (s->leaving)
		return;
	s->leaving = 1;
	s->leave_t = mc_now();
	s->leave_next = 0;
	s->leave_by = 0;
}

/*
 * Goodbyes go out SW_BYE_PER_TICK agents a tick, not all at once: each
 * closing connection puts a timeout into lws 4.1's sorted sul list, whose
 * insert is O(n) in the connections closing at that moment, so 10,000
 * goodbyes at once cost seconds of list walking while 500 a tick cost
 * almost nothing.
 */
void
sw_ws_leave_step(struct sw *s)
{
	struct sw_agent *a;
	int n = 0;

	while (s->leave_next < s->n && n < SW_BYE_PER_TICK) {
		a = &s->agents[s->leave_next++];
		sw_timer_cancel(s, a);
		if (a->state == SW_READY && !(a->pending & SW_P_BYE)) {
			want(a, SW_P_BYE);
			s->leave_owed++;
			n++;
		} else if (a->state == SW_IDLE) {
			a->state = SW_GONE;
		}
	}
	if (s->leave_next == s->n && s->leave_by == 0)
		s->leave_by = mc_now() + SW_BYE_WAIT;
}

/* ---- what an agent writes ---- */

static struct sw_cmd *
cmd_owed(struct sw_agent *a)
{
	int i;

	for (i = 0; i < SW_CMD_SLOTS; i++)
		if (a->cmds[i].phase != SW_CMD_FREE &&
		    a->cmds[i].phase != SW_CMD_WAIT)
			return &a->cmds[i];
	return NULL;
}

/* Anything left to write in a's current state? */
static int
owes(struct sw_agent *a)
{
	if (a->state == SW_OPEN)
		return (a->pending & (SW_P_HELLO | SW_P_PING)) != 0;
	if (a->state != SW_READY)
		return 0;
	return a->pending != 0 || cmd_owed(a) != NULL;
}

/* The canned answer to a command: started, one chunk of output, done.
 * listener_update: started, then (its download checked) done or failed. */
static int
encode_cmd(struct sw *s, struct sw_agent *a, const struct sw_cmd *c)
{
	char name[MC_NAME_MAX + 1], text[MC_NAME_MAX + 16];
	struct mc_started st;
	struct mc_result r;
	struct mc_out o;

	sw_agent_name(s, a, name, sizeof(name));
	snprintf(text, sizeof(text), "swarm %s ok\n", name);
	switch (c->phase) {
	case SW_CMD_STARTED:
		memset(&st, 0, sizeof(st));
		mc_strlcpy(st.id, c->id, sizeof(st.id));
		st.pid = 1000 + (int)(a->index % 30000);
		return mc_started_encode(&s->tx, &st);
	case SW_CMD_OUT:
		memset(&o, 0, sizeof(o));
		mc_strlcpy(o.id, c->id, sizeof(o.id));
		o.stream = MC_STDOUT;
		o.data = text;
		o.len = strlen(text);
		return mc_out_encode(&s->tx, &o);
	default:
		memset(&r, 0, sizeof(r));
		mc_strlcpy(r.id, c->id, sizeof(r.id));
		r.outcome = MC_DONE;
		r.exit_code = 0;
		r.out_bytes = strlen(text);
		r.duration = 0.01;
		if (c->job != NULL) {
			r.out_bytes = 0;
			sw_update_result(c->job, &r);
		}
		return mc_result_encode(&s->tx, &r);
	}
}

static int
encode_hb(struct sw *s, struct sw_agent *a)
{
	memset(&s->hb, 0, sizeof(s->hb));
	s->hb.seq = (uint64_t)a->seq + 1;
	sw_payload_metrics(s, a, a->seq + 1, &s->hb.m);
	return mc_hb_encode(&s->tx, &s->hb);
}

static int
encode_hello(struct sw *s, struct sw_agent *a)
{
	int r;

	sw_payload_hello(s, a, &s->hello);
	r = mc_hello_encode(&s->tx, &s->hello);
	explicit_bzero(s->hello.cred, sizeof(s->hello.cred));
	explicit_bzero(s->hello.enroll_key, sizeof(s->hello.enroll_key));
	return r;
}

static int
encode_bye(struct sw *s, const char *reason)
{
	struct mc_bye bye;

	memset(&bye, 0, sizeof(bye));
	mc_strlcpy(bye.reason, reason, sizeof(bye.reason));
	return mc_bye_encode(&s->tx, &bye);
}

/* Encode the most urgent message a owes into s->tx, after LWS_PRE bytes
 * of headroom.  *cp is the command it answers (SW_M_CMD). */
static enum sw_msg
compose(struct sw *s, struct sw_agent *a, struct sw_cmd **cp)
{
	enum sw_msg m;
	int r;

	mc_buf_reset(&s->tx);
	if (mc_buf_append(&s->tx, headroom, sizeof(headroom)) == -1)
		return SW_M_FAIL;
	*cp = NULL;
	/* lws writes its pings before anything the protocol has to say;
	 * an empty payload, as lws's */
	if ((a->state == SW_OPEN || a->state == SW_READY) &&
	    (a->pending & SW_P_PING))
		return SW_M_PING;
	if (a->state == SW_OPEN && (a->pending & SW_P_HELLO)) {
		m = SW_M_HELLO;
		r = encode_hello(s, a);
	} else if (a->state != SW_READY) {
		return SW_M_NONE;
	} else if (a->pending & SW_P_BYE) {
		m = SW_M_BYE;
		r = encode_bye(s, "shutdown");
	} else if ((*cp = cmd_owed(a)) != NULL) {
		m = SW_M_CMD;
		r = encode_cmd(s, a, *cp);
	} else if (a->pending & SW_P_RESTART) {
		m = SW_M_RESTART;
		r = encode_bye(s, "restart");
	} else if (a->pending & SW_P_HB) {
		m = SW_M_HB;
		r = encode_hb(s, a);
	} else {
		return SW_M_NONE;
	}
	return r == 0 ? m : SW_M_FAIL;
}

/* A command's answer went out: on to its next phase.  listener_update
 * waits for its download after `started`; its result, if done, makes the
 * agent come back with the new version. */
static void
commit_cmd(struct sw *s, struct sw_agent *a, struct sw_cmd *c)
{
	const char *v;

	if (c->job != NULL && c->phase == SW_CMD_STARTED) {
		c->phase = SW_CMD_WAIT;
		sw_update_submit(s, c->job);	/* the worker's now */
		c->job = NULL;
		return;
	}
	if (c->phase != SW_CMD_RESULT) {
		c->phase++;
		return;
	}
	c->phase = SW_CMD_FREE;
	s->st.results++;
	if (c->job == NULL)
		return;
	if ((v = sw_update_version(c->job)) != NULL) {
		mc_strlcpy(a->version, v, sizeof(a->version));
		a->pending |= SW_P_RESTART;
	}
	sw_update_job_free(c->job);
	c->job = NULL;
}

/* The message went out: account for it. */
static void
commit(struct sw *s, struct sw_agent *a, enum sw_msg m, struct sw_cmd *c)
{
	switch (m) {
	case SW_M_HELLO:
		a->pending &= (uint8_t)~SW_P_HELLO;
		break;
	case SW_M_BYE:
		a->pending = 0;
		s->st.byes++;
		if (--s->leave_owed == 0 && s->leave_next == s->n)
			mc_info("all goodbyes written in %.0f ms",
			    (mc_now() - s->leave_t) * 1000);
		break;
	case SW_M_CMD:
		commit_cmd(s, a, c);
		break;
	case SW_M_RESTART:
		a->pending &= (uint8_t)~SW_P_RESTART;
		a->restarted = 1;
		break;
	case SW_M_HB:
		a->pending &= (uint8_t)~SW_P_HB;
		a->seq++;
		s->st.heartbeats++;
		break;
	case SW_M_PING:
		a->pending &= (uint8_t)~SW_P_PING;
		s->st.pings++;
		break;
	default:
		break;
	}
}

static int
ws_writeable(struct sw *s, struct sw_agent *a, struct lws *wsi)
{
	struct sw_cmd *c;
	enum sw_msg m = compose(s, a, &c);
	size_t len;

	if (m == SW_M_NONE)
		return 0;
	if (m == SW_M_FAIL) {
		sw_error(s, "agent %u: a message did not fit %d bytes",
		    (unsigned)a->index, SW_TX_MAX);
		return -1;
	}
	len = s->tx.len - LWS_PRE;
	if (lws_write(wsi, (unsigned char *)s->tx.data + LWS_PRE, len,
	    m == SW_M_PING ? LWS_WRITE_PING : LWS_WRITE_TEXT) < (int)len) {
		sw_error(s, "agent %u: write to hub failed",
		    (unsigned)a->index);
		return -1;
	}
	commit(s, a, m, c);
	if (m == SW_M_BYE || m == SW_M_RESTART) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL,
		    (unsigned char *)"bye", 3);
		return -1;
	}
	if (owes(a))
		lws_callback_on_writable(wsi);
	return 0;
}

/* ---- the hub's messages ---- */

static int
on_welcome(struct sw *s, struct sw_agent *a, const struct mc_msg *m)
{
	struct mc_welcome w;
	char err[256] = "";

	memset(&w, 0, sizeof(w));
	if (a->state != SW_OPEN) {
		sw_error(s, "agent %u: unexpected welcome; ignored",
		    (unsigned)a->index);
		return 0;
	}
	if (mc_welcome_decode(m, &w, err, sizeof(err)) == -1 ||
	    w.v != MC_PROTO_VERSION) {
		sw_error(s, "agent %u: bad welcome (protocol %d): %s",
		    (unsigned)a->index, w.v, err);
		return -1;
	}
	if (w.cred[0] != '\0')
		sw_cred_save(s, a, w.cred);
	explicit_bzero(w.cred, sizeof(w.cred));
	a->state = SW_READY;
	a->backoff = 1;
	a->welcomed = 1;
	s->st.connected++;
	s->hb_every = w.hb >= SW_HB_MIN ? w.hb : SW_HB_MIN;
	if (s->leaving) {
		sw_timer_cancel(s, a);
		want(a, SW_P_BYE);
		s->leave_owed++;
		return 0;
	}
	/* the first heartbeat now, as a listener sends it; the timing
	 * says when the next is (swarm_timer.c) */
	want(a, SW_P_HB);
	sw_timer_hb(s, a, 1);
	return 0;
}

static int
on_cmd(struct sw *s, struct sw_agent *a, const struct mc_msg *m)
{
	struct sw_cmd *c = NULL;
	char err[256];
	int i;

	if (a->state != SW_READY || s->leaving)
		return 0;
	if (mc_cmd_decode(m, &s->cmd, err, sizeof(err)) == -1) {
		sw_error(s, "agent %u: bad cmd: %s", (unsigned)a->index, err);
		return 0;
	}
	s->st.commands++;
	for (i = 0; i < SW_CMD_SLOTS; i++) {
		if (a->cmds[i].phase != SW_CMD_FREE &&
		    strcmp(a->cmds[i].id, s->cmd.id) == 0)
			return 0;	/* already being answered */
		if (c == NULL && a->cmds[i].phase == SW_CMD_FREE)
			c = &a->cmds[i];
	}
	if (c == NULL) {
		sw_error(s, "agent %u: command %s dropped: %d already being "
		    "answered", (unsigned)a->index, s->cmd.id, SW_CMD_SLOTS);
		return 0;
	}
	if (s->cmd.kind == MC_KIND_LISTENER_UPDATE &&
	    (c->job = sw_update_job_new(s, a, (int)(c - a->cmds),
	    &s->cmd)) == NULL) {
		sw_error(s, "agent %u: command %s dropped: out of memory",
		    (unsigned)a->index, s->cmd.id);
		return 0;
	}
	mc_strlcpy(c->id, s->cmd.id, sizeof(c->id));
	c->phase = SW_CMD_STARTED;
	want(a, 0);
	return 0;
}

static int
on_ack(struct sw *s, struct sw_agent *a, const struct mc_msg *m)
{
	(void)a;
	(void)m;
	s->st.acks++;
	return 0;
}

static int
on_error(struct sw *s, struct sw_agent *a, const struct mc_msg *m)
{
	char name[MC_NAME_MAX + 1], err[128];
	struct mc_error e;

	if (mc_error_decode(m, &e, err, sizeof(err)) == -1)
		return 0;
	/* the hub closes next; agent_down() then plans the retry */
	sw_agent_name(s, a, name, sizeof(name));
	sw_error(s, "%s: hub refused us (%s): %s", name, e.code, e.msg);
	/* a hub with a fresh store knows none of our credentials: enroll
	 * again when we can (the new credential is appended to the file) */
	if (strcmp(e.code, MC_ERR_AUTH) == 0 && a->cred[0] != '\0' &&
	    s->conf.enroll_key[0] != '\0') {
		explicit_bzero(a->cred, sizeof(a->cred));
		mc_info("%s: will enroll again with --enroll-key", name);
	}
	return 0;
}

static int (*const handlers[MC_MSG_COUNT])(struct sw *, struct sw_agent *,
    const struct mc_msg *) = {
	[MC_MSG_WELCOME] = on_welcome,
	[MC_MSG_CMD] = on_cmd,
	[MC_MSG_ACK] = on_ack,
	[MC_MSG_ERROR] = on_error,
};

int
sw_ws_handle(struct sw *s, struct sw_agent *a, const char *buf, size_t len)
{
	struct mc_msg m;
	const char *code;
	char err[256];
	int r = 0;

	/* skipped, not fatal: a newer hub may send what we do not know */
	if (mc_msg_parse(&m, MC_TO_AGENT, buf, len, &code, err,
	    sizeof(err)) == -1) {
		sw_error(s, "agent %u: message from hub skipped (%s): %s",
		    (unsigned)a->index, code, err);
		return 0;
	}
	if (handlers[m.type] != NULL)
		r = handlers[m.type](s, a, &m);
	mc_msg_free(&m);
	return r;
}

/* ---- lws events ---- */

/* Compare the hub's certificate with --fingerprint.  0 if it matches,
 * else -1 with the reason in why. */
static int
check_pin(struct sw *s, struct lws *wsi, char *why, size_t size)
{
	SSL *ssl = lws_get_ssl(wsi);
	unsigned char *der = NULL;
	char got[MC_SHA256_HEX];
	X509 *x = NULL;
	int n;

	if (ssl != NULL)
		x = SSL_get1_peer_certificate(ssl);
	if (x == NULL) {
		snprintf(why, size, "hub presented no certificate to check "
		    "against --fingerprint");
		return -1;
	}
	n = i2d_X509(x, &der);
	X509_free(x);
	if (n <= 0) {
		snprintf(why, size, "cannot encode the hub's certificate");
		return -1;
	}
	mc_sha256_hex(der, (size_t)n, got);
	OPENSSL_free(der);
	if (!mc_secret_eq(got, s->fp)) {
		snprintf(why, size, "hub certificate sha256:%s does not match "
		    "--fingerprint", got);
		return -1;
	}
	return 0;
}

static int
ws_established(struct sw *s, struct sw_agent *a, struct lws *wsi)
{
	char why[MC_TEXT_MAX];

	if (s->leaving || a->state != SW_CONNECTING)
		return -1;
	/* refused here, the CONNECTION_ERROR lws reports next is a no-op */
	if (s->fp[0] != '\0' && check_pin(s, wsi, why, sizeof(why)) == -1) {
		agent_down(s, a, why);
		return -1;
	}
	a->wsi = wsi;
	a->state = SW_OPEN;
	a->seq = 0;
	want(a, SW_P_HELLO);
	/* a listener's lws arms its ping here, and again at each pong */
	sw_timer_ping(s, a, SW_PING_SECS);
	return 0;
}

/* A whole message is handled straight from lws's buffer; only a split
 * one is put together, in a buffer that lives until it is complete. */
static int
ws_receive(struct sw *s, struct sw_agent *a, struct lws *wsi,
    const void *in, size_t len)
{
	int whole = lws_is_final_fragment(wsi) &&
	    lws_remaining_packet_payload(wsi) == 0;
	int r;

	if (a->rx == NULL && whole)
		return sw_ws_handle(s, a, in, len);
	if (a->rx == NULL) {
		if ((a->rx = malloc(sizeof(*a->rx))) == NULL) {
			sw_error(s, "agent %u: out of memory",
			    (unsigned)a->index);
			return -1;
		}
		mc_buf_init(a->rx, MC_MSG_MAX);
	}
	if (mc_buf_append(a->rx, in, len) == -1) {
		sw_error(s, "agent %u: message from hub over %d bytes",
		    (unsigned)a->index, MC_MSG_MAX);
		return -1;
	}
	if (!whole)
		return 0;
	r = sw_ws_handle(s, a, a->rx->data, a->rx->len);
	rx_drop(a);
	return r;
}

static void
ws_conn_error(struct sw *s, struct sw_agent *a, const char *in)
{
	char why[MC_TEXT_MAX];

	/* lws 4.1 says only this for a refused or unanswered TCP connect */
	if (in != NULL && strcmp(in, "Unable to connect") == 0)
		in = "connection refused or not answered";
	snprintf(why, sizeof(why), "cannot connect: %s",
	    in != NULL ? in : "unknown error");
	agent_down(s, a, why);
}

int
sw_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct sw_agent *a = lws_get_opaque_user_data(wsi);
	struct sw *s;

	(void)user;
	/* events of no agent, or of a connection the agent has left */
	if (a == NULL || (a->wsi != NULL && a->wsi != wsi))
		return 0;
	s = lws_context_user(lws_get_context(wsi));
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		ws_conn_error(s, a, in);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		return ws_established(s, a, wsi);
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return ws_receive(s, a, wsi, in, len);
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		s->st.pongs++;
		sw_timer_ping(s, a, SW_PING_SECS);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return ws_writeable(s, a, wsi);
	case LWS_CALLBACK_CLIENT_CLOSED:
		agent_down(s, a, NULL);
		break;
	default:
		break;
	}
	return 0;
}
