/*
 * t_cast.c - asciicast v2 lines (mc_cast.h): UTF-8 held back across
 * pieces, invalid bytes as U+FFFD, JSON escaping, times, the header.
 */
#include <stdio.h>
#include <string.h>

#include "mc_cast.h"
#include "mc_json.h"
#include "unit.h"

#define FFFD	"\xef\xbf\xbd"

static size_t
tail(const char *s)
{
	return mc_cast_utf8_tail(s, strlen(s));
}

void
t_cast_utf8_tail(void)
{
	CHECK_EQ_INT(mc_cast_utf8_tail("", 0), 0);
	CHECK_EQ_INT(tail("abc"), 0);
	CHECK_EQ_INT(tail("a\xc3"), 1);
	CHECK_EQ_INT(tail("\xc3\xa9"), 0);
	CHECK_EQ_INT(tail("\xe2"), 1);
	CHECK_EQ_INT(tail("x\xe2\x82"), 2);
	CHECK_EQ_INT(tail("\xe2\x82\xac"), 0);
	CHECK_EQ_INT(tail("\xf0"), 1);
	CHECK_EQ_INT(tail("\xf0\x9f"), 2);
	CHECK_EQ_INT(tail("\xf0\x9f\x98"), 3);
	CHECK_EQ_INT(tail("\xf0\x9f\x98\x80"), 0);
	/* never a character: nothing to wait for */
	CHECK_EQ_INT(tail("\xc0"), 0);
	CHECK_EQ_INT(tail("\xc1"), 0);
	CHECK_EQ_INT(tail("\xf5"), 0);
	CHECK_EQ_INT(tail("\xff"), 0);
	CHECK_EQ_INT(tail("\x80"), 0);
	CHECK_EQ_INT(tail("\x80\x80\x80"), 0);
	CHECK_EQ_INT(tail("\xe0\x80"), 0);	/* overlong */
	CHECK_EQ_INT(tail("\xed\xa0"), 0);	/* a UTF-16 surrogate */
	CHECK_EQ_INT(tail("\xf0\x80"), 0);	/* overlong */
	CHECK_EQ_INT(tail("\xf4\x90"), 0);	/* past U+10FFFF */
	CHECK_EQ_INT(tail("\xe0\xa0"), 2);
	CHECK_EQ_INT(tail("\xf4\x8f\xbf"), 3);
}

/* Feed the pieces of one stream; the text of each call, joined by '|'. */
static void
feed(const char *const *pieces, size_t n, char *out, size_t outlen)
{
	struct mc_cast_text s;
	struct mc_buf text;
	size_t i, off = 0;

	memset(&s, 0, sizeof(s));
	mc_buf_init(&text, 1024);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		mc_buf_reset(&text);
		if (mc_cast_text_add(&s, pieces[i], strlen(pieces[i]),
		    &text) == -1)
			unit_fail(__FILE__, __LINE__, "piece %zu refused", i);
		off += (size_t)snprintf(out + off, outlen - off, "%s%s",
		    i ? "|" : "", text.data ? text.data : "");
	}
	mc_buf_reset(&text);
	mc_cast_text_flush(&s, &text);
	snprintf(out + off, outlen - off, "|%s", text.data ? text.data : "");
	CHECK_EQ_INT(s.nheld, 0);
	mc_buf_free(&text);
}

void
t_cast_text_split(void)
{
	static const char *const e_acute[] = { "caf\xc3", "\xa9!" };
	static const char *const euro[] = { "\xe2", "\x82", "\xac" };
	static const char *const emoji[] = { "a\xf0\x9f", "", "\x98",
	    "\x80z" };
	static const char *const broken[] = { "x\xe2\x82", "y" };
	static const char *const cut[] = { "ok\xf0\x9f\x98" };
	char out[256];

	feed(e_acute, 2, out, sizeof(out));
	CHECK_EQ_STR(out, "caf|\xc3\xa9!|");
	feed(euro, 3, out, sizeof(out));
	CHECK_EQ_STR(out, "||\xe2\x82\xac|");
	feed(emoji, 4, out, sizeof(out));
	CHECK_EQ_STR(out, "a|||\xf0\x9f\x98\x80z|");
	/* the next piece does not finish it: the bytes go on as they are
	 * (the event line makes them U+FFFD) */
	feed(broken, 2, out, sizeof(out));
	CHECK_EQ_STR(out, "x|\xe2\x82y|");
	/* the stream ends inside a character: flushed at the end */
	feed(cut, 1, out, sizeof(out));
	CHECK_EQ_STR(out, "ok|\xf0\x9f\x98");
}

