/*
 * hub_api_ctr.c - the containers' routes: one agent's table
 * (GET /api/agents/{name}/containers) and the fleet's, filtered and paged
 * (GET /api/containers).  Both answer from memory, in a stable order
 * (agents as they were created, each agent's containers by name), so a
 * client can page with offset.  docs/api.md describes them.
 */
#include <stdlib.h>
#include <string.h>

#include "hub_api.h"
#include "hub_ctr.h"
#include "mc_util.h"

#define PAGE_DEFAULT	500
#define PAGE_MAX	5000

struct ctr_filter {
	char		 agent[MC_NAME_MAX + 1];
	char		 tag[MC_TAG_MAX + 1];
	char		 image[MC_IMAGE_MAX];
	char		 state[16];
};

static int
by_name(const void *x, const void *y)
{
	const struct hub_ctr *a = *(const struct hub_ctr *const *)x;
	const struct hub_ctr *b = *(const struct hub_ctr *const *)y;

	return strcmp(hub_ctr_str(a, CS_NAME), hub_ctr_str(b, CS_NAME));
}

/* a's containers sorted by name into v (MC_CTR_MAX): how many. */
static int
sorted(const struct hub_agent *a, const struct hub_ctr **v)
{
	int i, n = a->ctr != NULL ? a->ctr->n : 0;

	for (i = 0; i < n; i++)
		v[i] = &a->ctr->v[i];
	qsort(v, (size_t)n, sizeof(*v), by_name);
	return n;
}

void
hub_api_agent_containers(struct hub_req *r)
{
	const struct hub_ctr *v[MC_CTR_MAX];
	struct hub_agent *a = hub_agent_find(r->params[0]);
	struct mc_buf b;
	struct mc_jw w;
	int i, n;

	if (a == NULL) {
		hub_http_error(r, 404, "not_found", "unknown agent '%s' (see "
		    "GET /api/agents)", r->params[0]);
		return;
	}
	n = sorted(a, v);
	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "agent", a->name);
	mc_jw_bool(&w, "stale", a->ctr != NULL && a->ctr->stale);
	mc_jw_arr(&w, "containers");
	for (i = 0; i < n; i++)
		hub_ctr_write(&w, a, v[i], 0);
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 200, &b, &w);
}

/* image=REPO matches REPO itself and, when REPO names no tag or
 * digest, each of its tags and digests (REPO:TAG, REPO@sha256:...). */
static int
image_matches(const char *image, const char *want)
{
	const char *last = strrchr(want, '/');
	size_t n = strlen(want);

	if (strncmp(image, want, n) != 0)
		return 0;
	if (image[n] == '\0')
		return 1;
	return (image[n] == ':' || image[n] == '@') &&
	    strpbrk(last != NULL ? last : want, ":@") == NULL;
}

/* state=WORD: a state, or unhealthy, down, behind. */
static int
state_matches(const struct hub_ctr *c, const char *want)
{
	if (strcmp(want, "unhealthy") == 0)
		return c->health == MC_CTR_UNHEALTHY;
	if (strcmp(want, "down") == 0)
		return (c->flags & CTR_DOWN) != 0;
	if (strcmp(want, "behind") == 0)
		return hub_ctr_behind(c);
	return strcmp(mc_ctr_state_name(c->state), want) == 0;
}

static int
filter_parse(struct hub_req *r, struct ctr_filter *f)
{
	enum mc_ctr_state s;

	hub_api_query_str(r, "agent", f->agent, sizeof(f->agent));
	hub_api_query_str(r, "tag", f->tag, sizeof(f->tag));
	hub_api_query_str(r, "image", f->image, sizeof(f->image));
	hub_api_query_str(r, "state", f->state, sizeof(f->state));
	if (f->state[0] != '\0' && mc_ctr_state_parse(f->state, &s) == -1 &&
	    strcmp(f->state, "unhealthy") != 0 &&
	    strcmp(f->state, "down") != 0 && strcmp(f->state, "behind") != 0) {
		hub_http_error(r, 400, "bad_request", "state must be one of "
		    "created, running, paused, restarting, removing, exited, "
		    "dead, unhealthy, down, behind");
		return -1;
	}
	if (f->agent[0] != '\0' && hub_agent_find(f->agent) == NULL) {
		hub_http_error(r, 404, "not_found", "unknown agent '%s' (see "
		    "GET /api/agents)", f->agent);
		return -1;
	}
	return 0;
}

static int
agent_wanted(const struct hub_agent *a, const struct ctr_filter *f)
{
	return a->ctr != NULL && (f->agent[0] == '\0' ||
	    strcmp(a->name, f->agent) == 0) && (f->tag[0] == '\0' ||
	    hub_agent_has_tag(a, f->tag));
}

static int
ctr_wanted(const struct hub_ctr *c, const struct ctr_filter *f)
{
	return (f->image[0] == '\0' || image_matches(hub_ctr_str(c, CS_IMAGE),
	    f->image)) && (f->state[0] == '\0' || state_matches(c, f->state));
}

void
hub_api_containers(struct hub_req *r)
{
	const struct hub_ctr *v[MC_CTR_MAX];
	const struct hub_agent *a;
	struct ctr_filter f;
	int64_t limit = PAGE_DEFAULT, offset = 0, seen = 0, listed = 0;
	struct mc_buf b;
	struct mc_jw w;
	int i, n;

	memset(&f, 0, sizeof(f));
	if (hub_api_query_int(r, "limit", 1, PAGE_MAX, &limit) == -1 ||
	    hub_api_query_int(r, "offset", 0, INT32_MAX, &offset) == -1 ||
	    filter_parse(r, &f) == -1)
		return;
	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "containers");
	for (a = hub_agent_first(); a != NULL; a = a->next) {
		if (!agent_wanted(a, &f))
			continue;
		n = sorted(a, v);
		for (i = 0; i < n; i++) {
			if (!ctr_wanted(v[i], &f) || seen++ < offset ||
			    listed >= limit)
				continue;
			hub_ctr_write(&w, a, v[i], 1);
			listed++;
		}
	}
	mc_jw_arr_end(&w);
	mc_jw_i64(&w, "total", seen);
	mc_jw_i64(&w, "offset", offset);
	mc_jw_bool(&w, "more", offset + listed < seen);
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 200, &b, &w);
}
