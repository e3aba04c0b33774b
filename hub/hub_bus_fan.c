/*
 * hub_bus_fan.c - a fan-out (POST /api/commands, hubctl send --tag or
 * --all) in a cluster reaches the agents every hub holds.
 *
 * At the hub that got the request (the asker): the request is read and
 * checked as without a bus (a 400 is answered here); the agents connected
 * here, and those no hub that is up holds (offline: an error entry, or
 * queued), are answered here (hub_api_cmd.c asks hub_bus_fan_here()); an
 * agent another hub holds (that hub's feed says so: hub_agent.held_by) is
 * left to it.  The request then goes, as it came, to every other hub that
 * is up: {"t":"fan","rid":N,"from":HUB,"by":TOKEN-NAME,"body":TEXT}.
 * Each runs it through the same handler for the agents connected to it
 * only, and answers {"t":"fanrep","rid":N,"hub":H,"status":S,"body":TEXT,
 * "cmds":[{"cmd":{...},"cap":N},...]}: its answer as the API gives it,
 * and each command it accepted, of which the asker keeps a shadow fed by
 * the runner's progress (hub_bus_cmd.c), so GET /api/commands/ID, its
 * stream and hubctl's fan-out follow it at the asker.  Once every hub
 * asked has answered, or FAN_TIMEOUT has passed, the asker answers 202
 * with every entry: its own, the others' (rewritten field by field), and
 * for each agent it left to a hub that did not report it, an error that
 * names that hub.
 * Bounds: FAN_PENDING_MAX fan-outs wait at once (then 503); a request
 * over HUB_BUS_MSG_MAX (a signed fan-out of thousands of envelopes) is
 * not passed on: the agents left to other hubs get an error saying so;
 * a runner's answer carries the shadows of the commands it accepted
 * while it stays under FAN_REP_MAX, the rest are followed through the
 * shared store (GET /api/commands/ID) rather than live.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_api.h"
#include "hub_bus.h"
#include "mc_log.h"
#include "mc_util.h"

#define FAN_PENDING_MAX	64
#define FAN_TIMEOUT	5.0		/* seconds for every hub's part */
#define FAN_REP_MAX	(3 * 1024 * 1024)	/* bytes of a runner's
						 * answer with shadows */

/* An agent left to the hub that holds it. */
struct left {
	char		 name[MC_NAME_MAX + 1];
	uint8_t		 hub;		/* hub_agent.held_by */
	uint8_t		 reported;	/* some hub answered for it */
};

/* One fan-out: the asker's (its answer, written as the parts come) or a
 * runner's (the commands accepted here, for the shadows). */
struct hub_fan {
	int		 remote;	/* a runner's part */
	uint64_t	 rid;
	uint64_t	 ticket;	/* hub_http_defer() */
	double		 deadline;	/* monotonic */
	struct mc_buf	 b;		/* the answer; w writes into it */
	struct mc_jw	 w;
	char		 hubs[HUB_BUS_HUBS_MAX][HUB_BUS_NAME_MAX + 1];
	char		 why[HUB_BUS_HUBS_MAX][128];	/* "" answered */
	int		 nhubs, waiting;
	struct left	*left;		/* owned; sorted once sent */
	size_t		 nleft, capleft;
	char		(*ids)[MC_ID_MAX];	/* owned: a runner's commands */
	size_t		 nids, capids;
	struct hub_fan	*next;
};

static struct {
	struct hub_fan	*head;		/* owned: the asker's, waiting */
	size_t		 n;
	uint64_t	 next_rid;
} fs;

static void
fan_free(struct hub_fan *f)
{
	if (f == NULL)
		return;
	mc_buf_free(&f->b);
	free(f->left);
	free(f->ids);
	free(f);
}

/* ---- the asker ---- */

