/*
 * hub_ws.c - the libwebsockets adapter: context, vhost, and the one
 * protocol callback.
 *
 * This and hub_ws_http.c (an HTTP request's headers, body and reply) are
 * the only hub files that see struct lws.  Each callback case is a few
 * lines that call into hub_conn/hub_agent/hub_api with plain bytes.
 * One protocol serves everything: HTTP requests (API, health, dashboard)
 * and WebSocket upgrades, told apart by path (/ws/agent for listeners,
 * /ws/ui for the dashboard and hubctl watch, /ws/term for terminals;
 * anything else is refused before the upgrade).  Writes happen only in
 * WRITEABLE, one lws_write per callback, with LWS_PRE headroom.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "hub.h"
#include "hub_ws.h"
#include "mc_log.h"
#include "mc_util.h"

_Static_assert(HUB_PRE >= LWS_PRE, "HUB_PRE must cover LWS_PRE");

/*
 * lws gives every WebSocket connection a receive buffer of this size for
 * its whole life, and delivers a message in pieces no larger.  2 KiB
 * holds the heartbeat of a workstation with a few dozen mounts and
 * interfaces in one piece (hub_conn.c joins longer messages).  It is
 * the largest single thing an agent costs the hub: at 4 KiB it was
 * 4,116 of about 9,600 heap bytes per agent (massif, 2,000 agents).
 */
#define HUB_RX_PIECE	2048

/*
 * No lws pings from the hub.  By default (lws 4.1: ping 300 s after the
 * last pong, hang up 10 s later) lws pings each connection every 300 s,
 * whatever the peer sent meanwhile, and closed a listener that was
 * SIGSTOPped across that ping for over 10 s: a stop of D s (10 to 310)
 * with odds (D - 10) / 300, one 20 s stop in 30 (docs/protocol.md,
 * "Connections").  A stopped process is not a dead peer: its kernel
 * still answers TCP, and the missing heartbeats already make it late and
 * critical.  A hangup of 0 turns the lws timer off; dead peers (host
 * gone, path cut) are found by TCP keepalive instead, by the kernel at
 * no cost to the loop: KA_PROBES probes KA_EVERY s apart after KA_IDLE s
 * idle.  A live listener is never idle that long (heartbeats, and its own
 * pings every LST_PING_SECS).
 */
static const lws_retry_bo_t no_pings = {
	.secs_since_valid_ping = 0,
	.secs_since_valid_hangup = 0,
};
#define KA_IDLE		300
#define KA_EVERY	10
#define KA_PROBES	3

#define AEAD_SUITES	"ECDHE-ECDSA-AES128-GCM-SHA256:" \
			"ECDHE-RSA-AES128-GCM-SHA256:" \
			"ECDHE-ECDSA-AES256-GCM-SHA384:" \
			"ECDHE-RSA-AES256-GCM-SHA384:" \
			"ECDHE-ECDSA-CHACHA20-POLY1305:" \
			"ECDHE-RSA-CHACHA20-POLY1305"

static struct {
	struct lws_context	*ctx;	/* lws sets it NULL when it is gone */
	int			 evlib;	/* libev runs the loop (epoll) */
	lws_sorted_usec_list_t	 cron;
} ws;

void
hub_ws_want_write(void *wsi)
{
	if (wsi != NULL)
		lws_callback_on_writable(wsi);
}

/* Other threads reach the context only through this, under wake_mu, so
 * none can touch it while hub_ws_stop() destroys it. */
static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lws_context *wake_ctx;

void
hub_ws_wake(void)
{
	pthread_mutex_lock(&wake_mu);
	if (wake_ctx != NULL)
		lws_cancel_service(wake_ctx);
	pthread_mutex_unlock(&wake_mu);
}

void
hub_ws_rx_pause(void *wsi, int paused)
{
	if (wsi != NULL)
		lws_rx_flow_control(wsi, !paused);
}