void
t_cast_text_limit(void)
{
	struct mc_cast_text s;
	struct mc_buf text;

	memset(&s, 0, sizeof(s));
	mc_buf_init(&text, 4);
	CHECK_EQ_INT(mc_cast_text_add(&s, "ab\xe2", 3, &text), 0);
	CHECK_EQ_STR(text.data, "ab");
	CHECK_EQ_INT(s.nheld, 1);
	/* 1 held + 4 new is over the limit: nothing taken, nothing lost */
	CHECK_EQ_INT(mc_cast_text_add(&s, "\x82\xac" "cd", 4, &text), -1);
	CHECK_EQ_STR(text.data, "ab");
	CHECK_EQ_INT(s.nheld, 1);
	mc_buf_reset(&text);
	CHECK_EQ_INT(mc_cast_text_add(&s, "\x82\xac", 2, &text), 0);
	CHECK_EQ_STR(text.data, "\xe2\x82\xac");
	mc_buf_free(&text);
}

void
t_cast_time(void)
{
	char t[48];

	mc_cast_time(0, t, sizeof(t));
	CHECK_EQ_STR(t, "0.0");
	mc_cast_time(-3, t, sizeof(t));
	CHECK_EQ_STR(t, "0.0");
	mc_cast_time(1.5, t, sizeof(t));
	CHECK_EQ_STR(t, "1.5");
	mc_cast_time(3, t, sizeof(t));
	CHECK_EQ_STR(t, "3.0");
	mc_cast_time(12.000125, t, sizeof(t));
	CHECK_EQ_STR(t, "12.000125");
	mc_cast_time(1.23456789, t, sizeof(t));
	CHECK_EQ_STR(t, "1.234568");
	mc_cast_time(0.0000004, t, sizeof(t));
	CHECK_EQ_STR(t, "0.0");
	mc_cast_time(86400.25, t, sizeof(t));
	CHECK_EQ_STR(t, "86400.25");
}

void
t_cast_lines(void)
{
	struct mc_buf b;

	mc_buf_init(&b, 4096);
	REQUIRE(mc_cast_header(&b, 120, 40, 1795000000, "pc-\"gpu\"") == 0);
	CHECK_EQ_STR(b.data, "{\"version\":2,\"width\":120,\"height\":40,"
	    "\"timestamp\":1795000000,\"env\":{\"TERM\":\"xterm-256color\"},"
	    "\"title\":\"pc-\\\"gpu\\\"\"}\n");
	mc_buf_reset(&b);
	REQUIRE(mc_cast_event(&b, 1.5, "o", "42\r\n", 4) == 0);
	CHECK_EQ_STR(b.data, "[1.5,\"o\",\"42\\r\\n\"]\n");
	mc_buf_reset(&b);
	/* escapes, a NUL, bad UTF-8 as U+FFFD, good UTF-8 as it is */
	REQUIRE(mc_cast_event(&b, 0.25, "i", "\x1b[1m\"\\\t\0\xff\xc3\xa9",
	    11) == 0);
	CHECK_EQ_STR(b.data, "[0.25,\"i\",\"\\u001b[1m\\\"\\\\\\t\\u0000"
	    FFFD "\xc3\xa9\"]\n");
	mc_buf_reset(&b);
	/* a character cut short is bad UTF-8 too: one U+FFFD a byte */
	REQUIRE(mc_cast_event(&b, 2, "o", "\xe2\x82", 2) == 0);
	CHECK_EQ_STR(b.data, "[2.0,\"o\",\"" FFFD FFFD "\"]\n");
	mc_buf_reset(&b);
	REQUIRE(mc_cast_resize(&b, 7.000001, 100, 30) == 0);
	CHECK_EQ_STR(b.data, "[7.000001,\"r\",\"100x30\"]\n");
	mc_buf_free(&b);
}

/* What is written reads back as JSON with the same text. */
void
t_cast_round_trip(void)
{
	static const char text[] = "line\r\n\x1b]0;title\x07\xe2\x94\x80 "
	    "\xf0\x9f\x98\x80 tab\there";
	const struct mc_json *root, *e;
	struct mc_jdoc *d;
	struct mc_buf b;
	char err[256];

	mc_buf_init(&b, 4096);
	REQUIRE(mc_cast_event(&b, 12.5, "o", text, sizeof(text) - 1) == 0);
	REQUIRE(b.len > 0 && b.data[b.len - 1] == '\n');
	d = mc_json_parse(b.data, b.len - 1, err, sizeof(err));
	CHECK_MSG(d != NULL, "%s", err);
	if (d != NULL) {
		root = mc_json_root(d);
		CHECK_EQ_INT(root->type, MC_JARR);
		CHECK_EQ_INT(root->len, 3);
		e = root->child;
		CHECK_EQ_DBL(e->num, 12.5);
		CHECK_EQ_STR(e->next->str, "o");
		CHECK_EQ_MEM(e->next->next->str, e->next->next->len, text,
		    sizeof(text) - 1);
		mc_json_free(d);
	}
	mc_buf_free(&b);
}

void
t_cast_limit(void)
{
	struct mc_buf b;

	mc_buf_init(&b, 8);
	CHECK_EQ_INT(mc_cast_event(&b, 1, "o", "too long a line", 15), -1);
	mc_buf_free(&b);
	mc_buf_init(&b, 20);
	CHECK_EQ_INT(mc_cast_header(&b, 80, 24, 1, "x"), -1);
	mc_buf_free(&b);
}
