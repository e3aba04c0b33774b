/*
 * mc_config.h - "key = value" files and --flags, described by one table.
 *
 * A program describes its settings once (struct mc_opt[]) and both its
 * config file and its command line are read through that table: the flag
 * --tls-cert sets the key tls_cert.  Errors name file:line (config) or the
 * flag, and the programs exit 2 on them.
 */
#ifndef MC_CONFIG_H
#define MC_CONFIG_H

#include <stddef.h>

enum mc_opt_type {
	MC_OPT_STR,	/* char[size] */
	MC_OPT_INT,	/* int, within [min, max] */
	MC_OPT_DBL,	/* double, within [min, max] */
	MC_OPT_DUR,	/* double seconds from "30s", "5m", within [min, max] */
	MC_OPT_SIZE,	/* int64_t bytes from "64K", "16M", within [min, max] */
	MC_OPT_BOOL,	/* int 0/1; as a flag it takes no value */
	MC_OPT_ENUM,	/* char[size], one of choices */
	MC_OPT_FLAG	/* flag only (no config key), like BOOL */
};

struct mc_opt {
	const char		*key;	/* config key; flag is --key with '-' */
	enum mc_opt_type	 type;
	size_t			 off;	/* offset in the settings struct */
	size_t			 size;	/* MC_OPT_STR/ENUM: buffer size */
	double			 min, max;
	const char *const	*choices;	/* MC_OPT_ENUM: NULL-ended */
};

#define MC_OPT_END	{ NULL, MC_OPT_STR, 0, 0, 0, 0, NULL }

/* Called for a key the table does not know (may be NULL: unknown keys are
 * errors).  Returns 0, or -1 with a reason in err. */
typedef int (*mc_conf_extra_fn)(void *arg, const char *key, const char *val,
    char *err, size_t errlen);

/*
 * Where each setting got its value, for a check that can only run once
 * the file and the flags are both read (a pair given half, two settings
 * that exclude each other, a value that needs a restart): its message
 * must still name file:line or the flag.  A key not noted has its
 * default.  Filled by mc_conf_load(), mc_conf_parse() and
 * mc_args_apply() when they are given one; the last note of a key wins.
 */
#define MC_ORIGIN_KEYS		96
#define MC_ORIGIN_KEY_MAX	40
struct mc_origin {
	const char	*file;	/* the name given to mc_conf_parse(); the
				 * caller keeps that string alive */
	size_t		 n;
	struct {
		char	 key[MC_ORIGIN_KEY_MAX];
		int	 line;	/* > 0: the file's line; 0: a flag */
	} set[MC_ORIGIN_KEYS];
};

/* Forget every note. */
void	mc_origin_init(struct mc_origin *o);
/* key (config spelling) was set by line of the file (line > 0) or by a
 * flag (line 0).  Keys past MC_ORIGIN_KEYS are not noted. */
void	mc_origin_note(struct mc_origin *o, const char *key, int line);
/* Where key was set: "FILE:LINE" or "--flag-name" in buf, or "" when
 * it has its default (o may be NULL).  Returns buf. */
const char *mc_origin_name(const struct mc_origin *o, const char *key,
	    char *buf, size_t size);
/* key as the user gave it, for naming a second setting in a message:
 * "--tls-cert", "tls_cert (FILE:LINE)" or "tls_cert".  Returns buf. */
const char *mc_origin_what(const struct mc_origin *o, const char *key,
	    char *buf, size_t size);
/* 1 if key was set by a flag. */
int	mc_origin_is_flag(const struct mc_origin *o, const char *key);
/*
 * A setting is wrong: err = "FILE:LINE: key: REASON" when the file set
 * it, "--flag: REASON" when a flag did, "key: REASON" for a default
 * (o may be NULL).  Returns -1, for "return mc_origin_fail(...)".
 */
int	mc_origin_fail(const struct mc_origin *o, const char *key, char *err,
	    size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));

/*
 * Read a config file into base.  Returns 0, or -1 with "file:line: reason"
 * (or "file: reason" when it cannot be read) in err.  orig (may be NULL)
 * notes the line of every key read.
 */
int	mc_conf_load(const char *path, const struct mc_opt *tab, void *base,
	    mc_conf_extra_fn extra, void *arg, struct mc_origin *orig,
	    char *err, size_t errlen);
/* Same over text already in memory; name is used in messages. */
int	mc_conf_parse(const char *name, const char *text,
	    const struct mc_opt *tab, void *base, mc_conf_extra_fn extra,
	    void *arg, struct mc_origin *orig, char *err, size_t errlen);
/* Set one key from a string. 0, or -1 with a reason in err. */
int	mc_opt_set(const struct mc_opt *tab, void *base, const char *key,
	    const char *val, char *err, size_t errlen);

/*
 * Apply --flags from argv[1..argc-1] to base.  Arguments that are not
 * flags, and everything after "--", are left in order in argv from index
 * 1 and their count is returned in *npos.  --help, --version and --config
 * are not in the table; the program handles them before.  Returns 0, or -1
 * with "--flag: reason" (or why a word is no flag) in err.  orig (may be
 * NULL) notes every key a flag set.
 */
int	mc_args_apply(int argc, char **argv, const struct mc_opt *tab,
	    void *base, int *npos, struct mc_origin *orig, char *err,
	    size_t errlen);
/* The value of --config FILE / --config=FILE in argv, or NULL. */
const char *mc_args_config(int argc, char **argv);

#endif
