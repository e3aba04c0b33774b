/*
 * lst_hold.c - commands the hub has not acknowledged yet, so that a
 * command is never lost and never run twice.
 *
 * Rules kept here:
 * - A command is held from its cmd until the hub's ack of its result:
 *   running, feeding its file to the queue, its result queued, or its
 *   result written but not acknowledged.  Every hello carries this
 *   process's boot id and the held ids ("pending"): the hub resends a
 *   command in flight that a process with the same boot id does not
 *   hold (it never got it), and calls it lost when the boot id changed.
 * - The encoded result is kept until the ack.  After a reconnect
 *   (welcome) every result written on an earlier connection is queued
 *   again, behind the output still queued; the hub acknowledges a repeat
 *   and changes nothing.
 * - The ids of the last LST_SEEN_MAX commands are remembered: a repeated
 *   cmd never runs again; if its result was already written it is sent
 *   again, if it is still running the repeat is ignored.
 * - Bounds: LST_HOLD_MAX commands (MC_PENDING_MAX, so that a hello lists
 *   them all).  When full, the oldest result already written and still
 *   unacknowledged is forgotten (logged); a result never written is never
 *   dropped.  Output is bounded by the queue (lst_queue.c).  A file goes
 *   into the queue piece by piece as it drains, at most LST_FILE_QUEUE
 *   bytes at a time, and files waiting hold at most LST_FILES_MAX bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "lst.h"
#include "mc_log.h"

static struct lst_held *
held_find(struct lst_hold *h, const char *id)
{
	int i;

	for (i = 0; i < LST_HOLD_MAX; i++)
		if (h->h[i].state != LST_H_FREE && strcmp(h->h[i].id, id) == 0)
			return &h->h[i];
	return NULL;
}

static void
held_clear(struct lst_hold *h, struct lst_held *e)
{
	if (e->file != NULL)
		h->file_bytes -= e->flen;
	lst_tail_clear(h, e);
	free(e->file);
	free(e->result);
	memset(e, 0, sizeof(*e));
}

/* A free slot, else the oldest written-but-unacknowledged one; NULL if
 * every slot holds something not yet written. */
static struct lst_held *
held_slot(struct lst_hold *h)
{
	struct lst_held *old = NULL;
	int i;

	for (i = 0; i < LST_HOLD_MAX; i++) {
		if (h->h[i].state == LST_H_FREE)
			return &h->h[i];
		if (h->h[i].state == LST_H_SENT &&
		    (old == NULL || h->h[i].age < old->age))
			old = &h->h[i];
	}
	if (old != NULL) {
		mc_warn("forgetting the result of command %s: %d commands wait "
		    "for the hub's acknowledgement", old->id, LST_HOLD_MAX);
		held_clear(h, old);
	}
	return old;
}

static struct lst_held *
held_new(struct lst_hold *h, const char *id)
{
	struct lst_held *e = held_slot(h);

	if (e == NULL)
		return NULL;
	e->state = LST_H_RUNNING;
	mc_strlcpy(e->id, id, sizeof(e->id));
	e->age = h->next_age++;
	return e;
}

static int
seen_has(const struct lst_hold *h, const char *id)
{
	int i;

	for (i = 0; i < h->nseen; i++)
		if (strcmp(h->seen[i], id) == 0)
			return 1;
	return 0;
}

static void
seen_add(struct lst_hold *h, const char *id)
{
	mc_strlcpy(h->seen[h->seen_at], id, MC_ID_MAX);
	h->seen_at = (h->seen_at + 1) % LST_SEEN_MAX;
	if (h->nseen < LST_SEEN_MAX)
		h->nseen++;
}

int
lst_hold_init(struct lst *l)
{
	memset(&l->hold, 0, sizeof(l->hold));
	return mc_random_hex(l->hello.boot, 8);
}

void
lst_hold_free(struct lst *l)
{
	int i;

	for (i = 0; i < LST_HOLD_MAX; i++)
		held_clear(&l->hold, &l->hold.h[i]);
}

/* ---- results ---- */

/* Queue e's result: QUEUED, or UNQUEUED until the queue has room. */
static void
result_push(struct lst *l, struct lst_held *e)
{
	if (lst_ws_push(l, LST_Q_RESULT, e->id, e->result, e->rlen) == 0) {
		e->state = LST_H_QUEUED;
		return;
	}
	if (e->state != LST_H_UNQUEUED)
		mc_warn("result of command %s waits: send queue full", e->id);
	e->state = LST_H_UNQUEUED;
}

/* Encode r into e.  0, or -1 (logged). */
static int
result_keep(struct lst *l, struct lst_held *e, const struct mc_result *r)
{
	struct mc_buf *b = lst_ws_buf(l);

	if (mc_result_encode(b, r) == -1) {
		mc_err("result of command %s cannot be encoded", r->id);
		return -1;
	}
	free(e->result);
	e->result = malloc(b->len);
	if (e->result == NULL) {
		mc_err("result of command %s dropped: out of memory", r->id);
		return -1;
	}
	memcpy(e->result, b->data, b->len);
	e->rlen = b->len;
	return 0;
}

/* The held entry for a result: the one begun for it, else a new one (a
 * cmd answered before it could be held, such as one that did not
 * decode). */
static struct lst_held *
held_for_result(struct lst *l, const char *id)
{
	struct lst_held *e = held_find(&l->hold, id);

	if (e == NULL)
		e = held_new(&l->hold, id);
	return e;
}

