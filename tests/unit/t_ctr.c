/*
 * t_ctr.c - containers in a heartbeat (mc_ctr.h): the part written and
 * read back, a removed container, absent figures, and what is refused.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mc_ctr.h"
#include "unit.h"

static void
fill(struct mc_ctr *c)
{
	mc_ctr_init(c);
	snprintf(c->id, sizeof(c->id), "3f9c1a2b4d5e");
	snprintf(c->name, sizeof(c->name), "web");
	snprintf(c->image, sizeof(c->image), "127.0.0.1:5000/web:2");
	snprintf(c->image_id, sizeof(c->image_id), "sha256:%064d", 7);
	snprintf(c->latest, sizeof(c->latest), "sha256:%064d", 8);
	c->state = MC_CTR_EXITED;
	c->health = MC_CTR_UNHEALTHY;
	snprintf(c->health_log, sizeof(c->health_log), "wget: bad \"address\"");
	c->restarts = 4;
	c->started = 1795000000;
	c->finished = 1795000060;
	c->exit_code = 137;
	c->oom = 1;
	c->alert = 0;
	c->auto_update = 1;
	c->mem = 12345678;
}

/* p as a heartbeat, parsed; its ctr head and list. */
static int
trip(const struct mc_ctr_part *p, struct mc_msg *msg, struct mc_ctr_head *h,
    const struct mc_json **list)
{
	static struct mc_hb hb;
	const char *code = "";
	char err[256] = "";
	struct mc_buf b;
	int rc;

	memset(&hb, 0, sizeof(hb));
	hb.seq = 1;
	hb.ctr = p;
	mc_buf_init(&b, MC_MSG_MAX);
	rc = mc_hb_encode(&b, &hb) == 0 ? mc_msg_parse(msg, MC_TO_HUB, b.data,
	    b.len, &code, err, sizeof(err)) : -1;
	mc_buf_free(&b);
	if (rc == -1) {
		CHECK_MSG(0, "the heartbeat did not encode or parse: %s", err);
		return -1;
	}
	rc = mc_hb_ctr(msg, h, list, err, sizeof(err));
	CHECK_MSG(rc == 1, "mc_hb_ctr: %d %s", rc, err);
	return rc;
}

void
t_ctr_round_trip(void)
{
	static struct mc_ctr a, gone, d;
	const struct mc_ctr *list[2] = { &a, &gone };
	const struct mc_json *arr, *e;
	struct mc_ctr_part p;
	struct mc_ctr_head h;
	struct mc_msg msg;
	char err[256] = "";

	fill(&a);
	mc_ctr_init(&gone);
	snprintf(gone.id, sizeof(gone.id), "8b0e7d6c5a4f");
	gone.gone = 1;
	memset(&p, 0, sizeof(p));
	p.head.full = 1;
	p.head.n[MC_CTR_RUNNING] = 3;
	p.head.n[MC_CTR_EXITED] = 1;
	p.head.unhealthy = 1;
	p.nlist = 2;
	p.list = list;
	if (trip(&p, &msg, &h, &arr) != 1)
		return;
	CHECK_EQ_INT(h.full, 1);
	CHECK_EQ_INT(h.n[MC_CTR_RUNNING], 3);
	CHECK_EQ_INT(h.n[MC_CTR_EXITED], 1);
	CHECK_EQ_INT(h.n[MC_CTR_PAUSED], 0);
	CHECK_EQ_INT(h.unhealthy, 1);
	REQUIRE(arr != NULL && arr->len == 2);
	e = arr->child;
	CHECK_MSG(mc_ctr_read(e, &d, err, sizeof(err)) == 0, "%s", err);
	CHECK_EQ_STR(d.id, a.id);
	CHECK_EQ_STR(d.name, "web");
	CHECK_EQ_STR(d.image, a.image);
	CHECK_EQ_STR(d.image_id, a.image_id);
	CHECK_EQ_STR(d.latest, a.latest);
	CHECK_EQ_INT(d.state, MC_CTR_EXITED);
	CHECK_EQ_INT(d.health, MC_CTR_UNHEALTHY);
	CHECK_EQ_STR(d.health_log, a.health_log);
	CHECK_EQ_INT(d.restarts, 4);
	CHECK_EQ_DBL(d.started, a.started);
	CHECK_EQ_DBL(d.finished, a.finished);
	CHECK_EQ_INT(d.exit_code, 137);
	CHECK_EQ_INT(d.oom, 1);
	CHECK_EQ_INT(d.stopped, 0);
	CHECK_EQ_INT(d.alert, 0);
	CHECK_EQ_INT(d.auto_update, 1);
	CHECK(isnan(d.cpu));			/* not measured yet */
	CHECK_EQ_DBL(d.mem, 12345678);
	CHECK_MSG(mc_ctr_read(e->next, &d, err, sizeof(err)) == 0, "%s", err);
	CHECK_EQ_INT(d.gone, 1);
	CHECK_EQ_STR(d.id, "8b0e7d6c5a4f");
	mc_msg_free(&msg);
}

