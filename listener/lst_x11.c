/*
 * lst_x11.c - just enough of the X11 protocol to read the root window's
 * pixels, with no X library: connection setup with MIT-MAGIC-COOKIE-1,
 * the setup reply (root window, depth, visual, pixmap formats, byte
 * order) and GetImage in ZPixmap format, turned into 8-bit RGB.
 *
 * Rules kept here:
 * - We speak little-endian ('l'), so every integer the server sends is
 *   little-endian; only image data follows the server's image byte order.
 * - Everything the server sends is bounds-checked before use; the setup
 *   reply is at most 256 KiB by its own length field, and GetImage is
 *   asked for horizontal strips of at most LST_X11_STRIP bytes, so every
 *   reply stays bounded whatever the screen size.
 * - TrueColor and DirectColor visuals at 16, 24 or 32 bits per pixel are
 *   read through the visual's masks; anything else is refused clearly.
 * Runs in a forked child (lst_cmd_screenshot.c): reads and writes block,
 * and the command's timeout kills the child if the server hangs.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lst.h"

#define LST_X11_STRIP		(4 * 1024 * 1024)
#define X_GET_IMAGE		73
#define X_ZPIXMAP		2
#define XAUTH_FAMILY_LOCAL	256
#define XAUTH_FAMILY_WILD	65535
#define XAUTH_COOKIE		"MIT-MAGIC-COOKIE-1"

struct lst_x11 {
	int		 fd;
	uint16_t	 seq;
	uint32_t	 root;
	uint32_t	 w, h;
	int		 depth;
	int		 bpp;		/* bits per pixel for depth */
	int		 pad;		/* scanline pad, bits */
	int		 msb;		/* image byte order MSBFirst */
	uint32_t	 mask[3];	/* red, green, blue */
	int		 shift[3], bits[3];
	unsigned char	*buf;		/* owned: the last reply's data */
	size_t		 bufsize;
};

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void
put32(unsigned char *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static size_t
pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Read exactly n bytes.  0, or -1 (EOF counts as an error). */
static int
read_full(int fd, void *buf, size_t n)
{
	unsigned char *p = buf;
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ECONNRESET;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* ---- Xauthority ---- */

/* One length-prefixed (big-endian) field at *p; NULL past the end. */
static const unsigned char *
xauth_field(const unsigned char **p, const unsigned char *end, size_t *n)
{
	const unsigned char *f;

	if (end - *p < 2)
		return NULL;
	*n = (size_t)((*p)[0] << 8 | (*p)[1]);
	f = *p + 2;
	if ((size_t)(end - f) < *n)
		return NULL;
	*p = f + *n;
	return f;
}

int
lst_xauth_read(const char *path, int num, struct lst_xauth *a)
{
	const unsigned char *p, *end, *addr, *number, *name, *data;
	size_t len, na, nn, nname, nd;
	char want[16], host[256];
	int family, n, exact;
	char *text;

	memset(a, 0, sizeof(*a));
	text = mc_read_file(path, 1024 * 1024, &len);
	if (text == NULL)
		return -1;
	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	n = snprintf(want, sizeof(want), "%d", num);
	p = (const unsigned char *)text;
	end = p + len;
	while (end - p >= 2) {
		family = p[0] << 8 | p[1];
		p += 2;
		addr = xauth_field(&p, end, &na);
		number = addr != NULL ? xauth_field(&p, end, &nn) : NULL;
		name = number != NULL ? xauth_field(&p, end, &nname) : NULL;
		data = name != NULL ? xauth_field(&p, end, &nd) : NULL;
		if (data == NULL)
			break;
		if ((family != XAUTH_FAMILY_LOCAL &&
		    family != XAUTH_FAMILY_WILD) ||
		    nname != strlen(XAUTH_COOKIE) ||
		    memcmp(name, XAUTH_COOKIE, nname) != 0 ||
		    nd == 0 || nd > sizeof(a->data) ||
		    (nn != 0 && (nn != (size_t)n || memcmp(number, want,
		    nn) != 0)))
			continue;
		/* this host's own entry beats one for another name (a
		 * file copied from elsewhere, or a renamed host) */
		exact = family == XAUTH_FAMILY_WILD ||
		    (na == strlen(host) && memcmp(addr, host, na) == 0);
		if (a->found && !exact)
			continue;
		a->found = 1;
		a->len = nd;
		memcpy(a->data, data, nd);
		if (exact)
			break;
	}
	explicit_bzero(text, len);
	free(text);
	return 0;
}

/* ---- connection ---- */

/* The abstract socket first (no file needed), then the file. */
static int
x_connect(int num, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	socklen_t salen;
	int fd, i, n;

	for (i = 0; i < 2; i++) {
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		n = snprintf(sa.sun_path + (i == 0), sizeof(sa.sun_path) - 1,
		    "/tmp/.X11-unix/X%d", num);
		/* abstract: a NUL, then the name; file: the name, a NUL */
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    (size_t)n + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			break;
		if (connect(fd, (struct sockaddr *)&sa, salen) == 0)
			return fd;
		close(fd);
	}
	snprintf(err, errlen, "cannot connect to X display :%d "
	    "(/tmp/.X11-unix/X%d): %s", num, num, strerror(errno));
	return -1;
}

/* Send the setup request with the cookie, if any.  0 or -1. */
static int
x_hello(int fd, const struct lst_xauth *a)
{
	unsigned char req[12 + 20 + 64];
	size_t n = 12;
	int cookie = a != NULL && a->found;

	memset(req, 0, sizeof(req));
	req[0] = 'l';
	put16(req + 2, 11);
	put16(req + 4, 0);
	if (cookie) {
		put16(req + 6, (uint16_t)strlen(XAUTH_COOKIE));
		put16(req + 8, (uint16_t)a->len);
		memcpy(req + n, XAUTH_COOKIE, strlen(XAUTH_COOKIE));
		n += pad4(strlen(XAUTH_COOKIE));
		memcpy(req + n, a->data, a->len);
		n += pad4(a->len);
	}
	return lst_write_all(fd, req, n);
}

/* The shift and width of a colour mask. */
static void
mask_bits(uint32_t m, int *shift, int *bits)
{
	*shift = 0;
	*bits = 0;
	if (m == 0)
		return;
	while ((m & 1) == 0) {
		m >>= 1;
		(*shift)++;
	}
	while (m & 1) {
		m >>= 1;
		(*bits)++;
	}
}

/* Find the root visual among the screen's depths at s (screen bytes up
 * to end).  0, or -1 with err. */
static int
x_visual(struct lst_x11 *x, const unsigned char *s, const unsigned char *end,
    uint32_t vid, char *err, size_t errlen)
{
	const unsigned char *d = s + 40, *v;
	int ndepths = s[39], i, j, k, nv, cls;

	for (i = 0; i < ndepths; i++) {
		if (end - d < 8)
			break;
		nv = le16(d + 2);
		if ((size_t)(end - d) < 8 + (size_t)nv * 24)
			break;
		for (j = 0; j < nv; j++) {
			v = d + 8 + j * 24;
			if (le32(v) != vid)
				continue;
			cls = v[4];
			if (cls != 4 && cls != 5) {
				snprintf(err, errlen, "unsupported X visual "
				    "class %d (only TrueColor and DirectColor)",
				    cls);
				return -1;
			}
			for (k = 0; k < 3; k++) {
				x->mask[k] = le32(v + 8 + 4 * k);
				mask_bits(x->mask[k], &x->shift[k],
				    &x->bits[k]);
			}
			return 0;
		}
		d += 8 + (size_t)nv * 24;
	}
	snprintf(err, errlen, "X setup reply lacks the root visual");
	return -1;
}

/* The setup reply's data (n bytes): formats, then screen number scr. */
static int
x_setup(struct lst_x11 *x, const unsigned char *p, size_t n, int scr,
    char *err, size_t errlen)
{
	const unsigned char *end = p + n, *f, *s;
	size_t vlen, off;
	int nscreens, nformats, i;

	if (n < 32)
		goto short_reply;
	vlen = le16(p + 16);
	nscreens = p[20];
	nformats = p[21];
	x->msb = p[22] == 1;
	off = 32 + pad4(vlen);
	if (n < off + (size_t)nformats * 8)
		goto short_reply;
	s = p + off + (size_t)nformats * 8;
	for (i = 0; i < scr; i++) {
		if (i >= nscreens || end - s < 40)
			goto no_screen;
		/* skip a screen: its depths and their visuals */
		f = s + 40;
		for (off = 0; off < s[39]; off++) {
			if (end - f < 8)
				goto short_reply;
			f += 8 + (size_t)le16(f + 2) * 24;
			if (f > end)
				goto short_reply;
		}
		s = f;
	}
	if (scr >= nscreens || end - s < 40)
		goto no_screen;
	x->root = le32(s);
	x->w = le16(s + 20);
	x->h = le16(s + 22);
	x->depth = s[38];
	for (i = 0; i < nformats; i++) {
		f = p + 32 + pad4(vlen) + (size_t)i * 8;
		if (f[0] == x->depth) {
			x->bpp = f[1];
			x->pad = f[2];
		}
	}
	if (x->bpp != 16 && x->bpp != 24 && x->bpp != 32) {
		snprintf(err, errlen, "unsupported X pixel format: depth %d, "
		    "%d bits per pixel", x->depth, x->bpp);
		return -1;
	}
	if (x->pad < 8 || x->pad % 8 != 0)
		x->pad = 32;
	if (x->w == 0 || x->h == 0) {
		snprintf(err, errlen, "the X screen has no pixels");
		return -1;
	}
	return x_visual(x, s, end, le32(s + 32), err, errlen);
short_reply:
	snprintf(err, errlen, "X setup reply is truncated");
	return -1;
no_screen:
	snprintf(err, errlen, "the X display has no screen %d", scr);
	return -1;
}

/* Read the setup reply; a refusal becomes "X server refused ...". */
static int
x_reply(struct lst_x11 *x, int scr, char *err, size_t errlen)
{
	unsigned char head[8], *data;
	size_t n, rlen;
	int r = -1;

	if (read_full(x->fd, head, 8) == -1) {
		snprintf(err, errlen, "X server closed the connection during "
		    "setup: %s", strerror(errno));
		return -1;
	}
	n = (size_t)le16(head + 6) * 4;
	data = malloc(n + 1);
	if (data == NULL || read_full(x->fd, data, n) == -1) {
		snprintf(err, errlen, "X setup reply cut short");
		free(data);
		return -1;
	}
	if (head[0] == 1)
		r = x_setup(x, data, n, scr, err, errlen);
	else {
		/* Failed: reason length in byte 1; Authenticate: padded */
		rlen = head[0] == 0 && head[1] <= n ? head[1] : n;
		data[rlen] = '\0';
		while (rlen > 0 && (data[rlen - 1] == '\0' ||
		    data[rlen - 1] == '\n'))
			data[--rlen] = '\0';
		snprintf(err, errlen, "X server refused the connection: %s",
		    rlen > 0 ? (char *)data : "no reason given");
	}
	free(data);
	return r;
}

struct lst_x11 *
lst_x11_open(int num, int screen, const struct lst_xauth *a, char *err,
    size_t errlen)
{
	struct lst_x11 *x = calloc(1, sizeof(*x));

	if (x == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->fd = x_connect(num, err, errlen);
	if (x->fd == -1)
		goto fail;
	if (x_hello(x->fd, a) == -1) {
		snprintf(err, errlen, "cannot write to the X server: %s",
		    strerror(errno));
		goto fail;
	}
	if (x_reply(x, screen, err, errlen) == -1)
		goto fail;
	return x;
fail:
	lst_x11_close(x);
	return NULL;
}

void
lst_x11_close(struct lst_x11 *x)
{
	if (x == NULL)
		return;
	if (x->fd >= 0)
		close(x->fd);
	free(x->buf);
	free(x);
}

void
lst_x11_size(const struct lst_x11 *x, uint32_t *w, uint32_t *h)
{
	*w = x->w;
	*h = x->h;
}

/* ---- pixels ---- */

static size_t
line_bytes(const struct lst_x11 *x)
{
	size_t bits = (size_t)x->w * (size_t)x->bpp;

	return (bits + (size_t)x->pad - 1) / (size_t)x->pad *
	    (size_t)x->pad / 8;
}

uint32_t
lst_x11_strip_rows(const struct lst_x11 *x)
{
	size_t n = LST_X11_STRIP / line_bytes(x);

	return n == 0 ? 1 : n > x->h ? x->h : (uint32_t)n;
}

/* Wait for the reply to request seq: its data into x->buf, its length
 * into *n.  Events are skipped; an error is reported.  0 or -1. */
static int
x_wait_reply(struct lst_x11 *x, size_t *n, char *err, size_t errlen)
{
	unsigned char h[32], skip[256];
	size_t len, k;

	for (;;) {
		if (read_full(x->fd, h, 32) == -1) {
			snprintf(err, errlen, "X server closed the connection: "
			    "%s", strerror(errno));
			return -1;
		}
		if (h[0] == 0) {
			snprintf(err, errlen, "X server error %d on GetImage",
			    h[1]);
			return -1;
		}
		len = (size_t)le32(h + 4) * 4;
		if (h[0] == 1 && le16(h + 2) == x->seq)
			break;
		/* an event (32 bytes), or a reply or GenericEvent (35) that
		 * is not ours, with more to skip */
		if (h[0] != 1 && (h[0] & 0x7f) != 35)
			continue;
		for (; len > 0; len -= k) {
			k = len < sizeof(skip) ? len : sizeof(skip);
			if (read_full(x->fd, skip, k) == -1)
				return -1;
		}
	}
	if (len > LST_X11_STRIP + line_bytes(x)) {
		snprintf(err, errlen, "X image reply too large");
		return -1;
	}
	if (len > x->bufsize) {
		free(x->buf);
		x->buf = malloc(len);
		x->bufsize = x->buf != NULL ? len : 0;
		if (x->buf == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (read_full(x->fd, x->buf, len) == -1) {
		snprintf(err, errlen, "X image reply cut short");
		return -1;
	}
	*n = len;
	return 0;
}

static unsigned char
channel(const struct lst_x11 *x, uint32_t v, int c)
{
	uint32_t m = (v & x->mask[c]) >> x->shift[c];
	int bits = x->bits[c];

	if (bits == 8)
		return (unsigned char)m;
	if (bits > 8)
		return (unsigned char)(m >> (bits - 8));
	if (bits == 0)
		return 0;
	return (unsigned char)(m * 255 / ((1u << bits) - 1));
}

/* One pixel value at p in the server's image byte order. */
static uint32_t
pixel(const struct lst_x11 *x, const unsigned char *p)
{
	switch (x->bpp) {
	case 32:
		return x->msb ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3] : le32(p);
	case 24:
		return x->msb ? (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 |
		    p[2] : (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16;
	default:
		return x->msb ? (uint32_t)(p[0] << 8 | p[1]) : le16(p);
	}
}

int
lst_x11_rows(struct lst_x11 *x, uint32_t y, uint32_t rows,
    unsigned char *rgb, char *err, size_t errlen)
{
	unsigned char req[20], *o = rgb;
	const unsigned char *line;
	size_t n, lb = line_bytes(x), bpp = (size_t)x->bpp / 8;
	uint32_t r, i, v;

	memset(req, 0, sizeof(req));
	req[0] = X_GET_IMAGE;
	req[1] = X_ZPIXMAP;
	put16(req + 2, 5);
	put32(req + 4, x->root);
	put16(req + 8, 0);
	put16(req + 10, (uint16_t)y);
	put16(req + 12, (uint16_t)x->w);
	put16(req + 14, (uint16_t)rows);
	put32(req + 16, 0xffffffffu);
	x->seq++;
	if (lst_write_all(x->fd, req, sizeof(req)) == -1) {
		snprintf(err, errlen, "cannot write to the X server: %s",
		    strerror(errno));
		return -1;
	}
	if (x_wait_reply(x, &n, err, errlen) == -1)
		return -1;
	if (n < lb * rows) {
		snprintf(err, errlen, "X image reply shorter than asked");
		return -1;
	}
	for (r = 0; r < rows; r++) {
		line = x->buf + (size_t)r * lb;
		for (i = 0; i < x->w; i++) {
			v = pixel(x, line + (size_t)i * bpp);
			*o++ = channel(x, v, 0);
			*o++ = channel(x, v, 1);
			*o++ = channel(x, v, 2);
		}
	}
	return 0;
}
