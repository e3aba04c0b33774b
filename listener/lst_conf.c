/*
 * lst_conf.c - the listener's settings: one table read from the config
 * file and then from the flags, and the checks that turn the values into
 * the hub URLs, a certificate pin, an allow mask, a name and tags, and the
 * operator keys this agent trusts ("trust", a key that may repeat).
 *
 * Every value is checked where it was given: a bad config value fails as
 * "file:line: key: reason" (the config file is fed through the extra-key
 * hook so mc_conf_parse() adds the line), a bad flag as "--flag: reason".
 * Checks of several keys together run once the flags are in and name the
 * place each key came from (struct mc_origin).  All make the program exit
 * 2.  The flags override the file.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lst.h"
#include "mc_config.h"
#include "mc_log.h"
#include "mc_sign.h"

#define OFF(f)		offsetof(struct lst_conf, f)
#define SZ(f)		sizeof(((struct lst_conf *)0)->f)
#define STR(k, f)	{ k, MC_OPT_STR, OFF(f), SZ(f), 0, 0, NULL }

/* The version as hubctl and the hub read it from this file when it is
 * published as a release (mc_elf_version): retained by the linker, which
 * drops what nothing refers to. */
static const char version_mark[] __attribute__((used, retain)) =
    MC_VERSION_MARK MC_VERSION;

static const struct mc_opt conf_tab[] = {
	STR("hub", hub),
	STR("name", name),
	STR("tags", tags),
	STR("enroll_key", enroll_key),
	STR("state_dir", state_dir),
	STR("fingerprint", fingerprint),
	STR("ca", ca),
	{ "insecure", MC_OPT_BOOL, OFF(insecure), sizeof(int), 0, 1, NULL },
	STR("log_level", log_level),
	STR("allow", allow),
	STR("run_as", run_as),
	STR("docker_socket", docker_socket),
	STR("display", display),
	STR("sysfs_root", sysfs_root),
	{ "reconnect_min", MC_OPT_DUR, OFF(reconnect_min), sizeof(double),
	    0.05, MC_BACKOFF_CAP, NULL },
	{ "terminal_idle", MC_OPT_DUR, OFF(terminal_idle), sizeof(double),
	    10, 7 * 86400, NULL },
	{ "containers", MC_OPT_BOOL, OFF(containers), sizeof(int), 0, 1,
	    NULL },
	{ "container_check_every", MC_OPT_DUR, OFF(container_check_every),
	    sizeof(double), 0, 7 * 86400, NULL },
	{ "update_confirm", MC_OPT_DUR, OFF(update_confirm), sizeof(double),
	    1, 3600, NULL },
	{ "require_signed", MC_OPT_BOOL, OFF(require_signed), sizeof(int), 0,
	    1, NULL },
	MC_OPT_END
};

/* A table with no keys: the config file then reaches conf_extra() for
 * every line, which sets and checks the value in one step. */
static const struct mc_opt no_keys[] = { MC_OPT_END };

