/*
 * hub_alert_ctr.c - containers that stop unexpectedly become alerts: what
 * a change in an agent's container table (hub_ctr.c) opens or closes.
 *
 * Rules kept here (docs/alerts.md says the same for operators):
 *  - container_down: a container that was running (or restarting, or
 *    paused) and is now exited or dead with an exit status other than 0
 *    or OOM-killed; one the hub had not seen that did the same between
 *    two heartbeats (started, then died); one that exited again since the
 *    hub last saw it exit; or one running and unhealthy for
 *    container_unhealthy_for.  An exit that followed a stop request
 *    (stopped on the wire: docker stop, a Maestro stop or restart), a
 *    clean exit (0), and a container labelled maestro.alert=false raise
 *    nothing.  A restart by the restart policy (restarts went up, running
 *    again) is no incident: it counts for container_restarts rules.
 *  - container_up: the container runs again (and is healthy, when it has
 *    a health check).  Sent only for an incident whose alert went out; an
 *    incident that ends before its alert left sends neither.  A container
 *    removed while down, or relabelled maestro.alert=false, ends its
 *    incident without a message.
 *  - Both are events (container_down, container_up) in /api/events and
 *    hubctl watch, also when silenced; the alert goes through the same
 *    batch, storms and silences as an agent's (hub_alert_storm.c), keyed
 *    by the container so a recovery takes back only its own down.
 * Service thread; a change is O(1), the health check O(containers) on a
 * heartbeat of an agent that reports unhealthy ones.
 */
#include <stdio.h>
#include <string.h>

#include "hub_alert.h"
#include "hub_ctr.h"
#include "mc_log.h"
#include "mc_util.h"

/* Hands the user can type next, after every message. */
static void
hint(const struct hub_ctr *c, int health, char *out, size_t outlen)
{
	const char *name = hub_ctr_str(c, CS_NAME);

	if (health)
		snprintf(out, outlen, "docker inspect --format "
		    "'{{json .State.Health}}' %s; docker logs %s", name, name);
	else
		snprintf(out, outlen, "docker logs %s", name);
}

/* "exit 137, OOM-killed" */
static void
exit_words(const struct hub_ctr *c, char *out, size_t outlen)
{
	if (c->exit_code >= 0)
		snprintf(out, outlen, "exit %d%s", c->exit_code,
		    (c->flags & CTR_OOM) ? ", OOM-killed" : "");
	else
		snprintf(out, outlen, "%s", (c->flags & CTR_OOM) ?
		    "OOM-killed" : "no exit status");
}

static void
down(struct hub_agent *a, struct hub_ctr *c, const char *to,
    const char *text)
{
	struct hub_alert_entry *e;

	c->flags |= CTR_DOWN;
	c->flags &= (uint8_t)~CTR_ALERTED;
	c->down_since = mc_wall();
	a->ctr->ndown++;
	a->ctr->rev++;
	hub_alert_down_track(a);
	hub_event("container_down", a->name, hub_ctr_str(c, CS_NAME), to,
	    text);
	if ((e = hub_alert_entry_new(K_CTR_DOWN, a, NULL)) == NULL)
		return;
	e->opens = 1;
	memcpy(e->ctr, c->id, sizeof(e->ctr));
	snprintf(e->title, sizeof(e->title), "CONTAINER DOWN: %s on %s",
	    hub_ctr_str(c, CS_NAME), a->name);
	mc_strlcpy(e->text, text, sizeof(e->text));
	hub_alert_batch_add(e);
}

static void
died(struct hub_agent *a, struct hub_ctr *c)
{
	char how[64], next[320], text[HUB_ALERT_TEXT_MAX];

	exit_words(c, how, sizeof(how));
	hint(c, 0, next, sizeof(next));
	snprintf(text, sizeof(text), "%s on %s died (%s); %s on %s.",
	    hub_ctr_str(c, CS_NAME), a->name, how, next, a->name);
	down(a, c, mc_ctr_state_name(c->state), text);
}

static void
unhealthy(struct hub_agent *a, struct hub_ctr *c, double secs)
{
	char dur[32], next[320], text[HUB_ALERT_TEXT_MAX];
	const char *log = hub_ctr_str(c, CS_HEALTH_LOG);

	hub_alert_dur(secs, dur, sizeof(dur));
	hint(c, 1, next, sizeof(next));
	snprintf(text, sizeof(text), "%s on %s is unhealthy for %s%s%s; %s "
	    "on %s.", hub_ctr_str(c, CS_NAME), a->name, dur, log[0] ?
	    ": " : "", log, next, a->name);
	down(a, c, "unhealthy", text);
}

