/*
 * hub_alert_ack.c - an open incident acknowledged: someone is on it.
 *
 * The hub alerts an incident once; what could tell it again is a silence
 * ending while the agent is still critical, and flapping settling on
 * critical (hub_alert.c).  An acknowledged incident is not told again by
 * either: the recovery still goes out, since it closes what was told.
 * The acknowledgement covers what is open when it is given: a new
 * critical onset or a rule firing later is a new incident
 * (hub_alert_ack_end()).  It lives in the agent's alert state, in memory
 * (a restarted hub has no acknowledgements; the event log keeps who gave
 * them), and shows as the agent's "incident" in the API.  In a cluster
 * the hub that recorded the incident is the one that would alert it
 * again, and any hub may be asked: an acknowledgement goes to the other
 * hubs on the live feed (hub_bus_feed_ack()), which take it quietly.  Service thread
 * only; the same for hubctl ack (POST /api/agents/NAME/ack) and the chat's
 * /ack and Acknowledge button (hub_chat_cmd.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_alert.h"
#include "hub_api.h"
#include "mc_log.h"
#include "mc_util.h"

/* Something is open on a: it is critical, or a rule fired and holds. */
static int
incident_open(const struct hub_agent *a)
{
	return a->status == ST_CRITICAL || hub_rules_firing(a) > 0;
}

void
hub_alert_ack_end(struct hub_alert_state *st)
{
	st->acked_by[0] = '\0';
	st->acked_at = 0;
}

int
hub_alert_acked(const struct hub_alert_state *st)
{
	return st != NULL && st->acked_by[0] != '\0';
}

const char *
hub_alert_acked_by(const struct hub_agent *a)
{
	if (!incident_open(a) || !hub_alert_acked(a->alert))
		return NULL;
	return a->alert->acked_by;
}

/* "critical" or "2 rules", for the event and the answers. */
static void
incident_words(const struct hub_agent *a, char *out, size_t outlen)
{
	int n = hub_rules_firing(a);

	if (a->status == ST_CRITICAL && n > 0)
		snprintf(out, outlen, "CRITICAL and %d rule%s holding", n,
		    n > 1 ? "s" : "");
	else if (a->status == ST_CRITICAL)
		snprintf(out, outlen, "CRITICAL");
	else
		snprintf(out, outlen, "%d rule%s holding", n, n > 1 ? "s" : "");
}

int
hub_alert_ack(struct hub_agent *a, const char *by, int *already, char *why,
    size_t whylen)
{
	char what[64], text[MC_TEXT_MAX];
	struct hub_alert_state *st;

	*already = 0;
	if (!incident_open(a)) {
		snprintf(why, whylen, "%s has no open incident (it is %s, no "
		    "rule holds)", a->name, hub_status_name(a->status));
		return -1;
	}
	if (hub_alert_acked_by(a) != NULL) {
		*already = 1;
		snprintf(why, whylen, "%s's incident was acknowledged already "
		    "by %s", a->name, a->alert->acked_by);
		return -1;
	}
	if (a->alert == NULL && (a->alert = calloc(1,
	    sizeof(*a->alert))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	st = a->alert;
	mc_strlcpy(st->acked_by, by, sizeof(st->acked_by));
	st->acked_at = mc_wall();
	incident_words(a, what, sizeof(what));
	snprintf(text, sizeof(text), "The incident of %s (%s) was acknowledged "
	    "by %s: its alert is not repeated until it ends.", a->name, what,
	    by);
	mc_info("ack: %s", text);
	hub_event("ack", a->name, "open", "acknowledged", text);
	hub_bus_feed_ack(a, by, st->acked_at);
	return 0;
}

void
hub_alert_ack_elsewhere(struct hub_agent *a, const char *by, double at,
    const char *from)
{
	if (!incident_open(a) || hub_alert_acked(a->alert))
		return;
	if (a->alert == NULL && (a->alert = calloc(1,
	    sizeof(*a->alert))) == NULL)
		return;
	mc_strlcpy(a->alert->acked_by, by, sizeof(a->alert->acked_by));
	a->alert->acked_at = at;
	mc_info("ack: the incident of %s was acknowledged by %s through hub "
	    "%s", a->name, by, from);
}

void
hub_alert_write_incident(struct mc_jw *w, const struct hub_agent *a)
{
	const char *by;

	if (!incident_open(a))
		return;
	by = hub_alert_acked_by(a);
	mc_jw_obj(w, "incident");
	mc_jw_bool(w, "critical", a->status == ST_CRITICAL);
	mc_jw_i64(w, "rules", hub_rules_firing(a));
	mc_jw_bool(w, "acked", by != NULL);
	if (by != NULL) {
		mc_jw_str(w, "acked_by", by);
		mc_jw_dbl(w, "acked_at", a->alert->acked_at);
	} else {
		mc_jw_null(w, "acked_by");
		mc_jw_null(w, "acked_at");
	}
	mc_jw_obj_end(w);
}

/* POST /api/agents/NAME/ack (operator): 200 with the agent's incident,
 * 404 for an unknown agent, 409 when nothing is open or it was
 * acknowledged already. */
void
hub_api_agent_ack(struct hub_req *r)
{
	struct hub_agent *a = hub_agent_find(r->params[0]);
	char why[MC_TEXT_MAX];
	struct mc_buf b;
	struct mc_jw w;
	int already;

	if (a == NULL) {
		hub_http_error(r, 404, "not_found", "unknown agent '%s' (see "
		    "GET /api/agents)", r->params[0]);
		return;
	}
	if (hub_alert_ack(a, r->token->name, &already, why,
	    sizeof(why)) == -1) {
		hub_http_error(r, 409, already ? "already_acked" :
		    "no_incident", "%s", why);
		return;
	}
	hub_api_audit(r, "ack", "incident of %s acknowledged", a->name);
	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "agent", a->name);
	hub_alert_write_incident(&w, a);
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 200, &b, &w);
}
