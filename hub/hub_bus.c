/*
 * hub_bus.c - the service thread's side of the cluster: hubs that know
 * each other through Redis (bus = redis://...).
 *
 * Every hub announces itself in Redis with a lease (hub_bus_redis.c does
 * every Redis call, on its own thread); a hub whose lease ran out without
 * a goodbye is down.  Here, on the service thread and never blocking:
 *  - once a second this hub's figures (agents connected, online, the
 *    store's health) are handed to the bus thread for its next
 *    announcement;
 *  - the bus thread's newest round is taken from the cron tick: the
 *    list of hubs it read is kept for GET /api/hubs, /healthz and
 *    /metrics, and its changes become events on this hub (every
 *    survivor records them in its own store) and alerts (only the hub
 *    that won the change's lock in Redis sends them, so one incident is
 *    one message however many hubs see it);
 *  - Redis unreachable is an event when it starts and ends, and a state
 *    /healthz and /metrics show; the hub's own status stays "ok" (the bus
 *    is how hubs see each other, not how this one serves its agents).
 * Without a bus the hub is alone: GET /api/hubs lists it and "bus" is
 * null, so hubctl hubs works on a single hub too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_api.h"
#include "hub_bus.h"
#include "hub_push.h"
#include "mc_log.h"
#include "mc_util.h"

static struct {
	int			 on;
	char			 name[HUB_BUS_NAME_MAX + 1];
	char			 id[HUB_BUS_ID_HEX];
	char			 url[300];	/* bus, for display: no secret
						 * can be in it */
	double			 next;		/* monotonic: next figures */
	struct hub_bus_round	*cur;		/* owned: the newest round */
	int			 was_ok;	/* -1 before the first round */
	int			 conflict;	/* another run has our name */
	/* runs of hubs whose liveness settings differ, told once each */
	char			 told[HUB_BUS_HUBS_MAX][HUB_BUS_ID_HEX];
	int			 ntold;		/* next slot (a ring) */
	int			 lead_telegram;	/* asks for the poller's lease */
} bs = { .was_ok = -1 };

static void	self_fill(struct hub_bus_peer *p);

/* ---- settings ---- */

int
hub_bus_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= HUB_BUS_NAME_MAX && name[strspn(name,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	    "._-")] == '\0';
}

/* HOST of redis://HOST[:PORT][/DB]: [v6], a name or an IPv4 address. */
static int
url_host(const char *s, size_t n, struct hub_bus_url *u, char *err,
    size_t errlen)
{
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(u->host) || memchr(s, '[', n) ||
	    memchr(s, ']', n) || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789.-_:%") < n) {
		snprintf(err, errlen, "the host is not a name or an address "
		    "(redis://HOST:PORT[/DB], an IPv6 address in brackets)");
		return -1;
	}
	memcpy(u->host, s, n);
	u->host[n] = '\0';
	return 0;
}

int
hub_bus_url_parse(const char *url, struct hub_bus_url *u, char *err,
    size_t errlen)
{
	const char *p, *end, *colon, *slash;
	int64_t v;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (strncmp(url, "rediss://", 9) == 0) {
		snprintf(err, errlen, "rediss:// (TLS) is not supported: reach "
		    "Redis over a trusted network or a tunnel (redis://)");
		return -1;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "must be redis://HOST:PORT[/DB]");
		return -1;
	}
	p = url + 8;
	if (strchr(p, '@') != NULL) {
		snprintf(err, errlen, "a user or password never goes in the URL "
		    "(it would show in logs and listings): put the password in "
		    "a file named by bus_password_file = FILE (mode 0600)");
		return -1;
	}
	if (strpbrk(p, "?#") != NULL) {
		snprintf(err, errlen, "must be redis://HOST:PORT[/DB], without "
		    "options");
		return -1;
	}
	slash = strchr(p, '/');
	end = slash ? slash : p + strlen(p);
	colon = NULL;
	if (*p == '[') {
		colon = memchr(p, ']', (size_t)(end - p));
		colon = colon && colon + 1 < end && colon[1] == ':' ? colon + 1 :
		    NULL;
	} else
		colon = memchr(p, ':', (size_t)(end - p));
	if (url_host(p, (size_t)((colon ? colon : end) - p), u, err,
	    errlen) == -1)
		return -1;
	if (colon != NULL) {
		char port[8];
		size_t n = (size_t)(end - colon - 1);

		if (n == 0 || n >= sizeof(port)) {
			snprintf(err, errlen, "the port is not a number from 1 "
			    "to 65535");
			return -1;
		}
		memcpy(port, colon + 1, n);
		port[n] = '\0';
		if (mc_parse_i64(port, 1, 65535, &v) == -1) {
			snprintf(err, errlen, "the port is not a number from 1 "
			    "to 65535");
			return -1;
		}
		u->port = (int)v;
	}
	if (slash != NULL && slash[1] != '\0') {
		if (mc_parse_i64(slash + 1, 0, 65535, &v) == -1) {
			snprintf(err, errlen, "the database after '/' is not a "
			    "number from 0 to 65535");
			return -1;
		}
		u->db = (int)v;
	}
	return 0;
}

