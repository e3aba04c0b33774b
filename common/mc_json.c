/*
 * mc_json.c - reading JSON: cJSON behind Maestro's limits, into a
 * read-only tree of struct mc_json (the writer is mc_jw.c).
 *
 * Reading is three steps over the length-delimited input (no NUL needed):
 *
 * 1. scan(): one pass over the bytes that keeps the rules cJSON does not.
 *    Outside strings only JSON's four whitespace bytes and printable ASCII
 *    (cJSON would skip any byte up to 0x20, NUL included, and a UTF-8 BOM);
 *    nesting at most MC_JSON_DEPTH_MAX deep (Debian builds cJSON with 1000,
 *    and its parser recurses); no raw control byte inside a string; numbers
 *    exactly as RFC 8259 writes them (cJSON hands "01", "1." or "-.5" to
 *    strtod), at most 63 characters, and within a double's range (strtod's
 *    ERANGE: "1e400" is refused, not read as infinity).  It also notes the
 *    strings that hold a \u0000 escape, because of step 3.
 * 2. cJSON_ParseWithLengthOpts() builds the tree; the whole input must be
 *    used, trailing whitespace aside.  Its nodes and strings come from the
 *    document's arena through cJSON's allocation hooks, so one free
 *    releases them all, as with the reader cJSON replaced (figures below).
 * 3. convert() turns cJSON's nodes into struct mc_json in the same arena,
 *    pointing at cJSON's strings (no copy).  A string's length is its
 *    strlen() unless step 1 saw \u0000 in it: cJSON writes each as a real
 *    NUL and keeps going, so the length steps over exactly that many NULs.
 *
 * What the reader accepts is what it accepted before cJSON: strings are
 * bytes as sent (invalid UTF-8 passes; the writer replaces it on the way
 * out), \u0000 is a real NUL counted in len (callers that want C strings
 * check strlen() against len), duplicate keys are kept and mc_json_get()
 * finds the first.  docs/protocol.md lists these outcomes.
 *
 * Threads: cJSON's allocation hooks are process-wide, so they read the
 * arena from a thread-local pointer (no arena: plain malloc), and every
 * parse holds parse_lock because cJSON writes a global error position on
 * each call.  The hub's alert threads parse replies beside the service
 * thread; the lock costs tens of ns uncontended.
 *
 * Why the arena: bench/jsonbench.c, parse + decode of a 626-byte heartbeat
 * (60 values), median of 3 runs of 200000 on the 2-core build machine:
 * the reader before cJSON 3,090 ns; cJSON with malloc 5,382 ns (a malloc
 * and free per node, key, string and number); cJSON in the arena, as
 * here, 3,355 ns, of which the scan is about a tenth.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mc_json.h"
#include "mc_limits.h"

/* big enough for a heartbeat's cJSON and mc_json nodes in one chunk */
#define ARENA_CHUNK	8192
/*
 * Under AddressSanitizer each allocation gets a chunk of its own, exactly
 * its size, so an overrun (inside cJSON, say: the fuzz targets build it
 * with ASan) is caught at once instead of landing in a neighbour.
 */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ALONE	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ALONE	1
#endif
#endif
#ifndef ARENA_ALONE
#define ARENA_ALONE	0
#endif
/* the longest number token, as before cJSON */
#define NUMBER_MAX	63

struct arena_chunk {
	struct arena_chunk	*next;
	size_t			 used;
	size_t			 size;
	/* storage follows, aligned for any node */
	max_align_t		 data[];
};

/* One allocation holds the document and its first chunk (DOC_HEAD). */
struct mc_jdoc {
	struct arena_chunk	*chunks;	/* owned, but for the last */
	struct mc_json		*root;
};

#define DOC_HEAD	((sizeof(struct mc_jdoc) + _Alignof(max_align_t) - 1) / \
			    _Alignof(max_align_t) * _Alignof(max_align_t))

