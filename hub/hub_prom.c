/*
 * hub_prom.c - GET /metrics: the hub's state in the Prometheus text
 * exposition format (version 0.0.4).
 *
 * Gauges are read from the live structures at scrape time (agents by
 * status, per-agent CPU, memory, disk, network and the hardware
 * summaries; each GPU and sensor in hub_prom_hw.c); counters that no
 * structure holds are kept here and bumped by their owners through the
 * hub_prom_*() hooks: commands by outcome (hub_cmd.c), alert deliveries by
 * channel and outcome (the alerting code), API requests refused by the
 * rate limit (hub_api.c).  A scrape costs O(agents); nothing here runs
 * between scrapes except those O(1) counters.
 *
 * Agent names are free text: label values are escaped as the format
 * requires (backslash, double quote, newline), so no name can forge a
 * sample.  Whether /metrics needs a token is the hub setting
 * metrics_public (default: a viewer token, because the per-agent series
 * name every machine; docs/api.md).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hub.h"
#include "mc_util.h"

/* distinct (channel, outcome) pairs counted; more are folded into the
 * last one, "other" */
#define PROM_ALERT_KINDS	32

struct alert_count {
	char		channel[32];
	char		outcome[32];
	uint64_t	n;
};

static struct {
	uint64_t		commands[CMD_EXPIRED + 1];
	struct alert_count	alerts[PROM_ALERT_KINDS];
	int			nalerts;
	uint64_t		rate_limited;
} pm;

void
hub_prom_command(enum hub_cmd_status st)
{
	if (st <= CMD_EXPIRED)
		pm.commands[st]++;
}

void
hub_prom_rate_limited(void)
{
	pm.rate_limited++;
}

void
hub_prom_alert(const char *channel, const char *outcome)
{
	struct alert_count *a;
	int i;

	for (i = 0; i < pm.nalerts; i++) {
		a = &pm.alerts[i];
		if (strcmp(a->channel, channel) == 0 &&
		    strcmp(a->outcome, outcome) == 0) {
			a->n++;
			return;
		}
	}
	if (pm.nalerts == PROM_ALERT_KINDS) {
		a = &pm.alerts[PROM_ALERT_KINDS - 1];
		mc_strlcpy(a->channel, "other", sizeof(a->channel));
		mc_strlcpy(a->outcome, "other", sizeof(a->outcome));
		a->n++;
		return;
	}
	a = &pm.alerts[pm.nalerts++];
	mc_strlcpy(a->channel, channel, sizeof(a->channel));
	mc_strlcpy(a->outcome, outcome, sizeof(a->outcome));
	a->n = 1;
}

/* ---- the exposition ---- */

/* A label value as the format wants it: \ " and newline escaped. */
void
hub_prom_label(struct mc_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			mc_buf_puts(b, "\\\\");
		else if (*s == '"')
			mc_buf_puts(b, "\\\"");
		else if (*s == '\n')
			mc_buf_puts(b, "\\n");
		else
			mc_buf_append(b, s, 1);
	}
}

