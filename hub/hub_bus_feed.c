/*
 * hub_bus_feed.c - the live feed of the whole fleet: every hub publishes
 * what its /ws/ui feed pushes about the agents it holds on
 * maestro:feed, and passes what the others publish to its own UI
 * sessions (the dashboard, hubctl watch).
 *
 * Volume decides the shape: 45,000 agents heartbeating every 10 s are
 * 4,500 changes a second, so nothing is published per heartbeat.  An
 * agent held here that changed is marked (once) in a list; every
 * FEED_EVERY seconds the list becomes one message for the whole hub (more
 * only past FEED_MSG_MAX bytes), sooner (the next tick) when a status
 * changed, an event was recorded or a command moved, so those reach the
 * other hubs' sessions within a tick as they reach this hub's.
 * A message is lines (no line of the hub's JSON holds a newline):
 *	{"t":"feed","hub":NAME}
 *	A NAME STATUS CONN HEARD {agent}	an agent whose status changed
 *	a NAME STATUS CONN HEARD [{agent}]	an agent heard (metrics)
 *	e {event}	an event about an agent (without "id": each hub
 *			numbers its own)
 *	c {command}	a command that changed
 *	k {"agent","by","at"}	an agent's incident acknowledged here: the
 *			others take it (the hub that recorded the
 *			incident is the one that would alert it again)
 * each agent and event carrying "hub": NAME.  An agent line's head says
 * what liveness needs (CONN 1 when the sender has the connection, HEARD
 * the wall time it last heard the agent, in milliseconds), so that a
 * receiver, which gets every other hub's agents each heartbeat, never
 * parses their JSON (that parse was 15 % of a cluster hub's samples).
 * An agent's JSON rides on its metrics line only while another hub has
 * sessions on its live feed (its presence says how many), else once a
 * FEED_FULL_EVERY, so that GET /api/agents elsewhere stays roughly
 * current: writing every agent's JSON every heartbeat for nobody was
 * another 10 %.  Then a metrics line carries only the head, and an agent
 * whose status did not change is sent at most every half window (miss x
 * heartbeat / 2): every second heartbeat by default, so the other hubs
 * hear of each of its agents twice per window, as their liveness needs
 * (hub_bus_live.c asks the bus anyway before deciding), at half the
 * lines to write and to read.  A receiving hub sends them
 * on as the messages its feed already has ("agent", "agents", "event",
 * "command"), and keeps each agent's last line in a bounded map (at most
 * FEED_REMOTE_MAX, forgotten FEED_REMOTE_TTL seconds after its last
 * change) so a session's first snapshot includes the agents held
 * elsewhere.  An agent held here is never taken from the map.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_bus.h"
#include "mc_log.h"
#include "mc_util.h"

#define FEED_EVERY	1.0	/* seconds between metrics batches */
#define FEED_FULL_EVERY	60.0	/* seconds: an agent's JSON at least */
#define FEED_MSG_MAX	(1024 * 1024)	/* bytes, before a second message */
#define FEED_EXTRA_MAX	(256 * 1024)	/* bytes of events and commands
					 * waiting */
#define FEED_REMOTE_MAX	200000
#define FEED_BUCKETS	65536
#define FEED_SWEEP	512	/* buckets looked at per tick */

/* An agent held by another hub, as its holder last sent it. */
struct remote {
	char		 name[MC_NAME_MAX + 1];
	char		*line;		/* owned: its JSON */
	size_t		 len, cap;
	double		 at;		/* monotonic: received */
	struct remote	*hnext;
};

static struct {
	struct hub_agent **dirty;	/* owned array; agents not owned */
	size_t		 ndirty, cap;
	int		 urgent;
	struct mc_buf	 extra;		/* owned: e and c lines */
	uint64_t	 extra_lost;
	double		 last;		/* monotonic: the last batch */
	struct remote	*buckets[FEED_BUCKETS];	/* owned */
	size_t		 nremote;
	size_t		 sweep;
	uint64_t	 published, received;	/* messages */
} fd;

/* Seconds between two head-only lines of an agent whose status stays. */
static double
head_every(void)
{
	return hub.conf.miss * hub.conf.heartbeat / 2;
}

static double
remote_ttl(void)
{
	return 60.0 + 2.0 * hub.conf.miss * hub.conf.heartbeat;
}

