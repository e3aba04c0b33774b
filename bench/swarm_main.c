/*
 * swarm_main.c - swarm's entry point: flags, credentials, the open-files
 * limit, signals, the one event loop and an orderly exit.
 *
 * Everything runs on one thread in one lws_service() loop: N agent
 * connections, the agents' timers and the tick (swarm_timer*.c) and the
 * signal descriptor.  The loop is lws's libev backend (epoll), as in the
 * hub: poll() would scan every one of 10,000 descriptors at each wake-up
 * and add that to the round trips we measure.  Without the evlib plugin
 * (Debian package libwebsockets-evlib-ev) it falls back to poll() with a
 * warning.  With libev lws_service() returns only once the context is
 * gone, so the tick ends the loop from inside (sw_main_close()).
 * SIGINT and SIGTERM are blocked and read from a signalfd adopted into
 * the loop, so a signal is an ordinary loop event: every ready agent says
 * bye ("shutdown"), and the loop ends when all connections are closed or
 * SW_BYE_WAIT has passed; a second signal ends it at once (with libev, at
 * the next tick).  Exit status 0 after a signal or --duration, 1 when the
 * loop cannot be set up, 2 for bad flags.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "mc_log.h"
#include "swarm.h"

static int	sig_callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len);

/* the one swarm: lws's libev signal callback has no user pointer */
static struct sw swarm;

static const struct lws_protocols protocols[] = {
	/* first: lws also calls it for events of no protocol */
	{ .name = "maestro-swarm", .callback = sw_ws_callback,
	  .rx_buffer_size = SW_RX_BUF },
	{ .name = "sw-signal", .callback = sig_callback },
	/* takes finished listener_update downloads back (swarm_update.c) */
	{ .name = "sw-update", .callback = sw_update_callback },
	{ .name = NULL, .callback = NULL }
};

/* ---- signals ---- */

static void
sig_got(struct sw *s, int signo)
{
	if (s->leaving) {
		mc_info("second signal: closing now");
		s->done = 1;
		return;
	}
	mc_info("%s: closing %d connections",
	    signo == SIGINT ? "SIGINT" : "SIGTERM", s->st.live);
	sw_ws_leave(s);
}

static void
sig_read(struct sw *s, int fd)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		sig_got(s, (int)si.ssi_signo);
}

/* lws 4.1 puts its own SIGINT watcher on the libev loop.  SIGINT stays
 * blocked, so it reaches the signalfd; should the watcher ever see one
 * all the same, it gets the same handling here instead of lws's default
 * (breaking the loop, which run() would just re-enter). */
static void
on_lws_signal(void *handle, int signum)
{
	(void)handle;
	sig_got(&swarm, signum);
}

static int
sig_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	if (reason == LWS_CALLBACK_RAW_RX_FILE)
		sig_read(lws_context_user(lws_get_context(wsi)),
		    lws_get_socket_fd(wsi));
	return 0;
}

static int
sig_adopt(struct sw *s, int fd)
{
	lws_sock_file_fd_type u;

	u.filefd = fd;
	if (lws_adopt_descriptor_vhost(s->vh, LWS_ADOPT_RAW_FILE_DESC, u,
	    "sw-signal", NULL) == NULL)
		return -1;
	return 0;
}

/* ---- setup ---- */

/* Every agent is one descriptor: take the hard limit. */
static void
raise_nofile(const struct sw *s)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((rlim_t)s->n + 32 > rl.rlim_cur)
		mc_warn("open files are limited to %llu: not all %d agents "
		    "can connect; run several processes with --first",
		    (unsigned long long)rl.rlim_cur, s->n);
}

static void
lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	(void)level;
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	mc_debug("lws: %.*s", (int)n, line);
}

static int
context_create(struct sw *s)
{
	struct lws_context_creation_info info;

	lws_set_log_level(mc_log_enabled(MC_LOG_DEBUG) ?
	    LLL_ERR | LLL_WARN | LLL_NOTICE : 0, lws_log_emit);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = s;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	/* bound sources are IPv4: keep client sockets AF_INET */
	if (s->nsrc > 0)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.timeout_secs = SW_CONNECT_TIMEOUT;
	info.connect_timeout_secs = SW_CONNECT_TIMEOUT;
	/* libev's epoll: poll() over every agent's socket at each wake-up
	 * costs more than the messages and inflates the round trips */
	info.options |= LWS_SERVER_OPTION_LIBEV;
	info.pcontext = &s->ctx;
	info.signal_cb = on_lws_signal;
	s->evlib = 1;
	if ((s->ctx = lws_create_context(&info)) == NULL) {
		mc_warn("the libev event loop is not available (Debian package "
		    "libwebsockets-evlib-ev); using poll()");
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
		info.pcontext = NULL;
		info.signal_cb = NULL;
		s->evlib = 0;
		s->ctx = lws_create_context(&info);
	}
	if (s->ctx == NULL)
		return -1;
	s->vh = lws_get_vhost_by_name(s->ctx, "default");
	return s->vh != NULL ? 0 : -1;
}

static void
log_start(const struct sw *s)
{
	mc_info("%s %s: %d agents to %s (%s), %g new connections/s, %s "
	    "payload, %s timing (%s), %s%s%s", SW_PROG, MC_VERSION, s->n,
	    s->conf.hub,
	    !s->url.tls ? "no TLS" : s->fp[0] ? "pinned certificate" :
	    "certificate NOT verified", s->conf.ramp, s->small ? "small" :
	    "real", s->timing->name, s->timing->about, s->nsrc > 0 ? "sources " : "kernel-chosen sources",
	    s->nsrc > 0 ? s->src[0] : "", s->nsrc > 1 ? "..." : "");
	if (s->nsrc > 1)
		mc_info("%d source addresses, %s to %s", s->nsrc, s->src[0],
		    s->src[s->nsrc - 1]);
}

