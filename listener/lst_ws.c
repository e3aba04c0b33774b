/*
 * lst_ws.c - the connection to the hub: connect, check the hub's
 * certificate, hello, heartbeats, the send queue, reconnect with backoff
 * and the goodbye.
 *
 * Rules kept here:
 * - lst_ws_callback() only dispatches; the logic takes plain bytes
 *   (lst_ws_handle) and never keeps a struct lws * past CLOSED.
 * - A pinned certificate (--fingerprint) is compared at
 *   CLIENT_ESTABLISHED, before the hello, so no credential or key ever
 *   reaches a hub that does not hold the pinned certificate.
 * - The hello is the first message on every connection; nothing else is
 *   written before the welcome.  One lws_write() per WRITEABLE.  Every
 *   message is JSON text but a terminal's data frames (binary), which go
 *   only on a connection where the hub opened a session.
 * - Reconnects go on forever: 1 s doubling to MC_BACKOFF_CAP with +-25%
 *   jitter, back to 1 s after a welcome.  Each failure is logged once
 *   with its reason and the delay.
 * - With several hubs (lst_hubs.c) a failure or a drop moves to the next
 *   hub after the first delay (reconnect_min, jittered); the delay doubles
 *   only when every hub has failed in a row, so a listener tries each hub
 *   once per round and a round costs no more attempts per hub than one
 *   hub's reconnects did.  One hub: every failure ends a round, as before.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lst.h"
#include "mc_log.h"

static const lws_retry_bo_t idle_policy = {
	.secs_since_valid_ping = LST_PING_SECS,
	.secs_since_valid_hangup = LST_HANGUP_SECS,
};

static void	ws_connect(struct lst *l);
static void	ws_start_failed(struct lst *l);

/* ---- reconnecting ---- */

static double
jitter(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)random();
	return 0.75 + 0.5 * ((double)r / (double)UINT32_MAX);
}

/* The delay before the next attempt, to the next hub: the first delay
 * within a round, else the backoff, doubling the one after it. */
static double
next_delay(struct lst *l)
{
	double d;

	if (!lst_hubs_failed(&l->hubs))
		return l->conf.reconnect_min * jitter();
	d = l->backoff * jitter();
	l->backoff *= 2;
	if (l->backoff > MC_BACKOFF_CAP)
		l->backoff = MC_BACKOFF_CAP;
	return d;
}

static void
connect_cb(lws_sorted_usec_list_t *sul)
{
	ws_connect(lws_container_of(sul, struct lst, sul_connect));
}

/*
 * The connection is gone (or never came up): forget it and plan the next
 * attempt.  Called from CONNECTION_ERROR, CLOSED and a failed connect;
 * the state check makes a second call for the same connection a no-op.
 */
static void
ws_down(struct lst *l, const char *what)
{
	char was[LST_HUB_TEXT];
	double d;

	if (l->conn == LST_IDLE)
		return;
	l->conn = LST_IDLE;
	l->wsi = NULL;
	l->rx_partial = 0;
	lws_sul_cancel(&l->sul_hb);
	lst_queue_drop(&l->q, LST_Q_HELLO);
	lst_queue_drop(&l->q, LST_Q_HB);
	/* a terminal session never outlives its connection */
	lst_queue_drop(&l->q, LST_Q_TERM);
	lst_queue_drop(&l->q, LST_Q_TDATA);
	lst_term_lost(l);
	if (l->leaving || l->done) {
		l->done = 1;
		return;
	}
	/* the hub that failed, before next_delay() moves past it */
	mc_strlcpy(was, lst_hubs_name(&l->hubs), sizeof(was));
	d = next_delay(l);
	if (l->hubs.n == 1)
		mc_warn("hub %s: %s; retrying in %.1f s", was,
		    l->why[0] ? l->why : what, d);
	else
		mc_warn("hub %s: %s; trying hub %s in %.1f s", was,
		    l->why[0] ? l->why : what, lst_hubs_name(&l->hubs), d);
	lws_sul_schedule(l->ctx, 0, &l->sul_connect, connect_cb,
	    (lws_usec_t)(d * LWS_USEC_PER_SEC));
}

