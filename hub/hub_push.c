/*
 * hub_push.c - Web Push subscriptions: the browsers that asked for alerts
 * on their device, per token, in memory and in the store.
 *
 * The dashboard subscribes with the hub's VAPID key (GET /api/push/key)
 * and posts the browser's PushSubscription here; each alert the other
 * channels get (after silences, and as alerts.conf routes it: the channel
 * is called "push") becomes one job per subscription for the delivery
 * thread (hub_push_send.c).  A subscription belongs to the token that
 * made it: a viewer lists and revokes its own, an admin all of them, and
 * a revoked token's subscriptions get nothing more.  The push service
 * saying a subscription is gone (404/410) removes it, with an event.
 *
 * The endpoint is a capability URL (whoever has it can push to the
 * device): it is never logged nor listed whole, only its origin.
 *
 * On a store several hubs share, a browser subscribes through one hub and
 * its alerts come from whichever hub records the incident: each hub reads
 * the subscriptions again every SYNC_EVERY seconds, takes those made
 * through another hub, and drops one it saw stored before that is no
 * longer there (revoked, or gone, through another hub).  One made here is
 * never dropped before a read has seen it stored (its insert may still be
 * queued), and the ids of those removed here are remembered
 * (hub_idring.c), so that a read from before the delete was stored does
 * not bring one back.  The hubs must share DATA/vapid.pem: a push service takes only
 * the key the browser subscribed with (hub_bus.c warns of a difference).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_api.h"
#include "hub_push.h"
#include "hub_sql.h"
#include "mc_log.h"
#include "mc_util.h"

#define BODY_MAX	1500	/* bytes of an alert's text in a payload */
#define SYNC_EVERY	5.0	/* seconds between reads of a shared store */

static const char *const out_names[] = { "sent", "retried", "failed",
    "gone" };

static struct {
	struct hub_push_sub *head;	/* owned list, newest first */
	int		 n;
	int		 on;		/* the key is loaded */
	unsigned	 reads;		/* of a shared store, done */
	double		 sync_next;	/* monotonic */
	int		 syncing;
	struct hub_idring gone;		/* removed here */
} pu;

/* ---- the list ---- */

