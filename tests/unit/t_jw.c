/*
 * t_jw.c - the mc_jw writer always produces valid JSON: escaping, invalid
 * UTF-8 replaced, structure, limits; checked by reading its output back.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_json.h"
#include "unit.h"

/* Write with w into a fresh buffer, compare with want. */
#define CHECK_WRITES(b, want) do {					\
	CHECK_EQ_MEM((b)->data ? (b)->data : "", (b)->len, (want),	\
	    strlen(want));						\
} while (0)

void
t_json_writer_structure(void)
{
	struct mc_buf b;
	struct mc_jw w;

	mc_buf_init(&b, 4096);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "a");
	mc_jw_i64(&w, NULL, 1);
	mc_jw_i64(&w, NULL, -2);
	mc_jw_obj(&w, NULL);
	mc_jw_null(&w, "b");
	mc_jw_obj_end(&w);
	mc_jw_arr(&w, NULL);
	mc_jw_arr_end(&w);
	mc_jw_arr_end(&w);
	mc_jw_bool(&w, "c", 1);
	mc_jw_bool(&w, "d", 0);
	mc_jw_i64(&w, "e", INT64_MIN);
	mc_jw_u64(&w, "f", UINT64_MAX);
	mc_jw_dbl(&w, "g", 1.5);
	mc_jw_dbl(&w, "h", 0.2);
	mc_jw_str(&w, "i", "x");
	mc_jw_str(&w, "j", NULL);
	mc_jw_strn(&w, "k", "abcdef", 3);
	mc_jw_raw(&w, "l", "{\"r\":[1]}", 9);
	mc_jw_obj(&w, "m");
	mc_jw_obj_end(&w);
	mc_jw_obj_end(&w);
	CHECK_EQ_INT(mc_jw_done(&w), 0);
	CHECK_WRITES(&b, "{\"a\":[1,-2,{\"b\":null},[]],\"c\":true,"
	    "\"d\":false,\"e\":-9223372036854775808,"
	    "\"f\":18446744073709551615,\"g\":1.5,\"h\":0.2,\"i\":\"x\","
	    "\"j\":null,\"k\":\"abc\",\"l\":{\"r\":[1]},\"m\":{}}");
	CHECK(unit_json_accepts(b.data, b.len));
	/* a top-level scalar */
	mc_buf_reset(&b);
	mc_jw_init(&w, &b);
	mc_jw_str(&w, NULL, "only");
	CHECK_EQ_INT(mc_jw_done(&w), 0);
	CHECK_WRITES(&b, "\"only\"");
	mc_buf_free(&b);
}

void
t_json_writer_escaping(void)
{
	static const char in[] = "q\"b\\n\nr\rt\tc\x01\x1f" "d\x7f/e\b\f";
	struct mc_buf b;
	struct mc_jw w;

	mc_buf_init(&b, 4096);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_strn(&w, "k\"\n", in, sizeof(in) - 1);
	mc_jw_strn(&w, "nul", "a\0b", 3);
	mc_jw_obj_end(&w);
	CHECK_EQ_INT(mc_jw_done(&w), 0);
	CHECK_WRITES(&b, "{\"k\\\"\\n\":\"q\\\"b\\\\n\\nr\\rt\\tc\\u0001"
	    "\\u001fd\x7f/e\\u0008\\u000c\",\"nul\":\"a\\u0000b\"}");
	CHECK(unit_json_accepts(b.data, b.len));
	mc_buf_free(&b);
}

static void
write_one(struct mc_buf *b, const char *s, size_t n)
{
	struct mc_jw w;

	mc_buf_reset(b);
	mc_jw_init(&w, b);
	mc_jw_strn(&w, NULL, s, n);
}

#define FFFD	"\xef\xbf\xbd"

