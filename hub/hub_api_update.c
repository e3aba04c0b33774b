/*
 * hub_api_update.c - the REST API of rolling container updates:
 * POST /api/updates starts one, GET /api/updates lists those in memory,
 * GET /api/updates/{id} is one with each target's state (what hubctl
 * update-containers follows).  The roll itself is hub_update.c.
 */
#include <stdio.h>
#include <string.h>

#include "hub.h"
#include "hub_api.h"

#define UPD_BATCH_MAX	1000

void
hub_update_write(struct mc_jw *w, const struct hub_update *u)
{
	const struct hub_upd_target *t;
	int i;

	mc_jw_obj(w, NULL);
	mc_jw_str(w, "id", u->id);
	mc_jw_str(w, "image", u->image);
	mc_jw_i64(w, "batch", u->batch);
	mc_jw_bool(w, "prune", u->prune);
	mc_jw_dbl(w, "timeout", u->timeout);
	mc_jw_str(w, "requested_by", u->by);
	mc_jw_dbl(w, "created", u->created);
	mc_jw_str(w, "state", u->finished == 0 ? "running" :
	    u->ok ? "done" : "failed");
	if (u->finished > 0)
		mc_jw_dbl(w, "finished", u->finished);
	else
		mc_jw_null(w, "finished");
	if (u->stop_why[0] != '\0')
		mc_jw_str(w, "stopped", u->stop_why);
	mc_jw_arr(w, "targets");
	for (i = 0; i < u->ntargets; i++) {
		t = &u->targets[i];
		mc_jw_obj(w, NULL);
		mc_jw_str(w, "agent", t->agent);
		if (t->container[0] != '\0')
			mc_jw_str(w, "container", t->container);
		mc_jw_str(w, "status", hub_update_state_name(t->state));
		if (t->cmd[0] != '\0')
			mc_jw_str(w, "command", t->cmd);
		if (t->detail[0] != '\0')
			mc_jw_str(w, "detail", t->detail);
		mc_jw_obj_end(w);
	}
	mc_jw_arr_end(w);
	mc_jw_obj_end(w);
}

int
hub_api_agents_parse(struct hub_req *r, const struct mc_json *arr,
    const char **names, int max, int *n)
{
	const struct mc_json *e;

	*n = 0;
	if (arr == NULL)
		return 0;
	if (arr->type != MC_JARR)
		goto bad;
	for (e = arr->child; e != NULL; e = e->next) {
		if (e->type != MC_JSTR || e->len == 0 || *n >= max)
			goto bad;
		names[(*n)++] = e->str;
	}
	return 0;
bad:
	hub_http_error(r, 400, "bad_request", "agents must be an array of at "
	    "most %d agent names", max);
	return -1;
}

/* The body into q; replies 400 itself on error. */
static int
req_parse(struct hub_req *r, const struct mc_json *o,
    struct hub_update_req *q, const char **names, int max)
{
	int64_t batch = 1;
	double t = HUB_UPDATE_TIMEOUT;

	memset(q, 0, sizeof(*q));
	q->image = mc_json_str(o, "image");
	q->tag = mc_json_str(o, "tag");
	if (q->image == NULL || q->image[0] == '\0' ||
	    strlen(q->image) >= MC_IMAGE_MAX) {
		hub_http_error(r, 400, "bad_request", "image must be an image "
		    "reference under %d bytes", MC_IMAGE_MAX);
		return -1;
	}
	if (hub_api_agents_parse(r, mc_json_get(o, "agents"), names, max,
	    &q->nagents) == -1)
		return -1;
	q->agents = names;
	if ((mc_json_get(o, "all") && mc_json_bool(o, "all", &q->all) == -1) ||
	    (mc_json_get(o, "prune") && mc_json_bool(o, "prune",
	    &q->prune) == -1) ||
	    (mc_json_get(o, "batch") && mc_json_int(o, "batch", 1,
	    UPD_BATCH_MAX, &batch) == -1) ||
	    (mc_json_get(o, "timeout") && (mc_json_num(o, "timeout", &t) ==
	    -1 || t <= 0 || t > MC_TIMEOUT_MAX))) {
		hub_http_error(r, 400, "bad_request", "all and prune are true "
		    "or false, batch 1 to %d, timeout seconds up to %d",
		    UPD_BATCH_MAX, MC_TIMEOUT_MAX);
		return -1;
	}
	if ((q->nagents > 0) + (q->tag != NULL && *q->tag) + (q->all != 0) !=
	    1) {
		hub_http_error(r, 400, "bad_request", "give exactly one of "
		    "agents, tag and all");
		return -1;
	}
	q->batch = (int)batch;
	q->timeout = t;
	q->by = r->token->name;
	return 0;
}

/* POST /api/updates {"image", "agents"|"tag"|"all", "batch", "prune",
 * "timeout"} -> 202 the roll */
void
hub_api_update_start(struct hub_req *r)
{
	const char *names[UPD_BATCH_MAX];
	struct hub_update_req q;
	struct hub_update *u;
	struct mc_jdoc *d;
	struct mc_buf b;
	struct mc_jw w;
	char why[256];
	int status;

	if ((d = hub_api_body_json(r)) == NULL)
		return;
	if (req_parse(r, mc_json_root(d), &q, names, UPD_BATCH_MAX) == 0) {
		if ((u = hub_update_start(&q, &status, why, sizeof(why))) ==
		    NULL)
			hub_http_error(r, status, status == 404 ? "not_found" :
			    "unavailable", "%s", why);
		else {
			hub_api_body_begin(&b, &w);
			hub_update_write(&w, u);
			hub_api_body_send(r, 202, &b, &w);
		}
	}
	mc_json_free(d);
}

void
hub_api_update_get(struct hub_req *r)
{
	struct hub_update *u = hub_update_find(r->params[0]);
	struct mc_buf b;
	struct mc_jw w;

	if (u == NULL) {
		hub_http_error(r, 404, "not_found", "unknown update '%s' (the "
		    "hub keeps the last %d, and none across a restart)",
		    r->params[0], HUB_UPDATES_MAX);
		return;
	}
	hub_api_body_begin(&b, &w);
	hub_update_write(&w, u);
	hub_api_body_send(r, 200, &b, &w);
}

void
hub_api_updates(struct hub_req *r)
{
	const struct hub_update *u;
	struct mc_buf b;
	struct mc_jw w;

	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "updates");
	for (u = hub_update_first(); u != NULL; u = u->next)
		hub_update_write(&w, u);
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 200, &b, &w);
}
