/*
 * mc_config.c - config files and flags through one settings table.
 *
 * Config lines are "key = value"; '#' starts a comment only at the start
 * of a line (values such as URLs may contain '#').  Values may be wrapped
 * in double quotes to keep leading or trailing spaces.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_config.h"
#include "mc_limits.h"
#include "mc_util.h"

static const struct mc_opt *
opt_find(const struct mc_opt *tab, const char *key)
{
	for (; tab->key != NULL; tab++)
		if (strcmp(tab->key, key) == 0)
			return tab;
	return NULL;
}

static int
opt_enum(const struct mc_opt *o, char *field, const char *val, char *why,
    size_t whylen)
{
	char list[256] = "";
	size_t i, off = 0;

	for (i = 0; o->choices[i] != NULL; i++) {
		if (strcmp(o->choices[i], val) == 0)
			return mc_strlcpy(field, val, o->size);
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    i ? ", " : "", o->choices[i]);
		if (off >= sizeof(list))
			off = sizeof(list) - 1;
	}
	snprintf(why, whylen, "'%s' is not one of %s", val, list);
	return -1;
}

/* A size limit as it would be typed: "64K", "1G", or bytes. */
static void
size_text(double v, char *out, size_t outlen)
{
	static const char units[] = "TGMK";
	double mult = 1024.0 * 1024 * 1024 * 1024;
	size_t u;

	for (u = 0; units[u] != '\0'; u++, mult /= 1024)
		if (v >= mult && v / mult == (double)(int64_t)(v / mult)) {
			snprintf(out, outlen, "%.0f%c", v / mult, units[u]);
			return;
		}
	snprintf(out, outlen, "%.0f", v);
}

/* Set o's field in base from val: 0, or -1 with why (which does not name
 * the setting: a file line and a flag name it differently). */
static int
opt_value(const struct mc_opt *o, void *base, const char *val, char *why,
    size_t whylen)
{
	char *field = (char *)base + o->off, lo[32], hi[32];
	int64_t i;
	double d;
	int b;

	switch (o->type) {
	case MC_OPT_STR:
		if (mc_strlcpy(field, val, o->size) == -1) {
			snprintf(why, whylen, "value longer than %zu bytes",
			    o->size - 1);
			return -1;
		}
		return 0;
	case MC_OPT_ENUM:
		return opt_enum(o, field, val, why, whylen);
	case MC_OPT_INT:
		if (mc_parse_i64(val, (int64_t)o->min, (int64_t)o->max,
		    &i) == -1) {
			snprintf(why, whylen, "'%s' is not a whole number from "
			    "%.0f to %.0f", val, o->min, o->max);
			return -1;
		}
		*(int *)(void *)field = (int)i;
		return 0;
	case MC_OPT_DBL:
		if (mc_parse_dbl(val, o->min, o->max, &d) == -1) {
			snprintf(why, whylen, "'%s' is not a number from %g to "
			    "%g", val, o->min, o->max);
			return -1;
		}
		*(double *)(void *)field = d;
		return 0;
	case MC_OPT_DUR:
		if (mc_parse_duration(val, &d) == -1 || d < o->min ||
		    d > o->max) {
			snprintf(why, whylen, "'%s' is not a duration from %gs "
			    "to %gs (e.g. 30s, 5m, 2h)", val, o->min, o->max);
			return -1;
		}
		*(double *)(void *)field = d;
		return 0;
	case MC_OPT_SIZE:
		if (mc_parse_size(val, &i) == -1 || (double)i < o->min ||
		    (double)i > o->max) {
			size_text(o->min, lo, sizeof(lo));
			size_text(o->max, hi, sizeof(hi));
			snprintf(why, whylen, "'%s' is not a size from %s to %s "
			    "(bytes, or with K, M, G: 64K, 16M)", val, lo, hi);
			return -1;
		}
		*(int64_t *)(void *)field = i;
		return 0;
	case MC_OPT_BOOL:
	case MC_OPT_FLAG:
		if (mc_parse_bool(val, &b) == -1) {
			snprintf(why, whylen, "'%s' is not true or false", val);
			return -1;
		}
		*(int *)(void *)field = b;
		return 0;
	}
	return -1;
}

