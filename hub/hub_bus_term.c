/*
 * hub_bus_term.c - a terminal (/ws/term: hubctl term, the dashboard) on
 * an agent another hub holds: the session runs at that hub, its bytes
 * travel over the bus.
 *
 * At the hub the client signed in to (the asker): the token and its role
 * are checked as for any session (hub_term_client.c), then the auth's
 * agent, size and signed envelope (its three strings as they came) go
 * to the agent's holder in one round trip (the link thread's send:
 * lookup and publish), as {"t":"topen","tid":N,"from":HUB,"agent":...,
 * "user":...,"cols":...,"rows":...,"signed":{...}}.  Nobody holds the
 * agent: the client is refused as before (not_found, offline); Redis
 * down: bus_unreachable.  Then the client's keystrokes, resizes and
 * close go as {"t":"tin","tid":N,"from":HUB,"bin":B64} or "text", and
 * the holder's {"t":"tout","tid":N,"bin"|"text"} are queued to the
 * client as they are (an "end" or "error" closes it after);
 * {"t":"tgone"} ends the relay.
 * At the holder: a client with no socket (a hub_conn with bus set)
 * opens the session through the same code as a local client, as the
 * asker's user (the bus is trusted: docs/operations.md), so the agent's
 * checks, the recording and the windows are the same; what the session
 * queues to that client is taken off its queue on the next loop turn
 * (the queue wakes the loop; hub_bus_term_pump()) and published, and
 * taking it opens the output window as a socket's write would.  So the
 * window towards the agent is kept, but not towards the far client:
 * the asker's queue to it is bounded (MC_PEER_QUEUE_MAX) and a client
 * that does not read is dropped there.  Input past the agent's window
 * is dropped at the holder (with a warning) rather than paused.
 * A hub that goes down ends the sessions it ran for others (at the
 * asker: end "hub_down") and those it relayed (at the holder: closed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_bus.h"
#include "mc_log.h"
#include "mc_term.h"
#include "mc_util.h"

#define TERM_OPEN_TIMEOUT	5.0	/* seconds for the holder's first
					 * word */
#define TERM_PIECE		(MC_TERM_CHUNK + 16)	/* a frame, decoded */

/* At the asker: a client whose session runs at another hub. */
struct relay {
	uint64_t	 tid;
	struct hub_conn	*client;	/* not owned */
	char		 agent[MC_NAME_MAX + 1];
	char		 holder[HUB_BUS_NAME_MAX + 1];	/* "" until known */
	int		 heard;		/* the holder sent something */
	double		 deadline;	/* monotonic, while !heard */
	struct relay	*next;
};

/* At the holder: another hub's client. */
struct remote {
	char		 from[HUB_BUS_NAME_MAX + 1];
	uint64_t	 tid;
	struct hub_conn	*conn;		/* owned: the client with no socket */
	struct hub_token tok;		/* the asker's user, for the session */
	struct remote	*next;
};

static struct {
	struct relay	*relays;	/* owned */
	struct remote	*remotes;	/* owned */
	uint64_t	 next_tid;
} bt;

static int
publish(const char *to, struct mc_buf *b, struct mc_jw *w)
{
	char chan[HUB_BUS_CHAN_MAX];

	mc_jw_obj_end(w);
	hub_bus_chan_to(chan, sizeof(chan), to);
	return mc_jw_done(w) == 0 && hub_bus_link_queue(LINK_PUB, chan,
	    b->data, b->len, NULL, NULL) == 0 ? 0 : -1;
}

/* {"t":T,"tid":N,"from":this hub, then the caller's fields. */
static void
msg_begin(struct mc_buf *b, struct mc_jw *w, const char *t, uint64_t tid,
    size_t room)
{
	mc_buf_init(b, room + 4096);
	mc_jw_init(w, b);
	mc_jw_obj(w, NULL);
	mc_jw_str(w, "t", t);
	mc_jw_u64(w, "tid", tid);
	mc_jw_str(w, "from", hub_bus_self());
}