static int
tls_flags(const struct lst *l)
{
	if (!l->url.tls)
		return 0;
	/* pinned or unverified: the chain and name checks are replaced by
	 * the fingerprint comparison in check_pin() (or by nothing) */
	if (l->fp[0] != '\0' || l->conf.insecure)
		return LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED |
		    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
		    LCCSCF_ALLOW_INSECURE;
	return LCCSCF_USE_SSL;
}

static void
ws_connect(struct lst *l)
{
	struct lws_client_connect_info i;

	/* the hub tried now is the one lst_fetch.c downloads from while
	 * this connection lasts */
	l->url = *lst_hubs_cur(&l->hubs);
	memset(&i, 0, sizeof(i));
	i.context = l->ctx;
	i.vhost = l->vh;
	i.address = l->url.host;
	i.port = l->url.port;
	i.path = l->url.path;
	i.host = l->url.host;
	i.origin = l->url.host;
	i.ssl_connection = tls_flags(l);
	i.local_protocol_name = "maestro-agent";
	i.retry_and_idle_policy = &idle_policy;
	i.pwsi = &l->wsi;
	l->conn = LST_CONNECTING;
	l->connect_t0 = mc_now();
	l->why[0] = '\0';
	mc_debug("connecting to %s", lst_hubs_name(&l->hubs));
	if (lws_client_connect_via_info(&i) == NULL &&
	    l->conn == LST_CONNECTING)
		ws_start_failed(l);
}

/* A seed for the order of the hubs, different in every process. */
static uint64_t
hubs_seed(void)
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint64_t)random() << 32 ^ (uint64_t)getpid() ^
		    (uint64_t)(mc_now() * 1e6);
	return r;
}

void
lst_ws_start(struct lst *l)
{
	lst_hubs_shuffle(&l->hubs, hubs_seed());
	if (l->hubs.n > 1)
		mc_info("%d hubs; trying %s first", l->hubs.n,
		    lst_hubs_name(&l->hubs));
	l->backoff = l->conf.reconnect_min;
	mc_buf_init(&l->rx, MC_MSG_MAX);
	mc_buf_init(&l->scratch, MC_MSG_MAX);
	lst_queue_init(&l->q);
	ws_connect(l);
}

void
lst_ws_stop(struct lst *l)
{
	lws_sul_cancel(&l->sul_connect);
	lws_sul_cancel(&l->sul_hb);
	lws_sul_cancel(&l->sul_exit);
	lws_sul_cancel(&l->sul_restart);
}

/* ---- sending ---- */

struct mc_buf *
lst_ws_buf(struct lst *l)
{
	mc_buf_reset(&l->scratch);
	return &l->scratch;
}

int
lst_ws_send(struct lst *l, enum lst_qclass cls)
{
	return lst_ws_push(l, cls, NULL, l->scratch.data, l->scratch.len);
}

/* A message of class cls was queued: write when the connection may. */
static void
want_write(struct lst *l, enum lst_qclass cls)
{
	if (!l->done && l->wsi != NULL &&
	    (l->conn == LST_READY || cls == LST_Q_HELLO))
		lws_callback_on_writable(l->wsi);
}

int
lst_ws_push(struct lst *l, enum lst_qclass cls, const char *id,
    const void *data, size_t len)
{
	if (lst_queue_push(&l->q, cls, id, data, len) == NULL)
		return -1;
	want_write(l, cls);
	return 0;
}

int
lst_ws_send_out(struct lst *l, enum lst_qclass cls, const char *id)
{
	struct lst_qmsg *m = lst_queue_push(&l->q, cls, id, l->scratch.data,
	    l->scratch.len);

	if (m == NULL)
		return -1;
	m->out = 1;
	want_write(l, cls);
	return 0;
}

