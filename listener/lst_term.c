/*
 * lst_term.c - terminal sessions: a login shell on a PTY for each channel
 * the hub opens, its output to the hub in binary data frames and the
 * hub's input to it, each way inside a window (docs/protocol.md,
 * "Terminal sessions"; the PTY and the shell are lst_term_pty.c).
 *
 * Rules kept here:
 * - The PTY master is adopted into the loop (LWS_ADOPT_RAW_FILE_DESC).
 *   Each readable event reads at most MC_TERM_CHUNK bytes and never past
 *   the output window; while the window is full reading stops
 *   (lws_rx_flow_control) until the hub's term_ack makes room, so the
 *   program writing blocks as on a slow ssh link and the send queue holds
 *   at most a window per session.
 * - Input is written to the master without blocking; what the PTY does
 *   not take yet waits for writeable (at most a window: the hub sends no
 *   more) and is acknowledged with term_ack once written.
 * - The listener holds the slave open while the shell runs, so the master
 *   never reports a hang-up, which lws would close it for even while
 *   reading is stopped and output is left in it.  Once the shell is
 *   reaped the master is read to the end instead: a read that finds
 *   nothing first waits for what the kernel still has in flight, so an
 *   empty read then means drained, as EIO would without the hold.  A job
 *   the shell left behind that keeps writing gets LST_TERM_LINGER.
 * - Ending (term_close, terminal_idle, the hub connection lost) hangs up
 *   the shell's process group (SIGHUP) and SIGKILLs what is left of it
 *   LST_TERM_KILL_WAIT later; so does a shell's own exit, for the jobs it
 *   leaves.  term_end goes once, when the shell is reaped and the PTY
 *   closed, and never after the connection was lost.
 * - A data frame or term_* message for a channel that is not open is
 *   skipped: it crossed that channel's term_end on the wire.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

/* ---- sessions ---- */

/* 1 while the session has a channel (see term_find). */
static int
term_is_open(const struct lst_tsess *s)
{
	return s->state == LST_T_RUNNING || (s->state == LST_T_ENDING &&
	    s->notify);
}

/* The session open on channel ch: running, or ending with its term_end
 * still to come.  One whose term_end went (or whose connection was lost)
 * has no channel any more, though its slot may wait for a kill. */
static struct lst_tsess *
term_find(struct lst *l, uint32_t ch)
{
	struct lst_tsess *s;
	int i;

	for (i = 0; i < LST_TERM_SLOTS; i++) {
		s = &l->term[i];
		if (s->ch == ch && term_is_open(s))
			return s;
	}
	return NULL;
}

static void
term_send(struct lst *l, enum mc_msg_type t, const struct mc_term *m)
{
	if (mc_term_encode(lst_ws_buf(l), t, m) == -1 ||
	    lst_ws_send(l, LST_Q_TERM) == -1)
		mc_warn("terminal %u: %s dropped: send queue full", m->ch,
		    mc_msg_name(t));
}

static void
term_send_end(struct lst *l, uint32_t ch, enum mc_term_reason why,
    int code, const char *error)
{
	struct mc_term m;

	memset(&m, 0, sizeof(m));
	m.ch = ch;
	m.reason = why;
	m.exit_code = code;
	mc_strlcpy(m.error, error != NULL ? error : "", sizeof(m.error));
	term_send(l, MC_MSG_TERM_END, &m);
}

static int
exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

static void
term_release(struct lst_tsess *s)
{
	lws_sul_cancel(&s->sul_idle);
	lws_sul_cancel(&s->sul_kill);
	lws_sul_cancel(&s->sul_linger);
	if (s->sfd != -1)
		close(s->sfd);
	s->sfd = -1;
	mc_buf_free(&s->in);
	s->state = LST_T_FREE;
}

/* SIGKILL what is left of the group; free the slot if nothing else
 * holds it. */
static void
term_kill_now(struct lst_tsess *s)
{
	lws_sul_cancel(&s->sul_kill);
	s->kill_pending = 0;
	if (kill(-s->pid, 0) == 0) {
		mc_warn("terminal %u: process group %d still there after "
		    "SIGHUP; killing it", s->ch, (int)s->pid);
		kill(-s->pid, SIGKILL);
	}
	if (s->reaped && s->wsi == NULL)
		term_release(s);
}

static void
kill_cb(lws_sorted_usec_list_t *sul)
{
	term_kill_now(lws_container_of(sul, struct lst_tsess, sul_kill));
}

