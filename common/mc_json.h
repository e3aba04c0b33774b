/*
 * mc_json.h - reading JSON with cJSON behind Maestro's limits, and an
 * escaping JSON writer.
 *
 * The reader (mc_json.c) hands the length-delimited input to cJSON and
 * keeps the rules cJSON does not: RFC 8259 exactly (no BOM, no stray
 * bytes between tokens, JSON's number grammar), nesting at most
 * MC_JSON_DEPTH_MAX, numbers within a double's range.  The result is a
 * read-only tree of struct mc_json held in one arena (one free releases
 * it).  Strings are bytes as sent: invalid UTF-8 passes, \u0000 is a real
 * NUL counted in len (compare strlen(str) with len to refuse it), and of
 * duplicate keys mc_json_get() finds the first.  The writer (mc_jw.c)
 * appends to an mc_buf, escapes everything JSON requires and replaces
 * invalid UTF-8 so that command output can never produce a document a
 * browser rejects.  docs/architecture.md says why cJSON reads and our own
 * code writes.
 */
#ifndef MC_JSON_H
#define MC_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_limits.h"

enum mc_jtype { MC_JNULL, MC_JBOOL, MC_JNUM, MC_JSTR, MC_JARR, MC_JOBJ };

struct mc_json {
	enum mc_jtype	 type;
	const char	*key;	/* member name inside an object, else NULL */
	struct mc_json	*next;	/* next element or member */
	struct mc_json	*child;	/* first element or member */
	const char	*str;	/* MC_JSTR: unescaped, NUL-terminated */
	size_t		 len;	/* MC_JSTR: bytes; MC_JARR/MC_JOBJ: entries */
	double		 num;	/* MC_JNUM; MC_JBOOL: 0 or 1 */
};

struct mc_jdoc;

/*
 * Parse n bytes.  Returns the document (caller frees with mc_json_free) or
 * NULL with a one-line reason, naming the byte offset, in err.  Any thread
 * may call it (cJSON's own state is kept under a lock).
 */
struct mc_jdoc		*mc_json_parse(const char *s, size_t n, char *err,
			    size_t errlen);
void			 mc_json_free(struct mc_jdoc *d);
const struct mc_json	*mc_json_root(const struct mc_jdoc *d);

/* Lookups return NULL / -1 when the member is missing or of another type. */
const struct mc_json	*mc_json_get(const struct mc_json *obj, const char *key);
const char		*mc_json_str(const struct mc_json *obj, const char *key);
int			 mc_json_num(const struct mc_json *obj, const char *key,
			    double *out);
/* Integral numbers only, within [min, max] (compared as int64_t: exact). */
int			 mc_json_int(const struct mc_json *obj, const char *key,
			    int64_t min, int64_t max, int64_t *out);
int			 mc_json_bool(const struct mc_json *obj, const char *key,
			    int *out);

/*
 * Writer.  Errors are sticky: after the buffer limit is hit every call is
 * a no-op and mc_jw_done() returns -1.  key is NULL inside arrays and for
 * the top-level value.
 */
struct mc_jw {
	struct mc_buf	*b;
	int		 depth;
	int		 err;
	unsigned char	 more[MC_JSON_DEPTH_MAX + 1];
};

void	mc_jw_init(struct mc_jw *w, struct mc_buf *b);
void	mc_jw_obj(struct mc_jw *w, const char *key);
void	mc_jw_obj_end(struct mc_jw *w);
void	mc_jw_arr(struct mc_jw *w, const char *key);
void	mc_jw_arr_end(struct mc_jw *w);
void	mc_jw_str(struct mc_jw *w, const char *key, const char *s);
void	mc_jw_strn(struct mc_jw *w, const char *key, const char *s, size_t n);
void	mc_jw_i64(struct mc_jw *w, const char *key, int64_t v);
void	mc_jw_u64(struct mc_jw *w, const char *key, uint64_t v);
void	mc_jw_dbl(struct mc_jw *w, const char *key, double v);
/* v with at most decimals digits after the point, trailing zeros left
 * out: a measurement written no finer than it means anything, which keeps
 * it short to send and cheap to read back (strtod slows with each digit). */
void	mc_jw_fixed(struct mc_jw *w, const char *key, double v, int decimals);
void	mc_jw_bool(struct mc_jw *w, const char *key, int v);
void	mc_jw_null(struct mc_jw *w, const char *key);
/* Insert an already valid JSON value verbatim. */
void	mc_jw_raw(struct mc_jw *w, const char *key, const char *json, size_t n);
/* 0 if everything was written, -1 otherwise. */
int	mc_jw_done(const struct mc_jw *w);

#endif
