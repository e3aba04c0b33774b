/*
 * lst_exec.c - the process runner: a program (a shell command, grim) or
 * a function in a forked child (Docker, X11 screenshot) in its own
 * process group, its output streamed from non-blocking pipes adopted
 * into the event loop, so the loop itself never blocks on any of them.
 *
 * Rules kept here:
 * - The child gets /dev/null as stdin, two pipes as stdout and stderr,
 *   the environment its caller built, an empty signal mask, default
 *   signal dispositions, no descriptor of ours, its own session and
 *   process group, and the run_as user's groups and ids if asked.  A
 *   program's child calls only async-signal-safe functions before
 *   exec().  A function child runs ordinary code: the listener has no
 *   other thread, so nothing can hold a lock it needs; it never returns
 *   to the loop and leaves with _exit().
 * - The read ends are adopted with LWS_ADOPT_RAW_FILE_DESC; each
 *   LWS_CALLBACK_RAW_RX_FILE reads at most MC_OUT_CHUNK bytes and sends
 *   them as one "out" message at once (a UTF-8 sequence split by the read
 *   is held back for the next one).  lws owns and closes the read ends.
 * - Output is counted in full but forwarded only up to the command's cap
 *   and while the send queue takes it; after that it is dropped and the
 *   result says truncated.  A file (LST_SINK_FILE) is kept whole up to
 *   MC_BLOB_MAX; past that the child is killed.  A function's stderr is
 *   kept (LST_ERRTEXT_MAX bytes) as the reason it failed.
 * - A timeout SIGKILLs the whole process group and stops reading.
 * - The result goes out when both pipes are closed and the child has been
 *   reaped; SIGCHLD reaches lst_exec_reap() through the loop, so nothing
 *   ever waits.  The spawn's finish hook makes it (a file, a failure).
 * - The jobs in flight are on disk from start to result (lst_orphans.c),
 *   so that a listener killed with SIGKILL has what they leave behind
 *   killed at its next start.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

/* The descriptors a child gets, and how many to close after them. */
struct child_fds {
	int	in, out, err;
	int	maxfd;
	pid_t	parent;		/* the listener */
};

/* ---- the child side ---- */

/* Default dispositions and an empty mask: ignored signals (SIGPIPE ours,
 * SIGINT/SIGQUIT from a shell's background job) would survive exec. */
void
lst_child_signals(void)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Async-signal-safe: a fixed message on stderr. */
static void
child_say(const char *msg)
{
	ssize_t n = write(2, msg, strlen(msg));

	(void)n;
}

/* Become the run_as user: groups first, then gid, then uid (after which
 * none of it could be changed back). */
int
lst_child_user(const struct lst_user *u)
{
	if (u == NULL)
		return 0;
	if (setgroups((size_t)u->ngroups, u->groups) == -1 ||
	    setgid(u->gid) == -1 || setuid(u->uid) == -1) {
		child_say("maestro-listener: cannot switch to the run_as "
		    "user\n");
		return -1;
	}
	return 0;
}

/*
 * The command dies with its listener: a listener killed with SIGKILL
 * (OOM killer, kill -9) must not leave a command running that nobody
 * will report or stop.  Set after the user switch, which clears it.  If
 * the listener died before this, the parent is already someone else.
 * This ties the first process only; the rest of its session is killed
 * at the listener's next start (lst_orphans.c).
 */
int
lst_child_tied(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		return 0;	/* not fatal: the old behaviour */
	return getppid() == parent ? 0 : -1;
}

static void __attribute__((noreturn))
child_run(struct lst *l, const struct mc_cmd *c, const struct lst_spawn *s,
    const struct child_fds *f)
{
	int fd;

	lst_child_signals();
	setsid();
	if (dup2(f->in, 0) == -1 || dup2(f->out, 1) == -1 ||
	    dup2(f->err, 2) == -1)
		_exit(127);
	if (close_range(3, ~0U, 0) == -1)
		for (fd = 3; fd < f->maxfd; fd++)
			close(fd);
	if (lst_child_user(s->user) == -1)
		_exit(126);
	if (lst_child_tied(f->parent) == -1)
		_exit(127);
	if (chdir(s->cwd != NULL ? s->cwd : "/") == -1 && chdir("/") == -1)
		_exit(127);
	if (s->fn != NULL)
		_exit(s->fn(l, c));
	execve(s->path, s->argv, s->envp);
	child_say("maestro-listener: cannot run ");
	child_say(s->path);
	child_say("\n");
	_exit(127);
}

