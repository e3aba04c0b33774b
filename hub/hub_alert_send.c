/*
 * hub_alert_send.c - an alert as it leaves: its kind's words, its title
 * and id, its record (the alerts table and an "alert" event) and its
 * hand-off to hub_notify.c; one alert, a storm's summary naming many
 * agents, a notice sent at once, or a test.
 *
 * Every alert is recorded here, also with no channel configured, and
 * hub_notify.c records each delivery.  What is alerted is decided in
 * hub_alert.c, and when it leaves in hub_alert_storm.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_alert.h"
#include "mc_log.h"
#include "mc_util.h"

#define SUMMARY_NAMES	2400	/* bytes of agent names in one summary */

/* ---- words ---- */

static const struct hub_alert_kind kinds[] = {
	[K_CRITICAL] = { "critical", SEV_CRITICAL, "CRITICAL",
	    "are CRITICAL (no heartbeat)" },
	[K_NOT_BACK] = { "not_back", SEV_CRITICAL, "CRITICAL",
	    "did not come back from a restart" },
	[K_RECOVERED] = { "recovered", SEV_RECOVERY, "RECOVERED",
	    "recovered" },
	[K_FLAPPING] = { "flapping", SEV_WARNING, "FLAPPING",
	    "are FLAPPING" },
	[K_SETTLED] = { "settled", SEV_RECOVERY, "SETTLED",
	    "stopped flapping" },
	[K_RULE] = { "rule", SEV_WARNING, "WARNING", "break the rule" },
	[K_RULE_CLEAR] = { "rule_clear", SEV_RECOVERY, "RESOLVED",
	    "are back within the rule" },
	[K_OFFLINE] = { "offline", SEV_INFO, "OFFLINE",
	    "went offline (they said goodbye)" },
	[K_ONLINE] = { "online", SEV_INFO, "ONLINE", "are online again" },
	[K_FIRST] = { "first_online", SEV_INFO, "NEW", "connected for the "
	    "first time" },
	[K_SILENCE] = { "silence", SEV_INFO, "SILENCED", "are silenced" },
	[K_SILENCE_END] = { "silence_end", SEV_INFO, "SILENCE ENDED",
	    "are no longer silenced" },
	/* the hub's own faults (hub_db_watch() and friends) */
	[K_HUB_FAULT] = { "hub_fault", SEV_CRITICAL, "HUB", "hub faults" },
	[K_HUB_OK] = { "hub_ok", SEV_RECOVERY, "HUB", "hub recoveries" },
	[K_TEST] = { "test", SEV_INFO, "TEST", "were tested" },
	/* containers (hub_alert_ctr.c) */
	[K_CTR_DOWN] = { "container_down", SEV_CRITICAL, "CONTAINER DOWN",
	    "have a container down" },
	[K_CTR_UP] = { "container_up", SEV_RECOVERY, "CONTAINER UP",
	    "have their container running again" },
	/* another hub of the cluster (hub_bus.c); its return is a hub_ok */
	[K_HUB_DOWN] = { "hub_down", SEV_CRITICAL, "HUB DOWN", "hubs down" },
};

#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))

const char *
hub_sev_name(enum hub_sev s)
{
	static const char *const names[] = { "critical", "warning",
	    "recovery", "info" };

	return s <= SEV_INFO ? names[s] : "?";
}

void
hub_alert_dur(double secs, char *out, size_t outlen)
{
	long s;

	if (secs < 0)
		secs = 0;
	if (secs < 10 && secs - (double)(long)secs >= 0.05) {
		snprintf(out, outlen, "%.1fs", secs);
		return;
	}
	s = (long)(secs + 0.5);
	if (s < 60)
		snprintf(out, outlen, "%lds", s);
	else if (s < 3600 && s % 60 != 0)
		snprintf(out, outlen, "%ldm %lds", s / 60, s % 60);
	else if (s < 3600)
		snprintf(out, outlen, "%ldm", s / 60);
	else if (s < 86400 && s % 3600 / 60 != 0)
		snprintf(out, outlen, "%ldh %ldm", s / 3600, s % 3600 / 60);
	else if (s < 86400)
		snprintf(out, outlen, "%ldh", s / 3600);
	else
		snprintf(out, outlen, "%ldd %ldh", s / 86400, s % 86400 / 3600);
}

void
hub_alert_time(double wall, char *out, size_t outlen)
{
	time_t t = (time_t)wall, now = time(NULL);
	struct tm tm, today;

	if (wall <= 0) {
		snprintf(out, outlen, "never");
		return;
	}
	gmtime_r(&t, &tm);
	gmtime_r(&now, &today);
	if (tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday)
		strftime(out, outlen, "%H:%M:%S UTC", &tm);
	else
		strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

struct hub_alert_entry *
hub_alert_entry_new(int kind, struct hub_agent *a, const char *key)
{
	struct hub_alert_entry *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		mc_err("alerts: out of memory; an alert for '%s' is lost",
		    a ? a->name : "");
		return NULL;
	}
	e->kind = &kinds[kind];
	e->a = a;
	mc_strlcpy(e->key, key ? key : kinds[kind].event, sizeof(e->key));
	snprintf(e->title, sizeof(e->title), "%s: %s", kinds[kind].label,
	    a ? a->name : "maestro-hub");
	return e;
}

/* ---- recording and sending ---- */