static const char usage_text[] =
"usage: maestro-listener --hub wss://HOST:PORT[,wss://HOST2:PORT...] [options]\n"
"\n"
"The Maestro agent: keeps a connection to the hub, sends heartbeats with\n"
"this machine's metrics and runs the commands the hub sends.\n"
"\n"
"  --hub URL            the hub: wss://HOST:PORT (ws:// only for a hub run\n"
"                       with --insecure-no-tls; https:// and http://, as\n"
"                       hubctl has it, mean the same); the path defaults\n"
"                       to " LST_WS_PATH ".  Several hubs of one cluster:\n"
"                       URLs separated by commas (at most 8, all wss://\n"
"                       or all ws://); one is picked at random at start,\n"
"                       and a connection that fails or drops moves to\n"
"                       the next; the trust settings below apply to\n"
"                       every hub\n"
"  --name NAME          this agent's name (default: the hostname)\n"
"  --tags a,b,c         tags, for commands sent to a whole tag\n"
"  --enroll-key KEY     enrollment key from `hubctl enroll-key create`;\n"
"                       needed until the hub has issued a credential\n"
"  --state-dir DIR      where the credential is kept (default\n"
"                       " LST_STATE_ROOT " as root, else\n"
"                       $XDG_STATE_HOME/maestro-listener)\n"
"  --fingerprint sha256:HEX\n"
"                       trust only the hub certificate with this SHA-256\n"
"                       (the hub prints it at start; several hubs share\n"
"                       one certificate)\n"
"  --ca FILE            trust hub certificates signed by this CA\n"
"                       (default: the system's CAs, with a hostname check)\n"
"  --insecure           do not verify the hub's certificate (tests only)\n"
"  --config FILE        config file (default " LST_CONF_DEFAULT "\n"
"                       if it exists): the same keys with '_', one\n"
"                       'key = value' a line, plus allow (command kinds\n"
"                       this agent accepts, and terminal; default all),\n"
"                       run_as, docker_socket, display, containers\n"
"                       (yes|no: follow Docker's containers; default yes)\n"
"                       and container_check_every (registry digests;\n"
"                       default 10m, 0 never), trust (an operator key,\n"
"                       ed25519:BASE64 NAME as hubctl key create prints\n"
"                       it; one a line, at most 8) and require_signed\n"
"                       (yes|no: run only commands one of them signed;\n"
"                       default no)\n"
"  --log-level LEVEL    debug, info, warn or error (default info)\n"
"  --reconnect-min DURATION\n"
"                       first delay before reconnecting after a lost\n"
"                       connection (default 1s); it doubles, with jitter,\n"
"                       up to 60s, and starts over after a welcome (with\n"
"                       several hubs: the next hub is tried after this\n"
"                       first delay, and the delay doubles each time\n"
"                       every hub has failed in a row)\n"
"  --terminal-idle DURATION\n"
"                       end a terminal session after this long without a\n"
"                       byte typed or printed (10s to 7d, default 30m)\n"
"  --help, --version\n"
"\n"
"Example (first start; later starts need no --enroll-key):\n"
"  maestro-listener --hub wss://hub.example.org:8443 \\\n"
"      --fingerprint sha256:3f9c...e1 --enroll-key k1a2b3c4.9f...\n"
"Several hubs sharing one store and one certificate:\n"
"  maestro-listener --hub wss://hub1.example.org:8443,wss://hub2.example.org:8443 \\\n"
"      --fingerprint sha256:3f9c...e1\n"
"\n"
"SIGTERM says goodbye to the hub and exits 0.  The restart command starts a\n"
"fresh copy of this program; under systemd it exits with status 75 instead\n"
"(the unit has RestartForceExitStatus=75).\n";

/* ---- checks, one per key that needs more than its type ---- */

/* One hub or a list of them (lst_hubs.c); until the first connection
 * l->url is the first listed (every hub has the same scheme). */
static int
check_hub(struct lst *l, char *err, size_t errlen)
{
	if (l->conf.hub[0] == '\0')
		return 0;
	if (lst_hubs_parse(&l->hubs, l->conf.hub, err, errlen) == -1)
		return -1;
	l->url = *lst_hubs_cur(&l->hubs);
	return 0;
}

static int
check_name(struct lst *l, char *err, size_t errlen)
{
	if (l->conf.name[0] == '\0')
		return 0;
	if (!mc_name_valid(l->conf.name)) {
		snprintf(err, errlen, "'%s' is not a valid agent name (1-%d "
		    "bytes, no '/', no control characters, no leading or "
		    "trailing space)", l->conf.name, MC_NAME_MAX);
		return -1;
	}
	return 0;
}

/* A comma list of tags.  A tag with a space in it is refused although
 * the protocol would carry it: it is nearly always "a b" meant as "a,b",
 * and a rule's tag=TAG could not name it. */
static int
check_tags(struct lst *l, char *err, size_t errlen)
{
	char copy[sizeof(l->conf.tags)], *p, *next, *t;

	l->hello.ntags = 0;
	mc_strlcpy(copy, l->conf.tags, sizeof(copy));
	for (p = copy; *p != '\0'; p = next) {
		next = p + strcspn(p, ",");
		if (*next == ',')
			*next++ = '\0';
		t = mc_trim(p);
		if (*t == '\0')
			continue;
		if (strpbrk(t, " \t") != NULL) {
			snprintf(err, errlen, "'%s' is not a tag: tags are a "
			    "comma list without spaces, e.g. gpu,lab", t);
			return -1;
		}
		if (!mc_tag_valid(t)) {
			snprintf(err, errlen, "'%s' is not a valid tag (1-%d "
			    "bytes, no '/', ',' or control characters)", t,
			    MC_TAG_MAX);
			return -1;
		}
		if (l->hello.ntags == MC_TAGS_MAX) {
			snprintf(err, errlen, "at most %d tags", MC_TAGS_MAX);
			return -1;
		}
		mc_strlcpy(l->hello.tags[l->hello.ntags++], t, MC_TAG_MAX + 1);
	}
	return 0;
}

