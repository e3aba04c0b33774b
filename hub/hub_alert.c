/*
 * hub_alert.c - alerts people can trust: status changes and threshold
 * rules become messages in words, with noise control.  This file decides
 * what is alerted; hub_alert_storm.c decides when it leaves (the batch,
 * storms, silences) and hub_alert_send.c words, records and sends it.
 *
 * Rules kept here (docs/alerts.md says the same for operators):
 *  - One alert per incident, one recovery.  An agent that goes critical
 *    (or does not come back from a restart) is alerted once; its recovery
 *    says how long it was down.  A recovery goes out only for an incident
 *    whose alert went out: not for one muted by a silence or held while
 *    flapping, and an incident that ends before its alert left sends
 *    neither.
 *  - An intended stop or a clean shutdown (a goodbye) is never critical;
 *    with alert_on_offline it is an info notice, and so are the return
 *    and a new agent's first connection (first_online, never "again").
 *  - Flapping: more than flap_count critical onsets within flap_window make
 *    one "flapping" alert instead of the next critical.  The agent's
 *    criticals and recoveries are then held until it keeps one state for
 *    flap_window / 2, and one message says how it settled.
 * Every alert is recorded (the alerts table and an "alert" event), also
 * with no channel configured; hub_notify.c records each delivery.  All of
 * this runs on the service thread, O(1) per status change; the tick costs
 * O(flapping agents) here.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "hub_alert.h"
#include "hub_ctr.h"
#include "mc_log.h"
#include "mc_util.h"

/* the agents flapping now, a list through state->flap_next */
static struct hub_agent *flapping_agents;

/* ---- words ---- */

static void
metrics_words(const struct hub_agent *a, char *out, size_t outlen)
{
	if (!a->have_metrics) {
		snprintf(out, outlen, "No metrics received yet.");
		return;
	}
	if (isnan(a->g.cpu))
		snprintf(out, outlen, "Last metrics: cpu not measured yet, mem "
		    "%.0f%%, disk %.0f%%.", a->g.mem, a->g.disk);
	else
		snprintf(out, outlen, "Last metrics: cpu %.0f%%, mem %.0f%%, "
		    "disk %.0f%%.", a->g.cpu, a->g.mem, a->g.disk);
}

/* "pc-gpu is CRITICAL: no heartbeat for 31s (last seen 12:00:01 UTC).
 * Last metrics: cpu 4%, mem 31%, disk 62%." */
static void
down_text(const struct hub_agent *a, const char *how, char *out,
    size_t outlen)
{
	char quiet[32], seen[48], m[128];

	hub_alert_dur(mc_wall() - a->last_seen, quiet, sizeof(quiet));
	hub_alert_time(a->last_seen, seen, sizeof(seen));
	metrics_words(a, m, sizeof(m));
	if (a->last_seen > 0)
		snprintf(out, outlen, "%s %s: no heartbeat for %s (last seen "
		    "%s). %s", a->name, how, quiet, seen, m);
	else
		snprintf(out, outlen, "%s %s: no heartbeat since the hub "
		    "started. %s", a->name, how, m);
}

/* ---- incidents and flapping ---- */

static struct hub_alert_state *
state_get(struct hub_agent *a)
{
	if (a->alert == NULL && (a->alert = calloc(1,
	    sizeof(*a->alert))) == NULL)
		mc_err("alerts: out of memory for agent '%s'", a->name);
	return a->alert;
}

/* Remember a critical onset; how many fall within flap_window. */
static int
flap_onsets(struct hub_alert_state *st, double now)
{
	int i, n = 0;

	st->onsets[st->onset_next] = now;
	st->onset_next = (st->onset_next + 1) % HUB_ALERT_FLAP_RING;
	if (st->nonsets < HUB_ALERT_FLAP_RING)
		st->nonsets++;
	for (i = 0; i < st->nonsets; i++)
		if (now - st->onsets[i] <= hub.conf.flap_window)
			n++;
	return n;
}

static void
flap_start(struct hub_agent *a, struct hub_alert_state *st, int n)
{
	char win[32], settle[32];
	struct hub_alert_entry *e;

	st->flapping = 1;
	st->flap_next = flapping_agents;
	flapping_agents = a;
	hub_alert_cancel_pending(a, NULL);
	if ((e = hub_alert_entry_new(K_FLAPPING, a, NULL)) == NULL)
		return;
	hub_alert_dur(hub.conf.flap_window, win, sizeof(win));
	hub_alert_dur(hub.conf.flap_window / 2, settle, sizeof(settle));
	snprintf(e->text, sizeof(e->text), "%s is FLAPPING: it went critical "
	    "%d times in %s. Its alerts are held until it keeps one state "
	    "for %s.", a->name, n, win, settle);
	hub_alert_batch_add(e);
}

