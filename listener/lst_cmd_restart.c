/*
 * lst_cmd_restart.c - the "restart" command: answer it done
 * ("restarting"), wait up to LST_RESTART_ACK_WAIT for the hub's ack of
 * that result, say goodbye with reason "restart", and start a fresh copy
 * of this program on the way out.
 *
 * How the fresh copy starts:
 * - under systemd (INVOCATION_ID is set): exit LST_EXIT_RESTART (75);
 *   the unit's RestartForceExitStatus=75 starts it again, keeping the
 *   unit's supervision, cgroup and journal;
 * - otherwise: fork, and the child execs the executable this process
 *   started from (its /proc/self/exe read at start: after an upgrade
 *   replaced the file the link reads "... (deleted)", while the path
 *   names the new binary) with the same arguments.  The parent waits for
 *   the exec through a close-on-exec pipe and exits 0, so the new
 *   process has a new pid.  It reuses the credential in the state dir.
 * Every descriptor we open is close-on-exec and the lws context is gone
 * by then; the child marks any other one close-on-exec too, so nothing
 * leaks into the new process.  If the hub never acknowledges, the new
 * process's hello (a new boot id) tells the hub the restart happened.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

void
lst_restart_init(struct lst *l, char **argv)
{
	ssize_t n;

	l->argv = argv;
	n = readlink("/proc/self/exe", l->self_exe, sizeof(l->self_exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(l->self_exe) - 1) {
		l->self_exe[0] = '\0';
		mc_warn("cannot read /proc/self/exe; the restart command will "
		    "not work outside systemd");
		return;
	}
	l->self_exe[n] = '\0';
}

void
lst_restart_now(struct lst *l)
{
	lws_sul_cancel(&l->sul_restart);
	/* a SIGTERM or stop meanwhile wins: leave, do not come back */
	if (l->leaving)
		return;
	l->restart = 1;
	lst_ws_leave(l, "restart", 0);
}

static void
restart_cb(lws_sorted_usec_list_t *sul)
{
	struct lst *l = lws_container_of(sul, struct lst, sul_restart);

	mc_warn("no acknowledgement of the restart within %.0f s; restarting "
	    "anyway", LST_RESTART_ACK_WAIT);
	lst_restart_now(l);
}

void
lst_restart_acked(struct lst *l, const char *id)
{
	if (l->restart_id[0] != '\0' && strcmp(l->restart_id, id) == 0)
		lst_restart_now(l);
}

void
lst_cmd_restart(struct lst *l, const struct mc_cmd *c)
{
	static const char text[] = "restarting\n";
	struct mc_result r;

	lst_cmd_started(l, c->id, getpid());
	lst_cmd_output(l, c->id, text, sizeof(text) - 1, c->cap);
	memset(&r, 0, sizeof(r));
	mc_strlcpy(r.id, c->id, sizeof(r.id));
	r.outcome = MC_DONE;
	r.exit_code = 0;
	r.out_bytes = sizeof(text) - 1;
	r.truncated = c->cap < sizeof(text) - 1;
	lst_cmd_result(l, &r);
	mc_info("restart requested by the hub");
	lst_restart_after_ack(l, c->id);
}

void
lst_restart_after_ack(struct lst *l, const char *id)
{
	mc_strlcpy(l->restart_id, id, sizeof(l->restart_id));
	lws_sul_schedule(l->ctx, 0, &l->sul_restart, restart_cb,
	    (lws_usec_t)(LST_RESTART_ACK_WAIT * LWS_USEC_PER_SEC));
}

/* In the child: ordinary signals for the new program, every descriptor
 * but 0-2 close-on-exec, then exec.  Reports errno on the pipe. */
static void __attribute__((noreturn))
child_exec(struct lst *l, int fd)
{
	sigset_t none;
	int e, i;

	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
		for (i = 3; i < 1024; i++)
			if (i != fd)
				fcntl(i, F_SETFD, FD_CLOEXEC);
	execv(l->self_exe, l->argv);
	e = errno;
	lst_write_all(fd, &e, sizeof(e));
	_exit(127);
}

int
lst_restart_exec(struct lst *l)
{
	int p[2], e = 0;
	ssize_t n;
	pid_t pid;

	if (getenv("INVOCATION_ID") != NULL) {
		mc_info("restarting: exit %d so that systemd starts a fresh "
		    "copy", LST_EXIT_RESTART);
		return LST_EXIT_RESTART;
	}
	if (l->self_exe[0] == '\0') {
		mc_err("cannot restart: this program's path is unknown");
		return 1;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		mc_err("cannot restart: %s", strerror(errno));
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		mc_err("cannot restart: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return 1;
	}
	if (pid == 0)
		child_exec(l, p[1]);
	close(p[1]);
	do {
		n = read(p[0], &e, sizeof(e));
	} while (n == -1 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(e)) {
		mc_err("cannot restart %s: %s", l->self_exe, strerror(e));
		return 1;
	}
	mc_info("restarted: %s runs as pid %d", l->self_exe, (int)pid);
	return 0;
}