/* SIGHUP the shell's process group, and SIGKILL it later if anything of
 * it is left.  A group already empty needs neither. */
static void
term_hangup(struct lst_tsess *s)
{
	if (s->kill_pending || kill(-s->pid, SIGHUP) == -1)
		return;
	s->kill_pending = 1;
	lws_sul_schedule(s->l->ctx, 0, &s->sul_kill, kill_cb,
	    (lws_usec_t)(LST_TERM_KILL_WAIT * LWS_USEC_PER_SEC));
}

/* Close the master: lws closes it and RAW_CLOSE_FILE follows. */
static void
term_pty_close(struct lst_tsess *s)
{
	if (s->wsi != NULL)
		lws_set_timeout(s->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT,
		    LWS_TO_KILL_ASYNC);
}

/*
 * The shell is reaped and the PTY closed: send term_end (once), hang up
 * what the shell left, and free the slot once nothing of its group can
 * be left to kill.
 */
static void
term_maybe_finish(struct lst_tsess *s)
{
	enum mc_term_reason why = s->why;
	int code = -1;

	if (s->state == LST_T_FREE || !s->reaped || s->wsi != NULL)
		return;
	if (s->state == LST_T_RUNNING) {
		why = MC_TERM_EXIT;
		code = exit_status(s->wstatus);
		s->state = LST_T_ENDING;
		lws_sul_cancel(&s->sul_linger);
		term_hangup(s);
	}
	if (s->notify) {
		s->notify = 0;
		if (why == MC_TERM_EXIT)
			mc_info("terminal %u (%s) ended: exit %d", s->ch, s->sid,
			    code);
		else
			mc_info("terminal %u (%s) ended: %s", s->ch, s->sid,
			    mc_term_reason_name(why));
		term_send_end(s->l, s->ch, why, code, NULL);
	}
	if (s->kill_pending && kill(-s->pid, 0) == 0)
		return;		/* kill_cb frees it */
	term_release(s);
}

/*
 * End a running session with reason why: hang up its process group and
 * close the PTY (whatever is still in it goes unread).
 */
static void
term_end(struct lst_tsess *s, enum mc_term_reason why)
{
	if (s->state != LST_T_RUNNING)
		return;
	s->state = LST_T_ENDING;
	s->why = why;
	lws_sul_cancel(&s->sul_idle);
	lws_sul_cancel(&s->sul_linger);
	term_hangup(s);
	term_pty_close(s);
	if (s->sfd != -1)
		close(s->sfd);
	s->sfd = -1;
	term_maybe_finish(s);
}

/* ---- output ---- */

static void
term_pause(struct lst_tsess *s, int pause)
{
	if (s->paused == pause || s->wsi == NULL)
		return;
	s->paused = pause;
	lws_rx_flow_control(s->wsi, !pause);
}

/*
 * Up to room bytes from the PTY into buf.  A PTY gives at most about
 * 4 KiB a read (its line discipline's buffer), so reading on until the
 * frame is full makes a quarter of the frames, acks and wake-ups.
 * Returns the bytes read, 0 when it has none now, -1 at EIO (no slave).
 */
static ssize_t
term_fill(int fd, unsigned char *buf, size_t room)
{
	size_t got = 0;
	ssize_t n;

	while (got < room) {
		n = read(fd, buf + got, room - got);
		if (n > 0)
			got += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (got > 0 || (n < 0 && errno == EAGAIN))
			break;		/* an EIO shows again next time */
		else
			return -1;
	}
	return (ssize_t)got;
}

/*
 * Read the PTY into data frames, within the window: one frame, or, once
 * the shell was reaped, until it is empty.  Returns -1 when the master
 * should be closed: EIO, or drained after the shell's exit.
 */
static int
term_read(struct lst_tsess *s)
{
	unsigned char frame[MC_TERM_HDR + MC_TERM_CHUNK];
	size_t room;
	ssize_t n;
	int fd = lws_get_socket_fd(s->wsi);

	mc_term_frame(frame, s->ch);
	do {
		room = MC_TERM_WINDOW - s->out_unacked;
		if (room == 0) {
			term_pause(s, 1);
			return 0;
		}
		n = term_fill(fd, frame + MC_TERM_HDR, room < MC_TERM_CHUNK ?
		    room : MC_TERM_CHUNK);
		if (n == 0)
			return s->reaped ? -1 : 0;
		if (n < 0)
			return -1;
		if (lst_ws_push(s->l, LST_Q_TDATA, NULL, frame,
		    MC_TERM_HDR + (size_t)n) == -1) {
			mc_warn("terminal %u: send queue full; output lost",
			    s->ch);
			return -1;
		}
		s->out_unacked += (uint64_t)n;
		s->active = mc_now();
	} while (s->reaped);
	if (s->out_unacked >= MC_TERM_WINDOW)
		term_pause(s, 1);
	return 0;
}