static void
on_down(struct hub_agent *a, int not_back)
{
	struct hub_alert_state *st = state_get(a);
	double now = mc_now();
	struct hub_alert_entry *e;
	int n;

	if (st == NULL)
		return;
	st->down_seen = a->last_seen;
	st->alerted = 0;
	st->last_toggle = now;
	hub_alert_ack_end(st);
	n = flap_onsets(st, now);
	if (st->flapping)
		return;
	if (n > hub.conf.flap_count) {
		flap_start(a, st, n);
		return;
	}
	if ((e = hub_alert_entry_new(not_back ? K_NOT_BACK : K_CRITICAL, a,
	    NULL)) == NULL)
		return;
	e->opens = e->incident = 1;
	down_text(a, not_back ? "did not come back from a restart" :
	    "is CRITICAL", e->text, sizeof(e->text));
	hub_alert_batch_add(e);
}

static void
on_up(struct hub_agent *a, enum hub_status to, const char *detail)
{
	struct hub_alert_state *st = a->alert;
	char down[32];
	struct hub_alert_entry *e;
	size_t n;

	if (st == NULL)
		return;
	st->last_toggle = mc_now();
	if (st->flapping)
		return;
	if (hub_alert_cancel_pending(a, NULL) > 0 || !st->alerted) {
		st->alerted = 0;	/* never told: nothing to take back */
		return;
	}
	st->alerted = 0;
	if ((e = hub_alert_entry_new(K_RECOVERED, a, NULL)) == NULL)
		return;
	hub_alert_dur(mc_wall() - st->down_seen, down, sizeof(down));
	snprintf(e->text, sizeof(e->text), "%s recovered after %s down.",
	    a->name, down);
	n = strlen(e->text);
	if (to == ST_OFFLINE)
		snprintf(e->text + n, sizeof(e->text) - n, " It said goodbye "
		    "(%s) and is offline.", detail);
	hub_alert_batch_add(e);
}

static void
on_goodbye(struct hub_agent *a, const char *detail)
{
	struct hub_alert_entry *e = hub_alert_entry_new(K_OFFLINE, a, NULL);

	if (e == NULL)
		return;
	snprintf(e->text, sizeof(e->text), "%s went offline: it said goodbye "
	    "(%s). That is not an incident; no critical alert follows.",
	    a->name, detail[0] ? detail : "no reason given");
	hub_alert_batch_add(e);
}

/* Back after a goodbye, or (detail HUB_FIRST_CONNECTION) a new agent. */
static void
on_back(struct hub_agent *a, const char *detail)
{
	int first = strcmp(detail, HUB_FIRST_CONNECTION) == 0;
	struct hub_alert_entry *e = hub_alert_entry_new(first ? K_FIRST :
	    K_ONLINE, a, NULL);

	if (e == NULL)
		return;
	snprintf(e->text, sizeof(e->text), first ? "%s connected for the "
	    "first time." : "%s is online again.", a->name);
	hub_alert_batch_add(e);
}

void
hub_alert_status(struct hub_agent *a, enum hub_status from,
    enum hub_status to, const char *detail)
{
	if (to == ST_CRITICAL)
		on_down(a, from == ST_RESTARTING);
	else if (from == ST_CRITICAL)
		on_up(a, to, detail);
	else if (to == ST_OFFLINE && hub.conf.alert_on_offline)
		on_goodbye(a, detail);
	else if (from == ST_OFFLINE && to == ST_ONLINE &&
	    hub.conf.alert_on_offline)
		on_back(a, detail);
}

void
hub_alert_adopt(struct hub_agent *a, double began)
{
	struct hub_alert_state *st = state_get(a);

	if (st == NULL || st->alerted)
		return;
	st->alerted = 1;
	st->down_seen = began;
}

static void
settled(struct hub_agent *a)
{
	char settle[32];
	struct hub_alert_entry *e;

	if (a->status == ST_CRITICAL && hub_alert_acked(a->alert))
		return;		/* acknowledged: not told again */
	if (a->status == ST_CRITICAL) {
		if ((e = hub_alert_entry_new(K_CRITICAL, a, NULL)) == NULL)
			return;
		e->opens = e->incident = 1;
		down_text(a, "stopped flapping and is CRITICAL", e->text,
		    sizeof(e->text));
	} else {
		if ((e = hub_alert_entry_new(K_SETTLED, a, NULL)) == NULL)
			return;
		hub_alert_dur(hub.conf.flap_window / 2, settle,
		    sizeof(settle));
		snprintf(e->text, sizeof(e->text), "%s stopped flapping: it "
		    "has been %s for %s.", a->name, hub_status_name(a->status),
		    settle);
	}
	hub_alert_batch_add(e);
}

