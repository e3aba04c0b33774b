/*
 * lst_user.c - user accounts, read from /etc/passwd and /etc/group
 * directly.
 *
 * The listener is one static file: glibc's getpwuid() and initgroups()
 * there would try to load NSS modules of whatever glibc the machine has.
 * Local accounts are all the listener needs (HOME for commands, the
 * run_as user with its groups), so it reads the files database itself.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lst.h"

/* Split line at ':' into at most n fields in place; the count. */
static int
split(char *line, char **f, int n)
{
	int i = 0;

	while (i < n) {
		f[i++] = line;
		line = strchr(line, ':');
		if (line == NULL)
			break;
		*line++ = '\0';
	}
	return i;
}

static int
parse_id(const char *s, uint32_t *out)
{
	int64_t v;

	if (mc_parse_i64(s, 0, UINT32_MAX - 1, &v) == -1)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* A passwd line: name:pw:uid:gid:gecos:home:shell.  0 if usable. */
static int
passwd_entry(const char *line, struct lst_user *u)
{
	char copy[1024], *f[7];
	uint32_t uid, gid;
	int n;

	memset(u, 0, sizeof(*u));
	if (mc_strlcpy(copy, line, sizeof(copy)) == -1)
		return -1;
	n = split(copy, f, 7);
	if (n < 6 || f[0][0] == '\0' ||
	    parse_id(f[2], &uid) == -1 || parse_id(f[3], &gid) == -1 ||
	    f[5][0] != '/' ||
	    mc_strlcpy(u->name, f[0], sizeof(u->name)) == -1 ||
	    mc_strlcpy(u->home, f[5], sizeof(u->home)) == -1)
		return -1;
	/* a shell that does not fit is no shell: /bin/sh then */
	if (n == 7 && f[6][0] == '/' &&
	    mc_strlcpy(u->shell, f[6], sizeof(u->shell)) == -1)
		u->shell[0] = '\0';
	u->uid = (uid_t)uid;
	u->gid = (gid_t)gid;
	return 0;
}

/* 1 if the comma list has name. */
static int
list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (*p != '\0') {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0' ||
		    p[n] == '\n' || p[n] == '\r'))
			return 1;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return 0;
}

/* The primary group and every group listing u as a member
 * (name:pw:gid:member,member). */
static void
user_groups(struct lst_user *u)
{
	char *text, *line, *next, copy[4096], *f[4];
	uint32_t gid;

	u->groups[0] = u->gid;
	u->ngroups = 1;
	text = mc_read_file("/etc/group", 4 * 1024 * 1024, NULL);
	if (text == NULL)
		return;
	for (line = text; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		if (mc_strlcpy(copy, line, sizeof(copy)) == -1 ||
		    split(copy, f, 4) < 4 || !list_has(f[3], u->name) ||
		    parse_id(f[2], &gid) == -1 || (gid_t)gid == u->gid)
			continue;
		if (u->ngroups == LST_GROUPS_MAX)
			break;
		u->groups[u->ngroups++] = (gid_t)gid;
	}
	free(text);
}

int
lst_user_find(const char *name, uid_t uid, struct lst_user *u)
{
	char *text, *line, *next;
	int r = -1;

	text = mc_read_file("/etc/passwd", 4 * 1024 * 1024, NULL);
	if (text == NULL)
		return -1;
	for (line = text; *line != '\0' && r == -1; line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		if (passwd_entry(line, u) == -1)
			continue;
		if (name != NULL ? strcmp(u->name, name) == 0 : u->uid == uid)
			r = 0;
	}
	free(text);
	if (r == 0)
		user_groups(u);
	return r;
}

int
lst_user_home(uid_t uid, char *out, size_t size)
{
	struct lst_user u;

	if (lst_user_find(NULL, uid, &u) == -1)
		return -1;
	return mc_strlcpy(out, u.home, size);
}
