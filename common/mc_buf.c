/*
 * mc_buf.c - bounded growable buffers.
 *
 * Growth doubles the capacity but never past the limit, so a peer that
 * sends too much is refused at the limit instead of after an allocation
 * of twice its size.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_buf.h"

void
mc_buf_init(struct mc_buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

void
mc_buf_free(struct mc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
mc_buf_reset(struct mc_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int
mc_buf_grow(struct mc_buf *b, size_t need)
{
	size_t ncap;
	char *p;

	if (need > b->limit)
		return -1;
	if (need + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need + 1)
		ncap *= 2;
	if (ncap > b->limit + 1)
		ncap = b->limit + 1;
	p = realloc(b->data, ncap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
mc_buf_append(struct mc_buf *b, const void *p, size_t n)
{
	if (n > b->limit - b->len || mc_buf_grow(b, b->len + n) == -1)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
mc_buf_puts(struct mc_buf *b, const char *s)
{
	return mc_buf_append(b, s, strlen(s));
}

int
mc_buf_printf(struct mc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > b->limit - b->len ||
	    mc_buf_grow(b, b->len + (size_t)n) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
mc_buf_consume(struct mc_buf *b, size_t n)
{
	if (n >= b->len) {
		mc_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
mc_buf_adopt(struct mc_buf *b, char *data, size_t len)
{
	b->data = data;
	b->len = len;
	b->cap = len + 1;
	b->limit = len;
}

char *
mc_buf_take(struct mc_buf *b, size_t *lenp)
{
	char *p = b->data;

	if (lenp)
		*lenp = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