/* ---- what this hub publishes ---- */

void
hub_bus_feed_agent(struct hub_agent *a, int now)
{
	struct hub_agent **n;
	size_t cap;

	/* an agent that dropped from here is still this hub's to speak
	 * for (its critical) until another hub has it */
	if (hub_bus_self()[0] == '\0' || (a->conn == NULL && a->hold_at == 0 &&
	    a->held_by != HUB_HELD_HERE))
		return;
	if (now) {
		fd.urgent = 1;
		if (a->feed_dirty)
			a->feed_dirty = 2;
	}
	if (a->feed_dirty)
		return;
	if (fd.ndirty == fd.cap) {
		cap = fd.cap ? fd.cap * 2 : 256;
		if ((n = realloc(fd.dirty, cap * sizeof(*n))) == NULL)
			return;
		fd.dirty = n;
		fd.cap = cap;
	}
	fd.dirty[fd.ndirty++] = a;
	a->feed_dirty = now ? 2 : 1;
}

/* Start a line "K " in fd.extra; its writer, or -1 when it is full. */
static int
extra_begin(char k, struct mc_jw *w)
{
	if (fd.extra.limit == 0)
		mc_buf_init(&fd.extra, FEED_EXTRA_MAX);
	if (fd.extra.len > FEED_EXTRA_MAX - 4096) {
		fd.extra_lost++;
		return -1;
	}
	mc_buf_printf(&fd.extra, "%c ", k);
	mc_jw_init(w, &fd.extra);
	return 0;
}

void
hub_bus_feed_event(const struct hub_event_rec *e)
{
	struct mc_jw w;

	if (hub_bus_self()[0] == '\0' || e->agent == NULL ||
	    e->agent[0] == '\0' || extra_begin('e', &w) == -1)
		return;
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "hub", hub_bus_self());
	mc_jw_dbl(&w, "ts", e->ts);
	mc_jw_str(&w, "type", e->type);
	mc_jw_str(&w, "agent", e->agent);
	mc_jw_str(&w, "from", e->from);
	mc_jw_str(&w, "to", e->to);
	if (e->detail != NULL && e->detail[0])
		mc_jw_str(&w, "detail", e->detail);
	if (e->cmd != NULL && e->cmd[0])
		mc_jw_str(&w, "cmd", e->cmd);
	mc_jw_obj_end(&w);
	mc_buf_puts(&fd.extra, "\n");
	fd.urgent = 1;
}

void
hub_bus_feed_ack(const struct hub_agent *a, const char *by, double at)
{
	struct mc_jw w;

	if (hub_bus_self()[0] == '\0' || extra_begin('k', &w) == -1)
		return;
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "agent", a->name);
	mc_jw_str(&w, "by", by);
	mc_jw_dbl(&w, "at", at);
	mc_jw_obj_end(&w);
	mc_buf_puts(&fd.extra, "\n");
	fd.urgent = 1;
}

void
hub_bus_feed_command(const struct hub_cmd *c)
{
	struct mc_jw w;

	/* a shadow's holder publishes the command itself */
	if (hub_bus_self()[0] == '\0' || c->shadow ||
	    extra_begin('c', &w) == -1)
		return;
	hub_cmd_write(&w, c, 0);
	mc_buf_puts(&fd.extra, "\n");
	fd.urgent = 1;
}

/* An agent's line: its head, then (full) its JSON with "hub" first. */
static void
agent_line(struct mc_buf *b, struct hub_agent *a, int full,
    struct mc_buf *tmp)
{
	struct mc_jw w;

	if (full) {
		mc_buf_reset(tmp);
		mc_jw_init(&w, tmp);
		hub_agent_write(&w, a, 0);
		if (mc_jw_done(&w) == -1 || tmp->len < 2)
			return;
	}
	/* HEARD in whole milliseconds: printf's %f is slow */
	mc_buf_printf(b, "%c %s %s %d %lld", a->feed_dirty == 2 ? 'A' : 'a',
	    a->name, hub_status_name(a->status), a->conn != NULL,
	    a->conn != NULL ? (long long)(a->last_seen * 1000) : 0LL);
	if (full) {
		mc_buf_printf(b, " {\"hub\":\"%s\",", hub_bus_self());
		mc_buf_append(b, tmp->data + 1, tmp->len - 1);
	}
	mc_buf_puts(b, "\n");
}