static struct hub_push_sub *
sub_find(const char *id)
{
	struct hub_push_sub *s;

	for (s = pu.head; s != NULL; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

static struct hub_push_sub *
sub_by_endpoint(const char *endpoint)
{
	struct hub_push_sub *s;

	for (s = pu.head; s != NULL; s = s->next)
		if (strcmp(s->endpoint, endpoint) == 0)
			return s;
	return NULL;
}

static int
subs_of(const char *token)
{
	struct hub_push_sub *s;
	int n = 0;

	for (s = pu.head; s != NULL; s = s->next)
		n += strcmp(s->token, token) == 0;
	return n;
}

static void
sub_unlink(struct hub_push_sub *s)
{
	struct hub_push_sub **pp;

	for (pp = &pu.head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			pu.n--;
			hub_idring_add(&pu.gone, s->id);
			free(s);
			return;
		}
	}
}

static void
sub_store(const struct hub_push_sub *s)
{
	char p256dh[PUSH_KEY_B64], auth[32];

	hub_push_b64url(s->p256dh, sizeof(s->p256dh), p256dh, sizeof(p256dh));
	hub_push_b64url(s->auth, sizeof(s->auth), auth, sizeof(auth));
	hub_db_exec("INSERT INTO push_subs(id, token, token_name, endpoint,"
	    " p256dh, auth, created) VALUES (?, ?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT(id) DO UPDATE SET token = excluded.token,"
	    " token_name = excluded.token_name, p256dh = excluded.p256dh,"
	    " auth = excluded.auth", "ttttttd", s->id, s->token, s->name,
	    s->endpoint, p256dh, auth, s->created);
}

/* The token that made s still exists and is not revoked. */
static int
sub_token_ok(const struct hub_push_sub *s)
{
	const struct hub_token *t;

	for (t = hub_auth_tokens(); t != NULL; t = t->next)
		if (strcmp(t->id, s->token) == 0)
			return !t->revoked;
	return 0;
}

/* ---- validating a subscription ---- */

/* 1 when host (up to its end) names this machine's loopback. */
static int
host_loopback(const char *host, size_t n)
{
	return (n == 9 && strncmp(host, "localhost", 9) == 0) ||
	    (n == 5 && strncmp(host, "[::1]", 5) == 0) ||
	    (n > 4 && strncmp(host, "127.", 4) == 0 &&
	    strspn(host, "0123456789.") == n);
}

/* endpoint is one a push may go to: 0, or -1 with the reason in why. */
static int
endpoint_check(const char *e, char *why, size_t whylen)
{
	const char *host;
	size_t n, i;

	if (e == NULL || e[0] == '\0' || strlen(e) > PUSH_ENDPOINT_MAX) {
		snprintf(why, whylen, "\"endpoint\" must be a URL of at most "
		    "%d bytes", PUSH_ENDPOINT_MAX);
		return -1;
	}
	for (i = 0; e[i] != '\0'; i++) {
		if ((unsigned char)e[i] <= ' ' || (unsigned char)e[i] >= 0x7f) {
			snprintf(why, whylen, "\"endpoint\" holds a space or a "
			    "byte that is not printable ASCII");
			return -1;
		}
	}
	host = strncmp(e, "https://", 8) == 0 ? e + 8 :
	    strncmp(e, "http://", 7) == 0 ? e + 7 : NULL;
	n = host ? (host[0] == '[' ? strcspn(host, "]") + 1 :
	    strcspn(host, ":/?#")) : 0;
	if (host == NULL || n == 0 || host[n - 1] == '@' ||
	    memchr(host, '@', strcspn(host, "/?#")) != NULL) {
		snprintf(why, whylen, "\"endpoint\" must be an https:// URL "
		    "with a host");
		return -1;
	}
	if (host == e + 7 && !(hub.conf.push_allow_insecure &&
	    host_loopback(host, n))) {
		snprintf(why, whylen, "\"endpoint\" must be https:// (http:// "
		    "only to a loopback address with push_allow_insecure)");
		return -1;
	}
	return 0;
}

/* keys.p256dh and keys.auth of root into s: 0, or -1 with why. */
static int
keys_parse(const struct mc_json *root, struct hub_push_sub *s, char *why,
    size_t whylen)
{
	const struct mc_json *keys = mc_json_get(root, "keys");
	const char *p = mc_json_str(keys, "p256dh"), *a = mc_json_str(keys,
	    "auth");
	uint8_t buf[PUSH_POINT_LEN + 8];

	if (p == NULL || a == NULL) {
		snprintf(why, whylen, "\"keys\" must hold \"p256dh\" and "
		    "\"auth\" (the browser's PushSubscription.toJSON())");
		return -1;
	}
	if (hub_push_unb64url(p, buf, sizeof(buf)) != PUSH_POINT_LEN ||
	    !hub_push_point_ok(buf)) {
		snprintf(why, whylen, "\"keys.p256dh\" must be the base64url of "
		    "an uncompressed P-256 point (65 bytes)");
		return -1;
	}
	memcpy(s->p256dh, buf, PUSH_POINT_LEN);
	if (hub_push_unb64url(a, buf, sizeof(buf)) != PUSH_AUTH_LEN) {
		snprintf(why, whylen, "\"keys.auth\" must be the base64url of "
		    "16 bytes");
		return -1;
	}
	memcpy(s->auth, buf, PUSH_AUTH_LEN);
	return 0;
}

/* ---- the API ---- */

/* "https://host" of the endpoint: enough to tell devices apart, not
 * enough to push to one. */
static void
write_sub(struct mc_jw *w, const struct hub_push_sub *s)
{
	const char *host = strstr(s->endpoint, "://");
	char origin[128];
	size_t n = host ? (size_t)(host + 3 - s->endpoint) +
	    strcspn(host + 3, "/?#") : 0;

	snprintf(origin, sizeof(origin), "%.*s", (int)n, s->endpoint);
	mc_jw_obj(w, NULL);
	mc_jw_str(w, "id", s->id);
	mc_jw_str(w, "token", s->token);
	mc_jw_str(w, "name", s->name);
	mc_jw_str(w, "service", origin);
	mc_jw_dbl(w, "created", s->created);
	mc_jw_obj_end(w);
}

void
hub_api_push_key(struct hub_req *r)
{
	struct mc_buf b;
	struct mc_jw w;

	if (!pu.on) {
		hub_http_error(r, 503, "unavailable", "Web Push is off: the "
		    "hub has no VAPID key (see its log)");
		return;
	}
	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "key", hub_push_key_b64());
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 200, &b, &w);
}

/* A new subscription from r's body (owned by the caller), or NULL after
 * answering 400. */