/* TCP_INFO's state: a paused connection's FIN waits behind the data we
 * do not read, so reading cannot tell, but the kernel's state can. */
int
hub_ws_peer_closed(void *wsi)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int fd;

	if (wsi == NULL || (fd = lws_get_socket_fd(wsi)) < 0 ||
	    getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return 0;
	return ti.tcpi_state == TCP_CLOSE_WAIT || ti.tcpi_state == TCP_CLOSE;
}

void
hub_ws_close_soon(void *wsi)
{
	if (wsi != NULL)
		lws_set_timeout(wsi, PENDING_TIMEOUT_KILLED_BY_PARENT,
		    LWS_TO_KILL_ASYNC);
}

void
hub_ws_peer_name(struct lws *wsi, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss,
	    &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
			port = ntohs(s4->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			port = ntohs(s6->sin6_port);
			/* IPv4 peers on a dual-stack socket */
			if (strncmp(ip, "::ffff:", 7) == 0)
				memmove(ip, ip + 7, strlen(ip + 7) + 1);
		}
	}
	snprintf(out, outlen, "%s:%d", ip, port);
}

/* ---- WebSocket ---- */

/* The role a WebSocket path leads to; CONN_NEW for none. */
static enum hub_role
ws_path_role(struct lws *wsi, char *uri, size_t urilen)
{
	uri[0] = '\0';
	if (lws_hdr_copy(wsi, uri, (int)urilen, WSI_TOKEN_GET_URI) <= 0)
		return CONN_NEW;
	if (strcmp(uri, "/ws/agent") == 0)
		return CONN_AGENT;
	if (strcmp(uri, "/ws/ui") == 0)
		return CONN_UI;
	if (strcmp(uri, "/ws/term") == 0)
		return CONN_TERM;
	return CONN_NEW;
}

static int
ws_path_ok(struct lws *wsi)
{
	char uri[64], peer[64];

	if (ws_path_role(wsi, uri, sizeof(uri)) != CONN_NEW)
		return 1;
	hub_ws_peer_name(wsi, peer, sizeof(peer));
	mc_info("%s: WebSocket upgrade to '%s' refused: agents use /ws/agent,"
	    " browsers /ws/ui and /ws/term", peer, uri);
	return 0;
}

static int
ws_established(struct lws *wsi, struct hub_conn *c)
{
	char uri[64];
	enum hub_role role = ws_path_role(wsi, uri, sizeof(uri));

	if (role == CONN_NEW)
		return -1;
	hub_conn_init(c, wsi, role);
	hub_ws_peer_name(wsi, c->peer, sizeof(c->peer));
	if (role == CONN_UI)
		hub_ui_open(c);
	else if (role == CONN_TERM)
		hub_term_client_open(c);
	else
		mc_debug("%s: agent connection opened", c->peer);
	return 0;
}

static int
ws_receive(struct lws *wsi, struct hub_conn *c, const void *in, size_t len)
{
	int binary = lws_frame_is_binary(wsi);

	if (c->role == CONN_TERM) {
		hub_term_client_receive(c, in, len, lws_is_final_fragment(wsi),
		    binary);
		return 0;
	}
	/* every message is JSON text (docs/protocol.md) but an agent's
	 * terminal data; RFC 6455 closes with 1003 on a type of data the
	 * endpoint does not accept */
	if (binary && c->role != CONN_AGENT) {
		hub_conn_fail(c, 1003, MC_ERR_BAD_MESSAGE, "binary frames are "
		    "not accepted; messages are JSON text");
		return 0;
	}
	return hub_conn_on_receive(c, in, len, lws_is_final_fragment(wsi),
	    binary);
}

