/*
 * ctl_opts.c - hubctl's settings: config file, environment, flags.
 *
 * Settings come in three layers, each overriding the one before: the
 * config file (--config FILE, else ~/.config/maestro/hubctl.conf when it
 * exists), then MAESTRO_HUB, MAESTRO_TOKEN, MAESTRO_TOKEN_FILE and
 * MAESTRO_FINGERPRINT, then the global flags (--key and --passphrase-file
 * choose the signing key, ctl_key.c),
 * which may stand before or after the command words (but not after "--").
 * Within a layer a token and a token file, or a fingerprint and
 * --insecure, exclude each other; a later layer's choice replaces the
 * earlier one's.  The token is never printed: messages name its source.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "mc_config.h"
#include "mc_util.h"

#define FIELD(f)	offsetof(struct ctl_opts, f), \
			sizeof(((struct ctl_opts *)NULL)->f)

/* Flags and config keys; MC_OPT_FLAG ones are flags only. */
static const struct mc_opt global_tab[] = {
	{ "hub", MC_OPT_STR, FIELD(hub), 0, 0, NULL },
	{ "token", MC_OPT_STR, FIELD(token), 0, 0, NULL },
	{ "token_file", MC_OPT_STR, FIELD(token_file), 0, 0, NULL },
	{ "fingerprint", MC_OPT_STR, FIELD(fingerprint), 0, 0, NULL },
	{ "ca", MC_OPT_STR, FIELD(ca), 0, 0, NULL },
	{ "insecure", MC_OPT_BOOL, FIELD(insecure), 0, 1, NULL },
	{ "key", MC_OPT_STR, FIELD(key), 0, 0, NULL },
	{ "passphrase_file", MC_OPT_STR, FIELD(passphrase_file), 0, 0, NULL },
	{ "json", MC_OPT_FLAG, FIELD(json), 0, 1, NULL },
	{ "help", MC_OPT_FLAG, FIELD(help), 0, 1, NULL },
	{ "version", MC_OPT_FLAG, FIELD(version), 0, 1, NULL },
	MC_OPT_END
};

/* Set one setting; a choice between alternatives drops the other one. */
static int
set_opt(struct ctl_opts *o, const char *key, const char *val, char *err,
    size_t errlen)
{
	if (mc_opt_set(global_tab, o, key, val, err, errlen) == -1)
		return -1;
	if (strcmp(key, "token") == 0)
		o->token_file[0] = '\0';
	else if (strcmp(key, "token_file") == 0)
		o->token[0] = '\0';
	else if (strcmp(key, "fingerprint") == 0)
		o->insecure = 0;
	else if (strcmp(key, "insecure") == 0 && o->insecure)
		o->fingerprint[0] = '\0';
	return 0;
}

/* mc_conf_parse() hands every key here (its own table is empty). */
static int
conf_key(void *arg, const char *key, const char *val, char *err,
    size_t errlen)
{
	static const char *const keys[] = { "hub", "token", "token_file",
	    "fingerprint", "insecure", "ca", "key", "passphrase_file" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return set_opt(arg, key, val, err, errlen);
	snprintf(err, errlen, "unknown setting '%s' (known: hub, token, "
	    "token_file, fingerprint, insecure, ca, key, passphrase_file)",
	    key);
	return -1;
}

/* The default config file, if there is one. */
static int
default_conf(char *path, size_t size)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	if (xdg != NULL && *xdg == '/')
		n = snprintf(path, size, "%s/maestro/hubctl.conf", xdg);
	else if (home != NULL && *home != '\0')
		n = snprintf(path, size, "%s/.config/maestro/hubctl.conf",
		    home);
	else
		return -1;
	if (n < 0 || (size_t)n >= size || access(path, F_OK) == -1)
		return -1;
	return 0;
}