static void
alert_id(char *id, size_t idlen)
{
	static uint64_t n;

	if (idlen < 19 || mc_random_hex(id + 2, 8) == -1)
		snprintf(id + 2, idlen - 2, "%llu", (unsigned long long)++n);
	id[0] = 'a';
	id[1] = '-';
}

static void
alert_send(const struct hub_msg *m)
{
	mc_info("alert %s [%s]: %s", m->id, m->event, m->text);
	hub_event("alert", m->agent, m->event, hub_sev_name(m->sev), m->text);
	hub_db_exec("INSERT INTO alerts(id, ts, kind, agent, severity, title,"
	    " text) VALUES (?, ?, ?, ?, ?, ?, ?)", "tdttttt", m->id, m->ts,
	    m->event, m->agent, hub_sev_name(m->sev), m->title, m->text);
	hub_notify_send(m);
}

void
hub_alert_entry_send(struct hub_alert_entry *e)
{
	char id[MC_ID_MAX];
	struct hub_msg m;

	alert_id(id, sizeof(id));
	memset(&m, 0, sizeof(m));
	m.id = id;
	m.event = e->kind->event;
	m.sev = e->kind->sev;
	m.agent = e->a ? e->a->name : "";
	m.title = e->title;
	m.text = e->text;
	m.ts = mc_wall();
	if (e->incident && e->a != NULL && e->a->alert != NULL)
		e->a->alert->alerted = 1;
	if (e->ctr[0] != '\0' && e->opens && e->a != NULL)
		hub_ctr_alerted(e->a, e->ctr);
	alert_send(&m);
}

void
hub_alert_summary_send(struct hub_alert_entry *group, int n, int r, int more)
{
	const struct hub_alert_kind *k = group->kind;
	const char **names = calloc((size_t)n, sizeof(*names));
	char id[MC_ID_MAX], title[HUB_ALERT_TITLE_MAX];
	struct hub_alert_entry *e, *next;
	struct hub_msg m;
	struct mc_buf t;
	int i = 0, listed = 0;

	mc_buf_init(&t, SUMMARY_NAMES + 1024);
	mc_buf_printf(&t, "%d %sagents %s", n, more ? "more " : "", k->many);
	if (group->rule[0] != '\0')
		mc_buf_printf(&t, " %s", group->rule);
	mc_buf_puts(&t, ": ");
	for (e = group; e != NULL; e = next) {
		next = e->next;
		if (names != NULL && e->a != NULL)
			names[i++] = e->a->name;
		if (e->a != NULL && t.len < SUMMARY_NAMES &&
		    mc_buf_printf(&t, "%s%s", listed ? ", " : "",
		    e->a->name) == 0)
			listed++;
		if (e->incident && e->a != NULL && e->a->alert != NULL)
			e->a->alert->alerted = 1;
		if (e->ctr[0] != '\0' && e->opens && e->a != NULL)
			hub_ctr_alerted(e->a, e->ctr);
	}
	if (listed < n)
		mc_buf_printf(&t, " and %d more", n - listed);
	mc_buf_puts(&t, ".");
	if (r > 0)
		mc_buf_printf(&t, " %d more just before.", r);
	if (!more)
		mc_buf_puts(&t, " Others that follow soon are named together.");
	snprintf(title, sizeof(title), "%s: %d %sagents", k->label, n,
	    more ? "more " : "");
	alert_id(id, sizeof(id));
	memset(&m, 0, sizeof(m));
	m.id = id;
	m.event = k->event;
	m.sev = k->sev;
	m.agent = "";
	m.agents = names;
	m.nagents = names ? i : 0;
	m.title = title;
	m.text = t.data ? t.data : "";
	m.ts = mc_wall();
	alert_send(&m);
	for (e = group; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	free(names);
	mc_buf_free(&t);
}

/* ---- notices and tests ---- */

static const struct hub_alert_kind *
kind_find(const char *event)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i].event, event) == 0)
			return &kinds[i];
	return &kinds[K_TEST];
}

void
hub_alert_notice(const char *event, const char *agent, const char *title,
    const char *text)
{
	const struct hub_alert_kind *k = kind_find(event);
	char id[MC_ID_MAX];
	struct hub_msg m;

	alert_id(id, sizeof(id));
	memset(&m, 0, sizeof(m));
	m.id = id;
	m.event = k->event;
	m.sev = k->sev;
	m.agent = agent;
	m.title = title;
	m.text = text;
	m.ts = mc_wall();
	alert_send(&m);
}

void
hub_alert_test(struct hub_req *r)
{
	char id[MC_ID_MAX], text[256];
	struct hub_msg m;

	snprintf(text, sizeof(text), "Test message from maestro-hub, asked "
	    "for by %s: alerts reach this channel.", r->token ?
	    r->token->name : "an operator");
	alert_id(id, sizeof(id));
	memset(&m, 0, sizeof(m));
	m.id = id;
	m.event = "test";
	m.sev = SEV_INFO;
	m.agent = "";
	m.title = "TEST: maestro-hub";
	m.text = text;
	m.ts = mc_wall();
	mc_info("alert %s [test]: to every channel", id);
	hub_event("alert", "", "test", "info", text);
	hub_db_exec("INSERT INTO alerts(id, ts, kind, agent, severity, title,"
	    " text) VALUES (?, ?, ?, ?, ?, ?, ?)", "tdttttt", m.id, m.ts,
	    m.event, m.agent, "info", m.title, m.text);
	hub_notify_test(r, &m);
}
