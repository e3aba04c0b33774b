/*
 * t_config.c - mc_config: "key = value" files and --flags through one
 * settings table.  Errors must name file:LINE with the right line.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_config.h"
#include "mc_limits.h"
#include "mc_util.h"
#include "unit.h"

struct settings {
	char	name[16];
	char	url[128];
	int	port;
	int	miss;
	double	heartbeat;
	double	ratio;
	int	verbose;
	int	insecure_no_tls;
	int64_t	cap;
};

static const struct mc_opt tab[] = {
	{ "name", MC_OPT_STR, offsetof(struct settings, name), 16, 0, 0, NULL },
	{ "url", MC_OPT_STR, offsetof(struct settings, url), 128, 0, 0, NULL },
	{ "port", MC_OPT_INT, offsetof(struct settings, port), 0, 1, 65535,
	    NULL },
	{ "miss", MC_OPT_INT, offsetof(struct settings, miss), 0, 1, 100, NULL },
	{ "heartbeat", MC_OPT_DUR, offsetof(struct settings, heartbeat), 0,
	    0.01, 3600, NULL },
	{ "ratio", MC_OPT_DBL, offsetof(struct settings, ratio), 0, 0, 1, NULL },
	{ "verbose", MC_OPT_BOOL, offsetof(struct settings, verbose), 0, 0, 0,
	    NULL },
	{ "insecure_no_tls", MC_OPT_FLAG,
	    offsetof(struct settings, insecure_no_tls), 0, 0, 0, NULL },
	{ "cap", MC_OPT_SIZE, offsetof(struct settings, cap), 0, 65536,
	    1073741824.0, NULL },
	MC_OPT_END
};

static void
defaults(struct settings *s)
{
	memset(s, 0, sizeof(*s));
	mc_strlcpy(s->name, "default", sizeof(s->name));
	s->port = 8443;
	s->miss = 3;
	s->heartbeat = 10;
}

/* Parse text as file "hub.conf"; 0 or -1 with the message in err. */
static int
conf(const char *text, struct settings *s, char *err, size_t errlen)
{
	defaults(s);
	err[0] = '\0';
	return mc_conf_parse("hub.conf", text, tab, s, NULL, NULL, NULL, err,
	    errlen);
}

#define CHECK_CONF_ERROR(text, prefix, why) do {			\
	struct settings s_;						\
	char e_[512];							\
	CHECK_MSG(conf((text), &s_, e_, sizeof(e_)) == -1,		\
	    "accepted \"%s\"", unit_show((text), strlen(text)));	\
	CHECK_PREFIX(e_, (prefix));					\
	CHECK_CONTAINS(e_, (why));					\
} while (0)

void
t_conf_good_file(void)
{
	static const char text[] =
	    "# Maestro hub\n"
	    "\n"
	    "name = hub-1\n"
	    "   port=9000   \n"
	    "\t# indented comment\n"
	    "heartbeat = 0.2s\r\n"
	    "url = https://example.com/x#frag\n"
	    "ratio = 0.25\n"
	    "verbose = yes\n"
	    "miss = \"7\"\n"
	    "   \n"
	    "name = \"  two words \"\n";
	struct settings s;
	char err[512];

	CHECK_MSG(conf(text, &s, err, sizeof(err)) == 0, "%s", err);
	/* the later line wins; quotes keep inner spaces */
	CHECK_EQ_STR(s.name, "  two words ");
	CHECK_EQ_INT(s.port, 9000);
	CHECK_EQ_DBL(s.heartbeat, 0.2);
	CHECK_EQ_STR(s.url, "https://example.com/x#frag");
	CHECK_EQ_DBL(s.ratio, 0.25);
	CHECK_EQ_INT(s.verbose, 1);
	CHECK_EQ_INT(s.miss, 7);
	/* an empty file and a file of comments change nothing */
	CHECK_EQ_INT(conf("", &s, err, sizeof(err)), 0);
	CHECK_EQ_INT(s.port, 8443);
	CHECK_EQ_INT(conf("# only\n\n#x = y\n", &s, err, sizeof(err)), 0);
	CHECK_EQ_STR(s.name, "default");
	/* no newline at the end; an empty value for a string */
	CHECK_EQ_INT(conf("port = 1\nname =", &s, err, sizeof(err)), 0);
	CHECK_EQ_INT(s.port, 1);
	CHECK_EQ_STR(s.name, "");
	/* durations in other units; a value with '=' in it */
	CHECK_EQ_INT(conf("heartbeat = 5m\nurl = a=b\n", &s, err,
	    sizeof(err)), 0);
	CHECK_EQ_DBL(s.heartbeat, 300);
	CHECK_EQ_STR(s.url, "a=b");
	CHECK_EQ_INT(conf("verbose = off", &s, err, sizeof(err)), 0);
	CHECK_EQ_INT(s.verbose, 0);
}