/* ---- start and stop ---- */

static int
password_read(const char *path, char *out, size_t size)
{
	char *text;
	int r;

	if (path[0] == '\0')
		return 0;
	text = mc_read_file(path, 64 * 1024, NULL);
	if (text == NULL) {
		mc_err("bus_password_file: cannot read %s", path);
		return -1;
	}
	r = mc_strlcpy(out, mc_trim(text), size);
	explicit_bzero(text, strlen(text));
	free(text);
	if (r == -1) {
		mc_err("bus_password_file: %s holds more than %zu bytes", path,
		    size - 1);
		return -1;
	}
	return 0;
}

int
hub_bus_start(void)
{
	struct hub_bus_cfg cfg;
	struct hub_bus_peer self;
	char err[HUB_BUS_ERR_MAX];
	int r;

	if (hub.conf.bus[0] == '\0')
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	if (hub_bus_url_parse(hub.conf.bus, &cfg.url, err, sizeof(err)) == -1) {
		mc_err("bus: %s", err);
		return -1;
	}
	if (password_read(hub.conf.bus_password_file, cfg.password,
	    sizeof(cfg.password)) == -1)
		return -1;
	mc_strlcpy(cfg.name, hub.conf.hub_name, sizeof(cfg.name));
	cfg.lead_telegram = bs.lead_telegram = hub.conf.telegram_commands &&
	    hub.conf.telegram_bot_token[0] != '\0';
	if (mc_random_hex(cfg.id, (HUB_BUS_ID_HEX - 1) / 2) == -1) {
		explicit_bzero(cfg.password, sizeof(cfg.password));
		mc_err("bus: no random bytes for this hub's instance id");
		return -1;
	}
	mc_strlcpy(bs.name, cfg.name, sizeof(bs.name));
	mc_strlcpy(bs.id, cfg.id, sizeof(bs.id));
	/* the first round announces this hub at once */
	self_fill(&self);
	hub_bus_redis_announce(&self);
	snprintf(bs.url, sizeof(bs.url), "redis://%s%s%s:%d/%d",
	    strchr(cfg.url.host, ':') ? "[" : "", cfg.url.host,
	    strchr(cfg.url.host, ':') ? "]" : "", cfg.url.port, cfg.url.db);
	r = hub_bus_redis_start(&cfg);
	if (r == 0 && (r = hub_bus_link_start(&cfg)) == -1)
		hub_bus_redis_stop();
	explicit_bzero(cfg.password, sizeof(cfg.password));
	if (r == -1)
		return -1;
	bs.on = 1;
	mc_info("bus: %s, this hub announced as '%s' every %gs (lease %ds)",
	    bs.url, bs.name, HUB_BUS_PERIOD, HUB_BUS_LEASE_MS / 1000);
	return 0;
}

void
hub_bus_stop(void)
{
	if (!bs.on)
		return;
	hub_bus_link_stop();
	hub_bus_redis_stop();
	bs.on = 0;
}

