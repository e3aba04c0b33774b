/*
 * hub_selfwatch.c - the hub's own faults that are not the store's: an
 * alert channel that delivers nothing, and an event loop that stalled.
 *
 * A channel is failing once channel_failing_after (default 10 min) has
 * passed since its first failure (a retry or a message given up) without
 * a delivery in between: one event (type "hub") and one hub_fault alert,
 * which the other channels carry; then one event and one hub_ok when it
 * delivers again.  Shorter outages are the deliveries' own events.
 *
 * The loop is run by lws and fed by the cron tick (a quarter heartbeat,
 * at most 250 ms).  A tick that comes LOOP_STALL seconds or more after the
 * last one means nothing ran in between: no heartbeat read, no critical
 * decided, no API answered.  It is over by the time it is seen, so it is
 * one event and one hub_fault alert saying how long, and a counter.  (A
 * loop stuck for good is for the systemd watchdog and deadman_url.)  The
 * heartbeats that arrived meanwhile wait in the sockets, unread: for one
 * heartbeat interval after a stall no agent changes status, so the hub's
 * own pause never shows as every agent going late or critical.
 */
#include <stdio.h>
#include <string.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

#define LOOP_STALL	5.0	/* seconds without a tick */
#define CHANS_MAX	8

struct chan_health {
	char	 name[16];
	double	 failing_since;	/* monotonic; 0: delivering */
	int	 reported;	/* the fault's event and alert went out */
	char	 last[128];	/* the last failure, for the alert */
};

static struct {
	struct chan_health c[CHANS_MAX];
	int		   n;
	double		   last_tick;
	double		   settle_until;	/* after a stall */
	uint64_t	   stalls;
} sw;

static struct chan_health *
chan_get(const char *name)
{
	int i;

	for (i = 0; i < sw.n; i++)
		if (strcmp(sw.c[i].name, name) == 0)
			return &sw.c[i];
	if (sw.n == CHANS_MAX)
		return NULL;
	mc_strlcpy(sw.c[sw.n].name, name, sizeof(sw.c[0].name));
	return &sw.c[sw.n++];
}

void
hub_selfwatch_delivery(const char *chan, int sent, const char *detail)
{
	struct chan_health *h = chan_get(chan);
	char text[256];

	if (h == NULL)
		return;
	if (!sent) {
		if (h->failing_since == 0)
			h->failing_since = mc_now();
		mc_strlcpy(h->last, detail, sizeof(h->last));
		return;
	}
	if (h->reported) {
		snprintf(text, sizeof(text), "The alert channel %s delivers "
		    "again.", chan);
		hub_event("hub", "", "channel_failing", "ok", text);
		hub_alert_notice("hub_ok", "", "HUB: alert channel delivers "
		    "again", text);
	}
	h->failing_since = 0;
	h->reported = 0;
}

static void
chans_check(double now)
{
	char text[512];
	int i;

	for (i = 0; i < sw.n; i++) {
		struct chan_health *h = &sw.c[i];

		if (h->failing_since == 0 || h->reported ||
		    now - h->failing_since < hub.conf.channel_failing_after)
			continue;
		h->reported = 1;
		snprintf(text, sizeof(text), "The alert channel %s has "
		    "delivered nothing for %.0f s (last: %s). Alerts still "
		    "go to the other channels and to the event log; check "
		    "its token or URL, and `hubctl alerts test`.", h->name,
		    now - h->failing_since, h->last);
		mc_warn("%s", text);
		hub_event("hub", "", "ok", "channel_failing", text);
		hub_alert_notice("hub_fault", "", "HUB: alert channel failing",
		    text);
	}
}

static void
loop_check(double now)
{
	double gap = now - sw.last_tick;
	char text[256];

	if (sw.last_tick > 0 && gap >= LOOP_STALL) {
		sw.stalls++;
		sw.settle_until = now + hub.conf.heartbeat;
		snprintf(text, sizeof(text), "The hub's event loop did not run "
		    "for %.1f s: no heartbeat was read and no API request "
		    "answered meanwhile (the machine overloaded or swapping, "
		    "or the process stopped).", gap);
		mc_warn("%s", text);
		hub_event("hub", "", "ok", "loop_stalled", text);
		hub_alert_notice("hub_fault", "", "HUB: event loop stalled",
		    text);
	}
	sw.last_tick = now;
}

void
hub_selfwatch_tick(double now)
{
	loop_check(now);
	chans_check(now);
}

int
hub_selfwatch_settling(double now)
{
	return now < sw.settle_until;
}

uint64_t
hub_selfwatch_stalls(void)
{
	return sw.stalls;
}
