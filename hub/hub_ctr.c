/*
 * hub_ctr.c - each agent's containers, as its heartbeats report them
 * (the "ctr" part, mc_ctr.h): a "full" list replaces the table, the other
 * heartbeats replace the containers they list, and {"id","gone":true}
 * removes one.  hub_alert_ctr.c is told of every change.
 *
 * Rules kept here:
 *  - an agent without Docker costs nothing: the table is allocated with
 *    the first container and freed when a full list is empty; a heartbeat
 *    without a "ctr" part costs one key lookup;
 *  - at most MC_CTR_MAX containers an agent (more are ignored, logged
 *    once), each compact (hub_ctr.h);
 *  - a malformed part is dropped whole, before anything is applied (the
 *    caller warns the listener and keeps the connection);
 *  - when the agent goes away, or stops reporting containers, the table
 *    is kept and marked stale: hubctl and the dashboard still show what it
 *    last had, and its reconnect's full list replaces it (incidents of
 *    containers still there carry over).
 * Service thread; a heartbeat costs O(listed x table).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_ctr.h"
#include "mc_log.h"
#include "mc_util.h"

const char *
hub_ctr_str(const struct hub_ctr *c, enum hub_ctr_str k)
{
	return c->s != NULL ? c->s + c->soff[k] : "";
}

int
hub_ctr_behind(const struct hub_ctr *c)
{
	const char *d = hub_ctr_str(c, CS_DIGEST), *l = hub_ctr_str(c,
	    CS_LATEST);

	return d[0] != '\0' && l[0] != '\0' && strcmp(d, l) != 0;
}

struct hub_ctr *
hub_ctr_find(struct hub_agent *a, const char *id)
{
	struct hub_ctr_set *s = a->ctr;
	int i;

	for (i = 0; s != NULL && i < s->n; i++)
		if (memcmp(s->v[i].id, id, MC_CTR_ID_LEN + 1) == 0)
			return &s->v[i];
	return NULL;
}

/* ---- one container from the wire ---- */

/* The six strings of m into one block: 0, or -1 out of memory (c kept). */
static int
strings_take(struct hub_ctr *c, const struct mc_ctr *m)
{
	const char *src[CS_COUNT] = { m->name, m->image, m->image_id,
	    m->digest, m->latest, m->health_log };
	size_t len[CS_COUNT], total = 0, off = 0;
	char *s;
	int i;

	for (i = 0; i < CS_COUNT; i++)
		total += (len[i] = strlen(src[i])) + 1;
	if ((s = malloc(total)) == NULL)
		return -1;
	for (i = 0; i < CS_COUNT; i++) {
		memcpy(s + off, src[i], len[i] + 1);
		c->soff[i] = (uint16_t)off;
		off += len[i] + 1;
	}
	free(c->s);
	c->s = s;
	return 0;
}

/* m's figures into c; what the hub keeps of its own stays. */
static int
ctr_take(struct hub_ctr *c, const struct mc_ctr *m)
{
	if (strings_take(c, m) == -1)
		return -1;
	memcpy(c->id, m->id, sizeof(c->id));
	c->state = (uint8_t)m->state;
	c->health = (uint8_t)m->health;
	c->flags &= CTR_DOWN | CTR_ALERTED;
	c->flags |= (m->oom ? CTR_OOM : 0) | (m->stopped ? CTR_STOPPED : 0) |
	    (m->alert ? 0 : CTR_NOALERT) | (m->auto_update ? CTR_AUTO_UPDATE :
	    0) | CTR_SEEN;
	c->exit_code = (int16_t)m->exit_code;
	c->restarts = m->restarts;
	c->cpu = (float)m->cpu;
	c->mem = m->mem;
	c->started = m->started;
	c->finished = m->finished;
	return 0;
}

static void
was_of(const struct hub_ctr *c, int full, struct hub_ctr_was *was)
{
	memset(was, 0, sizeof(*was));
	was->full = full;
	if (c == NULL)
		return;
	was->known = 1;
	was->state = c->state;
	was->health = c->health;
	was->restarts = c->restarts;
	was->finished = c->finished;
}

/* ---- the table ---- */

static struct hub_ctr_set *
set_get(struct hub_agent *a)
{
	if (a->ctr == NULL && (a->ctr = calloc(1, sizeof(*a->ctr))) == NULL)
		mc_err("agent '%s': out of memory for its containers",
		    a->name);
	return a->ctr;
}

static struct hub_ctr *
set_add(struct hub_agent *a, struct hub_ctr_set *s)
{
	struct hub_ctr *v;
	int cap;

	if (s->n >= MC_CTR_MAX) {
		if (!s->warned_max)
			mc_warn("agent '%s': more than %d containers; the "
			    "others are ignored", a->name, MC_CTR_MAX);
		s->warned_max = 1;
		return NULL;
	}
	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 4;
		if (cap > MC_CTR_MAX)
			cap = MC_CTR_MAX;
		if ((v = realloc(s->v, (size_t)cap * sizeof(*v))) == NULL)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	v = &s->v[s->n++];
	memset(v, 0, sizeof(*v));
	return v;
}

