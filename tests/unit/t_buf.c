/*
 * t_buf.c - mc_buf: the hard limit, consume, take.
 *
 * The limit is what keeps peer input bounded, so the tests check that a
 * refused append leaves the buffer exactly as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "mc_buf.h"
#include "unit.h"

void
t_buf_append_and_limit(void)
{
	struct mc_buf b;

	mc_buf_init(&b, 10);
	CHECK_EQ_INT(mc_buf_append(&b, "hello", 5), 0);
	CHECK_EQ_INT(mc_buf_puts(&b, "world"), 0);
	CHECK_EQ_INT(b.len, 10);
	REQUIRE(b.data != NULL);
	CHECK_EQ_STR(b.data, "helloworld");
	/* one byte over: refused, nothing changed */
	CHECK_EQ_INT(mc_buf_append(&b, "!", 1), -1);
	CHECK_EQ_INT(b.len, 10);
	CHECK_EQ_STR(b.data, "helloworld");
	CHECK(b.cap <= b.limit + 1);
	/* a huge n must not wrap around the limit check */
	CHECK_EQ_INT(mc_buf_append(&b, "x", (size_t)-1), -1);
	CHECK_EQ_INT(b.len, 10);
	/* appending nothing at the limit is fine */
	CHECK_EQ_INT(mc_buf_append(&b, "", 0), 0);
	mc_buf_consume(&b, 3);
	CHECK_EQ_INT(mc_buf_append(&b, "abc", 3), 0);
	CHECK_EQ_STR(b.data, "loworldabc");
	CHECK_EQ_INT(mc_buf_append(&b, "d", 1), -1);
	mc_buf_free(&b);
}

void
t_buf_limit_zero(void)
{
	struct mc_buf b;

	mc_buf_init(&b, 0);
	CHECK_EQ_INT(mc_buf_append(&b, "", 0), 0);
	CHECK_EQ_INT(b.len, 0);
	CHECK_EQ_INT(mc_buf_append(&b, "a", 1), -1);
	CHECK_EQ_INT(mc_buf_printf(&b, "%d", 1), -1);
	CHECK_EQ_INT(b.len, 0);
	mc_buf_free(&b);
}

void
t_buf_grow_to_limit_exactly(void)
{
	const size_t limit = 1024 * 1024 + 7;
	struct mc_buf b;
	char chunk[1000];
	size_t i;

	memset(chunk, 'z', sizeof(chunk));
	mc_buf_init(&b, limit);
	for (i = 0; i < limit / sizeof(chunk); i++)
		REQUIRE(mc_buf_append(&b, chunk, sizeof(chunk)) == 0);
	CHECK_EQ_INT(mc_buf_append(&b, chunk, limit % sizeof(chunk)), 0);
	CHECK_EQ_INT(b.len, limit);
	CHECK_EQ_INT(b.data[b.len], '\0');
	CHECK(b.cap <= limit + 1);
	CHECK_EQ_INT(mc_buf_append(&b, "y", 1), -1);
	CHECK_EQ_INT(b.len, limit);
	CHECK_EQ_INT(b.data[limit - 1], 'z');
	mc_buf_free(&b);
}

void
t_buf_printf_limit(void)
{
	struct mc_buf b;

	mc_buf_init(&b, 12);
	CHECK_EQ_INT(mc_buf_printf(&b, "%s-%d", "ab", 42), 0);
	CHECK_EQ_STR(b.data, "ab-42");
	CHECK_EQ_INT(b.len, 5);
	CHECK_EQ_INT(mc_buf_printf(&b, "%s", "1234567"), 0);
	CHECK_EQ_INT(b.len, 12);
	CHECK_EQ_INT(mc_buf_printf(&b, "%c", 'x'), -1);
	CHECK_EQ_STR(b.data, "ab-421234567");
	CHECK_EQ_INT(b.len, 12);
	mc_buf_free(&b);
}

void
t_buf_binary(void)
{
	static const char bin[] = { 'a', '\0', 'b', '\0', '\xff' };
	struct mc_buf b;

	mc_buf_init(&b, 100);
	CHECK_EQ_INT(mc_buf_append(&b, bin, sizeof(bin)), 0);
	CHECK_EQ_MEM(b.data, b.len, bin, sizeof(bin));
	CHECK_EQ_INT(b.data[b.len], '\0');
	mc_buf_free(&b);
}

