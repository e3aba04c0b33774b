/*
 * hub_alert_storm.c - when an alert leaves: the batch it waits in, storms
 * made into summaries, and silences that mute it.
 *
 *  - Storms: an alert waits in a batch for at most storm_window (0.5 s) so
 *    that agents failing together are named in one summary.  A batch of
 *    criticals leaves at once when no other agent is late, i.e. nothing
 *    else is on its way to critical, so a lone incident is not delayed.
 *    A kind with storm_count or more (those in the batch plus those of the
 *    kind sent during the last storm interval, max(heartbeat,
 *    storm_window)) becomes one summary, and the storm stays open until an
 *    interval passes without another of that kind: those are held and
 *    named together in one more summary when it closes.
 *  - A silence mutes an agent's alerts at the moment they would leave.
 *  - An alert still waiting when its incident or its rule closes is taken
 *    back (hub_alert_cancel_pending()), and hub_alert.c sends neither.
 * Service thread; the tick costs O(batch + storms), and O(agents) only
 * while a batch of criticals waits.
 */
#include <stdlib.h>
#include <string.h>

#include "hub_alert.h"
#include "mc_log.h"
#include "mc_util.h"

#define BATCH_MAX	10000	/* alerts waiting; past it the batch leaves */
#define STORMS_MAX	16	/* storm kinds open at once */
#define RECENT_KEPT	256	/* recent sends remembered for storm counts */

struct storm {
	char		 key[HUB_ALERT_KEY_MAX];	/* "": a free slot */
	double		 until;		/* monotonic: open until */
	struct hub_alert_entry *held, *held_tail;	/* owned */
	int		 nheld;
};

static struct {
	struct hub_alert_entry *batch, *batch_tail;	/* owned */
	int		 nbatch;
	double		 opened;	/* monotonic: the batch's first alert */
	struct storm	 storms[STORMS_MAX];
	struct {
		char	 key[HUB_ALERT_KEY_MAX];
		double	 ts;		/* monotonic; 0: unused */
	}		 recent[RECENT_KEPT];
	int		 recent_next;
} al;

static void batch_flush(double now);

void
hub_alert_batch_add(struct hub_alert_entry *e)
{
	if (e == NULL)
		return;
	if (al.batch == NULL)
		al.opened = mc_now();
	if (al.batch_tail)
		al.batch_tail->next = e;
	else
		al.batch = e;
	al.batch_tail = e;
	if (++al.nbatch >= BATCH_MAX)
		batch_flush(mc_now());
}

/* Remove from a list the waiting alerts of a that a closing alert of key
 * cancels (key NULL: its incident; ctr set: that container's, whatever
 * the key).  Returns how many. */
static int
list_cancel(struct hub_alert_entry **head, struct hub_alert_entry **tail,
    struct hub_agent *a, const char *key, const char *ctr)
{
	struct hub_alert_entry **pp = head, *e, *last = NULL;
	int n = 0;

	while ((e = *pp) != NULL) {
		if (e->a == a && e->opens && (ctr != NULL ?
		    strcmp(e->ctr, ctr) == 0 : key == NULL ? e->incident :
		    strcmp(e->key, key) == 0)) {
			*pp = e->next;
			free(e);
			n++;
			continue;
		}
		last = e;
		pp = &e->next;
	}
	*tail = last;
	return n;
}

/* Remove them from the batch and the storms' holds: key and ctr as
 * list_cancel(). */
static int
cancel(struct hub_agent *a, const char *key, const char *ctr)
{
	struct storm *s;
	int n, k, i;

	n = list_cancel(&al.batch, &al.batch_tail, a, key, ctr);
	al.nbatch -= n;
	if (al.batch == NULL)
		al.opened = 0;
	for (i = 0; i < STORMS_MAX; i++) {
		s = &al.storms[i];
		if (s->key[0] == '\0')
			continue;
		k = list_cancel(&s->held, &s->held_tail, a, key, ctr);
		s->nheld -= k;
		n += k;
	}
	return n;
}

int
hub_alert_cancel_pending(struct hub_agent *a, const char *key)
{
	return cancel(a, key, NULL);
}

int
hub_alert_cancel_ctr(struct hub_agent *a, const char *id)
{
	return cancel(a, NULL, id);
}

static double
storm_interval(void)
{
	return hub.conf.heartbeat > hub.conf.storm_window ?
	    hub.conf.heartbeat : hub.conf.storm_window;
}

static struct storm *
storm_find(const char *key)
{
	int i;

	for (i = 0; i < STORMS_MAX; i++)
		if (strcmp(al.storms[i].key, key) == 0)
			return &al.storms[i];
	return NULL;
}

static void
storm_open(const char *key, double now)
{
	struct storm *s = storm_find(key);

	if (s == NULL)
		s = storm_find("");
	if (s == NULL)
		return;		/* STORMS_MAX kinds at once: no hold */
	mc_strlcpy(s->key, key, sizeof(s->key));
	s->until = now + storm_interval();
}

