/*
 * lst_main.c - maestro-listener's entry point: settings, state, signals,
 * the event loop and an orderly exit.
 *
 * Signals: SIGTERM, SIGINT and SIGCHLD are blocked and read from a
 * signalfd that is adopted into the lws loop as a raw file.  A signal so
 * becomes an ordinary loop event handled on the service thread: no code
 * of ours runs in signal context, there is no flag to poll and no race
 * with a poll() about to sleep, and lws_cancel_service() (not
 * async-signal-safe) is never needed.  Children get an empty mask back
 * (lst_exec.c).
 *
 * Exit: free everything we own (the lws context, the queue, held
 * results, libstatgrab's buffers) so valgrind sees no leak; running
 * commands are killed.  After a restart command the last step starts a
 * fresh copy of the program (lst_cmd_restart.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"
#include "mc_sd.h"

static int	sig_callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len);

static const struct lws_protocols protocols[] = {
	/* first: lws also calls it for events of no protocol */
	{ .name = "maestro-agent", .callback = lst_ws_callback },
	{ .name = "lst-pipe", .callback = lst_exec_callback },
	{ .name = "lst-term", .callback = lst_term_callback },
	{ .name = "lst-ctr", .callback = lst_ctr_callback },
	{ .name = "lst-probe", .callback = lst_probe_callback },
	{ .name = "lst-signal", .callback = sig_callback },
	{ .name = NULL, .callback = NULL }
};

/* ---- signals ---- */

static void
sig_read(struct lst *l, int fd)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			/* each waits for its own children by pid */
			lst_exec_reap(l);
			lst_term_reap(l);
			lst_ctr_reap(l);
			lst_gpu_reap(l);
			continue;
		}
		if (l->leaving)
			continue;
		mc_info("%s: stopping",
		    si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
		lst_ws_leave(l, "sigterm", 0);
	}
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

/* Block the signals we read from a descriptor; returns it or -1. */
static int
sig_block(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGCHLD };

	/* inherited "ignore" would reap children behind our back */
	signal(SIGCHLD, SIG_DFL);
	return mc_signal_fd(sigs, (int)(sizeof(sigs) / sizeof(sigs[0])));
}

static int
sig_adopt(struct lst *l, int fd)
{
	lws_sock_file_fd_type u;

	u.filefd = fd;
	if (lws_adopt_descriptor_vhost(l->vh, LWS_ADOPT_RAW_FILE_DESC, u,
	    "lst-signal", NULL) == NULL)
		return -1;
	return 0;
}

/* ---- setup ---- */

/* Descriptors 0-2 open, so no pipe or socket of ours ever becomes one. */
static void
stdio_sanity(void)
{
	int fd;

	do {
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	} while (fd >= 0 && fd <= 2);
	if (fd > 2)
		close(fd);
}

/* HOME for commands: the account's, not whatever our environment says. */
static void
home_setup(struct lst *l)
{
	if (lst_user_home(getuid(), l->home, sizeof(l->home)) == -1)
		mc_strlcpy(l->home, "/", sizeof(l->home));
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

/* The machine's CA bundle.  This static binary's OpenSSL only knows
 * Debian's paths; the listener also runs on other distributions. */
const char *
lst_system_ca_bundle(void)
{
	static const char *const paths[] = {
		"/etc/ssl/certs/ca-certificates.crt",	/* Debian, Arch, Alpine */
		"/etc/pki/tls/certs/ca-bundle.crt",	/* Fedora, RHEL */
		"/etc/ssl/ca-bundle.pem",		/* openSUSE */
		"/etc/ssl/cert.pem",			/* Alpine, BSDs */
	};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], R_OK) == 0)
			return paths[i];
	return NULL;
}

static int
context_create(struct lst *l)
{
	struct lws_context_creation_info info;

	lws_set_log_level(mc_log_enabled(MC_LOG_DEBUG) ?
	    LLL_ERR | LLL_WARN | LLL_NOTICE : 0, lws_log_emit);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = l;
	/*
	 * The trust anchors are ours to choose (a pinned certificate, --ca
	 * or the system bundle below); lws loading the OS store as well
	 * would parse every system CA into the heap for nothing.
	 */
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
	    LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	/*
	 * lws sizes two tables by the highest fd it may see, by default the
	 * fd limit (20,000 or more): 300 KiB of heap for a process that holds
	 * a dozen descriptors.  Our fds stay low because the kernel hands out
	 * the lowest free number.
	 */
	info.fd_limit_per_thread = LST_FDS_MAX;
	if (l->conf.ca[0] != '\0')
		info.client_ssl_ca_filepath = l->conf.ca;
	else if (l->url.tls && l->fp[0] == '\0' && !l->conf.insecure)
		info.client_ssl_ca_filepath = lst_system_ca_bundle();
	info.timeout_secs = LST_CONNECT_TIMEOUT;
	info.connect_timeout_secs = LST_CONNECT_TIMEOUT;
	l->ctx = lws_create_context(&info);
	if (l->ctx == NULL)
		return -1;
	l->vh = lws_get_vhost_by_name(l->ctx, "default");
	return l->vh != NULL ? 0 : -1;
}

/* Say now, not only at the first command, if run_as cannot work (an
 * unknown user was refused with the config). */
