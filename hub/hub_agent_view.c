/*
 * hub_agent_view.c - what the hub keeps of an agent's last heartbeat, and
 * an agent as the API, the feed and the dashboard show it.
 *
 * The last heartbeat is kept packed.  struct mc_metrics has room for
 * MC_FS_MAX filesystems, MC_NET_MAX interfaces, MC_GPU_MAX GPUs and the
 * sensors, 17 KiB, where a workstation reports a handful: kept whole, the
 * empty slots would be most of what an agent costs the hub.  Packed, it is
 * the struct with each array cut to its count, the runs between them kept.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "mc_util.h"

#define M_OFF(f)	offsetof(struct mc_metrics, f)
#define M_END(f)	(M_OFF(f) + sizeof(((struct mc_metrics *)0)->f))
#define M_ARR(n, f)	{ M_OFF(n), M_OFF(f), M_END(f),			\
			  sizeof(((struct mc_metrics *)0)->f[0]) }

struct m_arr {
	size_t	count_off;	/* its int count, before it */
	size_t	off, end;	/* the array */
	size_t	size;		/* one entry */
};

static const struct m_arr m_arrs[] = {
	M_ARR(nfs, fs), M_ARR(nnet, net), M_ARR(ngpu, gpu), M_ARR(ntemp, temp),
	M_ARR(nfan, fan),
};

_Static_assert(M_OFF(nfs) < M_OFF(fs) && M_END(fs) <= M_OFF(nnet) &&
    M_OFF(nnet) < M_OFF(net) && M_END(net) <= M_OFF(ngpu) &&
    M_OFF(ngpu) < M_OFF(gpu) && M_END(gpu) <= M_OFF(ntemp) &&
    M_OFF(ntemp) < M_OFF(temp) && M_END(temp) <= M_OFF(nfan) &&
    M_OFF(nfan) < M_OFF(fan), "mc_metrics: each count before its array, "
    "the arrays in m_arrs' order");

#define M_NARR	(sizeof(m_arrs) / sizeof(m_arrs[0]))

static size_t
m_used(const unsigned char *m, const struct m_arr *r)
{
	int n;

	memcpy(&n, m + r->count_off, sizeof(n));
	return (size_t)n * r->size;
}

static size_t
metrics_packed_len(const struct mc_metrics *m)
{
	const unsigned char *s = (const unsigned char *)m;
	size_t len = sizeof(*m), i;

	for (i = 0; i < M_NARR; i++)
		len -= (m_arrs[i].end - m_arrs[i].off) - m_used(s, &m_arrs[i]);
	return len;
}

static void
metrics_pack(const struct mc_metrics *m, unsigned char *p)
{
	const unsigned char *s = (const unsigned char *)m;
	size_t pos = 0, n, i;

	for (i = 0; i < M_NARR; i++) {
		memcpy(p, s + pos, n = m_arrs[i].off - pos);
		p += n;
		memcpy(p, s + m_arrs[i].off, n = m_used(s, &m_arrs[i]));
		p += n;
		pos = m_arrs[i].end;
	}
	memcpy(p, s + pos, sizeof(*m) - pos);
}

/* Every array of m is valid up to its count; the slots past it are not
 * cleared (17 KiB for each agent an API answer lists). */
int
hub_agent_metrics(const struct hub_agent *a, struct mc_metrics *m)
{
	const unsigned char *p = a->metrics;
	unsigned char *d = (unsigned char *)m;
	size_t pos = 0, n, i;

	if (!a->have_metrics)
		return -1;
	for (i = 0; i < M_NARR; i++) {
		memcpy(d + pos, p, n = m_arrs[i].off - pos);
		p += n;
		/* the count came with the run just copied */
		memcpy(d + m_arrs[i].off, p, n = m_used(d, &m_arrs[i]));
		p += n;
		pos = m_arrs[i].end;
	}
	memcpy(d + pos, p, sizeof(*m) - pos);
	return 0;
}

int
hub_agent_metrics_keep(struct hub_agent *a, const struct mc_metrics *m)
{
	size_t len = metrics_packed_len(m);
	unsigned char *p = a->metrics;
	int i;

	if (len != a->metrics_len && (p = realloc(p, len)) == NULL)
		return -1;
	metrics_pack(m, p);
	a->metrics = p;
	a->metrics_len = len;
	a->have_metrics = 1;
	a->g.cpu = mc_metrics_cpu_pct(m);
	a->g.mem = mc_metrics_mem_pct(m);
	a->g.disk = mc_metrics_disk_pct(m);
	a->g.rx = a->g.tx = 0;
	for (i = 0; i < m->nnet; i++) {
		a->g.rx += m->net[i].rx_bps;
		a->g.tx += m->net[i].tx_bps;
	}
	a->g.uptime = m->uptime;
	hub_hw_keep(&a->g, m);
	return 0;
}

static void
agent_write_metrics(struct mc_jw *w, const struct hub_agent *a)
{
	struct mc_metrics m;

	if (hub_agent_metrics(a, &m) == 0) {
		mc_metrics_write(w, "metrics", &m);
		hub_hw_write_gpus(w, &m);
	} else {
		mc_jw_null(w, "metrics");
	}
}

void
hub_agent_write(struct mc_jw *w, const struct hub_agent *a, int with_metrics)
{
	int i;

	mc_jw_obj(w, NULL);
	mc_jw_str(w, "name", a->name);
	mc_jw_str(w, "status", hub_status_name(a->status));
	mc_jw_bool(w, "connected", a->conn != NULL);
	if (a->last_seen > 0)
		mc_jw_dbl(w, "last_seen", a->last_seen);
	else
		mc_jw_null(w, "last_seen");
	mc_jw_dbl(w, "since", a->since);
	mc_jw_str(w, "hostname", a->hostname);
	mc_jw_str(w, "os", a->os);
	mc_jw_str(w, "kernel", a->kernel);
	mc_jw_str(w, "arch", a->arch);
	mc_jw_i64(w, "cpus", a->cpus);
	mc_jw_u64(w, "mem_total", a->mem_total);
	mc_jw_str(w, "version", a->version);
	mc_jw_arr(w, "tags");
	for (i = 0; i < a->ntags; i++)
		mc_jw_str(w, NULL, a->tags[i]);
	hub_gitcfg_write_tags(w, a);
	mc_jw_arr_end(w);
	hub_gitcfg_write_agent(w, a);
	mc_jw_arr(w, "trust");
	for (i = 0; i < a->ntrust; i++)
		mc_jw_str(w, NULL, a->trust[i]);
	mc_jw_arr_end(w);
	mc_jw_bool(w, "require_signed", a->require_signed);
	if (a->have_metrics) {
		mc_jw_dbl(w, "cpu", a->g.cpu);
		mc_jw_dbl(w, "mem", a->g.mem);
		mc_jw_dbl(w, "disk", a->g.disk);
		mc_jw_dbl(w, "rx", a->g.rx);
		mc_jw_dbl(w, "tx", a->g.tx);
		mc_jw_u64(w, "uptime", a->g.uptime);
		hub_hw_write(w, a);
	} else {
		mc_jw_null(w, "cpu");
		mc_jw_null(w, "mem");
		mc_jw_null(w, "disk");
		mc_jw_null(w, "rx");
		mc_jw_null(w, "tx");
		mc_jw_null(w, "uptime");
	}
	hub_ctr_write_counts(w, a);
	hub_alert_write_incident(w, a);
	if (with_metrics)
		agent_write_metrics(w, a);
	mc_jw_obj_end(w);
}

