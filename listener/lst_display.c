/*
 * lst_display.c - where a screenshot comes from, also when the listener
 * runs as a service with no DISPLAY in its environment.
 *
 * The first of these wins:
 *  1. config "display" (":N" or ":N.S"): that X display;
 *  2. WAYLAND_DISPLAY in our environment, with grim installed: Wayland;
 *  3. DISPLAY in our environment: that X display;
 *  4. a Wayland socket /run/user/UID/wayland-N, with grim: Wayland;
 *  5. the lowest X display with a socket: /tmp/.X11-unix/XN, or an
 *     abstract @/tmp/.X11-unix/XN listed in /proc/net/unix.
 * The cookie for X display :N comes from the first file holding one for
 * N: $XAUTHORITY, ~/.Xauthority ($HOME, then the account's home), the
 * "-auth FILE" of the X server of :N (Xorg, Xvfb, X... in
 * /proc/PID/cmdline), then XAUTHORITY (or HOME/.Xauthority) of a process
 * whose environment has DISPLAY=:N.  The /proc scans are bounded: LST_PROC_SCAN processes,
 * LST_PROC_READ bytes of each file.
 * Runs in a forked child (lst_cmd_screenshot.c), so it may take its time.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lst.h"

#define LST_PROC_SCAN		4096
#define LST_PROC_READ		(64 * 1024)
#define SEARCH_PATH		"/usr/local/bin:/usr/bin:/bin"

static const char *const x_servers[] = {
	"X", "Xorg", "Xvfb", "Xwayland", "Xephyr", "Xvnc", "Xtigervnc",
	"Xnest", "Xdummy", NULL
};

/* Up to size-1 bytes of a file, NUL-terminated (a longer file is cut).
 * The byte count, or -1. */