/* Agents that kept one state for flap_window / 2 stop flapping. */
static void
flap_settle(double now)
{
	struct hub_agent **pp = &flapping_agents, *a;
	struct hub_alert_state *st;

	while ((a = *pp) != NULL) {
		st = a->alert;
		if (now - st->last_toggle < hub.conf.flap_window / 2) {
			pp = &st->flap_next;
			continue;
		}
		*pp = st->flap_next;
		st->flap_next = NULL;
		st->flapping = 0;
		st->nonsets = st->onset_next = 0;
		settled(a);
	}
}

/* ---- rules and silences ---- */

void
hub_alert_rule(struct hub_agent *a, int rule, const char *rule_text,
    int fired, const char *text)
{
	struct hub_alert_state *st = fired ? state_get(a) : NULL;
	char key[HUB_ALERT_KEY_MAX];
	struct hub_alert_entry *e;

	if (st != NULL)
		hub_alert_ack_end(st);
	snprintf(key, sizeof(key), "rule:%d", rule);
	if (!fired && hub_alert_cancel_pending(a, key) > 0)
		return;		/* it cleared before its alert left */
	if ((e = hub_alert_entry_new(fired ? K_RULE : K_RULE_CLEAR, a,
	    key)) == NULL)
		return;
	e->opens = fired;
	mc_strlcpy(e->rule, rule_text, sizeof(e->rule));
	mc_strlcpy(e->text, text, sizeof(e->text));
	hub_alert_batch_add(e);
}

/* Critical or with a container down: what a silence may be muting.  A
 * list of these, not a walk of every agent, is what a commit that ends
 * silences under 10,000 agents costs the loop (bench/gitcfg_stall). */
static struct {
	struct hub_agent *head;
	int		  off;		/* the agents are being freed */
} down;

void
hub_alert_down_off(void)
{
	down.head = NULL;
	down.off = 1;
}

void
hub_alert_down_track(struct hub_agent *a)
{
	/* in a cluster, only the hub that recorded an agent's critical
	 * alerts for it again */
	int is = (a->status == ST_CRITICAL && a->held_by == HUB_HELD_HERE) ||
	    (a->ctr != NULL && a->ctr->ndown > 0);

	if (is == a->downlisted || down.off)
		return;
	if (is) {
		a->dprev = NULL;
		a->dnext = down.head;
		if (down.head != NULL)
			down.head->dprev = a;
		down.head = a;
	} else {
		if (a->dprev != NULL)
			a->dprev->dnext = a->dnext;
		else
			down.head = a->dnext;
		if (a->dnext != NULL)
			a->dnext->dprev = a->dprev;
		a->dnext = a->dprev = NULL;
	}
	a->downlisted = is;
}

void
hub_alert_unmuted(const struct hub_silence *ended)
{
	struct hub_agent *a;
	struct hub_alert_entry *e;
	int crit, ctr;

	for (a = down.head; a != NULL; a = a->dnext) {
		crit = a->status == ST_CRITICAL && a->alert != NULL &&
		    !a->alert->alerted && !a->alert->flapping &&
		    !hub_alert_acked(a->alert);
		ctr = a->ctr != NULL && a->ctr->ndown > 0;
		if ((!crit && !ctr) || !hub_silence_any_covers(ended, a))
			continue;
		if (ctr)
			hub_alert_ctr_unmuted(a);
		if (!crit)
			continue;
		hub_alert_cancel_pending(a, NULL);
		if ((e = hub_alert_entry_new(K_CRITICAL, a, NULL)) == NULL)
			continue;
		e->opens = e->incident = 1;
		down_text(a, "is still CRITICAL now that its silence has ended",
		    e->text, sizeof(e->text));
		hub_alert_batch_add(e);
	}
}

/* ---- the tick, start and shutdown ---- */

void
hub_alert_tick(double now)
{
	hub_silence_expire(mc_wall());
	flap_settle(now);
	hub_alert_storm_tick(now);
	hub_notify_tick(now);
}

int
hub_alert_start(void)
{
	struct hub_alert_state *st;
	struct hub_agent *a;

	/* agents already critical were alerted before the hub restarted:
	 * their recovery is due */
	for (a = hub_agent_first(); a != NULL; a = a->next) {
		if (a->status != ST_CRITICAL || (st = state_get(a)) == NULL)
			continue;
		st->alerted = 1;
		st->down_seen = a->last_seen;
	}
	hub_silence_start();
	if (hub_rules_count() > 0)
		mc_info("alerts: %d threshold rule%s", hub_rules_count(),
		    hub_rules_count() > 1 ? "s" : "");
	if (hub_notify_start() == -1)
		return -1;
	return hub_chat_start();
}

void
hub_alert_shutdown(void)
{
	struct hub_agent *a;

	hub_chat_stop();
	hub_notify_stop();
	hub_notify_drain();
	hub_alert_storm_shutdown();
	flapping_agents = NULL;
	for (a = hub_agent_first(); a != NULL; a = a->next) {
		free(a->alert);
		a->alert = NULL;
	}
	hub_rules_free_all();
	hub_silence_free_all();
}
