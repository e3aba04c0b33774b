/*
 * lst_queue.c - the bounded queue of messages towards the hub.
 *
 * Each message is one allocation with LWS_PRE bytes of headroom, so the
 * writer hands it to lws_write() as it is.  Command output may fill the
 * queue up to MC_PEER_QUEUE_MAX bytes and is refused past that (the
 * command then reports truncated output); control messages get
 * LST_QUEUE_RESERVE more so a full queue never loses a result.  The hello
 * goes to the head (it must be the first message on a connection), and
 * so do heartbeats, so that a command's queued output never delays one
 * (and terminal output, in frames of at most MC_TERM_CHUNK bytes, delays
 * one by a frame at most).
 * A result carries its command id so the writer can tell lst_hold.c it
 * went out.
 */
#include <stdlib.h>
#include <string.h>

#include "lst.h"

void
lst_queue_init(struct lst_queue *q)
{
	memset(q, 0, sizeof(*q));
}

void
lst_queue_free(struct lst_queue *q)
{
	while (q->head != NULL)
		lst_queue_pop(q);
}

static size_t
queue_limit(enum lst_qclass cls)
{
	if (cls == LST_Q_OUT)
		return MC_PEER_QUEUE_MAX;
	/* terminals bound themselves by their windows: command output
	 * filling the queue must not stop a session */
	if (cls == LST_Q_TERM || cls == LST_Q_TDATA)
		return (size_t)MC_PEER_QUEUE_MAX + LST_QUEUE_RESERVE +
		    LST_TERM_QUEUE;
	return (size_t)MC_PEER_QUEUE_MAX + LST_QUEUE_RESERVE;
}

struct lst_qmsg *
lst_queue_push(struct lst_queue *q, enum lst_qclass cls, const char *id,
    const void *data, size_t len)
{
	size_t limit = queue_limit(cls);
	struct lst_qmsg *m;

	if (q->bytes > limit || len > limit - q->bytes)
		return NULL;
	m = malloc(sizeof(*m) + LWS_PRE + len);
	if (m == NULL)
		return NULL;
	m->next = NULL;
	m->cls = cls;
	m->out = 0;
	m->id[0] = '\0';
	if (id != NULL)
		mc_strlcpy(m->id, id, sizeof(m->id));
	m->len = len;
	memcpy(m->buf + LWS_PRE, data, len);
	if (cls == LST_Q_HELLO || cls == LST_Q_HB) {
		m->next = q->head;
		q->head = m;
		if (q->tail == NULL)
			q->tail = m;
	} else {
		if (q->tail != NULL)
			q->tail->next = m;
		else
			q->head = m;
		q->tail = m;
	}
	q->bytes += len;
	q->nhb += cls == LST_Q_HB;
	return m;
}

void
lst_queue_prepend(struct lst_queue *q, struct lst_queue *front)
{
	if (front->head == NULL)
		return;
	front->tail->next = q->head;
	q->head = front->head;
	if (q->tail == NULL)
		q->tail = front->tail;
	q->bytes += front->bytes;
	q->nhb += front->nhb;
	lst_queue_init(front);
}

struct lst_qmsg *
lst_queue_peek(const struct lst_queue *q)
{
	return q->head;
}

static void
unlink_next(struct lst_queue *q, struct lst_qmsg *prev, struct lst_qmsg *m)
{
	if (prev != NULL)
		prev->next = m->next;
	else
		q->head = m->next;
	if (q->tail == m)
		q->tail = prev;
	q->bytes -= m->len;
	q->nhb -= m->cls == LST_Q_HB;
	free(m);
}

void
lst_queue_pop(struct lst_queue *q)
{
	if (q->head != NULL)
		unlink_next(q, NULL, q->head);
}

void
lst_queue_drop(struct lst_queue *q, enum lst_qclass cls)
{
	struct lst_qmsg *prev = NULL, *m = q->head, *next;

	while (m != NULL) {
		next = m->next;
		if (m->cls == cls)
			unlink_next(q, prev, m);
		else
			prev = m;
		m = next;
	}
}