static struct hub_push_sub *
sub_parse(struct hub_req *r)
{
	struct hub_push_sub *s;
	struct mc_jdoc *d;
	const char *e;
	char why[256];

	if ((d = hub_api_body_json(r)) == NULL)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		mc_json_free(d);
		hub_http_error(r, 503, "unavailable", "out of memory");
		return NULL;
	}
	e = mc_json_str(mc_json_root(d), "endpoint");
	if (endpoint_check(e, why, sizeof(why)) == -1 ||
	    keys_parse(mc_json_root(d), s, why, sizeof(why)) == -1) {
		mc_json_free(d);
		free(s);
		hub_http_error(r, 400, "bad_request", "%s", why);
		return NULL;
	}
	mc_strlcpy(s->endpoint, e, sizeof(s->endpoint));
	mc_json_free(d);
	return s;
}

/* Room for one more of t's subscriptions: 0, or -1 after a 409. */
static int
room_check(struct hub_req *r)
{
	if (subs_of(r->token->id) >= MC_PUSH_SUBS_PER_TOKEN) {
		hub_http_error(r, 409, "limit", "this token has %d Web Push "
		    "subscriptions already: revoke one first",
		    MC_PUSH_SUBS_PER_TOKEN);
		return -1;
	}
	if (pu.n >= MC_PUSH_SUBS_MAX) {
		hub_http_error(r, 409, "limit", "the hub has %d Web Push "
		    "subscriptions already", MC_PUSH_SUBS_MAX);
		return -1;
	}
	return 0;
}

void
hub_api_push_subscribe(struct hub_req *r)
{
	struct hub_push_sub *s, *old;
	struct mc_buf b;
	struct mc_jw w;
	int status = 201;

	if ((s = sub_parse(r)) == NULL)
		return;
	/* the same browser again (a new token, new keys): one subscription */
	if ((old = sub_by_endpoint(s->endpoint)) != NULL) {
		memcpy(old->p256dh, s->p256dh, sizeof(old->p256dh));
		memcpy(old->auth, s->auth, sizeof(old->auth));
		free(s);
		s = old;
		status = 200;
	} else if (room_check(r) == -1) {
		free(s);
		return;
	} else {
		if (mc_random_hex(s->id + 2, 8) == -1) {
			free(s);
			hub_http_error(r, 503, "unavailable", "no randomness");
			return;
		}
		memcpy(s->id, "p-", 2);
		s->created = mc_wall();
		s->next = pu.head;
		pu.head = s;
		pu.n++;
	}
	mc_strlcpy(s->token, r->token->id, sizeof(s->token));
	mc_strlcpy(s->name, r->token->name, sizeof(s->name));
	sub_store(s);
	hub_api_audit(r, "push_subscribe", "Web Push subscription %s", s->id);
	hub_api_body_begin(&b, &w);
	write_sub(&w, s);
	hub_api_body_send(r, status, &b, &w);
}

void
hub_api_push_list(struct hub_req *r)
{
	const struct hub_push_sub *s;
	int all = r->token->role >= ROLE_ADMIN;
	struct mc_buf b;
	struct mc_jw w;

	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "subscriptions");
	for (s = pu.head; s != NULL; s = s->next)
		if (all || strcmp(s->token, r->token->id) == 0)
			write_sub(&w, s);
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 200, &b, &w);
}

void
hub_api_push_revoke(struct hub_req *r)
{
	struct hub_push_sub *s = sub_find(r->params[0]);

	/* another token's subscription is as unknown as a missing one */
	if (s == NULL || (r->token->role < ROLE_ADMIN &&
	    strcmp(s->token, r->token->id) != 0)) {
		hub_http_error(r, 404, "not_found", "no Web Push subscription "
		    "'%s' of this token (see GET /api/push/subscriptions)",
		    r->params[0]);
		return;
	}
	hub_db_exec("DELETE FROM push_subs WHERE id = ?", "t", s->id);
	hub_api_audit(r, "push_revoke", "Web Push subscription %s of %s",
	    s->id, s->name);
	sub_unlink(s);
	hub_api_reply_ok(r);
}

/* ---- sending ---- */

/* The payload of m: {"title","body","agent","url","severity","id"}; the
 * text is cut to cut bytes at a character boundary.  0 / -1. */
