/*
 * mc_json.c - bounded JSON reader (the writer is mc_jw.c).
 *
 * The reader is a recursive-descent parser over a length-delimited input
 * (no NUL needed), with nesting limited by MC_JSON_DEPTH_MAX so hostile
 * input cannot exhaust the stack.  Nodes and unescaped strings live in
 * arena chunks owned by the document.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_json.h"
#include "mc_limits.h"

#define ARENA_CHUNK	8192

struct arena_chunk {
	struct arena_chunk	*next;
	size_t			 used;
	size_t			 size;
	/* storage follows, aligned for any node */
	max_align_t		 data[];
};

struct mc_jdoc {
	struct arena_chunk	*chunks;	/* owned */
	struct mc_json		*root;
};

struct parser {
	const char	*s;
	size_t		 n;
	size_t		 pos;
	int		 depth;
	struct mc_jdoc	*doc;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static void *
arena_alloc(struct mc_jdoc *d, size_t size)
{
	struct arena_chunk *c = d->chunks;
	size_t al = _Alignof(max_align_t);
	size_t want = (size + al - 1) / al * al;
	size_t csize;

	if (c == NULL || c->size - c->used < want) {
		csize = want > ARENA_CHUNK ? want : ARENA_CHUNK;
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

static void
perr(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int off;

	if (p->failed)
		return;
	p->failed = 1;
	if (p->err == NULL || p->errlen == 0)
		return;
	off = snprintf(p->err, p->errlen, "malformed JSON at byte %zu: ",
	    p->pos);
	if (off < 0 || (size_t)off >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + off, p->errlen - (size_t)off, fmt, ap);
	va_end(ap);
}

static void
skip_ws(struct parser *p)
{
	while (p->pos < p->n) {
		char c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static struct mc_json *
new_node(struct parser *p, enum mc_jtype t)
{
	struct mc_json *j = arena_alloc(p->doc, sizeof(*j));

	if (j == NULL) {
		perr(p, "out of memory");
		return NULL;
	}
	memset(j, 0, sizeof(*j));
	j->type = t;
	return j;
}

static int
hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t
put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decode a \u escape (and its low surrogate) starting after "\u". */
static int
parse_uescape(struct parser *p, unsigned *cp)
{
	unsigned hi, lo;

	if (p->n - p->pos < 4 || hex4(p->s + p->pos, &hi) == -1) {
		perr(p, "bad \\u escape");
		return -1;
	}
	p->pos += 4;
	if (hi >= 0xdc00 && hi <= 0xdfff) {
		perr(p, "lone low surrogate");
		return -1;
	}
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (p->n - p->pos < 6 || p->s[p->pos] != '\\' ||
		    p->s[p->pos + 1] != 'u' ||
		    hex4(p->s + p->pos + 2, &lo) == -1 ||
		    lo < 0xdc00 || lo > 0xdfff) {
			perr(p, "unpaired surrogate");
			return -1;
		}
		p->pos += 6;
		hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	}
	*cp = hi;
	return 0;
}

/* p->pos is just after the opening quote. */
static const char *
parse_string(struct parser *p, size_t *lenp)
{
	size_t start = p->pos, end = p->pos, olen = 0;
	char *out;
	unsigned cp;

	/* find the end first so the arena allocation is exact enough */
	while (end < p->n && p->s[end] != '"') {
		if (p->s[end] == '\\')
			end++;
		end++;
	}
	if (end >= p->n) {
		perr(p, "unterminated string");
		return NULL;
	}
	out = arena_alloc(p->doc, end - start + 1);
	if (out == NULL) {
		perr(p, "out of memory");
		return NULL;
	}
	while (p->pos < end) {
		unsigned char c = (unsigned char)p->s[p->pos];

		if (c < 0x20) {
			perr(p, "control character in string");
			return NULL;
		}
		if (c != '\\') {
			out[olen++] = (char)c;
			p->pos++;
			continue;
		}
		p->pos++;
		c = (unsigned char)p->s[p->pos++];
		switch (c) {
		case '"': out[olen++] = '"'; break;
		case '\\': out[olen++] = '\\'; break;
		case '/': out[olen++] = '/'; break;
		case 'b': out[olen++] = '\b'; break;
		case 'f': out[olen++] = '\f'; break;
		case 'n': out[olen++] = '\n'; break;
		case 'r': out[olen++] = '\r'; break;
		case 't': out[olen++] = '\t'; break;
		case 'u':
			if (parse_uescape(p, &cp) == -1)
				return NULL;
			/* an escape of 6 or 12 bytes never yields more than 4 */
			olen += put_utf8(out + olen, cp);
			break;
		default:
			p->pos--;
			perr(p, "bad escape");
			return NULL;
		}
	}
	p->pos = end + 1;
	out[olen] = '\0';
	*lenp = olen;
	return out;
}

static struct mc_json *parse_value(struct parser *p);

static int
parse_members(struct parser *p, struct mc_json *parent, int is_obj)
{
	struct mc_json **tail = &parent->child, *v;
	char close = is_obj ? '}' : ']';
	const char *key = NULL;
	size_t klen;

	skip_ws(p);
	if (p->pos < p->n && p->s[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		skip_ws(p);
		if (is_obj) {
			if (p->pos >= p->n || p->s[p->pos] != '"') {
				perr(p, "expected a member name");
				return -1;
			}
			p->pos++;
			if ((key = parse_string(p, &klen)) == NULL)
				return -1;
			skip_ws(p);
			if (p->pos >= p->n || p->s[p->pos] != ':') {
				perr(p, "expected ':'");
				return -1;
			}
			p->pos++;
		}
		if ((v = parse_value(p)) == NULL)
			return -1;
		v->key = key;
		*tail = v;
		tail = &v->next;
		parent->len++;
		skip_ws(p);
		if (p->pos < p->n && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->n && p->s[p->pos] == close) {
			p->pos++;
			return 0;
		}
		perr(p, "expected ',' or '%c'", close);
		return -1;
	}
}

/* JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? — strtod
 * alone would also take "1.", ".5", "1e" and hex. */
static int
number_shape_ok(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (*s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

static struct mc_json *
parse_number(struct parser *p)
{
	char tmp[64], *end;
	size_t i = 0, start = p->pos;
	struct mc_json *j;
	double d;

	/* strchr() would match the terminator: NUL is never part of one */
	while (p->pos < p->n && i < sizeof(tmp) - 1 && p->s[p->pos] != '\0' &&
	    strchr("+-0123456789.eE", p->s[p->pos]) != NULL)
		tmp[i++] = p->s[p->pos++];
	tmp[i] = '\0';
	if (!number_shape_ok(tmp)) {
		p->pos = start;
		perr(p, "bad number");
		return NULL;
	}
	errno = 0;
	d = strtod(tmp, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(d)) {
		p->pos = start;
		perr(p, "bad number");
		return NULL;
	}
	if ((j = new_node(p, MC_JNUM)) == NULL)
		return NULL;
	j->num = d;
	return j;
}

static struct mc_json *
parse_literal(struct parser *p, const char *word, enum mc_jtype t, double v)
{
	size_t l = strlen(word);
	struct mc_json *j;

	if (p->n - p->pos < l || memcmp(p->s + p->pos, word, l) != 0) {
		perr(p, "unexpected character");
		return NULL;
	}
	p->pos += l;
	if ((j = new_node(p, t)) == NULL)
		return NULL;
	j->num = v;
	return j;
}

static struct mc_json *
parse_container(struct parser *p, enum mc_jtype t)
{
	struct mc_json *j;

	if (++p->depth > MC_JSON_DEPTH_MAX) {
		perr(p, "nested deeper than %d", MC_JSON_DEPTH_MAX);
		return NULL;
	}
	p->pos++;
	if ((j = new_node(p, t)) == NULL ||
	    parse_members(p, j, t == MC_JOBJ) == -1)
		return NULL;
	p->depth--;
	return j;
}

static struct mc_json *
parse_value(struct parser *p)
{
	struct mc_json *j;
	char c;

	skip_ws(p);
	if (p->pos >= p->n) {
		perr(p, "unexpected end of input");
		return NULL;
	}
	c = p->s[p->pos];
	switch (c) {
	case '{':
		return parse_container(p, MC_JOBJ);
	case '[':
		return parse_container(p, MC_JARR);
	case '"':
		p->pos++;
		if ((j = new_node(p, MC_JSTR)) == NULL)
			return NULL;
		j->str = parse_string(p, &j->len);
		return j->str ? j : NULL;
	case 't':
		return parse_literal(p, "true", MC_JBOOL, 1);
	case 'f':
		return parse_literal(p, "false", MC_JBOOL, 0);
	case 'n':
		return parse_literal(p, "null", MC_JNULL, 0);
	default:
		return parse_number(p);
	}
}

struct mc_jdoc *
mc_json_parse(const char *s, size_t n, char *err, size_t errlen)
{
	struct parser p;
	struct mc_jdoc *d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.s = s;
	p.n = n;
	p.doc = d;
	p.err = err;
	p.errlen = errlen;
	d->root = parse_value(&p);
	if (d->root != NULL) {
		skip_ws(&p);
		if (p.pos != p.n)
			perr(&p, "trailing data");
	}
	if (p.failed || d->root == NULL) {
		mc_json_free(d);
		return NULL;
	}
	return d;
}

void
mc_json_free(struct mc_jdoc *d)
{
	struct arena_chunk *c, *next;

	if (d == NULL)
		return;
	for (c = d->chunks; c != NULL; c = next) {
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

int
mc_json_int(const struct mc_json *obj, const char *key, int64_t min,
    int64_t max, int64_t *out)
{
	double d;

	if (mc_json_num(obj, key, &d) == -1 || d != floor(d) ||
	    d < (double)min || d > (double)max)
		return -1;
	*out = (int64_t)d;
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
