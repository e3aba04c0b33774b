/*
 * mc_cast.h - asciicast v2, the format of terminal recordings: a header
 * line, then one JSON array per event, [SECONDS, CODE, TEXT].
 *
 * The hub's recorder (hub/hub_rec.c) writes it; the pure part is here so
 * it can be unit-tested.  asciicast is JSON text, so what a terminal
 * printed must become a JSON string: bytes that are not UTF-8 are written
 * as U+FFFD (mc_jw.c does it), and a character that one piece of output
 * ends in the middle of is held back and written with the next piece, so
 * that a split in the stream never turns a good character into U+FFFD.
 */
#ifndef MC_CAST_H
#define MC_CAST_H

#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"

/* The unfinished UTF-8 character at the end of one stream (output, or
 * input) so far; zero it to start. */
struct mc_cast_text {
	unsigned char	held[3];
	size_t		nheld;
};

/* The bytes at the end of p[0..n) that begin a UTF-8 character which is
 * not finished yet but may still be (0 to 3). */
size_t	mc_cast_utf8_tail(const void *p, size_t n);

/*
 * Append the next n bytes of stream s to text: the bytes held from the
 * last call, then p, less what now ends in an unfinished character (held
 * for the next call).  0, or -1 if text's limit is hit (s unchanged).
 */
int	mc_cast_text_add(struct mc_cast_text *s, const void *p, size_t n,
	    struct mc_buf *text);
/* The stream ended: its held bytes go to text (they become U+FFFD). */
int	mc_cast_text_flush(struct mc_cast_text *s, struct mc_buf *text);

/* SECONDS as a cast writes it: at most 6 decimals, no trailing zeros
 * ("0.5", "12.000125", "3.0"); negative is 0. */
void	mc_cast_time(double t, char *out, size_t outlen);

/*
 * Lines, each ending in '\n', appended to b: 0, or -1 at b's limit (b
 * may then hold part of the line).
 * The header: {"version":2,"width":COLS,"height":ROWS,"timestamp":WALL,
 * "env":{"TERM":"xterm-256color"},"title":TITLE}.
 */
int	mc_cast_header(struct mc_buf *b, int cols, int rows, int64_t wall,
	    const char *title);
/* [t,"CODE","TEXT"], code "o" (output) or "i" (input); TEXT is n bytes,
 * invalid UTF-8 written as U+FFFD. */
int	mc_cast_event(struct mc_buf *b, double t, const char *code,
	    const char *text, size_t n);
/* [t,"r","COLSxROWS"] */
int	mc_cast_resize(struct mc_buf *b, double t, int cols, int rows);

#endif