static void
hb_cb(lws_sorted_usec_list_t *sul)
{
	struct lst *l = lws_container_of(sul, struct lst, sul_hb);

	if (l->conn != LST_READY || l->leaving)
		return;
	/* a heartbeat still queued is stale: replace it, never pile up */
	if (l->q.nhb > 0)
		lst_queue_drop(&l->q, LST_Q_HB);
	l->hb.seq = ++l->seq;
	lst_metrics_collect(l, &l->hb.m, LST_SAMPLE_HB);
	/* containers: counts, and what changed since the last one written */
	l->hb.ctr = lst_ctr_hb_part(l);
	lst_ctr_log(l->seq, l->hb.ctr);
	if (mc_hb_encode(lst_ws_buf(l), &l->hb) == -1 ||
	    lst_ws_send(l, LST_Q_HB) == -1)
		mc_warn("heartbeat %llu dropped: send queue full",
		    (unsigned long long)l->seq);
	/* the next GPU sample starts now, after this heartbeat is queued:
	 * the next one carries it, and a slow nvidia-smi delays nothing */
	lst_gpu_tick(l);
	lws_sul_schedule(l->ctx, 0, &l->sul_hb, hb_cb,
	    (lws_usec_t)(l->hb_every * LWS_USEC_PER_SEC));
}

static void
exit_cb(lws_sorted_usec_list_t *sul)
{
	struct lst *l = lws_container_of(sul, struct lst, sul_exit);

	mc_warn("goodbye not written within %.0f s; leaving anyway",
	    LST_BYE_WAIT);
	l->done = 1;
}

void
lst_ws_leave(struct lst *l, const char *reason, int code)
{
	struct mc_bye bye;

	if (l->leaving)
		return;
	l->leaving = 1;
	l->exit_code = code;
	lws_sul_cancel(&l->sul_hb);
	lws_sul_cancel(&l->sul_connect);
	if (l->conn != LST_READY || l->wsi == NULL) {
		l->done = 1;
		return;
	}
	memset(&bye, 0, sizeof(bye));
	mc_strlcpy(bye.reason, reason, sizeof(bye.reason));
	if (mc_bye_encode(lst_ws_buf(l), &bye) == -1 ||
	    lst_ws_send(l, LST_Q_BYE) == -1) {
		l->done = 1;
		return;
	}
	lws_sul_schedule(l->ctx, 0, &l->sul_exit, exit_cb,
	    (lws_usec_t)(LST_BYE_WAIT * LWS_USEC_PER_SEC));
}

/* ---- the hub's messages ---- */

/*
 * A hub that is gone (powered off, its path cut) answers nothing, not
 * even TCP: the heartbeats stay unacknowledged, and the kernel gives the
 * connection up once LST_UNACKED_BEATS of them are (instead of after its
 * retransmissions, about 15 minutes).  So the listener needs no frequent
 * pings to notice, and the hub answers none.
 */
static void
unacked_limit(struct lst *l)
{
	double s = l->hb_every * LST_UNACKED_BEATS;
	unsigned int ms = (unsigned int)((s > LST_UNACKED_MIN ? s :
	    LST_UNACKED_MIN) * 1000);
	int fd = l->wsi != NULL ? lws_get_socket_fd(l->wsi) : -1;

	if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms,
	    sizeof(ms)) == -1)
		mc_warn("TCP_USER_TIMEOUT: %s; a hub that vanishes is noticed "
		    "only after %d s without a pong", strerror(errno),
		    LST_HANGUP_SECS);
}

static int
on_welcome(struct lst *l, const struct mc_msg *m)
{
	struct mc_welcome w;
	char err[256];

	if (l->conn != LST_OPEN) {
		mc_warn("unexpected welcome from hub; ignored");
		return 0;
	}
	if (mc_welcome_decode(m, &w, err, sizeof(err)) == -1) {
		snprintf(l->why, sizeof(l->why), "bad welcome: %s", err);
		return -1;
	}
	if (w.v != MC_PROTO_VERSION) {
		snprintf(l->why, sizeof(l->why), "hub speaks protocol %d, this "
		    "listener %d", w.v, MC_PROTO_VERSION);
		return -1;
	}
	if (w.cred[0] != '\0' && lst_cred_save(l, w.cred) == -1) {
		explicit_bzero(&w, sizeof(w));
		l->leaving = 1;
		l->exit_code = 1;
		return -1;
	}
	explicit_bzero(w.cred, sizeof(w.cred));
	l->conn = LST_READY;
	l->hb_every = w.hb;
	unacked_limit(l);
	l->backoff = l->conf.reconnect_min;
	lst_hubs_welcomed(&l->hubs);
	mc_info("hub %s welcomed us as '%s'; heartbeat every %g s",
	    lst_hubs_name(&l->hubs), w.name, w.hb);
	/* the first heartbeat goes now so the hub has metrics at once, and
	 * every container (a new connection may be a new hub);
	 * then the output earlier connections wrote that the hub may not
	 * have (ahead of the rest, as it came first), the queue (output of
	 * commands that ran while offline) and the results an earlier
	 * connection wrote but the hub never acknowledged */
	lst_rollback_welcomed(l);
	lst_ctr_hb_full(l);
	hb_cb(&l->sul_hb);
	if (w.out_at)
		lst_tail_replay(l);
	lst_hold_welcome(l);
	if (lst_queue_peek(&l->q) != NULL && l->wsi != NULL)
		lws_callback_on_writable(l->wsi);
	lst_mem_trim();
	return 0;
}

