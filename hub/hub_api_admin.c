/*
 * hub_api_admin.c - the REST API's administration: backups, the event
 * log, enrollment keys, tokens, the alert test and silences.  What changes
 * who may do what is audited (hub_api_audit()).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hub_api.h"
#include "mc_log.h"
#include "mc_util.h"

static void
backup_done(void *arg, char *bytes, size_t len)
{
	hub_api_deferred_fail((uint64_t)(uintptr_t)arg, bytes, len,
	    "application/vnd.sqlite3", 500, "backup_failed", "the hub could "
	    "not copy its database (over 1 GiB, or out of memory: see its "
	    "log); copy DATA/hub.db with `sqlite3 hub.db .backup FILE`");
}

/* GET /api/backup: the whole database, consistent while the hub runs. */
void
hub_api_backup(struct hub_req *r)
{
	struct hub_db_health h;
	uint64_t ticket;

	if (hub_db_backup_hint() != NULL) {
		hub_http_error(r, 501, "backup_elsewhere", "%s",
		    hub_db_backup_hint());
		return;
	}
	/* a copy now would miss what the hub holds in memory */
	hub_db_health(&h);
	if (h.failing) {
		hub_http_error(r, 503, "store_failing", "the hub cannot write "
		    "its database (%s) and holds %zu writes in memory: a "
		    "backup now would miss them. Free space in the data "
		    "directory, then try again", h.reason, h.queued);
		r->http->retry_after = 5;
		return;
	}
	if ((ticket = hub_http_defer(r)) != 0) {
		hub_api_audit(r, "backup", "backup taken from %s", r->http->client);
		hub_db_backup(backup_done, (void *)(uintptr_t)ticket);
	}
}

/* GET /api/events?limit=&before=ID|after=ID|since=TIME&agent=&type= */
void
hub_api_events(struct hub_req *r)
{
	struct hub_events_query q = { .limit = 100, .after = -1 };
	int64_t limit = 100, since = 0;
	uint64_t ticket;

	if (hub_api_query_int(r, "limit", 1, 1000, &limit) == -1 ||
	    hub_api_query_int(r, "before", 1, INT64_MAX, &q.before) == -1 ||
	    hub_api_query_int(r, "after", 0, INT64_MAX, &q.after) == -1 ||
	    hub_api_query_int(r, "since", 0, INT32_MAX, &since) == -1)
		return;
	if (q.before > 0 && (q.after >= 0 || since > 0)) {
		hub_http_error(r, 400, "bad_request", "before pages back, after "
		    "and since page forward: give one direction");
		return;
	}
	q.limit = (int)limit;
	q.since = (double)since;
	hub_api_query_str(r, "agent", q.agent, sizeof(q.agent));
	hub_api_query_str(r, "type", q.type, sizeof(q.type));
	if ((ticket = hub_http_defer(r)) != 0)
		hub_events_read(&q, hub_api_read_done,
		    (void *)(uintptr_t)ticket);
}

void
hub_api_key_create(struct hub_req *r)
{
	const struct mc_json *o;
	char key[128];
	struct hub_key *k;
	struct mc_jdoc *d;
	struct mc_buf b;
	struct mc_jw w;
	int64_t uses = 0;
	double expires = 0;
	char dur[32], uses_s[24];

	if ((d = hub_api_body_json(r)) == NULL)
		return;
	o = mc_json_root(d);
	if ((mc_json_get(o, "uses") && mc_json_int(o, "uses", 0, 1000000000,
	    &uses) == -1) || (mc_json_get(o, "expires") &&
	    (mc_json_num(o, "expires", &expires) == -1 || expires < 0))) {
		mc_json_free(d);
		hub_http_error(r, 400, "bad_request", "uses must be a whole "
		    "number >= 0 and expires seconds >= 0 (0: never)");
		return;
	}
	mc_json_free(d);
	k = hub_auth_key_create(uses, expires > 0 ? mc_wall() + expires : 0,
	    key, sizeof(key));
	if (k == NULL) {
		hub_http_error(r, 500, "internal", "cannot make a key");
		return;
	}
	snprintf(uses_s, sizeof(uses_s), "%lld", (long long)k->uses);
	hub_api_audit(r, "key_create", "enrollment key %s (%lld uses) created", k->id,
	    (long long)k->uses);
	hub_alert_dur(expires, dur, sizeof(dur));
	hub_backup_note(HUB_BACKUP_KEYS, r->token->name, "enrollment key %s "
	    "created (%s%s uses, %s%s)", k->id, k->uses > 0 ? "" :
	    "unlimited", k->uses > 0 ? uses_s : "", expires > 0 ?
	    "expires in " : "never expires", expires > 0 ? dur : "");
	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "id", k->id);
	mc_jw_str(&w, "key", key);
	mc_jw_i64(&w, "uses", k->uses);
	if (k->expires > 0)
		mc_jw_dbl(&w, "expires", k->expires);
	else
		mc_jw_null(&w, "expires");
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 201, &b, &w);
}