static void
log_run_as(const struct lst *l)
{
	struct lst_user u;

	if (l->conf.run_as[0] == '\0' ||
	    lst_user_find(l->conf.run_as, 0, &u) == -1)
		return;
	if (geteuid() != 0 && u.uid != geteuid())
		mc_warn("run_as user '%s' needs the listener to run as root; "
		    "shell commands will fail", l->conf.run_as);
	else
		mc_info("shell commands run as '%s' (uid %u)", l->conf.run_as,
		    (unsigned)u.uid);
}

static void
log_start(const struct lst *l)
{
	mc_info("%s %s starting as '%s'; %s %s (%s)", LST_PROG, MC_VERSION,
	    l->hello.name, l->hubs.n > 1 ? "hubs" : "hub", l->conf.hub,
	    !l->url.tls ? "no TLS" :
	    l->fp[0] ? "pinned certificate" : l->conf.insecure ?
	    "certificate NOT verified" : l->conf.ca[0] ? "--ca" :
	    "system CAs");
	if (!l->url.tls && (l->fp[0] || l->conf.ca[0] || l->conf.insecure))
		mc_warn("ws:// has no TLS: --fingerprint, --ca and --insecure "
		    "are ignored");
	mc_info("state in %s; %s", l->conf.state_dir, l->hello.cred[0] ?
	    "using the stored credential" : "enrolling with --enroll-key");
	log_run_as(l);
}

/* ---- exit ---- */

static int
teardown(struct lst *l)
{
	l->done = 1;
	if (l->ctx != NULL) {
		lws_sul_cancel(&l->sul_watchdog);
		lws_sul_cancel(&l->sul_update);
	}
	mc_sd_notify("STOPPING=1");
	lst_exec_kill_all(l);
	lst_term_kill_all(l);
	lst_ctr_stop(l);
	lst_gpu_kill_all(l);
	lst_ws_stop(l);
	if (l->ctx != NULL)
		lws_context_destroy(l->ctx);
	l->ctx = NULL;
	lst_exec_free_all(l);
	lst_term_free_all(l);
	lst_ctr_free(l);
	lst_gpu_free_all(l);
	lst_hold_free(l);
	lst_seen_close(&l->seen);
	lst_queue_free(&l->q);
	mc_buf_free(&l->rx);
	mc_buf_free(&l->scratch);
	lst_metrics_shutdown();
	explicit_bzero(&l->hello, sizeof(l->hello));
	if (l->restart)
		return lst_restart_exec(l);
	mc_info("stopped (exit %d)", l->exit_code);
	return l->exit_code;
}

/* Under systemd with WatchdogSec=, ping from the loop itself: a stuck
 * loop stops the pings and systemd restarts the listener. */
static void
watchdog_cb(lws_sorted_usec_list_t *sul)
{
	struct lst *l = lws_container_of(sul, struct lst, sul_watchdog);

	mc_sd_notify("WATCHDOG=1");
	lws_sul_schedule(l->ctx, 0, &l->sul_watchdog, watchdog_cb,
	    (lws_usec_t)(mc_sd_watchdog_every() * LWS_USEC_PER_SEC));
}

static int
run(struct lst *l)
{
	int sfd;

	sfd = sig_block();
	if (sfd == -1) {
		mc_err("cannot set up signal handling: %s", strerror(errno));
		return 1;
	}
	if (context_create(l) == -1) {
		close(sfd);
		mc_err("cannot create the libwebsockets context");
		l->exit_code = 1;
		return teardown(l);
	}
	if (sig_adopt(l, sfd) == -1) {
		mc_err("cannot watch signals in the event loop");
		l->exit_code = 1;
		return teardown(l);
	}
	log_start(l);
	lst_orphans_sweep(l);
	if (l->conf.ntrust > 0)
		lst_seen_open(&l->seen, l->conf.state_dir, (int64_t)time(NULL));
	lst_ctr_start(l);
	/* a first GPU sample while we connect: the first heartbeat has it */
	lst_gpu_tick(l);
	lst_ws_start(l);
	lst_rollback_arm(l);
	mc_sd_notify("READY=1");
	if (mc_sd_watchdog_every() > 0)
		watchdog_cb(&l->sul_watchdog);
	while (!l->done)
		if (lws_service(l->ctx, 0) < 0)
			break;
	return teardown(l);
}

int
main(int argc, char **argv)
{
	static struct lst l;
	enum mc_log_level lv = MC_LOG_INFO;
	char err[600];
	int r, code;

	stdio_sanity();
	lst_seen_init(&l.seen);
	mc_log_setup(LST_PROG, MC_LOG_INFO);
	r = lst_conf_read(&l, argc, argv, err, sizeof(err));
	if (r != 0) {
		if (r == 1)
			return 0;
		fprintf(stderr, "%s: %s\n", LST_PROG, err);
		return 2;
	}
	mc_log_level_parse(l.conf.log_level, &lv);
	mc_log_setup(LST_PROG, lv);
	if (lst_cred_setup(&l, &code, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", LST_PROG, err);
		return code;
	}
	/* before anything a broken new version could fail at */
	lst_rollback_boot(&l, argv);
	if (lst_hold_init(&l) == -1) {
		fprintf(stderr, "%s: no randomness for the boot id\n", LST_PROG);
		return 1;
	}
	lst_restart_init(&l, argv);
	lst_metrics_init(&l.cpu);
	lst_gpu_init(&l);
	lst_metrics_facts(&l.hello);
	l.hello.caps = MC_CAP_TERM;	/* lst_term.c */
	l.net_last = mc_now();
	home_setup(&l);
	return run(&l);
}
