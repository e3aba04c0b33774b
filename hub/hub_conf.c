/*
 * hub_conf.c - maestro-hub's settings: defaults, hub.conf, flags, SIGHUP.
 *
 * One table describes every setting; the config file and the flags are
 * read through it (mc_config.c), so a flag and its key never disagree.
 * Precedence: defaults < config file < flags.  Every bad value is
 * reported where it was given - "FILE:LINE: key: why" or "--flag: why" -
 * at start (exit 2) and on SIGHUP (logged; the running settings stay):
 * the checks that need more than one key, or the final value, find that
 * place through the settings' origins (struct mc_origin).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"
#include "mc_config.h"
#include "mc_log.h"
#include "mc_util.h"

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
	OPT("history_retention", MC_OPT_DUR, history_retention, 3600,
	    3650.0 * 86400),
	OPT("events_retention", MC_OPT_DUR, events_retention, 1,
	    3650.0 * 86400),
	OPT("commands_retention", MC_OPT_DUR, commands_retention, 1,
	    3650.0 * 86400),
	OPT("container_update_every", MC_OPT_DUR, container_update_every, 0,
	    30.0 * 86400),
	OPT("record_input", MC_OPT_BOOL, record_input, 0, 1),
	OPT("record_max", MC_OPT_SIZE, record_max, HUB_RECORD_MAX_MIN,
	    HUB_RECORD_MAX_MAX),
	OPT("record_retention", MC_OPT_DUR, record_retention, 1,
	    3650.0 * 86400),
	OPT("metrics_public", MC_OPT_BOOL, metrics_public, 0, 1),
	OPT("api_rate", MC_OPT_INT, api_rate, 1, 1000000),
	OPT("api_burst", MC_OPT_INT, api_burst, 1, 1000000),
	OPT("deadman_every", MC_OPT_DUR, deadman_every, 1, 86400),
	OPT("handshake_max", MC_OPT_INT, handshake_max, 0, 1000000),
	OPT("handshake_per_ip", MC_OPT_INT, handshake_per_ip, 0, 1000000),
	OPT("connections_per_ip", MC_OPT_INT, connections_per_ip, 0, 1000000),
	OPT("handshake_timeout", MC_OPT_DUR, handshake_timeout, 0, 300),
	OPT("channel_failing_after", MC_OPT_DUR, channel_failing_after, 1,
	    86400),
	OPT("alert_on_offline", MC_OPT_BOOL, alert_on_offline, 0, 1),
	OPT("flap_count", MC_OPT_INT, flap_count, 1, 30),
	OPT("flap_window", MC_OPT_DUR, flap_window, 1, 86400),
	OPT("storm_count", MC_OPT_INT, storm_count, 2, 1000000),
	OPT("storm_window", MC_OPT_DUR, storm_window, 0, 10),
	OPT("container_unhealthy_for", MC_OPT_DUR, container_unhealthy_for, 0,
	    86400),
	OPT("push_subject", MC_OPT_STR, push_subject, 0, 0),
	OPT("push_allow_insecure", MC_OPT_BOOL, push_allow_insecure, 0, 1),
	OPT("telegram_commands", MC_OPT_BOOL, telegram_commands, 0, 1),
	OPT("chat_allow_run", MC_OPT_BOOL, chat_allow_run, 0, 1),
	OPT("config_repo", MC_OPT_STR, config_repo, 0, 0),
	OPT("config_branch", MC_OPT_STR, config_branch, 0, 0),
	OPT("config_poll", MC_OPT_DUR, config_poll, 0.1, 86400),
	OPT("config_user", MC_OPT_STR, config_user, 0, 0),
	OPT("config_token_file", MC_OPT_STR, config_token_file, 0, 0),
	OPT("config_ssh_key", MC_OPT_STR, config_ssh_key, 0, 0),
	OPT("config_ssh_known_hosts", MC_OPT_STR, config_ssh_known_hosts, 0,
	    0),
	OPT("config_ca", MC_OPT_STR, config_ca, 0, 0),
	OPT("backup_repo", MC_OPT_STR, backup_repo, 0, 0),
	OPT("backup_branch", MC_OPT_STR, backup_branch, 0, 0),
	OPT("backup_retry_max", MC_OPT_DUR, backup_retry_max, 0.1, 86400),
	OPT("backup_user", MC_OPT_STR, backup_user, 0, 0),
	OPT("backup_token_file", MC_OPT_STR, backup_token_file, 0, 0),
	OPT("backup_ssh_key", MC_OPT_STR, backup_ssh_key, 0, 0),
	OPT("backup_ssh_known_hosts", MC_OPT_STR, backup_ssh_known_hosts, 0,
	    0),
	OPT("backup_ca", MC_OPT_STR, backup_ca, 0, 0),
	OPT("bus", MC_OPT_STR, bus, 0, 0),
	OPT("bus_password_file", MC_OPT_STR, bus_password_file, 0, 0),
	OPT("hub_name", MC_OPT_STR, hub_name, 0, 0),
	OPT("store", MC_OPT_STR, store, 0, 0),
	OPT("store_password_file", MC_OPT_STR, store_password_file, 0, 0),
	MC_OPT_END
};

/*
 * Alert channels: config-only keys (no flag, so a secret is never on a
 * command line), each also as KEY_file (the file's content, trimmed) or as
 * the systemd credential $CREDENTIALS_DIRECTORY/KEY when the file sets
 * neither.  Values never appear in an error message.  "rule" lines go to
 * hub_rules.c; a bad one fails loading with file:line.
 */
