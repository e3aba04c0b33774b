/*
 * t_json.c - mc_json: the reader accepts exactly JSON (RFC 8259) within
 * Maestro's limits (cJSON alone would take more), and what it made of the
 * edge cases before cJSON it still makes (docs/protocol.md).  The writer's
 * tests are in t_jw.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_json.h"
#include "unit.h"

/* Parse a NUL-terminated text; NULL on error. */
static struct mc_jdoc *
parse(const char *s, char *err, size_t errlen)
{
	return mc_json_parse(s, strlen(s), err, errlen);
}

int
unit_json_accepts(const char *s, size_t n)
{
	char err[256];
	struct mc_jdoc *d = mc_json_parse(s, n, err, sizeof(err));

	mc_json_free(d);
	return d != NULL;
}

#define CHECK_REJECTS(s) CHECK_MSG(!unit_json_accepts((s), strlen(s)),	\
	"accepted malformed JSON \"%s\"", unit_show((s), strlen(s)))
#define CHECK_ACCEPTS(s) CHECK_MSG(unit_json_accepts((s), strlen(s)),	\
	"rejected valid JSON \"%s\"", unit_show((s), strlen(s)))

/* The string value of a one-string document. */
static int
parse_str(const char *json, char *out, size_t outlen, size_t *lenp)
{
	char err[256];
	struct mc_jdoc *d = parse(json, err, sizeof(err));
	const struct mc_json *r;

	if (d == NULL)
		return -1;
	r = mc_json_root(d);
	if (r->type != MC_JSTR || r->len >= outlen) {
		mc_json_free(d);
		return -1;
	}
	memcpy(out, r->str, r->len + 1);
	*lenp = r->len;
	mc_json_free(d);
	return 0;
}

void
t_json_parse_valid_document(void)
{
	static const char doc[] = "{\"s\":\"text\",\"n\":-12.5e1,\"i\":42,"
	    "\"t\":true,\"f\":false,\"z\":null,\"a\":[1,\"two\",[3],{}],"
	    "\"o\":{\"inner\":{\"deep\":\"yes\"}},\"e\":\"\",\"ea\":[]}";
	const struct mc_json *r, *a, *e;
	struct mc_jdoc *d;
	char err[256] = "";
	double num;
	int64_t i;
	int b;

	d = parse(doc, err, sizeof(err));
	CHECK_MSG(d != NULL, "parse failed: %s", err);
	REQUIRE(d != NULL);
	r = mc_json_root(d);
	CHECK_EQ_INT(r->type, MC_JOBJ);
	CHECK_EQ_INT(r->len, 10);
	CHECK_EQ_STR(mc_json_str(r, "s"), "text");
	CHECK_EQ_INT(mc_json_num(r, "n", &num), 0);
	CHECK_EQ_DBL(num, -125.0);
	CHECK_EQ_INT(mc_json_int(r, "i", 0, 100, &i), 0);
	CHECK_EQ_INT(i, 42);
	CHECK_EQ_INT(mc_json_bool(r, "t", &b), 0);
	CHECK_EQ_INT(b, 1);
	CHECK_EQ_INT(mc_json_bool(r, "f", &b), 0);
	CHECK_EQ_INT(b, 0);
	REQUIRE(mc_json_get(r, "z") != NULL);
	CHECK_EQ_INT(mc_json_get(r, "z")->type, MC_JNULL);
	a = mc_json_get(r, "a");
	REQUIRE(a != NULL);
	CHECK_EQ_INT(a->type, MC_JARR);
	CHECK_EQ_INT(a->len, 4);
	e = a->child;
	REQUIRE(e != NULL);
	CHECK(e->key == NULL);
	CHECK_EQ_INT(e->type, MC_JNUM);
	CHECK_EQ_DBL(e->num, 1);
	e = e->next;
	REQUIRE(e != NULL);
	CHECK_EQ_STR(e->str, "two");
	CHECK_EQ_INT(e->len, 3);
	e = e->next;
	REQUIRE(e != NULL);
	CHECK_EQ_INT(e->type, MC_JARR);
	CHECK_EQ_INT(e->len, 1);
	e = e->next;
	REQUIRE(e != NULL);
	CHECK_EQ_INT(e->type, MC_JOBJ);
	CHECK_EQ_INT(e->len, 0);
	CHECK(e->next == NULL);
	CHECK_EQ_STR(mc_json_str(mc_json_get(mc_json_get(r, "o"), "inner"),
	    "deep"), "yes");
	CHECK_EQ_STR(mc_json_str(r, "e"), "");
	CHECK_EQ_INT(mc_json_get(r, "ea")->len, 0);
	CHECK(mc_json_get(r, "missing") == NULL);
	mc_json_free(d);
}

