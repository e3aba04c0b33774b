/*
 * hub_term.c - terminal sessions on the agent's side of the relay: open a
 * channel on the agent's connection, carry its data frames both ways
 * inside the windows, and end it (docs/protocol.md, "Terminal sessions").
 * The client's side, /ws/term, is hub_term_client.c; the recording is
 * hub_rec.c, told everything through hub_rec.h.
 *
 * Rules kept here:
 * - Output: a data frame from the agent is recorded and queued to the
 *   client as it is; term_ack goes back once the client's connection has
 *   written it (hub_term_written), so a client that stops reading stops
 *   the remote program and the hub holds at most a window of it.  Output
 *   nobody takes any more (the client left) is acknowledged at once.
 * - Input: the client's bytes go to the agent in frames while the input
 *   window has room; the rest (at most a window) waits in pend, and the
 *   client is not read meanwhile.
 * - An agent that sends a binary message that is not a data frame of one
 *   of its open channels, or output past the window, is refused and
 *   closed like any bad peer.  A term_* message for a channel that is not
 *   open is logged and skipped: it may have crossed a term_close.
 * - A session lives from term_open to the agent's term_end, or to the end
 *   of the agent's connection (agent_gone).  Its recording, opened at
 *   term_started, is closed exactly once: at term_end with the agent's
 *   reason, at agent_gone, or at shutdown.
 * - Sessions are few (MC_TERM_SESSIONS_MAX per agent): one list holds
 *   them all, so an idle agent costs the relay nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_rec.h"
#include "hub_term.h"
#include "mc_log.h"
#include "mc_util.h"

static struct {
	struct hub_term	*head;		/* owned: every session */
	uint32_t	 last_ch;	/* the channel given last */
} terms;

/* ---- sessions ---- */

static struct hub_term *
term_find(const struct hub_conn *ac, uint32_t ch)
{
	struct hub_term *s;

	for (s = terms.head; s != NULL; s = s->next)
		if (s->aconn == ac && s->ch == ch)
			return s;
	return NULL;
}

int
hub_term_count(const struct hub_conn *ac)
{
	const struct hub_term *s;
	int n = 0;

	for (s = terms.head; s != NULL; s = s->next)
		n += s->aconn == ac;
	return n;
}

/* A channel no session has: unique on every connection at once. */
static uint32_t
term_new_ch(void)
{
	struct hub_term *s;

	for (;;) {
		terms.last_ch = terms.last_ch % MC_TERM_CH_MAX + 1;
		for (s = terms.head; s != NULL && s->ch != terms.last_ch;
		    s = s->next)
			;
		if (s == NULL)
			return terms.last_ch;
	}
}

static void
term_send(struct hub_term *s, enum mc_msg_type t, struct mc_term *m)
{
	struct mc_buf b;

	m->ch = s->ch;
	mc_buf_init(&b, 4 * MC_TEXT_MAX);
	if (mc_term_encode(&b, t, m) == 0)
		hub_conn_send(s->aconn, b.data, b.len);
	mc_buf_free(&b);
}

struct hub_term *
hub_term_open(struct hub_conn *ac, struct hub_conn *client, const char *user,
    int cols, int rows, const struct mc_sig *sig)
{
	struct hub_term *s = calloc(1, sizeof(*s));
	struct mc_term m;

	if (s == NULL)
		return NULL;
	s->ch = term_new_ch();
	hub_rec_new_sid(s->sid, sizeof(s->sid));
	mc_strlcpy(s->agent, ac->agent->name, sizeof(s->agent));
	mc_strlcpy(s->user, user, sizeof(s->user));
	s->aconn = ac;
	s->client = client;
	s->cols = cols;
	s->rows = rows;
	mc_buf_init(&s->pend, MC_TERM_WINDOW);
	s->next = terms.head;
	if (terms.head != NULL)
		terms.head->prev = s;
	terms.head = s;
	memset(&m, 0, sizeof(m));
	mc_strlcpy(m.sid, s->sid, sizeof(m.sid));
	m.cols = cols;
	m.rows = rows;
	m.sig = sig;
	term_send(s, MC_MSG_TERM_OPEN, &m);
	mc_info("terminal %s: %s opens a session on '%s' (channel %u, %dx%d)",
	    s->sid, user, s->agent, s->ch, cols, rows);
	return s;
}

static void
term_free(struct hub_term *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		terms.head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	mc_buf_free(&s->pend);
	free(s);
}