int
mc_opt_set(const struct mc_opt *tab, void *base, const char *key,
    const char *val, char *err, size_t errlen)
{
	const struct mc_opt *o = opt_find(tab, key);
	char why[400];

	if (o == NULL) {
		snprintf(err, errlen, "unknown setting '%s'", key);
		return -1;
	}
	if (opt_value(o, base, val, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	return 0;
}

/* ---- where settings came from ---- */

void
mc_origin_init(struct mc_origin *o)
{
	o->file = NULL;
	o->n = 0;
}

static int
origin_find(const struct mc_origin *o, const char *key)
{
	size_t i;

	for (i = 0; o != NULL && i < o->n; i++)
		if (strcmp(o->set[i].key, key) == 0)
			return (int)i;
	return -1;
}

void
mc_origin_note(struct mc_origin *o, const char *key, int line)
{
	int i = origin_find(o, key);

	if (i == -1 && (o->n == MC_ORIGIN_KEYS ||
	    strlen(key) >= MC_ORIGIN_KEY_MAX))
		return;
	if (i == -1) {
		i = (int)o->n++;
		mc_strlcpy(o->set[i].key, key, MC_ORIGIN_KEY_MAX);
	}
	o->set[i].line = line;
}

const char *
mc_origin_name(const struct mc_origin *o, const char *key, char *buf,
    size_t size)
{
	int i = origin_find(o, key);
	size_t j;

	buf[0] = '\0';
	if (i == -1)
		return buf;
	if (o->set[i].line > 0) {
		snprintf(buf, size, "%s:%d", o->file ? o->file : "config",
		    o->set[i].line);
		return buf;
	}
	snprintf(buf, size, "--%s", key);
	for (j = 2; buf[j] != '\0'; j++)
		if (buf[j] == '_')
			buf[j] = '-';
	return buf;
}

const char *
mc_origin_what(const struct mc_origin *o, const char *key, char *buf,
    size_t size)
{
	char where[MC_PATH_MAX + 64];

	mc_origin_name(o, key, where, sizeof(where));
	if (mc_origin_is_flag(o, key))
		mc_strlcpy(buf, where, size);
	else if (where[0] != '\0')
		snprintf(buf, size, "%s (%s)", key, where);
	else
		mc_strlcpy(buf, key, size);
	return buf;
}

int
mc_origin_is_flag(const struct mc_origin *o, const char *key)
{
	int i = origin_find(o, key);

	return i != -1 && o->set[i].line == 0;
}

int
mc_origin_fail(const struct mc_origin *o, const char *key, char *err,
    size_t errlen, const char *fmt, ...)
{
	char where[MC_PATH_MAX + 64], why[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	mc_origin_name(o, key, where, sizeof(where));
	if (mc_origin_is_flag(o, key))
		snprintf(err, errlen, "%s: %s", where, why);
	else if (where[0] != '\0')
		snprintf(err, errlen, "%s: %s: %s", where, key, why);
	else
		snprintf(err, errlen, "%s: %s", key, why);
	return -1;
}

/* Split one line into key and value; 1 if it holds a setting, 0 if blank
 * or comment, -1 if malformed. */
static int
split_line(char *line, char **keyp, char **valp, char *err, size_t errlen)
{
	char *s = mc_trim(line), *eq, *key, *val;
	size_t vl;

	if (*s == '\0' || *s == '#')
		return 0;
	if ((eq = strchr(s, '=')) == NULL) {
		snprintf(err, errlen, "expected 'key = value'");
		return -1;
	}
	*eq = '\0';
	key = mc_trim(s);
	val = mc_trim(eq + 1);
	if (*key == '\0') {
		snprintf(err, errlen, "missing key before '='");
		return -1;
	}
	vl = strlen(val);
	if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
		val[vl - 1] = '\0';
		val++;
	}
	*keyp = key;
	*valp = val;
	return 1;
}

int
mc_conf_parse(const char *name, const char *text, const struct mc_opt *tab,
    void *base, mc_conf_extra_fn extra, void *arg, struct mc_origin *orig,
    char *err, size_t errlen)
{
	char line[MC_CONF_LINE_MAX], why[512], *key, *val;
	const char *p = text, *nl;
	size_t n;
	int lineno = 0, r;

	if (orig != NULL)
		orig->file = name;
	while (*p != '\0') {
		lineno++;
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (n >= sizeof(line)) {
			snprintf(err, errlen, "%s:%d: line longer than %d bytes",
			    name, lineno, MC_CONF_LINE_MAX - 1);
			return -1;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl != NULL);
		r = split_line(line, &key, &val, why, sizeof(why));
		if (r == 1 && orig != NULL)
			mc_origin_note(orig, key, lineno);
		if (r == 1) {
			if (opt_find(tab, key) != NULL &&
			    opt_find(tab, key)->type != MC_OPT_FLAG)
				r = mc_opt_set(tab, base, key, val, why,
				    sizeof(why)) == 0 ? 0 : -1;
			else if (extra != NULL)
				r = extra(arg, key, val, why, sizeof(why));
			else {
				snprintf(why, sizeof(why),
				    "unknown setting '%s'", key);
				r = -1;
			}
		}
		if (r == -1) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
			return -1;
		}
	}
	return 0;
}

int
mc_conf_load(const char *path, const struct mc_opt *tab, void *base,
    mc_conf_extra_fn extra, void *arg, struct mc_origin *orig, char *err,
    size_t errlen)
{
	char *text;
	size_t len;
	int r;

	if ((text = mc_read_file(path, MC_CONF_FILE_MAX, &len)) == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		return -1;
	}
	if (strlen(text) != len) {
		snprintf(err, errlen, "%s: contains a NUL byte; not a text "
		    "file", path);
		free(text);
		return -1;
	}
	r = mc_conf_parse(path, text, tab, base, extra, arg, orig, err,
	    errlen);
	free(text);
	return r;
}

const char *
mc_args_config(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], "--config=", 9) == 0)
			return argv[i] + 9;
	}
	return NULL;
}