void
t_json_writer_invalid_utf8(void)
{
	static const struct {
		const char	*in;
		size_t		 n;
		const char	*out;
	} cases[] = {
		{ "a\xff" "b", 3, "\"a" FFFD "b\"" },
		{ "\xfe", 1, "\"" FFFD "\"" },
		/* overlong encodings */
		{ "\xc0\x80", 2, "\"" FFFD FFFD "\"" },
		{ "\xc1\xbf", 2, "\"" FFFD FFFD "\"" },
		{ "\xe0\x80\xaf", 3, "\"" FFFD FFFD FFFD "\"" },
		{ "\xf0\x80\x80\xaf", 4, "\"" FFFD FFFD FFFD FFFD "\"" },
		/* UTF-16 surrogates encoded in UTF-8 */
		{ "\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\"" },
		/* above U+10FFFF */
		{ "\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\"" },
		/* truncated sequences, at the end and before ASCII */
		{ "x\xe2\x82", 3, "\"x" FFFD FFFD "\"" },
		{ "\xe2\x82z", 3, "\"" FFFD FFFD "z\"" },
		{ "\xf0\x9f\x98", 3, "\"" FFFD FFFD FFFD "\"" },
		/* a lone continuation byte */
		{ "\x80", 1, "\"" FFFD "\"" },
		/* valid sequences pass unchanged */
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 13,
		    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"" },
		{ "\xef\xbf\xbd", 3, "\"" FFFD "\"" },
	};
	struct mc_buf b;
	size_t i;

	mc_buf_init(&b, 4096);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_one(&b, cases[i].in, cases[i].n);
		CHECK_MSG(b.len == strlen(cases[i].out) &&
		    memcmp(b.data, cases[i].out, b.len) == 0,
		    "case %zu: \"%s\" wrote \"%s\"", i,
		    unit_show(cases[i].in, cases[i].n),
		    unit_show(b.data, b.len));
		CHECK(unit_json_accepts(b.data, b.len));
	}
	mc_buf_free(&b);
}

void
t_json_writer_round_trip(void)
{
	unsigned char all[256];
	struct mc_buf b;
	char err[256];
	struct mc_jdoc *d;
	size_t i;

	/* every ASCII byte survives writing then parsing */
	for (i = 0; i < 128; i++)
		all[i] = (unsigned char)i;
	mc_buf_init(&b, 4096);
	write_one(&b, (const char *)all, 128);
	d = mc_json_parse(b.data, b.len, err, sizeof(err));
	CHECK_MSG(d != NULL, "%s", err);
	if (d != NULL) {
		CHECK_EQ_MEM(mc_json_root(d)->str, mc_json_root(d)->len, all,
		    128);
		mc_json_free(d);
	}
	/* every high byte alone becomes one U+FFFD and the result parses */
	for (i = 128; i < 256; i++)
		all[i] = (unsigned char)i;
	write_one(&b, (const char *)all + 128, 128);
	d = mc_json_parse(b.data, b.len, err, sizeof(err));
	CHECK_MSG(d != NULL, "%s", err);
	mc_json_free(d);
	mc_buf_free(&b);
}

void
t_json_writer_limit(void)
{
	struct mc_buf b;
	struct mc_jw w;
	size_t len;

	mc_buf_init(&b, 16);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "k", "0123456789abcdef");
	len = b.len;
	CHECK(b.len <= 16);
	/* sticky: later calls that would fit are no-ops */
	mc_jw_obj_end(&w);
	mc_jw_i64(&w, NULL, 1);
	CHECK_EQ_INT(b.len, len);
	CHECK_EQ_INT(mc_jw_done(&w), -1);
	mc_buf_free(&b);
	/* exactly at the limit is fine */
	mc_buf_init(&b, 11);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "k", "abc");
	mc_jw_obj_end(&w);
	CHECK_EQ_INT(mc_jw_done(&w), 0);
	CHECK_WRITES(&b, "{\"k\":\"abc\"}");
	mc_buf_free(&b);
}

void
t_json_writer_unbalanced(void)
{
	struct mc_buf b;
	struct mc_jw w;

	mc_buf_init(&b, 256);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	CHECK_EQ_INT(mc_jw_done(&w), -1);
	mc_buf_reset(&b);
	mc_jw_init(&w, &b);
	mc_jw_arr(&w, NULL);
	mc_jw_arr_end(&w);
	mc_jw_arr_end(&w);
	CHECK_EQ_INT(mc_jw_done(&w), -1);
	mc_buf_free(&b);
}

void
t_json_writer_depth(void)
{
	struct mc_buf b;
	struct mc_jw w;
	int i;

	mc_buf_init(&b, 4096);
	mc_jw_init(&w, &b);
	for (i = 0; i < MC_JSON_DEPTH_MAX; i++)
		mc_jw_arr(&w, NULL);
	for (i = 0; i < MC_JSON_DEPTH_MAX; i++)
		mc_jw_arr_end(&w);
	CHECK_EQ_INT(mc_jw_done(&w), 0);
	CHECK(unit_json_accepts(b.data, b.len));
	mc_buf_reset(&b);
	mc_jw_init(&w, &b);
	for (i = 0; i < MC_JSON_DEPTH_MAX + 1; i++)
		mc_jw_arr(&w, NULL);
	for (i = 0; i < MC_JSON_DEPTH_MAX + 1; i++)
		mc_jw_arr_end(&w);
	CHECK_EQ_INT(mc_jw_done(&w), -1);
	mc_buf_free(&b);
}