void
t_json_parse_scalars_and_whitespace(void)
{
	char err[256];
	struct mc_jdoc *d;

	d = parse(" \t\r\n 17 \n", err, sizeof(err));
	REQUIRE(d != NULL);
	CHECK_EQ_INT(mc_json_root(d)->type, MC_JNUM);
	CHECK_EQ_DBL(mc_json_root(d)->num, 17);
	mc_json_free(d);
	d = parse("\"x\"", err, sizeof(err));
	REQUIRE(d != NULL);
	CHECK_EQ_STR(mc_json_root(d)->str, "x");
	mc_json_free(d);
	d = parse("null", err, sizeof(err));
	REQUIRE(d != NULL);
	CHECK_EQ_INT(mc_json_root(d)->type, MC_JNULL);
	mc_json_free(d);
	CHECK_ACCEPTS("true");
	CHECK_ACCEPTS("false");
	CHECK_ACCEPTS(" [ 1 , 2 , { \"a\" : [ ] } ] ");
	CHECK_ACCEPTS("{\"a\":1,\"a\":2}");
	/* a big document spills over several arena chunks */
	{
		struct mc_buf b;
		int k;

		mc_buf_init(&b, 1 << 20);
		mc_buf_puts(&b, "[");
		for (k = 0; k < 5000; k++)
			mc_buf_printf(&b, "%s{\"key%d\":\"value %d\"}",
			    k ? "," : "", k, k);
		mc_buf_puts(&b, "]");
		d = mc_json_parse(b.data, b.len, err, sizeof(err));
		CHECK_MSG(d != NULL, "big document: %s", err);
		if (d != NULL) {
			CHECK_EQ_INT(mc_json_root(d)->len, 5000);
			mc_json_free(d);
		}
		mc_buf_free(&b);
	}
	mc_json_free(NULL);
}

void
t_json_parse_length_delimited(void)
{
	/* the parser must stop at n, not at a NUL */
	static const char text[] = "[1,2]garbage";
	char err[256];
	struct mc_jdoc *d;
	char *heap;

	d = mc_json_parse(text, 5, err, sizeof(err));
	REQUIRE(d != NULL);
	CHECK_EQ_INT(mc_json_root(d)->len, 2);
	mc_json_free(d);
	CHECK(!unit_json_accepts(text, 4));
	CHECK(!unit_json_accepts(text, 0));
	/* an exact-size heap copy without NUL: ASan catches overreads */
	heap = malloc(7);
	REQUIRE(heap != NULL);
	memcpy(heap, "\"abcde\"", 7);
	CHECK(unit_json_accepts(heap, 7));
	CHECK(!unit_json_accepts(heap, 6));
	memcpy(heap, "\"\\u00e", 6);
	CHECK(!unit_json_accepts(heap, 6));
	memcpy(heap, "123456", 6);
	CHECK(unit_json_accepts(heap, 6));
	memcpy(heap, "[true]", 6);
	CHECK(!unit_json_accepts(heap, 4));
	free(heap);
	/* a NUL byte inside a document is not JSON */
	CHECK(!unit_json_accepts("[1]\0", 4));
	CHECK(!unit_json_accepts("\"a\0b\"", 5));
}

void
t_json_simple_escapes(void)
{
	char out[64];
	size_t len;

	REQUIRE(parse_str("\"q\\\"b\\\\s\\/b\\bf\\fn\\nr\\rt\\t\"", out,
	    sizeof(out), &len) == 0);
	CHECK_EQ_MEM(out, len, "q\"b\\s/b\bf\fn\nr\rt\t", 16);
	REQUIRE(parse_str("\"\\u0041\\u0000z\"", out, sizeof(out),
	    &len) == 0);
	/* \u0000 gives a real NUL, counted in len */
	CHECK_EQ_MEM(out, len, "A\0z", 3);
}