/* No room to hold r: send it once, unheld. */
static void
result_unheld(struct lst *l, const struct mc_result *r)
{
	mc_warn("result of command %s sent without a copy: %d commands "
	    "held", r->id, LST_HOLD_MAX);
	if (mc_result_encode(lst_ws_buf(l), r) == -1 ||
	    lst_ws_send(l, LST_Q_CTRL) == -1)
		mc_err("result of command %s dropped: send queue full", r->id);
}

void
lst_hold_result(struct lst *l, const struct mc_result *r)
{
	struct lst_held *e = held_for_result(l, r->id);

	if (e == NULL) {
		result_unheld(l, r);
		return;
	}
	if (result_keep(l, e, r) == -1) {
		held_clear(&l->hold, e);
		return;
	}
	result_push(l, e);
}

/* ---- files ---- */

/* Queue pieces of e's file while the queue holds less than
 * LST_FILE_QUEUE bytes; after the last one, the result. */
static void
file_pump(struct lst *l, struct lst_held *e)
{
	struct mc_blob b;
	size_t n;

	while (e->foff < e->flen && l->q.bytes < LST_FILE_QUEUE) {
		n = e->flen - e->foff;
		if (n > MC_BLOB_CHUNK)
			n = MC_BLOB_CHUNK;
		memset(&b, 0, sizeof(b));
		mc_strlcpy(b.id, e->id, sizeof(b.id));
		mc_strlcpy(b.mime, e->mime, sizeof(b.mime));
		b.total = e->flen;
		b.off = e->foff;
		b.data = e->file + e->foff;
		b.len = n;
		if (mc_blob_encode(lst_ws_buf(l), &b) == -1 ||
		    lst_ws_send(l, LST_Q_CTRL) == -1)
			return;		/* again when the queue drains */
		e->foff += n;
	}
	if (e->foff < e->flen)
		return;
	l->hold.file_bytes -= e->flen;
	free(e->file);
	e->file = NULL;
	result_push(l, e);
}

void
lst_hold_file(struct lst *l, const struct mc_result *r, const char *mime,
    char *file, size_t len)
{
	struct lst_held *e = held_for_result(l, r->id);
	struct mc_result fail;

	if (e == NULL || l->hold.file_bytes + len > LST_FILES_MAX) {
		free(file);
		fail = *r;
		fail.outcome = MC_FAILED;
		fail.exit_code = -1;
		mc_strlcpy(fail.error, "too many files waiting to be sent to "
		    "the hub; try again later", sizeof(fail.error));
		lst_hold_result(l, &fail);
		return;
	}
	if (result_keep(l, e, r) == -1) {
		free(file);
		held_clear(&l->hold, e);
		return;
	}
	e->state = LST_H_FILE;
	e->file = file;
	e->flen = len;
	e->foff = 0;
	mc_strlcpy(e->mime, mime, sizeof(e->mime));
	l->hold.file_bytes += len;
	file_pump(l, e);
}

/* ---- the hub's side ---- */

int
lst_hold_begin(struct lst *l, const char *id)
{
	struct lst_held *e = held_find(&l->hold, id);

	if (e != NULL) {
		if (e->state == LST_H_SENT) {
			mc_info("command %s repeated by the hub; sending its "
			    "result again", id);
			result_push(l, e);
		} else
			mc_info("command %s repeated by the hub while %s; "
			    "ignored", id, e->state == LST_H_RUNNING ?
			    "running" : "its result is on its way");
		return 1;
	}
	if (seen_has(&l->hold, id)) {
		mc_info("command %s repeated by the hub after its result was "
		    "acknowledged; ignored", id);
		return 1;
	}
	seen_add(&l->hold, id);
	return held_new(&l->hold, id) != NULL ? 0 : -1;
}

void
lst_hold_sent(struct lst *l, const char *id)
{
	struct lst_held *e = held_find(&l->hold, id);

	if (e != NULL && e->state == LST_H_QUEUED)
		e->state = LST_H_SENT;
}

void
lst_hold_ack(struct lst *l, const char *id)
{
	struct lst_held *e = held_find(&l->hold, id);

	/* a result still running or feeding its file cannot be stored on
	 * the hub yet: an ack for it is stale */
	if (e == NULL || e->state == LST_H_RUNNING || e->state == LST_H_FILE)
		return;
	held_clear(&l->hold, e);
}

void
lst_hold_welcome(struct lst *l)
{
	int i, n = 0;

	for (i = 0; i < LST_HOLD_MAX; i++) {
		if (l->hold.h[i].state != LST_H_SENT)
			continue;
		result_push(l, &l->hold.h[i]);
		n++;
	}
	if (n > 0)
		mc_info("sending %d unacknowledged result%s again", n,
		    n == 1 ? "" : "s");
	lst_hold_pump(l);
}

void
lst_hold_pump(struct lst *l)
{
	struct lst_held *e;
	int i;

	for (i = 0; i < LST_HOLD_MAX; i++) {
		e = &l->hold.h[i];
		if (e->state == LST_H_FILE)
			file_pump(l, e);
		else if (e->state == LST_H_UNQUEUED)
			result_push(l, e);
	}
}

void
lst_hold_pending(struct lst *l, struct mc_hello *h)
{
	int i;

	h->npending = 0;
	for (i = 0; i < LST_HOLD_MAX && h->npending < MC_PENDING_MAX; i++)
		if (l->hold.h[i].state != LST_H_FREE)
			mc_strlcpy(h->pending[h->npending++], l->hold.h[i].id,
			    MC_ID_MAX);
}

void
lst_hold_written(struct lst *l, const char *id, const void *msg, size_t len)
{
	struct lst_held *e = held_find(&l->hold, id);

	/* none: output of a command held no more (its result forgotten) */
	if (e != NULL)
		lst_tail_keep(&l->hold, e, msg, len);
}
