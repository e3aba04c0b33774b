/*
 * mc_jw.c - the JSON writer: appends to an mc_buf as it goes.
 *
 * It escapes what JSON requires, writes any bytes given with a length (a
 * NUL becomes \u0000) and replaces invalid UTF-8 with U+FFFD, so command
 * output can never produce a document a browser refuses.  Errors are
 * sticky (mc_json.h).
 *
 * Why not cJSON's printer, now that cJSON reads: it prints a tree, so
 * every value is first a malloc'd node, and its strings are C strings
 * (no NUL inside) copied out as they are (invalid UTF-8 included).  And it
 * is slower: bench/jsonbench.c, writing a 626-byte heartbeat, median of 3
 * runs of 200000: mc_jw (mc_hb_encode) 3,789 ns; the same document as a
 * cJSON tree printed with cJSON_PrintPreallocated() 10,515 ns.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mc_json.h"
#include "mc_limits.h"


void
mc_jw_init(struct mc_jw *w, struct mc_buf *b)
{
	w->b = b;
	w->depth = 0;
	w->err = 0;
	w->more[0] = 0;
}

static void
jw_put(struct mc_jw *w, const char *s, size_t n)
{
	if (!w->err && mc_buf_append(w->b, s, n) == -1)
		w->err = 1;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t l, i;
	unsigned cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	l = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (l > n)
		return 0;
	cp = s[0] & (0x3f >> (l - 1));
	for (i = 1; i < l; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 ||
	    cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return l;
}

static void
jw_string(struct mc_jw *w, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0, l;
	char esc[8];

	jw_put(w, "\"", 1);
	while (i < n) {
		unsigned char c = u[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			run++;
			continue;
		}
		jw_put(w, s + i - run, run);
		run = 0;
		if (c >= 0x80) {
			l = utf8_len(u + i, n - i);
			if (l == 0) {
				jw_put(w, "\xef\xbf\xbd", 3);	/* U+FFFD */
				i++;
			} else {
				jw_put(w, s + i, l);
				i += l;
			}
			continue;
		}
		switch (c) {
		case '"': jw_put(w, "\\\"", 2); break;
		case '\\': jw_put(w, "\\\\", 2); break;
		case '\n': jw_put(w, "\\n", 2); break;
		case '\r': jw_put(w, "\\r", 2); break;
		case '\t': jw_put(w, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			jw_put(w, esc, 6);
		}
		i++;
	}
	jw_put(w, s + i - run, run);
	jw_put(w, "\"", 1);
}

static void
jw_key(struct mc_jw *w, const char *key)
{
	if (w->more[w->depth])
		jw_put(w, ",", 1);
	w->more[w->depth] = 1;
	if (key != NULL) {
		jw_string(w, key, strlen(key));
		jw_put(w, ":", 1);
	}
}

static void
jw_open(struct mc_jw *w, const char *key, const char *brace)
{
	jw_key(w, key);
	if (w->depth >= MC_JSON_DEPTH_MAX) {
		w->err = 1;
		return;
	}
	jw_put(w, brace, 1);
	w->more[++w->depth] = 0;
}

static void
jw_close(struct mc_jw *w, const char *brace)
{
	if (w->depth == 0) {
		w->err = 1;
		return;
	}
	w->depth--;
	jw_put(w, brace, 1);
}

void
mc_jw_obj(struct mc_jw *w, const char *key)
{
	jw_open(w, key, "{");
}

void
mc_jw_obj_end(struct mc_jw *w)
{
	jw_close(w, "}");
}

void
mc_jw_arr(struct mc_jw *w, const char *key)
{
	jw_open(w, key, "[");
}

void
mc_jw_arr_end(struct mc_jw *w)
{
	jw_close(w, "]");
}

void
mc_jw_strn(struct mc_jw *w, const char *key, const char *s, size_t n)
{
	jw_key(w, key);
	jw_string(w, s, n);
}

void
mc_jw_str(struct mc_jw *w, const char *key, const char *s)
{
	if (s == NULL) {
		mc_jw_null(w, key);
		return;
	}
	mc_jw_strn(w, key, s, strlen(s));
}

/*
 * Numbers.  printf's %g works in multiple precision and was a third of
 * what a hub spends writing an agent's JSON (each agent, every heartbeat,
 * for the live feed and the cluster's bus).  Integers are written by hand;
 * a double in the range where %.15g prints no exponent is scaled to 15
 * digits in one exact-power multiplication and rounded (a product that
 * rounded onto a tie is settled by fma()), so the text is printf's to the
 * last digit; everything else goes to printf.
 */

/* v's decimal digits, written backwards from end; returns the start. */
static char *
u64_digits(uint64_t v, char *end)
{
	do
		*--end = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return end;
}