void
t_json_unicode_escapes(void)
{
	char out[64];
	size_t len;

	/* 1, 2 and 3 byte UTF-8, upper and lower case hex */
	REQUIRE(parse_str("\"\\u007a\\u00e9\\u00E9\\u20ac\\uFFFD\"", out,
	    sizeof(out), &len) == 0);
	CHECK_EQ_MEM(out, len, "z\xc3\xa9\xc3\xa9\xe2\x82\xac\xef\xbf\xbd",
	    11);
	REQUIRE(parse_str("\"\\u07ff\\u0800\"", out, sizeof(out), &len) == 0);
	CHECK_EQ_MEM(out, len, "\xdf\xbf\xe0\xa0\x80", 5);
}

void
t_json_surrogate_pairs(void)
{
	char out[64];
	size_t len;

	/* U+1F600 and U+10000 and U+10FFFF */
	REQUIRE(parse_str("\"a\\ud83d\\ude00b\"", out, sizeof(out),
	    &len) == 0);
	CHECK_EQ_MEM(out, len, "a\xf0\x9f\x98\x80" "b", 6);
	REQUIRE(parse_str("\"\\uD800\\uDC00\\udbff\\udfff\"", out,
	    sizeof(out), &len) == 0);
	CHECK_EQ_MEM(out, len, "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8);
}

void
t_json_raw_utf8_passes(void)
{
	char out[64];
	size_t len;

	REQUIRE(parse_str("\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"",
	    out, sizeof(out), &len) == 0);
	CHECK_EQ_MEM(out, len, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80",
	    15);
}

void
t_json_reject_trailing_data(void)
{
	CHECK_REJECTS("{} x");
	CHECK_REJECTS("{}{}");
	CHECK_REJECTS("1 2");
	CHECK_REJECTS("[1]]");
	CHECK_REJECTS("\"a\"\"b\"");
	CHECK_REJECTS("null,");
	CHECK_REJECTS("truex");
	CHECK_REJECTS("{\"a\":1}}");
}

void
t_json_reject_bad_numbers(void)
{
	CHECK_REJECTS("01");
	CHECK_REJECTS("-01");
	CHECK_REJECTS("00");
	CHECK_REJECTS("+1");
	CHECK_REJECTS("1e999");
	CHECK_REJECTS("-1e999");
	CHECK_REJECTS("-");
	CHECK_REJECTS(".5");
	CHECK_REJECTS("-.5");
	CHECK_REJECTS("1e");
	CHECK_REJECTS("1e+");
	CHECK_REJECTS("1.5.2");
	CHECK_REJECTS("0x10");
	CHECK_REJECTS("NaN");
	CHECK_REJECTS("Infinity");
	CHECK_REJECTS("-Infinity");
	CHECK_REJECTS("--1");
	CHECK_REJECTS("1-");
	CHECK_REJECTS("[01]");
	CHECK_REJECTS("{\"a\":+1}");
	CHECK_REJECTS("[1e999]");
}

/* RFC 8259: frac = decimal-point 1*DIGIT, so a '.' needs a digit after. */
void
t_json_reject_number_without_fraction_digits(void)
{
	CHECK_REJECTS("1.");
	CHECK_REJECTS("-1.");
	CHECK_REJECTS("1.e5");
	CHECK_REJECTS("[2.]");
}

/* A NUL byte right after a number is not part of the number. */
void
t_json_reject_nul_after_number(void)
{
	CHECK_MSG(!unit_json_accepts("1\0", 2), "accepted \"1\\0\" (2 bytes)");
	CHECK_MSG(!unit_json_accepts("[1\0]", 4), "accepted \"[1\\0]\" (4 bytes)");
	CHECK_MSG(!unit_json_accepts("{\"a\":7\0}", 8),
	    "accepted \"{\\\"a\\\":7\\0}\" (8 bytes)");
}

void
t_json_accept_good_numbers(void)
{
	static const struct {
		const char	*text;
		double		 val;
	} ok[] = {
		{ "0", 0 }, { "-0", 0 }, { "7", 7 }, { "-7", -7 },
		{ "0.5", 0.5 }, { "-0.25", -0.25 }, { "1e3", 1000 },
		{ "1E3", 1000 }, { "1e+3", 1000 }, { "25e-2", 0.25 },
		{ "1.5e2", 150 }, { "0e0", 0 }, { "123456789", 123456789 },
		{ "9007199254740992", 9007199254740992.0 },
	};
	char err[256];
	struct mc_jdoc *d;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		d = parse(ok[i].text, err, sizeof(err));
		CHECK_MSG(d != NULL, "rejected number %s: %s", ok[i].text, err);
		if (d == NULL)
			continue;
		CHECK_MSG(mc_json_root(d)->num == ok[i].val,
		    "%s parsed as %.17g", ok[i].text, mc_json_root(d)->num);
		mc_json_free(d);
	}
}