static void
term_rec_close(struct hub_term *s, const char *reason, int exit_code)
{
	if (s->rec == NULL)
		return;
	hub_rec_close(s->rec, reason, exit_code);
	s->rec = NULL;
}

/* ---- output ---- */

static void
term_ack_out(struct hub_term *s, uint64_t n)
{
	struct mc_term m;

	if (n == 0)
		return;
	s->out_unacked -= n;
	memset(&m, 0, sizeof(m));
	m.n = n;
	term_send(s, MC_MSG_TERM_ACK, &m);
}

void
hub_term_agent_data(struct hub_conn *c, const void *buf, size_t len)
{
	const unsigned char *data;
	struct hub_term *s;
	uint32_t ch;
	size_t n;

	if (c->closing)
		return;
	if (c->agent == NULL || mc_term_unframe(buf, len, &ch, &data,
	    &n) == -1) {
		hub_conn_fail(c, 1003, MC_ERR_BAD_MESSAGE, "a binary message "
		    "that is not a terminal data frame; messages are JSON "
		    "text");
		return;
	}
	if ((s = term_find(c, ch)) == NULL) {
		hub_conn_fail(c, 1003, MC_ERR_BAD_MESSAGE, "a data frame for "
		    "channel %u, which is not open", ch);
		return;
	}
	if (n > MC_TERM_WINDOW - s->out_unacked) {
		hub_conn_fail(c, 1008, MC_ERR_BAD_MESSAGE, "terminal channel "
		    "%u: output past the %d byte window", ch, MC_TERM_WINDOW);
		return;
	}
	s->out_unacked += n;
	if (s->rec != NULL)
		hub_rec_output(s->rec, data, n);
	if (s->client != NULL && hub_tclient_output(s->client, data, n) == 0)
		s->out_queued += n;
	else
		term_ack_out(s, n);
}

/*
 * Acknowledge in pieces of a quarter window, or of a frame once the
 * client has taken all that was queued: one term_ack per small frame
 * would double the messages.  What is left unacknowledged when output
 * stops is less than a frame, which never stalls the window.
 */
void
hub_term_written(struct hub_term *s, size_t n)
{
	s->out_queued -= n < s->out_queued ? n : s->out_queued;
	s->out_written += n;
	if (s->out_written >= MC_TERM_WINDOW / 4 || (s->out_queued == 0 &&
	    s->out_written >= MC_TERM_CHUNK)) {
		term_ack_out(s, s->out_written);
		s->out_written = 0;
	}
}

/* ---- input ---- */

/* Send what waits, inside the window; pause the client while any does. */
static void
term_pump(struct hub_term *s)
{
	unsigned char hdr[MC_TERM_HDR];
	size_t n;

	mc_term_frame(hdr, s->ch);
	while (s->pend.len > 0 && s->in_unacked < MC_TERM_WINDOW) {
		n = s->pend.len < MC_TERM_CHUNK ? s->pend.len : MC_TERM_CHUNK;
		if (n > MC_TERM_WINDOW - s->in_unacked)
			n = (size_t)(MC_TERM_WINDOW - s->in_unacked);
		if (hub_conn_send_bin(s->aconn, hdr, sizeof(hdr), s->pend.data,
		    n) == -1) {
			mc_buf_reset(&s->pend);	/* the agent is going */
			break;
		}
		s->in_unacked += n;
		mc_buf_consume(&s->pend, n);
	}
	if (s->pend.len == 0)
		mc_buf_free(&s->pend);
	if (s->client != NULL)
		hub_tclient_pause(s->client, s->pend.len > 0);
}

void
hub_term_input(struct hub_term *s, const void *p, size_t n)
{
	if (s->closing || n == 0)
		return;
	if (s->rec != NULL)
		hub_rec_input(s->rec, p, n);
	if (mc_buf_append(&s->pend, p, n) == -1) {
		mc_warn("terminal %s: input past the %d byte window; %zu bytes "
		    "dropped", s->sid, MC_TERM_WINDOW, n);
		return;
	}
	term_pump(s);
}

void
hub_term_resize(struct hub_term *s, int cols, int rows)
{
	struct mc_term m;

	if (s->closing)
		return;
	s->cols = cols;
	s->rows = rows;
	memset(&m, 0, sizeof(m));
	m.cols = cols;
	m.rows = rows;
	term_send(s, MC_MSG_TERM_RESIZE, &m);
	if (s->rec != NULL)
		hub_rec_resize(s->rec, cols, rows);
}