void
lst_child_vline(int fd, const char *fmt, va_list ap)
{
	char line[2 * MC_TEXT_MAX];
	int n;

	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)lst_write_all(fd, line, (size_t)n);
}

void
lst_child_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lst_child_vline(1, fmt, ap);
	va_end(ap);
}

int
lst_child_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lst_child_vline(2, fmt, ap);
	va_end(ap);
	return 1;
}

int
lst_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- jobs ---- */

static struct lst_job *
job_free_slot(struct lst *l)
{
	int i;

	for (i = 0; i < MC_LST_RUNNING_MAX; i++)
		if (!l->jobs[i].used)
			return &l->jobs[i];
	return NULL;
}

static int
exit_code(const struct lst_job *j)
{
	if (WIFEXITED(j->wstatus))
		return WEXITSTATUS(j->wstatus);
	if (WIFSIGNALED(j->wstatus))
		return 128 + WTERMSIG(j->wstatus);
	return -1;
}

static void
job_release(struct lst_job *j)
{
	mc_buf_free(&j->file);
	mc_buf_free(&j->errtext);
	j->used = 0;
}

int
lst_exec_child_failed(struct lst_job *j, struct mc_result *r)
{
	const char *why;

	if (r->outcome != MC_DONE)
		return 0;
	if (j->file_over) {
		snprintf(r->error, sizeof(r->error), "the file is over %d MiB",
		    MC_BLOB_MAX / (1024 * 1024));
	} else if (r->exit_code != 0) {
		why = j->errtext.data != NULL ? mc_trim(j->errtext.data) : "";
		if (why[0] != '\0')
			mc_strlcpy(r->error, why, sizeof(r->error));
		else if (r->exit_code > 128)
			snprintf(r->error, sizeof(r->error), "killed by signal "
			    "%d", r->exit_code - 128);
		else
			snprintf(r->error, sizeof(r->error), "exited with "
			    "status %d", r->exit_code);
	} else
		return 0;
	r->outcome = MC_FAILED;
	r->exit_code = -1;
	return 1;
}

/* Both pipes closed and the child reaped: report and free the slot. */
static void
job_maybe_finish(struct lst_job *j)
{
	struct mc_result r;

	if (!j->used || !j->reaped || j->pipes[0].wsi != NULL ||
	    j->pipes[1].wsi != NULL)
		return;
	memset(&r, 0, sizeof(r));
	mc_strlcpy(r.id, j->id, sizeof(r.id));
	r.outcome = j->timed_out ? MC_TIMEOUT : MC_DONE;
	r.exit_code = exit_code(j);
	r.truncated = j->truncated;
	r.out_bytes = j->out_bytes;
	r.duration = mc_now() - j->started;
	if (j->timed_out)
		snprintf(r.error, sizeof(r.error), "timed out after %g s; "
		    "process group killed", j->timeout);
	lws_sul_cancel(&j->sul_timeout);
	mc_info("command %s %s, exit %d, %llu output bytes%s", r.id,
	    mc_outcome_name(r.outcome), r.exit_code,
	    (unsigned long long)r.out_bytes, r.truncated ? " (truncated)" :
	    "");
	if (j->finish != NULL)
		j->finish(j, &r);
	else
		lst_cmd_result(j->l, &r);
	job_release(j);
	lst_orphans_save(j->l);
}

/* Forward n bytes of output, within the cap and the queue's bound. */
static void
job_output(struct lst_job *j, enum mc_stream stream, const void *data,
    size_t n)
{
	struct mc_out o;

	if (n == 0)
		return;
	if (j->truncated)
		return;
	if (n > j->cap - j->sent_bytes) {
		n = (size_t)(j->cap - j->sent_bytes);
		j->truncated = 1;
		if (n == 0)
			return;
	}
	memset(&o, 0, sizeof(o));
	mc_strlcpy(o.id, j->id, sizeof(o.id));
	o.stream = stream;
	o.data = data;
	o.len = n;
	o.has_at = 1;
	o.at = j->sent_bytes;
	if (mc_out_encode(lst_ws_buf(j->l), &o) == -1 ||
	    lst_ws_send_out(j->l, LST_Q_OUT, j->id) == -1) {
		mc_warn("command %s: send queue full; dropping the rest of its "
		    "output", j->id);
		j->truncated = 1;
		return;
	}
	j->sent_bytes += n;
}