#define ALERT_KEY(k) { #k, offsetof(struct hub_conf, k), \
	    sizeof(((struct hub_conf *)0)->k) }

static const struct {
	const char	*key;
	size_t		 off, size;
} alert_keys[] = {
	ALERT_KEY(telegram_bot_token),
	ALERT_KEY(telegram_chat_id),
	ALERT_KEY(telegram_api),
	ALERT_KEY(discord_webhook_url),
	ALERT_KEY(discord_public_key),
	ALERT_KEY(discord_bot_token),
	ALERT_KEY(discord_channel_id),
	ALERT_KEY(discord_api),
	ALERT_KEY(webhook_url),
	ALERT_KEY(deadman_url),
};

#define NALERT_KEYS	(sizeof(alert_keys) / sizeof(alert_keys[0]))

/* Where the settings in force came from: a SIGHUP leaves a setting that
 * a flag gave at start alone when it says what needs a restart. */
static struct mc_origin start_origin;

/* What a config file sets beyond hub_opts. */
struct conf_extra {
	struct hub_conf		*c;
	struct hub_rules	*rules;	/* owned until installed */
	unsigned		 set;	/* bit i: alert_keys[i] was set */
};

static int
secret_read(const char *path, char *out, size_t size, const char *what,
    char *err, size_t errlen)
{
	char *text = mc_read_file(path, 64 * 1024, NULL);
	int r;

	if (text == NULL) {
		snprintf(err, errlen, "%s: cannot read %s: %s", what, path,
		    strerror(errno));
		return -1;
	}
	r = mc_strlcpy(out, mc_trim(text), size);
	explicit_bzero(text, strlen(text));
	free(text);
	if (r == -1) {
		snprintf(err, errlen, "%s: %s holds more than %zu bytes", what,
		    path, size - 1);
		return -1;
	}
	return 0;
}