/* "bin" (base64) or "text". */
static void
data_write(struct mc_jw *w, int binary, const void *p, size_t n)
{
	struct mc_buf tmp;

	if (!binary) {
		mc_jw_strn(w, "text", p, n);
		return;
	}
	mc_buf_init(&tmp, n * 2 + 8);
	if (mc_b64_encode(&tmp, p, n) == 0)
		mc_jw_strn(w, "bin", tmp.data, tmp.len);
	mc_buf_free(&tmp);
}

/* ---- the asker ---- */

static struct relay *
relay_find(uint64_t tid)
{
	struct relay *r;

	for (r = bt.relays; r != NULL; r = r->next)
		if (r->tid == tid)
			return r;
	return NULL;
}

static void
relay_free(struct relay *r)
{
	struct relay **pp;

	for (pp = &bt.relays; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			free(r);
			return;
		}
}

/* The holder is not known: refuse as a local session would be. */
static void
open_here(struct relay *r)
{
	const struct hub_agent *a = hub_agent_find(r->agent);
	char msg[MC_TEXT_MAX];

	if (a == NULL) {
		snprintf(msg, sizeof(msg), "no agent '%.64s'", r->agent);
		hub_tclient_refuse(r->client, "not_found", msg);
	} else {
		snprintf(msg, sizeof(msg), "agent '%s' is not connected (%s)",
		    a->name, hub_status_name(a->status));
		hub_tclient_refuse(r->client, "offline", msg);
	}
}

static void
open_sent(void *arg, const struct hub_link_res *res)
{
	struct relay *r = relay_find((uint64_t)(uintptr_t)arg);
	struct hub_bus_holder h;
	char msg[MC_TEXT_MAX + HUB_BUS_ERR_MAX];

	if (r == NULL || r->client == NULL)
		return;
	if (!res->ok) {
		snprintf(msg, sizeof(msg), "agent '%s' is not connected to "
		    "this hub and %s", r->agent, res->err);
		hub_tclient_refuse(r->client, "bus_unreachable", msg);
	} else if (res->data == NULL || res->n <= 0 ||
	    hub_bus_hold_parse(res->data, &h) == -1)
		open_here(r);
	else {
		mc_strlcpy(r->holder, h.hub, sizeof(r->holder));
		mc_info("terminal: %s's session on '%s' runs at hub %s",
		    r->client->peer, r->agent, h.hub);
	}
}

/* The auth's "signed" envelope, its strings as they came. */
static void
signed_copy(struct mc_jw *w, const struct mc_json *o)
{
	const struct mc_json *e = mc_json_get(o, "signed");
	static const char *const keys[] = { "payload", "key", "sig" };
	size_t i;

	if (e == NULL || e->type != MC_JOBJ)
		return;
	mc_jw_obj(w, "signed");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (mc_json_str(e, keys[i]) != NULL)
			mc_jw_str(w, keys[i], mc_json_str(e, keys[i]));
	mc_jw_obj_end(w);
}

uint64_t
hub_bus_term_route(struct hub_conn *c, const struct mc_json *o,
    const char *user, int cols, int rows)
{
	const char *name = mc_json_str(o, "agent");
	char key[sizeof(HUB_BUS_HOLD_KEY) + MC_NAME_MAX];
	const struct hub_agent *a;
	struct relay *r;
	struct mc_buf b;
	struct mc_jw w;

	if (hub_bus_self()[0] == '\0' || name == NULL ||
	    strlen(name) > MC_NAME_MAX ||
	    ((a = hub_agent_find(name)) != NULL && a->conn != NULL) ||
	    (r = calloc(1, sizeof(*r))) == NULL)	/* owned by bt */
		return 0;
	r->tid = ++bt.next_tid;
	r->client = c;
	mc_strlcpy(r->agent, name, sizeof(r->agent));
	r->deadline = mc_now() + TERM_OPEN_TIMEOUT;
	r->next = bt.relays;
	bt.relays = r;
	msg_begin(&b, &w, "topen", r->tid, 4096);
	mc_jw_str(&w, "agent", name);
	mc_jw_str(&w, "user", user);
	mc_jw_i64(&w, "cols", cols);
	mc_jw_i64(&w, "rows", rows);
	signed_copy(&w, o);
	mc_jw_obj_end(&w);
	snprintf(key, sizeof(key), HUB_BUS_HOLD_KEY "%s", name);
	if (mc_jw_done(&w) == -1 || hub_bus_link_queue(LINK_SEND, key, b.data,
	    b.len, open_sent, (void *)(uintptr_t)r->tid) == -1)
		hub_tclient_refuse(c, "bus_unreachable", "the bus's queue is "
		    "full");
	mc_buf_free(&b);
	return r->tid;
}