static void
set_remove(struct hub_agent *a, struct hub_ctr *c)
{
	struct hub_ctr_set *s = a->ctr;

	hub_alert_ctr_gone(a, c);
	free(c->s);
	*c = s->v[--s->n];
}

static void
set_free(struct hub_agent *a)
{
	struct hub_ctr_set *s = a->ctr;
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		free(s->v[i].s);
	free(s->v);
	free(s);
	a->ctr = NULL;
	hub_alert_down_track(a);
}

/* The engine restarted c (its restart policy) n times since the last
 * heartbeat: remembered for container_restarts rules. */
static void
restarts_add(struct hub_ctr *c, int n)
{
	uint32_t now = (uint32_t)(mc_now() * 10.0);

	if (n > HUB_CTR_RING)
		n = HUB_CTR_RING;
	while (n-- > 0) {
		c->rs[c->rs_next] = now;
		c->rs_next = (uint8_t)((c->rs_next + 1) % HUB_CTR_RING);
		if (c->rs_n < HUB_CTR_RING)
			c->rs_n++;
	}
}

/* One listed container: replaced, added or removed. */
static void
apply_one(struct hub_agent *a, const struct mc_ctr *m, int full)
{
	struct hub_ctr *c = hub_ctr_find(a, m->id), *fresh = NULL;
	struct hub_ctr_was was;

	if (m->gone) {
		if (c != NULL)
			set_remove(a, c);
		return;
	}
	was_of(c, full, &was);
	if (c == NULL && (c = fresh = set_add(a, a->ctr)) == NULL)
		return;
	if (ctr_take(c, m) == -1) {
		mc_err("agent '%s': out of memory for container %s", a->name,
		    m->id);
		if (fresh != NULL)
			a->ctr->n--;
		return;
	}
	if (was.known && c->restarts > was.restarts)
		restarts_add(c, c->restarts - was.restarts);
	hub_alert_ctr_change(a, c, &was);
}

/* A full list: the containers it did not name are gone. */
static void
drop_unseen(struct hub_agent *a)
{
	struct hub_ctr_set *s = a->ctr;
	int i = 0;

	while (i < s->n) {
		if (s->v[i].flags & CTR_SEEN) {
			s->v[i++].flags &= (uint8_t)~CTR_SEEN;
			continue;
		}
		set_remove(a, &s->v[i]);
	}
}

static int
head_total(const struct mc_ctr_head *h)
{
	int i, n = 0;

	for (i = 0; i < MC_CTR_STATE_COUNT; i++)
		n += h->n[i];
	return n;
}

static void
apply(struct hub_agent *a, const struct mc_ctr_head *head,
    const struct mc_json *list)
{
	const struct mc_json *e;
	struct mc_ctr m;
	char err[MC_TEXT_MAX];
	int i;

	if (head->full)
		for (i = 0; i < a->ctr->n; i++)
			a->ctr->v[i].flags &= (uint8_t)~CTR_SEEN;
	for (e = list != NULL ? list->child : NULL; e != NULL; e = e->next)
		if (mc_ctr_read(e, &m, err, sizeof(err)) == 0)
			apply_one(a, &m, head->full);
	if (head->full)
		drop_unseen(a);
	/* a beat that changed nothing leaves rev: clients reload on it */
	if (head->full || a->ctr->stale || (list != NULL && list->child !=
	    NULL) || memcmp(&a->ctr->head, head, sizeof(*head)) != 0)
		a->ctr->rev++;
	a->ctr->head = *head;
	a->ctr->stale = 0;
	hub_alert_ctr_check(a);
}

/* Every container of the part reads, or none is applied. */
static int
validate(const struct mc_json *list, char *err, size_t errlen)
{
	const struct mc_json *e;
	struct mc_ctr m;
	char why[MC_TEXT_MAX];
	int i = 0;

	for (e = list != NULL ? list->child : NULL; e != NULL; e = e->next,
	    i++) {
		if (mc_ctr_read(e, &m, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "ctr: list[%d]: %s", i, why);
			return -1;
		}
	}
	return 0;
}

int
hub_ctr_on_hb(struct hub_agent *a, const struct mc_msg *m, char *err,
    size_t errlen)
{
	struct mc_ctr_head head;
	const struct mc_json *list;
	int r = mc_hb_ctr(m, &head, &list, err, errlen);

	if (r == 0) {
		/* Docker gone (or an older listener): keep what it had */
		if (a->ctr != NULL && !a->ctr->stale) {
			a->ctr->stale = 1;
			a->ctr->rev++;
		}
		return 0;
	}
	if (r == -1 || validate(list, err, errlen) == -1)
		return -1;
	if (a->ctr == NULL && (list == NULL || list->child == NULL) &&
	    head_total(&head) == 0)
		return 0;	/* Docker, no container: nothing to keep */
	if (head.full && head_total(&head) == 0 && (list == NULL ||
	    list->child == NULL)) {
		/* every container gone: their incidents end first */
		while (a->ctr != NULL && a->ctr->n > 0)
			set_remove(a, &a->ctr->v[0]);
		set_free(a);
		return 0;
	}
	if (set_get(a) == NULL)
		return 0;
	apply(a, &head, list);
	return 0;
}