static void
jw_u64_raw(struct mc_jw *w, const char *key, uint64_t v, int neg)
{
	char tmp[24], *p = u64_digits(v, tmp + sizeof(tmp));

	if (neg)
		*--p = '-';
	jw_key(w, key);
	jw_put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
mc_jw_i64(struct mc_jw *w, const char *key, int64_t v)
{
	/* the magnitude of INT64_MIN fits in a uint64_t, not an int64_t */
	jw_u64_raw(w, key, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0);
}

void
mc_jw_u64(struct mc_jw *w, const char *key, uint64_t v)
{
	jw_u64_raw(w, key, v, 0);
}

/* p = a * s rounded lies half-way between m and a neighbour: how far
 * the exact product's correct rounding is from m (-1, 0 or 1).  fma()
 * gives what the multiplication rounded away; an exact tie stays at m,
 * the even one, as printf rounds. */
static double
round_tie(double a, double s, double m)
{
	double p = a * s, lost = fma(a, s, -p);

	if (lost == 0)
		return 0;
	if (p > m)
		return lost > 0 ? 1 : 0;
	return lost < 0 ? -1 : 0;
}

/* %.15g of v into out (at least 32 bytes) when 1e-4 <= |v| < 1e15;
 * its length, or 0 for printf to do. */
static size_t
dbl_fast(double v, char *out)
{
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6,
	    1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
	    1e18 };
	double a = fabs(v), m;
	char digits[16], *o = out;
	int e, i, n;

	if (a == 0) {
		if (signbit(v))
			*o++ = '-';
		*o++ = '0';
		return (size_t)(o - out);
	}
	if (!(a >= 1e-4 && a < 1e15))
		return 0;
	/* e = floor(log10(a)), then 15 significant digits m */
	for (e = -4; e < 14 && a >= (e + 1 >= 0 ? p10[e + 1] :
	    1.0 / p10[-(e + 1)]); e++)
		;
	m = nearbyint(a * p10[14 - e]);
	/* a tie in the rounded product is decided by what rounding lost */
	if (fabs(a * p10[14 - e] - m) == 0.5)
		m += round_tie(a, p10[14 - e], m);
	if (m >= 1e15 || m < 1e14)
		return 0;	/* rounded up to a new digit: rare */
	u64_digits((uint64_t)m, digits + 15);
	for (n = 15; n > 1 && digits[n - 1] == '0'; n--)
		;		/* %g drops trailing zeros */
	if (v < 0)
		*o++ = '-';
	if (e < 0) {
		*o++ = '0';
		*o++ = '.';
		for (i = e; i < -1; i++)
			*o++ = '0';
		memcpy(o, digits, (size_t)n);
		return (size_t)(o + n - out);
	}
	for (i = 0; i <= e; i++)
		*o++ = digits[i];
	if (n > e + 1) {
		*o++ = '.';
		memcpy(o, digits + e + 1, (size_t)(n - e - 1));
		o += n - e - 1;
	}
	return (size_t)(o - out);
}

void
mc_jw_dbl(struct mc_jw *w, const char *key, double v)
{
	char tmp[64];
	size_t n;
	int r;

	if (!isfinite(v)) {
		mc_jw_null(w, key);
		return;
	}
	jw_key(w, key);
	if ((n = dbl_fast(v, tmp)) == 0) {
		r = snprintf(tmp, sizeof(tmp), "%.15g", v);
		if (r < 0 || (size_t)r >= sizeof(tmp)) {
			w->err = 1;
			return;
		}
		n = (size_t)r;
	}
	jw_put(w, tmp, n);
}

void
mc_jw_fixed(struct mc_jw *w, const char *key, double v, int decimals)
{
	char tmp[64];
	int n;

	if (!isfinite(v)) {
		mc_jw_null(w, key);
		return;
	}
	n = snprintf(tmp, sizeof(tmp), "%.*f", decimals, v);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		w->err = 1;
		return;
	}
	/* 12.50 -> 12.5, 3.00 -> 3, -0.00 -> 0 */
	if (decimals > 0) {
		while (tmp[n - 1] == '0')
			n--;
		if (tmp[n - 1] == '.')
			n--;
	}
	if (n == 2 && tmp[0] == '-' && tmp[1] == '0') {
		tmp[0] = '0';
		n = 1;
	}
	jw_key(w, key);
	jw_put(w, tmp, (size_t)n);
}

void
mc_jw_bool(struct mc_jw *w, const char *key, int v)
{
	jw_key(w, key);
	jw_put(w, v ? "true" : "false", v ? 4 : 5);
}

void
mc_jw_null(struct mc_jw *w, const char *key)
{
	jw_key(w, key);
	jw_put(w, "null", 4);
}

void
mc_jw_raw(struct mc_jw *w, const char *key, const char *json, size_t n)
{
	jw_key(w, key);
	jw_put(w, json, n);
}

int
mc_jw_done(const struct mc_jw *w)
{
	return w->err || w->depth != 0 ? -1 : 0;
}
