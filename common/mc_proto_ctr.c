/*
 * mc_proto_ctr.c - containers on the wire (mc_ctr.h): one container as a
 * JSON object, and a heartbeat's "ctr" part, written and read with every
 * field's range.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mc_ctr.h"
#include "mc_proto_field.h"

static const char *const state_names[MC_CTR_STATE_COUNT] = {
	"created", "running", "paused", "restarting", "removing", "exited",
	"dead",
};

static const char *const health_names[MC_CTR_HEALTH_COUNT] = {
	"none", "starting", "healthy", "unhealthy",
};

const char *
mc_ctr_state_name(enum mc_ctr_state s)
{
	return (unsigned)s < MC_CTR_STATE_COUNT ? state_names[s] : "?";
}

const char *
mc_ctr_health_name(enum mc_ctr_health h)
{
	return (unsigned)h < MC_CTR_HEALTH_COUNT ? health_names[h] : "?";
}

static int
word_index(const char *s, const char *const *words, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(s, words[i]) == 0)
			return i;
	return -1;
}

int
mc_ctr_state_parse(const char *s, enum mc_ctr_state *out)
{
	int i = word_index(s, state_names, MC_CTR_STATE_COUNT);

	if (i < 0)
		return -1;
	*out = (enum mc_ctr_state)i;
	return 0;
}

int
mc_ctr_health_parse(const char *s, enum mc_ctr_health *out)
{
	int i = word_index(s, health_names, MC_CTR_HEALTH_COUNT);

	if (i < 0)
		return -1;
	*out = (enum mc_ctr_health)i;
	return 0;
}

void
mc_ctr_init(struct mc_ctr *c)
{
	memset(c, 0, sizeof(*c));
	c->exit_code = -1;
	c->alert = 1;
	c->cpu = c->mem = NAN;
}

/* ---- writing ---- */

static void
opt_str(struct mc_jw *w, const char *key, const char *s)
{
	if (s[0] != '\0')
		mc_jw_str(w, key, s);
}

void
mc_ctr_fields(struct mc_jw *w, const struct mc_ctr *c)
{
	mc_jw_str(w, "id", c->id);
	mc_jw_str(w, "name", c->name);
	mc_jw_str(w, "image", c->image);
	opt_str(w, "image_id", c->image_id);
	opt_str(w, "digest", c->digest);
	opt_str(w, "latest", c->latest);
	mc_jw_str(w, "state", mc_ctr_state_name(c->state));
	if (c->health != MC_CTR_HEALTH_NONE)
		mc_jw_str(w, "health", mc_ctr_health_name(c->health));
	opt_str(w, "health_log", c->health_log);
	mc_jw_i64(w, "restarts", c->restarts);
	if (c->started > 0)
		mc_jw_fixed(w, "started", c->started, 0);
	if (c->finished > 0)
		mc_jw_fixed(w, "finished", c->finished, 0);
	if (c->exit_code >= 0)
		mc_jw_i64(w, "exit", c->exit_code);
	if (c->oom)
		mc_jw_bool(w, "oom", 1);
	if (c->stopped)
		mc_jw_bool(w, "stopped", 1);
	if (c->auto_update)
		mc_jw_bool(w, "auto_update", 1);
	if (!isnan(c->cpu))
		mc_jw_fixed(w, "cpu", c->cpu, 2);
	if (!isnan(c->mem))
		mc_jw_fixed(w, "mem", c->mem, 0);
}

void
mc_ctr_write(struct mc_jw *w, const char *key, const struct mc_ctr *c)
{
	mc_jw_obj(w, key);
	if (c->gone) {
		mc_jw_str(w, "id", c->id);
		mc_jw_bool(w, "gone", 1);
	} else {
		mc_ctr_fields(w, c);
		if (!c->alert)
			mc_jw_bool(w, "alert", 0);
	}
	mc_jw_obj_end(w);
}

void
mc_ctr_part_write(struct mc_jw *w, const struct mc_ctr_part *p)
{
	int i;

	mc_jw_obj(w, "ctr");
	if (p->head.full)
		mc_jw_bool(w, "full", 1);
	mc_jw_obj(w, "n");
	for (i = 0; i < MC_CTR_STATE_COUNT; i++)
		if (p->head.n[i] > 0)
			mc_jw_i64(w, state_names[i], p->head.n[i]);
	if (p->head.unhealthy > 0)
		mc_jw_i64(w, "unhealthy", p->head.unhealthy);
	mc_jw_obj_end(w);
	mc_jw_arr(w, "list");
	for (i = 0; i < p->nlist; i++)
		mc_ctr_write(w, NULL, p->list[i]);
	mc_jw_arr_end(w);
	mc_jw_obj_end(w);
}

/* ---- reading ---- */

static int
read_id(const struct mc_json *o, struct mc_ctr *c, char *err, size_t errlen)
{
	size_t i;

	if (mc_field_text(o, "id", c->id, sizeof(c->id), 1, err,
	    errlen) == -1)
		return -1;
	for (i = 0; c->id[i] != '\0'; i++)
		if (!((c->id[i] >= '0' && c->id[i] <= '9') ||
		    (c->id[i] >= 'a' && c->id[i] <= 'f')))
			break;
	if (i != MC_CTR_ID_LEN || c->id[i] != '\0') {
		snprintf(err, errlen, "field 'id' must be 12 lowercase hex "
		    "digits");
		return -1;
	}
	return 0;
}

