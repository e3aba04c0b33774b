/*
 * hub_guard.c - failed authentications limited per source address.
 *
 * A wrong token costs the hub almost nothing to refuse, so without a limit
 * one address can guess thousands of times a second.  Only a token that
 * is presented and wrong counts (a request without one is no guess).  Each address that
 * fails gets a bucket of GUARD_BURST failures, refilled at GUARD_RATE a
 * second; while it is empty every request from that address that needs a
 * token is answered 429 with Retry-After, before the token is even looked
 * at, so a right guess inside the block gains nothing.  An address that
 * never fails never gets a bucket, and a bucket that has refilled is
 * forgotten by the cron, so the table holds only recent offenders (and at
 * most GUARD_MAX of them: past that a new offender is not tracked until
 * old ones are forgotten, which is logged).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

#define GUARD_BURST	10	/* failures at once */
#define GUARD_RATE	1.0	/* failures a second, sustained */
#define GUARD_BUCKETS	1024
#define GUARD_MAX	65536

struct guard {
	char		 addr[64];
	double		 level;		/* failures still allowed */
	double		 last;		/* monotonic, of the last refill */
	double		 logged;	/* monotonic, of the last log line */
	struct guard	*next;
};

static struct {
	struct guard	*tab[GUARD_BUCKETS];	/* owned chains */
	size_t		 n;
	uint64_t	 blocked;
	int		 full_logged;
} gd;

static struct guard **
slot(const char *addr)
{
	struct guard **pp;

	for (pp = &gd.tab[mc_hash_str(addr) % GUARD_BUCKETS]; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->addr, addr) == 0)
			break;
	return pp;
}

static void
refill(struct guard *g, double now)
{
	g->level += (now - g->last) * GUARD_RATE;
	if (g->level > GUARD_BURST)
		g->level = GUARD_BURST;
	g->last = now;
}

int
hub_guard_check(const char *addr, int *retry_after)
{
	struct guard *g;

	if ((g = *slot(addr)) == NULL)
		return 0;
	refill(g, mc_now());
	if (g->level >= 1)
		return 0;
	gd.blocked++;
	*retry_after = (int)ceil((1 - g->level) / GUARD_RATE);
	if (*retry_after < 1)
		*retry_after = 1;
	return -1;
}

void
hub_guard_fail(const char *addr)
{
	struct guard **pp, *g;

	pp = slot(addr);
	if ((g = *pp) == NULL) {
		if (gd.n >= GUARD_MAX || (g = calloc(1, sizeof(*g))) == NULL) {
			if (!gd.full_logged++)
				mc_warn("auth guard: %d addresses failing at "
				    "once; new ones are not limited until "
				    "old ones calm down", GUARD_MAX);
			return;
		}
		mc_strlcpy(g->addr, addr, sizeof(g->addr));
		g->level = GUARD_BURST;
		g->last = mc_now();
		g->logged = -60;
		*pp = g;
		gd.n++;
	}
	refill(g, mc_now());
	g->level -= 1;
	if (g->level < 1 && mc_now() - g->logged >= 60) {
		g->logged = mc_now();
		mc_warn("%s: %d failed authentications; further requests are "
		    "refused for a while (429)", addr, GUARD_BURST);
	}
}

void
hub_guard_cron(double now)
{
	static double next;
	struct guard **pp, *g;
	int i;

	if (now < next)
		return;
	next = now + 10;
	for (i = 0; i < GUARD_BUCKETS; i++) {
		for (pp = &gd.tab[i]; (g = *pp) != NULL;) {
			refill(g, now);
			if (g->level < GUARD_BURST) {
				pp = &g->next;
				continue;
			}
			*pp = g->next;
			free(g);
			gd.n--;
		}
	}
	if (gd.n < GUARD_MAX)
		gd.full_logged = 0;
}

uint64_t
hub_guard_blocked(void)
{
	return gd.blocked;
}

void
hub_guard_free_all(void)
{
	struct guard *g, *next;
	int i;

	for (i = 0; i < GUARD_BUCKETS; i++) {
		for (g = gd.tab[i]; g != NULL; g = next) {
			next = g->next;
			free(g);
		}
		gd.tab[i] = NULL;
	}
	gd.n = 0;
}