/* A string holding \u0000 escapes; a list in document order. */
struct nul_str {
	struct nul_str	*next;
	size_t		 ordinal;	/* strings before it, keys included */
	size_t		 nuls;		/* its \u0000 escapes */
};

struct scan {
	const char	*s;
	size_t		 n;
	size_t		 pos;
	size_t		 strings;	/* seen so far, keys included */
	struct mc_jdoc	*doc;
	struct nul_str	*nul, **nul_tail;	/* in the arena */
	char		*err;
	size_t		 errlen;
};

struct convert {
	struct mc_jdoc		*doc;
	const struct nul_str	*nul;	/* the next string holding \u0000 */
	size_t			 strings;
};

static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;
static int hooks_set;				/* under parse_lock */
static _Thread_local struct mc_jdoc *hook_doc;	/* parsing on this thread */

/* A document whose first chunk is part of it: one malloc for a heartbeat.
 * The caller owns it (mc_json_free). */
static struct mc_jdoc *
doc_new(void)
{
	char *p = malloc(DOC_HEAD + sizeof(struct arena_chunk) + ARENA_CHUNK);
	struct mc_jdoc *d = (struct mc_jdoc *)p;

	if (p == NULL)
		return NULL;
	d->chunks = (struct arena_chunk *)(p + DOC_HEAD);
	d->chunks->next = NULL;
	d->chunks->used = 0;
	d->chunks->size = ARENA_CHUNK;
	d->root = NULL;
	return d;
}

static void *
arena_alloc(struct mc_jdoc *d, size_t size)
{
	struct arena_chunk *c = d->chunks;
	size_t al = _Alignof(max_align_t);
	size_t want = ARENA_ALONE ? size : (size + al - 1) / al * al;
	size_t csize;

	if (ARENA_ALONE || c->size - c->used < want) {
		csize = ARENA_ALONE || want > ARENA_CHUNK ? want : ARENA_CHUNK;
		/* owned by d: mc_json_free() */
		c = malloc(sizeof(*c) + csize);
		if (c == NULL)
			return NULL;
		c->size = csize;
		c->used = 0;
		c->next = d->chunks;
		d->chunks = c;
	}
	c->used += want;
	return (char *)c->data + c->used - want;
}

/* cJSON's allocator: the arena of the document this thread parses. */
static void *
hook_alloc(size_t size)
{
	if (hook_doc != NULL)
		return arena_alloc(hook_doc, size);
	return malloc(size);
}

/* Inside a parse the arena owns p, and mc_json_free() releases it. */
static void
hook_free(void *p)
{
	if (hook_doc == NULL)
		free(p);
}

