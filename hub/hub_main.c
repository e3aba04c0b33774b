/*
 * hub_main.c - maestro-hub: start-up, the event loop, shutdown.
 *
 * Start-up does everything that may block (config, certificate, opening
 * and loading the store) before the event loop exists.  After that the
 * service thread only serves; the store is written by hub_db's thread.
 * Signal handlers only set flags: the loop and hub_cron act on them.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "hub.h"
#include "hub_rec.h"
#include "mc_log.h"
#include "mc_sd.h"
#include "mc_util.h"

struct hub hub;

static void
on_stop(int sig)
{
	(void)sig;
	hub.stop = 1;
}

static void
on_hup(int sig)
{
	(void)sig;
	hub.reload = 1;
}

static void
signals_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Each agent is one socket: take every descriptor the system allows. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		mc_info("open file limit %llu (about that many agents)",
		    (unsigned long long)rl.rlim_cur);
}

static int
tls_setup(void)
{
	char dir[MC_PATH_MAX + 16];

	if (hub.conf.insecure_no_tls) {
		mc_warn("TLS is off (--insecure-no-tls): use this on loopback "
		    "only");
		return 0;
	}
	if (hub.conf.tls_cert[0] == '\0') {
		snprintf(dir, sizeof(dir), "%s/tls", hub.conf.data);
		if (hub_tls_ensure(dir, hub.conf.tls_cert,
		    sizeof(hub.conf.tls_cert), hub.conf.tls_key,
		    sizeof(hub.conf.tls_key)) == -1)
			return -1;
	}
	if (hub_tls_fingerprint(hub.conf.tls_cert, hub.fingerprint,
	    sizeof(hub.fingerprint)) == -1) {
		mc_err("cannot read the certificate %s", hub.conf.tls_cert);
		return -1;
	}
	mc_info("TLS certificate %s, fingerprint %s", hub.conf.tls_cert,
	    hub.fingerprint);
	return 0;
}

static int
store_setup(void)
{
	if (mc_mkdir_p(hub.conf.data, 0700) == -1) {
		mc_err("cannot create the data dir %s: %s", hub.conf.data,
		    strerror(errno));
		return -1;
	}
	if (hub_db_store_open() == -1)
		return -1;
	if (hub_db_load() == -1 || hub_auth_bootstrap(hub.conf.data) == -1)
		return -1;
	mc_info("store: %zu agents", hub_agent_count());
	return 0;
}

static void
shutdown_all(void)
{
	hub_ws_stop();
	hub_deadman_stop();
	hub_gitcfg_stop();
	hub_bus_stop();		/* its goodbye: a clean stop, no alert */
	hub_backup_stop();	/* before the state it exports is freed */
	hub_admit_free_all();
	hub_guard_free_all();
	hub_live_shutdown();
	hub_series_shutdown();
	hub_cmd_shutdown();
	hub_alert_shutdown();
	hub_rec_shutdown();	/* its last rows go to the store */
	hub_db_close();
	hub_static_free();
	hub_install_free();
	hub_update_free_all();
	hub_roll_free_all();
	hub_release_free_all();
	hub_cmd_free_all();
	hub_cmd_adopt_free_all();
	hub_agent_free_all();
	hub_auth_free_all();
	hub_gitcfg_free_all();
	hub_bus_free_all();
	hub_notify_cleanup();
}

static int
early_flags(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			hub_conf_usage();
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("maestro-hub %s (protocol %d)\n", MC_VERSION,
			    MC_PROTO_VERSION);
			return 0;
		}
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct hub_db_health st;
	enum mc_log_level level;
	char err[1024];

	if (early_flags(argc, argv) == 0)
		return 0;
	if (hub_conf_load(&hub.conf, argc, argv, err, sizeof(err)) == -1) {
		fprintf(stderr, "maestro-hub: %s\n", err);
		return 2;
	}
	mc_log_level_parse(hub.conf.log_level, &level);
	mc_log_setup("maestro-hub", level);
	if (hub_notify_init() == -1)	/* libcurl, before any thread */
		return 1;
	umask(077);	/* hub.db holds credential hashes */
	hub.started = mc_now();
	signals_setup();
	raise_nofile();
	hub_static_load(hub.conf.dashboard);
	hub_install_load();
	if (store_setup() == -1 || hub_rec_init(hub.conf.data) == -1 ||
	    hub_alert_start() == -1 ||
	    tls_setup() == -1 || hub_ws_start() == -1 ||
	    hub_deadman_start() == -1 || hub_gitcfg_start() == -1 ||
	    hub_backup_start() == -1 || hub_bus_start() == -1) {
		shutdown_all();
		return 1;
	}
	mc_info("maestro-hub %s ready: heartbeat %gs, critical after %d "
	    "missed", MC_VERSION, hub.conf.heartbeat, hub.conf.miss);
	mc_sd_notify("READY=1\nSTATUS=serving");
	hub_ws_run();
	mc_sd_notify("STOPPING=1");
	hub_db_health(&st);
	mc_info("shutting down (%zu writes still queued)", st.queued);
	shutdown_all();
	mc_info("stopped");
	return 0;
}