static void
publish(struct mc_buf *b)
{
	if (hub_bus_link_queue(LINK_PUB, HUB_BUS_CHAN_FEED, b->data, b->len,
	    NULL, NULL) == 0)
		fd.published++;
	mc_buf_reset(b);
	mc_buf_printf(b, "{\"t\":\"feed\",\"hub\":\"%s\"}\n", hub_bus_self());
}

static void
flush(void)
{
	struct mc_buf b, tmp;
	struct hub_agent *a;
	size_t i, head;
	double now = mc_now();
	int watched = hub_bus_watched_elsewhere(), full;

	mc_buf_init(&b, FEED_MSG_MAX + FEED_EXTRA_MAX + 64 * 1024);
	mc_buf_init(&tmp, 64 * 1024);
	mc_buf_printf(&b, "{\"t\":\"feed\",\"hub\":\"%s\"}\n", hub_bus_self());
	head = b.len;
	if (fd.extra.len > 0)
		mc_buf_append(&b, fd.extra.data, fd.extra.len);
	mc_buf_reset(&fd.extra);
	for (i = 0; i < fd.ndirty; i++) {
		a = fd.dirty[i];
		full = watched || a->feed_dirty == 2 ||
		    now - a->feed_full >= FEED_FULL_EVERY || a->feed_full == 0;
		if (!full && now - a->feed_at < head_every()) {
			a->feed_dirty = 0;
			continue;
		}
		if (full)
			a->feed_full = now;
		a->feed_at = now;
		agent_line(&b, a, full, &tmp);
		a->feed_dirty = 0;
		if (b.len >= FEED_MSG_MAX)
			publish(&b);
	}
	if (b.len > head)
		publish(&b);
	fd.ndirty = 0;
	fd.urgent = 0;
	if (fd.extra_lost > 0) {
		mc_warn("bus: %llu feed events were not published (over %d "
		    "bytes waiting)", (unsigned long long)fd.extra_lost,
		    FEED_EXTRA_MAX);
		fd.extra_lost = 0;
	}
	mc_buf_free(&tmp);
	mc_buf_free(&b);
}

/* ---- what the others publish ---- */

static struct remote **
remote_slot(const char *name)
{
	struct remote **pp = &fd.buckets[mc_hash_str(name) % FEED_BUCKETS];

	while (*pp != NULL && strcmp((*pp)->name, name) != 0)
		pp = &(*pp)->hnext;
	return pp;
}

/* The line replaces the last one in place: lines of one agent differ by
 * a few bytes, and this runs for every agent of every other hub. */
static void
remote_keep(const char *name, const char *line, size_t len)
{
	struct remote **pp = remote_slot(name), *r = *pp;
	char *copy;

	if (r == NULL) {
		if (fd.nremote >= FEED_REMOTE_MAX ||
		    (r = calloc(1, sizeof(*r))) == NULL)
			return;
		mc_strlcpy(r->name, name, sizeof(r->name));
		*pp = r;
		fd.nremote++;
	}
	if (len + 1 > r->cap) {
		/* owned by the entry; room to grow by a few digits */
		if ((copy = realloc(r->line, len + 65)) == NULL)
			return;
		r->line = copy;
		r->cap = len + 65;
	}
	memcpy(r->line, line, len);
	r->line[len] = '\0';
	r->len = len;
	r->at = mc_now();
}

/* Forward one line to this hub's sessions as {"t":T,"K":line}. */
static void
ui_forward(const char *t, const char *k, const char *line, size_t len)
{
	struct mc_buf b;

	mc_buf_init(&b, len + 64);
	mc_buf_printf(&b, "{\"t\":\"%s\",\"%s\":", t, k);
	mc_buf_append(&b, line, len);
	mc_buf_puts(&b, "}");
	if (b.data != NULL)
		hub_ui_raw(b.data, b.len);
	mc_buf_free(&b);
}

/* An agent line's head: "NAME STATUS CONN HEARD", then " JSON" or not. */
struct head {
	char		 name[MC_NAME_MAX + 1];
	char		 status[16];
	int		 connected;
	double		 heard;
	const char	*json;		/* NULL: the head alone */
	size_t		 jlen;
};