static void
storm_hold(struct storm *s, struct hub_alert_entry *group, int n,
    double now)
{
	if (s->held_tail)
		s->held_tail->next = group;
	else
		s->held = group;
	while (group->next != NULL)
		group = group->next;
	s->held_tail = group;
	s->nheld += n;
	s->until = now + storm_interval();
}

static int
recent_count(const char *key, double now)
{
	double since = now - storm_interval();
	int i, n = 0;

	for (i = 0; i < RECENT_KEPT; i++)
		if (al.recent[i].ts > since &&
		    strcmp(al.recent[i].key, key) == 0)
			n++;
	return n;
}

static void
recent_add(const char *key, double now)
{
	int i = al.recent_next++ % RECENT_KEPT;

	mc_strlcpy(al.recent[i].key, key, sizeof(al.recent[i].key));
	al.recent[i].ts = now;
}

/* Drop the alerts of silenced agents (recorded as such); the rest stay
 * in order.  Returns the list, n updated. */
static struct hub_alert_entry *
drop_muted(struct hub_alert_entry *list, int *n)
{
	struct hub_alert_entry *head = NULL, **tail = &head, *e, *next;

	*n = 0;
	for (e = list; e != NULL; e = next) {
		next = e->next;
		e->next = NULL;
		if (e->a != NULL && hub_silence_match(e->a) != NULL) {
			mc_info("alert for '%s' silenced: %s", e->a->name,
			    e->text);
			hub_event("alert", e->a->name, e->kind->event,
			    "silenced", e->text);
			free(e);
			continue;
		}
		*tail = e;
		tail = &e->next;
		(*n)++;
	}
	return head;
}

/* Send one group of alerts of one key: held by an open storm, as one
 * summary, or one by one. */
static void
group_send(const char *key, struct hub_alert_entry *group, double now)
{
	struct storm *s;
	struct hub_alert_entry *e;
	int n, r;

	group = drop_muted(group, &n);
	if (group == NULL)
		return;
	s = storm_find(key);
	if (s != NULL && now < s->until) {
		storm_hold(s, group, n, now);
		return;
	}
	r = recent_count(key, now);
	if (n + r >= hub.conf.storm_count) {
		mc_warn("alerts: storm: %d '%s' alerts at once; one summary",
		    n + r, key);
		hub_alert_summary_send(group, n, r, 0);
		storm_open(key, now);
		return;
	}
	while ((e = group) != NULL) {
		group = e->next;
		hub_alert_entry_send(e);
		recent_add(key, now);
		free(e);
	}
}

static void
batch_flush(double now)
{
	struct hub_alert_entry *list = al.batch, *group, **gt, **pp, *e;
	char key[HUB_ALERT_KEY_MAX];

	al.batch = al.batch_tail = NULL;
	al.nbatch = 0;
	al.opened = 0;
	while (list != NULL) {
		mc_strlcpy(key, list->key, sizeof(key));
		group = NULL;
		gt = &group;
		pp = &list;
		while ((e = *pp) != NULL) {
			if (strcmp(e->key, key) != 0) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			e->next = NULL;
			*gt = e;
			gt = &e->next;
		}
		group_send(key, group, now);
	}
}

/* Is another agent on its way to critical? */
static int
late_elsewhere(void)
{
	const struct hub_agent *a;

	for (a = hub_agent_first(); a != NULL; a = a->next)
		if (a->status == ST_LATE)
			return 1;
	return 0;
}

static int
batch_due(double now)
{
	const struct hub_alert_entry *e;

	if (al.batch == NULL)
		return 0;
	if (now - al.opened >= hub.conf.storm_window)
		return 1;
	for (e = al.batch; e != NULL; e = e->next)
		if (!e->incident)
			return 0;
	return !late_elsewhere();
}

static void
storms_close(double now)
{
	struct storm *s;
	struct hub_alert_entry *held;
	int i, n;

	for (i = 0; i < STORMS_MAX; i++) {
		s = &al.storms[i];
		if (s->key[0] == '\0' || now < s->until)
			continue;
		held = drop_muted(s->held, &n);
		s->held = s->held_tail = NULL;
		s->nheld = 0;
		if (held != NULL)
			hub_alert_summary_send(held, n, 0, 1);
		mc_info("alerts: storm of '%s' alerts is over", s->key);
		s->key[0] = '\0';
	}
}

static int
list_free(struct hub_alert_entry *e)
{
	struct hub_alert_entry *next;
	int n = 0;

	for (; e != NULL; e = next, n++) {
		next = e->next;
		free(e);
	}
	return n;
}

void
hub_alert_storm_tick(double now)
{
	if (batch_due(now))
		batch_flush(now);
	storms_close(now);
}

void
hub_alert_storm_shutdown(void)
{
	int i, n;

	n = list_free(al.batch);
	for (i = 0; i < STORMS_MAX; i++)
		n += list_free(al.storms[i].held);
	if (n > 0)
		mc_warn("alerts: %d alert%s not sent (the hub stopped)", n,
		    n > 1 ? "s" : "");
	memset(&al, 0, sizeof(al));
}