/* ---- ending ---- */

void
hub_term_close(struct hub_term *s)
{
	struct mc_term m;

	if (s->closing)
		return;
	s->closing = 1;
	mc_buf_free(&s->pend);
	if (s->client != NULL)
		hub_tclient_pause(s->client, 0);
	memset(&m, 0, sizeof(m));
	term_send(s, MC_MSG_TERM_CLOSE, &m);
}

void
hub_term_detach(struct hub_term *s)
{
	mc_info("terminal %s on '%s': the client left", s->sid, s->agent);
	s->client = NULL;
	/* what it never took: the listener must not wait for it */
	term_ack_out(s, s->out_queued + s->out_written);
	s->out_queued = s->out_written = 0;
	hub_term_close(s);
}

static const char *
end_text(enum mc_term_reason r)
{
	switch (r) {
	case MC_TERM_EXIT:
		return "the shell exited";
	case MC_TERM_CLOSED:
		return "the session was closed";
	case MC_TERM_IDLE:
		return "nothing was typed or printed for the agent's "
		    "terminal_idle";
	default:
		return "the agent could not run the session";
	}
}

static void
term_started(struct hub_term *s, const struct mc_term *m)
{
	if (s->started)
		return;
	s->started = 1;
	s->pid = m->pid;
	s->rec = hub_rec_open(s->sid, s->agent, s->user, s->cols, s->rows);
	mc_info("terminal %s on '%s': the shell runs (pid %d)", s->sid,
	    s->agent, m->pid);
	if (s->client != NULL)
		hub_tclient_opened(s->client, s);
}

static void
term_ended(struct hub_term *s, const struct mc_term *m)
{
	const char *reason = mc_term_reason_name(m->reason);
	int code = m->reason == MC_TERM_EXIT ? m->exit_code : -1;

	if (m->reason == MC_TERM_EXIT)
		mc_info("terminal %s on '%s' ended: exit %d", s->sid, s->agent,
		    code);
	else
		mc_info("terminal %s on '%s' ended: %s%s%s", s->sid, s->agent,
		    reason, m->error[0] ? ": " : "", m->error);
	term_rec_close(s, reason, code);
	if (s->client != NULL)
		hub_tclient_end(s->client, reason, code, m->error[0] ?
		    m->error : end_text(m->reason));
	term_free(s);
}

void
hub_term_agent_msg(struct hub_conn *c, const struct mc_msg *msg)
{
	char err[MC_TEXT_MAX];
	struct hub_term *s;
	struct mc_term m;

	if (mc_term_decode(msg, &m, err, sizeof(err)) == -1) {
		hub_conn_fail(c, 1007, MC_ERR_BAD_MESSAGE, "%s: %s",
		    mc_msg_name(msg->type), err);
		return;
	}
	if ((s = term_find(c, m.ch)) == NULL) {
		mc_warn("%s agent '%s': %s for terminal channel %u, which is not "
		    "open; skipped", c->peer, c->agent->name,
		    mc_msg_name(msg->type), m.ch);
		return;
	}
	switch (msg->type) {
	case MC_MSG_TERM_STARTED:
		term_started(s, &m);
		break;
	case MC_MSG_TERM_INACK:
		s->in_unacked -= m.n < s->in_unacked ? m.n : s->in_unacked;
		term_pump(s);
		break;
	case MC_MSG_TERM_END:
		term_ended(s, &m);
		break;
	default:
		break;
	}
}

void
hub_term_agent_gone(struct hub_conn *c)
{
	struct hub_term *s, *next;

	for (s = terms.head; s != NULL; s = next) {
		next = s->next;
		if (s->aconn != c)
			continue;
		mc_info("terminal %s on '%s' ended: the agent disconnected",
		    s->sid, s->agent);
		term_rec_close(s, "agent_gone", -1);
		if (s->client != NULL)
			hub_tclient_end(s->client, "agent_gone", -1, "the agent "
			    "disconnected");
		term_free(s);
	}
}

void
hub_term_shutdown(void)
{
	struct hub_term *s;

	for (s = terms.head; s != NULL; s = s->next) {
		term_rec_close(s, "shutdown", -1);
		if (s->client != NULL)
			hub_tclient_end(s->client, "shutdown", -1, "the hub is "
			    "stopping");
		s->client = NULL;
		hub_term_close(s);
	}
}