static int
conf_extra_key(void *arg, const char *key, const char *val, char *err,
    size_t errlen)
{
	struct conf_extra *x = arg;
	char what[64];
	size_t i, n;
	char *field;

	for (i = 0; i < NALERT_KEYS; i++) {
		field = (char *)x->c + alert_keys[i].off;
		n = strlen(alert_keys[i].key);
		if (strncmp(key, alert_keys[i].key, n) != 0)
			continue;
		if (key[n] == '\0' && mc_strlcpy(field, val,
		    alert_keys[i].size) == -1) {
			snprintf(err, errlen, "%s: longer than %zu bytes", key,
			    alert_keys[i].size - 1);
			return -1;
		}
		if (key[n] == '\0') {
			x->set |= 1u << i;
			return 0;
		}
		if (strcmp(key + n, "_file") != 0)
			continue;
		snprintf(what, sizeof(what), "%s", key);
		if (secret_read(val, field, alert_keys[i].size, what, err,
		    errlen) == -1)
			return -1;
		x->set |= 1u << i;
		return 0;
	}
	if (strcmp(key, "rule") == 0)
		return hub_rules_add(x->rules, val, err, errlen);
	if (strcmp(key, "telegram_allow") == 0 ||
	    strcmp(key, "discord_allow") == 0)
		return hub_chat_allow_add(x->c, key, val, err, errlen);
	if (strcmp(key, "trusted_proxies") == 0) {
		if (hub_proxy_parse(val, 0, err, errlen) == -1)
			return -1;
		if (mc_strlcpy(x->c->trusted_proxies, val,
		    sizeof(x->c->trusted_proxies)) == -1) {
			snprintf(err, errlen, "trusted_proxies: longer than "
			    "%zu bytes", sizeof(x->c->trusted_proxies) - 1);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "unknown setting '%s'", key);
	return -1;
}

/* systemd credentials, for the alert keys the file did not set. */
static int
conf_credentials(struct conf_extra *x, char *err, size_t errlen)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[MC_PATH_MAX + 64], what[64];
	size_t i;

	for (i = 0; dir != NULL && *dir != '\0' && i < NALERT_KEYS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, alert_keys[i].key);
		if ((x->set & (1u << i)) || access(path, R_OK) != 0)
			continue;
		snprintf(what, sizeof(what), "credential %s",
		    alert_keys[i].key);
		if (secret_read(path, (char *)x->c + alert_keys[i].off,
		    alert_keys[i].size, what, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* ADDR:PORT with ADDR a literal address and PORT 1-65535: the hub binds
 * exactly it (hub_ws.c), and a name could resolve to anything. */
static int
listen_valid(const char *listen)
{
	const char *colon = strrchr(listen, ':');
	unsigned char a[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN + 2];
	int64_t port;
	size_t n;

	if (colon == NULL || (n = (size_t)(colon - listen)) >= sizeof(host) ||
	    mc_parse_i64(colon + 1, 1, 65535, &port) == -1)
		return 0;
	if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
		memcpy(host, listen + 1, n - 2);
		host[n - 2] = '\0';
		return inet_pton(AF_INET6, host, a) == 1;
	}
	memcpy(host, listen, n);
	host[n] = '\0';
	return n == 0 || strcmp(host, "localhost") == 0 ||
	    inet_pton(AF_INET, host, a) == 1;
}

static int
listen_check(const struct hub_conf *c, const struct mc_origin *o, char *err,
    size_t errlen)
{
	if (listen_valid(c->listen))
		return 0;
	return mc_origin_fail(o, "listen", err, errlen, "'%s' is not ADDR:PORT "
	    "with ADDR an IP address or localhost and PORT from 1 to 65535 "
	    "(e.g. 0.0.0.0:8443, 127.0.0.1:8443, [::]:8443)", c->listen);
}

/* Read the config file (path may be NULL) with the alert keys, noting
 * where each key was set in o; its rules go to *rules (the caller
 * installs or frees them).  listen is checked here, so that a bad line
 * fails even when a flag overrides it. */
static int
conf_file(struct hub_conf *c, const char *path, struct hub_rules **rules,
    struct mc_origin *o, char *err, size_t errlen)
{
	struct conf_extra x = { c, hub_rules_new(), 0 };

	if (x.rules == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((path != NULL && mc_conf_load(path, hub_opts, c, conf_extra_key,
	    &x, o, err, errlen) == -1) ||
	    conf_credentials(&x, err, errlen) == -1 ||
	    listen_check(c, o, err, errlen) == -1) {
		hub_rules_free(x.rules);
		return -1;
	}
	*rules = x.rules;
	return 0;
}

/* The key under which an alert setting was given: KEY, or KEY_file when
 * only that was (a credential has no line to name). */
static const char *
alert_key_given(const struct mc_origin *o, const char *key, char *buf,
    size_t size)
{
	char where[8];

	snprintf(buf, size, "%s_file", key);
	if (mc_origin_name(o, key, where, sizeof(where))[0] == '\0' &&
	    mc_origin_name(o, buf, where, sizeof(where))[0] != '\0')
		return buf;
	return key;
}

static int
alert_check(const struct hub_conf *c, const struct mc_origin *o, char *err,
    size_t errlen)
{
	const char *urls[] = { "telegram_api", "discord_webhook_url",
	    "webhook_url", "deadman_url", "discord_api" };
	const char *vals[] = { c->telegram_api, c->discord_webhook_url,
	    c->webhook_url, c->deadman_url, c->discord_api };
	const char *have, *lack;
	char key[64], why[256];
	size_t i;

	if (!!c->telegram_bot_token[0] != !!c->telegram_chat_id[0]) {
		have = c->telegram_bot_token[0] ? "telegram_bot_token" :
		    "telegram_chat_id";
		lack = c->telegram_bot_token[0] ? "telegram_chat_id" :
		    "telegram_bot_token";
		return mc_origin_fail(o, alert_key_given(o, have, key,
		    sizeof(key)), err, errlen, "needs %s too: Telegram alerts "
		    "take both (docs/alerts.md)", lack);
	}
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		if (vals[i][0] != '\0' &&
		    strncmp(vals[i], "https://", 8) != 0 &&
		    strncmp(vals[i], "http://", 7) != 0)
			return mc_origin_fail(o, alert_key_given(o, urls[i],
			    key, sizeof(key)), err, errlen, "must be an "
			    "http:// or https:// URL");
	if (hub_chat_conf_check(c, key, sizeof(key), why, sizeof(why)) == -1)
		return mc_origin_fail(o, key, err, errlen, "%s", why);
	return 0;
}

/*
 * SIGHUP read a new value of key that applies only when the hub starts:
 * say where, and that the running one stays.  A flag given at start
 * overrides the file then too, so its key is left alone.
 */
static void
restart_note(const struct mc_origin *o, const char *key)
{
	char where[MC_PATH_MAX + 64];

	if (mc_origin_is_flag(&start_origin, key))
		return;
	if (mc_origin_name(o, key, where, sizeof(where))[0] == '\0')
		mc_strlcpy(where, hub.conf.config, sizeof(where));
	mc_warn("SIGHUP: %s: %s changed, which takes effect only when the hub "
	    "restarts (systemctl restart maestro-hub); the running value "
	    "stays until then", where, key);
}

/* SIGHUP: alert channels change only on restart. */
static void
alert_reload(const struct hub_conf *n, const struct mc_origin *o)
{
	char key[64];
	size_t i;

	for (i = 0; i < NALERT_KEYS; i++)
		if (strcmp((const char *)n + alert_keys[i].off,
		    (const char *)&hub.conf + alert_keys[i].off) != 0)
			restart_note(o, alert_key_given(o, alert_keys[i].key,
			    key, sizeof(key)));
}

/* SIGHUP: the alert numbers apply at once. */
static void
alert_settings(const struct hub_conf *n)
{
	hub.conf.alert_on_offline = n->alert_on_offline;
	hub.conf.flap_count = n->flap_count;
	hub.conf.flap_window = n->flap_window;
	hub.conf.storm_count = n->storm_count;
	hub.conf.storm_window = n->storm_window;
	hub.conf.container_unhealthy_for = n->container_unhealthy_for;
	/* who may use the bot, at once: a user removed is refused now */
	hub.conf.chat_allow_run = n->chat_allow_run;
	hub.conf.chat_nallow = n->chat_nallow;
	memcpy(hub.conf.chat_allow, n->chat_allow, sizeof(n->chat_allow));
	hub.conf.dc_nallow = n->dc_nallow;
	memcpy(hub.conf.dc_allow, n->dc_allow, sizeof(n->dc_allow));
}

static void
conf_defaults(struct hub_conf *c)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	char prefix[MC_PATH_MAX - 32];

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
	c->history_retention = 7 * 86400;
	c->events_retention = 365.0 * 86400;
	c->commands_retention = 90.0 * 86400;
	c->record_max = 64 * 1024 * 1024;
	c->record_retention = 90.0 * 86400;
	c->api_rate = 20;
	c->api_burst = 100;
	/* admission (hub_admit.c): a reconnect storm of thousands gets in
	 * within its backoff; one address cannot take every slot */
	c->handshake_max = 1024;
	c->handshake_per_ip = 128;
	c->connections_per_ip = 4096;
	c->handshake_timeout = 10;
	c->channel_failing_after = 600;
	c->deadman_every = 60;
	c->flap_count = 5;
	c->flap_window = 600;
	c->storm_count = 5;
	c->storm_window = 0.5;
	c->container_unhealthy_for = 60;
	mc_strlcpy(c->push_subject, "mailto:root@localhost",
	    sizeof(c->push_subject));
	mc_strlcpy(c->config_branch, "main", sizeof(c->config_branch));
	c->config_poll = 60;
	mc_strlcpy(c->backup_branch, "main", sizeof(c->backup_branch));
	c->backup_retry_max = 300;
	mc_strlcpy(c->telegram_api, "https://api.telegram.org",
	    sizeof(c->telegram_api));
	mc_strlcpy(c->discord_api, "https://discord.com/api/v10",
	    sizeof(c->discord_api));
	if (gethostname(c->hub_name, sizeof(c->hub_name)) != 0 ||
	    c->hub_name[sizeof(c->hub_name) - 1] != '\0')
		mc_strlcpy(c->hub_name, "maestro-hub", sizeof(c->hub_name));
	hub_conf_prefix(prefix, sizeof(prefix));
	if (access("dashboard/index.html", R_OK) == 0)
		mc_strlcpy(c->dashboard, "dashboard", sizeof(c->dashboard));
	else
		snprintf(c->dashboard, sizeof(c->dashboard),
		    "%s/share/maestro/dashboard", prefix);
	mc_strlcpy(c->log_level, "info", sizeof(c->log_level));
}

/* A PEM file the hub will need: readable now, so a typo is a config
 * error and not a failed start later. */
static int
tls_file_check(const char *key, const char *path, const struct mc_origin *o,
    char *err, size_t errlen)
{
	if (path[0] == '\0' || access(path, R_OK) == 0)
		return 0;
	return mc_origin_fail(o, key, err, errlen, "cannot read '%s': %s "
	    "(a PEM file the hub's user can read)", path, strerror(errno));
}

/* Checks of the settings together, once the file and the flags are in;
 * each names where the setting at fault was given. */
/* A repository the hub can reach (config_repo, backup_repo) and a plain
 * branch name (it goes into a refspec). */
static int
git_check(const char *repo_key, const char *repo, const char *branch_key,
    const char *b, const struct mc_origin *o, char *err, size_t errlen)
{
	char why[512];

	if (hub_gitcfg_url_check(repo, why, sizeof(why)) == -1)
		return mc_origin_fail(o, repo_key, err, errlen, "%s", why);
	if (b[0] == '\0' || b[0] == '-' || strstr(b, "..") != NULL ||
	    b[strspn(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._/-")] != '\0')
		return mc_origin_fail(o, branch_key, err, errlen, "'%s' is "
		    "not a branch name (letters, digits, . _ / -)", b);
	return 0;
}

static int
gitcfg_check(const struct hub_conf *c, const struct mc_origin *o, char *err,
    size_t errlen)
{
	char why[512], key[64];

	if (git_check("config_repo", c->config_repo, "config_branch",
	    c->config_branch, o, err, errlen) == -1)
		return -1;
	if (hub_gitcfg_cred_check(c, key, sizeof(key), why, sizeof(why)) == -1)
		return mc_origin_fail(o, key, err, errlen, "%s", why);
	if (git_check("backup_repo", c->backup_repo, "backup_branch",
	    c->backup_branch, o, err, errlen) == -1)
		return -1;
	if (hub_backup_cred_check(c, key, sizeof(key), why, sizeof(why)) == -1)
		return mc_origin_fail(o, key, err, errlen, "%s", why);
	return 0;
}

/* The cluster's settings: bus, its password file, hub_name.  The URL is
 * never repeated in an error: a password may be in it by mistake. */
static int
bus_check(const struct hub_conf *c, const struct mc_origin *o, char *err,
    size_t errlen)
{
	struct hub_bus_url u;
	char why[512], where[8];

	if (c->bus[0] != '\0' && hub_bus_url_parse(c->bus, &u, why,
	    sizeof(why)) == -1)
		return mc_origin_fail(o, "bus", err, errlen, "%s", why);
	if (c->bus_password_file[0] != '\0' && c->bus[0] == '\0')
		return mc_origin_fail(o, "bus_password_file", err, errlen,
		    "needs bus = redis://HOST:PORT too");
	if (c->bus_password_file[0] != '\0' &&
	    access(c->bus_password_file, R_OK) != 0)
		return mc_origin_fail(o, "bus_password_file", err, errlen,
		    "cannot read '%s': %s", c->bus_password_file,
		    strerror(errno));
	if (hub_db_store_check(c->store, c->store_password_file, why,
	    sizeof(why)) == -1)
		return mc_origin_fail(o, c->store[0] || !c->store_password_file[0]
		    ? "store" : "store_password_file", err, errlen, "%s", why);
	if (c->store_password_file[0] != '\0' &&
	    access(c->store_password_file, R_OK) != 0)
		return mc_origin_fail(o, "store_password_file", err, errlen,
		    "cannot read '%s': %s", c->store_password_file,
		    strerror(errno));
	/* the host name is checked only when it names a hub of a bus */
	if ((c->bus[0] != '\0' || mc_origin_name(o, "hub_name", where,
	    sizeof(where))[0] != '\0') && !hub_bus_name_valid(c->hub_name))
		return mc_origin_fail(o, "hub_name", err, errlen, "'%s' is "
		    "not 1 to %d letters, digits, '.', '_' or '-'%s",
		    c->hub_name, HUB_BUS_NAME_MAX, mc_origin_name(o, "hub_name",
		    where, sizeof(where))[0] ? "" : " (it is this host's "
		    "name: set hub_name)");
	return 0;
}

static int
conf_check(const struct hub_conf *c, const struct mc_origin *o, char *err,
    size_t errlen)
{
	char where[MC_PATH_MAX + 64];
	int flag;

	if (!!c->tls_cert[0] != !!c->tls_key[0]) {
		flag = mc_origin_is_flag(o, c->tls_cert[0] ? "tls_cert" :
		    "tls_key");
		return mc_origin_fail(o, c->tls_cert[0] ? "tls_cert" :
		    "tls_key", err, errlen, "needs %s too: give the "
		    "certificate and its private key (PEM), or neither for a "
		    "self-signed certificate made in DATA/tls/",
		    c->tls_cert[0] ? (flag ? "--tls-key" : "tls_key") :
		    (flag ? "--tls-cert" : "tls_cert"));
	}
	if (c->insecure_no_tls && c->tls_cert[0])
		return mc_origin_fail(o, "insecure_no_tls", err, errlen,
		    "contradicts %s: no TLS, or TLS with that certificate; "
		    "drop one", mc_origin_what(o, "tls_cert", where,
		    sizeof(where)));
	if (listen_check(c, o, err, errlen) == -1 ||
	    tls_file_check("tls_cert", c->tls_cert, o, err, errlen) == -1 ||
	    tls_file_check("tls_key", c->tls_key, o, err, errlen) == -1 ||
	    gitcfg_check(c, o, err, errlen) == -1 ||
	    bus_check(c, o, err, errlen) == -1)
		return -1;
	return alert_check(c, o, err, errlen);
}

int
hub_conf_load(struct hub_conf *c, int argc, char **argv, char *err,
    size_t errlen)
{
	const char *path = mc_args_config(argc, argv);
	struct hub_rules *rules;
	int npos;

	conf_defaults(c);
	mc_origin_init(&start_origin);
	if (path == NULL && access(HUB_DEFAULT_CONFIG, F_OK) == 0)
		path = HUB_DEFAULT_CONFIG;
	if (path != NULL)
		mc_strlcpy(c->config, path, sizeof(c->config));
	if (conf_file(c, path, &rules, &start_origin, err, errlen) == -1)
		return -1;
	if (mc_args_apply(argc, argv, hub_opts, c, &npos, &start_origin, err,
	    errlen) == -1)
		goto fail;
	if (npos > 0) {
		snprintf(err, errlen, "unexpected argument '%s' (see --help)",
		    argv[1]);
		goto fail;
	}
	if (conf_check(c, &start_origin, err, errlen) == -1 ||
	    hub_proxy_parse(c->trusted_proxies, 1, err, errlen) == -1)
		goto fail;
	hub_rules_install(rules);
	return 0;
fail:
	hub_rules_free(rules);
	return -1;
}

/* A TLS file as it was configured: when none was, the running value is
 * the self-signed one tls_setup() made, which is no setting. */
static const char *
tls_configured(const char *key, const char *running)
{
	char where[8];

	return mc_origin_name(&start_origin, key, where, sizeof(where))[0] ?
	    running : "";
}

/* SIGHUP: the settings that apply only at start, each said once with
 * the line that changed it. */
static void
restart_only(const struct hub_conf *n, const struct mc_origin *o)
{
	if (strcmp(n->listen, hub.conf.listen) != 0)
		restart_note(o, "listen");
	if (strcmp(n->data, hub.conf.data) != 0)
		restart_note(o, "data");
	if (strcmp(n->tls_cert, tls_configured("tls_cert",
	    hub.conf.tls_cert)) != 0)
		restart_note(o, "tls_cert");
	if (strcmp(n->tls_key, tls_configured("tls_key",
	    hub.conf.tls_key)) != 0)
		restart_note(o, "tls_key");
	if (n->insecure_no_tls != hub.conf.insecure_no_tls)
		restart_note(o, "insecure_no_tls");
	if (strcmp(n->bus, hub.conf.bus) != 0)
		restart_note(o, "bus");
	if (strcmp(n->bus_password_file, hub.conf.bus_password_file) != 0)
		restart_note(o, "bus_password_file");
	if (strcmp(n->hub_name, hub.conf.hub_name) != 0)
		restart_note(o, "hub_name");
	if (strcmp(n->store, hub.conf.store) != 0)
		restart_note(o, "store");
	if (strcmp(n->store_password_file, hub.conf.store_password_file) != 0)
		restart_note(o, "store_password_file");
	if (n->telegram_commands != hub.conf.telegram_commands)
		restart_note(o, "telegram_commands");
	if (strcmp(n->push_subject, hub.conf.push_subject) != 0)
		restart_note(o, "push_subject");
	if (n->push_allow_insecure != hub.conf.push_allow_insecure)
		restart_note(o, "push_allow_insecure");
	alert_reload(n, o);
}

/*
 * SIGHUP: re-read the file.  A bad line (or a bad pair of lines) changes
 * nothing: it is logged with its file:line and the running settings stay.
 * Only what can change without re-binding takes effect (log level,
 * heartbeat, miss, ...); the rest is reported as needing a restart.
 * Flags given at start are not re-applied, so a flag-only deployment
 * keeps its values.
 */
void
hub_conf_reload(void)
{
	struct hub_conf n;
	struct hub_rules *rules;
	struct mc_origin *o;
	char err[MC_PATH_MAX + 768];
	enum mc_log_level l;

	if (hub.conf.config[0] == '\0') {
		mc_info("SIGHUP: no config file to re-read; reloading the "
		    "dashboard files");
		hub_static_load(hub.conf.dashboard);
		return;
	}
	n = hub.conf;
	memset(n.telegram_bot_token, 0, sizeof(n.telegram_bot_token));
	memset(n.telegram_chat_id, 0, sizeof(n.telegram_chat_id));
	mc_strlcpy(n.telegram_api, "https://api.telegram.org",
	    sizeof(n.telegram_api));
	n.discord_webhook_url[0] = n.webhook_url[0] = n.deadman_url[0] = '\0';
	n.discord_public_key[0] = n.discord_bot_token[0] = '\0';
	n.discord_channel_id[0] = '\0';
	mc_strlcpy(n.discord_api, "https://discord.com/api/v10",
	    sizeof(n.discord_api));
	n.chat_nallow = 0;	/* the file gives the lists again */
	n.dc_nallow = 0;
	mc_strlcpy(n.tls_cert, tls_configured("tls_cert", hub.conf.tls_cert),
	    sizeof(n.tls_cert));
	mc_strlcpy(n.tls_key, tls_configured("tls_key", hub.conf.tls_key),
	    sizeof(n.tls_key));
	/* about 4 KiB: not on the service thread's stack */
	if ((o = malloc(sizeof(*o))) == NULL) {
		mc_err("SIGHUP: out of memory; the settings stay as they are");
		return;
	}
	mc_origin_init(o);
	if (conf_file(&n, hub.conf.config, &rules, o, err, sizeof(err)) == -1)
		rules = NULL;
	if (rules == NULL || conf_check(&n, o, err, sizeof(err)) == -1) {
		hub_rules_free(rules);
		free(o);
		mc_err("SIGHUP: %s; nothing was changed: the hub runs on with "
		    "its previous settings (fix the file, then send SIGHUP "
		    "again)", err);
		return;
	}
	restart_only(&n, o);
	free(o);
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
	hub.conf.history_retention = n.history_retention;
	hub.conf.events_retention = n.events_retention;
	hub.conf.commands_retention = n.commands_retention;
	hub.conf.container_update_every = n.container_update_every;
	hub.conf.record_input = n.record_input;
	hub.conf.record_max = n.record_max;
	hub.conf.record_retention = n.record_retention;
	hub.conf.metrics_public = n.metrics_public;
	hub.conf.api_rate = n.api_rate;
	hub.conf.api_burst = n.api_burst;
	hub.conf.handshake_max = n.handshake_max;
	hub.conf.handshake_per_ip = n.handshake_per_ip;
	hub.conf.connections_per_ip = n.connections_per_ip;
	hub.conf.handshake_timeout = n.handshake_timeout;
	hub.conf.channel_failing_after = n.channel_failing_after;
	mc_strlcpy(hub.conf.trusted_proxies, n.trusted_proxies,
	    sizeof(hub.conf.trusted_proxies));
	hub_proxy_parse(hub.conf.trusted_proxies, 1, err, sizeof(err));
	alert_settings(&n);
	hub_rules_install(rules);
	mc_info("SIGHUP: reloaded %s (heartbeat %gs, miss %d, log %s)",
	    hub.conf.config, hub.conf.heartbeat, hub.conf.miss,
	    hub.conf.log_level);
	hub_event("audit", "", "", "config_reload", "configuration reloaded "
	    "(SIGHUP)");
	hub_backup_note(HUB_BACKUP_ALL, "maestro-hub", "hub.conf reloaded "
	    "(SIGHUP)");
}