/* Copy the word at *p (up to a blank or the end) into out and step past
 * it and its blank; -1 when none fits. */
static int
head_word(const char **p, const char *end, char *out, size_t size)
{
	const char *sp = memchr(*p, ' ', (size_t)(end - *p));
	size_t n;

	if (sp == NULL)
		sp = end;
	if ((n = (size_t)(sp - *p)) == 0 || n >= size)
		return -1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = sp < end ? sp + 1 : end;
	return 0;
}

static int
head_parse(const char *p, const char *end, struct head *h)
{
	char conn[4], heard[32], *e;

	if (head_word(&p, end, h->name, sizeof(h->name)) == -1 ||
	    head_word(&p, end, h->status, sizeof(h->status)) == -1 ||
	    head_word(&p, end, conn, sizeof(conn)) == -1 ||
	    head_word(&p, end, heard, sizeof(heard)) == -1 ||
	    (p < end && *p != '{') || !mc_name_valid(h->name))
		return -1;
	h->connected = strcmp(conn, "1") == 0;
	h->heard = (double)strtoll(heard, &e, 10) / 1000;
	if (*e != '\0')
		return -1;
	h->json = p < end ? p : NULL;
	h->jlen = (size_t)(end - p);
	return 0;
}

/* The head alone: its holder still has it, so its last JSON is kept
 * from expiring (its status is current: a change always sends JSON). */
static void
remote_touch(const char *name)
{
	struct remote *r = *remote_slot(name);

	if (r != NULL)
		r->at = mc_now();
}

/* An agent line: its head speaks for liveness; the line is kept, and
 * forwarded unless this hub holds the agent.  A status change ('A') is
 * the word of the hub that decided it; a metrics line ('a') only when
 * its hub has the agent's connection (a hub it dropped from may still
 * speak for it), and then also when that hub last heard it. */
static void
on_agent(const char *from, char kind, const char *p, const char *end,
    struct mc_buf *batch)
{
	struct head h;
	struct hub_agent *a;

	if (head_parse(p, end, &h) == -1)
		return;
	if ((a = hub_agent_find(h.name)) != NULL)
		hub_bus_live_heard_of(a, from, kind == 'A' || h.connected ?
		    h.status : NULL, h.connected ? h.heard : 0);
	else
		hub_db_find_learn(h.name);	/* enrolled elsewhere */
	if (a != NULL && a->conn != NULL)
		return;
	if (h.json == NULL) {
		remote_touch(h.name);
		return;
	}
	remote_keep(h.name, h.json, h.jlen);
	if (kind == 'A')
		ui_forward("agent", "agent", h.json, h.jlen);
	else if (hub_ui_count() > 0) {
		mc_buf_puts(batch, batch->len > 0 ? "," : "[");
		mc_buf_append(batch, h.json, h.jlen);
	}
}

/* An acknowledgement given through hub from. */
static void
on_ack(const char *from, const char *p, const char *end)
{
	char err[64];
	struct mc_jdoc *d = mc_json_parse(p, (size_t)(end - p), err,
	    sizeof(err));
	const struct mc_json *o = d ? mc_json_root(d) : NULL;
	const char *name = o ? mc_json_str(o, "agent") : NULL;
	const char *by = o ? mc_json_str(o, "by") : NULL;
	struct hub_agent *a = name ? hub_agent_find(name) : NULL;
	double at;

	if (a != NULL && by != NULL && mc_json_num(o, "at", &at) == 0)
		hub_alert_ack_elsewhere(a, by, at, from);
	mc_json_free(d);
}

/* The sending hub's name from the message's first line; 0 when it is a
 * hub other than this one. */
static int
msg_from(const char *data, size_t len, char *from, size_t size)
{
	char err[64];
	struct mc_jdoc *d = mc_json_parse(data, len, err, sizeof(err));
	const char *hub_name = d ? mc_json_str(mc_json_root(d), "hub") : NULL;
	int rc = -1;

	/* this hub's own messages come back too */
	if (hub_name != NULL && strcmp(hub_name, hub_bus_self()) != 0 &&
	    strlen(hub_name) < size) {
		mc_strlcpy(from, hub_name, size);
		rc = 0;
	}
	mc_json_free(d);
	return rc;
}