void
hub_api_keys(struct hub_req *r)
{
	struct mc_buf b;
	struct mc_jw w;

	hub_api_body_begin(&b, &w);
	hub_auth_write_keys(&w);
	hub_api_body_send(r, 200, &b, &w);
}

void
hub_api_key_revoke(struct hub_req *r)
{
	if (hub_auth_key_revoke(r->params[0]) == -1) {
		hub_http_error(r, 404, "not_found", "no active enrollment key "
		    "'%s'", r->params[0]);
		return;
	}
	hub_api_audit(r, "key_revoke", "enrollment key %.16s revoked", r->params[0]);
	hub_backup_note(HUB_BACKUP_KEYS, r->token->name, "enrollment key "
	    "%.16s revoked", r->params[0]);
	hub_api_reply_ok(r);
}

void
hub_api_token_create(struct hub_req *r)
{
	const struct mc_json *o;
	enum hub_role_level role;
	const char *rs, *name;
	char tok[128];
	struct hub_token *t;
	struct mc_jdoc *d;
	struct mc_buf b;
	struct mc_jw w;

	if ((d = hub_api_body_json(r)) == NULL)
		return;
	o = mc_json_root(d);
	rs = mc_json_str(o, "role");
	name = mc_json_str(o, "name");
	if (rs == NULL || hub_role_parse(rs, &role) == -1 ||
	    (name && (strlen(name) > MC_NAME_MAX || !mc_name_valid(name)))) {
		mc_json_free(d);
		hub_http_error(r, 400, "bad_request", "role must be admin, "
		    "operator or viewer; name at most %d bytes", MC_NAME_MAX);
		return;
	}
	t = hub_auth_token_create(role, name ? name : rs, tok, sizeof(tok));
	mc_json_free(d);
	if (t == NULL) {
		hub_http_error(r, 500, "internal", "cannot make a token");
		return;
	}
	hub_api_audit(r, "token_create", "token %s (%s, '%s') created", t->id,
	    hub_role_name(t->role), t->name);
	hub_backup_note(HUB_BACKUP_TOKENS, r->token->name, "token %s '%s' (%s) "
	    "created", t->id, t->name, hub_role_name(t->role));
	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "id", t->id);
	mc_jw_str(&w, "token", tok);
	mc_jw_str(&w, "role", hub_role_name(t->role));
	mc_jw_str(&w, "name", t->name);
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 201, &b, &w);
}

void
hub_api_tokens(struct hub_req *r)
{
	struct mc_buf b;
	struct mc_jw w;

	hub_api_body_begin(&b, &w);
	hub_auth_write_tokens(&w);
	hub_api_body_send(r, 200, &b, &w);
}

void
hub_api_token_revoke(struct hub_req *r)
{
	if (hub_auth_token_revoke(r->params[0]) == -1) {
		hub_http_error(r, 404, "not_found", "no active token '%s'",
		    r->params[0]);
		return;
	}
	hub_api_audit(r, "token_revoke", "token %.16s revoked", r->params[0]);
	hub_backup_note(HUB_BACKUP_TOKENS, r->token->name, "token %.16s "
	    "revoked", r->params[0]);
	hub_api_reply_ok(r);
}

