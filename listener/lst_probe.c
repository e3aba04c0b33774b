/*
 * lst_probe.c - sampler children: a helper program the listener asks for
 * figures (nvidia-smi), run off the heartbeat path so that a helper that
 * hangs or is slow never delays a heartbeat or a command.
 *
 * Rules kept here:
 * - The child gets /dev/null as stdin and stderr, a pipe as stdout, our
 *   environment, an empty signal mask, default dispositions, no other
 *   descriptor of ours, / as its directory, its own session and process
 *   group, and dies with the listener; it is started with vfork() (why:
 *   child_run()) and calls only async-signal-safe functions before exec.
 * - The read end is non-blocking and adopted into the loop like a
 *   command's (lst_exec.c); stdout is kept up to a limit, past which the
 *   child is killed (a helper gone mad cannot grow our heap).
 * - Past its deadline the whole process group gets SIGKILL (a shell
 *   script's sleep as well as the script) and the pipe stops being read.
 * - The done hook runs on the loop once the child is reaped and its pipe
 *   closed; SIGCHLD reaches lst_probe_reap() through the loop, so nothing
 *   ever waits.  The probe is idle again when the hook runs (the hook may
 *   start the next call); the output is freed when the hook returns.
 * - Unlike a command, a probe is not recorded for lst_orphans.c: it dies
 *   with the listener (PR_SET_PDEATHSIG) and holds nothing worth a sweep.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

/* ---- the child side ---- */

/*
 * The child is started with vfork(): it borrows our address space until
 * its exec, so the listener pays for no page-table copy, no copy-on-write
 * fault on each page it writes afterwards and no TLB flush (all costly in
 * a VM).  Measured here, per call, in the parent's CPU: fork 4.6 ms,
 * posix_spawn 0.25 ms (glibc maps and unmaps a stack for its child every
 * time), vfork 0.10 ms.  Until exec the child makes system calls only,
 * writes no memory of ours but its own stack frame, and never returns.
 */
static void __attribute__((noreturn))
child_run(const char *path, const char *const argv[], int out, int null,
    pid_t parent)
{
	int fd;

	lst_child_signals();
	setsid();
	if (dup2(null, 0) == -1 || dup2(out, 1) == -1 || dup2(null, 2) == -1)
		_exit(127);
	if (close_range(3, ~0U, 0) == -1)	/* kernels before 5.9 */
		for (fd = 3; fd < LST_FDS_MAX; fd++)
			close(fd);
	if (lst_child_tied(parent) == -1 || chdir("/") == -1)
		_exit(127);
	/* its argv is char *const[] for old C's sake; it writes none */
	execv(path, (char *const *)argv);
	_exit(127);
}

/* ---- finishing ---- */

/* Reaped and its pipe closed: tell the owner why it ended. */
static void
probe_maybe_done(struct lst_probe *p)
{
	char why[160], empty[1] = "";
	const char *w = NULL;
	struct mc_buf out;

	if (p->pid == 0 || !p->reaped || p->wsi != NULL)
		return;
	if (p->killed)
		snprintf(why, sizeof(why), "no answer within %g s; killed",
		    p->deadline);
	else if (p->over)
		snprintf(why, sizeof(why), "more than %zu bytes of output; "
		    "killed", p->out.limit);
	else if (WIFSIGNALED(p->wstatus))
		snprintf(why, sizeof(why), "killed by signal %d",
		    WTERMSIG(p->wstatus));
	else if (WEXITSTATUS(p->wstatus) == 127)
		snprintf(why, sizeof(why), "cannot be run (exit status 127)");
	else if (WEXITSTATUS(p->wstatus) != 0)
		snprintf(why, sizeof(why), "exited with status %d",
		    WEXITSTATUS(p->wstatus));
	if (p->killed || p->over || !WIFEXITED(p->wstatus) ||
	    WEXITSTATUS(p->wstatus) != 0)
		w = why;
	lws_sul_cancel(&p->sul_deadline);
	out = p->out;
	mc_buf_init(&p->out, 0);
	p->pid = 0;
	/* mc_buf keeps its data NUL-terminated; NULL when nothing came */
	p->done(p, w, out.data != NULL ? out.data : empty, out.len);
	mc_buf_free(&out);
}