/* "sha256:AB:CD..." in any case -> 64 lowercase hex digits in l->fp. */
static int
check_fingerprint(struct lst *l, char *err, size_t errlen)
{
	l->fp[0] = '\0';
	if (l->conf.fingerprint[0] == '\0' ||
	    mc_fp_parse(l->conf.fingerprint, l->fp) == 0)
		return 0;
	snprintf(err, errlen, "expected sha256: and 64 hex digits (colons "
	    "allowed), as the hub prints it");
	return -1;
}

static int
check_log_level(struct lst *l, char *err, size_t errlen)
{
	enum mc_log_level lv;

	if (l->conf.log_level[0] == '\0')
		return 0;
	if (mc_log_level_parse(l->conf.log_level, &lv) == -1) {
		snprintf(err, errlen, "'%s' is not debug, info, warn or error",
		    l->conf.log_level);
		return -1;
	}
	return 0;
}

static int
check_allow(struct lst *l, char *err, size_t errlen)
{
	return lst_cmd_allow_parse(l->conf.allow, &l->allow, err, errlen);
}

/* Read from /etc/passwd as the commands will be (lst_user.c). */
static int
check_run_as(struct lst *l, char *err, size_t errlen)
{
	struct lst_user u;

	if (l->conf.run_as[0] == '\0' ||
	    lst_user_find(l->conf.run_as, 0, &u) == 0)
		return 0;
	snprintf(err, errlen, "no user '%s' in /etc/passwd: name a local "
	    "user for shell commands, or leave run_as out to run them as the "
	    "listener's own user", l->conf.run_as);
	return -1;
}

static int
check_ca(struct lst *l, char *err, size_t errlen)
{
	if (l->conf.ca[0] == '\0' || access(l->conf.ca, R_OK) == 0)
		return 0;
	snprintf(err, errlen, "cannot read '%s': %s (the CA certificate, PEM, "
	    "that signed the hub's)", l->conf.ca, strerror(errno));
	return -1;
}

static const struct {
	const char	*key;
	int		(*check)(struct lst *, char *, size_t);
} checks[] = {
	{ "hub", check_hub },
	{ "name", check_name },
	{ "tags", check_tags },
	{ "fingerprint", check_fingerprint },
	{ "log_level", check_log_level },
	{ "allow", check_allow },
	{ "run_as", check_run_as },
	{ "ca", check_ca },
};

static int
check_key(struct lst *l, const char *key, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (strcmp(checks[i].key, key) == 0)
			return checks[i].check(l, err, errlen);
	return 0;
}

/* One "trust" line: a key added to those trusted, and to the hello. */
static int
trust_add(struct lst *l, const char *val, char *err, size_t errlen)
{
	struct lst_conf *c = &l->conf;
	char why[200];
	int i;

	if (c->ntrust == MC_TRUST_MAX) {
		snprintf(err, errlen, "trust: at most %d keys", MC_TRUST_MAX);
		return -1;
	}
	if (mc_pubkey_parse(val, &c->trust[c->ntrust], why, sizeof(why)) ==
	    -1) {
		snprintf(err, errlen, "trust: %s (expected ed25519:BASE64 "
		    "NAME, as hubctl key create prints it)", why);
		return -1;
	}
	for (i = 0; i < c->ntrust; i++)
		if (strcmp(c->trust[i].b64, c->trust[c->ntrust].b64) == 0) {
			snprintf(err, errlen, "trust: this key is already "
			    "trusted (a line above)");
			return -1;
		}
	mc_pubkey_line(&c->trust[c->ntrust], l->hello.trust[c->ntrust],
	    sizeof(l->hello.trust[c->ntrust]));
	l->hello.ntrust = ++c->ntrust;
	return 0;
}

/* mc_conf_parse() hook: set one config line's key, then check it. */
static int
conf_extra(void *arg, const char *key, const char *val, char *err,
    size_t errlen)
{
	struct lst *l = arg;
	char why[400];

	if (strcmp(key, "trust") == 0)
		return trust_add(l, val, err, errlen);
	if (mc_opt_set(conf_tab, &l->conf, key, val, err, errlen) == -1)
		return -1;
	if (check_key(l, key, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	return 0;
}

/* After the flags: check every key again; a failure can only come from a
 * flag, since the file's values were checked as they were read. */
static int
check_flags(struct lst *l, char *err, size_t errlen)
{
	char why[400], flag[32];
	size_t i, j;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		if (checks[i].check(l, why, sizeof(why)) == 0)
			continue;
		mc_strlcpy(flag, checks[i].key, sizeof(flag));
		for (j = 0; flag[j] != '\0'; j++)
			if (flag[j] == '_')
				flag[j] = '-';
		snprintf(err, errlen, "--%s: %s", flag, why);
		return -1;
	}
	return 0;
}

/* --help / --version anywhere before "--": 1 if answered. */
static int
answer_info(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 1;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s (protocol %d)\n", LST_PROG,
			    version_mark + sizeof(MC_VERSION_MARK) - 1,
			    MC_PROTO_VERSION);
			return 1;
		}
	}
	return 0;
}