void
hub_bus_term_send(uint64_t rid, int binary, const void *p, size_t n)
{
	struct relay *r = relay_find(rid);
	struct mc_buf b;
	struct mc_jw w;

	if (r == NULL || r->holder[0] == '\0') {
		mc_debug("terminal: input before the session is open dropped");
		return;
	}
	msg_begin(&b, &w, "tin", rid, n * 2);
	data_write(&w, binary, p, n);
	if (publish(r->holder, &b, &w) == -1)
		mc_warn("terminal: input for '%s' at hub %s not sent",
		    r->agent, r->holder);
	mc_buf_free(&b);
}

void
hub_bus_term_gone(uint64_t rid)
{
	struct relay *r = relay_find(rid);
	struct mc_buf b;
	struct mc_jw w;

	if (r == NULL)
		return;
	if (r->holder[0] != '\0') {
		msg_begin(&b, &w, "tclose", rid, 0);
		publish(r->holder, &b, &w);
		mc_buf_free(&b);
	}
	relay_free(r);
}

/* The holder's output (or its end) for a relayed client. */
static void
on_tout(const struct mc_json *o, int gone)
{
	const char *text = mc_json_str(o, "text"), *bin = mc_json_str(o,
	    "bin"), *t;
	char *buf;	/* owned */
	struct relay *r;
	int64_t tid;
	long n;

	if (mc_json_int(o, "tid", 1, INT64_MAX, &tid) == -1 ||
	    (r = relay_find((uint64_t)tid)) == NULL || r->client == NULL)
		return;
	r->heard = 1;
	if (gone) {
		hub_tclient_close(r->client, 1000);
		return;
	}
	if (text != NULL) {
		hub_conn_send(r->client, text, strlen(text));
		t = strstr(text, "\"t\":\"");
		if (t != NULL && (strncmp(t + 5, "end\"", 4) == 0 ||
		    strncmp(t + 5, "error\"", 6) == 0))
			hub_tclient_close(r->client, t[5] == 'e' && t[6] ==
			    'n' ? 1000 : 1008);
	} else if (bin != NULL && (buf = malloc(TERM_PIECE)) != NULL) {
		if ((n = mc_b64_decode(bin, strlen(bin), buf, TERM_PIECE)) >= 0)
			hub_conn_send_bin(r->client, NULL, 0, buf, (size_t)n);
		free(buf);
	}
}

/* ---- the holder ---- */

static struct remote *
remote_find(const char *from, uint64_t tid)
{
	struct remote *m;

	for (m = bt.remotes; m != NULL; m = m->next)
		if (m->tid == tid && strcmp(m->from, from) == 0)
			return m;
	return NULL;
}