static int
ws_writeable(struct lws *wsi, struct hub_conn *c)
{
	unsigned char *buf;
	size_t len;
	int binary;

	if (hub_conn_peek(c, &buf, &len, &binary) == 0) {
		if (lws_write(wsi, buf, len, binary ? LWS_WRITE_BINARY :
		    LWS_WRITE_TEXT) < (int)len)
			return -1;
		hub_conn_pop(c);
		if (c->outq != NULL) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	}
	if (c->closing) {
		lws_close_reason(wsi, (enum lws_close_status)c->close_code,
		    NULL, 0);
		return -1;
	}
	return 0;
}

/* ---- admission (hub_admit.c) ---- */

static void
admit_start(struct lws *wsi)
{
	lws_set_opaque_user_data(wsi, hub_admit_start(wsi,
	    lws_get_socket_fd(wsi)));
}

/* The first request arrived: the handshake is over. */
static void
admit_request(struct lws *wsi)
{
	hub_admit_request(lws_get_opaque_user_data(wsi));
}

static void
admit_end(struct lws *wsi)
{
	hub_admit_end(lws_get_opaque_user_data(wsi));
	lws_set_opaque_user_data(wsi, NULL);
}

/* ---- the callback: dispatch only ---- */

static int
hub_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct hub_conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return hub_admit_accept((int)(lws_intptr_t)in);
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		admit_start(wsi);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		admit_end(wsi);
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		admit_request(wsi);
		return ws_path_ok(wsi) ? 0 : -1;
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(wsi, c);
	case LWS_CALLBACK_RECEIVE:
		return ws_receive(wsi, c, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(wsi, c);
	case LWS_CALLBACK_CLOSED:
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (c != NULL && c->role != CONN_NEW)
			hub_conn_destroy(c);
		if (c != NULL)
			c->role = CONN_NEW;
		return 0;
	case LWS_CALLBACK_HTTP:
		admit_request(wsi);
		return hub_ws_http_begin(wsi, c, in);
	case LWS_CALLBACK_HTTP_BODY:
		return hub_ws_http_body(c, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return hub_ws_http_dispatch(wsi, c);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return hub_ws_http_writeable(wsi, c);
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		hub_db_drain();
		hub_notify_drain();
		hub_chat_drain();
		hub_gitcfg_drain();
		hub_bus_drain();
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "maestro", hub_ws_callback, sizeof(struct hub_conn), HUB_RX_PIECE, 0,
	    NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
lws_to_mc_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	mc_log(level == LLL_ERR ? MC_LOG_ERROR : MC_LOG_WARN, "lws: %.*s",
	    (int)n, line);
}

/*
 * Bind exactly the address asked for.  lws 4.1 takes it as iface: on an
 * IPv6-enabled vhost it parses an IPv4 literal and then binds an IPv6
 * socket with the family overwritten, which is "::" - every interface.
 * So an IPv4 address (0.0.0.0 too) gets an IPv4-only vhost, and only an
 * IPv6 literal keeps IPv6 on (hub_listen.c checks the address).
 */
static int
listen_iface(char *host, struct lws_context_creation_info *info)
{
	int family, any;

	if (hub_listen_family(host, &family, &any) == -1)
		return -1;
	if (family == AF_INET) {
		info->options |= LWS_SERVER_OPTION_DISABLE_IPV6;
		info->iface = any ? NULL : host;
	} else
		info->iface = host;
	return 0;
}

static void
forget_wake_ctx(void)
{
	pthread_mutex_lock(&wake_mu);
	wake_ctx = NULL;
	pthread_mutex_unlock(&wake_mu);
}

static void
cron_fire(lws_sorted_usec_list_t *sul)
{
	hub_cron_tick(mc_now());
	if (hub.stop && hub_term_stopped(mc_now()) && ws.evlib) {
		/* libev runs until the context goes: end it from inside */
		forget_wake_ctx();
		lws_context_destroy(ws.ctx);
		return;
	}
	lws_sul_schedule(ws.ctx, 0, sul, cron_fire,
	    (lws_usec_t)(hub_cron_period() * LWS_USEC_PER_SEC));
}

/* SIGINT as libev's signal watcher sees it: stop like SIGTERM. */
static void
on_lws_signal(void *handle, int signum)
{
	(void)handle;
	(void)signum;
	hub.stop = 1;
}

int
hub_ws_start(void)
{
	static char host[128], cert[MC_PATH_MAX], key[MC_PATH_MAX];
	struct lws_context_creation_info info;
	int port;

	if (hub_listen_split(hub.conf.listen, host, sizeof(host), &port) == -1) {
		mc_err("--listen: '%s' is not ADDR:PORT", hub.conf.listen);
		return -1;
	}
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_to_mc_log);
	memset(&info, 0, sizeof(info));
	info.port = port;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
	    LWS_SERVER_OPTION_VALIDATE_UTF8;
	if (listen_iface(host, &info) == -1)
		return -1;
	info.alpn = "http/1.1";
	info.timeout_secs = 30;
	info.keepalive_timeout = 30;
	info.retry_and_idle_policy = &no_pings;
	info.ka_time = KA_IDLE;
	info.ka_interval = KA_EVERY;
	info.ka_probes = KA_PROBES;
	info.vhost_name = "maestro";
	if (!hub.conf.insecure_no_tls) {
		mc_strlcpy(cert, hub.conf.tls_cert, sizeof(cert));
		mc_strlcpy(key, hub.conf.tls_key, sizeof(key));
		info.ssl_cert_filepath = cert;
		info.ssl_private_key_filepath = key;
		/* TLS 1.2 with forward-secret AEAD suites only (no CBC, no
		 * SHA-1 MACs, no RSA key exchange); TLS 1.3's are all AEAD */
		info.ssl_cipher_list = AEAD_SUITES;
		info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
		    SSL_OP_NO_TLSv1_1;
	}
	/* libev's epoll: with thousands of agents, poll() over every socket
	 * at each wake-up would cost more than the messages themselves */
	info.options |= LWS_SERVER_OPTION_LIBEV;
	info.pcontext = &ws.ctx;
	info.signal_cb = on_lws_signal;
	ws.evlib = 1;
	if ((ws.ctx = lws_create_context(&info)) == NULL) {
		mc_warn("the libev event loop is not available (Debian package "
		    "libwebsockets-evlib-ev); using poll()");
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
		info.pcontext = NULL;
		info.signal_cb = NULL;
		ws.evlib = 0;
		ws.ctx = lws_create_context(&info);
	}
	if (ws.ctx == NULL) {
		mc_err("cannot serve on %s (address in use, or a bad "
		    "certificate?)", hub.conf.listen);
		return -1;
	}
	if (hub_listen_verify(host, port) == -1) {
		hub_ws_stop();
		return -1;
	}
	lws_sul_schedule(ws.ctx, 0, &ws.cron, cron_fire,
	    (lws_usec_t)(hub_cron_period() * LWS_USEC_PER_SEC));
	pthread_mutex_lock(&wake_mu);
	wake_ctx = ws.ctx;
	pthread_mutex_unlock(&wake_mu);
	mc_info("serving on %s://%s (agents: /ws/agent, dashboard: /)",
	    hub.conf.insecure_no_tls ? "http" : "https", hub.conf.listen);
	return 0;
}

int
hub_ws_run(void)
{
	int n = 0;

	/* poll(): one wait per call; libev: runs until the context ends.
	 * Stopping waits for the terminal clients to be told (hub_term). */
	while (n >= 0 && !(hub.stop && hub_term_stopped(mc_now())) &&
	    ws.ctx != NULL)
		n = lws_service(ws.ctx, 0);
	return 0;
}

void
hub_ws_stop(void)
{
	forget_wake_ctx();
	if (ws.ctx) {
		lws_sul_cancel(&ws.cron);
		lws_context_destroy(ws.ctx);
	}
	ws.ctx = NULL;
}
