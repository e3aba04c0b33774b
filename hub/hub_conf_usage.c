/*
 * hub_conf_usage.c - what maestro-hub says about itself: its --help text
 * (every flag, grouped, with its default) and the install prefix it was
 * started from.  Kept apart from hub_conf.c, which reads and checks the
 * settings, so the long text does not bury the checks.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"
#include "mc_util.h"

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
"  --config FILE      settings file (default " HUB_DEFAULT_CONFIG " if present);\n"
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
"  --restart-grace D  after the hub starts, an agent not heard from since is\n"
"                     not critical before max(D, miss x heartbeat) (90s: the\n"
"                     listeners' backoff); one heard since is watched as usual\n"
"  --listener-binary FILE  the static listener served to install.sh\n"
"                     (default build/maestro-listener, then the installed one)\n"
"  --install-script FILE   the install.sh served at /install.sh\n"
"  --history-retention D  metric history kept (default 7d)\n"
"  --events-retention D   events and alerts kept in hub.db (365d)\n"
"  --commands-retention D finished commands and their output kept (90d)\n"
"  --record-input     terminal recordings keep what was typed too (default:\n"
"                     output only; input holds passwords typed unechoed)\n"
"  --record-max SIZE  bytes of one terminal recording; past it the recording\n"
"                     stops and says so, the session goes on (64M; 64K-1G)\n"
"  --record-retention D  terminal recordings kept in DATA/sessions/ (90d)\n"
"  --metrics-public   serve /metrics without a token (default: viewer)\n"
"  --api-rate N       API requests per second per token (default 20)\n"
"  --api-burst N      requests a token may make at once above it (100)\n"
"  --handshake-max N  connections between accept and first request (1024)\n"
"  --handshake-per-ip N  ... of them from one address (128)\n"
"  --connections-per-ip N  connections from one address in all (4096)\n"
"  --handshake-timeout D  close a connection with no request by then (10s)\n"
"                     (0 turns a limit off; see docs/operations.md)\n"
"  --alert-on-offline an agent's goodbye is an info alert (default: none)\n"
"  --flap-count N     more criticals than N in --flap-window D is flapping:\n"
"  --flap-window D    one alert until it settles (defaults 5 and 10m)\n"
"  --storm-count N    N agents critical together: one summary (default 5)\n"
"  --storm-window D   how long an alert may wait for others (0.5s)\n"
"  --deadman-every D  ping deadman_url (a config key) this often (60s)\n"
"  --config-repo PATH|URL  follow this git repository of fleet configuration\n"
"                     (rules, silences, agents, alert routes; docs/config.md):\n"
"                     a path, file://, https:// or ssh:// URL, user@host:path\n"
"  --config-branch B  its branch (main); --config-poll D  fetch every D (60s)\n"
"  --config-token-file FILE  https: the token (mode 0600), sent as the password\n"
"                     of --config-user U (default x-access-token)\n"
"  --config-ca FILE   https: a private CA's certificate (PEM)\n"
"  --config-ssh-key FILE  ssh: the private key (mode 0600, no passphrase)\n"
"  --config-ssh-known-hosts FILE  ssh: the server's host key (ssh-keyscan)\n"
"  --backup-repo PATH|URL  commit the hub's state (rules, silences,\n"
"                     agents, token and key names, never secrets) there at\n"
"                     every change made through the API (docs/config.md)\n"
"  --backup-branch B  its branch (main); --backup-retry-max D  a failed push\n"
"                     is retried after 1s, doubling up to D (5m); reached\n"
"                     with --backup-token-file, --backup-user, --backup-ca,\n"
"                     --backup-ssh-key, --backup-ssh-known-hosts as above\n"
"  --bus redis://HOST:PORT[/DB]  join the hubs announced in this Redis\n"
"                     (docs/operations.md, Cluster); never a password in\n"
"                     the URL: --bus-password-file FILE holds it\n"
"  --hub-name NAME    this hub in the cluster (default: the host name)\n"
"  --store S          sqlite:PATH (default DATA/hub.db) or, for several\n"
"                     hubs sharing one fleet, postgres://USER@HOST:PORT/DB\n"
"                     [?sslmode=..]; never a password in the URL:\n"
"                     --store-password-file FILE holds it\n"
"  Alert channels and threshold rules are config-file keys only (see\n"
"  docs/alerts.md): telegram_bot_token, telegram_chat_id, telegram_api,\n"
"  discord_webhook_url, webhook_url (each also as KEY_file or a systemd\n"
"  credential), rule = disk_used_pct > 90 for 5m [tag=TAG].\n"
"  Answering from Telegram (docs/alerts.md): telegram_commands = yes,\n"
"  telegram_allow = USER_ID:viewer|operator (repeatable), chat_allow_run.\n"
"  --help, --version\n"
"\n"
"First start writes DATA/admin.token (mode 0600); use it with hubctl:\n"
"  hubctl --hub https://HOST:8443 --fingerprint sha256:... \\\n"
"         --token \"$(cat DATA/admin.token)\" agents\n"
"Signals: SIGTERM/SIGINT stop gracefully, SIGHUP re-reads the config file.\n");
}

void
hub_conf_prefix(char *out, size_t outlen)
{
	char exe[MC_PATH_MAX], *slash = NULL;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	/* PREFIX/bin/maestro-hub: cut the last two components */
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
	}
	if (slash != NULL) {
		*slash = '\0';
		slash = strrchr(exe, '/');
	}
	if (slash != NULL && slash != exe) {
		*slash = '\0';
		mc_strlcpy(out, exe, outlen);
	} else
		mc_strlcpy(out, "/usr/local", outlen);
}