static int
payload(const struct hub_msg *m, size_t cut, struct mc_buf *b)
{
	char text[BODY_MAX + 4], url[3 * MC_NAME_MAX + 16];
	size_t n = strlen(m->text), i, o;
	struct mc_jw w;

	if (n > cut) {
		for (n = cut; n > 0 && ((unsigned char)m->text[n] & 0xc0) ==
		    0x80; n--)
			;
	}
	snprintf(text, sizeof(text), "%.*s%s", (int)n, m->text,
	    n < strlen(m->text) ? "..." : "");
	o = (size_t)snprintf(url, sizeof(url), "/#/agent/");
	for (i = 0; m->agent[i] != '\0' && o + 4 < sizeof(url); i++)
		o += (size_t)snprintf(url + o, sizeof(url) - o,
		    strchr("-._~", m->agent[i]) || isalnum((unsigned char)m->agent[i]) ?
		    "%c" : "%%%02X", (unsigned char)m->agent[i]);
	mc_buf_init(b, PUSH_PAYLOAD_MAX);
	mc_jw_init(&w, b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "title", m->title);
	mc_jw_str(&w, "body", text);
	mc_jw_str(&w, "agent", m->agent);
	mc_jw_str(&w, "url", m->agent[0] ? url : "/");
	mc_jw_str(&w, "severity", hub_sev_name(m->sev));
	mc_jw_str(&w, "id", m->id);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1 || b->data == NULL) {
		mc_buf_free(b);
		return -1;
	}
	return 0;
}

static struct hub_push_job *
job_new(const struct hub_push_sub *s, const struct hub_msg *m,
    const struct mc_buf *pl)
{
	struct hub_push_job *j = calloc(1, sizeof(*j));

	if (j == NULL || (j->payload = malloc(pl->len + 1)) == NULL) {
		free(j);
		return NULL;
	}
	memcpy(j->payload, pl->data, pl->len + 1);
	j->len = pl->len;
	j->sub = *s;
	j->sub.next = NULL;
	mc_strlcpy(j->alert, m->id, sizeof(j->alert));
	mc_strlcpy(j->agent, m->agent, sizeof(j->agent));
	j->urgent = m->sev == SEV_CRITICAL;
	return j;
}

void
hub_push_alert(const struct hub_msg *m)
{
	const struct hub_push_sub *s;
	struct hub_push_job *j;
	struct mc_buf pl;

	if (!pu.on || pu.head == NULL || m->test != 0)
		return;
	/* a title and a text past the record are cut, never dropped */
	if (payload(m, BODY_MAX, &pl) == -1 && payload(m, 200, &pl) == -1) {
		mc_err("push: alert %s does not fit a push message", m->id);
		return;
	}
	for (s = pu.head; s != NULL; s = s->next) {
		if (!sub_token_ok(s))
			continue;	/* its token was revoked */
		if ((j = job_new(s, m, &pl)) == NULL) {
			mc_err("push: out of memory queueing alert %s", m->id);
			break;
		}
		hub_push_send_queue(j);
	}
	mc_buf_free(&pl);
}

/* One outcome: the log, the event, the counter; gone removes it. */
static void
record(const char *sub, const char *alert, const char *agent,
    enum hub_push_out out, int attempt, const char *detail)
{
	char text[MC_ID_MAX * 2 + 256];
	struct hub_push_sub *s = sub_find(sub);

	snprintf(text, sizeof(text), "%s try %d: subscription %s (%s): %s",
	    alert, attempt, sub, s ? s->name : "removed", detail);
	if (out == PUSH_SENT)
		mc_info("alert %s: push: sent to %s (%s)", alert, sub, detail);
	else
		mc_warn("alert %s: push: %s", alert, text);
	hub_event("delivery", agent, "push", out_names[out], text);
	hub_prom_alert("push", out_names[out]);
	if (out != PUSH_GONE || s == NULL)
		return;
	snprintf(text, sizeof(text), "Web Push subscription %s of %s removed: "
	    "%s", s->id, s->name, detail);
	hub_event("push", "", s->name, "removed", text);
	hub_db_exec("DELETE FROM push_subs WHERE id = ?", "t", s->id);
	sub_unlink(s);
}

void
hub_push_drain(void)
{
	hub_push_send_drain(record);
}

/* ---- the stored subscriptions: at start, a shared store's news ---- */

/* A read of the stored subscriptions, oldest first, into head. */
struct subs_read {
	struct hub_push_sub	*head;	/* owned list */
	int			 whole;	/* every row was read */
};