static void
linger_cb(lws_sorted_usec_list_t *sul)
{
	struct lst_tsess *s = lws_container_of(sul, struct lst_tsess,
	    sul_linger);

	if (s->state != LST_T_RUNNING || s->wsi == NULL)
		return;
	if (s->paused) {	/* the hub is still taking its output */
		lws_sul_schedule(s->l->ctx, 0, &s->sul_linger, linger_cb,
		    (lws_usec_t)(LST_TERM_LINGER * LWS_USEC_PER_SEC));
		return;
	}
	mc_info("terminal %u: the shell exited %.0f s ago and its PTY is still "
	    "busy; ending the session", s->ch, LST_TERM_LINGER);
	term_pty_close(s);
}

/* The shell exited: read what it left, then end with its status. */
static void
term_exited(struct lst_tsess *s)
{
	mc_debug("terminal %u: shell %d exited", s->ch, (int)s->pid);
	lws_sul_schedule(s->l->ctx, 0, &s->sul_linger, linger_cb,
	    (lws_usec_t)(LST_TERM_LINGER * LWS_USEC_PER_SEC));
	if (s->wsi != NULL && !s->paused && term_read(s) == -1)
		term_pty_close(s);
}

/* ---- input ---- */

/* Write held input to the PTY without blocking; acknowledge what went. */
static void
term_write(struct lst_tsess *s)
{
	struct mc_term ack;
	size_t done = 0;
	ssize_t w;
	int fd;

	if (s->state != LST_T_RUNNING || s->wsi == NULL)
		done = s->in.len;	/* nobody reads it any more */
	else {
		fd = lws_get_socket_fd(s->wsi);
		while (done < s->in.len) {
			w = write(fd, s->in.data + done, s->in.len - done);
			if (w > 0) {
				done += (size_t)w;
				continue;
			}
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN) {
				lws_callback_on_writable(s->wsi);
				break;
			}
			done = s->in.len;	/* the PTY is gone */
		}
	}
	if (done == 0)
		return;
	mc_buf_consume(&s->in, done);
	if (s->in.len == 0)
		mc_buf_free(&s->in);
	s->active = mc_now();
	memset(&ack, 0, sizeof(ack));
	ack.ch = s->ch;
	ack.n = done;
	term_send(s->l, MC_MSG_TERM_INACK, &ack);
}

void
lst_term_data(struct lst *l, const void *buf, size_t len)
{
	const unsigned char *data;
	struct lst_tsess *s;
	size_t n;
	uint32_t ch;

	if (mc_term_unframe(buf, len, &ch, &data, &n) == -1) {
		mc_warn("binary message from hub that is not a data frame; "
		    "skipped");
		return;
	}
	s = term_find(l, ch);
	if (s == NULL) {
		mc_debug("terminal %u: data for a closed channel; skipped", ch);
		return;
	}
	if (mc_buf_append(&s->in, data, n) == -1) {
		mc_warn("terminal %u: the hub sent past the input window; "
		    "%zu bytes dropped", ch, n);
		return;
	}
	term_write(s);
}

/* ---- timers ---- */

static void
idle_cb(lws_sorted_usec_list_t *sul)
{
	struct lst_tsess *s = lws_container_of(sul, struct lst_tsess, sul_idle);
	double idle = s->l->conf.terminal_idle;
	double left = s->active + idle - mc_now();

	if (s->state != LST_T_RUNNING)
		return;
	if (left > 0) {
		lws_sul_schedule(s->l->ctx, 0, &s->sul_idle, idle_cb,
		    (lws_usec_t)(left * LWS_USEC_PER_SEC) + 1);
		return;
	}
	mc_info("terminal %u (%s): nothing typed or printed for %.0f s; "
	    "ending it", s->ch, s->sid, idle);
	term_end(s, MC_TERM_IDLE);
}

/* ---- the hub's messages ---- */

static int
term_open_count(const struct lst *l)
{
	int i, n = 0;

	for (i = 0; i < LST_TERM_SLOTS; i++)
		n += term_is_open(&l->term[i]);
	return n;
}

/* A free slot; one whose ended session only waits to SIGKILL its group
 * does so now when none is. */
