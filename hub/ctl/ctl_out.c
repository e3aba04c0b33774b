/*
 * ctl_out.c - how hubctl prints: safe text, aligned tables, times, sizes.
 *
 * Agent names, tags, facts and error texts are free text chosen by whoever
 * runs a listener, so nothing from the hub reaches the terminal unfiltered
 * except a command's own output (which the operator asked for): control
 * characters (C0, DEL, C1), bidirectional overrides and invalid UTF-8 are
 * printed as '?', so no name can move the cursor, retitle the terminal or
 * make one agent look like another.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "mc_util.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes) and its code
 * point, or 0 if it is not valid. */
static size_t
utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len, i;
	unsigned lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	*cp = s[0] & (0xff >> (len + 1));
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	return len;
}

static int
cp_unsafe(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Terminal columns of a code point: a rough wcwidth() that needs no
 * locale, enough to keep tables straight for CJK names and emoji. */
static size_t
cp_width(unsigned cp)
{
	static const unsigned wide[][2] = { { 0x1100, 0x115f },
	    { 0x2e80, 0x303e }, { 0x3041, 0x33ff }, { 0x3400, 0x4dbf },
	    { 0x4e00, 0x9fff }, { 0xa000, 0xa4cf }, { 0xac00, 0xd7a3 },
	    { 0xf900, 0xfaff }, { 0xfe30, 0xfe4f }, { 0xff00, 0xff60 },
	    { 0xffe0, 0xffe6 }, { 0x1f300, 0x1f64f }, { 0x1f900, 0x1f9ff },
	    { 0x20000, 0x3fffd } };
	size_t i;

	if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0xfe00 && cp <= 0xfe0f))
		return 0;
	for (i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		if (cp >= wide[i][0] && cp <= wide[i][1])
			return 2;
	return 1;
}

/* ctl_safe() within maxw columns; *cut says whether text was left out. */
static size_t
safe_copy(const char *s, char *out, size_t outlen, size_t maxw, int *cut)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), o = 0, len, width = 0, w;
	unsigned cp;
	int bad;

	*cut = 0;
	if (outlen == 0)
		return 0;
	while (n > 0) {
		len = utf8_seq(p, n, &cp);
		bad = len == 0 || cp_unsafe(cp);
		w = bad ? 1 : cp_width(cp);
		if (width + w > maxw || o + (bad ? 1 : len) >= outlen) {
			*cut = 1;
			break;
		}
		if (bad) {
			out[o++] = '?';
			len = len ? len : 1;
		} else {
			memcpy(out + o, p, len);
			o += len;
		}
		width += w;
		p += len;
		n -= len;
	}
	out[o] = '\0';
	return width;
}

size_t
ctl_safe(const char *s, char *out, size_t outlen)
{
	int cut;

	return safe_copy(s, out, outlen, (size_t)-1, &cut);
}

size_t
ctl_safe_cut(const char *s, size_t maxw, char *out, size_t outlen)
{
	size_t w;
	int cut;

	w = safe_copy(s, out, outlen, maxw, &cut);
	if (!cut || outlen < 4 || maxw < 4)
		return w;
	/* room for "...": keep maxw - 3 columns */
	w = safe_copy(s, out, outlen - 3, maxw - 3, &cut);
	mc_strlcpy(out + strlen(out), "...", 4);
	return w + 3;
}

void
ctl_put_safe(void *fp, const char *s)
{
	char buf[4096];

	ctl_safe(s, buf, sizeof(buf));
	fputs(buf, fp);
}

void
ctl_ago(double ts, char *out, size_t outlen)
{
	double d = mc_wall() - ts;

	if (ts <= 0) {
		snprintf(out, outlen, "never");
		return;
	}
	if (d < 0)
		d = 0;
	if (d < 60)
		snprintf(out, outlen, "%ds ago", (int)d);
	else if (d < 3600)
		snprintf(out, outlen, "%dm ago", (int)(d / 60));
	else if (d < 86400)
		snprintf(out, outlen, "%dh ago", (int)(d / 3600));
	else
		snprintf(out, outlen, "%dd ago", (int)(d / 86400));
}