const char *
hub_bus_self(void)
{
	return bs.on ? bs.name : "";
}

const char *
hub_bus_self_id(void)
{
	return bs.on ? bs.id : "";
}

void
hub_bus_chan_to(char *out, size_t size, const char *name)
{
	snprintf(out, size, HUB_BUS_CHAN_TO "%s", name);
}

void
hub_bus_drain(void)
{
	if (!bs.on)
		return;
	hub_bus_link_drain();
	hub_bus_term_pump();
}

void
hub_bus_on_message(const struct hub_link_res *m)
{
	if (m->feed)
		hub_bus_feed_on_message(m->data, m->len);
	else
		hub_bus_route_on_message(m->data, m->len);
}

void
hub_bus_free_all(void)
{
	free(bs.cur);
	bs.cur = NULL;
	hub_bus_route_free_all();
	hub_bus_fan_free_all();
	hub_bus_cmd_free_all();
	hub_bus_term_free_all();
	hub_bus_feed_free_all();
	hub_bus_end_free_all();
}

/* ---- this hub ---- */

/* This hub's figures now.  One walk of the agents, once a second (as
 * /healthz does per request): 20,000 agents cost well under a
 * millisecond. */
static void
self_fill(struct hub_bus_peer *p)
{
	struct hub_db_health h;

	memset(p, 0, sizeof(*p));
	mc_strlcpy(p->name, bs.name, sizeof(p->name));
	mc_strlcpy(p->id, bs.id, sizeof(p->id));
	snprintf(p->url, sizeof(p->url), "%s://%s",
	    hub.conf.insecure_no_tls ? "http" : "https", hub.conf.listen);
	mc_strlcpy(p->version, MC_VERSION, sizeof(p->version));
	p->started = mc_wall() - (mc_now() - hub.started);
	p->seen = mc_wall();
	p->online = hub_live_online_count();
	p->agents = hub_agent_connected_count();
	p->watching = (int64_t)hub_ui_count();
	p->heartbeat = hub.conf.heartbeat;
	p->miss = hub.conf.miss;
	mc_strlcpy(p->push_key, hub_push_key_b64(), sizeof(p->push_key));
	hub_db_health(&h);
	mc_strlcpy(p->store, h.failing ? h.reason : "ok", sizeof(p->store));
}

/* The Telegram poller's lease as the round found it.  No answer: the
 * holder keeps polling, and once a lease passed without one every hub
 * polls (twice rather than never: Telegram sorts them out with 409s). */
static void
lead(const struct hub_bus_round *r)
{
	if (!bs.lead_telegram)
		return;
	if (r->lead >= 0)
		hub_chat_tg_lead(r->lead);
	else if (!r->ok && r->failing_since > 0 && mc_wall() -
	    r->failing_since > HUB_BUS_TG_LEASE_MS / 1000.0)
		hub_chat_tg_lead(1);
}

/* ---- changes ---- */

static void
change_down(const struct hub_bus_change *c)
{
	const struct hub_bus_peer *p = &c->peer;
	char text[1024], title[HUB_BUS_NAME_MAX + 32], when[64];
	char detail[MC_TEXT_MAX];

	hub_alert_time(p->seen, when, sizeof(when));
	snprintf(detail, sizeof(detail), "hub %s (%.120s) is down: no "
	    "announcement since %s", p->name, p->url, when);
	snprintf(text, sizeof(text), "Hub %s (%s, version %s, holding %lld "
	    "agents) stopped announcing itself: its %ds lease in Redis ran "
	    "out after its last announcement at %s, with no goodbye. Its "
	    "listeners move to the other hubs they list. Seen by hub %s.",
	    p->name, p->url, p->version, (long long)p->agents,
	    HUB_BUS_LEASE_MS / 1000, when, bs.name);
	mc_warn("bus: hub %s is down (lease expired; last announcement %s)",
	    p->name, when);
	hub_event("hub", "", "ok", "hub_down", detail);
	hub_bus_cmd_hub_down(p->name);
	hub_bus_term_hub_down(p->name);
	hub_bus_live_hub_down(p->name);
	if (!c->alert)
		return;
	snprintf(title, sizeof(title), "HUB DOWN: %s", p->name);
	hub_alert_notice("hub_down", "", title, text);
}

