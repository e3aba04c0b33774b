/*
 * hub_agent.c - the agent registry and the agent side of the protocol.
 *
 * Every agent the hub knows lives in memory (hash by name plus a list), so
 * authenticating a hello or recording a heartbeat costs O(1) and never
 * touches the disk; changes are queued to hub_db.  hub_agent_handle() takes
 * one complete message as bytes: it validates through mc_proto, then
 * dispatches through a table by message type.  A connection is bound to an
 * agent only by a good hello, and every later message acts on that agent
 * alone, so an agent can never act as another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hub_sql.h"
#include "mc_log.h"
#include "mc_util.h"

static struct {
	struct hub_agent **buckets;	/* owned array; agents owned via list */
	size_t		   nbuckets;
	size_t		   count;
	size_t		   connected;	/* agents with a conn */
	struct hub_agent  *head, *tail;
} reg;

static int
reg_grow(void)
{
	struct hub_agent **nb, *a;
	size_t n = reg.nbuckets ? reg.nbuckets * 2 : 64, i;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return -1;
	for (a = reg.head; a != NULL; a = a->next) {
		i = mc_hash_str(a->name) & (n - 1);
		a->hnext = nb[i];
		nb[i] = a;
	}
	free(reg.buckets);
	reg.buckets = nb;
	reg.nbuckets = n;
	return 0;
}