void
hub_bus_feed_on_message(const char *data, size_t len)
{
	const char *p = memchr(data, '\n', len), *end = data + len, *nl;
	struct mc_buf batch;
	char from[HUB_BUS_NAME_MAX + 1];

	if (p == NULL || msg_from(data, (size_t)(p - data), from,
	    sizeof(from)) == -1)
		return;
	fd.received++;
	mc_buf_init(&batch, HUB_BUS_MSG_MAX);
	for (p++; p + 2 < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (*p == 'A' || *p == 'a')
			on_agent(from, *p, p + 2, nl, &batch);
		else if (*p == 'e')
			ui_forward("event", "event", p + 2,
			    (size_t)(nl - p - 2));
		else if (*p == 'c')
			ui_forward("command", "command", p + 2,
			    (size_t)(nl - p - 2));
		else if (*p == 'k')
			on_ack(from, p + 2, nl);
	}
	if (batch.len > 0 && mc_buf_puts(&batch, "]") == 0)
		ui_forward("agents", "agents", batch.data, batch.len);
	mc_buf_free(&batch);
}

void
hub_bus_feed_cron(double now)
{
	struct remote **pp, *r;
	double ttl = remote_ttl();
	size_t i;

	if (fd.ndirty > 0 || fd.extra.len > 0) {
		if (fd.urgent || now - fd.last >= FEED_EVERY) {
			fd.last = now;
			flush();
		}
	}
	/* forget agents not heard of for long, a slice per tick */
	for (i = 0; i < FEED_SWEEP && fd.nremote > 0; i++) {
		pp = &fd.buckets[fd.sweep];
		while ((r = *pp) != NULL) {
			if (now - r->at < ttl) {
				pp = &r->hnext;
				continue;
			}
			*pp = r->hnext;
			free(r->line);
			free(r);
			fd.nremote--;
		}
		fd.sweep = (fd.sweep + 1) % FEED_BUCKETS;
	}
}

/* ---- the snapshot ---- */

int
hub_bus_feed_write_agent(struct mc_jw *w, const char *name,
    const struct hub_agent *a)
{
	const struct remote *r;

	/* a hub that went down last said "online" of the agents this hub
	 * has since found unheard */
	if (a != NULL && (a->conn != NULL || a->held_by == HUB_HELD_HERE))
		return 0;
	if (fd.nremote == 0 || (r = *remote_slot(name)) == NULL ||
	    mc_now() - r->at >= remote_ttl())
		return 0;
	mc_jw_raw(w, NULL, r->line, r->len);
	return 1;
}

void
hub_bus_feed_write_others(struct mc_jw *w)
{
	const struct remote *r;
	double now = mc_now(), ttl = remote_ttl();
	size_t i;

	for (i = 0; i < FEED_BUCKETS && fd.nremote > 0; i++)
		for (r = fd.buckets[i]; r != NULL; r = r->hnext)
			if (now - r->at < ttl && hub_agent_find(r->name) ==
			    NULL)
				mc_jw_raw(w, NULL, r->line, r->len);
}

void
hub_bus_feed_prom(struct mc_buf *b)
{
	static const struct {
		const char	*name, *type, *help;
	} fam[] = {
		{ "maestro_bus_feed_published_total", "counter", "Live feed "
		    "messages this hub published to the other hubs." },
		{ "maestro_bus_feed_received_total", "counter", "Live feed "
		    "messages this hub received from the other hubs." },
		{ "maestro_bus_remote_agents", "gauge", "Agents held by other "
		    "hubs whose state this hub keeps from their feed." },
	};
	uint64_t v[] = { fd.published, fd.received, fd.nremote };
	size_t i;

	for (i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		hub_prom_family(b, fam[i].name, fam[i].type, fam[i].help);
		mc_buf_printf(b, "%s %llu\n", fam[i].name,
		    (unsigned long long)v[i]);
	}
}

void
hub_bus_feed_free_all(void)
{
	struct remote *r, *next;
	size_t i;

	for (i = 0; i < FEED_BUCKETS; i++) {
		for (r = fd.buckets[i]; r != NULL; r = next) {
			next = r->hnext;
			free(r->line);
			free(r);
		}
		fd.buckets[i] = NULL;
	}
	fd.nremote = 0;
	free(fd.dirty);
	fd.dirty = NULL;
	fd.ndirty = fd.cap = 0;
	mc_buf_free(&fd.extra);
}
