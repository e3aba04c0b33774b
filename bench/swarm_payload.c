/*
 * swarm_payload.c - what a simulated agent says about itself: the host
 * facts of its hello and the metrics of each heartbeat.
 *
 * The point is a payload of the size and shape a real listener sends, so
 * the hub parses, stores and serves what it would in production: CPU
 * percentages with the long fractions real deltas give, load, memory,
 * swap, three filesystems, two interfaces, uptime and a process count
 * (about 600 bytes of JSON).  Values are derived from the agent index and
 * the heartbeat number with a hash, so they move between heartbeats, no
 * two agents look alike, and nothing is stored per agent.
 */
#include <stdio.h>
#include <string.h>

#include "swarm.h"

#define GIB		(1024.0 * 1024.0 * 1024.0)

/* splitmix64: a well-mixed 64-bit hash of x. */
static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A number in [lo, hi) from hash h and a salt, with a full fraction. */
static double
pick(uint64_t h, unsigned salt, double lo, double hi)
{
	uint64_t v = mix(h ^ ((uint64_t)salt << 56));

	return lo + (hi - lo) * ((double)(v >> 11) / 9007199254740992.0);
}

static int
agent_cpus(const struct sw_agent *a)
{
	return 4 << (a->index % 4);
}

static uint64_t
agent_mem(const struct sw_agent *a)
{
	return (uint64_t)agent_cpus(a) * 4 * (uint64_t)GIB;
}

void
sw_payload_hello(struct sw *s, const struct sw_agent *a, struct mc_hello *h)
{
	int i;

	memset(h, 0, sizeof(*h));
	h->v = MC_PROTO_VERSION;
	sw_agent_name(s, a, h->name, sizeof(h->name));
	if (a->cred[0] != '\0')
		mc_strlcpy(h->cred, a->cred, sizeof(h->cred));
	else
		mc_strlcpy(h->enroll_key, s->conf.enroll_key,
		    sizeof(h->enroll_key));
	mc_strlcpy(h->hostname, h->name, sizeof(h->hostname));
	mc_strlcpy(h->os, "Debian GNU/Linux 12 (bookworm)", sizeof(h->os));
	mc_strlcpy(h->kernel, "6.1.0-18-amd64", sizeof(h->kernel));
	mc_strlcpy(h->arch, "x86_64", sizeof(h->arch));
	mc_strlcpy(h->version, a->version[0] ? a->version : MC_VERSION,
	    sizeof(h->version));
	h->cpus = agent_cpus(a);
	h->mem_total = agent_mem(a);
	h->ntags = 1;
	mc_strlcpy(h->tags[0], "swarm", sizeof(h->tags[0]));
	/* the hub resends a command in flight only to the same process
	 * (boot) and only if that process does not list it as held */
	mc_strlcpy(h->boot, s->boot, sizeof(h->boot));
	for (i = 0; i < SW_CMD_SLOTS && h->npending < MC_PENDING_MAX; i++)
		if (a->cmds[i].phase != SW_CMD_FREE)
			mc_strlcpy(h->pending[h->npending++], a->cmds[i].id,
			    sizeof(h->pending[0]));
}

/* Disks fill slowly: the share used is the agent's own and grows by a
 * page a heartbeat. */
static void
fill_fs(struct mc_metrics *m, uint64_t h, uint32_t seq)
{
	static const struct {
		const char	*mount;
		double		 gib;
	} fs[] = {
		{ "/", 465.2 }, { "/home", 1862.5 }, { "/boot/efi", 0.5 },
	};
	size_t i;

	m->nfs = (int)(sizeof(fs) / sizeof(fs[0]));
	for (i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		mc_strlcpy(m->fs[i].mount, fs[i].mount,
		    sizeof(m->fs[i].mount));
		m->fs[i].total = (uint64_t)(fs[i].gib * GIB);
		m->fs[i].used = (uint64_t)((double)m->fs[i].total *
		    pick(h, 20 + (unsigned)i, 0.05, 0.9)) +
		    4096 * (uint64_t)seq;
	}
}

static void
fill_net(struct mc_metrics *m, uint64_t h)
{
	static const char *const ifaces[] = { "enp5s0", "docker0" };
	size_t i;

	m->nnet = (int)(sizeof(ifaces) / sizeof(ifaces[0]));
	for (i = 0; i < sizeof(ifaces) / sizeof(ifaces[0]); i++) {
		mc_strlcpy(m->net[i].iface, ifaces[i],
		    sizeof(m->net[i].iface));
		m->net[i].rx_bps = pick(h, 30 + (unsigned)i, 100, 2e6);
		m->net[i].tx_bps = pick(h, 40 + (unsigned)i, 50, 5e5);
	}
}

void
sw_payload_metrics(const struct sw *s, const struct sw_agent *a,
    uint32_t seq, struct mc_metrics *m)
{
	uint64_t h = mix(((uint64_t)a->index << 32) | seq);
	double busy = pick(h, 1, 0.5, 60);

	memset(m, 0, sizeof(*m));
	m->has_cpu = 1;
	m->cpu_user = busy * 0.8;
	m->cpu_system = busy * pick(h, 2, 0.1, 0.3);
	m->cpu_iowait = pick(h, 3, 0, 2);
	m->mem_total = agent_mem(a);
	m->mem_used = (uint64_t)((double)m->mem_total *
	    pick(h, 4, 0.15, 0.85));
	if (s->small)
		return;
	m->load[0] = busy / 100 * agent_cpus(a);
	m->load[1] = m->load[0] * pick(h, 5, 0.7, 1.2);
	m->load[2] = m->load[0] * pick(h, 6, 0.6, 1.1);
	m->swap_total = 2 * (uint64_t)GIB;
	m->swap_used = (uint64_t)((double)m->swap_total * pick(h, 7, 0, 0.1));
	fill_fs(m, mix(a->index), seq);
	fill_net(m, h);
	m->uptime = 86400 * (uint64_t)(1 + a->index % 30) + seq * 10;
	m->procs = (uint32_t)pick(h, 8, 250, 600);
}
