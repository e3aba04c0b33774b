/*
 * lst_ctr.c - the container table the heartbeats are built from: what
 * the tracker's child (lst_ctr_child.c) reported, one entry a container,
 * and the heartbeat's "ctr" part (mc_ctr.h, docs/protocol.md).
 *
 * Rules kept here:
 * - Every change gets a version (the table's tick).  A heartbeat lists
 *   the containers whose version is past the last heartbeat *written* to
 *   the hub (tab.sent), not the last one built: a heartbeat replaced in
 *   the queue before it was written loses nothing, the next one carries
 *   the same changes again.
 * - The first heartbeat of a hub connection, and the first after the
 *   engine came back, is full (every container, "full":true); need_full
 *   is cleared only once such a heartbeat was written.
 * - A removed container stays as a tombstone ({"id","gone":true}) until
 *   a heartbeat carrying it was written.
 * - The child decides what is a change worth sending (its figures move
 *   by less than LST_CTR_CPU_STEP / LST_CTR_MEM_STEP are not sent); every
 *   record that arrives here is a change.
 * - No I/O here but a debug log line.
 */
#include <stdio.h>
#include <string.h>

#include "lst.h"
#include "mc_log.h"

static struct lst_ctr_ent *
find(struct lst_ctr_tab *t, const char *id)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->e[i].c.id, id) == 0)
			return &t->e[i];
	return NULL;
}

/* Forget the tombstones the hub has been told of (versions up to v). */
static void
purge(struct lst_ctr_tab *t, uint64_t v, int all)
{
	int i, k = 0;

	for (i = 0; i < t->n; i++) {
		if (t->e[i].c.gone && (all || t->e[i].ver <= v))
			continue;
		if (k != i)
			t->e[k] = t->e[i];
		k++;
	}
	t->n = k;
}

/* A new slot, or NULL past MC_CTR_MAX (logged once per engine session).
 * Unsent tombstones give way first: the hub then gets a full list. */
static struct lst_ctr_ent *
slot(struct lst_ctr_tab *t)
{
	if (t->n == MC_CTR_MAX) {
		purge(t, 0, 1);
		t->need_full = 1;
	}
	if (t->n < MC_CTR_MAX)
		return &t->e[t->n++];
	if (!t->over)
		mc_warn("more than %d containers: the others are left out of "
		    "heartbeats", MC_CTR_MAX);
	t->over = 1;
	return NULL;
}

/* The engine (re)connected or went away: start from nothing. */
static void
reset(struct lst_ctr_tab *t, int live)
{
	t->n = 0;
	t->live = live;
	t->over = 0;
	t->pending = 0;	/* a heartbeat built before says nothing now */
	t->need_full = 1;
}

static void
upsert(struct lst_ctr_tab *t, const struct mc_ctr *c)
{
	struct lst_ctr_ent *e = find(t, c->id);

	if (e == NULL)
		e = slot(t);
	if (e == NULL)
		return;
	e->c = *c;
	e->c.gone = 0;
	e->ver = ++t->tick;
}

static void
gone(struct lst_ctr_tab *t, const char *id)
{
	struct lst_ctr_ent *e = find(t, id);

	if (e == NULL || e->c.gone)
		return;
	e->c.gone = 1;
	e->ver = ++t->tick;
}

void
lst_ctr_apply(struct lst_ctr_tab *t, const struct lst_ctr_rec *r)
{
	switch (r->type) {
	case LST_CTR_R_UP:
		reset(t, 0);
		break;
	case LST_CTR_R_SYNCED:
		t->live = 1;
		t->need_full = 1;
		break;
	case LST_CTR_R_CTR:
		upsert(t, &r->c);
		break;
	case LST_CTR_R_GONE:
		gone(t, r->c.id);
		break;
	case LST_CTR_R_DOWN:
		reset(t, 0);
		break;
	default:
		break;
	}
}

const struct mc_ctr_part *
lst_ctr_part(struct lst_ctr_tab *t)
{
	struct mc_ctr_part *p = &t->part;
	const struct mc_ctr *c;
	int i;

	if (!t->live)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->head.full = t->need_full;
	for (i = 0; i < t->n; i++) {
		c = &t->e[i].c;
		if (!c->gone) {
			p->head.n[c->state]++;
			if (c->health == MC_CTR_UNHEALTHY)
				p->head.unhealthy++;
		}
		if (t->need_full ? !c->gone : t->e[i].ver > t->sent)
			t->list[p->nlist++] = c;
	}
	p->list = t->list;
	t->pending = 1;
	t->built = t->tick;
	t->built_full = t->need_full;
	return p;
}

void
lst_ctr_sent(struct lst_ctr_tab *t)
{
	if (!t->pending)
		return;
	t->pending = 0;
	t->sent = t->built;
	if (t->built_full)
		t->need_full = 0;
	purge(t, t->sent, 0);
}

void
lst_ctr_full(struct lst_ctr_tab *t)
{
	t->need_full = 1;
	t->pending = 0;
}

/* One JSON value into a log line (mc_log's lines are short, so a part
 * is logged as its head and then one line a container). */
static void
log_json(uint64_t seq, const char *what, const struct mc_ctr_part *p,
    const struct mc_ctr *c)
{
	struct mc_buf b;
	struct mc_jw w;

	mc_buf_init(&b, MC_MSG_MAX);
	mc_jw_init(&w, &b);
	if (p != NULL) {
		mc_jw_obj(&w, NULL);
		mc_ctr_part_write(&w, p);
		mc_jw_obj_end(&w);
	} else
		mc_ctr_write(&w, NULL, c);
	if (mc_jw_done(&w) == 0)
		mc_debug("heartbeat %llu %s %.*s", (unsigned long long)seq,
		    what, (int)b.len, b.data);
	mc_buf_free(&b);
}

void
lst_ctr_log(uint64_t seq, const struct mc_ctr_part *p)
{
	struct mc_ctr_part head;
	char what[32];
	int i;

	if (!mc_log_enabled(MC_LOG_DEBUG))
		return;
	if (p == NULL) {
		mc_debug("heartbeat %llu without ctr", (unsigned long long)seq);
		return;
	}
	head = *p;
	head.nlist = 0;
	/* the head says how many lines follow (a reader sees a whole one) */
	snprintf(what, sizeof(what), "ctr %d", p->nlist);
	log_json(seq, what, &head, NULL);
	for (i = 0; i < p->nlist; i++)
		log_json(seq, "ctr-item", NULL, p->list[i]);
}