static int
on_cmd(struct lst *l, const struct mc_msg *m)
{
	if (l->conn != LST_READY) {
		mc_warn("command before welcome; ignored");
		return 0;
	}
	if (l->leaving) {
		mc_info("command while stopping; ignored");
		return 0;
	}
	lst_cmd_handle(l, m);
	return 0;
}

static int
on_ack(struct lst *l, const struct mc_msg *m)
{
	struct mc_ack a;
	char err[128];

	if (mc_ack_decode(m, &a, err, sizeof(err)) == -1)
		return 0;
	mc_debug("hub stored the result of %s", a.id);
	lst_hold_ack(l, a.id);
	lst_restart_acked(l, a.id);
	return 0;
}

static int
on_error(struct lst *l, const struct mc_msg *m)
{
	struct mc_error e;
	char err[128];

	if (mc_error_decode(m, &e, err, sizeof(err)) == -1)
		return 0;
	if (e.warning) {	/* the connection stays: say it now */
		mc_warn("the hub says (%s): %s", e.code, e.msg);
		return 0;
	}
	/* ws_down() logs it with the retry delay once the hub closes */
	mc_debug("hub error %s: %s", e.code, e.msg);
	snprintf(l->why, sizeof(l->why), "hub refused us (%s): %s", e.code,
	    e.msg);
	/* two listeners with one credential would take the connection from
	 * each other every second; make them do it once a minute */
	if (strcmp(e.code, MC_ERR_REPLACED) == 0) {
		mc_err("another listener connected as '%s' with this agent's "
		    "credential; is a second one running?", l->hello.name);
		l->backoff = MC_BACKOFF_CAP;
		/* and not through another hub in the meantime */
		lst_hubs_end_round(&l->hubs);
	}
	return 0;
}

static int
on_term(struct lst *l, const struct mc_msg *m)
{
	if (l->conn != LST_READY) {
		mc_warn("%s before welcome; ignored", mc_msg_name(m->type));
		return 0;
	}
	lst_term_handle(l, m);
	return 0;
}

static int (*const handlers[MC_MSG_COUNT])(struct lst *,
    const struct mc_msg *) = {
	[MC_MSG_WELCOME] = on_welcome,
	[MC_MSG_CMD] = on_cmd,
	[MC_MSG_ACK] = on_ack,
	[MC_MSG_ERROR] = on_error,
	[MC_MSG_TERM_OPEN] = on_term,
	[MC_MSG_TERM_RESIZE] = on_term,
	[MC_MSG_TERM_CLOSE] = on_term,
	[MC_MSG_TERM_ACK] = on_term,
};

int
lst_ws_handle(struct lst *l, const char *buf, size_t len)
{
	struct mc_msg m;
	const char *code;
	char err[256];
	int r = 0;

	/* a message we cannot read is logged and skipped: a newer hub may
	 * send something this listener does not know yet */
	if (mc_msg_parse(&m, MC_TO_AGENT, buf, len, &code, err,
	    sizeof(err)) == -1) {
		mc_warn("message from hub skipped (%s): %s", code, err);
		return 0;
	}
	if (handlers[m.type] != NULL)
		r = handlers[m.type](l, &m);
	mc_msg_free(&m);
	return r;
}

/* ---- lws events ---- */