/* ---- alerts and silences (hub_alert_send.c, hub_silence.c) ---- */

void
hub_api_alerts_test(struct hub_req *r)
{
	hub_alert_test(r);
}

void
hub_api_silences(struct hub_req *r)
{
	struct mc_buf b;
	struct mc_jw w;

	hub_api_body_begin(&b, &w);
	hub_silence_write(&w);
	hub_api_body_send(r, 200, &b, &w);
}

/* {"agent":A | "tag":T, "for":"2h" | seconds, "reason":"..."}: exactly
 * one target, a known agent.  Replies itself on error. */
static int
silence_parse(struct hub_req *r, const struct mc_json *o, const char **agent,
    const char **tag, double *secs)
{
	const struct mc_json *f = mc_json_get(o, "for");
	const char *reason = mc_json_str(o, "reason");

	*agent = mc_json_str(o, "agent");
	*tag = mc_json_str(o, "tag");
	if (!*agent == !*tag || (*agent && (strlen(*agent) > MC_NAME_MAX ||
	    !mc_name_valid(*agent))) || (*tag && (strlen(*tag) > MC_TAG_MAX ||
	    !mc_tag_valid(*tag)))) {
		hub_http_error(r, 400, "bad_request", "give exactly one of "
		    "\"agent\" (a name) or \"tag\"");
		return -1;
	}
	if (f == NULL || !((f->type == MC_JNUM && (*secs = f->num, 1)) ||
	    (f->type == MC_JSTR && mc_parse_duration(f->str, secs) == 0)) ||
	    *secs <= 0 || *secs > MC_SILENCE_MAX_SECS) {
		hub_http_error(r, 400, "bad_request", "\"for\" must be seconds "
		    "or a duration such as \"2h\", at most 30 days");
		return -1;
	}
	if (reason != NULL && strlen(reason) >= MC_TEXT_MAX) {
		hub_http_error(r, 400, "bad_request", "\"reason\" is longer "
		    "than %d bytes", MC_TEXT_MAX - 1);
		return -1;
	}
	if (*agent && hub_agent_find(*agent) == NULL) {
		hub_http_error(r, 404, "not_found", "unknown agent '%s' (see "
		    "GET /api/agents)", *agent);
		return -1;
	}
	return 0;
}

void
hub_api_silence_create(struct hub_req *r)
{
	const struct hub_silence *s;
	const char *agent, *tag, *reason;
	char dur[32];
	struct mc_jdoc *d;
	struct mc_buf b;
	struct mc_jw w;
	char why[256];
	double secs;

	if ((d = hub_api_body_json(r)) == NULL)
		return;
	if (silence_parse(r, mc_json_root(d), &agent, &tag, &secs) == -1) {
		mc_json_free(d);
		return;
	}
	reason = mc_json_str(mc_json_root(d), "reason");
	s = hub_silence_add(agent, tag, secs, reason, r->token->name, why,
	    sizeof(why));
	if (s != NULL) {
		hub_alert_dur(secs, dur, sizeof(dur));
		hub_backup_note(HUB_BACKUP_SILENCES, r->token->name,
		    "silence %s on %s%s for %s%s%.200s", hub_silence_id(s),
		    agent ? "" : "tag:", agent ? agent : tag, dur,
		    reason && reason[0] ? ": " : "", reason ? reason : "");
	}
	mc_json_free(d);
	if (s == NULL) {
		hub_http_error(r, 503, "unavailable", "%s", why);
		return;
	}
	hub_api_body_begin(&b, &w);
	hub_silence_write_one(&w, s);
	hub_api_body_send(r, 201, &b, &w);
}

void
hub_api_silence_clear(struct hub_req *r)
{
	if (hub_silence_clear(r->params[0], r->token->name) == -1) {
		hub_http_error(r, 404, "not_found", "no running silence '%s' "
		    "(see GET /api/silences)", r->params[0]);
		return;
	}
	hub_backup_note(HUB_BACKUP_SILENCES, r->token->name, "silence %.16s "
	    "cleared", r->params[0]);
	hub_api_reply_ok(r);
}