/* Writer thread. */
static int
load_run(struct hub_sql *db, void *arg)
{
	struct subs_read *r = arg;
	struct hub_push_sub *s, **tail = &r->head;
	struct hub_sql_stmt *st;
	int rc;

	if (hub_sql_prepare(db, "SELECT id, token, token_name, endpoint,"
	    " p256dh, auth, created FROM push_subs ORDER BY created",
	    &st) != HUB_SQL_OK)
		return HUB_SQL_OK;
	while ((rc = hub_sql_step(st)) == HUB_SQL_ROW) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			break;
		mc_strlcpy(s->id, hub_sql_str(st, 0), sizeof(s->id));
		mc_strlcpy(s->token, hub_sql_str(st, 1), sizeof(s->token));
		mc_strlcpy(s->name, hub_sql_str(st, 2), sizeof(s->name));
		mc_strlcpy(s->endpoint, hub_sql_str(st, 3),
		    sizeof(s->endpoint));
		s->created = hub_sql_double(st, 6);
		if (hub_push_unb64url(hub_sql_str(st, 4), s->p256dh,
		    sizeof(s->p256dh)) != PUSH_POINT_LEN ||
		    hub_push_unb64url(hub_sql_str(st, 5), s->auth,
		    sizeof(s->auth)) != PUSH_AUTH_LEN) {
			free(s);	/* not one this hub wrote */
			continue;
		}
		*tail = s;
		tail = &s->next;
	}
	r->whole = rc == HUB_SQL_DONE;
	hub_sql_finalize(st);
	return HUB_SQL_OK;
}

/*
 * Service thread: the stored subscriptions now, at start and (on a
 * shared store) every SYNC_EVERY seconds.  Those not here are taken;
 * one seen stored by an earlier read and missing from this one was
 * removed through another hub (only a whole read says so).
 */
static void
read_done(void *arg, int stored)
{
	struct subs_read *r = arg;
	struct hub_push_sub *s, *next, *had;
	unsigned seen = ++pu.reads;

	(void)stored;	/* a read: it ran */
	pu.syncing = 0;
	while ((s = r->head) != NULL) {
		r->head = s->next;
		if ((had = sub_find(s->id)) != NULL)
			had->seen = seen;
		if (had != NULL || hub_idring_has(&pu.gone, s->id) ||
		    pu.n >= MC_PUSH_SUBS_MAX) {
			free(s);
			continue;
		}
		s->seen = seen;
		s->next = pu.head;
		pu.head = s;
		pu.n++;
		if (seen > 1)
			mc_info("push: subscription %s of %s, made through "
			    "another hub, is served here too", s->id, s->name);
	}
	if (seen == 1 && pu.n > 0)
		mc_info("push: %d Web Push subscription%s", pu.n,
		    pu.n > 1 ? "s" : "");
	for (s = pu.head; r->whole && s != NULL; s = next) {
		next = s->next;
		if (s->seen != 0 && s->seen != seen) {
			mc_info("push: subscription %s of %s was removed "
			    "through another hub", s->id, s->name);
			sub_unlink(s);
		}
	}
	free(r);
}

/* Read the stored subscriptions (one read at a time). */
static void
read_start(void)
{
	struct subs_read *r = calloc(1, sizeof(*r));	/* owned by
							 * read_done() */

	if (r == NULL) {
		mc_err("push: out of memory for a read of the "
		    "subscriptions");
		return;
	}
	pu.syncing = 1;
	hub_db_read(load_run, read_done, r);
}

void
hub_push_sync_cron(double now)
{
	if (!pu.on || !hub_db_shared() || pu.syncing || now < pu.sync_next)
		return;
	pu.sync_next = now + SYNC_EVERY;
	read_start();
}

/* ---- start and stop ---- */

int
hub_push_start(void)
{
	if (hub_push_key_load(hub.conf.data) == -1) {
		mc_warn("push: Web Push is off");
		return 0;	/* the other channels need not wait for it */
	}
	if (hub_push_send_start() == -1)
		return -1;
	pu.on = 1;
	read_start();
	return 0;
}

void
hub_push_stop(void)
{
	hub_push_send_stop();
	pu.on = 0;
}

void
hub_push_free_all(void)
{
	struct hub_push_sub *s;

	while ((s = pu.head) != NULL) {
		pu.head = s->next;
		free(s);
	}
	pu.n = 0;
	hub_push_key_free();
}