static int
load_file(struct lst *l, int argc, char **argv, struct mc_origin *o,
    char *err, size_t errlen)
{
	const char *path = mc_args_config(argc, argv);

	if (argc > 1 && strcmp(argv[argc - 1], "--config") == 0) {
		snprintf(err, errlen, "option '--config' needs a value");
		return -1;
	}
	if (path == NULL) {
		if (access(LST_CONF_DEFAULT, F_OK) == -1)
			return 0;
		path = LST_CONF_DEFAULT;
	}
	mc_strlcpy(l->conf_path, path, sizeof(l->conf_path));
	return mc_conf_load(path, no_keys, &l->conf, conf_extra, l, o, err,
	    errlen);
}

/* fingerprint, ca and insecure are three ways to trust the hub: more
 * than one is refused where the second was given. */
static int
check_trust(const struct lst *l, const struct mc_origin *o, char *err,
    size_t errlen)
{
	const char *given[3], *key[] = { "fingerprint", "ca", "insecure" };
	char first[MC_PATH_MAX + 96];
	int n = 0;

	if (l->fp[0] != '\0')
		given[n++] = key[0];
	if (l->conf.ca[0] != '\0')
		given[n++] = key[1];
	if (l->conf.insecure)
		given[n++] = key[2];
	if (n < 2)
		return 0;
	return mc_origin_fail(o, given[1], err, errlen, "cannot go with %s: "
	    "fingerprint, ca and insecure are three ways to trust the hub; "
	    "keep one", mc_origin_what(o, given[0], first, sizeof(first)));
}

/* Settings that depend on several keys or on the machine. */
static int
finish(struct lst *l, const struct mc_origin *o, char *err, size_t errlen)
{
	if (l->conf.hub[0] == '\0') {
		snprintf(err, errlen, "missing --hub wss://HOST:PORT (the hub's "
		    "address; see --help)");
		return -1;
	}
	if (check_trust(l, o, err, errlen) == -1)
		return -1;
	if (l->conf.require_signed && l->conf.ntrust == 0)
		return mc_origin_fail(o, "require_signed", err, errlen, "needs "
		    "at least one trust = ed25519:BASE64 NAME line: without a "
		    "trusted key no command could run");
	l->hello.require_signed = l->conf.require_signed;
	if (l->conf.name[0] == '\0' &&
	    (gethostname(l->conf.name, sizeof(l->conf.name)) == -1 ||
	    !mc_name_valid(l->conf.name))) {
		snprintf(err, errlen, "the hostname is not usable as an agent "
		    "name; pass --name NAME");
		return -1;
	}
	mc_strlcpy(l->hello.name, l->conf.name, sizeof(l->hello.name));
	return 0;
}

int
lst_conf_read(struct lst *l, int argc, char **argv, char *err, size_t errlen)
{
	struct mc_origin o;
	int npos;

	if (answer_info(argc, argv))
		return 1;
	memset(&l->conf, 0, sizeof(l->conf));
	mc_strlcpy(l->conf.log_level, "info", sizeof(l->conf.log_level));
	mc_strlcpy(l->conf.docker_socket, LST_DOCKER_SOCKET,
	    sizeof(l->conf.docker_socket));
	l->conf.reconnect_min = 1;
	l->conf.terminal_idle = MC_TERM_IDLE_DEFAULT;
	l->conf.update_confirm = LST_UPDATE_CONFIRM;
	l->conf.containers = 1;
	l->conf.container_check_every = 600;
	mc_strlcpy(l->conf.sysfs_root, "/", sizeof(l->conf.sysfs_root));
	l->allow = ((1u << MC_KIND_COUNT) - 1) | LST_ALLOW_TERMINAL;
	mc_origin_init(&o);
	if (load_file(l, argc, argv, &o, err, errlen) == -1 ||
	    mc_args_apply(argc, argv, conf_tab, &l->conf, &npos, &o, err,
	    errlen) == -1)
		return -1;
	if (npos > 0) {
		snprintf(err, errlen, "unexpected argument '%s' (see --help)",
		    argv[1]);
		return -1;
	}
	if (check_flags(l, err, errlen) == -1)
		return -1;
	return finish(l, &o, err, errlen);
}