int
hub_ctr_auto_behind(const struct hub_agent *a, char (*names)[MC_TEXT_MAX],
    int max)
{
	const struct hub_ctr_set *s = a->ctr;
	const struct hub_ctr *c;
	int i, n = 0;

	if (s == NULL || s->stale)
		return 0;
	for (i = 0; i < s->n; i++) {
		c = &s->v[i];
		if (!(c->flags & CTR_AUTO_UPDATE) || !hub_ctr_behind(c))
			continue;
		if (n < max)
			mc_strlcpy(names[n], hub_ctr_str(c, CS_NAME),
			    sizeof(names[n]));
		n++;
	}
	return n;
}

void
hub_ctr_detach(struct hub_agent *a)
{
	if (a->ctr == NULL)
		return;
	a->ctr->stale = 1;
	a->ctr->rev++;
}

void
hub_ctr_free(struct hub_agent *a)
{
	set_free(a);
}

void
hub_ctr_alerted(struct hub_agent *a, const char *id)
{
	struct hub_ctr *c = hub_ctr_find(a, id);

	if (c != NULL && (c->flags & CTR_DOWN))
		c->flags |= CTR_ALERTED;
}

/* ---- rules ---- */

int
hub_ctr_restarts(const struct hub_agent *a, double window, const char **name)
{
	const struct hub_ctr_set *s = a->ctr;
	uint32_t since = (uint32_t)((mc_now() - window) * 10.0);
	int i, k, n, worst = 0;

	*name = NULL;
	for (i = 0; s != NULL && i < s->n; i++) {
		for (k = 0, n = 0; k < s->v[i].rs_n; k++)
			if (s->v[i].rs[k] >= since)
				n++;
		if (n > worst || *name == NULL) {
			worst = n;
			*name = hub_ctr_str(&s->v[i], CS_NAME);
		}
	}
	return worst;
}

/* ---- JSON ---- */

void
hub_ctr_write_counts(struct mc_jw *w, const struct hub_agent *a)
{
	const struct hub_ctr_set *s = a->ctr;
	int i;

	if (s == NULL)
		return;
	mc_jw_obj(w, "containers");
	mc_jw_i64(w, "total", head_total(&s->head));
	for (i = 0; i < MC_CTR_STATE_COUNT; i++)
		if (s->head.n[i] > 0)
			mc_jw_i64(w, mc_ctr_state_name((enum mc_ctr_state)i),
			    s->head.n[i]);
	mc_jw_i64(w, "unhealthy", s->head.unhealthy);
	mc_jw_i64(w, "down", s->ndown);
	mc_jw_bool(w, "stale", s->stale);
	mc_jw_i64(w, "rev", s->rev);
	mc_jw_obj_end(w);
}

/* c as the wire has it, for the fields the API shares with it. */
static void
to_wire(const struct hub_ctr *c, struct mc_ctr *m)
{
	mc_ctr_init(m);
	mc_strlcpy(m->id, c->id, sizeof(m->id));
	mc_strlcpy(m->name, hub_ctr_str(c, CS_NAME), sizeof(m->name));
	mc_strlcpy(m->image, hub_ctr_str(c, CS_IMAGE), sizeof(m->image));
	mc_strlcpy(m->image_id, hub_ctr_str(c, CS_IMAGE_ID),
	    sizeof(m->image_id));
	mc_strlcpy(m->digest, hub_ctr_str(c, CS_DIGEST), sizeof(m->digest));
	mc_strlcpy(m->latest, hub_ctr_str(c, CS_LATEST), sizeof(m->latest));
	mc_strlcpy(m->health_log, hub_ctr_str(c, CS_HEALTH_LOG),
	    sizeof(m->health_log));
	m->state = (enum mc_ctr_state)c->state;
	m->health = (enum mc_ctr_health)c->health;
	m->restarts = c->restarts;
	m->started = c->started;
	m->finished = c->finished;
	m->exit_code = c->exit_code;
	m->oom = (c->flags & CTR_OOM) != 0;
	m->stopped = (c->flags & CTR_STOPPED) != 0;
	m->auto_update = (c->flags & CTR_AUTO_UPDATE) != 0;
	m->cpu = c->cpu;
	m->mem = c->mem;
}

void
hub_ctr_write(struct mc_jw *w, const struct hub_agent *a,
    const struct hub_ctr *c, int with_agent)
{
	struct mc_ctr m;

	to_wire(c, &m);
	mc_jw_obj(w, NULL);
	if (with_agent)
		mc_jw_str(w, "agent", a->name);
	mc_ctr_fields(w, &m);
	if (m.digest[0] && m.latest[0])
		mc_jw_bool(w, "behind", hub_ctr_behind(c));
	mc_jw_bool(w, "alert", !(c->flags & CTR_NOALERT));
	mc_jw_bool(w, "down", (c->flags & CTR_DOWN) != 0);
	mc_jw_bool(w, "stale", a->ctr->stale);
	mc_jw_obj_end(w);
}