static struct lst_tsess *
term_slot(struct lst *l)
{
	struct lst_tsess *s;
	int i;

	for (i = 0; i < LST_TERM_SLOTS; i++)
		if (l->term[i].state == LST_T_FREE)
			return &l->term[i];
	for (i = 0; i < LST_TERM_SLOTS; i++) {
		s = &l->term[i];
		if (s->state == LST_T_ENDING && !s->notify && s->reaped &&
		    s->wsi == NULL) {
			term_kill_now(s);
			return s;
		}
	}
	return NULL;
}

/* 1 with the reason in err if a new session must be refused. */
static int
term_refuse(struct lst *l, char *err, size_t errlen)
{
	char allow[sizeof(l->conf.allow)];

	if ((l->allow & LST_ALLOW_TERMINAL) == 0) {
		mc_strlcpy(allow, l->conf.allow, sizeof(allow));
		snprintf(err, errlen, "terminal is not allowed on this agent "
		    "(allow = %s)", mc_trim(allow));
		return 1;
	}
	if (l->leaving || l->restart_id[0] != '\0') {
		snprintf(err, errlen, "the listener is stopping");
		return 1;
	}
	if (term_open_count(l) >= MC_TERM_SESSIONS_MAX) {
		snprintf(err, errlen, "this agent already runs %d terminal "
		    "sessions", MC_TERM_SESSIONS_MAX);
		return 1;
	}
	if (term_slot(l) == NULL) {
		snprintf(err, errlen, "the terminal sessions before are still "
		    "ending; try again in a few seconds");
		return 1;
	}
	return 0;
}

/* Watch the master; on failure lws has closed it. */
static int
term_adopt(struct lst_tsess *s, int mfd)
{
	lws_adopt_desc_t a;

	memset(&a, 0, sizeof(a));
	a.vh = s->l->vh;
	a.type = LWS_ADOPT_RAW_FILE_DESC;
	a.fd.filefd = mfd;
	a.vh_prot_name = "lst-term";
	a.opaque = s;
	s->wsi = lws_adopt_descriptor_vhost_via_info(&a);
	return s->wsi != NULL ? 0 : -1;
}

static void
term_open(struct lst *l, const struct mc_msg *msg, const struct mc_term *m)
{
	char err[MC_TEXT_MAX];
	struct lst_tsess *s;
	struct mc_term st;
	int mfd;

	if (term_find(l, m->ch) != NULL) {
		mc_warn("terminal %u: term_open for a channel already open; "
		    "skipped", m->ch);
		return;
	}
	if (term_refuse(l, err, sizeof(err))) {
		mc_info("terminal %u refused: %s", m->ch, err);
		term_send_end(l, m->ch, MC_TERM_REFUSED, -1, err);
		return;
	}
	if (lst_signed_term(l, msg, err, sizeof(err)) == -1) {
		mc_warn("terminal %u (%s) refused: %s", m->ch, m->sid, err);
		term_send_end(l, m->ch, MC_TERM_REFUSED, -1, err);
		return;
	}
	s = term_slot(l);
	memset(s, 0, sizeof(*s));
	s->l = l;
	s->ch = m->ch;
	mc_strlcpy(s->sid, m->sid[0] ? m->sid : "-", sizeof(s->sid));
	s->sfd = -1;
	mc_buf_init(&s->in, MC_TERM_WINDOW);
	mfd = lst_term_pty_start(l, s, m->cols, m->rows, err, sizeof(err));
	if (mfd == -1) {
		mc_warn("terminal %u failed: %s", m->ch, err);
		term_send_end(l, m->ch, MC_TERM_FAILED, -1, err);
		return;
	}
	s->state = LST_T_RUNNING;
	s->active = mc_now();
	if (term_adopt(s, mfd) == -1) {
		mc_err("terminal %u: cannot watch its PTY", m->ch);
		term_send_end(l, m->ch, MC_TERM_FAILED, -1, "cannot watch the "
		    "PTY");
		term_end(s, MC_TERM_FAILED);
		return;
	}
	s->notify = 1;
	memset(&st, 0, sizeof(st));
	st.ch = s->ch;
	st.pid = (int)s->pid;
	term_send(l, MC_MSG_TERM_STARTED, &st);
	mc_info("terminal %u (%s) started: %dx%d, pid %d", s->ch, s->sid,
	    m->cols, m->rows, (int)s->pid);
	lws_sul_schedule(l->ctx, 0, &s->sul_idle, idle_cb,
	    (lws_usec_t)(l->conf.terminal_idle * LWS_USEC_PER_SEC));
}