/* "--tls-cert" -> "tls_cert"; -1 if it does not fit. */
static int
flag_key(const char *arg, char *key, size_t size)
{
	size_t n = strcspn(arg + 2, "="), i;

	if (n == 0 || n >= size)
		return -1;
	for (i = 0; i < n; i++)
		key[i] = arg[2 + i] == '-' ? '_' : arg[2 + i];
	key[n] = '\0';
	return 0;
}

int
mc_args_apply(int argc, char **argv, const struct mc_opt *tab, void *base,
    int *npos, struct mc_origin *orig, char *err, size_t errlen)
{
	const struct mc_opt *o;
	const char *val, *eq, *flag;
	char key[64], why[400];
	int i, pos = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (++i < argc)
				argv[pos++] = argv[i];
			break;
		}
		if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
			argv[pos++] = argv[i];
			continue;
		}
		eq = strchr(argv[i], '=');
		if (strncmp(argv[i], "--config", 8) == 0 &&
		    (argv[i][8] == '\0' || argv[i][8] == '=')) {
			i += eq ? 0 : 1;
			continue;
		}
		if (flag_key(argv[i], key, sizeof(key)) == -1 ||
		    (o = opt_find(tab, key)) == NULL) {
			snprintf(err, errlen, "unknown option '%s' (see --help)",
			    argv[i]);
			return -1;
		}
		flag = argv[i];
		if (o->type == MC_OPT_BOOL || o->type == MC_OPT_FLAG)
			val = eq ? eq + 1 : "true";
		else if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			snprintf(err, errlen, "option '%s' needs a value",
			    argv[i]);
			return -1;
		}
		if (opt_value(o, base, val, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%.*s: %s", (int)(eq ?
			    (size_t)(eq - flag) : strlen(flag)), flag, why);
			return -1;
		}
		if (orig != NULL)
			mc_origin_note(orig, key, 0);
	}
	*npos = pos - 1;
	return 0;
}