int
hub_bus_fan_begin(struct hub_req *r, struct hub_fan **fp)
{
	struct hub_fan *f;

	*fp = NULL;
	if (r->no_route || hub_bus_self()[0] == '\0')
		return 0;
	if (fs.n >= FAN_PENDING_MAX) {
		hub_http_error(r, 503, "unavailable", "%d fan-outs wait for "
		    "other hubs; try again", FAN_PENDING_MAX);
		r->http->retry_after = 1;
		return -1;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {	/* owned by fs once
							 * sent */
		hub_http_error(r, 503, "unavailable", "out of memory");
		return -1;
	}
	if ((f->nhubs = hub_bus_others_up(f->hubs, HUB_BUS_HUBS_MAX)) == 0) {
		free(f);
		return 0;
	}
	hub_api_body_begin(&f->b, &f->w);
	r->fan = *fp = f;
	return 0;
}

struct mc_jw *
hub_bus_fan_writer(struct hub_fan *f)
{
	return &f->w;
}

static int
left_add(struct hub_fan *f, const struct hub_agent *a)
{
	struct left *n;
	size_t cap;

	if (f->nleft == f->capleft) {
		cap = f->capleft ? f->capleft * 2 : 64;
		if ((n = realloc(f->left, cap * sizeof(*n))) == NULL)
			return -1;
		f->left = n;
		f->capleft = cap;
	}
	n = &f->left[f->nleft++];
	mc_strlcpy(n->name, a->name, sizeof(n->name));
	n->hub = a->held_by;
	n->reported = 0;
	return 0;
}

int
hub_bus_fan_here(struct hub_fan *f, const struct hub_agent *a)
{
	const char *holder;

	if (f == NULL || a->conn != NULL)
		return 1;
	if (f->remote)
		return 0;
	/* held by a hub that is up: that hub answers for it */
	holder = hub_bus_live_hub(a->held_by);
	if (holder == NULL || !hub_bus_peer_up(holder, NULL))
		return 1;
	return left_add(f, a) == -1;
}

void
hub_bus_fan_accepted(struct hub_fan *f, const struct hub_cmd *c)
{
	char (*n)[MC_ID_MAX];
	size_t cap;

	if (f == NULL || !f->remote)
		return;
	if (f->nids == f->capids) {
		cap = f->capids ? f->capids * 2 : 64;
		if ((n = realloc(f->ids, cap * sizeof(*n))) == NULL)
			return;
		f->ids = n;
		f->capids = cap;
	}
	mc_strlcpy(f->ids[f->nids++], c->id, MC_ID_MAX);
}

void
hub_bus_fan_drop(struct hub_fan *f)
{
	fan_free(f);
}

static int
left_cmp(const void *a, const void *b)
{
	return strcmp(((const struct left *)a)->name,
	    ((const struct left *)b)->name);
}

static int
hub_at(const struct hub_fan *f, const char *name)
{
	int i;

	for (i = 0; i < f->nhubs; i++)
		if (strcmp(f->hubs[i], name) == 0)
			return i;
	return -1;
}

/* An agent left to a hub that did not report it. */
static void
left_write(struct hub_fan *f, const struct left *l)
{
	const struct hub_agent *a = hub_agent_find(l->name);
	const char *holder = hub_bus_live_hub(l->hub);
	int i = holder != NULL ? hub_at(f, holder) : -1;
	char err[256];

	if (i >= 0 && f->why[i][0] != '\0')
		snprintf(err, sizeof(err), "agent '%s' is held by hub %s, "
		    "which %s", l->name, holder, f->why[i]);
	else
		snprintf(err, sizeof(err), "agent '%s' is not connected to "
		    "hub %s any more (it may be moving to another hub); try "
		    "again", l->name, holder != NULL ? holder : "(unknown)");
	mc_jw_obj(&f->w, NULL);
	mc_jw_str(&f->w, "agent", l->name);
	mc_jw_null(&f->w, "id");
	mc_jw_str(&f->w, "status", a != NULL ? hub_status_name(a->status) :
	    "offline");
	mc_jw_str(&f->w, "error", err);
	mc_jw_obj_end(&f->w);
}

/* Every part is in, or the time is up: answer the request. */
static void
fan_finish(struct hub_fan *f)
{
	struct hub_conn *c;
	struct hub_req r;
	size_t i;
	int h;

	for (i = 0; i < f->nleft; i++)
		if (!f->left[i].reported)
			left_write(f, &f->left[i]);
	mc_jw_arr_end(&f->w);
	/* which hubs took part: the agents of one that did not are missing
	 * unless this hub knew them (then they have an entry above) */
	mc_jw_arr(&f->w, "hubs");
	for (h = 0; h < f->nhubs; h++) {
		mc_jw_obj(&f->w, NULL);
		mc_jw_str(&f->w, "name", f->hubs[h]);
		mc_jw_bool(&f->w, "ok", f->why[h][0] == '\0');
		if (f->why[h][0] != '\0')
			mc_jw_str(&f->w, "error", f->why[h]);
		mc_jw_obj_end(&f->w);
	}
	mc_jw_arr_end(&f->w);
	mc_jw_obj_end(&f->w);
	if ((c = hub_http_resume(f->ticket)) != NULL) {
		memset(&r, 0, sizeof(r));
		r.conn = c;
		r.http = c->http;
		hub_api_body_send(&r, 202, &f->b, &f->w);
		hub_ws_http_ready(c);
	}
	fan_free(f);
}

static void
fan_unlink(struct hub_fan *f)
{
	struct hub_fan **pp;

	for (pp = &fs.head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			fs.n--;
			return;
		}
}

static int
request_encode(struct mc_buf *b, const struct hub_req *r, uint64_t rid)
{
	const struct mc_buf *body = &r->http->body;
	struct mc_jw w;

	mc_buf_init(b, HUB_BUS_MSG_MAX);
	mc_jw_init(&w, b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "t", "fan");
	mc_jw_u64(&w, "rid", rid);
	mc_jw_str(&w, "from", hub_bus_self());
	mc_jw_str(&w, "by", r->token->name);
	mc_jw_dbl(&w, "until", mc_wall() + FAN_TIMEOUT);
	mc_jw_strn(&w, "body", body->data, body->len);
	mc_jw_obj_end(&w);
	return mc_jw_done(&w);
}

void
hub_bus_fan_send(struct hub_req *r, struct hub_fan *f)
{
	char chan[HUB_BUS_CHAN_MAX];
	struct mc_buf b;
	int i, big;

	if ((f->ticket = hub_http_defer(r)) == 0) {
		fan_free(f);
		return;
	}
	f->rid = ++fs.next_rid;
	f->deadline = mc_now() + FAN_TIMEOUT;
	if (f->nleft > 1)
		qsort(f->left, f->nleft, sizeof(*f->left), left_cmp);
	big = request_encode(&b, r, f->rid) == -1;
	for (i = 0; i < f->nhubs; i++) {
		hub_bus_chan_to(chan, sizeof(chan), f->hubs[i]);
		if (big)
			snprintf(f->why[i], sizeof(f->why[i]), "was not asked: "
			    "the request is over the bus's %d MiB",
			    HUB_BUS_MSG_MAX >> 20);
		else if (!hub_bus_link_up(NULL, 0) ||
		    hub_bus_link_queue(LINK_PUB, chan, b.data, b.len, NULL,
		    NULL) == -1)
			snprintf(f->why[i], sizeof(f->why[i]), "was not asked: "
			    "the bus is unreachable or its queue is full");
		else {
			snprintf(f->why[i], sizeof(f->why[i]), "did not answer "
			    "within %.0f s (and will not run it later)",
			    FAN_TIMEOUT);
			f->waiting++;
		}
	}
	mc_buf_free(&b);
	if (f->waiting == 0) {
		fan_finish(f);
		return;
	}
	f->next = fs.head;
	fs.head = f;
	fs.n++;
}

/* One entry of another hub's answer, copied field by field. */
static void
entry_copy(struct hub_fan *f, const struct mc_json *e)
{
	const char *agent = mc_json_str(e, "agent"), *id = mc_json_str(e,
	    "id");
	struct left key, *l;

	if (agent == NULL || strlen(agent) > MC_NAME_MAX)
		return;
	mc_strlcpy(key.name, agent, sizeof(key.name));
	if (f->nleft > 0 && (l = bsearch(&key, f->left, f->nleft,
	    sizeof(*f->left), left_cmp)) != NULL) {
		if (l->reported)
			return;		/* two hubs held it: the first says */
		l->reported = 1;
	}
	mc_jw_obj(&f->w, NULL);
	mc_jw_str(&f->w, "agent", agent);
	if (id != NULL)
		mc_jw_str(&f->w, "id", id);
	else
		mc_jw_null(&f->w, "id");
	if (mc_json_str(e, "status") != NULL)
		mc_jw_str(&f->w, "status", mc_json_str(e, "status"));
	if (mc_json_str(e, "error") != NULL)
		mc_jw_str(&f->w, "error", mc_json_str(e, "error"));
	mc_jw_obj_end(&f->w);
}

/* A runner's answer: its entries, the shadows of its commands. */
static void
part_read(struct hub_fan *f, const char *runner, const struct mc_json *o)
{
	const struct mc_json *body = mc_json_get(o, "body"), *e;
	struct mc_jdoc *d;
	char err[128];

	for (e = mc_json_get(o, "cmds") ? mc_json_get(o, "cmds")->child :
	    NULL; e != NULL; e = e->next)
		hub_bus_cmd_shadow(mc_json_get(e, "cmd"), runner,
		    hub_bus_cap(e));
	if (body == NULL || body->type != MC_JSTR ||
	    (d = mc_json_parse(body->str, body->len, err, sizeof(err))) ==
	    NULL) {
		mc_warn("bus: hub %s's part of fan-out %llu does not read",
		    runner, (unsigned long long)f->rid);
		return;
	}
	e = mc_json_get(mc_json_root(d), "commands");
	for (e = e != NULL ? e->child : NULL; e != NULL; e = e->next)
		entry_copy(f, e);
	mc_json_free(d);
}

void
hub_bus_fan_on_rep(const struct mc_json *o)
{
	const char *runner = mc_json_str(o, "hub");
	struct hub_fan *f;
	int64_t rid, status;
	int i;

	if (runner == NULL ||
	    mc_json_int(o, "rid", 0, INT64_MAX, &rid) == -1 ||
	    mc_json_int(o, "status", 100, 599, &status) == -1)
		return;
	for (f = fs.head; f != NULL && f->rid != (uint64_t)rid; f = f->next)
		;
	if (f == NULL || (i = hub_at(f, runner)) == -1 ||
	    strncmp(f->why[i], "did not answer", 14) != 0)
		return;		/* late, or not asked */
	if (status == 202) {
		part_read(f, runner, o);
		f->why[i][0] = '\0';
	} else
		snprintf(f->why[i], sizeof(f->why[i]), "refused its part "
		    "(HTTP %d)", (int)status);
	if (--f->waiting == 0) {
		fan_unlink(f);
		fan_finish(f);
	}
}

void
hub_bus_fan_cron(double now)
{
	struct hub_fan **pp = &fs.head, *f;

	while (*pp != NULL) {
		f = *pp;
		if (now < f->deadline) {
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		fs.n--;
		mc_warn("bus: fan-out %llu: %d hub(s) did not answer within "
		    "%.0fs", (unsigned long long)f->rid, f->waiting,
		    FAN_TIMEOUT);
		fan_finish(f);
	}
}

void
hub_bus_fan_free_all(void)
{
	struct hub_fan *f, *next;

	for (f = fs.head; f != NULL; f = next) {
		next = f->next;
		fan_free(f);
	}
	fs.head = NULL;
	fs.n = 0;
}

/* ---- a runner ---- */

/* The answer to the asker: the API's answer and the shadows. */
static void
part_send(const char *to, int64_t rid, const struct hub_fan *rf,
    const struct hub_http *h)
{
	char chan[HUB_BUS_CHAN_MAX];
	struct hub_cmd *c;
	struct mc_buf b, cb;
	struct mc_jw w, cw;
	size_t i, unshadowed = 0;

	mc_buf_init(&b, HUB_BUS_MSG_MAX);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "t", "fanrep");
	mc_jw_str(&w, "hub", hub_bus_self());
	mc_jw_i64(&w, "rid", rid);
	mc_jw_i64(&w, "status", h->status ? h->status : 500);
	mc_jw_strn(&w, "body", h->resp.data ? h->resp.data : "",
	    h->resp.len);
	mc_jw_arr(&w, "cmds");
	for (i = 0; i < rf->nids; i++) {
		if ((c = hub_cmd_find(rf->ids[i])) == NULL)
			continue;
		if (b.len > FAN_REP_MAX) {
			unshadowed++;
			continue;
		}
		mc_buf_init(&cb, 64 * 1024);
		mc_jw_init(&cw, &cb);
		hub_cmd_write(&cw, c, 0);
		mc_jw_obj(&w, NULL);
		mc_jw_u64(&w, "cap", c->cap);
		if (mc_jw_done(&cw) == 0)
			mc_jw_raw(&w, "cmd", cb.data, cb.len);
		mc_jw_obj_end(&w);
		mc_buf_free(&cb);
	}
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	if (unshadowed > 0)
		mc_warn("bus: fan-out from hub %s: %zu commands' progress is "
		    "not sent back (the answer is full); it is in the store",
		    to, unshadowed);
	hub_bus_chan_to(chan, sizeof(chan), to);
	if (mc_jw_done(&w) == -1 || hub_bus_link_queue(LINK_PUB, chan,
	    b.data, b.len, NULL, NULL) == -1)
		mc_warn("bus: this hub's part of hub %s's fan-out %lld was "
		    "not sent", to, (long long)rid);
	mc_buf_free(&b);
}

/* The progress of each command accepted here goes to the asker, whose
 * shadows exist once it has the answer: marked before, sent after. */
static void
forward_all(const struct hub_fan *rf, const char *to, int changed)
{
	struct hub_cmd *c;
	size_t i;

	for (i = 0; i < rf->nids; i++)
		if ((c = hub_cmd_find(rf->ids[i])) != NULL) {
			if (changed)
				hub_bus_cmd_changed(c);
			else
				hub_bus_cmd_forward(c, to);
		}
}

void
hub_bus_fan_on_req(const struct mc_json *o)
{
	const char *from = mc_json_str(o, "from"), *by = mc_json_str(o, "by");
	const struct mc_json *body = mc_json_get(o, "body");
	struct hub_bus_call bc;
	struct hub_fan *rf;
	double until = 0;
	int64_t rid;

	if (from == NULL || !hub_bus_name_valid(from) || by == NULL ||
	    body == NULL || body->type != MC_JSTR ||
	    body->len > MC_FANOUT_BODY_MAX ||
	    mc_json_int(o, "rid", 0, INT64_MAX, &rid) == -1 ||
	    mc_json_num(o, "until", &until) == -1)
		return;
	/* the asker has answered without this hub: nothing runs behind
	 * the operator's back (a hub that was frozen, a slow bus) */
	if (mc_wall() > until) {
		mc_warn("bus: hub %s's fan-out %lld came %.1fs after its "
		    "answer was due: not run here", from, (long long)rid,
		    mc_wall() - until);
		return;
	}
	if ((rf = calloc(1, sizeof(*rf))) == NULL)	/* freed below */
		return;
	rf->remote = 1;
	if (hub_bus_call_init(&bc, from, by, "/api/commands", body) == -1) {
		fan_free(rf);
		return;
	}
	bc.r.fan = rf;
	hub_api_fanout(&bc.r);
	forward_all(rf, from, 0);
	part_send(from, rid, rf, bc.h);
	forward_all(rf, from, 1);
	hub_bus_call_free(&bc);
	fan_free(rf);
}
