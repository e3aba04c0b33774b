/*
 * swarm_timer_heap.c - --timing independent (the default): every agent's
 * timer fires at its own time, and heartbeats are spaced as real
 * listeners space them.
 *
 * What a listener does (listener/lst_ws.c): on the welcome, hb_cb() sends
 * the first heartbeat at once and schedules itself welcome.hb later with
 * lws_sul_schedule(); each run sends one and schedules the next, hb after
 * it ran.  There is no jitter.  So in a fleet every listener beats at
 * exactly the hub's interval, at a phase set by when it last connected -
 * unrelated from machine to machine - and the hub is woken by heartbeats
 * one at a time, not in bursts.  Here each agent does the same: its first
 * heartbeat right after the welcome, the second after a random fraction
 * of hb (uniform over [0, hb): the phase, standing in for the unrelated
 * start times of a fleet's machines), then exactly hb apart.  Two
 * deliberate differences: the next beat is counted from when this one was
 * due, not from when the loop got to it, so a busy swarm does not send
 * fewer than its agents would (a listener's loop is idle and its lateness
 * well under a millisecond); and a loop more than a whole interval behind
 * resumes from now instead of sending the missed beats.  Not modelled:
 * right after a hub restart real listeners' phases are bunched by their
 * reconnect times (1 s +-25 % backoff) and stay so, having no jitter; a
 * swarm agent draws a fresh phase on every welcome.
 *
 * A listener also pings: its lws connection has an idle policy
 * (LST_PING_SECS) that sends a WebSocket ping 300 s after the connection
 * came up and 300 s after each pong, whatever else goes to and fro - one
 * more message every 300 s that the hub reads and answers.  So an agent
 * has a second timer, its ping (SW_PING_SECS, armed by swarm_ws.c), here
 * and not as lws's own validity timer, which lives in the same O(n)
 * list.
 *
 * Why a heap, not an lws_sul per agent: lws 4.1 keeps scheduled suls in
 * one sorted linked list and inserts by walking it from the head, and a
 * re-armed heartbeat belongs near the tail - 20,000 agents at 1 s would
 * walk 20,000 x 20,000 links a second.  So the agents' timers are a
 * binary min-heap of (time, agent, which timer) in one array of two per
 * agent, O(log n) to arm, re-arm or cancel,
 * and one sul is scheduled for the earliest.  When it fires, every timer
 * due by then fires, and the sul is scheduled again for the new earliest.
 * Timers are kept in microseconds of mc_now(); they fire as precisely as
 * lws's loop wakes (libev's epoll: within about a millisecond), and two
 * agents fire together only when their times are that close, as two
 * listeners' would.
 */
#include <stdlib.h>

#include "swarm.h"

/* An agent's two timers: the one of struct sw_timing.set and its ping. */
enum { T_MAIN, T_PING };

struct hent {
	int64_t		 at;		/* due, microseconds of mc_now() */
	uint32_t	 agent;		/* index into s->agents */
	uint32_t	 kind;		/* T_MAIN or T_PING */
};

struct heap {
	struct sw	*s;
	struct hent	*e;		/* owned: n used of 2 * s->n */
	uint32_t	 n;
	int		 running;	/* fire() is walking the heap */
	int64_t		 armed;		/* when the sul fires; 0: never */
	lws_sorted_usec_list_t sul;
};

static void	fire(lws_sorted_usec_list_t *sul);

static int64_t
now_us(void)
{
	return (int64_t)(mc_now() * 1e6);
}

/* Where agent a keeps the heap slot (+ 1) of its timer of this kind. */
static uint32_t *
slot_of(struct sw_agent *a, uint32_t kind)
{
	return kind == T_PING ? &a->t.h.ping : &a->t.h.pos;
}

static void
place(struct heap *h, uint32_t i, struct hent e)
{
	h->e[i] = e;
	*slot_of(&h->s->agents[e.agent], e.kind) = i + 1;
}

static void
sift_up(struct heap *h, uint32_t i, struct hent e)
{
	uint32_t p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (h->e[p].at <= e.at)
			break;
		place(h, i, h->e[p]);
		i = p;
	}
	place(h, i, e);
}

static void
sift_down(struct heap *h, uint32_t i, struct hent e)
{
	uint32_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->e[c + 1].at < h->e[c].at)
			c++;
		if (h->e[c].at >= e.at)
			break;
		place(h, i, h->e[c]);
		i = c;
	}
	place(h, i, e);
}

/* Put e at slot i (holding something else or nothing) where it belongs. */
static void
settle(struct heap *h, uint32_t i, struct hent e)
{
	if (i > 0 && e.at < h->e[(i - 1) / 2].at)
		sift_up(h, i, e);
	else
		sift_down(h, i, e);
}

