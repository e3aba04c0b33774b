/*
 * swarm_timer.c - the tick (status line, --duration, the goodbyes, the
 * end of a run) and the front of the agent timers, which one of two
 * timings keeps (--timing, struct sw_timing in swarm.h):
 *
 * - independent (swarm_timer_heap.c, the default): what real listeners
 *   do.  Every agent's timer fires at its own time, to the microsecond
 *   lws's loop gives; heartbeats come exactly welcome.hb apart, with no
 *   jitter (listener/lst_ws.c's hb_cb has none), at a phase of their
 *   own, so the hub sees them one by one as it does a real fleet; and
 *   each agent pings the hub SW_PING_SECS after its last pong, as a
 *   listener's lws does.
 * - wheel (swarm_timer_wheel.c): the old 50 ms tick and timer wheel
 *   with +-10 % jitter.  Every timer of a tick fires in one burst, so the
 *   hub handles many heartbeats per wake-up: cheaper for the hub than a
 *   real fleet.  No pings.  Batched: not a capacity figure.
 *
 * The tick itself is one lws_sul every SW_TICK_MS in both.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "mc_log.h"
#include "swarm.h"

static const struct sw_timing *const timings[] = {
	&sw_timer_heap,
	&sw_timer_wheel,
};

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

const struct sw_timing *
sw_timer_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(timings) / sizeof(timings[0]); i++)
		if (strcmp(timings[i]->name, name) == 0)
			return timings[i];
	return NULL;
}

int
sw_timer_init(struct sw *s)
{
	if (getrandom(&s->rng, sizeof(s->rng), 0) != (ssize_t)sizeof(s->rng)
	    || s->rng == 0)
		s->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)mc_wall();
	s->t0 = mc_now();
	return s->timing->init(s);
}

void
sw_timer_set(struct sw *s, struct sw_agent *a, double secs)
{
	if (!(secs >= 0))
		secs = 0;
	if (secs > 1e6)
		secs = 1e6;
	s->timing->set(s, a, secs);
}

void
sw_timer_hb(struct sw *s, struct sw_agent *a, int welcome)
{
	s->timing->hb(s, a, welcome);
}

void
sw_timer_cancel(struct sw *s, struct sw_agent *a)
{
	if (a->linked)
		s->timing->cancel(s, a);
}

void
sw_timer_ping(struct sw *s, struct sw_agent *a, double secs)
{
	if (s->timing->ping != NULL)
		s->timing->ping(s, a, secs);
}

/* The status line: one a second on stdout. */
static void
report(struct sw *s, double el)
{
	uint64_t d = s->st.heartbeats - s->st.hb_last;
	double span = el - s->st.report_el;

	printf("t=%.0fs connected=%d/%d heartbeats=%llu (+%.0f/s) "
	    "commands=%llu downloads=%llu reconnects=%llu errors=%llu\n",
	    floor(el),
	    s->st.connected, s->n, (unsigned long long)s->st.heartbeats,
	    span > 0 ? (double)d / span : 0.0,
	    (unsigned long long)s->st.commands,
	    (unsigned long long)s->st.downloads,
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

	if (s->timing->tick != NULL)
		s->timing->tick(s);
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
	s->next_report = 1;
	s->st.log_budget = SW_LOG_PER_SEC;
	lws_sul_schedule(s->ctx, 0, &s->sul_tick, tick_cb,
	    SW_TICK_MS * LWS_US_PER_MS);
}

void
sw_timer_stop(struct sw *s)
{
	lws_sul_cancel(&s->sul_tick);
	if (s->tdata != NULL)
		s->timing->stop(s);
}

void
sw_timer_free(struct sw *s)
{
	if (s->timing != NULL && s->tdata != NULL)
		s->timing->free(s);
	s->tdata = NULL;
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