static int
load_conf(struct ctl *c, int argc, char **argv)
{
	static const struct mc_opt none[] = { MC_OPT_END };
	char path[MC_PATH_MAX], err[MC_PATH_MAX + 256];
	const char *given = mc_args_config(argc, argv);

	if (given != NULL) {
		if (mc_strlcpy(path, given, sizeof(path)) == -1)
			return ctl_usage(NULL, "--config: path too long");
	} else if (default_conf(path, sizeof(path)) == -1) {
		return 0;
	}
	if (mc_conf_load(path, none, &c->o, conf_key, &c->o, NULL, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "hubctl: %s\n", err);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

static int
load_env(struct ctl *c)
{
	/* in this order: with both, MAESTRO_TOKEN wins */
	static const char *const vars[][2] = {
		{ "MAESTRO_HUB", "hub" },
		{ "MAESTRO_TOKEN_FILE", "token_file" },
		{ "MAESTRO_TOKEN", "token" },
		{ "MAESTRO_FINGERPRINT", "fingerprint" } };
	char err[256];
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		v = getenv(vars[i][0]);
		if (v == NULL || *v == '\0')
			continue;
		if (set_opt(&c->o, vars[i][1], v, err, sizeof(err)) == -1)
			return ctl_usage(NULL, "%s: value too long",
			    vars[i][0]);
	}
	return 0;
}

/* The global flag argv names ("--token-file" sets key "token_file"),
 * or NULL if it is not one. */
static const struct mc_opt *
global_flag(const char *arg, char *key, size_t size)
{
	const struct mc_opt *o;
	size_t n = strcspn(arg + 2, "="), i;

	if (n == 0 || n >= size)
		return NULL;
	for (i = 0; i < n; i++)
		key[i] = arg[2 + i] == '-' ? '_' : arg[2 + i];
	key[n] = '\0';
	for (o = global_tab; o->key != NULL; o++)
		if (strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

/* Apply the global flag at argv[*i]; *i moves past its value. */
static int
apply_flag(struct ctl *c, const struct mc_opt *o, const char *key,
    int argc, char **argv, int *i)
{
	const char *eq = strchr(argv[*i], '='), *val;
	char err[256];

	if (o->type == MC_OPT_BOOL || o->type == MC_OPT_FLAG)
		val = eq ? eq + 1 : "true";
	else if (eq)
		val = eq + 1;
	else if (*i + 1 < argc)
		val = argv[++*i];
	else
		return ctl_usage(NULL, "option '--%s' needs a value",
		    o->key);
	if (set_opt(&c->o, key, val, err, sizeof(err)) == -1)
		return ctl_usage(NULL, "--%s", err);
	return 0;
}

/* Flags that choose between alternatives may not both be given. */
static const char *const exclusive[] = { "token", "token_file",
    "fingerprint", "insecure" };

static unsigned
exclusive_bit(const struct ctl *c, const char *key)
{
	unsigned i;

	for (i = 0; i < 4; i++)
		if (strcmp(key, exclusive[i]) == 0)
			return i < 3 || c->o.insecure ? 1u << i : 0;
	return 0;
}

static int
check_exclusive(unsigned seen)
{
	if ((seen & 3) == 3)
		return ctl_usage(NULL,
		    "give --token or --token-file, not both");
	if ((seen & 12) == 12)
		return ctl_usage(NULL,
		    "give --fingerprint or --insecure, not both");
	return 0;
}

/* Is argv[i] "--config" (skipping its value) or "--config=FILE"? */
static int
is_config_flag(const char *arg, int *skip)
{
	if (strcmp(arg, "--config") == 0) {
		*skip = 1;
		return 1;
	}
	*skip = 0;
	return strncmp(arg, "--config=", 9) == 0;
}

static int
load_flags(struct ctl *c, int argc, char **argv, int *npos)
{
	const struct mc_opt *o;
	unsigned seen = 0;	/* exclusive flags given, for conflicts */
	char key[64];
	int i, pos = 1, skip, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				argv[pos++] = argv[i++];
			break;
		}
		if (is_config_flag(argv[i], &skip)) {
			if (skip && ++i >= argc)
				return ctl_usage(NULL,
				    "option '--config' needs a value");
			continue;
		}
		if (strcmp(argv[i], "-h") == 0)
			argv[i] = (char *)"--help";
		o = strncmp(argv[i], "--", 2) == 0 ?
		    global_flag(argv[i], key, sizeof(key)) : NULL;
		if (o == NULL) {
			argv[pos++] = argv[i];
			continue;
		}
		r = apply_flag(c, o, key, argc, argv, &i);
		if (r != 0)
			return r;
		seen |= exclusive_bit(c, key);
	}
	*npos = pos - 1;
	return check_exclusive(seen);
}

int
ctl_opts_load(struct ctl *c, int argc, char **argv, int *npos)
{
	int r;

	memset(c, 0, sizeof(*c));
	r = load_conf(c, argc, argv);
	if (r == 0)
		r = load_env(c);
	if (r == 0)
		r = load_flags(c, argc, argv, npos);
	return r;
}

static int
url_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == '?' ||
		    *s == '#')
			return 0;
	return 1;
}

static int
finish_url(struct ctl *c)
{
	struct mc_url u;
	char err[CTL_URL_MAX + 64];
	size_t n;

	if (c->o.hub[0] == '\0')
		mc_strlcpy(c->o.hub, CTL_DEFAULT_HUB, sizeof(c->o.hub));
	if (mc_url_parse(c->o.hub, &u, err, sizeof(err)) == -1)
		return ctl_usage(NULL, "--hub: %s", err);
	if ((strcmp(u.scheme, "https") != 0 && strcmp(u.scheme, "http") != 0)
	    || !url_safe(c->o.hub))
		return ctl_usage(NULL, "--hub: expected https://HOST:PORT or "
		    "http://HOST:PORT");
	c->tls = u.tls;
	mc_strlcpy(c->base, c->o.hub, sizeof(c->base));
	n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	return 0;
}

