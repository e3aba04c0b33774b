/*
 * lst_cmd_shell.c - the "shell" command: run a command line with
 * /bin/sh -c in its own process group (the runner is lst_exec.c), as the
 * run_as user when the config names one.
 *
 * The command gets a clean environment - PATH, HOME, LANG, USER and
 * LOGNAME of the user it runs as, nothing of ours - and that HOME as its
 * working directory.  Switching to another user needs the listener to run
 * as root; run_as naming the listener's own user needs nothing.  The
 * account comes from /etc/passwd and /etc/group (lst_user.c), read per
 * command so a user added later is found.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lst.h"

#define SAFE_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
			"/sbin:/bin"

int
lst_shell_user(struct lst *l, struct lst_user *u, int *sw, char *err,
    size_t errlen)
{
	const char *name = l->conf.run_as;

	*sw = 0;
	if (name[0] == '\0') {
		if (lst_user_find(NULL, getuid(), u) == -1) {
			memset(u, 0, sizeof(*u));
			u->uid = getuid();
		}
		mc_strlcpy(u->home, l->home, sizeof(u->home));
		return 0;
	}
	if (lst_user_find(name, 0, u) == -1) {
		snprintf(err, errlen, "run_as user '%s' not found", name);
		return -1;
	}
	if (u->uid == geteuid() && u->uid == getuid())
		return 0;
	if (geteuid() != 0) {
		snprintf(err, errlen, "run_as user '%s' needs the listener to "
		    "run as root (it runs as uid %u)", name,
		    (unsigned)geteuid());
		return -1;
	}
	*sw = 1;
	return 0;
}

void
lst_cmd_shell(struct lst *l, const struct mc_cmd *c)
{
	char a0[] = "sh", a1[] = "-c", e_path[] = "PATH=" SAFE_PATH;
	char e_lang[] = "LANG=C.UTF-8", e_home[MC_PATH_MAX + 8];
	char e_user[80], e_logname[80], err[MC_TEXT_MAX];
	char *argv[] = { a0, a1, (char *)c->cmd, NULL };
	char *envp[6] = { e_path, e_home, e_lang, NULL, NULL, NULL };
	struct lst_spawn s;
	struct lst_user u;
	int sw;

	if (c->cmd[0] == '\0') {
		lst_cmd_fail(l, c->id, "shell command line is empty");
		return;
	}
	if (lst_shell_user(l, &u, &sw, err, sizeof(err)) == -1) {
		lst_cmd_fail(l, c->id, err);
		return;
	}
	snprintf(e_home, sizeof(e_home), "HOME=%s", u.home);
	if (u.name[0] != '\0') {
		snprintf(e_user, sizeof(e_user), "USER=%s", u.name);
		snprintf(e_logname, sizeof(e_logname), "LOGNAME=%s", u.name);
		envp[3] = e_user;
		envp[4] = e_logname;
	}
	memset(&s, 0, sizeof(s));
	s.path = "/bin/sh";
	s.argv = argv;
	s.envp = envp;
	s.cwd = u.home;
	s.user = sw ? &u : NULL;
	s.sink = LST_SINK_STREAM;
	if (lst_exec_spawn(l, c, &s, err, sizeof(err)) == -1)
		lst_cmd_fail(l, c->id, err);
}
