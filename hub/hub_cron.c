/*
 * hub_cron.c - the hub's periodic jobs, run on the service thread.
 *
 * Jobs, in order, each tick:
 *  - self-watch: a tick late by seconds is a stalled loop; alert channels
 *    that delivered nothing for long (hub_selfwatch.c);
 *  - liveness: the agents overdue against the clock (online/late/
 *    critical), and the last_seen writes due, in one job (hub_live.c);
 *  - alerts: the batch leaves when due, storms close, flapping agents
 *    settle, silences end, alert tests past their deadline are answered
 *    (hub_alert.c; right after liveness, so a critical's alert can leave
 *    in the tick that decided it);
 *  - commands: those with no result long after their timeout become lost;
 *  - updates: every container_update_every, a roll for the containers
 *    labelled maestro.update=auto that are behind (hub_update.c);
 *  - admission: close connections with no request past handshake_timeout
 *    (hub_admit.c); forget addresses whose failed logins calmed down
 *    (hub_guard.c);
 *  - ui: push the agents whose metrics changed (at most once a second),
 *    close UI sessions that did not sign in or whose token was revoked;
 *  - terminals: the same for /ws/term clients (hub_term_client.c);
 *  - history: write the finished minute of every agent that reported, roll
 *    up finished quarters, prune past history_retention (hub_series.c);
 *  - store: an event and an alert when the store starts or stops failing
 *    (hub_db.c);
 *  - retention: a batch of expired events, alerts, commands and terminal
 *    recordings deleted, the database's size read (hub_retain.c, every
 *    10 s);
 *  - backup: the changes noted this tick become one snapshot for the
 *    backup's git thread; pushes that start or stop failing are said
 *    (hub_backup_note.c);
 *  - cluster: this hub's figures to the bus thread (every second), the
 *    hubs it read, the events and alerts of hubs that went down or came
 *    back (hub_bus.c);
 *  - deadman: ask for a ping of deadman_url every deadman_every
 *    (hub_deadman.c; from the loop, so a stalled loop stops them);
 *  - watchdog: ping systemd (WatchdogSec=) from the loop itself;
 *  - signals: SIGTERM/SIGINT stop the loop, SIGHUP reloads (flags set by
 *    the handlers, acted on here so no work happens in a signal handler).
 * The tick is a quarter of the heartbeat interval (50 ms to 250 ms), so
 * a status change is decided within a quarter interval of being due, and
 * an alert leaves within 1 s of its agent's critical moment even with a
 * long heartbeat (250 ms to decide, at most storm_window in the batch,
 * 250 ms to flush).
 * No job looks at every agent per tick: at 19,000 agents a scan cost a
 * fifth of the hub's CPU (hub_live.c keeps its agents in order instead).
 */
#include "hub.h"
#include "mc_sd.h"
#include "mc_util.h"

/* systemd's watchdog, fed from the loop: if the loop stalls, the pings
 * stop and systemd restarts the hub. */
static void
watchdog(double now)
{
	static double next;
	double every = mc_sd_watchdog_every();

	if (every <= 0 || now < next)
		return;
	mc_sd_notify("WATCHDOG=1");
	next = now + every;
}

double
hub_cron_period(void)
{
	double p = hub.conf.heartbeat / 4;

	if (p < 0.05)
		p = 0.05;
	if (p > 0.25)
		p = 0.25;
	return p;
}

void
hub_cron_tick(double now)
{
	hub_selfwatch_tick(now);
	hub_live_tick(now);
	hub_alert_tick(now);
	hub_cmd_expire(now);
	hub_cmd_adopt_cron(now);
	hub_update_cron(now);
	hub_roll_cron(now);
	hub_admit_cron(now);
	hub_guard_cron(now);
	hub_bus_cron(now);
	hub_deadman_cron(now);
	hub_retain_cron(now);
	hub_ui_cron(now);
	hub_term_cron(now);
	hub_series_cron(mc_wall());
	hub_backup_cron(now);
	hub_db_watch();
	hub_db_find_cron(now);
	hub_silence_sync_cron(now);
	hub_push_sync_cron(now);
	watchdog(now);
	if (hub.reload) {
		hub.reload = 0;
		hub_conf_reload();
	}
}