void
t_conf_error_unknown_key(void)
{
	CHECK_CONF_ERROR("port = 1\n\nbogus = 2\n", "hub.conf:3: ", "bogus");
	CHECK_CONF_ERROR("bogus = 2", "hub.conf:1: ", "unknown");
	/* a flag-only option is not a config key */
	CHECK_CONF_ERROR("# c\ninsecure_no_tls = true\n", "hub.conf:2: ",
	    "insecure_no_tls");
	/* keys are exact: no dashes, no case folding */
	CHECK_CONF_ERROR("Port = 1\n", "hub.conf:1: ", "Port");
	CHECK_CONF_ERROR("\n\n\n\nlisten-addr = x\n", "hub.conf:5: ",
	    "listen-addr");
}

void
t_conf_error_bad_int(void)
{
	CHECK_CONF_ERROR("name = x\nport = 12a\n", "hub.conf:2: ", "port");
	CHECK_CONF_ERROR("port = 0\n", "hub.conf:1: ", "port");
	CHECK_CONF_ERROR("port = 65536\n", "hub.conf:1: ", "65536");
	CHECK_CONF_ERROR("#\n#\nport = -1\n", "hub.conf:3: ", "port");
	CHECK_CONF_ERROR("port = 1.5\n", "hub.conf:1: ", "port");
	CHECK_CONF_ERROR("port = \n", "hub.conf:1: ", "port");
	CHECK_CONF_ERROR("port = 99999999999999999999\n", "hub.conf:1: ",
	    "port");
	CHECK_CONF_ERROR("ratio = 2\n", "hub.conf:1: ", "ratio");
	CHECK_CONF_ERROR("ratio = nan\n", "hub.conf:1: ", "ratio");
}

void
t_conf_error_missing_equals(void)
{
	CHECK_CONF_ERROR("port = 1\nname hub\n", "hub.conf:2: ", "key = value");
	CHECK_CONF_ERROR("\n\n\nport\n", "hub.conf:4: ", "key = value");
	CHECK_CONF_ERROR("= value\n", "hub.conf:1: ", "key");
}

void
t_conf_error_value_too_long(void)
{
	/* name holds 15 bytes */
	CHECK_CONF_ERROR("name = 123456789012345\nname = 1234567890123456\n",
	    "hub.conf:2: ", "longer than 15");
	{
		struct settings s;
		char err[512];

		CHECK_EQ_INT(conf("name = 123456789012345\n", &s, err,
		    sizeof(err)), 0);
		CHECK_EQ_STR(s.name, "123456789012345");
	}
}

void
t_conf_error_bad_duration(void)
{
	CHECK_CONF_ERROR("port = 1\nheartbeat = 5x\n", "hub.conf:2: ",
	    "heartbeat");
	CHECK_CONF_ERROR("heartbeat = fast\n", "hub.conf:1: ", "duration");
	CHECK_CONF_ERROR("heartbeat = -1s\n", "hub.conf:1: ", "heartbeat");
	/* out of the table's range */
	CHECK_CONF_ERROR("heartbeat = 2h\n", "hub.conf:1: ", "heartbeat");
	CHECK_CONF_ERROR("heartbeat = 0\n", "hub.conf:1: ", "heartbeat");
	CHECK_CONF_ERROR("heartbeat = 5 m\n", "hub.conf:1: ", "heartbeat");
}

