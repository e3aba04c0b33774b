/*
 * lst_term_pty.c - a terminal session's PTY and the login shell on it.
 *
 * The master is opened non-blocking and close-on-exec, with the window
 * size the hub asked for and IUTF8 set (so a line being edited loses
 * whole characters to backspace).  The shell is made the way lst_exec.c
 * makes commands - default signal dispositions and an empty mask, no
 * descriptor of ours, the run_as user's groups and ids, dying with the
 * listener - and in a session of its own with the slave as its
 * controlling terminal, stdin, stdout and stderr.  It is the user's login
 * shell from /etc/passwd (/bin/sh if none), started as a login shell
 * ("-bash") in the user's home, with TERM=xterm-256color, HOME, USER,
 * LOGNAME, SHELL, a standard PATH and LANG=C.UTF-8: nothing of the
 * listener's own environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "lst.h"

#define TERM_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
			"/sbin:/bin"

/* What the child runs, all made before fork() so that the child only
 * calls async-signal-safe functions. */
struct shell_exec {
	const char	*path;
	char		 argv0[sizeof(((struct lst_user *)0)->shell) + 1];
						/* "-" and the shell's name */
	char		*argv[2];
	char		 e_home[MC_PATH_MAX + 8], e_user[80], e_logname[80];
	char		 e_shell[300];
	char		*envp[8];
	const char	*cwd;
	const struct lst_user *user;	/* switch to it, or NULL */
	int		 sfd;		/* the slave */
	int		 nfds;		/* descriptors to close if
					 * close_range() is missing */
	pid_t		 parent;
};

static void
exec_prepare(struct shell_exec *x, const struct lst_user *u, int sw)
{
	static char e_term[] = "TERM=xterm-256color";
	static char e_path[] = "PATH=" TERM_PATH;
	static char e_lang[] = "LANG=C.UTF-8";
	const char *base;
	int n = 0;

	x->path = u->shell[0] != '\0' ? u->shell : "/bin/sh";
	base = strrchr(x->path, '/');
	base = base != NULL ? base + 1 : x->path;
	snprintf(x->argv0, sizeof(x->argv0), "-%s", base);
	x->argv[0] = x->argv0;
	x->argv[1] = NULL;
	snprintf(x->e_home, sizeof(x->e_home), "HOME=%s", u->home);
	snprintf(x->e_shell, sizeof(x->e_shell), "SHELL=%s", x->path);
	x->envp[n++] = e_term;
	x->envp[n++] = e_path;
	x->envp[n++] = e_lang;
	x->envp[n++] = x->e_home;
	x->envp[n++] = x->e_shell;
	if (u->name[0] != '\0') {
		snprintf(x->e_user, sizeof(x->e_user), "USER=%s", u->name);
		snprintf(x->e_logname, sizeof(x->e_logname), "LOGNAME=%s",
		    u->name);
		x->envp[n++] = x->e_user;
		x->envp[n++] = x->e_logname;
	}
	x->envp[n] = NULL;
	x->cwd = u->home[0] != '\0' ? u->home : "/";
	x->user = sw ? u : NULL;
	x->parent = getpid();
	x->nfds = LST_FDS_MAX;
}

/* Async-signal-safe: a fixed message on the terminal, which the user
 * sees before the session ends. */
static void
child_say(const char *a, const char *b)
{
	ssize_t n;

	n = write(2, a, strlen(a));
	n = write(2, b, strlen(b));
	n = write(2, "\r\n", 2);
	(void)n;
}

static void __attribute__((noreturn))
child_run(const struct shell_exec *x)
{
	int fd;

	lst_child_signals();
	if (setsid() == -1 || ioctl(x->sfd, TIOCSCTTY, 0) == -1)
		_exit(127);
	if (dup2(x->sfd, 0) == -1 || dup2(x->sfd, 1) == -1 ||
	    dup2(x->sfd, 2) == -1)
		_exit(127);
	if (close_range(3, ~0U, 0) == -1)
		for (fd = 3; fd < x->nfds; fd++)
			close(fd);
	if (lst_child_user(x->user) == -1)
		_exit(126);
	if (lst_child_tied(x->parent) == -1)
		_exit(127);
	if (chdir(x->cwd) == -1 && chdir("/") == -1)
		_exit(127);
	execve(x->path, x->argv, x->envp);
	child_say("maestro-listener: cannot run the login shell ", x->path);
	_exit(127);
}

int
lst_term_pty_resize(int fd, int cols, int rows)
{
	struct winsize ws;

	memset(&ws, 0, sizeof(ws));
	ws.ws_col = (unsigned short)cols;
	ws.ws_row = (unsigned short)rows;
	return ioctl(fd, TIOCSWINSZ, &ws);
}

/* A master (returned) and its slave (*sfd), both close-on-exec. */
static int
pty_open(int cols, int rows, int *sfd)
{
	char name[64];
	struct termios tio;
	int mfd, fl;

	*sfd = -1;
	mfd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (mfd == -1)
		return -1;
	if (grantpt(mfd) == -1 || unlockpt(mfd) == -1 ||
	    ptsname_r(mfd, name, sizeof(name)) != 0)
		goto fail;
	*sfd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*sfd == -1)
		goto fail;
	if (tcgetattr(*sfd, &tio) == 0) {
		tio.c_iflag |= IUTF8;
		tcsetattr(*sfd, TCSANOW, &tio);
	}
	fl = fcntl(mfd, F_GETFL);
	if (fl == -1 || fcntl(mfd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    lst_term_pty_resize(mfd, cols, rows) == -1)
		goto fail;
	return mfd;
fail:
	fl = errno;
	if (*sfd != -1)
		close(*sfd);
	*sfd = -1;
	close(mfd);
	errno = fl;
	return -1;
}

int
lst_term_pty_start(struct lst *l, struct lst_tsess *s, int cols, int rows,
    char *err, size_t errlen)
{
	struct shell_exec x;
	struct lst_user u;
	int mfd, sfd, sw;
	pid_t pid;

	if (lst_shell_user(l, &u, &sw, err, errlen) == -1)
		return -1;
	mfd = pty_open(cols, rows, &sfd);
	if (mfd == -1) {
		snprintf(err, errlen, "cannot open a PTY: %s", strerror(errno));
		return -1;
	}
	memset(&x, 0, sizeof(x));
	exec_prepare(&x, &u, sw);
	x.sfd = sfd;
	pid = fork();
	if (pid == -1) {
		snprintf(err, errlen, "cannot start a process: %s",
		    strerror(errno));
		close(sfd);
		close(mfd);
		return -1;
	}
	if (pid == 0)
		child_run(&x);
	s->pid = pid;
	s->sfd = sfd;
	return mfd;
}