void
hub_prom_family(struct mc_buf *b, const char *name, const char *type,
    const char *help)
{
	mc_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
write_agents_by_status(struct mc_buf *b)
{
	uint64_t n[HUB_STATUS_COUNT] = { 0 };
	struct hub_agent *a;
	int i;

	for (a = hub_agent_first(); a != NULL; a = a->next)
		if ((int)a->status < HUB_STATUS_COUNT)
			n[a->status]++;
	hub_prom_family(b, "maestro_agents", "gauge", "Agents by status.");
	for (i = 0; i < HUB_STATUS_COUNT; i++)
		mc_buf_printf(b, "maestro_agents{status=\"%s\"} %llu\n",
		    hub_status_name((enum hub_status)i),
		    (unsigned long long)n[i]);
}

/* A series of one value: its family line and the value. */
static void
one(struct mc_buf *b, const char *name, const char *type, const char *help,
    long long v)
{
	hub_prom_family(b, name, type, help);
	mc_buf_printf(b, "%s %lld\n", name, v);
}

static void
deadman_write(struct mc_buf *b)
{
	uint64_t ok, failed;

	if (!hub_deadman_stats(&ok, &failed))
		return;
	hub_prom_family(b, "maestro_deadman_pings_total", "counter",
	    "Pings of deadman_url, by outcome.");
	mc_buf_printf(b, "maestro_deadman_pings_total{outcome=\"ok\"} %llu\n",
	    (unsigned long long)ok);
	mc_buf_printf(b, "maestro_deadman_pings_total{outcome=\"failed\"} "
	    "%llu\n", (unsigned long long)failed);
}

static void
admit_write(struct mc_buf *b)
{
	struct hub_admit_stats st;

	hub_admit_stats(&st);
	one(b, "maestro_connections_in_handshake", "gauge",
	    "Connections accepted that have not sent their first request.",
	    st.handshakes);
	one(b, "maestro_connections_refused_busy_total", "counter",
	    "New connections closed before TLS because too many were in a "
	    "handshake already (a reconnect storm).",
	    (long long)st.refused_busy);
	one(b, "maestro_connections_refused_source_total", "counter",
	    "New connections closed before TLS because their address had too"
	    " many (handshake_per_ip, connections_per_ip).",
	    (long long)st.refused_source);
	one(b, "maestro_handshake_timeouts_total", "counter",
	    "Connections closed for making no request within "
	    "handshake_timeout.", (long long)st.timeouts);
	one(b, "maestro_auth_blocked_total", "counter",
	    "Requests answered 429 because their address failed to "
	    "authenticate too often (10 at once, 1 a second after).",
	    (long long)hub_guard_blocked());
}

static void
store_write(struct mc_buf *b)
{
	struct hub_db_health h;

	hub_db_health(&h);
	one(b, "maestro_db_queue", "gauge",
	    "Writes queued for the store, or held while it fails.",
	    (long long)h.queued);
	one(b, "maestro_store_failing", "gauge",
	    "1 while the store cannot commit (disk full, I/O error).",
	    h.failing);
	one(b, "maestro_store_failures_total", "counter",
	    "Commits that failed since the hub started (each is retried).",
	    (long long)h.failures);
	one(b, "maestro_store_dropped_total", "counter",
	    "Writes dropped because too many were held.",
	    (long long)h.dropped);
	one(b, "maestro_db_bytes", "gauge",
	    "Bytes of the store in use (hub.db's pages in use, or the "
	    "PostgreSQL database's size; read every 10 s).",
	    (long long)hub_retain_db_bytes());
	one(b, "maestro_loop_stalls_total", "counter",
	    "Times the hub's event loop did not run for 5 s or more.",
	    (long long)hub_selfwatch_stalls());
}

static void
write_counters(struct mc_buf *b)
{
	static const enum hub_cmd_status outcomes[] = { CMD_DONE, CMD_FAILED,
	    CMD_TIMEOUT, CMD_LOST, CMD_EXPIRED };
	size_t i;
	int k;

	hub_prom_family(b, "maestro_heartbeats_total", "counter",
	    "Heartbeats received since the hub started.");
	mc_buf_printf(b, "maestro_heartbeats_total %llu\n",
	    (unsigned long long)hub.stats.heartbeats);
	one(b, "maestro_heartbeats_missed_total", "counter",
	    "Heartbeats that did not come (a gap over 1.5 intervals counts "
	    "the intervals in it); the miss rate is missed / (missed + "
	    "received).", (long long)hub.stats.hb_missed);
	hub_prom_family(b, "maestro_agent_messages_total", "counter",
	    "Messages received from agents since the hub started.");
	mc_buf_printf(b, "maestro_agent_messages_total %llu\n",
	    (unsigned long long)hub.stats.agent_msgs);
	one(b, "maestro_peers_refused_total", "counter",
	    "Connections refused and closed (a bad message, a wrong "
	    "credential, ...); the hub log says why.",
	    (long long)hub.stats.refused);
	one(b, "maestro_heartbeats_bad_total", "counter",
	    "Heartbeats with a metric the protocol does not accept: the agent "
	    "stays connected and online, its previous metrics stay.",
	    (long long)hub.stats.hb_bad);
	admit_write(b);
	deadman_write(b);
	hub_gitcfg_prom(b);
	hub_backup_prom(b);
	hub_bus_prom(b);
	one(b, "maestro_results_acked_total", "counter",
	    "Command results acknowledged to listeners, each after its "
	    "commit.", (long long)hub.stats.acks);
	one(b, "maestro_results_unknown_total", "counter",
	    "Results for commands this hub does not run (ended before, or "
	    "never stored), acknowledged so the listener forgets them.",
	    (long long)hub.stats.results_unknown);
	hub_prom_family(b, "maestro_commands_total", "counter",
	    "Commands finished since the hub started, by outcome.");
	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		mc_buf_printf(b, "maestro_commands_total{outcome=\"%s\"} "
		    "%llu\n", hub_cmd_status_name(outcomes[i]),
		    (unsigned long long)pm.commands[outcomes[i]]);
	hub_prom_family(b, "maestro_alerts_total", "counter", "Alert "
	    "deliveries since the hub started, by channel and outcome.");
	for (k = 0; k < pm.nalerts; k++) {
		mc_buf_puts(b, "maestro_alerts_total{channel=\"");
		hub_prom_label(b, pm.alerts[k].channel);
		mc_buf_puts(b, "\",outcome=\"");
		hub_prom_label(b, pm.alerts[k].outcome);
		mc_buf_printf(b, "\"} %llu\n",
		    (unsigned long long)pm.alerts[k].n);
	}
	hub_prom_family(b, "maestro_api_rate_limited_total", "counter",
	    "API requests refused with 429 since the hub started.");
	mc_buf_printf(b, "maestro_api_rate_limited_total %llu\n",
	    (unsigned long long)pm.rate_limited);
	hub_prom_family(b, "maestro_ui_sessions", "gauge",
	    "Signed-in /ws/ui sessions (dashboards, hubctl watch).");
	mc_buf_printf(b, "maestro_ui_sessions %zu\n", hub_ui_count());
	store_write(b);
}

enum gauge { G_UP, G_CPU, G_MEM, G_DISK, G_RX, G_TX, G_SEEN, G_GPU_UTIL,
	G_GPU_MEM, G_GPU_TEMP, G_CPU_TEMP, G_COUNT };

static const struct {
	const char	*name, *help;
	int		 needs_metrics;
} gauges[G_COUNT] = {
	{ "maestro_agent_up", "1 if the agent is online, else 0.", 0 },
	{ "maestro_agent_cpu_percent", "CPU busy, percent, last heartbeat.",
	    1 },
	{ "maestro_agent_memory_percent", "Memory used, percent, last "
	    "heartbeat.", 1 },
	{ "maestro_agent_disk_percent", "Fullest filesystem, percent used, "
	    "last heartbeat.", 1 },
	{ "maestro_agent_network_receive_bytes_per_second", "Bytes received "
	    "per second over all interfaces, last heartbeat.", 1 },
	{ "maestro_agent_network_transmit_bytes_per_second", "Bytes sent per "
	    "second over all interfaces, last heartbeat.", 1 },
	{ "maestro_agent_last_seen_timestamp_seconds", "Unix time of the "
	    "agent's last sign of life.", 0 },
	/* the hardware summaries (hub_hw.c); per GPU: hub_prom_hw.c */
	{ "maestro_agent_gpu_percent", "The busiest GPU's utilisation, "
	    "percent, last heartbeat (no sample without a GPU).", 1 },
	{ "maestro_agent_gpu_memory_percent", "The highest GPU memory used, "
	    "percent, last heartbeat.", 1 },
	{ "maestro_agent_gpu_temperature_celsius", "The hottest GPU, degrees "
	    "Celsius, last heartbeat.", 1 },
	{ "maestro_agent_cpu_temperature_celsius", "The hottest CPU sensor, "
	    "degrees Celsius, last heartbeat.", 1 },
};

static double
gauge_value(const struct hub_agent *a, enum gauge g)
{
	switch (g) {
	case G_UP: return a->status == ST_ONLINE;
	case G_CPU: return a->g.cpu;
	case G_MEM: return a->g.mem;
	case G_DISK: return a->g.disk;
	case G_RX: return a->g.rx;
	case G_TX: return a->g.tx;
	case G_SEEN: return a->last_seen;
	case G_GPU_UTIL: return a->g.hw[HUB_HW_GPU_UTIL];
	case G_GPU_MEM: return a->g.hw[HUB_HW_GPU_MEM];
	case G_GPU_TEMP: return a->g.hw[HUB_HW_GPU_TEMP];
	case G_CPU_TEMP: return a->g.hw[HUB_HW_CPU_TEMP];
	default: return 0;
	}
}

static void
write_agent_gauges(struct mc_buf *b)
{
	struct hub_agent *a;
	double v;
	int g;

	for (g = 0; g < G_COUNT; g++) {
		hub_prom_family(b, gauges[g].name, "gauge", gauges[g].help);
		for (a = hub_agent_first(); a != NULL; a = a->next) {
			if (gauges[g].needs_metrics && !a->have_metrics)
				continue;
			if (g == G_SEEN && a->last_seen <= 0)
				continue;
			/* not measured yet: no sample, rather than a 0 */
			if (isnan(v = gauge_value(a, (enum gauge)g)))
				continue;
			mc_buf_printf(b, "%s{agent=\"", gauges[g].name);
			hub_prom_label(b, a->name);
			mc_buf_printf(b, "\"} %.15g\n", v);
		}
	}
}

void
hub_prom_write(struct mc_buf *b)
{
	hub_prom_family(b, "maestro_info", "gauge", "The hub's version.");
	mc_buf_printf(b, "maestro_info{version=\"%s\"} 1\n", MC_VERSION);
	write_agents_by_status(b);
	write_counters(b);
	write_agent_gauges(b);
	hub_prom_hw_write(b);
	hub_prom_ctr_write(b);
}
