/*
 * mc_cast.c - asciicast v2 lines (mc_cast.h).
 *
 * Pure: no clock, no file.  The JSON strings go through mc_jw, which
 * escapes what JSON needs and writes each byte that is not part of a
 * valid UTF-8 character as U+FFFD; what this file adds is the hold-back
 * of a character cut by the end of a piece of output, so the replacement
 * only ever stands for bytes that really were not UTF-8.
 */
#include <stdio.h>
#include <string.h>

#include "mc_cast.h"
#include "mc_json.h"

/* The length of the character a lead byte starts (0: no lead byte), and
 * the range its second byte must be in (no overlong forms, no UTF-16
 * surrogates, nothing past U+10FFFF). */
static size_t
lead_len(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c == 0xe0)
		*lo = 0xa0;
	else if (c == 0xed)
		*hi = 0x9f;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c == 0xf0)
		*lo = 0x90;
	else if (c == 0xf4)
		*hi = 0x8f;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

size_t
mc_cast_utf8_tail(const void *p, size_t n)
{
	const unsigned char *u = p;
	unsigned char lo, hi;
	size_t back, start, len;

	/* the last lead byte, at most 3 bytes back */
	for (back = 1; back <= 3 && back <= n; back++) {
		start = n - back;
		if ((u[start] & 0xc0) == 0x80)
			continue;
		len = lead_len(u[start], &lo, &hi);
		if (len <= back)
			return 0;	/* finished, or no character at all */
		/* the bytes after it are continuations (the loop went past
		 * them); the second must also fit this lead */
		if (back >= 2 && (u[start + 1] < lo || u[start + 1] > hi))
			return 0;	/* already invalid: nothing to wait for */
		return back;
	}
	return 0;
}

int
mc_cast_text_add(struct mc_cast_text *s, const void *p, size_t n,
    struct mc_buf *text)
{
	size_t before = text->len, tail;

	if (mc_buf_append(text, s->held, s->nheld) == -1 ||
	    mc_buf_append(text, p, n) == -1) {
		text->len = before;
		if (text->data != NULL)
			text->data[before] = '\0';
		return -1;
	}
	tail = mc_cast_utf8_tail(text->data + before, text->len - before);
	memcpy(s->held, text->data + text->len - tail, tail);
	s->nheld = tail;
	text->len -= tail;
	text->data[text->len] = '\0';
	return 0;
}

int
mc_cast_text_flush(struct mc_cast_text *s, struct mc_buf *text)
{
	if (mc_buf_append(text, s->held, s->nheld) == -1)
		return -1;
	s->nheld = 0;
	return 0;
}

void
mc_cast_time(double t, char *out, size_t outlen)
{
	size_t n;

	if (!(t > 0))
		t = 0;
	snprintf(out, outlen, "%.6f", t);
	n = strlen(out);
	while (n > 2 && out[n - 1] == '0' && out[n - 2] != '.')
		out[--n] = '\0';
}

int
mc_cast_header(struct mc_buf *b, int cols, int rows, int64_t wall,
    const char *title)
{
	struct mc_jw w;

	mc_jw_init(&w, b);
	mc_jw_obj(&w, NULL);
	mc_jw_i64(&w, "version", 2);
	mc_jw_i64(&w, "width", cols);
	mc_jw_i64(&w, "height", rows);
	mc_jw_i64(&w, "timestamp", wall);
	mc_jw_obj(&w, "env");
	mc_jw_str(&w, "TERM", "xterm-256color");
	mc_jw_obj_end(&w);
	mc_jw_str(&w, "title", title);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1)
		return -1;
	return mc_buf_puts(b, "\n");
}

int
mc_cast_event(struct mc_buf *b, double t, const char *code,
    const char *text, size_t n)
{
	struct mc_jw w;
	char ts[48];

	mc_cast_time(t, ts, sizeof(ts));
	mc_jw_init(&w, b);
	mc_jw_arr(&w, NULL);
	mc_jw_raw(&w, NULL, ts, strlen(ts));
	mc_jw_str(&w, NULL, code);
	mc_jw_strn(&w, NULL, text, n);
	mc_jw_arr_end(&w);
	if (mc_jw_done(&w) == -1)
		return -1;
	return mc_buf_puts(b, "\n");
}

int
mc_cast_resize(struct mc_buf *b, double t, int cols, int rows)
{
	char size[32];

	snprintf(size, sizeof(size), "%dx%d", cols, rows);
	return mc_cast_event(b, t, "r", size, strlen(size));
}