void
t_conf_error_bad_bool(void)
{
	CHECK_CONF_ERROR("\nverbose = maybe\n", "hub.conf:2: ", "verbose");
	CHECK_CONF_ERROR("verbose = 2\n", "hub.conf:1: ", "true or false");
	CHECK_CONF_ERROR("verbose = \n", "hub.conf:1: ", "verbose");
	CHECK_CONF_ERROR("verbose = TRUE\n", "hub.conf:1: ", "verbose");
}

void
t_conf_error_other(void)
{
	struct settings s;
	char err[512];

	/* the first bad line is the one reported; earlier lines applied */
	CHECK_EQ_INT(conf("port = 5\nbogus = 1\nport = x\n", &s, err,
	    sizeof(err)), -1);
	CHECK_PREFIX(err, "hub.conf:2: ");
	CHECK_EQ_INT(s.port, 5);
	/* CRLF line ends do not shift line numbers */
	CHECK_CONF_ERROR("port = 1\r\nport = 2\r\nport = z\r\n",
	    "hub.conf:3: ", "port");
	/* a small err buffer is filled safely */
	CHECK_EQ_INT(mc_conf_parse("hub.conf", "bogus = 1", tab, &s, NULL,
	    NULL, NULL, err, 8), -1);
	CHECK(strlen(err) < 8);
}

void
t_conf_line_too_long(void)
{
	struct settings s;
	char *text, err[512];
	size_t n = MC_CONF_LINE_MAX + 100;

	text = malloc(n + 32);
	REQUIRE(text != NULL);
	memcpy(text, "port = 1\n# ", 11);
	memset(text + 11, 'x', n);
	text[11 + n] = '\0';
	CHECK_EQ_INT(conf(text, &s, err, sizeof(err)), -1);
	CHECK_PREFIX(err, "hub.conf:2: ");
	CHECK_CONTAINS(err, "longer");
	free(text);
}

struct extra_seen {
	int	 n;
	char	 last[64];
};

static int
extra(void *arg, const char *key, const char *val, char *err, size_t errlen)
{
	struct extra_seen *e = arg;

	if (strcmp(key, "allow") != 0) {
		snprintf(err, errlen, "extra does not know '%s'", key);
		return -1;
	}
	e->n++;
	snprintf(e->last, sizeof(e->last), "%s", val);
	return 0;
}

void
t_conf_extra_callback(void)
{
	struct extra_seen seen;
	struct settings s;
	char err[512] = "";

	memset(&seen, 0, sizeof(seen));
	defaults(&s);
	CHECK_EQ_INT(mc_conf_parse("l.conf", "port = 2\nallow = shell,metrics\n",
	    tab, &s, extra, &seen, NULL, err, sizeof(err)), 0);
	CHECK_EQ_INT(seen.n, 1);
	CHECK_EQ_STR(seen.last, "shell,metrics");
	CHECK_EQ_INT(s.port, 2);
	CHECK_EQ_INT(mc_conf_parse("l.conf", "allow = x\n\nother = y\n", tab,
	    &s, extra, &seen, NULL, err, sizeof(err)), -1);
	CHECK_PREFIX(err, "l.conf:3: ");
	CHECK_CONTAINS(err, "extra does not know 'other'");
	/* table keys do not reach the callback, bad values still fail */
	CHECK_EQ_INT(mc_conf_parse("l.conf", "port = x\n", tab, &s, extra,
	    &seen, NULL, err, sizeof(err)), -1);
	CHECK_PREFIX(err, "l.conf:1: ");
}