static void
change_left(const struct hub_bus_change *c)
{
	char text[MC_TEXT_MAX];

	snprintf(text, sizeof(text), "hub %s (%.120s) stopped cleanly (it "
	    "said goodbye)", c->peer.name, c->peer.url);
	mc_info("bus: hub %s left (a clean stop)", c->peer.name);
	hub_event("hub", "", "ok", "hub_left", text);
}

static void
change_back(const struct hub_bus_change *c)
{
	char text[MC_TEXT_MAX], title[HUB_BUS_NAME_MAX + 32];

	snprintf(text, sizeof(text), "hub %s (%.120s, version %.31s) "
	    "announces itself again%s", c->peer.name, c->peer.url,
	    c->peer.version, c->was_down ? " after it went down" : "");
	mc_info("bus: hub %s is back", c->peer.name);
	hub_event("hub", "", c->was_down ? "hub_down" : "hub_left", "hub_back",
	    text);
	if (!c->alert || !c->was_down)
		return;
	snprintf(title, sizeof(title), "HUB UP: %s", c->peer.name);
	hub_alert_notice("hub_ok", "", title, text);
}

/* The bus itself: an event when Redis stops or starts answering. */
static void
bus_state(const struct hub_bus_round *r)
{
	if (r->ok == bs.was_ok)
		return;
	if (!r->ok) {
		mc_warn("bus: %s unreachable: %s (retrying)", bs.url, r->err);
		hub_event("hub", "", "ok", "bus_unreachable", r->err);
	} else if (bs.was_ok == 0) {
		mc_info("bus: %s answers again", bs.url);
		hub_event("hub", "", "bus_unreachable", "ok", "the bus "
		    "answers again");
	}
	bs.was_ok = r->ok;
}

/* Another run announces this hub's name: two hubs would hide each
 * other.  Said once while it lasts. */
static void
name_conflict(const struct hub_bus_round *r)
{
	int i, found = 0;

	for (i = 0; i < r->npeers; i++)
		if (strcmp(r->peers[i].name, bs.name) == 0 &&
		    strcmp(r->peers[i].id, bs.id) != 0)
			found = 1;
	if (found && !bs.conflict)
		mc_err("bus: another hub announces itself as '%s' too: give "
		    "each hub its own hub_name", bs.name);
	bs.conflict = found;
}

/*
 * What every hub of a cluster must have alike, checked against each
 * other hub's announcement (an older hub announces neither):
 *  - liveness timing: a hub with a longer window than the others' finds
 *    their agents silent too early when they fail over to it, one with a
 *    shorter window calls the agents of a dead hub critical before the
 *    others would;
 *  - the Web Push key (DATA/vapid.pem): a push service takes only the
 *    key a browser subscribed with, so a browser subscribed through one
 *    hub would get nothing from the hub that records an incident.
 * Said once per run of a hub that differs.
 */
static int
timing_differs(const struct hub_bus_peer *p)
{
	return p->heartbeat > 0 && (p->heartbeat != hub.conf.heartbeat ||
	    p->miss != hub.conf.miss);
}

static int
push_key_differs(const struct hub_bus_peer *p)
{
	return p->push_key[0] != '\0' && hub_push_key_b64()[0] != '\0' &&
	    strcmp(p->push_key, hub_push_key_b64()) != 0;
}

static void
settings_warn(const struct hub_bus_peer *p)
{
	if (timing_differs(p))
		mc_warn("bus: hub %s uses heartbeat %g s and miss %lld, this "
		    "hub heartbeat %g s and miss %d: give every hub of a "
		    "cluster the same two settings, or agents that move "
		    "between them are judged by different windows", p->name,
		    p->heartbeat, (long long)p->miss, hub.conf.heartbeat,
		    hub.conf.miss);
	if (push_key_differs(p))
		mc_warn("bus: hub %s has another Web Push key than this hub: "
		    "copy one hub's DATA/vapid.pem to every hub of a cluster "
		    "(and restart them), or a browser subscribed through one "
		    "hub gets no push from the others", p->name);
}