/* Compare the hub's certificate with --fingerprint.  0 if it matches. */
static int
check_pin(struct lst *l, struct lws *wsi)
{
	SSL *ssl = lws_get_ssl(wsi);
	X509 *x = ssl != NULL ? SSL_get1_peer_certificate(ssl) : NULL;
	unsigned char *der = NULL;
	char got[MC_SHA256_HEX];
	int n;

	if (x == NULL) {
		mc_err("hub presented no certificate to check against "
		    "--fingerprint");
		return -1;
	}
	n = i2d_X509(x, &der);
	X509_free(x);
	if (n <= 0) {
		mc_err("cannot encode the hub's certificate");
		return -1;
	}
	mc_sha256_hex(der, (size_t)n, got);
	OPENSSL_free(der);
	if (!mc_secret_eq(got, l->fp)) {
		mc_err("hub certificate fingerprint sha256:%s does not match "
		    "--fingerprint sha256:%s", got, l->fp);
		return -1;
	}
	mc_debug("hub certificate matches --fingerprint");
	return 0;
}

static int
ws_established(struct lst *l, struct lws *wsi)
{
	if (l->fp[0] != '\0' && check_pin(l, wsi) == -1) {
		snprintf(l->why, sizeof(l->why), "certificate does not match "
		    "--fingerprint");
		return -1;
	}
	l->wsi = wsi;
	l->conn = LST_OPEN;
	l->seq = 0;
	if (l->conf.insecure && l->url.tls)
		mc_warn("hub certificate NOT verified (--insecure)");
	mc_debug("connected to %s; sending hello as '%s'",
	    lst_hubs_name(&l->hubs), l->hello.name);
	lst_hold_pending(l, &l->hello);
	if (mc_hello_encode(lst_ws_buf(l), &l->hello) == -1 ||
	    lst_ws_send(l, LST_Q_HELLO) == -1) {
		snprintf(l->why, sizeof(l->why), "cannot queue the hello");
		return -1;
	}
	return 0;
}

/* Reassemble fragments; hand over each whole message. */
static int
ws_receive(struct lst *l, struct lws *wsi, const void *in, size_t len)
{
	if (!l->rx_partial)
		mc_buf_reset(&l->rx);
	if (mc_buf_append(&l->rx, in, len) == -1) {
		snprintf(l->why, sizeof(l->why), "message from hub over %d "
		    "bytes", MC_MSG_MAX);
		return -1;
	}
	l->rx_partial = !lws_is_final_fragment(wsi) ||
	    lws_remaining_packet_payload(wsi) > 0;
	if (l->rx_partial)
		return 0;
	/* binary messages are terminal input (mc_term.h) */
	if (lws_frame_is_binary(wsi)) {
		if (l->conn == LST_READY)
			lst_term_data(l, l->rx.data, l->rx.len);
		return 0;
	}
	return lst_ws_handle(l, l->rx.data, l->rx.len);
}

/*
 * lws masks a client's frame in place: write a copy, so that the queued
 * message stays whole when the write fails (it goes out on the next
 * connection) and an output message is kept as it was sent
 * (lst_tail.c).  0, or -1.
 */
static int
write_msg(struct lws *wsi, const struct lst_qmsg *m)
{
	unsigned char *copy = malloc(LWS_PRE + m->len);	/* freed here: lws
							 * copies what it
							 * cannot send now */
	int n;

	if (copy == NULL)
		return -1;
	memcpy(copy + LWS_PRE, m->buf + LWS_PRE, m->len);
	n = lws_write(wsi, copy + LWS_PRE, m->len, m->cls == LST_Q_TDATA ?
	    LWS_WRITE_BINARY : LWS_WRITE_TEXT);
	free(copy);
	return n < (int)m->len ? -1 : 0;
}

static int
ws_writeable(struct lst *l, struct lws *wsi)
{
	struct lst_qmsg *m = lst_queue_peek(&l->q);
	char id[MC_ID_MAX];
	enum lst_qclass cls;

	if (m == NULL || (m->cls != LST_Q_HELLO && l->conn != LST_READY))
		return 0;
	if (write_msg(wsi, m) == -1) {
		snprintf(l->why, sizeof(l->why), "write to hub failed");
		return -1;
	}
	cls = m->cls;
	mc_strlcpy(id, m->id, sizeof(id));
	if (m->out)
		lst_hold_written(l, id, m->buf + LWS_PRE, m->len);
	lst_queue_pop(&l->q);
	if (cls == LST_Q_RESULT)
		lst_hold_sent(l, id);
	if (cls == LST_Q_HB)
		lst_ctr_hb_sent(l);
	if (cls == LST_Q_BYE) {
		mc_info("goodbye sent to hub");
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL,
		    (unsigned char *)"bye", 3);
		return -1;
	}
	/* room again: the next piece of a file, a result that waited */
	lst_hold_pump(l);
	if (lst_queue_peek(&l->q) != NULL && l->conn == LST_READY)
		lws_callback_on_writable(wsi);
	return 0;
}

