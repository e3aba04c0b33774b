/*
 * lst_tail.c - the last output written to the hub, kept until the
 * command's result is acknowledged and written again after a reconnect.
 *
 * A chunk written to a connection may never be stored: it was in flight
 * when the connection broke, or the hub that read it died before its
 * next store of the command's output (every few seconds), and the hub
 * that takes the command over, or the same one restarted, has only what
 * the store has.  Every output message carries "at", where its bytes
 * start in the command's output.  After a welcome that says the hub
 * places output by it ("out_at"), the kept messages go out again, ahead
 * of everything queued (they came first), and the hub skips the bytes it
 * has: nothing is shown twice, and what the store missed is filled.
 *
 * Bounds: a command keeps its newest LST_TAIL_MAX bytes of messages, and
 * all of them LST_TAILS_MAX (past that a command's oldest go first, then
 * a message is not kept).  A hole older than what is kept stays one: the
 * hub's result says how many bytes it lost.  Messages written again are
 * not kept twice: the queue's copies are not marked as output.
 */
#include <stdlib.h>
#include <string.h>

#include "lst.h"
#include "mc_log.h"

static void
drop_oldest(struct lst_hold *h, struct lst_held *e)
{
	struct lst_kept *k = e->kept;

	e->kept = k->next;
	if (e->kept == NULL)
		e->kept_last = NULL;
	e->kept_bytes -= k->len;
	h->kept_bytes -= k->len;
	free(k);
}

void
lst_tail_keep(struct lst_hold *h, struct lst_held *e, const void *msg,
    size_t len)
{
	struct lst_kept *k;

	/* the newest stay: room is made by the oldest */
	while (e->kept != NULL && (e->kept_bytes + len > LST_TAIL_MAX ||
	    h->kept_bytes + len > LST_TAILS_MAX))
		drop_oldest(h, e);
	if (len > LST_TAIL_MAX || h->kept_bytes + len > LST_TAILS_MAX)
		return;		/* not kept: a hub that lost it says so */
	k = malloc(sizeof(*k) + len);	/* owned by e until dropped */
	if (k == NULL)
		return;
	k->next = NULL;
	k->len = len;
	memcpy(k->msg, msg, len);
	if (e->kept_last != NULL)
		e->kept_last->next = k;
	else
		e->kept = k;
	e->kept_last = k;
	e->kept_bytes += len;
	h->kept_bytes += len;
}

void
lst_tail_clear(struct lst_hold *h, struct lst_held *e)
{
	while (e->kept != NULL)
		drop_oldest(h, e);
}

void
lst_tail_replay(struct lst *l)
{
	struct lst_queue front;
	struct lst_kept *k;
	size_t bytes = 0;
	int i, n = 0;

	lst_queue_init(&front);
	for (i = 0; i < LST_HOLD_MAX; i++) {
		k = l->hold.h[i].kept;
		n += k != NULL;
		for (; k != NULL; k = k->next) {
			/* LST_TAILS_MAX is far below the queue's bound */
			if (lst_queue_push(&front, LST_Q_OUT, NULL, k->msg,
			    k->len) == NULL)
				break;
			bytes += k->len;
		}
	}
	if (n > 0)
		mc_info("writing again the last %zu bytes of output of %d "
		    "command%s, which the hub may have lost", bytes, n,
		    n == 1 ? "" : "s");
	lst_queue_prepend(&l->q, &front);
}
