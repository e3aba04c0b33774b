/*
 * swarm_timer_wheel.c - --timing wheel: agent timers on a 50 ms tick and
 * a timer wheel, heartbeats hb +-10 % apart, no pings.  Batched: not a
 * capacity figure.
 *
 * This was swarm's only timing until the wake-up check (bench/wakeups.sh)
 * showed what it does to the hub: every timer that falls in a tick fires
 * in the same tick, so an agent's heartbeats leave swarm in bursts, 20 a
 * second, and the hub handles a burst in one wake-up where real listeners,
 * each on its own timer, wake it once a heartbeat.  The hub's CPU per
 * heartbeat came out lower than with a real fleet.  It stays for
 * comparing with figures taken with it, and because it is the cheapest
 * for swarm itself.
 *
 * SW_WHEEL_SLOTS lists indexed by tick number modulo the slot count.
 * Each agent's one timer is list links inside the agent, so arming,
 * re-arming and cancelling are O(1) and a tick visits only the slots that
 * came due.  A timer more than one turn (204.8 s) away stays in its slot
 * until its own turn comes.  A timer fires within a tick of its time and
 * right on average.  If the loop falls behind, the next tick catches up
 * on every slot it missed.
 */
#include <math.h>
#include <stdlib.h>

#include "swarm.h"

/* slots (a power of two): 4096 x 50 ms = 204.8 s per turn; longer
 * timers simply stay put for another turn */
#define SW_WHEEL_SLOTS		4096
#define SLOT(t)			((t) & (SW_WHEEL_SLOTS - 1))

struct wheel {
	struct sw_agent	*slot[SW_WHEEL_SLOTS];
	uint32_t	 tick_done;	/* last tick processed */
};

/* Ticks since start, with the fraction. */
static double
ticks_exact(const struct sw *s)
{
	return (mc_now() - s->t0) * 1000.0 / SW_TICK_MS;
}

static void
unlink_agent(struct wheel *w, struct sw_agent *a)
{
	if (a->t.w.prev != NULL)
		a->t.w.prev->t.w.next = a->t.w.next;
	else
		w->slot[SLOT(a->t.w.due)] = a->t.w.next;
	if (a->t.w.next != NULL)
		a->t.w.next->t.w.prev = a->t.w.prev;
	a->t.w.next = NULL;
	a->t.w.prev = NULL;
	a->linked = 0;
}

static void
link_agent(struct wheel *w, struct sw_agent *a)
{
	struct sw_agent **head = &w->slot[SLOT(a->t.w.due)];

	a->t.w.prev = NULL;
	a->t.w.next = *head;
	if (*head != NULL)
		(*head)->t.w.prev = a;
	*head = a;
	a->linked = 1;
}

static int
wheel_init(struct sw *s)
{
	struct wheel *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	s->tdata = w;
	return 0;
}

static void
wheel_set(struct sw *s, struct sw_agent *a, double secs)
{
	struct wheel *w = s->tdata;
	double now = ticks_exact(s), ticks;

	if (a->linked)
		unlink_agent(w, a);
	/* the last tick boundary before the wanted time: the tick that
	 * walks it runs on average half a tick after the boundary, so
	 * intervals come out right on average.  At least the next tick,
	 * never a slot being walked right now. */
	ticks = floor(now + secs * 1000.0 / SW_TICK_MS) - floor(now);
	if (ticks < 1)
		ticks = 1;
	a->t.w.due = (uint32_t)now + (uint32_t)ticks;
	link_agent(w, a);
}

/* hb +-10 %, after a welcome as after a heartbeat */
static void
wheel_hb(struct sw *s, struct sw_agent *a, int welcome)
{
	(void)welcome;
	wheel_set(s, a, s->hb_every * sw_rand(s, 0.9, 1.1));
}

static void
wheel_cancel(struct sw *s, struct sw_agent *a)
{
	unlink_agent(s->tdata, a);
}

/* Fire every timer of one slot that is due by tick now. */
static void
run_slot(struct sw *s, struct wheel *w, uint32_t slot, uint32_t now)
{
	struct sw_agent *a, *next;

	for (a = w->slot[slot]; a != NULL; a = next) {
		/* sw_ws_due() re-arms only a itself, always to a later tick */
		next = a->t.w.next;
		if ((int32_t)(a->t.w.due - now) > 0)
			continue;
		unlink_agent(w, a);
		sw_ws_due(s, a);
	}
}

static void
wheel_tick(struct sw *s)
{
	struct wheel *w = s->tdata;
	uint32_t now = (uint32_t)ticks_exact(s), n = now - w->tick_done, t;

	if (n > SW_WHEEL_SLOTS)
		n = SW_WHEEL_SLOTS;
	for (t = now - n + 1; n > 0; t++, n--)
		run_slot(s, w, SLOT(t), now);
	w->tick_done = now;
}

static void
wheel_stop(struct sw *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->agents[i].linked)
			wheel_cancel(s, &s->agents[i]);
}

static void
wheel_free(struct sw *s)
{
	free(s->tdata);
}

const struct sw_timing sw_timer_wheel = {
	.name = "wheel",
	.about = "batched: not a capacity figure",
	.init = wheel_init,
	.set = wheel_set,
	.hb = wheel_hb,
	.cancel = wheel_cancel,
	.ping = NULL,
	.tick = wheel_tick,
	.stop = wheel_stop,
	.free = wheel_free,
};