void
t_json_writer_nonfinite(void)
{
	struct mc_buf b;
	struct mc_jw w;
	double zero = 0;

	mc_buf_init(&b, 256);
	mc_jw_init(&w, &b);
	mc_jw_arr(&w, NULL);
	mc_jw_dbl(&w, NULL, 1.0 / zero);
	mc_jw_dbl(&w, NULL, zero / zero);
	mc_jw_dbl(&w, NULL, -2.25);
	mc_jw_dbl(&w, NULL, 1e300);
	mc_jw_arr_end(&w);
	CHECK_EQ_INT(mc_jw_done(&w), 0);
	CHECK_WRITES(&b, "[null,null,-2.25,1e+300]");
	CHECK(unit_json_accepts(b.data, b.len));
	mc_buf_free(&b);
}

void
t_json_writer_fixed(void)
{
	struct mc_buf b;
	struct mc_jw w;

	mc_buf_init(&b, 4096);
	mc_jw_init(&w, &b);
	mc_jw_arr(&w, NULL);
	mc_jw_fixed(&w, NULL, 31.0947264193847, 2);
	mc_jw_fixed(&w, NULL, 12.5, 2);
	mc_jw_fixed(&w, NULL, 3.0, 2);
	mc_jw_fixed(&w, NULL, 100.0, 2);
	mc_jw_fixed(&w, NULL, 0.004, 2);
	mc_jw_fixed(&w, NULL, -0.004, 2);
	mc_jw_fixed(&w, NULL, 0.995, 2);	/* not exactly .995: 0.99 */
	mc_jw_fixed(&w, NULL, 1283377.52391044, 0);
	mc_jw_fixed(&w, NULL, 1e15, 0);
	mc_jw_fixed(&w, NULL, NAN, 2);
	mc_jw_arr_end(&w);
	CHECK_EQ_INT(mc_jw_done(&w), 0);
	CHECK_WRITES(&b, "[31.09,12.5,3,100,0,0,0.99,1283378,"
	    "1000000000000000,null]");
	CHECK(unit_json_accepts(b.data, b.len));
	/* a number too long for any measurement is an error, not a cut */
	mc_buf_reset(&b);
	mc_jw_init(&w, &b);
	mc_jw_fixed(&w, NULL, 1e300, 0);
	CHECK_EQ_INT(mc_jw_done(&w), -1);
	mc_buf_free(&b);
}

/* One number written by mc_jw against printf's %.15g; 0 when they differ. */
static int
dbl_as_printf(double v)
{
	struct mc_buf b;
	struct mc_jw w;
	char want[64];
	int same;

	mc_buf_init(&b, 64);
	mc_jw_init(&w, &b);
	mc_jw_dbl(&w, NULL, v);
	snprintf(want, sizeof(want), "%.15g", v);
	same = mc_jw_done(&w) == 0 && b.len == strlen(want) &&
	    memcmp(b.data, want, b.len) == 0;
	if (!same)
		fprintf(stderr, "  %.17g: mc_jw '%.*s', printf '%s'\n", v,
		    (int)b.len, b.data ? b.data : "", want);
	mc_buf_free(&b);
	return same;
}

/* mc_jw writes doubles without printf where it can (a hub writes every
 * agent's JSON each heartbeat): the text must still be printf's, to the
 * last digit, also where the scaled product rounds to a tie. */
void
t_json_writer_numbers_as_printf(void)
{
	static const double edge[] = { 0.0, 1e-4, 9.9999999999999e-5, 0.1,
	    0.2, 0.5, 1, 9.5, 10, 99.99, 100, 1733500000.123456,
	    1856748438.32339, 2.55886590239029, 999999999999999.9, 1e15,
	    123456789012345.6, 0.000123456789012345678 };
	uint64_t x = 88172645463325252ULL;
	double v, scale;
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		bad += !dbl_as_printf(edge[i]);
		bad += !dbl_as_printf(-edge[i]);
		bad += !dbl_as_printf(nextafter(edge[i], 0));
		bad += !dbl_as_printf(nextafter(edge[i], INFINITY));
	}
	/* timestamps, percentages and rates as agents send them, and any
	 * magnitude from 1e-6 to 1e17 (xorshift: the same every run) */
	for (i = 0; i < 300000 && bad < 5; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = (double)(x >> 11) / 9007199254740992.0;
		scale = pow(10, (double)(x % 24) - 6);
		bad += !dbl_as_printf(i % 3 == 0 ? 1.7e9 + v * 1e8 :
		    i % 3 == 1 ? round(v * 10000) / 100 : v * scale);
	}
	CHECK_EQ_INT(bad, 0);
}
