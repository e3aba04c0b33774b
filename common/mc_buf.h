/*
 * mc_buf.h - a growable byte buffer with a hard upper bound.
 *
 * Every buffer that grows from peer input is an mc_buf with a limit, so
 * "every buffer has a bound" is enforced in one place.
 */
#ifndef MC_BUF_H
#define MC_BUF_H

#include <stddef.h>

struct mc_buf {
	char	*data;		/* owned; always NUL-terminated when non-NULL */
	size_t	 len;
	size_t	 cap;
	size_t	 limit;		/* len never exceeds this */
};

/* Set up an empty buffer that may hold at most limit bytes. */
void	mc_buf_init(struct mc_buf *b, size_t limit);
/* Release the storage; the buffer is empty and reusable afterwards. */
void	mc_buf_free(struct mc_buf *b);
/* Forget the contents, keep the storage. */
void	mc_buf_reset(struct mc_buf *b);
/* Append n bytes. Returns 0, or -1 (nothing appended) if over the limit
 * or out of memory. */
int	mc_buf_append(struct mc_buf *b, const void *p, size_t n);
int	mc_buf_puts(struct mc_buf *b, const char *s);
int	mc_buf_printf(struct mc_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Remove the first n bytes. */
void	mc_buf_consume(struct mc_buf *b, size_t n);
/* Take ownership of data (malloc'd, len bytes plus a NUL) as the
 * buffer's contents; its limit becomes len. */
void	mc_buf_adopt(struct mc_buf *b, char *data, size_t len);
/* Hand the storage to the caller (who frees it); the buffer is empty. */
char	*mc_buf_take(struct mc_buf *b, size_t *lenp);

#endif