static void
timeout_cb(lws_sorted_usec_list_t *sul)
{
	struct lst_job *j = lws_container_of(sul, struct lst_job, sul_timeout);
	int i;

	mc_warn("command %s timed out after %g s; killing its process group",
	    j->id, j->timeout);
	j->timed_out = 1;
	/* once the leader is reaped, its group id is only safe to use
	 * while members still hold the pipes */
	if (!j->reaped || j->pipes[0].wsi != NULL || j->pipes[1].wsi != NULL)
		kill(-j->pid, SIGKILL);
	/* a process that left the group may still hold the pipes: stop
	 * reading so the result does not wait for it */
	for (i = 0; i < 2; i++)
		if (j->pipes[i].wsi != NULL)
			lws_set_timeout(j->pipes[i].wsi,
			    PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
}

void
lst_exec_reap(struct lst *l)
{
	struct lst_job *j;
	int i, st;

	for (i = 0; i < MC_LST_RUNNING_MAX; i++) {
		j = &l->jobs[i];
		if (!j->used || j->reaped)
			continue;
		if (waitpid(j->pid, &st, WNOHANG) != j->pid)
			continue;
		j->reaped = 1;
		j->wstatus = st;
		job_maybe_finish(j);
	}
}

void
lst_exec_free_all(struct lst *l)
{
	int i;

	for (i = 0; i < MC_LST_RUNNING_MAX; i++)
		if (l->jobs[i].used)
			job_release(&l->jobs[i]);
}

void
lst_exec_kill_all(struct lst *l)
{
	struct lst_job *j;
	int i;

	for (i = 0; i < MC_LST_RUNNING_MAX; i++) {
		j = &l->jobs[i];
		if (!j->used)
			continue;
		lws_sul_cancel(&j->sul_timeout);
		if (j->reaped)
			continue;
		mc_warn("killing command %s (pid %d) as the listener exits",
		    j->id, (int)j->pid);
		kill(-j->pid, SIGKILL);
		if (waitpid(j->pid, &j->wstatus, WNOHANG) == j->pid)
			j->reaped = 1;
	}
}

/* ---- pipes ---- */

/* Bytes at the end of buf that start a UTF-8 sequence the next read will
 * complete (0 if the buffer ends on a boundary or in invalid bytes). */
static size_t
utf8_tail(const unsigned char *buf, size_t n)
{
	size_t i = n, need;

	while (i > 0 && n - i < 3 && (buf[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0 || buf[i - 1] < 0xC0)
		return 0;
	need = buf[i - 1] >= 0xF0 ? 4 : buf[i - 1] >= 0xE0 ? 3 : 2;
	return n - (i - 1) < need ? n - (i - 1) : 0;
}

/* Keep n bytes of a file; past MC_BLOB_MAX kill the child.  0 or -1. */
static int
file_keep(struct lst_job *j, const void *data, size_t n)
{
	if (mc_buf_append(&j->file, data, n) == 0)
		return 0;
	mc_warn("command %s: its file is over %d bytes; killing it", j->id,
	    MC_BLOB_MAX);
	j->file_over = 1;
	if (!j->reaped)
		kill(-j->pid, SIGKILL);
	return -1;
}

/* Keep the start of a function's stderr as its error text. */
static void
errtext_keep(struct lst_job *j, const void *data, size_t n)
{
	size_t room = j->errtext.limit - j->errtext.len;

	mc_buf_append(&j->errtext, data, n < room ? n : room);
}

static int
pipe_read(struct lst_pipe *p, int fd)
{
	unsigned char buf[MC_OUT_CHUNK];
	struct lst_job *j = p->job;
	size_t have, keep;
	ssize_t n;

	if (p->stream == MC_STDOUT && j->sink == LST_SINK_FILE) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		j->out_bytes += (uint64_t)n;
		return n == 0 ? -1 : file_keep(j, buf, (size_t)n);
	}
	if (p->stream == MC_STDERR && j->err_kept) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		errtext_keep(j, buf, (size_t)n);
		return n == 0 ? -1 : 0;
	}
	memcpy(buf, p->carry, p->ncarry);
	n = read(fd, buf + p->ncarry, sizeof(buf) - p->ncarry);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;	/* EOF: lws closes it, then RAW_CLOSE_FILE */
	p->job->out_bytes += (uint64_t)n;
	have = p->ncarry + (size_t)n;
	keep = utf8_tail(buf, have);
	memcpy(p->carry, buf + have - keep, keep);
	p->ncarry = keep;
	job_output(p->job, p->stream, buf, have - keep);
	return 0;
}

static void
pipe_closed(struct lst_pipe *p)
{
	job_output(p->job, p->stream, p->carry, p->ncarry);
	p->ncarry = 0;
	p->wsi = NULL;
	job_maybe_finish(p->job);
}

int
lst_exec_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct lst_pipe *p = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	if (p == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		return pipe_read(p, lws_get_socket_fd(wsi));
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		pipe_closed(p);
		break;
	default:
		break;
	}
	return 0;
}