static int
finish_tls(struct ctl *c)
{
	if (c->o.fingerprint[0] != '\0') {
		if (ctl_pin_parse(c->o.fingerprint, c->pin) == -1)
			return ctl_usage(NULL, "--fingerprint: expected "
			    "sha256: and 64 hex digits, as maestro-hub prints");
		if (!c->tls)
			return ctl_usage(NULL, "--fingerprint needs an "
			    "https:// hub URL");
		c->pinned = 1;
	}
	if (c->o.insecure && c->tls)
		fprintf(stderr, "hubctl: warning: --insecure: the hub's "
		    "certificate is not checked, so anyone on the path can "
		    "read the token\n");
	return 0;
}

/* Clear a secret in a way the compiler may not drop. */
static void
wipe(void *p, size_t n)
{
	volatile char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

static int
token_ok(const char *t)
{
	if (*t == '\0')
		return 0;
	for (; *t; t++)
		if ((unsigned char)*t <= ' ' || (unsigned char)*t >= 0x7f)
			return 0;
	return 1;
}

static int
finish_token(struct ctl *c)
{
	char *text;

	if (c->o.token_file[0] != '\0') {
		text = mc_read_file(c->o.token_file, 4096, NULL);
		if (text == NULL) {
			fprintf(stderr, "hubctl: cannot read token file %s: "
			    "%s\n", c->o.token_file, strerror(errno));
			return CTL_EXIT_USAGE;
		}
		if (mc_strlcpy(c->o.token, mc_trim(text),
		    sizeof(c->o.token)) == -1)
			c->o.token[0] = '\0';
		wipe(text, strlen(text));
		free(text);
	}
	if (c->o.token[0] == '\0') {
		fprintf(stderr, "hubctl: no token: pass --token, --token-file "
		    "or MAESTRO_TOKEN (the hub wrote its first admin token "
		    "to DATA/admin.token)\n");
		return CTL_EXIT_HUB;
	}
	if (!token_ok(c->o.token))
		return ctl_usage(NULL, "the token holds characters no Maestro "
		    "token has (check --token, --token-file, MAESTRO_TOKEN)");
	return 0;
}

int
ctl_opts_finish(struct ctl *c)
{
	int r;

	r = finish_url(c);
	if (r == 0)
		r = finish_tls(c);
	if (r == 0)
		r = finish_token(c);
	return r;
}

void
ctl_opts_clear(struct ctl *c)
{
	wipe(c->o.token, sizeof(c->o.token));
}

static const struct ctl_flag *
flag_find(const struct ctl_flag *flags, const char *arg)
{
	size_t n = strcspn(arg, "=");

	for (; flags->name != NULL; flags++)
		if (strlen(flags->name) == n &&
		    strncmp(flags->name, arg, n) == 0)
			return flags;
	return NULL;
}

/* Take the flag at argv[*i] (and its value). */
static int
take_flag(const char *noun, const struct ctl_flag *f, int argc, char **argv,
    int *i)
{
	const char *eq = strchr(argv[*i], '=');

	if (!f->has_arg) {
		if (eq != NULL)
			return ctl_usage(noun, "option '%s' takes no value",
			    f->name);
		*f->val = "";
	} else if (eq != NULL) {
		*f->val = eq + 1;
	} else if (*i + 1 < argc) {
		*f->val = argv[++*i];
	} else {
		return ctl_usage(noun, "option '%s' needs a value", f->name);
	}
	return 0;
}

int
ctl_flags_parse(const char *noun, int argc, char **argv,
    const struct ctl_flag *flags, struct ctl_args *a)
{
	const struct ctl_flag *f;
	int i, r;

	a->n = 0;
	a->v = argv;
	a->dashdash = -1;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			a->dashdash = a->n;
			while (++i < argc)
				argv[a->n++] = argv[i];
			break;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			argv[a->n++] = argv[i];
			continue;
		}
		f = flag_find(flags, argv[i]);
		if (f == NULL)
			return ctl_usage(noun, "unknown option '%s'", argv[i]);
		r = take_flag(noun, f, argc, argv, &i);
		if (r != 0)
			return r;
	}
	return 0;
}

int
ctl_begin(struct ctl *c, const char *noun, int argc, char **argv,
    const struct ctl_flag *flags, struct ctl_args *a, int min, int max)
{
	static const struct ctl_flag none[] = { { NULL, 0, NULL } };
	int r;

	r = ctl_flags_parse(noun, argc, argv, flags ? flags : none, a);
	if (r != 0)
		return r;
	if (a->n < min)
		return ctl_usage(noun, "missing argument");
	if (a->n > max)
		return ctl_usage(noun, "unexpected argument '%s'", a->v[max]);
	return ctl_opts_finish(c);
}