static void
take_out(struct heap *h, struct sw_agent *a, uint32_t kind)
{
	uint32_t *slot = slot_of(a, kind), i = *slot - 1;
	struct hent last = h->e[--h->n];

	*slot = 0;
	if (kind == T_MAIN)
		a->linked = 0;
	if (i < h->n)
		settle(h, i, last);
}

/* Have the sul fire no later than the earliest timer.  One that fires
 * early (its timer was cancelled) finds nothing due and comes here. */
static void
schedule(struct heap *h)
{
	struct sw *s = h->s;
	int64_t d;

	if (h->running || s->ctx == NULL)
		return;
	if (h->n == 0) {
		if (h->armed != 0)
			lws_sul_cancel(&h->sul);
		h->armed = 0;
		return;
	}
	if (h->armed != 0 && h->armed <= h->e[0].at)
		return;
	d = h->e[0].at - now_us();
	lws_sul_schedule(s->ctx, 0, &h->sul, fire, d > 0 ? d : 0);
	h->armed = h->e[0].at;
}

static void
arm(struct sw *s, struct sw_agent *a, uint32_t kind, int64_t at)
{
	struct heap *h = s->tdata;
	uint32_t *slot = slot_of(a, kind);
	struct hent e;

	e.at = at;
	e.agent = (uint32_t)(a - s->agents);
	e.kind = kind;
	if (kind == T_MAIN) {
		a->t.h.at = at;
		a->linked = 1;
	}
	if (*slot != 0)
		settle(h, *slot - 1, e);
	else
		sift_up(h, h->n++, e);
	schedule(h);
}

static void
fire(lws_sorted_usec_list_t *sul)
{
	struct heap *h = lws_container_of(sul, struct heap, sul);
	struct sw *s = h->s;
	int64_t now = now_us();
	uint32_t budget = h->n;
	struct sw_agent *a;
	uint32_t kind;

	h->armed = 0;
	h->running = 1;
	/* each timer at most once a run: one re-armed for now waits for
	 * the next */
	while (h->n > 0 && h->e[0].at <= now && budget-- > 0) {
		a = &s->agents[h->e[0].agent];
		kind = h->e[0].kind;
		take_out(h, a, kind);
		if (kind == T_PING)
			sw_ws_ping_due(s, a);
		else
			sw_ws_due(s, a);
	}
	h->running = 0;
	schedule(h);
}

static int
heap_init(struct sw *s)
{
	struct heap *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return -1;
	if ((h->e = calloc((size_t)s->n * 2, sizeof(*h->e))) == NULL) {
		free(h);
		return -1;
	}
	h->s = s;
	s->tdata = h;
	return 0;
}

static void
heap_set(struct sw *s, struct sw_agent *a, double secs)
{
	arm(s, a, T_MAIN, now_us() + (int64_t)(secs * 1e6));
}

static void
heap_hb(struct sw *s, struct sw_agent *a, int welcome)
{
	int64_t now = now_us(), every = (int64_t)(s->hb_every * 1e6), at;

	if (welcome) {
		/* the heartbeat just owed was the first; this is the phase */
		at = now + (int64_t)(sw_rand(s, 0, 1) * (double)every);
	} else {
		/* from sw_ws_due(): t.h.at is when this beat was due */
		at = a->t.h.at + every;
		if (at <= now)
			at = now + every;
	}
	arm(s, a, T_MAIN, at);
}

static void
heap_cancel(struct sw *s, struct sw_agent *a)
{
	struct heap *h = s->tdata;

	take_out(h, a, T_MAIN);
	schedule(h);
}

static void
heap_ping(struct sw *s, struct sw_agent *a, double secs)
{
	struct heap *h = s->tdata;

	if (secs >= 0) {
		arm(s, a, T_PING, now_us() + (int64_t)(secs * 1e6));
	} else if (a->t.h.ping != 0) {
		take_out(h, a, T_PING);
		schedule(h);
	}
}

static void
heap_stop(struct sw *s)
{
	struct heap *h = s->tdata;
	uint32_t i;

	lws_sul_cancel(&h->sul);
	h->armed = 0;
	for (i = 0; i < h->n; i++) {
		s->agents[h->e[i].agent].linked = 0;
		*slot_of(&s->agents[h->e[i].agent], h->e[i].kind) = 0;
	}
	h->n = 0;
}

static void
heap_free(struct sw *s)
{
	struct heap *h = s->tdata;

	free(h->e);
	free(h);
}

const struct sw_timing sw_timer_heap = {
	.name = "independent",
	.about = "each agent on its own timer, as listeners",
	.init = heap_init,
	.set = heap_set,
	.hb = heap_hb,
	.cancel = heap_cancel,
	.ping = heap_ping,
	.tick = NULL,
	.stop = heap_stop,
	.free = heap_free,
};
