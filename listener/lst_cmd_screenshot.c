/*
 * lst_cmd_screenshot.c - the "screenshot" command: a PNG of the screen,
 * sent to the hub as "blob" pieces (mime image/png), then the result
 * "done" with the output "WxH PNG, N bytes".
 *
 * All the work runs in a forked child (lst_exec.c), so the loop never
 * waits on an X server: the child finds the display (lst_display.c), then
 * either runs "grim -" (Wayland) or speaks X11 itself (lst_x11.c) and
 * encodes the PNG (lst_png.c) - no X or image library - writing the PNG
 * to its stdout.  The parent keeps it whole (LST_SINK_FILE, at most
 * MC_BLOB_MAX bytes), checks it is a PNG, and hands it to lst_hold.c,
 * which feeds it to the send queue as the queue drains.  A failure is the
 * child's one-line reason on stderr ("no X display found ...", "X server
 * refused the connection: ...").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

/* ---- in the child ---- */

static int
x11_refused(const struct lst_display *d, const char *err)
{
	if (d->xauth[0] == '\0' && strstr(err, "refused") != NULL)
		return lst_child_fail("%s (no MIT-MAGIC-COOKIE-1 for :%d found "
		    "in XAUTHORITY, ~/.Xauthority or the X server's -auth "
		    "file)", err, d->num);
	return lst_child_fail("%s", err);
}

/* Read the root window in strips and write it out as a PNG. */
static int
x11_shot(const struct lst_display *d)
{
	struct lst_xauth a;
	struct lst_x11 *x;
	struct lst_png *png = NULL;
	unsigned char *rgb = NULL;
	char err[MC_TEXT_MAX];
	uint32_t w, h, strip, y, rows, i;
	int r = 1;

	memset(&a, 0, sizeof(a));
	if (d->xauth[0] != '\0')
		lst_xauth_read(d->xauth, d->num, &a);
	x = lst_x11_open(d->num, d->screen, &a, err, sizeof(err));
	explicit_bzero(&a, sizeof(a));
	if (x == NULL)
		return x11_refused(d, err);
	lst_x11_size(x, &w, &h);
	strip = lst_x11_strip_rows(x);
	rgb = malloc((size_t)w * 3 * strip);
	png = rgb != NULL ? lst_png_begin(1, w, h) : NULL;
	if (png == NULL) {
		lst_child_fail("cannot start the PNG (%ux%u): %s", w, h,
		    strerror(errno));
		goto done;
	}
	for (y = 0; y < h; y += rows) {
		rows = h - y < strip ? h - y : strip;
		if (lst_x11_rows(x, y, rows, rgb, err, sizeof(err)) == -1) {
			lst_child_fail("%s", err);
			goto done;
		}
		for (i = 0; i < rows; i++)
			if (lst_png_row(png, rgb + (size_t)i * w * 3) == -1) {
				lst_child_fail("cannot write the PNG");
				goto done;
			}
	}
	r = lst_png_end(png) == -1 ? lst_child_fail("cannot write the PNG") :
	    0;
	png = NULL;
done:
	lst_png_free(png);
	free(rgb);
	lst_x11_close(x);
	return r;
}

static int
shot_child(struct lst *l, const struct mc_cmd *c)
{
	char a0[] = "grim", a1[] = "-", e_path[] = "PATH=/usr/local/bin:"
	    "/usr/bin:/bin";
	char *argv[] = { a0, a1, NULL };
	char *envp[4];
	struct lst_display d;
	char err[MC_TEXT_MAX];

	(void)c;
	if (lst_display_find(l, &d, err, sizeof(err)) == -1)
		return lst_child_fail("%s", err);
	if (!d.wayland)
		return x11_shot(&d);
	envp[0] = e_path;
	envp[1] = d.wl_env[0];
	envp[2] = d.wl_env[1];
	envp[3] = NULL;
	execve(d.grim, argv, envp);
	return lst_child_fail("cannot run %s (%s): %s", d.grim, d.how,
	    strerror(errno));
}

/* ---- on the loop ---- */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
shot_finish(struct lst_job *j, struct mc_result *r)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r',
	    '\n', 0x1a, '\n' };
	const unsigned char *p = (const unsigned char *)j->file.data;
	size_t len = j->file.len;
	char text[96], *file;
	int n;

	if (lst_exec_child_failed(j, r) || r->outcome != MC_DONE) {
		lst_cmd_result(j->l, r);
		return;
	}
	if (len < 24 || memcmp(p, sig, 8) != 0 || memcmp(p + 12, "IHDR",
	    4) != 0) {
		r->outcome = MC_FAILED;
		r->exit_code = -1;
		mc_strlcpy(r->error, "the screenshot is not a PNG",
		    sizeof(r->error));
		lst_cmd_result(j->l, r);
		return;
	}
	n = snprintf(text, sizeof(text), "%ux%u PNG, %zu bytes\n",
	    (unsigned)be32(p + 16), (unsigned)be32(p + 20), len);
	mc_info("command %s: screenshot %.*s", j->id, n - 1, text);
	lst_cmd_output(j->l, j->id, text, (size_t)n, j->cap);
	r->out_bytes = (uint64_t)n;
	r->truncated = j->cap < (uint64_t)n;
	file = mc_buf_take(&j->file, &len);
	lst_hold_file(j->l, r, "image/png", file, len);
}

void
lst_cmd_screenshot(struct lst *l, const struct mc_cmd *c)
{
	struct lst_spawn s;
	char err[MC_TEXT_MAX];

	memset(&s, 0, sizeof(s));
	s.fn = shot_child;
	s.sink = LST_SINK_FILE;
	s.finish = shot_finish;
	if (lst_exec_spawn(l, c, &s, err, sizeof(err)) == -1)
		lst_cmd_fail(l, c->id, err);
}