static void
term_ack(struct lst_tsess *s, uint64_t n)
{
	s->out_unacked -= n < s->out_unacked ? n : s->out_unacked;
	if (!s->paused || s->out_unacked >= MC_TERM_WINDOW ||
	    s->state != LST_T_RUNNING || s->wsi == NULL)
		return;
	term_pause(s, 0);
	if (s->reaped && term_read(s) == -1)
		term_pty_close(s);
}

void
lst_term_handle(struct lst *l, const struct mc_msg *msg)
{
	struct lst_tsess *s;
	struct mc_term m;
	char err[MC_TEXT_MAX];

	if (mc_term_decode(msg, &m, err, sizeof(err)) == -1) {
		mc_warn("%s from hub skipped: %s", mc_msg_name(msg->type), err);
		return;
	}
	if (msg->type == MC_MSG_TERM_OPEN) {
		term_open(l, msg, &m);
		return;
	}
	s = term_find(l, m.ch);
	if (s == NULL) {
		mc_debug("terminal %u: %s for a closed channel; skipped", m.ch,
		    mc_msg_name(msg->type));
		return;
	}
	switch (msg->type) {
	case MC_MSG_TERM_RESIZE:
		if (s->wsi != NULL && lst_term_pty_resize(
		    lws_get_socket_fd(s->wsi), m.cols, m.rows) == -1)
			mc_warn("terminal %u: resize: %s", m.ch,
			    strerror(errno));
		break;
	case MC_MSG_TERM_CLOSE:
		mc_info("terminal %u (%s): closed by the hub", s->ch, s->sid);
		term_end(s, MC_TERM_CLOSED);
		break;
	case MC_MSG_TERM_ACK:
		term_ack(s, m.n);
		break;
	default:
		break;
	}
}

/* ---- the loop's events ---- */

int
lst_term_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct lst_tsess *s = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	if (s == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (s->state != LST_T_RUNNING)
			return -1;
		return term_read(s);
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		term_write(s);
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		s->wsi = NULL;
		s->paused = 0;
		/* closed under a shell still running (a read error): end it */
		if (s->state == LST_T_RUNNING && !s->reaped)
			term_end(s, MC_TERM_FAILED);
		else
			term_maybe_finish(s);
		break;
	default:
		break;
	}
	return 0;
}

void
lst_term_reap(struct lst *l)
{
	struct lst_tsess *s;
	int i, st;

	for (i = 0; i < LST_TERM_SLOTS; i++) {
		s = &l->term[i];
		if (s->state == LST_T_FREE || s->reaped ||
		    waitpid(s->pid, &st, WNOHANG) != s->pid)
			continue;
		s->reaped = 1;
		s->wstatus = st;
		if (s->state == LST_T_RUNNING)
			term_exited(s);
		term_maybe_finish(s);
	}
}

void
lst_term_lost(struct lst *l)
{
	struct lst_tsess *s;
	int i;

	for (i = 0; i < LST_TERM_SLOTS; i++) {
		s = &l->term[i];
		if (s->state == LST_T_FREE)
			continue;
		if (s->state == LST_T_RUNNING)
			mc_info("terminal %u (%s): the hub connection is gone; "
			    "ending it", s->ch, s->sid);
		s->notify = 0;
		term_end(s, MC_TERM_CLOSED);
	}
}

void
lst_term_kill_all(struct lst *l)
{
	struct lst_tsess *s;
	int i;

	for (i = 0; i < LST_TERM_SLOTS; i++) {
		s = &l->term[i];
		if (s->state == LST_T_FREE)
			continue;
		s->notify = 0;
		s->state = LST_T_ENDING;
		lws_sul_cancel(&s->sul_idle);
		lws_sul_cancel(&s->sul_kill);
		lws_sul_cancel(&s->sul_linger);
		s->kill_pending = 0;
		kill(-s->pid, SIGKILL);
		if (!s->reaped && waitpid(s->pid, &s->wstatus, WNOHANG) ==
		    s->pid)
			s->reaped = 1;
	}
}

void
lst_term_free_all(struct lst *l)
{
	int i;

	for (i = 0; i < LST_TERM_SLOTS; i++)
		if (l->term[i].state != LST_T_FREE) {
			if (l->term[i].sfd != -1)
				close(l->term[i].sfd);
			l->term[i].sfd = -1;
			mc_buf_free(&l->term[i].in);
			l->term[i].state = LST_T_FREE;
		}
}
