/*
 * ctl_tty.c - the local terminal under hubctl term: raw mode and its
 * restoration, the window size, and signals turned into bytes on a pipe.
 *
 * Raw mode is cfmakeraw() on stdin when stdin is a terminal; the settings
 * from before are put back by ctl_tty_restore(), which hubctl term calls
 * on every way out.  That includes SIGTERM, SIGHUP and SIGINT: while
 * hubctl term runs they do not kill it but, like SIGWINCH, arrive as one
 * byte each on a self-pipe its poll loop watches.  The handler only
 * writes that byte and sets a flag (errno kept), nothing else.  They are
 * installed without SA_RESTART, so a write to stdout that blocks returns
 * EINTR and the caller can see that it is to end (ctl_tty_ending()).
 *
 * One terminal per process: the state is this file's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"
#include "mc_term.h"

static const int tty_sigs[] = { SIGWINCH, SIGTERM, SIGHUP, SIGINT,
    SIGQUIT };
#define NSIGS	(sizeof(tty_sigs) / sizeof(tty_sigs[0]))

static int			 sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t	 ending;	/* SIGTERM, SIGHUP, ... */
static struct sigaction		 old_act[NSIGS], old_pipe;
static int			 installed;
static struct termios		 saved;		/* stdin before raw mode */
static int			 raw;

static void
on_signal(int sig)
{
	int keep = errno;
	unsigned char b = (unsigned char)sig;
	ssize_t n;

	if (sig != SIGWINCH)
		ending = sig;
	/* a full pipe already holds enough to wake the loop */
	n = write(sig_pipe[1], &b, 1);
	(void)n;
	errno = keep;
}

int
ctl_tty_signals(void)
{
	struct sigaction sa;
	size_t i;

	if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: see the top */
	for (i = 0; i < NSIGS; i++)
		sigaction(tty_sigs[i], &sa, &old_act[i]);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);
	installed = 1;
	return sig_pipe[0];
}

void
ctl_tty_signals_end(void)
{
	size_t i;

	if (installed) {
		for (i = 0; i < NSIGS; i++)
			sigaction(tty_sigs[i], &old_act[i], NULL);
		sigaction(SIGPIPE, &old_pipe, NULL);
	}
	installed = 0;
	for (i = 0; i < 2; i++) {
		if (sig_pipe[i] != -1)
			close(sig_pipe[i]);
		sig_pipe[i] = -1;
	}
}

int
ctl_tty_signal(void)
{
	unsigned char b;

	if (sig_pipe[0] == -1 || read(sig_pipe[0], &b, 1) != 1)
		return 0;
	return b;
}

int
ctl_tty_ending(void)
{
	return ending;
}

int
ctl_tty_raw(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved) == -1) {
		fprintf(stderr, "hubctl: cannot read the terminal's settings: "
		    "%s\n", strerror(errno));
		return -1;
	}
	t = saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == -1) {
		fprintf(stderr, "hubctl: cannot put the terminal in raw mode: "
		    "%s\n", strerror(errno));
		return -1;
	}
	raw = 1;
	return 0;
}

void
ctl_tty_restore(void)
{
	if (!raw)
		return;
	/* EINTR: a signal on its way out must not leave the terminal raw */
	while (tcsetattr(STDIN_FILENO, TCSADRAIN, &saved) == -1 &&
	    errno == EINTR)
		;
	raw = 0;
}

void
ctl_tty_size(int *cols, int *rows)
{
	static const int fds[] = { STDIN_FILENO, STDOUT_FILENO,
	    STDERR_FILENO };
	struct winsize ws;
	size_t i;

	*cols = 80;
	*rows = 24;
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (ioctl(fds[i], TIOCGWINSZ, &ws) == -1 || ws.ws_col == 0 ||
		    ws.ws_row == 0)
			continue;
		*cols = ws.ws_col > MC_TERM_DIM_MAX ? MC_TERM_DIM_MAX :
		    ws.ws_col;
		*rows = ws.ws_row > MC_TERM_DIM_MAX ? MC_TERM_DIM_MAX :
		    ws.ws_row;
		return;
	}
}