static ssize_t
read_some(const char *path, char *buf, size_t size)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return -1;
	while ((size_t)got < size - 1) {
		n = read(fd, buf + got, size - 1 - (size_t)got);
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

/* ":N", ":N.S", "unix:N[.S]" -> num, screen.  0 or -1. */
static int
parse_display(const char *s, int *num, int *screen)
{
	int64_t v;
	char copy[64], *dot;

	if (strncmp(s, "unix:", 5) == 0)
		s += 4;
	if (s[0] != ':' || mc_strlcpy(copy, s + 1, sizeof(copy)) == -1)
		return -1;
	*screen = 0;
	dot = strchr(copy, '.');
	if (dot != NULL) {
		*dot++ = '\0';
		if (mc_parse_i64(dot, 0, 255, &v) == -1)
			return -1;
		*screen = (int)v;
	}
	if (mc_parse_i64(copy, 0, 65535, &v) == -1)
		return -1;
	*num = (int)v;
	return 0;
}

/* ---- Wayland ---- */

static int
find_grim(char *out, size_t size)
{
	char dirs[] = SEARCH_PATH, *d, *next;

	for (d = dirs; d != NULL; d = next) {
		next = strchr(d, ':');
		if (next != NULL)
			*next++ = '\0';
		snprintf(out, size, "%s/grim", d);
		if (access(out, X_OK) == 0)
			return 0;
	}
	out[0] = '\0';
	return -1;
}

/* A wayland-N socket in /run/user/UID.  0 with the environment set. */
static int
wayland_socket(struct lst_display *d)
{
	char dir[MC_PATH_MAX], path[2 * MC_PATH_MAX];
	struct dirent *u, *e;
	struct stat st;
	DIR *top, *sub;
	int found = 0;

	top = opendir("/run/user");
	if (top == NULL)
		return -1;
	for (u = readdir(top); u != NULL && !found; u = readdir(top)) {
		if (!isdigit((unsigned char)u->d_name[0]))
			continue;
		snprintf(dir, sizeof(dir), "/run/user/%s", u->d_name);
		sub = opendir(dir);
		if (sub == NULL)
			continue;
		for (e = readdir(sub); e != NULL && !found; e = readdir(sub)) {
			if (strncmp(e->d_name, "wayland-", 8) != 0 ||
			    strchr(e->d_name, '.') != NULL)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (stat(path, &st) == -1 || !S_ISSOCK(st.st_mode))
				continue;
			snprintf(d->wl_env[0], sizeof(d->wl_env[0]),
			    "WAYLAND_DISPLAY=%s", e->d_name);
			snprintf(d->wl_env[1], sizeof(d->wl_env[1]),
			    "XDG_RUNTIME_DIR=%s", dir);
			snprintf(d->how, sizeof(d->how), "Wayland socket %.120s",
			    path);
			found = 1;
		}
		closedir(sub);
	}
	closedir(top);
	return found ? 0 : -1;
}

/* ---- X sockets ---- */

/* The lowest N of "XN" names in /tmp/.X11-unix, or -1. */
static int
x_socket_files(void)
{
	struct dirent *e;
	int64_t v;
	int best = -1;
	DIR *dir = opendir("/tmp/.X11-unix");

	if (dir == NULL)
		return -1;
	for (e = readdir(dir); e != NULL; e = readdir(dir))
		if (e->d_name[0] == 'X' &&
		    mc_parse_i64(e->d_name + 1, 0, 65535, &v) == 0 &&
		    (best == -1 || v < best))
			best = (int)v;
	closedir(dir);
	return best;
}

/* The lowest N of abstract "@/tmp/.X11-unix/XN" sockets, or -1. */
static int
x_socket_abstract(void)
{
	static const char key[] = "@/tmp/.X11-unix/X";
	char *text, *p, *line, *next;
	int64_t v;
	int best = -1;

	text = malloc(1024 * 1024);
	if (text == NULL)
		return -1;
	if (read_some("/proc/net/unix", text, 1024 * 1024) < 0) {
		free(text);
		return -1;
	}
	for (line = text; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		p = strstr(line, key);
		if (p != NULL && mc_parse_i64(p + sizeof(key) - 1, 0, 65535,
		    &v) == 0 && (best == -1 || v < best))
			best = (int)v;
	}
	free(text);
	return best;
}

/* ---- cookies ---- */

/* 1 if path holds a cookie for display num (and keep path). */
static int
try_auth(struct lst_display *d, const char *path)
{
	struct lst_xauth a;

	if (path == NULL || path[0] == '\0' ||
	    lst_xauth_read(path, d->num, &a) == -1 || !a.found)
		return 0;
	mc_strlcpy(d->xauth, path, sizeof(d->xauth));
	explicit_bzero(&a, sizeof(a));
	return 1;
}

/* The display number an X server's arguments name (":N"), default 0. */
static int
server_display(const char *args, size_t n)
{
	const char *a;
	int64_t v;

	for (a = args; a < args + n; a += strlen(a) + 1)
		if (a[0] == ':' && mc_parse_i64(a + 1, 0, 65535, &v) == 0)
			return (int)v;
	return 0;
}

/* An X server process of display num: its "-auth FILE". */
static int
auth_from_cmdline(struct lst_display *d, const char *buf, size_t n)
{
	const char *a, *base;
	size_t i;

	base = strrchr(buf, '/');
	base = base != NULL ? base + 1 : buf;
	for (i = 0; x_servers[i] != NULL; i++)
		if (strcmp(base, x_servers[i]) == 0)
			break;
	if (x_servers[i] == NULL || server_display(buf, n) != d->num)
		return 0;
	for (a = buf; a < buf + n; a += strlen(a) + 1)
		if (strcmp(a, "-auth") == 0 && a + strlen(a) + 1 < buf + n)
			return try_auth(d, a + strlen(a) + 1);
	return 0;
}

/* A process whose environment has DISPLAY=:num: its XAUTHORITY, else
 * its HOME/.Xauthority. */
static int
auth_from_environ(struct lst_display *d, const char *buf, size_t n)
{
	const char *a, *xa = NULL, *home = NULL;
	char path[MC_PATH_MAX];
	int num, screen, match = 0;

	for (a = buf; a < buf + n; a += strlen(a) + 1) {
		if (strncmp(a, "DISPLAY=", 8) == 0)
			match = parse_display(a + 8, &num, &screen) == 0 &&
			    num == d->num;
		else if (strncmp(a, "XAUTHORITY=", 11) == 0)
			xa = a + 11;
		else if (strncmp(a, "HOME=", 5) == 0)
			home = a + 5;
	}
	if (!match)
		return 0;
	if (try_auth(d, xa))
		return 1;
	if (home == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/.Xauthority", home);
	return try_auth(d, path);
}

/* Scan /proc: X servers' command lines first (pass 0), then
 * environments (pass 1).  1 if a cookie file was found. */
static int
auth_from_proc(struct lst_display *d, int pass)
{
	char path[64], *buf;
	struct dirent *e;
	ssize_t n;
	int found = 0, seen = 0;
	DIR *proc;

	proc = opendir("/proc");
	buf = malloc(LST_PROC_READ);
	if (proc == NULL || buf == NULL)
		goto done;
	for (e = readdir(proc); e != NULL && !found && seen < LST_PROC_SCAN;
	    e = readdir(proc)) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		seen++;
		snprintf(path, sizeof(path), "/proc/%.20s/%s", e->d_name,
		    pass == 0 ? "cmdline" : "environ");
		n = read_some(path, buf, LST_PROC_READ);
		if (n <= 0)
			continue;
		found = pass == 0 ? auth_from_cmdline(d, buf, (size_t)n) :
		    auth_from_environ(d, buf, (size_t)n);
	}
done:
	free(buf);
	if (proc != NULL)
		closedir(proc);
	return found;
}

static void
find_cookie(const struct lst *l, struct lst_display *d)
{
	const char *home = getenv("HOME");
	char path[MC_PATH_MAX + 16];

	d->xauth[0] = '\0';
	if (try_auth(d, getenv("XAUTHORITY")))
		return;
	if (home != NULL && home[0] == '/') {
		snprintf(path, sizeof(path), "%s/.Xauthority", home);
		if (try_auth(d, path))
			return;
	}
	snprintf(path, sizeof(path), "%s/.Xauthority", l->home);
	if (try_auth(d, path))
		return;
	if (auth_from_proc(d, 0))
		return;
	auth_from_proc(d, 1);
}

/* ---- the order ---- */

static int
use_wayland_env(struct lst_display *d)
{
	const char *wd = getenv("WAYLAND_DISPLAY");
	const char *rt = getenv("XDG_RUNTIME_DIR");

	if (wd == NULL || wd[0] == '\0' || find_grim(d->grim,
	    sizeof(d->grim)) == -1)
		return -1;
	snprintf(d->wl_env[0], sizeof(d->wl_env[0]), "WAYLAND_DISPLAY=%s",
	    wd);
	snprintf(d->wl_env[1], sizeof(d->wl_env[1]), "XDG_RUNTIME_DIR=%s",
	    rt != NULL ? rt : "");
	snprintf(d->how, sizeof(d->how), "WAYLAND_DISPLAY=%.64s", wd);
	d->wayland = 1;
	return 0;
}

int
lst_display_find(const struct lst *l, struct lst_display *d, char *err,
    size_t errlen)
{
	const char *env = getenv("DISPLAY");
	int n;

	memset(d, 0, sizeof(*d));
	if (l->conf.display[0] != '\0') {
		if (parse_display(l->conf.display, &d->num, &d->screen) == -1) {
			snprintf(err, errlen, "display '%s' in listener.conf is "
			    "not a local X display such as :0",
			    l->conf.display);
			return -1;
		}
		snprintf(d->how, sizeof(d->how), "display = %.60s",
		    l->conf.display);
	} else if (use_wayland_env(d) == 0)
		return 0;
	else if (env != NULL && env[0] != '\0') {
		if (parse_display(env, &d->num, &d->screen) == -1) {
			snprintf(err, errlen, "DISPLAY=%s is not a local X "
			    "display (set display = :0 in listener.conf)", env);
			return -1;
		}
		snprintf(d->how, sizeof(d->how), "DISPLAY=%.60s", env);
	} else if (find_grim(d->grim, sizeof(d->grim)) == 0 &&
	    wayland_socket(d) == 0) {
		d->wayland = 1;
		return 0;
	} else {
		n = x_socket_files();
		if (n == -1)
			n = x_socket_abstract();
		if (n == -1 && wayland_socket(d) == 0) {
			snprintf(err, errlen, "a Wayland session is running but "
			    "grim is not installed (it takes Wayland "
			    "screenshots), and no X display was found");
			return -1;
		}
		if (n == -1) {
			snprintf(err, errlen, "no X display found (set display "
			    "= :0 in listener.conf)");
			return -1;
		}
		d->num = n;
		snprintf(d->how, sizeof(d->how), "X socket of :%d", n);
	}
	find_cookie(l, d);
	return 0;
}