static int
read_words(const struct mc_json *o, struct mc_ctr *c, char *err,
    size_t errlen)
{
	char word[16];

	if (mc_field_text(o, "state", word, sizeof(word), 1, err,
	    errlen) == -1)
		return -1;
	if (mc_ctr_state_parse(word, &c->state) == -1) {
		snprintf(err, errlen, "field 'state' must be one of created, "
		    "running, paused, restarting, removing, exited, dead");
		return -1;
	}
	if (mc_json_get(o, "health") == NULL)
		return 0;
	if (mc_field_text(o, "health", word, sizeof(word), 1, err,
	    errlen) == -1)
		return -1;
	if (mc_ctr_health_parse(word, &c->health) == -1) {
		snprintf(err, errlen, "field 'health' must be one of none, "
		    "starting, healthy, unhealthy");
		return -1;
	}
	return 0;
}

/* A boolean field: absent is def. */
static int
read_bool(const struct mc_json *o, const char *key, int def, int *out,
    char *err, size_t errlen)
{
	const struct mc_json *v = mc_json_get(o, key);

	*out = def;
	if (v == NULL)
		return 0;
	if (v->type != MC_JBOOL) {
		snprintf(err, errlen, "field '%s' must be true or false", key);
		return -1;
	}
	*out = v->num != 0;
	return 0;
}

static int
read_figures(const struct mc_json *o, struct mc_ctr *c, char *err,
    size_t errlen)
{
	int64_t restarts, exit_code;

	if (mc_field_int(o, "restarts", 0, INT32_MAX, 0, &restarts, err,
	    errlen) == -1 ||
	    mc_field_int(o, "exit", -1, 255, -1, &exit_code, err,
	    errlen) == -1 ||
	    mc_field_dbl(o, "started", 0, 1e11, 0, &c->started, err,
	    errlen) == -1 ||
	    mc_field_dbl(o, "finished", 0, 1e11, 0, &c->finished, err,
	    errlen) == -1 ||
	    mc_field_dbl(o, "cpu", 0, 1e5, NAN, &c->cpu, err, errlen) == -1 ||
	    mc_field_dbl(o, "mem", 0, 4611686018427387904.0, NAN, &c->mem,
	    err, errlen) == -1 ||
	    read_bool(o, "oom", 0, &c->oom, err, errlen) == -1 ||
	    read_bool(o, "stopped", 0, &c->stopped, err, errlen) == -1 ||
	    read_bool(o, "alert", 1, &c->alert, err, errlen) == -1 ||
	    read_bool(o, "auto_update", 0, &c->auto_update, err,
	    errlen) == -1)
		return -1;
	c->restarts = (int)restarts;
	c->exit_code = (int)exit_code;
	return 0;
}

int
mc_ctr_read(const struct mc_json *o, struct mc_ctr *c, char *err,
    size_t errlen)
{
	mc_ctr_init(c);
	if (o->type != MC_JOBJ) {
		snprintf(err, errlen, "a container must be an object");
		return -1;
	}
	if (read_id(o, c, err, errlen) == -1 ||
	    read_bool(o, "gone", 0, &c->gone, err, errlen) == -1)
		return -1;
	if (c->gone)
		return 0;
	return mc_field_text(o, "name", c->name, sizeof(c->name), 1, err,
	    errlen) == -1 ||
	    mc_field_text(o, "image", c->image, sizeof(c->image), 0, err,
	    errlen) == -1 ||
	    mc_field_text(o, "image_id", c->image_id, sizeof(c->image_id), 0,
	    err, errlen) == -1 ||
	    mc_field_text(o, "digest", c->digest, sizeof(c->digest), 0, err,
	    errlen) == -1 ||
	    mc_field_text(o, "latest", c->latest, sizeof(c->latest), 0, err,
	    errlen) == -1 ||
	    mc_field_text(o, "health_log", c->health_log,
	    sizeof(c->health_log), 0, err, errlen) == -1 ||
	    read_words(o, c, err, errlen) == -1 ||
	    read_figures(o, c, err, errlen) == -1 ? -1 : 0;
}

static int
read_counts(const struct mc_json *n, struct mc_ctr_head *h, char *err,
    size_t errlen)
{
	int64_t v;
	int i;

	if (n == NULL)
		return 0;
	if (n->type != MC_JOBJ) {
		snprintf(err, errlen, "ctr: 'n' must be an object");
		return -1;
	}
	for (i = 0; i < MC_CTR_STATE_COUNT; i++) {
		if (mc_field_int(n, state_names[i], 0, MC_CTR_MAX, 0, &v, err,
		    errlen) == -1)
			return -1;
		h->n[i] = (int)v;
	}
	if (mc_field_int(n, "unhealthy", 0, MC_CTR_MAX, 0, &v, err,
	    errlen) == -1)
		return -1;
	h->unhealthy = (int)v;
	return 0;
}

int
mc_hb_ctr(const struct mc_msg *m, struct mc_ctr_head *head,
    const struct mc_json **list, char *err, size_t errlen)
{
	const struct mc_json *p = mc_json_get(m->root, "ctr");

	memset(head, 0, sizeof(*head));
	*list = NULL;
	if (p == NULL)
		return 0;
	if (p->type != MC_JOBJ) {
		snprintf(err, errlen, "ctr must be an object");
		return -1;
	}
	if (read_bool(p, "full", 0, &head->full, err, errlen) == -1 ||
	    read_counts(mc_json_get(p, "n"), head, err, errlen) == -1)
		return -1;
	*list = mc_json_get(p, "list");
	if (*list != NULL && ((*list)->type != MC_JARR ||
	    (*list)->len > MC_CTR_MAX)) {
		snprintf(err, errlen, "ctr: 'list' must be an array of at "
		    "most %d containers", MC_CTR_MAX);
		return -1;
	}
	return 1;
}