/* The incident ends; quiet: no message (gone, alert=false). */
static void
up(struct hub_agent *a, struct hub_ctr *c, int quiet)
{
	char dur[32], text[HUB_ALERT_TEXT_MAX];
	struct hub_alert_entry *e;
	int alerted = (c->flags & CTR_ALERTED) != 0;

	c->flags &= (uint8_t)~(CTR_DOWN | CTR_ALERTED);
	a->ctr->ndown--;
	a->ctr->rev++;
	hub_alert_down_track(a);
	hub_alert_dur(mc_wall() - c->down_since, dur, sizeof(dur));
	snprintf(text, sizeof(text), quiet ? "%s on %s is no longer watched "
	    "after %s down." : "%s on %s is running again after %s down "
	    "(restarts: %d).", hub_ctr_str(c, CS_NAME), a->name, dur,
	    c->restarts);
	hub_event("container_up", a->name, hub_ctr_str(c, CS_NAME), quiet ?
	    "gone" : mc_ctr_state_name(c->state), text);
	if (hub_alert_cancel_ctr(a, c->id) > 0 || !alerted || quiet)
		return;		/* never told: nothing to take back */
	if ((e = hub_alert_entry_new(K_CTR_UP, a, NULL)) == NULL)
		return;
	memcpy(e->ctr, c->id, sizeof(e->ctr));
	snprintf(e->title, sizeof(e->title), "CONTAINER UP: %s on %s",
	    hub_ctr_str(c, CS_NAME), a->name);
	mc_strlcpy(e->text, text, sizeof(e->text));
	hub_alert_batch_add(e);
}

static int
live_state(int s)
{
	return s == MC_CTR_RUNNING || s == MC_CTR_RESTARTING ||
	    s == MC_CTR_PAUSED;
}

/* Did c stop unexpectedly since the hub last saw it? */
static int
stopped_unexpectedly(const struct hub_ctr *c, const struct hub_ctr_was *was)
{
	if (c->state != MC_CTR_EXITED && c->state != MC_CTR_DEAD)
		return 0;
	if ((c->flags & CTR_STOPPED) || (c->exit_code == 0 &&
	    !(c->flags & CTR_OOM)))
		return 0;
	if (!was->known)	/* new: started and died between heartbeats */
		return !was->full && c->started > 0;
	return live_state(was->state) || c->finished > was->finished;
}

static int
is_up(const struct hub_ctr *c)
{
	return c->state == MC_CTR_RUNNING && (c->health == MC_CTR_HEALTH_NONE ||
	    c->health == MC_CTR_HEALTHY);
}

void
hub_alert_ctr_change(struct hub_agent *a, struct hub_ctr *c,
    const struct hub_ctr_was *was)
{
	if (c->state == MC_CTR_RUNNING && c->health == MC_CTR_UNHEALTHY) {
		if (c->bad_since == 0)
			c->bad_since = mc_now();
	} else {
		c->bad_since = 0;
	}
	if (c->flags & CTR_NOALERT) {
		if (c->flags & CTR_DOWN)
			up(a, c, 1);
		return;
	}
	if (!(c->flags & CTR_DOWN)) {
		if (stopped_unexpectedly(c, was))
			died(a, c);
	} else if (is_up(c)) {
		up(a, c, 0);
	} else if (c->state != MC_CTR_RUNNING && c->finished > was->finished &&
	    (c->flags & CTR_STOPPED)) {
		up(a, c, 1);	/* someone stopped it meanwhile: on purpose */
	}
}

void
hub_alert_ctr_gone(struct hub_agent *a, struct hub_ctr *c)
{
	if (c->flags & CTR_DOWN)
		up(a, c, 1);
}

void
hub_alert_ctr_check(struct hub_agent *a)
{
	struct hub_ctr_set *s = a->ctr;
	double now = mc_now(), bad;
	int i;

	if (s->head.unhealthy == 0)
		return;
	for (i = 0; i < s->n; i++) {
		bad = s->v[i].bad_since;
		if (bad > 0 && !(s->v[i].flags & (CTR_DOWN | CTR_NOALERT)) &&
		    now - bad >= hub.conf.container_unhealthy_for)
			unhealthy(a, &s->v[i], now - bad);
	}
}

void
hub_alert_ctr_unmuted(struct hub_agent *a)
{
	struct hub_ctr *c;
	char text[HUB_ALERT_TEXT_MAX];
	struct hub_alert_entry *e;
	int i;

	for (i = 0; a->ctr != NULL && i < a->ctr->n; i++) {
		c = &a->ctr->v[i];
		if ((c->flags & (CTR_DOWN | CTR_ALERTED)) != CTR_DOWN)
			continue;
		hub_alert_cancel_ctr(a, c->id);
		if ((e = hub_alert_entry_new(K_CTR_DOWN, a, NULL)) == NULL)
			return;
		e->opens = 1;
		memcpy(e->ctr, c->id, sizeof(e->ctr));
		snprintf(e->title, sizeof(e->title), "CONTAINER DOWN: %s on %s",
		    hub_ctr_str(c, CS_NAME), a->name);
		snprintf(text, sizeof(text), "%s on %s is still down (%s) now "
		    "that its silence has ended; docker logs %s on %s.",
		    hub_ctr_str(c, CS_NAME), a->name,
		    mc_ctr_state_name(c->state), hub_ctr_str(c, CS_NAME),
		    a->name);
		mc_strlcpy(e->text, text, sizeof(e->text));
		hub_alert_batch_add(e);
	}
}