void
t_ctr_absent(void)
{
	static const char *json = "{\"t\":\"hb\",\"seq\":1,\"m\":{}}";
	const struct mc_json *list;
	struct mc_ctr_head h;
	const char *code = "";
	char err[256] = "";
	struct mc_msg msg;

	REQUIRE(mc_msg_parse(&msg, MC_TO_HUB, json, strlen(json), &code, err,
	    sizeof(err)) == 0);
	CHECK_EQ_INT(mc_hb_ctr(&msg, &h, &list, err, sizeof(err)), 0);
	CHECK(list == NULL);
	mc_msg_free(&msg);
}

static void
refused_one(const char *obj, const char *why)
{
	struct mc_jdoc *doc;
	struct mc_ctr c;
	char err[256] = "";

	doc = mc_json_parse(obj, strlen(obj), err, sizeof(err));
	REQUIRE(doc != NULL);
	CHECK_MSG(mc_ctr_read(mc_json_root(doc), &c, err, sizeof(err)) == -1,
	    "accepted %s", obj);
	CHECK_CONTAINS(err, why);
	mc_json_free(doc);
}

void
t_ctr_rejects(void)
{
	refused_one("{\"name\":\"x\",\"state\":\"running\"}", "id");
	refused_one("{\"id\":\"3F9C1A2B4D5E\",\"name\":\"x\",\"state\":"
	    "\"running\"}", "hex");
	refused_one("{\"id\":\"3f9c1a2b4d\",\"name\":\"x\",\"state\":"
	    "\"running\"}", "hex");
	refused_one("{\"id\":\"3f9c1a2b4d5e\",\"state\":\"running\"}", "name");
	refused_one("{\"id\":\"3f9c1a2b4d5e\",\"name\":\"x\",\"state\":"
	    "\"sleeping\"}", "state");
	refused_one("{\"id\":\"3f9c1a2b4d5e\",\"name\":\"x\",\"state\":"
	    "\"running\",\"health\":\"meh\"}", "health");
	refused_one("{\"id\":\"3f9c1a2b4d5e\",\"name\":\"x\",\"state\":"
	    "\"running\",\"oom\":1}", "true or false");
	refused_one("{\"id\":\"3f9c1a2b4d5e\",\"name\":\"x\",\"state\":"
	    "\"exited\",\"exit\":300}", "exit");
	refused_one("[1]", "object");
}

void
t_ctr_names(void)
{
	enum mc_ctr_state s;
	enum mc_ctr_health h;

	CHECK_EQ_STR(mc_ctr_state_name(MC_CTR_RESTARTING), "restarting");
	CHECK_EQ_STR(mc_ctr_state_name(MC_CTR_STATE_COUNT), "?");
	CHECK_EQ_INT(mc_ctr_state_parse("dead", &s), 0);
	CHECK_EQ_INT(s, MC_CTR_DEAD);
	CHECK_EQ_INT(mc_ctr_health_parse("starting", &h), 0);
	CHECK_EQ_INT(h, MC_CTR_STARTING);
	CHECK_EQ_INT(mc_ctr_health_parse("x", &h), -1);
}
