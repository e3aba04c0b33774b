/*
 * swarm_timer.c - every agent timer, the status line and the end of a run,
 * all driven by one periodic tick.
 *
 * Why not an lws_sul per agent: lws 4.1 keeps scheduled suls in a sorted
 * linked list, so every schedule walks it - O(n) per insert - and 20,000
 * agents re-arming a heartbeat timer every second would spend the loop
 * walking that list.  Instead one sul fires every SW_TICK_MS and walks a
 * timer wheel: SW_WHEEL_SLOTS lists indexed by tick number modulo the
 * slot count.  Each agent has exactly one timer (reconnect while idle,
 * next heartbeat while ready), embedded in the agent as list links, so
 * arming, re-arming and cancelling are O(1) and a tick visits only the
 * slots that came due.  A timer more than one turn (204.8 s) away stays
 * in its slot until its own turn comes.  A timer fires within a tick
 * (50 ms) of its time and right on average (1000 agents at hb 1 s make
 * 1000 heartbeats a second), plenty for heartbeats measured in seconds.
 * If the loop falls behind, the next tick catches up on every slot it
 * missed.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/random.h>

#include "mc_log.h"
#include "swarm.h"

#define SLOT(t)		((t) & (SW_WHEEL_SLOTS - 1))

double
sw_rand(struct sw *s, double lo, double hi)
{
	uint64_t x = s->rng;

	/* xorshift64*: plenty for jitter, and no system call */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	x *= 0x2545f4914f6cdd1dULL;
	return lo + (hi - lo) * ((double)(x >> 11) / 9007199254740992.0);
}

/* Ticks since start, with the fraction. */
static double
ticks_exact(const struct sw *s)
{
	return (mc_now() - s->t0) * 1000.0 / SW_TICK_MS;
}

static uint32_t
tick_now(const struct sw *s)
{
	return (uint32_t)ticks_exact(s);
}

static void
wheel_unlink(struct sw *s, struct sw_agent *a)
{
	if (a->tprev != NULL)
		a->tprev->tnext = a->tnext;
	else
		s->wheel[SLOT(a->due)] = a->tnext;
	if (a->tnext != NULL)
		a->tnext->tprev = a->tprev;
	a->tnext = NULL;
	a->tprev = NULL;
	a->linked = 0;
}

static void
wheel_link(struct sw *s, struct sw_agent *a)
{
	struct sw_agent **head = &s->wheel[SLOT(a->due)];

	a->tprev = NULL;
	a->tnext = *head;
	if (*head != NULL)
		(*head)->tprev = a;
	*head = a;
	a->linked = 1;
}

void
sw_timer_set(struct sw *s, struct sw_agent *a, double secs)
{
	double now = ticks_exact(s), ticks;

	if (a->linked)
		wheel_unlink(s, a);
	if (!(secs >= 0))
		secs = 0;
	if (secs > 1e6)
		secs = 1e6;
	/* the last tick boundary before the wanted time: the tick that
	 * walks it runs on average half a tick after the boundary, so
	 * intervals come out right on average.  At least the next tick,
	 * never a slot being walked right now. */
	ticks = floor(now + secs * 1000.0 / SW_TICK_MS) - floor(now);
	if (ticks < 1)
		ticks = 1;
	a->due = (uint32_t)now + (uint32_t)ticks;
	wheel_link(s, a);
}

void
sw_timer_cancel(struct sw *s, struct sw_agent *a)
{
	if (a->linked)
		wheel_unlink(s, a);
}

/* Fire every timer of one slot that is due by tick now. */
static void
run_slot(struct sw *s, uint32_t slot, uint32_t now)
{
	struct sw_agent *a, *next;

	for (a = s->wheel[slot]; a != NULL; a = next) {
		/* sw_ws_due() re-arms only a itself, always to a later tick */
		next = a->tnext;
		if ((int32_t)(a->due - now) > 0)
			continue;
		wheel_unlink(s, a);
		sw_ws_due(s, a);
	}
}

static void
run_due(struct sw *s)
{
	uint32_t now = tick_now(s), n = now - s->tick_done, t;

	if (n > SW_WHEEL_SLOTS)
		n = SW_WHEEL_SLOTS;
	for (t = now - n + 1; n > 0; t++, n--)
		run_slot(s, SLOT(t), now);
	s->tick_done = now;
}

/* The status line: one a second on stdout. */
static void
report(struct sw *s, double el)
{
	uint64_t d = s->st.heartbeats - s->st.hb_last;
	double span = el - s->st.report_el;

	printf("t=%.0fs connected=%d/%d heartbeats=%llu (+%.0f/s) "
	    "commands=%llu reconnects=%llu errors=%llu\n", floor(el),
	    s->st.connected, s->n, (unsigned long long)s->st.heartbeats,
	    span > 0 ? (double)d / span : 0.0,
	    (unsigned long long)s->st.commands,
	    (unsigned long long)s->st.reconnects,
	    (unsigned long long)s->st.errors);
	fflush(stdout);
	s->st.hb_last = s->st.heartbeats;
	s->st.report_el = el;
	if (s->st.log_dropped > 0)
		mc_warn("%llu more errors in the last second not logged",
		    (unsigned long long)s->st.log_dropped);
	s->st.log_dropped = 0;
	s->st.log_budget = SW_LOG_PER_SEC;
	s->next_report += 1;
	if (s->next_report <= el)
		s->next_report = floor(el) + 1;
}

static void
tick_cb(lws_sorted_usec_list_t *sul)
{
	struct sw *s = lws_container_of(sul, struct sw, sul_tick);
	double el;

	run_due(s);
	el = mc_now() - s->t0;
	if (el >= s->next_report)
		report(s, el);
	if (!s->leaving && s->conf.duration > 0 && el >= s->conf.duration) {
		mc_info("--duration %g s reached; stopping", s->conf.duration);
		sw_ws_leave(s);
	}
	if (s->leaving)
		sw_ws_leave_step(s);
	if (s->leaving && (s->st.live == 0 ||
	    (s->leave_by > 0 && mc_now() >= s->leave_by)))
		s->done = 1;
	if (s->done && s->evlib) {
		/* libev runs until the context is gone: end it from inside */
		sw_main_close(s);
		return;
	}
	/* poll(): the tick stays scheduled so lws_service() returns to see
	 * done */
	lws_sul_schedule(s->ctx, 0, &s->sul_tick, tick_cb,
	    SW_TICK_MS * LWS_US_PER_MS);
}

void
sw_timer_start(struct sw *s)
{
	if (getrandom(&s->rng, sizeof(s->rng), 0) != (ssize_t)sizeof(s->rng)
	    || s->rng == 0)
		s->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)mc_wall();
	s->t0 = mc_now();
	s->tick_done = 0;
	s->next_report = 1;
	s->st.log_budget = SW_LOG_PER_SEC;
	lws_sul_schedule(s->ctx, 0, &s->sul_tick, tick_cb,
	    SW_TICK_MS * LWS_US_PER_MS);
}

void
sw_timer_stop(struct sw *s)
{
	int i;

	lws_sul_cancel(&s->sul_tick);
	for (i = 0; i < s->n; i++)
		sw_timer_cancel(s, &s->agents[i]);
}

void
sw_error(struct sw *s, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	s->st.errors++;
	if (s->st.log_budget <= 0) {
		s->st.log_dropped++;
		return;
	}
	s->st.log_budget--;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	mc_warn("%s", line);
}