void
t_conf_load_file(void)
{
	char path[512], err[512] = "";
	struct settings s;
	static const char text[] = "port = 7000\nmiss = bad\n";

	snprintf(path, sizeof(path), "%s/hub.conf", unit_tmpdir());
	REQUIRE(mc_write_file(path, text, strlen(text), 0644) == 0);
	defaults(&s);
	CHECK_EQ_INT(mc_conf_load(path, tab, &s, NULL, NULL, NULL, err,
	    sizeof(err)), -1);
	{
		char want[600];

		snprintf(want, sizeof(want), "%s:2: ", path);
		CHECK_PREFIX(err, want);
	}
	CHECK_EQ_INT(s.port, 7000);
	REQUIRE(mc_write_file(path, "port = 7001\n", 12, 0644) == 0);
	CHECK_EQ_INT(mc_conf_load(path, tab, &s, NULL, NULL, NULL, err,
	    sizeof(err)), 0);
	CHECK_EQ_INT(s.port, 7001);
	/* a missing file names the path */
	snprintf(path, sizeof(path), "%s/nope.conf", unit_tmpdir());
	CHECK_EQ_INT(mc_conf_load(path, tab, &s, NULL, NULL, NULL, err,
	    sizeof(err)), -1);
	CHECK_PREFIX(err, path);
	/* a NUL byte: not a text file */
	snprintf(path, sizeof(path), "%s/nul.conf", unit_tmpdir());
	REQUIRE(mc_write_file(path, "port = 1\n\0x\n", 12, 0644) == 0);
	CHECK_EQ_INT(mc_conf_load(path, tab, &s, NULL, NULL, NULL, err,
	    sizeof(err)), -1);
	CHECK_PREFIX(err, path);
}

/* Run mc_args_apply over a NULL-terminated list of arguments. */
static int
args(struct settings *s, char **argv, int *npos, char *err, size_t errlen)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	defaults(s);
	err[0] = '\0';
	*npos = -1;
	return mc_args_apply(argc, argv, tab, s, npos, NULL, err, errlen);
}

void
t_args_values(void)
{
	char a0[] = "prog", a1[] = "--port", a2[] = "9001",
	    a3[] = "--heartbeat=0.5s", a4[] = "--name", a5[] = "n1",
	    a6[] = "--ratio=1", a7[] = "--url=http://h/?a=b";
	char *argv[] = { a0, a1, a2, a3, a4, a5, a6, a7, NULL };
	struct settings s;
	char err[256];
	int npos;

	CHECK_MSG(args(&s, argv, &npos, err, sizeof(err)) == 0, "%s", err);
	CHECK_EQ_INT(s.port, 9001);
	CHECK_EQ_DBL(s.heartbeat, 0.5);
	CHECK_EQ_STR(s.name, "n1");
	CHECK_EQ_DBL(s.ratio, 1);
	CHECK_EQ_STR(s.url, "http://h/?a=b");
	CHECK_EQ_INT(npos, 0);
}

void
t_args_bool_flags(void)
{
	char a0[] = "prog", a1[] = "--verbose", a2[] = "--insecure-no-tls",
	    a3[] = "pos1", a4[] = "--verbose=false", a5[] = "--insecure_no_tls=0";
	char *argv[] = { a0, a1, a2, a3, NULL };
	char *argv2[] = { a0, a1, a4, a5, NULL };
	struct settings s;
	char err[256];
	int npos;

	/* a bool flag takes no value: the next word stays positional */
	CHECK_MSG(args(&s, argv, &npos, err, sizeof(err)) == 0, "%s", err);
	CHECK_EQ_INT(s.verbose, 1);
	CHECK_EQ_INT(s.insecure_no_tls, 1);
	CHECK_EQ_INT(npos, 1);
	CHECK_EQ_STR(argv[1], "pos1");
	CHECK_MSG(args(&s, argv2, &npos, err, sizeof(err)) == 0, "%s", err);
	CHECK_EQ_INT(s.verbose, 0);
	CHECK_EQ_INT(s.insecure_no_tls, 0);
	CHECK_EQ_INT(npos, 0);
}