/*
 * lws 4.1 reports every failed TCP connect as "Unable to connect" and
 * errno is gone by the time we hear of it.  A failure before the connect
 * timeout means the host answered no (refused, or unreachable); one at
 * the timeout means nothing answered.
 */
/* A failed TLS handshake: say why the certificate was refused, if it
 * was, and what to pass instead.  0 if this was not a TLS failure. */
static int
tls_failure(struct lws *wsi, const char *in, char *what, size_t size)
{
	SSL *ssl = lws_get_ssl(wsi);
	long v;

	if (strstr(in, "SSL") == NULL && strstr(in, "ssl") == NULL &&
	    strstr(in, "tls") == NULL)
		return 0;
	v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (v == X509_V_ERR_HOSTNAME_MISMATCH ||
	    v == X509_V_ERR_IP_ADDRESS_MISMATCH)
		snprintf(what, size, "TLS failure: the hub's certificate does "
		    "not name this host (%s); use a name it holds in --hub, or "
		    "pin it with --fingerprint", X509_verify_cert_error_string(v));
	else if (v != X509_V_OK)
		snprintf(what, size, "TLS failure: hub certificate not "
		    "trusted (%s); pass --fingerprint sha256:HEX as the hub "
		    "prints it, or --ca FILE", X509_verify_cert_error_string(v));
	else
		snprintf(what, size, "TLS failure: %s", in);
	return 1;
}

static void
ws_conn_error(struct lst *l, struct lws *wsi, const char *in)
{
	char what[MC_TEXT_MAX];

	if (in == NULL)
		in = "unknown error";
	if (tls_failure(wsi, in, what, sizeof(what)))
		ws_down(l, what);
	else if (strcmp(in, "Unable to connect") != 0) {
		snprintf(what, sizeof(what), "cannot connect: %s", in);
		ws_down(l, what);
	} else if (mc_now() - l->connect_t0 < LST_CONNECT_TIMEOUT - 1)
		ws_down(l, "cannot connect: connection refused (or host "
		    "unreachable)");
	else {
		snprintf(what, sizeof(what), "cannot connect: no answer "
		    "within %d s", LST_CONNECT_TIMEOUT);
		ws_down(l, what);
	}
}

/* lws_client_connect_via_info() gave up at once: most often a name that
 * does not resolve (lws resolves synchronously too, so asking again here
 * blocks no more than it did). */
static void
ws_start_failed(struct lst *l)
{
	struct addrinfo hints, *res = NULL;
	char what[MC_TEXT_MAX];
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(l->url.host, NULL, &hints, &res);
	if (r != 0)
		snprintf(what, sizeof(what), "cannot resolve '%.64s': %s",
		    l->url.host, gai_strerror(r));
	else
		snprintf(what, sizeof(what), "cannot start a connection");
	if (res != NULL)
		freeaddrinfo(res);
	ws_down(l, what);
}

/* The hub's close frame: keep its code and reason for the log line. */
static void
ws_peer_close(struct lst *l, const unsigned char *in, size_t len)
{
	if (l->why[0] != '\0' || len < 2)
		return;
	snprintf(l->why, sizeof(l->why), "hub closed the connection (%d%s%.*s)",
	    in[0] << 8 | in[1], len > 2 ? ": " : "",
	    (int)(len > 2 && len - 2 < 125 ? len - 2 : 0), in + 2);
}

int
lst_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct lst *l = lws_context_user(lws_get_context(wsi));

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		ws_conn_error(l, wsi, in);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		return ws_established(l, wsi);
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return ws_receive(l, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return ws_writeable(l, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		ws_peer_close(l, in, len);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		ws_down(l, "connection closed");
		break;
	default:
		break;
	}
	return 0;
}