static void
settings_check(const struct hub_bus_round *r)
{
	const struct hub_bus_peer *p;
	int i, j;

	for (i = 0; i < r->npeers; i++) {
		p = &r->peers[i];
		if (strcmp(p->id, bs.id) == 0 ||
		    (!timing_differs(p) && !push_key_differs(p)))
			continue;
		for (j = 0; j < HUB_BUS_HUBS_MAX; j++)
			if (strcmp(bs.told[j], p->id) == 0)
				break;
		if (j < HUB_BUS_HUBS_MAX)
			continue;
		settings_warn(p);
		mc_strlcpy(bs.told[bs.ntold], p->id, sizeof(bs.told[0]));
		bs.ntold = (bs.ntold + 1) % HUB_BUS_HUBS_MAX;
	}
}

void
hub_bus_cron(double now)
{
	struct hub_bus_peer self;
	struct hub_bus_round *r;
	int i;

	if (!bs.on)
		return;
	hub_bus_link_drain();
	hub_bus_hold_cron(now);
	hub_bus_route_cron(now);
	hub_bus_fan_cron(now);
	hub_bus_cmd_cron(now);
	hub_bus_term_cron(now);
	hub_bus_feed_cron(now);
	hub_bus_end_cron(now);
	if (now >= bs.next) {
		self_fill(&self);
		hub_bus_redis_announce(&self);
		bs.next = now + 1;
	}
	r = hub_bus_redis_take();
	if (r == NULL)
		return;
	bus_state(r);
	lead(r);
	if (r->ok) {
		name_conflict(r);
		settings_check(r);
	}
	for (i = 0; i < r->nchanges; i++) {
		if (r->changes[i].kind == BUS_DOWN)
			change_down(&r->changes[i]);
		else if (r->changes[i].kind == BUS_LEFT)
			change_left(&r->changes[i]);
		else
			change_back(&r->changes[i]);
	}
	if (r->lost > 0)
		mc_warn("bus: %llu hub changes were dropped (more than %d "
		    "between two ticks)", (unsigned long long)r->lost,
		    HUB_BUS_CHANGES_MAX);
	/* a failed round keeps the last list read, marked stale */
	if (!r->ok && bs.cur != NULL) {
		bs.cur->ok = 0;
		memcpy(bs.cur->err, r->err, sizeof(bs.cur->err));
		bs.cur->failing_since = r->failing_since;
		free(r);
		return;
	}
	free(bs.cur);
	bs.cur = r;
}

int
hub_bus_peers_known(void)
{
	return bs.cur != NULL;
}

int
hub_bus_peer_up(const char *name, const char *run)
{
	int i;

	for (i = 0; bs.cur != NULL && i < bs.cur->npeers; i++)
		if (strcmp(bs.cur->peers[i].name, name) == 0)
			return (run == NULL ||
			    strcmp(bs.cur->peers[i].id, run) == 0) &&
			    !bs.cur->peers[i].stopping;
	return 0;
}

int
hub_bus_others_up(char (*names)[HUB_BUS_NAME_MAX + 1], int max)
{
	int i, n = 0;

	for (i = 0; bs.cur != NULL && i < bs.cur->npeers && n < max; i++)
		if (!bs.cur->peers[i].stopping &&
		    strcmp(bs.cur->peers[i].name, bs.name) != 0)
			mc_strlcpy(names[n++], bs.cur->peers[i].name,
			    sizeof(names[0]));
	return n;
}

int
hub_bus_watched_elsewhere(void)
{
	int i;

	for (i = 0; bs.cur != NULL && i < bs.cur->npeers; i++)
		if (bs.cur->peers[i].watching > 0 &&
		    strcmp(bs.cur->peers[i].id, bs.id) != 0)
			return 1;
	return 0;
}