static void
deadline_cb(lws_sorted_usec_list_t *sul)
{
	struct lst_probe *p = lws_container_of(sul, struct lst_probe,
	    sul_deadline);

	p->killed = 1;
	/* once the leader is reaped its group id is only safe to use while
	 * a member still holds the pipe */
	if (!p->reaped || p->wsi != NULL)
		kill(-p->pid, SIGKILL);
	if (p->wsi != NULL)
		lws_set_timeout(p->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT,
		    LWS_TO_KILL_ASYNC);
}

void
lst_probe_reap(struct lst_probe *p)
{
	int st;

	if (p->pid == 0 || p->reaped || waitpid(p->pid, &st, WNOHANG) != p->pid)
		return;
	p->reaped = 1;
	p->wstatus = st;
	probe_maybe_done(p);
}

void
lst_probe_kill(struct lst_probe *p)
{
	if (p->pid == 0)
		return;
	lws_sul_cancel(&p->sul_deadline);
	/* no waiting: a helper stuck in a driver call (state D) dies only
	 * when the call returns, and must not hold up our exit */
	if (!p->reaped) {
		kill(-p->pid, SIGKILL);
		waitpid(p->pid, &p->wstatus, WNOHANG);
	}
	/* idle: closing its pipe with the context must not call the hook */
	p->pid = 0;
}

void
lst_probe_free(struct lst_probe *p)
{
	mc_buf_free(&p->out);
	p->pid = 0;
}

/* ---- the pipe ---- */

static int
probe_read(struct lst_probe *p, int fd)
{
	char buf[4096];
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;	/* EOF: lws closes it, then RAW_CLOSE_FILE */
	if (p->over)
		return 0;
	if (mc_buf_append(&p->out, buf, (size_t)n) == -1) {
		p->over = 1;
		if (!p->reaped)
			kill(-p->pid, SIGKILL);
	}
	return 0;
}

int
lst_probe_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct lst_probe *p = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	if (p == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		return probe_read(p, lws_get_socket_fd(wsi));
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		p->wsi = NULL;
		probe_maybe_done(p);
		break;
	default:
		break;
	}
	return 0;
}

/* ---- starting ---- */

static int
pipe_adopt(struct lst_probe *p, int fd)
{
	lws_adopt_desc_t a;

	memset(&a, 0, sizeof(a));
	a.vh = p->l->vh;
	a.type = LWS_ADOPT_RAW_FILE_DESC;
	a.fd.filefd = fd;
	a.vh_prot_name = "lst-probe";
	a.opaque = p;
	p->wsi = lws_adopt_descriptor_vhost_via_info(&a);
	return p->wsi != NULL ? 0 : -1;
}

int
lst_probe_start(struct lst_probe *p, const char *path, const char *const argv[],
    size_t max, double deadline)
{
	int fds[2] = { -1, -1 }, null = -1, fl, r;
	pid_t parent = getpid(), pid;

	if (p->pid != 0 || p->l->vh == NULL) {
		errno = EBUSY;
		return -1;
	}
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null == -1 || pipe2(fds, O_CLOEXEC) == -1)
		goto fail;
	fl = fcntl(fds[0], F_GETFL);
	if (fl == -1 || fcntl(fds[0], F_SETFL, fl | O_NONBLOCK) == -1)
		goto fail;
	pid = vfork();
	if (pid == -1)
		goto fail;
	if (pid == 0)
		child_run(path, argv, fds[1], null, parent);
	close(fds[1]);
	close(null);
	p->pid = pid;
	p->reaped = p->killed = p->over = 0;
	p->deadline = deadline;
	mc_buf_init(&p->out, max);
	if (pipe_adopt(p, fds[0]) == -1)
		mc_warn("%s: cannot watch its output; this call's is lost",
		    p->what);	/* lws closed fds[0] */
	lws_sul_schedule(p->l->ctx, 0, &p->sul_deadline, deadline_cb,
	    (lws_usec_t)(deadline * LWS_USEC_PER_SEC));
	mc_debug("%s: started, pid %d", p->what, (int)pid);
	return 0;
fail:
	r = errno;
	if (null != -1)
		close(null);
	if (fds[0] != -1) {
		close(fds[0]);
		close(fds[1]);
	}
	errno = r;
	return -1;
}