static void
remote_free(struct remote *m)
{
	struct remote **pp;

	for (pp = &bt.remotes; *pp != NULL; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	hub_conn_destroy(m->conn);	/* ends its session, if any */
	free(m->conn);
	free(m);
}

static void
on_topen(const struct mc_json *o, const char *from, uint64_t tid)
{
	const char *user = mc_json_str(o, "user");
	struct remote *m;

	if (user == NULL || strlen(user) > MC_NAME_MAX ||
	    remote_find(from, tid) != NULL ||
	    (m = calloc(1, sizeof(*m))) == NULL)	/* owned by bt */
		return;
	if ((m->conn = calloc(1, sizeof(*m->conn))) == NULL) {
		free(m);
		return;
	}
	mc_strlcpy(m->from, from, sizeof(m->from));
	m->tid = tid;
	mc_strlcpy(m->tok.id, "bus", sizeof(m->tok.id));
	mc_strlcpy(m->tok.name, user, sizeof(m->tok.name));
	m->tok.role = ROLE_OPERATOR;	/* checked at the asker */
	hub_conn_init(m->conn, NULL, CONN_TERM);
	m->conn->bus = 1;
	snprintf(m->conn->peer, sizeof(m->conn->peer), "hub %s", from);
	m->next = bt.remotes;
	bt.remotes = m;
	hub_term_client_open(m->conn);
	if (m->conn->tclient == NULL)
		m->conn->closing = 1;	/* out of memory: gone at the pump */
	hub_term_client_bus_open(m->conn, &m->tok, o);
	hub_bus_term_pump();
}

static void
on_tin(const struct mc_json *o, struct remote *m)
{
	const char *text = mc_json_str(o, "text"), *bin = mc_json_str(o,
	    "bin");
	char *buf;	/* owned */
	long n;

	if (text != NULL)
		hub_term_client_receive(m->conn, text, strlen(text), 1, 0);
	else if (bin != NULL && (buf = malloc(TERM_PIECE)) != NULL) {
		if ((n = mc_b64_decode(bin, strlen(bin), buf, TERM_PIECE)) >= 0)
			hub_term_client_receive(m->conn, buf, (size_t)n, 1, 1);
		free(buf);
	}
}

/* What one remote client was given, published; 1 when it is done. */
static int
pump_one(struct remote *m)
{
	unsigned char *p;
	struct mc_buf b;
	struct mc_jw w;
	size_t n;
	int binary;

	while (hub_conn_peek(m->conn, &p, &n, &binary) == 0) {
		msg_begin(&b, &w, "tout", m->tid, n * 2);
		data_write(&w, binary, p, n);
		publish(m->from, &b, &w);
		mc_buf_free(&b);
		hub_conn_pop(m->conn);	/* opens the output window */
	}
	if (!m->conn->closing)
		return 0;
	msg_begin(&b, &w, "tgone", m->tid, 0);
	publish(m->from, &b, &w);
	mc_buf_free(&b);
	return 1;
}

void
hub_bus_term_pump(void)
{
	struct remote *m, *next;

	for (m = bt.remotes; m != NULL; m = next) {
		next = m->next;
		if (pump_one(m))
			remote_free(m);
	}
}

void
hub_bus_term_on_message(const struct mc_json *o, const char *t)
{
	const char *from = mc_json_str(o, "from");
	struct remote *m;
	int64_t tid;

	if (from == NULL || !hub_bus_name_valid(from) ||
	    mc_json_int(o, "tid", 1, INT64_MAX, &tid) == -1)
		return;
	if (strcmp(t, "tout") == 0 || strcmp(t, "tgone") == 0) {
		on_tout(o, t[1] == 'g');
		return;
	}
	if (strcmp(t, "topen") == 0) {
		on_topen(o, from, (uint64_t)tid);
		return;
	}
	if ((m = remote_find(from, (uint64_t)tid)) == NULL)
		return;
	if (strcmp(t, "tin") == 0)
		on_tin(o, m);
	else if (strcmp(t, "tclose") == 0)
		remote_free(m);
	hub_bus_term_pump();
}

/* ---- both ---- */

void
hub_bus_term_cron(double now)
{
	struct relay *r, *next;

	hub_bus_term_pump();
	for (r = bt.relays; r != NULL; r = next) {
		next = r->next;
		if (r->client != NULL && !r->heard && now >= r->deadline &&
		    !r->client->closing) {
			r->heard = 1;
			hub_tclient_refuse(r->client, "hub_timeout", "the hub "
			    "that holds the agent did not open the session in "
			    "time");
		}
	}
}

void
hub_bus_term_hub_down(const char *name)
{
	struct remote *m, *mnext;
	struct relay *r;

	for (r = bt.relays; r != NULL; r = r->next)
		if (r->client != NULL && strcmp(r->holder, name) == 0 &&
		    !r->client->closing)
			hub_tclient_refuse(r->client, "hub_down", "the hub "
			    "that held the agent went down");
	for (m = bt.remotes; m != NULL; m = mnext) {
		mnext = m->next;
		if (strcmp(m->from, name) == 0)
			remote_free(m);
	}
}

void
hub_bus_term_free_all(void)
{
	struct relay *r, *next;

	while (bt.remotes != NULL)
		remote_free(bt.remotes);
	for (r = bt.relays; r != NULL; r = next) {
		next = r->next;
		free(r);
	}
	bt.relays = NULL;
}