int
hub_bus_hub_gone(const char *name)
{
	int i;

	if (bs.cur == NULL || !bs.cur->ok || bs.cur->more)
		return 0;
	for (i = 0; i < bs.cur->npeers; i++)
		if (strcmp(bs.cur->peers[i].name, name) == 0)
			return bs.cur->peers[i].stopping;
	return 1;
}

/* ---- what is shown ---- */

static void
peer_write(struct mc_jw *w, const struct hub_bus_peer *p, int self)
{
	mc_jw_obj(w, NULL);
	mc_jw_str(w, "name", p->name);
	mc_jw_str(w, "url", p->url);
	mc_jw_str(w, "version", p->version);
	mc_jw_dbl(w, "started", p->started);
	mc_jw_i64(w, "agents", p->agents);
	mc_jw_i64(w, "online", p->online);
	mc_jw_i64(w, "watching", p->watching);
	if (p->heartbeat > 0) {
		mc_jw_dbl(w, "heartbeat", p->heartbeat);
		mc_jw_i64(w, "miss", p->miss);
	}
	mc_jw_str(w, "store", p->store);
	mc_jw_dbl(w, "last_seen", p->seen);
	mc_jw_bool(w, "stopping", p->stopping);
	mc_jw_bool(w, "self", self);
	mc_jw_obj_end(w);
}

/* GET /api/hubs (viewer): this hub first, with its figures of now, then
 * the others as the last round read them, by name. */
void
hub_api_hubs(struct hub_req *r)
{
	struct hub_bus_peer self;
	struct mc_buf b;
	struct mc_jw w;
	int i;

	if (!bs.on)
		mc_strlcpy(bs.name, hub.conf.hub_name, sizeof(bs.name));
	self_fill(&self);
	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "hubs");
	peer_write(&w, &self, 1);
	for (i = 0; bs.cur != NULL && i < bs.cur->npeers; i++)
		if (strcmp(bs.cur->peers[i].id, bs.id) != 0)
			peer_write(&w, &bs.cur->peers[i], 0);
	mc_jw_arr_end(&w);
	if (!bs.on) {
		mc_jw_null(&w, "bus");
	} else {
		mc_jw_obj(&w, "bus");
		mc_jw_str(&w, "url", bs.url);
		mc_jw_bool(&w, "ok", bs.cur != NULL && bs.cur->ok);
		if (bs.cur == NULL)
			mc_jw_str(&w, "error", "not read yet");
		else if (!bs.cur->ok) {
			mc_jw_str(&w, "error", bs.cur->err);
			mc_jw_dbl(&w, "failing_since", bs.cur->failing_since);
		} else if (bs.conflict)
			mc_jw_str(&w, "error", "another hub announces this "
			    "hub's name");
		mc_jw_bool(&w, "more", bs.cur != NULL && bs.cur->more);
		mc_jw_obj_end(&w);
	}
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 200, &b, &w);
}

void
hub_bus_health(struct mc_jw *w)
{
	char text[HUB_BUS_ERR_MAX + 16];

	if (!bs.on)
		return;
	if (bs.cur != NULL && bs.cur->ok) {
		mc_jw_str(w, "bus", "ok");
		return;
	}
	snprintf(text, sizeof(text), "unreachable: %s", bs.cur != NULL ?
	    bs.cur->err : "not read yet");
	mc_jw_str(w, "bus", text);
}

void
hub_bus_prom(struct mc_buf *b)
{
	int up = bs.cur != NULL && bs.cur->ok;

	if (!bs.on)
		return;
	hub_prom_family(b, "maestro_bus_up", "gauge", "1 when the last round "
	    "with Redis (bus) worked, else 0.");
	mc_buf_printf(b, "maestro_bus_up %d\n", up);
	hub_prom_family(b, "maestro_cluster_hubs", "gauge", "Hubs announced "
	    "in Redis, this one included, as last read.");
	mc_buf_printf(b, "maestro_cluster_hubs %d\n", bs.cur != NULL ?
	    bs.cur->npeers : 0);
	hub_bus_feed_prom(b);
	hub_bus_live_prom(b);
	hub_bus_end_prom(b);
}