struct hub_agent *
hub_agent_find(const char *name)
{
	struct hub_agent *a;

	if (reg.nbuckets == 0)
		return NULL;
	for (a = reg.buckets[mc_hash_str(name) & (reg.nbuckets - 1)]; a != NULL;
	    a = a->hnext)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

struct hub_agent *
hub_agent_restore(int64_t id, const char *name, const char *cred_hash)
{
	struct hub_agent *a;
	size_t i;

	if (hub_agent_find(name) != NULL || reg.count >= MC_AGENTS_MAX)
		return NULL;
	if (reg.count + 1 > reg.nbuckets && reg_grow() == -1)
		return NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->id = id;
	mc_strlcpy(a->name, name, sizeof(a->name));
	mc_strlcpy(a->cred_hash, cred_hash, sizeof(a->cred_hash));
	a->status = ST_OFFLINE;
	hub_hw_clear(&a->g);
	i = mc_hash_str(name) & (reg.nbuckets - 1);
	a->hnext = reg.buckets[i];
	reg.buckets[i] = a;
	a->prev = reg.tail;
	if (reg.tail)
		reg.tail->next = a;
	else
		reg.head = a;
	reg.tail = a;
	reg.count++;
	return a;
}

struct hub_agent *
hub_agent_create(const char *name, const char *cred_hash)
{
	struct hub_agent *a;

	if ((a = hub_agent_restore(hub_db_next_id(HUB_SEQ_AGENTS), name,
	    cred_hash)) == NULL)
		return NULL;
	a->since = mc_wall();
	hub_backup_agents_changed();
	hub_db_exec("INSERT INTO agents(id, name, cred_hash, created, status,"
	    " since) VALUES (?, ?, ?, ?, 'offline', ?)", "ittdd", a->id,
	    a->name, a->cred_hash, a->since, a->since);
	return a;
}

struct hub_agent *
hub_agent_first(void)
{
	return reg.head;
}

size_t
hub_agent_count(void)
{
	return reg.count;
}

size_t
hub_agent_connected_count(void)
{
	return reg.connected;
}

void
hub_agent_free_all(void)
{
	struct hub_agent *a, *next;

	hub_alert_down_off();
	for (a = reg.head; a != NULL; a = next) {
		next = a->next;
		hub_ctr_free(a);
		free(a->metrics);
		free(a);
	}
	free(reg.buckets);
	memset(&reg, 0, sizeof(reg));
}

/* ---- hello ---- */

static void
agent_take_facts(struct hub_agent *a, const struct mc_hello *h)
{
	struct mc_buf tags;
	int i, same = a->ntags == h->ntags;

	for (i = 0; same && i < h->ntags; i++)
		same = strcmp(a->tags[i], h->tags[i]) == 0;
	if (!same)
		hub_backup_agents_changed();
	mc_strlcpy(a->hostname, h->hostname, sizeof(a->hostname));
	mc_strlcpy(a->os, h->os, sizeof(a->os));
	mc_strlcpy(a->kernel, h->kernel, sizeof(a->kernel));
	mc_strlcpy(a->arch, h->arch, sizeof(a->arch));
	mc_strlcpy(a->version, h->version, sizeof(a->version));
	a->cpus = h->cpus;
	a->mem_total = h->mem_total;
	a->ntags = h->ntags;
	/* stored comma-joined: a tag never holds a comma */
	mc_buf_init(&tags, MC_TAGS_MAX * (MC_TAG_MAX + 1));
	for (i = 0; i < h->ntags; i++) {
		memcpy(a->tags[i], h->tags[i], sizeof(a->tags[i]));
		mc_buf_printf(&tags, "%s%s", i ? "," : "", h->tags[i]);
	}
	hub_db_exec("UPDATE agents SET hostname = ?, os = ?, kernel = ?,"
	    " arch = ?, version = ?, cpus = ?, mem_total = ?, tags = ?"
	    " WHERE id = ?", "tttttiiti", a->hostname, a->os, a->kernel,
	    a->arch, a->version, (int64_t)a->cpus, (int64_t)a->mem_total,
	    tags.data ? tags.data : "", a->id);
	mc_buf_free(&tags);
}

/* What it says it trusts: shown to operators, so that hubctl and the
 * dashboard know whether to sign; in memory only (every hello repeats
 * it). */
static void
agent_take_trust(struct hub_agent *a, const struct mc_hello *h)
{
	int i;

	a->ntrust = h->ntrust;
	for (i = 0; i < h->ntrust; i++)
		mc_strlcpy(a->trust[i], h->trust[i], sizeof(a->trust[i]));
	a->require_signed = h->require_signed;
}

/* Enrollment: a valid key and a free name make a new agent with its own
 * credential, returned in cred (shown to this agent once). */
static struct hub_agent *
agent_enroll(struct hub_conn *c, const struct mc_hello *h, char *cred,
    size_t credlen)
{
	char why[MC_TEXT_MAX], hash[MC_SHA256_HEX];
	struct hub_db_health st;
	struct hub_agent *a;

	/* a new agent's credential that is not on disk would be lost with
	 * the next restart; the listener tries again after its backoff */
	hub_db_health(&st);
	if (st.failing) {
		hub_conn_fail(c, 1013, MC_ERR_UNAVAILABLE, "the hub cannot "
		    "store a new agent now (%s); try again later", st.reason);
		return NULL;
	}
	if (hub_agent_find(h->name) != NULL) {
		hub_conn_fail(c, 1008, MC_ERR_NAME_TAKEN, "agent name '%s' is "
		    "already enrolled; start the listener with that agent's "
		    "credential, or pick another --name", h->name);
		return NULL;
	}
	if (hub_agent_count() >= MC_AGENTS_MAX) {
		hub_conn_fail(c, 1008, MC_ERR_ENROLL, "the hub holds its "
		    "maximum of %d agents", MC_AGENTS_MAX);
		return NULL;
	}
	if (!hub_db_id_ready(HUB_SEQ_AGENTS)) {
		/* before the key is used: the listener retries */
		hub_conn_fail(c, 1013, MC_ERR_UNAVAILABLE, "the store has not "
		    "given this hub agent ids yet; try again");
		return NULL;
	}
	if (hub_auth_use_key(h->enroll_key, why, sizeof(why)) == NULL) {
		hub_conn_fail(c, 1008, MC_ERR_ENROLL, "%s", why);
		return NULL;
	}
	if (credlen < 65 || mc_random_hex(cred, 32) == -1) {
		hub_conn_fail(c, 1011, MC_ERR_ENROLL, "no randomness for a "
		    "credential");
		return NULL;
	}
	mc_sha256_hex(cred, strlen(cred), hash);
	if ((a = hub_agent_create(h->name, hash)) == NULL) {
		hub_conn_fail(c, 1011, MC_ERR_ENROLL, "cannot create the agent");
		return NULL;
	}
	mc_info("%s: enrolled new agent '%s'", c->peer, a->name);
	return a;
}

static struct hub_agent *
agent_login(struct hub_conn *c, const struct mc_hello *h)
{
	struct hub_agent *a = hub_agent_find(h->name);
	char hash[MC_SHA256_HEX];

	mc_sha256_hex(h->cred, strlen(h->cred), hash);
	if (a == NULL) {
		hub_conn_fail(c, 1008, MC_ERR_AUTH, "unknown agent '%s'; enroll "
		    "it with --enroll-key (hubctl enroll-key create)", h->name);
		return NULL;
	}
	if (!mc_secret_eq(hash, a->cred_hash)) {
		hub_conn_fail(c, 1008, MC_ERR_AUTH, "credential does not match "
		    "agent '%s'", h->name);
		return NULL;
	}
	return a;
}

static void
agent_bind(struct hub_conn *c, struct hub_agent *a)
{
	struct hub_conn *old = a->conn;

	if (old != NULL && old != c) {
		hub_conn_fail(old, 1000, MC_ERR_REPLACED, "a newer connection "
		    "of agent '%s' took over", a->name);
		old->agent = NULL;
	}
	reg.connected += old == NULL;
	a->conn = c;
	c->agent = a;
}

/* What a welcome needs once the agent's row is committed. */
struct welcome_job {
	char	 name[MC_NAME_MAX + 1];
	char	 cred[MC_SECRET_MAX];	/* shown to this agent once */
	char	 boot[MC_ID_MAX];
	int	 npending;
	char	 pending[MC_PENDING_MAX][MC_ID_MAX];
};

static void
agent_welcome(struct hub_conn *c, struct hub_agent *a,
    const struct welcome_job *j)
{
	const char *pending[MC_PENDING_MAX];
	struct mc_welcome w;
	struct mc_buf b;
	int i;

	agent_bind(c, a);
	hub_live_seen(a);
	hub_bus_hold_attach(a);
	hub_ui_agent(a, 0);
	mc_info("%s: agent '%s' connected (%s, %s)", c->peer, a->name,
	    a->hostname, a->version);
	/* welcome goes out before any command queued for the agent */
	memset(&w, 0, sizeof(w));
	w.v = MC_PROTO_VERSION;
	mc_strlcpy(w.name, a->name, sizeof(w.name));
	w.hb = hub.conf.heartbeat;
	w.out_at = 1;
	mc_strlcpy(w.cred, j->cred, sizeof(w.cred));
	mc_buf_init(&b, 4096);
	if (mc_welcome_encode(&b, &w) == 0)
		hub_conn_send(c, b.data, b.len);
	mc_buf_free(&b);
	for (i = 0; i < j->npending; i++)
		pending[i] = j->pending[i];
	hub_cmd_on_hello(a, j->boot, pending, j->npending);
}

/*
 * A new agent's credential goes out only once its row is committed: a
 * listener that kept a credential the hub then lost (kill -9 of the hub
 * between the two) could never come back.  Until then the connection is
 * the agent's (a second hello is refused) but not bound to it, so no
 * command reaches it before its welcome.
 */
static void
enrolled_done(void *arg, int stored)
{
	struct welcome_job *j = arg;	/* owned here */
	struct hub_agent *a = hub_agent_find(j->name);
	struct hub_conn *c = a != NULL ? a->enrolling : NULL;

	if (c != NULL) {
		a->enrolling = NULL;
		if (stored)
			agent_welcome(c, a, j);
		else
			hub_conn_fail(c, 1013, MC_ERR_UNAVAILABLE, "the hub "
			    "could not store the new agent '%s'; ask for a "
			    "new enrollment key", j->name);
	}
	explicit_bzero(j->cred, sizeof(j->cred));
	free(j);
}

/* A returning agent's commands that another hub of the store sent are
 * taken over before the welcome (hub_cmd_adopt.c): the results the
 * listener sends again after it then find their command here. */
static void
adopted_done(void *arg, int stored)
{
	struct welcome_job *j = arg;	/* owned here */
	struct hub_agent *a = hub_agent_find(j->name);
	struct hub_conn *c = a != NULL ? a->enrolling : NULL;

	(void)stored;
	if (c != NULL) {
		a->enrolling = NULL;
		agent_welcome(c, a, j);
	}
	free(j);
}

static int
adopt_first(struct hub_conn *c, struct hub_agent *a, struct welcome_job *j)
{
	const char *pending[MC_PENDING_MAX];
	int i;

	for (i = 0; i < j->npending; i++)
		pending[i] = j->pending[i];
	if (hub_cmd_adopt(a->name, pending, j->npending, adopted_done,
	    j) == -1)
		return -1;
	c->agent = a;
	a->enrolling = c;
	return 0;
}

static struct welcome_job *
welcome_job(const struct mc_hello *h, const char *cred)
{
	struct welcome_job *j = calloc(1, sizeof(*j));
	int i;

	if (j == NULL)
		return NULL;
	mc_strlcpy(j->name, h->name, sizeof(j->name));
	mc_strlcpy(j->cred, cred, sizeof(j->cred));
	mc_strlcpy(j->boot, h->boot, sizeof(j->boot));
	j->npending = h->npending;
	for (i = 0; i < h->npending; i++)
		mc_strlcpy(j->pending[i], h->pending[i], sizeof(j->pending[i]));
	return j;
}

static void
on_hello(struct hub_conn *c, const struct mc_msg *m)
{
	char err[MC_TEXT_MAX];
	struct mc_hello h;

	if (mc_hello_decode(m, &h, err, sizeof(err)) == -1) {
		hub_conn_fail(c, 1007, MC_ERR_BAD_MESSAGE, "hello: %s", err);
		return;
	}
	if (h.v != MC_PROTO_VERSION) {
		hub_conn_fail(c, 1008, MC_ERR_VERSION, "protocol version %d is "
		    "not supported; this hub speaks %d (upgrade the older "
		    "side)", h.v, MC_PROTO_VERSION);
		return;
	}
	/* enrolled through another hub of the same store: look first */
	if (h.cred[0] && hub_agent_find(h.name) == NULL &&
	    hub_db_find_agent(c, &h) == 0) {
		explicit_bzero(&h, sizeof(h));
		return;
	}
	hub_agent_hello_go(c, &h);
	explicit_bzero(&h, sizeof(h));
}

void
hub_agent_hello_go(struct hub_conn *c, const struct mc_hello *h)
{
	char cred[MC_SECRET_MAX] = "";
	struct welcome_job *j;
	struct hub_agent *a;

	if (h->cred[0])
		a = agent_login(c, h);
	else if (h->enroll_key[0])
		a = agent_enroll(c, h, cred, sizeof(cred));
	else {
		hub_conn_fail(c, 1008, MC_ERR_AUTH, "hello carries neither "
		    "cred nor enroll_key");
		return;
	}
	if (a == NULL)
		return;
	agent_take_facts(a, h);
	a->caps = h->caps;
	hub_roll_on_hello(a, h->update_version, h->update_error);
	agent_take_trust(a, h);
	j = welcome_job(h, cred);
	explicit_bzero(cred, sizeof(cred));
	if (j == NULL) {
		hub_conn_fail(c, 1011, MC_ERR_UNAVAILABLE, "out of memory");
		return;
	}
	if (j->cred[0] == '\0') {
		if (adopt_first(c, a, j) == 0)
			return;
		agent_welcome(c, a, j);
		free(j);
		return;
	}
	c->agent = a;
	a->enrolling = c;
	hub_db_call(NULL, enrolled_done, j);
}

/* ---- the other messages ---- */

/*
 * The design's KPI is a heartbeat miss rate under 0.1 %: a heartbeat that
 * comes more than 1.5 intervals after the last sign of life (the same
 * threshold that makes an agent late) stands for the ones that did not
 * come.  missed / (missed + received) is the rate.
 */
static void
count_missed(const struct hub_agent *a)
{
	double hb = hub.conf.heartbeat, gap = mc_now() - a->last_hb;

	if (gap > 1.5 * hb)
		hub.stats.hb_missed += (uint64_t)(gap / hb + 0.5) - 1;
}

/*
 * A heartbeat with a field the protocol does not accept (a CPU share over
 * 100, a count of the wrong type) is a sign of life all the same: closing
 * the connection would make a machine with one broken sensor look dead
 * and reconnect every heartbeat.  Its metrics are dropped, the previous
 * ones stay, and the listener is told without closing.
 */
static void
on_hb(struct hub_conn *c, const struct mc_msg *m)
{
	struct hub_agent *a = c->agent;
	char err[MC_TEXT_MAX];
	struct mc_hb hb;
	int ok = mc_hb_decode(m, &hb, err, sizeof(err)) == 0;

	if (!ok) {
		hub.stats.hb_bad++;
		hub_conn_warn(c, MC_ERR_BAD_MESSAGE, "hb: %s; its metrics "
		    "were dropped (the previous ones stay)", err);
	} else if (hub_agent_metrics_keep(a, &hb.m) == -1) {
		mc_err("agent '%s': out of memory for its metrics; the "
		    "previous ones stay", a->name);
	}
	if (hub_ctr_on_hb(a, m, err, sizeof(err)) == -1) {
		hub.stats.hb_bad += ok;	/* counted once */
		hub_conn_warn(c, MC_ERR_BAD_MESSAGE, "hb: %s; its container "
		    "part was dropped (the previous table stays)", err);
	}
	hub.stats.heartbeats++;
	count_missed(a);
	hub_live_seen(a);
	hub_bus_hold_seen(a);
	if (ok) {
		hub_rules_on_hb(a, &hb.m);
		hub_series_sample(a);
	}
	hub_ui_agent(a, 0);
}

static void
on_started(struct hub_conn *c, const struct mc_msg *m)
{
	char err[MC_TEXT_MAX];
	struct mc_started s;

	if (mc_started_decode(m, &s, err, sizeof(err)) == -1) {
		hub_conn_fail(c, 1007, MC_ERR_BAD_MESSAGE, "started: %s", err);
		return;
	}
	hub_cmd_on_started(c->agent, &s);
}

static void
on_out(struct hub_conn *c, const struct mc_msg *m)
{
	char err[MC_TEXT_MAX];
	struct mc_out o;

	if (mc_out_decode(m, &o, err, sizeof(err)) == -1) {
		hub_conn_fail(c, 1007, MC_ERR_BAD_MESSAGE, "out: %s", err);
		return;
	}
	hub_cmd_on_out(c->agent, &o);
}

static void
on_result(struct hub_conn *c, const struct mc_msg *m)
{
	char err[MC_TEXT_MAX];
	struct mc_result r;

	if (mc_result_decode(m, &r, err, sizeof(err)) == -1) {
		hub_conn_fail(c, 1007, MC_ERR_BAD_MESSAGE, "result: %s", err);
		return;
	}
	hub_cmd_on_result(c, &r);
}

static void
on_blob(struct hub_conn *c, const struct mc_msg *m)
{
	static unsigned char piece[MC_BLOB_CHUNK];
	char err[MC_TEXT_MAX];
	struct mc_blob b;

	if (mc_blob_decode(m, &b, piece, err, sizeof(err)) == -1) {
		hub_conn_fail(c, 1007, MC_ERR_BAD_MESSAGE, "%s", err);
		return;
	}
	hub_cmd_on_blob(c->agent, &b);
}

static void
on_bye(struct hub_conn *c, const struct mc_msg *m)
{
	char err[MC_TEXT_MAX];
	struct mc_bye b;

	if (mc_bye_decode(m, &b, err, sizeof(err)) == -1) {
		hub_conn_fail(c, 1007, MC_ERR_BAD_MESSAGE, "bye: %s", err);
		return;
	}
	mc_info("%s: agent '%s' says goodbye (%s)", c->peer, c->agent->name,
	    b.reason);
	hub_live_bye(c->agent, b.reason);
}

typedef void (*agent_handler)(struct hub_conn *, const struct mc_msg *);

static const agent_handler handlers[MC_MSG_COUNT] = {
	[MC_MSG_HELLO] = on_hello,
	[MC_MSG_HB] = on_hb,
	[MC_MSG_STARTED] = on_started,
	[MC_MSG_OUT] = on_out,
	[MC_MSG_RESULT] = on_result,
	[MC_MSG_BYE] = on_bye,
	[MC_MSG_BLOB] = on_blob,
	[MC_MSG_TERM_STARTED] = hub_term_agent_msg,
	[MC_MSG_TERM_END] = hub_term_agent_msg,
	[MC_MSG_TERM_INACK] = hub_term_agent_msg,
};

void
hub_agent_handle(struct hub_conn *c, const char *buf, size_t len)
{
	char err[MC_TEXT_MAX];
	const char *code;
	struct mc_msg m;

	if (c->closing)
		return;
	hub.stats.agent_msgs++;
	if (mc_msg_parse(&m, MC_TO_HUB, buf, len, &code, err,
	    sizeof(err)) == -1) {
		hub_conn_fail(c, 1007, code, "%s", err);
		return;
	}
	if (c->agent == NULL && m.type != MC_MSG_HELLO)
		hub_conn_fail(c, 1008, MC_ERR_NOT_HELLO, "'%s' before hello; "
		    "the first message must be hello", mc_msg_name(m.type));
	else if (c->agent != NULL && m.type == MC_MSG_HELLO)
		hub_conn_fail(c, 1007, MC_ERR_BAD_MESSAGE, "a second hello on "
		    "one connection");
	else
		handlers[m.type](c, &m);
	mc_msg_free(&m);
}

void
hub_agent_detach(struct hub_conn *c)
{
	struct hub_agent *a = c->agent;

	if (a == NULL)
		return;
	c->agent = NULL;
	if (a->enrolling == c)
		a->enrolling = NULL;
	if (a->conn != c)
		return;
	a->conn = NULL;
	reg.connected--;
	hub_ctr_detach(a);
	mc_info("%s: agent '%s' disconnected (status %s)", c->peer, a->name,
	    hub_status_name(a->status));
	hub_ui_agent(a, 0);
	hub_bus_hold_detach(a);
}

int
hub_agent_has_tag(const struct hub_agent *a, const char *tag)
{
	int i;

	for (i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i], tag) == 0)
			return 1;
	return hub_gitcfg_has_tag(a->name, tag);
}