static void
jerr(char *err, size_t errlen, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
jerr(char *err, size_t errlen, size_t pos, const char *fmt, ...)
{
	va_list ap;
	int off;

	if (err == NULL || errlen == 0)
		return;
	off = snprintf(err, errlen, "malformed JSON at byte %zu: ", pos);
	if (off < 0 || (size_t)off >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + off, errlen - (size_t)off, fmt, ap);
	va_end(ap);
}

/* ---- step 1: the rules cJSON does not keep ---- */

static int
note_nul(struct scan *sc, size_t nuls)
{
	struct nul_str *ns = arena_alloc(sc->doc, sizeof(*ns));

	if (ns == NULL) {
		jerr(sc->err, sc->errlen, sc->pos, "out of memory");
		return -1;
	}
	ns->next = NULL;
	ns->ordinal = sc->strings;
	ns->nuls = nuls;
	*sc->nul_tail = ns;
	sc->nul_tail = &ns->next;
	return 0;
}

static int
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/*
 * The \u escape at i (on the backslash).  cJSON reads a bad hex digit as
 * 0 and writes a NUL for it, so the digits are checked here; surrogates
 * and the other escapes are cJSON's to check.
 */
static int
scan_uescape(struct scan *sc, size_t i, size_t *nuls)
{
	const unsigned char *u = (const unsigned char *)sc->s + i + 2;

	if (sc->n - i < 6 || !is_hex(u[0]) || !is_hex(u[1]) ||
	    !is_hex(u[2]) || !is_hex(u[3])) {
		jerr(sc->err, sc->errlen, i, "bad \\u escape");
		return -1;
	}
	if (memcmp(u, "0000", 4) == 0)
		(*nuls)++;
	return 0;
}

/* sc->pos is on the opening quote. */
static int
scan_string(struct scan *sc)
{
	const unsigned char *u = (const unsigned char *)sc->s;
	size_t i, nuls = 0;

	for (i = sc->pos + 1; i < sc->n && u[i] != '"'; i++) {
		if (u[i] < 0x20) {
			jerr(sc->err, sc->errlen, i, "control character in "
			    "string");
			return -1;
		}
		if (u[i] != '\\')
			continue;
		if (i + 1 < sc->n && u[i + 1] == 'u') {
			if (scan_uescape(sc, i, &nuls) == -1)
				return -1;
			i += 5;
			continue;
		}
		/* the escaped byte: never a closing quote, and "\\u0000"
		 * is a backslash and text, not an escape */
		i++;
	}
	if (i >= sc->n) {
		jerr(sc->err, sc->errlen, sc->pos, "unterminated string");
		return -1;
	}
	if (nuls > 0 && note_nul(sc, nuls) == -1)
		return -1;
	sc->strings++;
	sc->pos = i + 1;
	return 0;
}

static int
is_number_byte(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
	    c == 'e' || c == 'E';
}

/* Steps *i over digits; how many there were. */
static size_t
digits(const char *s, size_t n, size_t *i)
{
	size_t start = *i;

	while (*i < n && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
	return *i - start;
}

/*
 * sc->pos is on a '-' or a digit.  cJSON takes every [0-9+-.eE] byte in a
 * row to strtod, which would also read "01", "1.", "-.5" or "1e999"
 * (infinity), so the token must be JSON's grammar,
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, at most NUMBER_MAX
 * characters, and within a double's range (strtod's ERANGE, underflow
 * included, as before cJSON).
 */
static int
scan_number(struct scan *sc)
{
	const char *s = sc->s;
	size_t n = sc->n, start = sc->pos, i = start;
	char tmp[NUMBER_MAX + 1];
	int expo = 0;
	double d;

	if (s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (digits(s, n, &i) == 0)
		goto bad;
	if (i < n && s[i] == '.') {
		i++;
		if (digits(s, n, &i) == 0)
			goto bad;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		expo = 1;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (digits(s, n, &i) == 0)
			goto bad;
	}
	if (i < n && is_number_byte(s[i]))
		goto bad;
	if (i - start > NUMBER_MAX) {
		jerr(sc->err, sc->errlen, start, "number longer than %d "
		    "characters", NUMBER_MAX);
		return -1;
	}
	sc->pos = i;
	/* without an exponent, 63 characters stay well inside a double */
	if (!expo)
		return 0;
	memcpy(tmp, s + start, i - start);
	tmp[i - start] = '\0';
	errno = 0;
	d = strtod(tmp, NULL);
	if (errno == ERANGE || !isfinite(d)) {
		jerr(sc->err, sc->errlen, start, "number out of range");
		return -1;
	}
	return 0;
bad:
	jerr(sc->err, sc->errlen, start, "bad number");
	return -1;
}

/* Any other byte is cJSON's to accept or refuse. */
static int
scan_byte(struct scan *sc, int *depth)
{
	unsigned char c = (unsigned char)sc->s[sc->pos];

	if (c == '[' || c == '{') {
		if (++*depth > MC_JSON_DEPTH_MAX) {
			jerr(sc->err, sc->errlen, sc->pos, "nested deeper than "
			    "%d", MC_JSON_DEPTH_MAX);
			return -1;
		}
	} else if (c == ']' || c == '}') {
		--*depth;
	} else if ((c < 0x20 && c != ' ' && c != '\t' && c != '\n' &&
	    c != '\r') || c >= 0x7f) {
		jerr(sc->err, sc->errlen, sc->pos, "unexpected byte 0x%02x",
		    c);
		return -1;
	}
	sc->pos++;
	return 0;
}

static int
scan(struct scan *sc)
{
	int depth = 0, r;
	char c;

	while (sc->pos < sc->n) {
		c = sc->s[sc->pos];
		if (c == '"')
			r = scan_string(sc);
		else if (c == '-' || (c >= '0' && c <= '9'))
			r = scan_number(sc);
		else
			r = scan_byte(sc, &depth);
		if (r == -1)
			return -1;
	}
	if (depth > 0) {
		jerr(sc->err, sc->errlen, sc->n, "unexpected end of input");
		return -1;
	}
	return 0;
}

/* ---- step 3: cJSON's tree as struct mc_json ---- */

/* A string's length, counting the NULs its \u0000 escapes became. */
static size_t
str_len(struct convert *cv, const char *s)
{
	size_t len = strlen(s), k;

	if (cv->nul != NULL && cv->nul->ordinal == cv->strings) {
		for (k = 0; k < cv->nul->nuls; k++)
			len += 1 + strlen(s + len + 1);
		cv->nul = cv->nul->next;
	}
	cv->strings++;
	return len;
}

static struct mc_json *convert(struct convert *cv, const cJSON *c);

static int
convert_members(struct convert *cv, const cJSON *c, struct mc_json *j)
{
	struct mc_json **tail = &j->child, *m;
	const cJSON *e;

	for (e = c->child; e != NULL; e = e->next) {
		if ((m = convert(cv, e)) == NULL)
			return -1;
		*tail = m;
		tail = &m->next;
		j->len++;
	}
	return 0;
}

/* Depth is bounded by scan(), so the recursion is too. */
static struct mc_json *
convert(struct convert *cv, const cJSON *c)
{
	struct mc_json *j = arena_alloc(cv->doc, sizeof(*j));

	if (j == NULL)
		return NULL;
	memset(j, 0, sizeof(*j));
	if (c->string != NULL) {
		/* keys stay C strings: a \u0000 in one ends it */
		j->key = c->string;
		str_len(cv, c->string);
	}
	switch (c->type & 0xff) {
	case cJSON_False:
	case cJSON_True:
		j->type = MC_JBOOL;
		j->num = (c->type & 0xff) == cJSON_True;
		return j;
	case cJSON_Number:
		j->type = MC_JNUM;
		j->num = c->valuedouble;
		return j;
	case cJSON_String:
		j->type = MC_JSTR;
		j->str = c->valuestring;
		j->len = str_len(cv, c->valuestring);
		return j;
	case cJSON_Array:
	case cJSON_Object:
		j->type = (c->type & 0xff) == cJSON_Array ? MC_JARR : MC_JOBJ;
		return convert_members(cv, c, j) == 0 ? j : NULL;
	default:	/* cJSON_NULL; the parser makes no other kind */
		j->type = MC_JNULL;
		return j;
	}
}

/* ---- the reader ---- */

/* cJSON under parse_lock, allocating from d's arena; NULL on error. */
static cJSON *
cjson_parse(struct mc_jdoc *d, const char *s, size_t n, const char **end)
{
	static cJSON_Hooks hooks = { hook_alloc, hook_free };
	cJSON *root;

	pthread_mutex_lock(&parse_lock);
	if (!hooks_set) {
		cJSON_InitHooks(&hooks);
		hooks_set = 1;
	}
	hook_doc = d;
	root = cJSON_ParseWithLengthOpts(s, n, end, 0);
	hook_doc = NULL;
	pthread_mutex_unlock(&parse_lock);
	return root;
}

/* Where cJSON stopped; it gives no reason. */
static void
cjson_err(const char *s, size_t n, const char *end, char *err, size_t errlen)
{
	size_t pos = end != NULL && s != NULL ? (size_t)(end - s) : 0;
	unsigned char c;

	if (pos >= n) {
		jerr(err, errlen, pos, "unexpected end of input");
		return;
	}
	c = (unsigned char)s[pos];
	if (c >= 0x20 && c < 0x7f)
		jerr(err, errlen, pos, "unexpected '%c'", c);
	else
		jerr(err, errlen, pos, "unexpected byte 0x%02x", c);
}

struct mc_jdoc *
mc_json_parse(const char *s, size_t n, char *err, size_t errlen)
{
	struct mc_jdoc *d;
	struct scan sc;
	struct convert cv;
	const char *end = s;
	const cJSON *root;
	size_t pos;

	if ((d = doc_new()) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memset(&sc, 0, sizeof(sc));
	sc.s = s;
	sc.n = n;
	sc.doc = d;
	sc.nul_tail = &sc.nul;
	sc.err = err;
	sc.errlen = errlen;
	if (scan(&sc) == -1)
		goto fail;
	if ((root = cjson_parse(d, s, n, &end)) == NULL) {
		cjson_err(s, n, end, err, errlen);
		goto fail;
	}
	for (pos = (size_t)(end - s); pos < n; pos++)
		if (s[pos] != ' ' && s[pos] != '\t' && s[pos] != '\n' &&
		    s[pos] != '\r')
			break;
	if (pos != n) {
		jerr(err, errlen, pos, "trailing data");
		goto fail;
	}
	cv.doc = d;
	cv.nul = sc.nul;
	cv.strings = 0;
	if ((d->root = convert(&cv, root)) == NULL) {
		jerr(err, errlen, 0, "out of memory");
		goto fail;
	}
	return d;
fail:
	mc_json_free(d);
	return NULL;
}

void
mc_json_free(struct mc_jdoc *d)
{
	struct arena_chunk *c, *next;

	if (d == NULL)
		return;
	/* chunks are added in front, so the first one, inside d, is last */
	for (c = d->chunks; c->next != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(d);
}

const struct mc_json *
mc_json_root(const struct mc_jdoc *d)
{
	return d->root;
}

const struct mc_json *
mc_json_get(const struct mc_json *obj, const char *key)
{
	const struct mc_json *j;

	if (obj == NULL || obj->type != MC_JOBJ)
		return NULL;
	for (j = obj->child; j != NULL; j = j->next)
		if (strcmp(j->key, key) == 0)
			return j;
	return NULL;
}

const char *
mc_json_str(const struct mc_json *obj, const char *key)
{
	const struct mc_json *j = mc_json_get(obj, key);

	return j && j->type == MC_JSTR ? j->str : NULL;
}

int
mc_json_num(const struct mc_json *obj, const char *key, double *out)
{
	const struct mc_json *j = mc_json_get(obj, key);

	if (j == NULL || j->type != MC_JNUM)
		return -1;
	*out = j->num;
	return 0;
}

/* 2^63 and up (and below -2^63) have no int64_t: the range test is made
 * on the converted value, so a max like INT64_MAX / 2, which rounds up as
 * a double, is exact too. */
int
mc_json_int(const struct mc_json *obj, const char *key, int64_t min,
    int64_t max, int64_t *out)
{
	double d;
	int64_t v;

	if (mc_json_num(obj, key, &d) == -1 || d != floor(d) ||
	    d < -9223372036854775808.0 || d >= 9223372036854775808.0)
		return -1;
	v = (int64_t)d;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
mc_json_bool(const struct mc_json *obj, const char *key, int *out)
{
	const struct mc_json *j = mc_json_get(obj, key);

	if (j == NULL || j->type != MC_JBOOL)
		return -1;
	*out = j->num != 0;
	return 0;
}