/* ---- exit ---- */

void
sw_main_close(struct sw *s)
{
	s->leaving = 1;
	if (s->st.live > 0)
		mc_info("%d connections still open; closing them", s->st.live);
	sw_timer_stop(s);
	sw_update_free(s);
	/* with libev, lws sets s->ctx NULL (info.pcontext) once it is gone */
	lws_context_destroy(s->ctx);
}

static int
teardown(struct sw *s, int code)
{
	int i, j;

	s->leaving = 1;
	if (s->ctx != NULL)
		sw_main_close(s);
	s->ctx = NULL;
	sw_update_free(s);	/* when the context never came up */
	for (i = 0; s->agents != NULL && i < s->n; i++) {
		if (s->agents[i].rx != NULL) {
			mc_buf_free(s->agents[i].rx);
			free(s->agents[i].rx);
		}
		for (j = 0; j < SW_CMD_SLOTS; j++)
			sw_update_job_free(s->agents[i].cmds[j].job);
	}
	mc_info("stopped: heartbeats=%llu pings=%llu pongs=%llu "
	    "commands=%llu results=%llu acks=%llu enrolled=%llu byes=%llu "
	    "downloads=%llu reconnects=%llu errors=%llu",
	    (unsigned long long)s->st.heartbeats,
	    (unsigned long long)s->st.pings,
	    (unsigned long long)s->st.pongs,
	    (unsigned long long)s->st.commands,
	    (unsigned long long)s->st.results,
	    (unsigned long long)s->st.acks,
	    (unsigned long long)s->st.enrolled,
	    (unsigned long long)s->st.byes,
	    (unsigned long long)s->st.downloads,
	    (unsigned long long)s->st.reconnects,
	    (unsigned long long)s->st.errors);
	explicit_bzero(s->agents, sizeof(*s->agents) * (size_t)s->n);
	free(s->agents);
	s->agents = NULL;
	mc_buf_free(&s->tx);
	sw_timer_free(s);
	sw_cred_close(s);
	return code;
}
/* A first hub (random, or the first with --start first) and an order
 * through the rest: a random stride prime to the count visits every hub
 * once per round (1 when the one drawn is not). */
static void
hubs_order(struct sw *s, struct sw_agent *a)
{
	int step = 1, x, y, t;

	a->hub = s->start_first ? 0 :
	    (uint8_t)((int)sw_rand(s, 0, s->nurls) % s->nurls);
	if (s->nurls > 2) {
		step = 1 + (int)sw_rand(s, 0, s->nurls - 1) % (s->nurls - 1);
		for (x = step, y = s->nurls; y != 0; t = x % y, x = y, y = t)
			;
		if (x != 1)
			step = 1;
	}
	a->hub_step = (uint8_t)step;
}


static int
run(struct sw *s)
{
	static const int sigs[] = { SIGTERM, SIGINT };
	int sfd, i;

	sfd = mc_signal_fd(sigs, (int)(sizeof(sigs) / sizeof(sigs[0])));
	if (sfd == -1) {
		mc_err("cannot set up signal handling: %s", strerror(errno));
		return teardown(s, 1);
	}
	if (context_create(s) == -1) {
		close(sfd);
		mc_err("cannot create the libwebsockets context");
		return teardown(s, 1);
	}
	if (sig_adopt(s, sfd) == -1) {
		close(sfd);
		mc_err("cannot watch signals in the event loop");
		return teardown(s, 1);
	}
	if (sw_update_init(s) == -1) {
		mc_err("cannot start the download worker");
		return teardown(s, 1);
	}
	log_start(s);
	mc_buf_init(&s->tx, SW_TX_MAX + LWS_PRE);
	s->hb_every = 10;
	if (sw_timer_init(s) == -1) {
		mc_err("out of memory for %d timers", s->n);
		return teardown(s, 1);
	}
	sw_timer_start(s);
	/* the ramp: agent i connects i / ramp seconds from now, to a hub of
	 * the list taken at random, as listeners spread over a cluster */
	for (i = 0; i < s->n; i++) {
		hubs_order(s, &s->agents[i]);
		sw_timer_set(s, &s->agents[i], i / s->conf.ramp);
	}
	/* poll(): one wait per call; libev: runs until the context is gone */
	while (!s->done && s->ctx != NULL)
		if (lws_service(s->ctx, 0) < 0)
			break;
	return teardown(s, 0);
}

int
main(int argc, char **argv)
{
	enum mc_log_level lv = MC_LOG_INFO;
	char err[600];
	int r;

	mc_log_setup(SW_PROG, MC_LOG_INFO);
	if ((r = sw_conf_read(&swarm, argc, argv, err, sizeof(err))) != 0) {
		if (r == 1)
			return 0;
		fprintf(stderr, "%s: %s\n", SW_PROG, err);
		return 2;
	}
	mc_log_level_parse(swarm.conf.log_level, &lv);
	mc_log_setup(SW_PROG, lv);
	if (sw_cred_setup(&swarm, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", SW_PROG, err);
		free(swarm.agents);
		return 2;
	}
	if (mc_random_hex(swarm.boot, 8) == -1) {
		fprintf(stderr, "%s: no randomness for a boot id\n", SW_PROG);
		free(swarm.agents);
		return 1;
	}
	raise_nofile(&swarm);
	return run(&swarm);
}
