/*
 * hub_prom_ctr.c - /metrics for containers: per agent, how many are in
 * each state, unhealthy, down (an open container_down incident) and
 * behind their registry.  No series per container: an agent has up to
 * MC_CTR_MAX of them and their names come and go, so the cardinality is
 * kept to agents x states (docs/api.md).  Service thread.
 */
#include <stdio.h>

#include "hub_ctr.h"

static void
agent_label(struct mc_buf *b, const char *family, const struct hub_agent *a)
{
	mc_buf_printf(b, "%s{agent=\"", family);
	hub_prom_label(b, a->name);
	mc_buf_puts(b, "\"");
}

static void
write_states(struct mc_buf *b)
{
	const struct hub_agent *a;
	int i;

	hub_prom_family(b, "maestro_containers", "gauge", "Containers by "
	    "state, per agent (what its last heartbeat counted).");
	for (a = hub_agent_first(); a != NULL; a = a->next) {
		if (a->ctr == NULL)
			continue;
		for (i = 0; i < MC_CTR_STATE_COUNT; i++) {
			if (a->ctr->head.n[i] == 0)
				continue;
			agent_label(b, "maestro_containers", a);
			mc_buf_printf(b, ",state=\"%s\"} %d\n",
			    mc_ctr_state_name((enum mc_ctr_state)i),
			    a->ctr->head.n[i]);
		}
	}
}

static int
behind(const struct hub_ctr_set *s)
{
	int i, n = 0;

	for (i = 0; i < s->n; i++)
		n += hub_ctr_behind(&s->v[i]);
	return n;
}

void
hub_prom_ctr_write(struct mc_buf *b)
{
	static const char *const fams[][2] = {
		{ "maestro_containers_unhealthy", "Containers whose health "
		    "check fails, per agent." },
		{ "maestro_containers_down", "Containers with an open "
		    "container_down incident, per agent." },
		{ "maestro_containers_behind", "Containers whose image has a "
		    "newer digest in its registry, per agent." },
	};
	const struct hub_agent *a;
	size_t f;
	int v;

	write_states(b);
	for (f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		hub_prom_family(b, fams[f][0], "gauge", fams[f][1]);
		for (a = hub_agent_first(); a != NULL; a = a->next) {
			if (a->ctr == NULL)
				continue;
			v = f == 0 ? a->ctr->head.unhealthy : f == 1 ?
			    a->ctr->ndown : behind(a->ctr);
			agent_label(b, fams[f][0], a);
			mc_buf_printf(b, "} %d\n", v);
		}
	}
}
