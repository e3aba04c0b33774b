/*
 * lst_ctr_proc.c - the container tracker on the loop: it starts the
 * child that follows the Docker engine, reads its records from a pipe
 * adopted into lws, and starts a fresh child when one dies.
 *
 * Why a child process and not a non-blocking HTTP client in the loop:
 * the engine's answers (an inspect is several KiB of JSON, a list can be
 * MiBs) are parsed with the blocking client the docker commands already
 * use (lst_docker.c), the parse buffers live and die in the child instead
 * of the listener's heap, and an engine that hangs (it does, with a stuck
 * storage driver) can only stall the child, never a heartbeat.  The loop
 * sees fixed-size records (struct lst_ctr_rec) of containers that
 * changed, which costs it nothing between changes.
 *
 * Rules kept here:
 * - The child gets the pipe's write end as fd 3 and no other descriptor
 *   of ours; it dies with the listener (PDEATHSIG) and is killed by pid
 *   on exit.
 * - A child that dies, or a pipe that closes, drops the container part
 *   from heartbeats (one log line) and a fresh child starts after a
 *   backoff (LST_CTR_BACKOFF_MIN doubling to MC_BACKOFF_CAP).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

static void	ctr_spawn(struct lst_ctr *t);

static void
spawn_cb(lws_sorted_usec_list_t *sul)
{
	ctr_spawn(lws_container_of(sul, struct lst_ctr, sul_spawn));
}

/* The child is gone or unusable: forget its containers, try again. */
static void
ctr_lost(struct lst_ctr *t, const char *why)
{
	struct lst_ctr_rec down;

	if (t->l->leaving || t->l->done)
		return;
	memset(&down, 0, sizeof(down));
	down.type = LST_CTR_R_DOWN;
	lst_ctr_apply(&t->tab, &down);
	mc_warn("container tracker %s; a new one in %.0f s", why, t->backoff);
	lws_sul_schedule(t->l->ctx, 0, &t->sul_spawn, spawn_cb,
	    (lws_usec_t)(t->backoff * LWS_USEC_PER_SEC));
	t->backoff *= 2;
	if (t->backoff > MC_BACKOFF_CAP)
		t->backoff = MC_BACKOFF_CAP;
}

static void __attribute__((noreturn))
child_main(struct lst *l, int wfd, pid_t parent)
{
	lst_child_signals();
	setsid();
	if (dup2(wfd, 3) == -1)
		_exit(127);
	if (close_range(4, ~0U, 0) == -1) {
		int fd;

		for (fd = 4; fd < LST_FDS_MAX; fd++)
			close(fd);
	}
	if (lst_child_tied(parent) == -1 || chdir("/") == -1)
		_exit(127);
	lst_ctr_child_run(l->conf.docker_socket, 3,
	    l->conf.container_check_every);
}

static int
ctr_adopt(struct lst_ctr *t, int fd)
{
	lws_adopt_desc_t a;

	memset(&a, 0, sizeof(a));
	a.vh = t->l->vh;
	a.type = LWS_ADOPT_RAW_FILE_DESC;
	a.fd.filefd = fd;
	a.vh_prot_name = "lst-ctr";
	a.opaque = t;
	t->wsi = lws_adopt_descriptor_vhost_via_info(&a);
	return t->wsi != NULL ? 0 : -1;
}

static void
ctr_spawn(struct lst_ctr *t)
{
	int p[2];
	pid_t pid, parent = getpid();

	/* the one before, killed when its pipe closed, if SIGCHLD has not
	 * come round yet: collect it now rather than lose its pid */
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
		t->pid = 0;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		ctr_lost(t, strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0)
		child_main(t->l, p[1], parent);
	close(p[1]);
	if (pid == -1) {
		close(p[0]);
		ctr_lost(t, "cannot fork");
		return;
	}
	t->pid = pid;
	t->rlen = 0;
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) == -1 || ctr_adopt(t, p[0]) == -1) {
		/* lws closed p[0] if the adoption failed */
		kill(pid, SIGKILL);
		t->wsi = NULL;
		ctr_lost(t, "cannot watch its pipe");
		return;
	}
	mc_debug("container tracker started (pid %d)", (int)pid);
}

int
lst_ctr_start(struct lst *l)
{
	struct lst_ctr *t;

	if (!l->conf.containers) {
		mc_info("containers = no: Docker's containers are not followed");
		return 0;
	}
	/* calloc: zero pages cost nothing until used */
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		mc_err("no memory for the container tracker");
		return -1;
	}
	t->l = l;
	t->backoff = LST_CTR_BACKOFF_MIN;
	l->ctr = t;
	ctr_spawn(t);
	return 0;
}

/* Read what the child wrote: whole records go to the table.  -1 at the
 * end of the pipe (lws closes it). */
static int
ctr_read(struct lst_ctr *t, int fd)
{
	unsigned char *r = (unsigned char *)&t->rec;
	ssize_t n;
	int i;

	for (i = 0; i < 64; i++) {
		n = read(fd, r + t->rlen, sizeof(t->rec) - t->rlen);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (n == 0)
			return -1;
		t->rlen += (size_t)n;
		if (t->rlen < sizeof(t->rec))
			continue;
		t->rlen = 0;
		/* the child follows the engine again: so may the backoff */
		if (t->rec.type == LST_CTR_R_SYNCED)
			t->backoff = LST_CTR_BACKOFF_MIN;
		lst_ctr_apply(&t->tab, &t->rec);
	}
	return 0;
}

int
lst_ctr_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct lst_ctr *t = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	if (t == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		return ctr_read(t, lws_get_socket_fd(wsi));
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		t->wsi = NULL;
		if (t->pid > 0)
			kill(t->pid, SIGKILL);
		ctr_lost(t, "stopped");
		break;
	default:
		break;
	}
	return 0;
}

void
lst_ctr_reap(struct lst *l)
{
	struct lst_ctr *t = l->ctr;
	int st;

	if (t == NULL || t->pid <= 0 || waitpid(t->pid, &st, WNOHANG) != t->pid)
		return;
	if (WIFSIGNALED(st))
		mc_debug("container tracker (pid %d) killed by signal %d",
		    (int)t->pid, WTERMSIG(st));
	t->pid = 0;
}

void
lst_ctr_stop(struct lst *l)
{
	struct lst_ctr *t = l->ctr;

	if (t == NULL)
		return;
	lws_sul_cancel(&t->sul_spawn);
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
		t->pid = 0;
	}
	if (t->wsi != NULL)
		lws_set_opaque_user_data(t->wsi, NULL);
}

void
lst_ctr_free(struct lst *l)
{
	free(l->ctr);
	l->ctr = NULL;
}

const struct mc_ctr_part *
lst_ctr_hb_part(struct lst *l)
{
	return l->ctr != NULL ? lst_ctr_part(&l->ctr->tab) : NULL;
}

void
lst_ctr_hb_sent(struct lst *l)
{
	if (l->ctr != NULL)
		lst_ctr_sent(&l->ctr->tab);
}

void
lst_ctr_hb_full(struct lst *l)
{
	if (l->ctr != NULL)
		lst_ctr_full(&l->ctr->tab);
}