void
t_args_errors(void)
{
	char a0[] = "prog", bogus[] = "--bogus", port[] = "--port",
	    badport[] = "--port=x", verb[] = "--verbose=maybe", dd[] = "--=x",
	    hb[] = "--heartbeat", hbv[] = "forever", longname[] = "--name",
	    longv[] = "12345678901234567";
	char *v1[] = { a0, bogus, NULL };
	char *v2[] = { a0, port, NULL };
	char *v3[] = { a0, badport, NULL };
	char *v4[] = { a0, verb, NULL };
	char *v5[] = { a0, dd, NULL };
	char *v6[] = { a0, hb, hbv, NULL };
	char *v7[] = { a0, longname, longv, NULL };
	struct settings s;
	char err[256];
	int npos;

	CHECK_EQ_INT(args(&s, v1, &npos, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "--bogus");
	CHECK_EQ_INT(args(&s, v2, &npos, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "--port");
	CHECK_CONTAINS(err, "value");
	CHECK_EQ_INT(args(&s, v3, &npos, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "port");
	CHECK_EQ_INT(args(&s, v4, &npos, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "verbose");
	CHECK_EQ_INT(args(&s, v5, &npos, err, sizeof(err)), -1);
	CHECK_EQ_INT(args(&s, v6, &npos, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "heartbeat");
	CHECK_EQ_INT(args(&s, v7, &npos, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "name");
}

void
t_args_positional(void)
{
	char a0[] = "prog", a1[] = "send", a2[] = "--port", a3[] = "1",
	    a4[] = "pc-1", a5[] = "--", a6[] = "--name", a7[] = "-x",
	    a8[] = "sh", a9[] = "-";
	char *argv[] = { a0, a1, a2, a3, a4, a9, a5, a6, a7, a8, NULL };
	struct settings s;
	char err[256];
	int npos;

	CHECK_MSG(args(&s, argv, &npos, err, sizeof(err)) == 0, "%s", err);
	CHECK_EQ_INT(s.port, 1);
	/* after "--" flags are not parsed: name keeps its default */
	CHECK_EQ_STR(s.name, "default");
	CHECK_EQ_INT(npos, 6);
	CHECK_EQ_STR(argv[1], "send");
	CHECK_EQ_STR(argv[2], "pc-1");
	CHECK_EQ_STR(argv[3], "-");
	CHECK_EQ_STR(argv[4], "--name");
	CHECK_EQ_STR(argv[5], "-x");
	CHECK_EQ_STR(argv[6], "sh");
	/* "--" alone at the end */
	{
		char *v[] = { a0, a4, a5, NULL };

		CHECK_EQ_INT(args(&s, v, &npos, err, sizeof(err)), 0);
		CHECK_EQ_INT(npos, 1);
		CHECK_EQ_STR(v[1], "pc-1");
	}
}

void
t_args_config(void)
{
	char a0[] = "prog", c1[] = "--config", c2[] = "/etc/x.conf",
	    c3[] = "--config=/etc/y.conf", p[] = "--port", pv[] = "5",
	    dd[] = "--";
	char *v1[] = { a0, p, pv, c1, c2, NULL };
	char *v2[] = { a0, c3, p, pv, NULL };
	char *v3[] = { a0, dd, c1, c2, NULL };
	char *v4[] = { a0, p, pv, NULL };
	struct settings s;
	char err[256];
	int npos;

	CHECK_EQ_STR(mc_args_config(5, v1), "/etc/x.conf");
	CHECK_EQ_STR(mc_args_config(4, v2), "/etc/y.conf");
	CHECK(mc_args_config(4, v3) == NULL);
	CHECK(mc_args_config(3, v4) == NULL);
	/* mc_args_apply skips --config and its value */
	CHECK_MSG(args(&s, v1, &npos, err, sizeof(err)) == 0, "%s", err);
	CHECK_EQ_INT(s.port, 5);
	CHECK_EQ_INT(npos, 0);
	CHECK_MSG(args(&s, v2, &npos, err, sizeof(err)) == 0, "%s", err);
	CHECK_EQ_INT(npos, 0);
}

void
t_args_error_names_the_flag(void)
{
	char a0[] = "prog", p1[] = "--port=x", p2[] = "--heartbeat",
	    p3[] = "soon";
	char *v1[] = { a0, p1, NULL };
	char *v2[] = { a0, p2, p3, NULL };
	struct settings s;
	char err[256];
	int npos;

	/* "--flag: reason", the flag as it is typed, not the config key */
	CHECK_EQ_INT(args(&s, v1, &npos, err, sizeof(err)), -1);
	CHECK_PREFIX(err, "--port: 'x' is not a whole number");
	CHECK_EQ_INT(args(&s, v2, &npos, err, sizeof(err)), -1);
	CHECK_PREFIX(err, "--heartbeat: 'soon' is not a duration");
}

void
t_origin_file_and_flags(void)
{
	char a0[] = "prog", f1[] = "--port", f2[] = "9", f3[] = "--verbose",
	    f4[] = "--insecure-no-tls";
	char *argv[] = { a0, f1, f2, f3, f4, NULL };
	struct mc_origin o;
	struct settings s;
	char err[256], where[64];
	int npos;

	mc_origin_init(&o);
	defaults(&s);
	CHECK_MSG(mc_conf_parse("hub.conf", "# c\nport = 1\n\nname = x\n"
	    "port = 2\n", tab, &s, NULL, NULL, &o, err, sizeof(err)) == 0,
	    "%s", err);
	/* the last line of a key is where it was set */
	CHECK_EQ_STR(mc_origin_name(&o, "port", where, sizeof(where)),
	    "hub.conf:5");
	CHECK_EQ_STR(mc_origin_name(&o, "name", where, sizeof(where)),
	    "hub.conf:4");
	CHECK_EQ_STR(mc_origin_name(&o, "url", where, sizeof(where)), "");
	CHECK(!mc_origin_is_flag(&o, "port"));
	/* a flag after the file wins, and is named as a flag */
	CHECK_MSG(mc_args_apply(5, argv, tab, &s, &npos, &o, err,
	    sizeof(err)) == 0, "%s", err);
	CHECK_EQ_STR(mc_origin_name(&o, "port", where, sizeof(where)),
	    "--port");
	CHECK_EQ_STR(mc_origin_name(&o, "insecure_no_tls", where,
	    sizeof(where)), "--insecure-no-tls");
	CHECK(mc_origin_is_flag(&o, "verbose"));
	CHECK_EQ_STR(mc_origin_name(&o, "name", where, sizeof(where)),
	    "hub.conf:4");
	CHECK_EQ_STR(mc_origin_name(NULL, "name", where, sizeof(where)), "");
}

void
t_conf_size(void)
{
	struct settings s;
	char err[512];

	CHECK_MSG(conf("cap = 64M\n", &s, err, sizeof(err)) == 0, "%s", err);
	CHECK_EQ_INT(s.cap, 64 * 1024 * 1024);
	CHECK_MSG(conf("cap = 1G\n", &s, err, sizeof(err)) == 0, "%s", err);
	CHECK_EQ_INT(s.cap, 1024 * 1024 * 1024);
	CHECK_MSG(conf("cap = 100000\n", &s, err, sizeof(err)) == 0, "%s",
	    err);
	CHECK_EQ_INT(s.cap, 100000);
	CHECK_CONF_ERROR("# x\ncap = lots\n", "hub.conf:2: ", "cap: 'lots' is "
	    "not a size from 64K to 1G");
	CHECK_CONF_ERROR("cap = 1K\n", "hub.conf:1: ", "from 64K to 1G");
	CHECK_CONF_ERROR("cap = 2G\n", "hub.conf:1: ", "cap");
	CHECK_CONF_ERROR("cap = -64M\n", "hub.conf:1: ", "cap");
}