void
ctl_duration(double secs, char *out, size_t outlen)
{
	static const struct { double secs; char unit; } units[] = {
	    { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' } };
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (secs >= units[i].secs && secs / units[i].secs ==
		    (double)(long long)(secs / units[i].secs)) {
			snprintf(out, outlen, "%lld%c",
			    (long long)(secs / units[i].secs), units[i].unit);
			return;
		}
	}
	snprintf(out, outlen, "%gs", secs);
}

void
ctl_bytes(double n, char *out, size_t outlen)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
	    "PiB" };
	size_t u = 0;

	while (n >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		n /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%.0f B", n);
	else
		snprintf(out, outlen, "%.1f %s", n, units[u]);
}

void
ctl_uptime(double secs, char *out, size_t outlen)
{
	long s = secs > 0 ? (long)secs : 0;
	long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;

	if (d > 0)
		snprintf(out, outlen, "%ldd %ldh %ldm", d, h, m);
	else if (h > 0)
		snprintf(out, outlen, "%ldh %ldm", h, m);
	else
		snprintf(out, outlen, "%ldm %lds", m, s % 60);
}

void
ctl_date(double ts, char *out, size_t outlen)
{
	time_t t = (time_t)ts;
	struct tm tm;

	if (ts <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, outlen, "never");
}

int
ctl_urlenc(const char *s, char *out, size_t outlen)
{
	static const char digits[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	for (; *p; p++) {
		if (o + 4 > outlen)
			return -1;
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
			out[o++] = (char)*p;
			continue;
		}
		out[o++] = '%';
		out[o++] = digits[*p >> 4];
		out[o++] = digits[*p & 15];
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return 0;
}

void
ctl_print_body(const struct ctl_resp *r)
{
	if (r->body.len == 0)
		return;
	fwrite(r->body.data, 1, r->body.len, stdout);
	if (r->body.data[r->body.len - 1] != '\n')
		putchar('\n');
}

void
ctl_table_init(struct ctl_table *t, int ncols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols < CTL_TABLE_COLS ? ncols : CTL_TABLE_COLS;
	mc_buf_init(&t->cells, CTL_RESPONSE_MAX);
}

void
ctl_table_add(struct ctl_table *t, const char *cell)
{
	char safe[1024];
	size_t w = ctl_safe(cell, safe, sizeof(safe));
	int col = t->ncells % t->ncols;

	if (mc_buf_append(&t->cells, safe, strlen(safe) + 1) == -1) {
		t->err = 1;
		return;
	}
	if (w > t->width[col])
		t->width[col] = w;
	t->ncells++;
}

/* Display width of safe (already filtered, so valid) text. */
static size_t
width_of(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), w = 0, len;
	unsigned cp;

	while (n > 0) {
		len = utf8_seq(p, n, &cp);
		if (len == 0)
			len = 1;
		else
			w += cp_width(cp);
		p += len;
		n -= len;
	}
	return w;
}

int
ctl_table_print(struct ctl_table *t)
{
	const char *cell = t->cells.data;
	size_t pad;
	int i, col;

	for (i = 0; i < t->ncells; i++) {
		col = i % t->ncols;
		fputs(cell, stdout);
		if (col == t->ncols - 1 || i == t->ncells - 1) {
			putchar('\n');
		} else {
			pad = t->width[col] - width_of(cell) + 2;
			while (pad-- > 0)
				putchar(' ');
		}
		cell += strlen(cell) + 1;
	}
	mc_buf_free(&t->cells);
	if (t->err) {
		fprintf(stderr, "hubctl: out of memory for the table\n");
		return -1;
	}
	return 0;
}

int
ctl_print_list(const struct ctl_resp *r, const char *key, const char *what,
    const char *const *head, int ncols, ctl_row_fn row, size_t *count)
{
	const struct mc_json *arr, *e;
	struct ctl_table t;
	int i;

	arr = r->doc != NULL ? mc_json_get(mc_json_root(r->doc), key) : NULL;
	if (arr == NULL || arr->type != MC_JARR) {
		fprintf(stderr, "hubctl: the hub's answer has no %s list\n",
		    what);
		return CTL_EXIT_FAIL;
	}
	if (count != NULL)
		*count = arr->len;
	ctl_table_init(&t, ncols);
	for (i = 0; i < ncols; i++)
		ctl_table_add(&t, head[i]);
	for (e = arr->child; e != NULL; e = e->next)
		if (e->type == MC_JOBJ)
			row(&t, e);
	return ctl_table_print(&t) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

const char *
ctl_jstr(const struct mc_json *o, const char *key, const char *dflt)
{
	const char *s = mc_json_str(o, key);

	return s != NULL && *s != '\0' ? s : dflt;
}
