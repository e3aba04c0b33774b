/*
 * lst_user.c - user accounts, read from /etc/passwd directly.
 *
 * The listener is one static file: glibc's getpwuid() there would try to
 * load NSS modules of whatever glibc the machine has.  Local accounts are
 * all the listener needs (HOME for commands now, run_as later), so it
 * reads the files database itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lst.h"

/* Field n (0-based) of a passwd line, NUL-terminated in place. */
static char *
field(char *line, int n)
{
	char *p = line, *e;

	while (n-- > 0) {
		p = strchr(p, ':');
		if (p == NULL)
			return NULL;
		p++;
	}
	e = strchr(p, ':');
	if (e != NULL)
		*e = '\0';
	return p;
}

/* 1 if the passwd line belongs to uid. */
static int
line_is_uid(const char *line, uid_t uid)
{
	char copy[512], *f;
	int64_t v;

	if (mc_strlcpy(copy, line, sizeof(copy)) == -1 ||
	    (f = field(copy, 2)) == NULL)
		return 0;
	return mc_parse_i64(f, 0, UINT32_MAX, &v) == 0 && (uid_t)v == uid;
}

int
lst_user_home(uid_t uid, char *out, size_t size)
{
	char *text, *line, *next, *home;
	int r = -1;

	text = mc_read_file("/etc/passwd", 4 * 1024 * 1024, NULL);
	if (text == NULL)
		return -1;
	for (line = text; *line != '\0' && r == -1; line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		if (!line_is_uid(line, uid))
			continue;
		home = field(line, 5);
		if (home == NULL || home[0] != '/')
			continue;
		r = mc_strlcpy(out, home, size);
	}
	free(text);
	return r;
}