void
t_json_reject_unterminated_strings(void)
{
	CHECK_REJECTS("\"abc");
	CHECK_REJECTS("\"abc\\\"");
	CHECK_REJECTS("\"\\");
	CHECK_REJECTS("\"");
	CHECK_REJECTS("{\"a\":\"x}");
	CHECK_REJECTS("{\"a");
	CHECK_REJECTS("[\"a\\\\\\\"]");
}

void
t_json_reject_control_chars(void)
{
	CHECK_REJECTS("\"a\nb\"");
	CHECK_REJECTS("\"a\tb\"");
	CHECK_REJECTS("\"\x01\"");
	CHECK_REJECTS("\"\x1f\"");
	CHECK_REJECTS("{\"k\x02\":1}");
	CHECK_REJECTS("\"\\\x01\"");
	/* DEL is allowed unescaped */
	CHECK_ACCEPTS("\"\x7f\"");
}

void
t_json_reject_bad_escapes(void)
{
	CHECK_REJECTS("\"\\x41\"");
	CHECK_REJECTS("\"\\a\"");
	CHECK_REJECTS("\"\\'\"");
	CHECK_REJECTS("\"\\u12\"");
	CHECK_REJECTS("\"\\u12g4\"");
	CHECK_REJECTS("\"\\u\"");
	CHECK_REJECTS("\"\\U0041\"");
}

void
t_json_reject_lone_surrogates(void)
{
	CHECK_REJECTS("\"\\ud800\"");
	CHECK_REJECTS("\"\\udbff\"");
	CHECK_REJECTS("\"\\udc00\"");
	CHECK_REJECTS("\"\\udfff\"");
	CHECK_REJECTS("\"\\ud800x\"");
	CHECK_REJECTS("\"\\ud800\\u0041\"");
	CHECK_REJECTS("\"\\ud800\\ud800\"");
	CHECK_REJECTS("\"\\udc00\\ud800\"");
	CHECK_REJECTS("\"\\ud800\\n\"");
	CHECK_REJECTS("\"\\ud800\\\"");
	CHECK_REJECTS("\"\\ud83d\\ude0\"");
}