void
t_buf_consume(void)
{
	struct mc_buf b;

	mc_buf_init(&b, 64);
	REQUIRE(mc_buf_puts(&b, "hello world") == 0);
	mc_buf_consume(&b, 0);
	CHECK_EQ_STR(b.data, "hello world");
	mc_buf_consume(&b, 6);
	CHECK_EQ_INT(b.len, 5);
	CHECK_EQ_STR(b.data, "world");
	mc_buf_consume(&b, 5);
	CHECK_EQ_INT(b.len, 0);
	CHECK_EQ_STR(b.data, "");
	REQUIRE(mc_buf_puts(&b, "abc") == 0);
	mc_buf_consume(&b, 1000);
	CHECK_EQ_INT(b.len, 0);
	CHECK_EQ_STR(b.data, "");
	/* consuming frees room under the limit */
	REQUIRE(mc_buf_append(&b, "0123456789012345678901234567890123456789"
	    "012345678901234567890123", 64) == 0);
	CHECK_EQ_INT(mc_buf_append(&b, "x", 1), -1);
	mc_buf_consume(&b, 60);
	CHECK_EQ_STR(b.data, "0123");
	CHECK_EQ_INT(mc_buf_append(&b, "x", 1), 0);
	CHECK_EQ_STR(b.data, "0123x");
	/* consume on a buffer that never allocated */
	mc_buf_free(&b);
	mc_buf_consume(&b, 3);
	CHECK_EQ_INT(b.len, 0);
	mc_buf_free(&b);
}

void
t_buf_take(void)
{
	struct mc_buf b;
	size_t len = 99;
	char *p;

	mc_buf_init(&b, 64);
	REQUIRE(mc_buf_puts(&b, "abc") == 0);
	p = mc_buf_take(&b, &len);
	REQUIRE(p != NULL);
	CHECK_EQ_STR(p, "abc");
	CHECK_EQ_INT(len, 3);
	CHECK(b.data == NULL);
	CHECK_EQ_INT(b.len, 0);
	CHECK_EQ_INT(b.cap, 0);
	CHECK_EQ_INT(b.limit, 64);
	/* the buffer is usable again and independent of what was taken */
	CHECK_EQ_INT(mc_buf_puts(&b, "xyz"), 0);
	CHECK_EQ_STR(b.data, "xyz");
	CHECK_EQ_STR(p, "abc");
	free(p);
	p = mc_buf_take(&b, NULL);
	CHECK_EQ_STR(p, "xyz");
	free(p);
	/* taking an empty, never-allocated buffer gives NULL and length 0 */
	len = 5;
	p = mc_buf_take(&b, &len);
	CHECK(p == NULL);
	CHECK_EQ_INT(len, 0);
	mc_buf_free(&b);
}

void
t_buf_reset_and_free(void)
{
	struct mc_buf b;
	char *before;

	mc_buf_init(&b, 64);
	mc_buf_reset(&b);
	CHECK_EQ_INT(b.len, 0);
	REQUIRE(mc_buf_puts(&b, "something") == 0);
	before = b.data;
	mc_buf_reset(&b);
	CHECK_EQ_INT(b.len, 0);
	CHECK(b.data == before);
	CHECK_EQ_STR(b.data, "");
	mc_buf_free(&b);
	CHECK(b.data == NULL);
	CHECK_EQ_INT(b.len, 0);
	mc_buf_free(&b);
	CHECK_EQ_INT(mc_buf_puts(&b, "again"), 0);
	CHECK_EQ_STR(b.data, "again");
	mc_buf_free(&b);
}

void
t_buf_adopt(void)
{
	struct mc_buf b;
	char *p = malloc(6);
	size_t len;

	REQUIRE(p != NULL);
	memcpy(p, "hello", 6);
	mc_buf_init(&b, 1024);
	mc_buf_adopt(&b, p, 5);
	CHECK(b.data == p);
	CHECK_EQ_INT(b.len, 5);
	CHECK_EQ_STR(b.data, "hello");
	/* its limit is its length: nothing more fits */
	CHECK_EQ_INT(b.limit, 5);
	CHECK_EQ_INT(mc_buf_append(&b, "!", 1), -1);
	CHECK_EQ_STR(b.data, "hello");
	mc_buf_consume(&b, 2);
	CHECK_EQ_STR(b.data, "llo");
	CHECK_EQ_INT(mc_buf_append(&b, "ws", 2), 0);
	CHECK_EQ_STR(b.data, "llows");
	CHECK_EQ_INT(mc_buf_append(&b, "!", 1), -1);
	p = mc_buf_take(&b, &len);
	CHECK_EQ_INT(len, 5);
	CHECK_EQ_STR(p, "llows");
	free(p);
	mc_buf_free(&b);
}
