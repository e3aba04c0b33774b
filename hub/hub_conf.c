/*
 * hub_conf.c - maestro-hub's settings: defaults, hub.conf, flags, SIGHUP.
 *
 * One table describes every setting; the config file and the flags are
 * read through it (mc_config.c), so a flag and its key never disagree.
 * Precedence: defaults < config file < flags.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"
#include "mc_config.h"
#include "mc_log.h"
#include "mc_util.h"

#define DEFAULT_CONFIG	"/etc/maestro/hub.conf"

#define OPT(k, t, f, lo, hi) \
	{ k, t, offsetof(struct hub_conf, f), \
	    sizeof(((struct hub_conf *)0)->f), lo, hi, NULL }

static const char *const log_levels[] = {
	"debug", "info", "warn", "error", NULL
};

static const struct mc_opt hub_opts[] = {
	OPT("listen", MC_OPT_STR, listen, 0, 0),
	OPT("data", MC_OPT_STR, data, 0, 0),
	OPT("tls_cert", MC_OPT_STR, tls_cert, 0, 0),
	OPT("tls_key", MC_OPT_STR, tls_key, 0, 0),
	OPT("insecure_no_tls", MC_OPT_BOOL, insecure_no_tls, 0, 1),
	OPT("heartbeat", MC_OPT_DUR, heartbeat, 0.05, 3600),
	OPT("miss", MC_OPT_INT, miss, 2, 100),
	OPT("dashboard", MC_OPT_STR, dashboard, 0, 0),
	{ "log_level", MC_OPT_ENUM, offsetof(struct hub_conf, log_level),
	    sizeof(((struct hub_conf *)0)->log_level), 0, 0, log_levels },
	OPT("max_running", MC_OPT_INT, max_running, 1, 1000),
	OPT("restart_grace", MC_OPT_DUR, restart_grace, 0, 86400),
	OPT("install_script", MC_OPT_STR, install_script, 0, 0),
	OPT("listener_binary", MC_OPT_STR, listener_binary, 0, 0),
	MC_OPT_END
};

void
hub_conf_usage(void)
{
	printf(
"usage: maestro-hub [--config FILE] [--listen ADDR:PORT] [--data DIR]\n"
"                   [--tls-cert FILE --tls-key FILE | --insecure-no-tls]\n"
"                   [--heartbeat SECONDS] [--miss N] [--dashboard DIR]\n"
"                   [--log-level debug|info|warn|error]\n"
"\n"
"The Maestro hub: listeners connect to wss://ADDR:PORT/ws/agent, operators\n"
"use hubctl, the REST API under /api/ and the dashboard at /.\n"
"\n"
"  --config FILE      settings file (default " DEFAULT_CONFIG " if present);\n"
"                     same keys as the flags with '_' (tls_cert = ...)\n"
"  --listen ADDR:PORT address to serve on (default 0.0.0.0:8443)\n"
"  --data DIR         hub.db, tls/ and admin.token (default /var/lib/maestro\n"
"                     as root, else $XDG_DATA_HOME/maestro)\n"
"  --tls-cert FILE    certificate (PEM); without it a self-signed one is made\n"
"  --tls-key FILE     its private key (PEM)   in DATA/tls/ at first start\n"
"  --insecure-no-tls  plain HTTP/WebSocket, for loopback demos only\n"
"  --heartbeat S      heartbeat interval told to agents (default 10; 0.2 ok)\n"
"  --miss N           missed heartbeats before an agent is critical (3)\n"
"  --dashboard DIR    static dashboard files (default: ./dashboard or the\n"
"                     installed share/maestro/dashboard)\n"
"  --log-level L      debug, info, warn or error (default info)\n"
"  --max-running N    commands running at once per agent; more wait (4)\n"
"  --restart-grace D  after the hub starts, no agent is critical before\n"
"                     max(D, miss x heartbeat) (90s: the listeners' backoff)\n"
"  --listener-binary FILE  the static listener served to install.sh\n"
"                     (default build/maestro-listener, then the installed one)\n"
"  --install-script FILE   the install.sh served at /install.sh\n"
"  --help, --version\n"
"\n"
"First start writes DATA/admin.token (mode 0600); use it with hubctl:\n"
"  hubctl --hub https://HOST:8443 --fingerprint sha256:... \\\n"
"         --token \"$(cat DATA/admin.token)\" agents\n"
"Signals: SIGTERM/SIGINT stop gracefully, SIGHUP re-reads the config file.\n");
}

static void
conf_defaults(struct hub_conf *c)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");

	memset(c, 0, sizeof(*c));
	mc_strlcpy(c->listen, "0.0.0.0:8443", sizeof(c->listen));
	if (geteuid() == 0)
		mc_strlcpy(c->data, "/var/lib/maestro", sizeof(c->data));
	else if (xdg && *xdg)
		snprintf(c->data, sizeof(c->data), "%s/maestro", xdg);
	else
		snprintf(c->data, sizeof(c->data), "%s/.local/share/maestro",
		    home ? home : ".");
	c->heartbeat = 10;
	c->miss = 3;
	c->max_running = 4;
	/* a listener retries at most every 60 s (+25 % jitter): after a hub
	 * restart every live agent is back within this */
	c->restart_grace = 90;
	if (access("dashboard/index.html", R_OK) == 0)
		mc_strlcpy(c->dashboard, "dashboard", sizeof(c->dashboard));
	else
		mc_strlcpy(c->dashboard, "/usr/local/share/maestro/dashboard",
		    sizeof(c->dashboard));
	mc_strlcpy(c->log_level, "info", sizeof(c->log_level));
}