/* Hand fd to the loop as pipe i of j.  On failure lws has closed fd. */
static void
pipe_adopt(struct lst *l, struct lst_job *j, int i, int fd)
{
	lws_adopt_desc_t a;
	struct lst_pipe *p = &j->pipes[i];

	p->job = j;
	p->stream = i == 0 ? MC_STDOUT : MC_STDERR;
	p->ncarry = 0;
	memset(&a, 0, sizeof(a));
	a.vh = l->vh;
	a.type = LWS_ADOPT_RAW_FILE_DESC;
	a.fd.filefd = fd;
	a.vh_prot_name = "lst-pipe";
	a.opaque = p;
	p->wsi = lws_adopt_descriptor_vhost_via_info(&a);
	if (p->wsi == NULL)
		mc_err("command %s: cannot watch its %s; that output is lost",
		    j->id, i == 0 ? "stdout" : "stderr");
}

/* ---- starting ---- */

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ? -1 : 0;
}

static void
close_all(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] != -1) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* fds: stdout read, stdout write, stderr read, stderr write, /dev/null.
 * Only the read ends are non-blocking: the child's writes block. */
static int
open_fds(int fds[5])
{
	if (pipe2(fds, O_CLOEXEC) == -1 || pipe2(fds + 2, O_CLOEXEC) == -1)
		return -1;
	fds[4] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fds[4] == -1 || set_nonblock(fds[0]) == -1 ||
	    set_nonblock(fds[2]) == -1)
		return -1;
	return 0;
}

static int
max_fd(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > 65536)
		return 65536;
	return (int)rl.rlim_cur;
}

static void
job_init(struct lst *l, struct lst_job *j, const struct mc_cmd *c,
    const struct lst_spawn *s, pid_t pid)
{
	memset(j, 0, sizeof(*j));
	j->l = l;
	j->used = 1;
	mc_strlcpy(j->id, c->id, sizeof(j->id));
	j->pid = pid;
	/* not reaped yet, so its /proc entry is there even if it exited */
	j->start = lst_orphans_start_time(pid);
	j->started = mc_now();
	j->timeout = c->timeout;
	j->cap = c->cap;
	j->sink = s->sink;
	j->err_kept = s->fn != NULL;
	j->finish = s->finish;
	mc_buf_init(&j->file, MC_BLOB_MAX);
	mc_buf_init(&j->errtext, LST_ERRTEXT_MAX);
}

int
lst_exec_spawn(struct lst *l, const struct mc_cmd *c,
    const struct lst_spawn *s, char *err, size_t errlen)
{
	int fds[5] = { -1, -1, -1, -1, -1 };
	struct lst_job *j = job_free_slot(l);
	struct child_fds f;
	pid_t pid;

	if (j == NULL) {
		snprintf(err, errlen, "too many running commands");
		return -1;
	}
	if (open_fds(fds) == -1)
		goto fail;
	f = (struct child_fds){ .in = fds[4], .out = fds[1], .err = fds[3],
	    .maxfd = max_fd(), .parent = getpid() };
	pid = fork();
	if (pid == -1)
		goto fail;
	if (pid == 0)
		child_run(l, c, s, &f);
	close(fds[1]);
	close(fds[3]);
	close(fds[4]);
	job_init(l, j, c, s, pid);
	mc_info("command %s started: pid %d", j->id, (int)pid);
	lst_cmd_started(l, j->id, pid);
	lst_orphans_save(l);
	pipe_adopt(l, j, 0, fds[0]);
	pipe_adopt(l, j, 1, fds[2]);
	lws_sul_schedule(l->ctx, 0, &j->sul_timeout, timeout_cb,
	    (lws_usec_t)(j->timeout * LWS_USEC_PER_SEC));
	return 0;
fail:
	snprintf(err, errlen, "cannot start a process: %s", strerror(errno));
	close_all(fds, 5);
	return -1;
}