void
t_json_reject_malformed_structure(void)
{
	static const char *const bad[] = {
		"", " ", "{", "}", "[", "]", "[1,]", "[,1]", "[1 2]",
		"{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{,}", "{\"a\":1,}",
		"{a:1}", "{'a':1}", "{1:2}", "tru", "nul", "fals", "True",
		"[1,,2]", "{\"a\":1 \"b\":2}", ":", ",", "[}", "{]",
		"\"a\":1", "/* c */ 1", "[1]//",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_REJECTS(bad[i]);
}

static void
nest(struct mc_buf *b, int depth, const char *open, const char *close,
    const char *inner)
{
	int i;

	mc_buf_reset(b);
	for (i = 0; i < depth; i++)
		mc_buf_puts(b, open);
	mc_buf_puts(b, inner);
	for (i = 0; i < depth; i++)
		mc_buf_puts(b, close);
}

void
t_json_depth_limit(void)
{
	struct mc_buf b;
	char err[256] = "";
	struct mc_jdoc *d;

	mc_buf_init(&b, 1 << 18);
	nest(&b, MC_JSON_DEPTH_MAX, "[", "]", "1");
	CHECK_MSG(unit_json_accepts(b.data, b.len), "rejected %d levels",
	    MC_JSON_DEPTH_MAX);
	nest(&b, MC_JSON_DEPTH_MAX + 1, "[", "]", "1");
	d = mc_json_parse(b.data, b.len, err, sizeof(err));
	CHECK_MSG(d == NULL, "accepted %d levels", MC_JSON_DEPTH_MAX + 1);
	CHECK_CONTAINS(err, "nested");
	mc_json_free(d);
	nest(&b, MC_JSON_DEPTH_MAX, "{\"a\":", "}", "null");
	CHECK(unit_json_accepts(b.data, b.len));
	nest(&b, MC_JSON_DEPTH_MAX + 1, "{\"a\":", "}", "null");
	CHECK(!unit_json_accepts(b.data, b.len));
	/* far deeper than the limit: must fail cleanly, not blow the stack */
	nest(&b, 20000, "[", "]", "");
	CHECK(!unit_json_accepts(b.data, b.len));
	/* unbalanced deep opening only */
	nest(&b, 20000, "{\"k\":[", "", "");
	CHECK(!unit_json_accepts(b.data, b.len));
	/* depth is nesting, not count: many siblings at depth 2 are fine */
	mc_buf_reset(&b);
	mc_buf_puts(&b, "[");
	{
		int i;

		for (i = 0; i < 100; i++)
			mc_buf_puts(&b, i ? ",[1]" : "[1]");
	}
	mc_buf_puts(&b, "]");
	CHECK(unit_json_accepts(b.data, b.len));
	mc_buf_free(&b);
}

void
t_json_error_names_offset(void)
{
	char err[256] = "";
	struct mc_jdoc *d;

	d = parse("{\"a\":1,}", err, sizeof(err));
	CHECK(d == NULL);
	CHECK_CONTAINS(err, "byte 7");
	d = parse("[1,2] x", err, sizeof(err));
	CHECK(d == NULL);
	CHECK_CONTAINS(err, "trailing");
	/* tiny and absent error buffers are safe */
	d = mc_json_parse("[", 1, err, 4);
	CHECK(d == NULL);
	CHECK(strlen(err) < 4);
	d = mc_json_parse("[", 1, NULL, 0);
	CHECK(d == NULL);
}

void
t_json_lookup_helpers(void)
{
	char err[256];
	struct mc_jdoc *d;
	const struct mc_json *r;
	double num;
	int b;

	d = parse("{\"s\":\"x\",\"n\":1,\"b\":true,\"z\":null}", err,
	    sizeof(err));
	REQUIRE(d != NULL);
	r = mc_json_root(d);
	/* wrong types are misses */
	CHECK(mc_json_str(r, "n") == NULL);
	CHECK(mc_json_str(r, "z") == NULL);
	CHECK_EQ_INT(mc_json_num(r, "s", &num), -1);
	CHECK_EQ_INT(mc_json_num(r, "b", &num), -1);
	CHECK_EQ_INT(mc_json_bool(r, "n", &b), -1);
	CHECK_EQ_INT(mc_json_bool(r, "missing", &b), -1);
	/* lookups on non-objects and NULL */
	CHECK(mc_json_get(mc_json_get(r, "s"), "x") == NULL);
	CHECK(mc_json_get(NULL, "x") == NULL);
	CHECK(mc_json_str(NULL, "x") == NULL);
	mc_json_free(d);
}

void
t_json_int_ranges(void)
{
	char err[256];
	struct mc_jdoc *d;
	const struct mc_json *r;
	int64_t v = 0;

	d = parse("{\"a\":5,\"b\":-3,\"c\":2.5,\"d\":1e2,\"e\":\"5\","
	    "\"f\":4503599627370496}", err, sizeof(err));
	REQUIRE(d != NULL);
	r = mc_json_root(d);
	CHECK_EQ_INT(mc_json_int(r, "a", 5, 5, &v), 0);
	CHECK_EQ_INT(v, 5);
	CHECK_EQ_INT(mc_json_int(r, "a", 0, 4, &v), -1);
	CHECK_EQ_INT(mc_json_int(r, "a", 6, 10, &v), -1);
	CHECK_EQ_INT(mc_json_int(r, "b", -3, 0, &v), 0);
	CHECK_EQ_INT(v, -3);
	CHECK_EQ_INT(mc_json_int(r, "b", 0, 10, &v), -1);
	CHECK_EQ_INT(mc_json_int(r, "c", 0, 10, &v), -1);
	CHECK_EQ_INT(mc_json_int(r, "d", 0, 1000, &v), 0);
	CHECK_EQ_INT(v, 100);
	CHECK_EQ_INT(mc_json_int(r, "e", 0, 10, &v), -1);
	CHECK_EQ_INT(mc_json_int(r, "missing", 0, 10, &v), -1);
	CHECK_EQ_INT(mc_json_int(r, "f", 0, INT64_MAX / 2, &v), 0);
	CHECK_EQ_INT(v, 4503599627370496LL);
	mc_json_free(d);
}

/* ---- edge cases: the outcomes docs/protocol.md promises ---- */

/* Bytes that are not UTF-8 pass as they are, in values and keys; the
 * writer replaces them on the way out (t_jw.c). */
void
t_json_invalid_utf8_kept(void)
{
	char err[256], out[64];
	struct mc_jdoc *d;
	size_t len;

	REQUIRE(parse_str("\"a\xff" "b\xc0\x80" "c\xed\xa0\x80" "d\xe2\x82\"",
	    out, sizeof(out), &len) == 0);
	CHECK_EQ_MEM(out, len, "a\xff" "b\xc0\x80" "c\xed\xa0\x80" "d\xe2\x82",
	    12);
	d = parse("{\"k\xfe\":\"\x80\"}", err, sizeof(err));
	REQUIRE(d != NULL);
	CHECK_EQ_STR(mc_json_str(mc_json_root(d), "k\xfe"), "\x80");
	mc_json_free(d);
}

/*
 * \u0000 is a real NUL counted in len, however many there are and
 * wherever they stand; "\\u0000" is a backslash and text.  A key is a C
 * string, so one ends at its NUL.
 */
void
t_json_nul_escapes(void)
{
	static const char doc[] = "[\"\\u0000a\\u0000\\u0000b\\u0000\",\"x\","
	    "{\"k\\u0000z\":\"\\u0000\"},\"\\\\u0000\",\"\\\\\\u0000\","
	    "\"\\u0000\\u00e9\\ud83d\\ude00\\u0000\"]";
	const struct mc_json *e, *v;
	char err[256] = "";
	struct mc_jdoc *d;

	d = parse(doc, err, sizeof(err));
	CHECK_MSG(d != NULL, "%s", err);
	REQUIRE(d != NULL);
	e = mc_json_root(d)->child;
	REQUIRE(e != NULL);
	CHECK_EQ_MEM(e->str, e->len, "\0a\0\0b\0", 6);
	e = e->next;
	REQUIRE(e != NULL);
	CHECK_EQ_MEM(e->str, e->len, "x", 1);
	e = e->next;
	REQUIRE(e != NULL);
	v = mc_json_get(e, "k");
	REQUIRE(v != NULL);
	CHECK_EQ_MEM(v->str, v->len, "\0", 1);
	e = e->next;
	REQUIRE(e != NULL);
	CHECK_EQ_MEM(e->str, e->len, "\\u0000", 6);
	e = e->next;
	REQUIRE(e != NULL);
	CHECK_EQ_MEM(e->str, e->len, "\\\0", 2);
	e = e->next;
	REQUIRE(e != NULL);
	CHECK_EQ_MEM(e->str, e->len, "\0\xc3\xa9\xf0\x9f\x98\x80\0", 8);
	mc_json_free(d);
}

/* Both members are kept; lookups find the first. */
void
t_json_duplicate_keys(void)
{
	char err[256];
	struct mc_jdoc *d;
	const struct mc_json *r;
	double num = 0;

	d = parse("{\"a\":1,\"b\":true,\"a\":\"two\"}", err, sizeof(err));
	REQUIRE(d != NULL);
	r = mc_json_root(d);
	CHECK_EQ_INT(r->len, 3);
	CHECK_EQ_INT(mc_json_num(r, "a", &num), 0);
	CHECK_EQ_DBL(num, 1);
	CHECK(mc_json_str(r, "a") == NULL);
	mc_json_free(d);
}

/* Past a double's range a number is refused (strtod's ERANGE, underflow
 * too); a whole number past int64_t is a number but no integer. */
void
t_json_huge_numbers(void)
{
	static const char n63[] = "1.00000000000000000000000000000000000000"
	    "00000000000000000000001";
	char err[256] = "", n64[sizeof(n63) + 1];
	struct mc_jdoc *d;
	const struct mc_json *r;
	int64_t v = 0;
	double num = 0;

	d = parse("1e400", err, sizeof(err));
	CHECK(d == NULL);
	CHECK_CONTAINS(err, "out of range");
	CHECK_REJECTS("-1e400");
	CHECK_REJECTS("{\"a\":[1E+400]}");
	CHECK_REJECTS("1e-400");
	CHECK_ACCEPTS("1e308");
	CHECK_ACCEPTS("-2.5e-300");
	/* 63 characters at most, as before */
	CHECK_EQ_INT(strlen(n63), 63);
	CHECK_ACCEPTS(n63);
	snprintf(n64, sizeof(n64), "%s1", n63);
	d = parse(n64, err, sizeof(err));
	CHECK(d == NULL);
	CHECK_CONTAINS(err, "longer than 63");
	d = parse("{\"a\":1e20,\"b\":9223372036854775807,"
	    "\"c\":-9223372036854775808,\"d\":4611686018427387904}", err,
	    sizeof(err));
	REQUIRE(d != NULL);
	r = mc_json_root(d);
	CHECK_EQ_INT(mc_json_num(r, "a", &num), 0);
	CHECK_EQ_DBL(num, 1e20);
	CHECK_EQ_INT(mc_json_int(r, "a", INT64_MIN, INT64_MAX, &v), -1);
	/* as a double it is 2^63, one past INT64_MAX */
	CHECK_EQ_INT(mc_json_int(r, "b", INT64_MIN, INT64_MAX, &v), -1);
	CHECK_EQ_INT(mc_json_int(r, "c", INT64_MIN, INT64_MAX, &v), 0);
	CHECK(v == INT64_MIN);
	/* INT64_MAX / 2 rounds up to 2^62 as a double; the test is exact */
	CHECK_EQ_INT(mc_json_int(r, "d", 0, INT64_MAX / 2, &v), -1);
	CHECK_EQ_INT(mc_json_int(r, "d", 0, INT64_MAX / 2 + 1, &v), 0);
	mc_json_free(d);
}

/* What cJSON would take on its own and the reader refuses. */
void
t_json_reject_what_cjson_takes(void)
{
	/* a UTF-8 byte order mark, and bytes other than JSON's whitespace
	 * between tokens (cJSON skips every byte up to 0x20) */
	CHECK_REJECTS("\xef\xbb\xbf{}");
	CHECK_REJECTS("[1,\x01 2]");
	CHECK_REJECTS("\x0b" "1");
	CHECK_REJECTS("[1]\x7f");
	CHECK(!unit_json_accepts("[1,\0 2]", 7));
	/* cJSON reads a bad hex digit as 0, i.e. a NUL */
	CHECK_REJECTS("\"\\u00zz\"");
	CHECK_REJECTS("\"\\u000\"");
	/* numbers strtod reads and JSON does not write */
	CHECK_REJECTS("[-0.]");
	CHECK_REJECTS("{\"a\":007}");
	/* nesting past ours, far below cJSON's 1000 */
	{
		struct mc_buf b;

		mc_buf_init(&b, 4096);
		nest(&b, MC_JSON_DEPTH_MAX + 1, "[", "]", "");
		CHECK(!unit_json_accepts(b.data, b.len));
		mc_buf_free(&b);
	}
}

/* Each refusal says what and where. */
void
t_json_error_reasons(void)
{
	static const struct {
		const char	*text;
		const char	*want;
	} cases[] = {
		{ "{\"a\":1,}", "byte 7: unexpected '}'" },
		{ "{\"a\":", "byte 5: unexpected end of input" },
		{ "", "unexpected end of input" },
		{ "[1,\"a\nb\"]", "byte 5: control character in string" },
		{ "[\"abc", "byte 1: unterminated string" },
		{ "[\"\\u12x4\"]", "byte 2: bad \\u escape" },
		{ "[1,01]", "byte 3: bad number" },
		{ "[1] [", "unexpected end of input" },
		{ "[1] 2", "byte 4: trailing data" },
		{ "\t\x01", "byte 1: unexpected byte 0x01" },
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		CHECK(parse(cases[i].text, err, sizeof(err)) == NULL);
		CHECK_MSG(strstr(err, cases[i].want) != NULL,
		    "\"%s\": \"%s\", want \"%s\"", unit_show(cases[i].text,
		    strlen(cases[i].text)), err, cases[i].want);
	}
}