static int
conf_check(const struct hub_conf *c, char *err, size_t errlen)
{
	if (!!c->tls_cert[0] != !!c->tls_key[0]) {
		snprintf(err, errlen, "--tls-cert and --tls-key go together");
		return -1;
	}
	if (c->insecure_no_tls && c->tls_cert[0]) {
		snprintf(err, errlen, "--insecure-no-tls contradicts "
		    "--tls-cert/--tls-key; choose one");
		return -1;
	}
	if (strrchr(c->listen, ':') == NULL) {
		snprintf(err, errlen, "listen must be ADDR:PORT, not '%s'",
		    c->listen);
		return -1;
	}
	return 0;
}

int
hub_conf_load(struct hub_conf *c, int argc, char **argv, char *err,
    size_t errlen)
{
	const char *path = mc_args_config(argc, argv);
	int npos;

	conf_defaults(c);
	if (path == NULL && access(DEFAULT_CONFIG, F_OK) == 0)
		path = DEFAULT_CONFIG;
	if (path != NULL) {
		mc_strlcpy(c->config, path, sizeof(c->config));
		if (mc_conf_load(path, hub_opts, c, NULL, NULL, err,
		    errlen) == -1)
			return -1;
	}
	if (mc_args_apply(argc, argv, hub_opts, c, &npos, err, errlen) == -1)
		return -1;
	if (npos > 0) {
		snprintf(err, errlen, "unexpected argument '%s' (see --help)",
		    argv[1]);
		return -1;
	}
	return conf_check(c, err, errlen);
}

/*
 * SIGHUP: re-read the file.  Only what can change without re-binding takes
 * effect (log level, heartbeat, miss); the rest is reported as needing a
 * restart.  Flags given at start are not re-applied, so a flag-only
 * deployment keeps its values.
 */
void
hub_conf_reload(void)
{
	struct hub_conf n;
	char err[512];
	enum mc_log_level l;

	if (hub.conf.config[0] == '\0') {
		mc_info("SIGHUP: no config file to re-read; reloading the "
		    "dashboard files");
		hub_static_load(hub.conf.dashboard);
		return;
	}
	n = hub.conf;
	if (mc_conf_load(hub.conf.config, hub_opts, &n, NULL, NULL, err,
	    sizeof(err)) == -1 || conf_check(&n, err, sizeof(err)) == -1) {
		mc_err("SIGHUP: keeping the running settings: %s", err);
		return;
	}
	if (strcmp(n.listen, hub.conf.listen) || strcmp(n.data, hub.conf.data) ||
	    strcmp(n.tls_cert, hub.conf.tls_cert) ||
	    n.insecure_no_tls != hub.conf.insecure_no_tls)
		mc_warn("SIGHUP: listen, data and TLS settings change only on "
		    "restart");
	mc_log_level_parse(n.log_level, &l);
	mc_log_setup("maestro-hub", l);
	mc_strlcpy(hub.conf.log_level, n.log_level, sizeof(hub.conf.log_level));
	mc_strlcpy(hub.conf.dashboard, n.dashboard, sizeof(hub.conf.dashboard));
	hub_static_load(hub.conf.dashboard);
	mc_strlcpy(hub.conf.install_script, n.install_script,
	    sizeof(hub.conf.install_script));
	mc_strlcpy(hub.conf.listener_binary, n.listener_binary,
	    sizeof(hub.conf.listener_binary));
	hub_install_load();
	hub.conf.heartbeat = n.heartbeat;
	hub.conf.miss = n.miss;
	hub.conf.max_running = n.max_running;
	mc_info("SIGHUP: reloaded %s (heartbeat %gs, miss %d, log %s)",
	    hub.conf.config, hub.conf.heartbeat, hub.conf.miss,
	    hub.conf.log_level);
}
