/*
 * lst_png.c - a small PNG writer: 8-bit RGB rows in, a PNG file out on a
 * descriptor, with zlib's deflate and CRC-32 and no other library.
 *
 * It streams: each row is filtered (type 1, "Sub": each byte minus the
 * same channel of the pixel to its left, which suits screens' flat
 * areas) and fed to deflate; compressed bytes leave as IDAT chunks of at
 * most LST_PNG_IDAT bytes, so memory stays at one row and one chunk
 * whatever the image size.  Used in a forked child (lst_cmd_screenshot.c);
 * writes may block.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "lst.h"

#define LST_PNG_IDAT	(64 * 1024)

struct lst_png {
	int		 fd;
	uint32_t	 w, h, rows;
	z_stream	 z;
	int		 zok;		/* deflateInit succeeded */
	unsigned char	*line;		/* owned: filter byte + 3 * w */
	unsigned char	 out[LST_PNG_IDAT];
};

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* One chunk: length, type, data, CRC of type and data.  0 or -1. */
static int
chunk(int fd, const char *type, const unsigned char *data, size_t n)
{
	unsigned char head[8], tail[4];
	uLong crc;

	put32(head, (uint32_t)n);
	memcpy(head + 4, type, 4);
	crc = crc32(0L, head + 4, 4);
	if (n > 0)
		crc = crc32(crc, data, (uInt)n);
	put32(tail, (uint32_t)crc);
	if (lst_write_all(fd, head, 8) == -1 ||
	    (n > 0 && lst_write_all(fd, data, n) == -1) ||
	    lst_write_all(fd, tail, 4) == -1)
		return -1;
	return 0;
}

void
lst_png_free(struct lst_png *p)
{
	if (p == NULL)
		return;
	if (p->zok)
		deflateEnd(&p->z);
	free(p->line);
	free(p);
}

struct lst_png *
lst_png_begin(int fd, uint32_t w, uint32_t h)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r',
	    '\n', 0x1a, '\n' };
	unsigned char ihdr[13];
	struct lst_png *p;

	if (w == 0 || h == 0 || w > (1u << 24) / 3)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->fd = fd;
	p->w = w;
	p->h = h;
	p->line = malloc(1 + (size_t)w * 3);
	if (p->line == NULL || deflateInit(&p->z, 6) != Z_OK)
		goto fail;
	p->zok = 1;
	p->z.next_out = p->out;
	p->z.avail_out = sizeof(p->out);
	put32(ihdr, w);
	put32(ihdr + 4, h);
	ihdr[8] = 8;		/* bits per channel */
	ihdr[9] = 2;		/* truecolour RGB */
	ihdr[10] = 0;		/* deflate */
	ihdr[11] = 0;		/* adaptive filtering */
	ihdr[12] = 0;		/* no interlace */
	if (lst_write_all(fd, sig, sizeof(sig)) == -1 ||
	    chunk(fd, "IHDR", ihdr, sizeof(ihdr)) == -1)
		goto fail;
	return p;
fail:
	lst_png_free(p);
	return NULL;
}

/* Run deflate over what next_in holds with flush; write full IDATs.  On
 * Z_FINISH, also the last partial one. */
static int
deflate_out(struct lst_png *p, int flush)
{
	int r;

	for (;;) {
		r = deflate(&p->z, flush);
		if (r == Z_STREAM_ERROR)
			return -1;
		if (p->z.avail_out == 0 || (flush == Z_FINISH &&
		    p->z.avail_out < sizeof(p->out))) {
			if (chunk(p->fd, "IDAT", p->out,
			    sizeof(p->out) - p->z.avail_out) == -1)
				return -1;
			p->z.next_out = p->out;
			p->z.avail_out = sizeof(p->out);
		}
		if (flush == Z_FINISH ? r == Z_STREAM_END :
		    p->z.avail_in == 0 && p->z.avail_out > 0)
			return 0;
	}
}

int
lst_png_row(struct lst_png *p, const unsigned char *rgb)
{
	size_t i, n = (size_t)p->w * 3;

	if (p->rows == p->h)
		return -1;
	p->line[0] = 1;		/* Sub */
	for (i = 0; i < 3 && i < n; i++)
		p->line[1 + i] = rgb[i];
	for (; i < n; i++)
		p->line[1 + i] = (unsigned char)(rgb[i] - rgb[i - 3]);
	p->z.next_in = p->line;
	p->z.avail_in = (uInt)(n + 1);
	p->rows++;
	return deflate_out(p, Z_NO_FLUSH);
}

int
lst_png_end(struct lst_png *p)
{
	int r = -1;

	if (p->rows == p->h && deflate_out(p, Z_FINISH) == 0 &&
	    chunk(p->fd, "IEND", NULL, 0) == 0)
		r = 0;
	lst_png_free(p);
	return r;
}
