/*
 * mc_sd.h - systemd's notify protocol, spoken directly (no libsystemd).
 *
 * Under a unit with Type=notify, systemd passes NOTIFY_SOCKET; with
 * WatchdogSec= it also passes WATCHDOG_USEC (and WATCHDOG_PID).  Outside
 * systemd every call is a harmless no-op.
 */
#ifndef MC_SD_H
#define MC_SD_H

/* Send a state such as "READY=1" or "WATCHDOG=1\nSTATUS=...".  0 when sent
 * or when not under systemd, -1 if the socket refused it. */
int	mc_sd_notify(const char *state);
/* Seconds between watchdog pings (half the unit's WatchdogSec), or 0 when
 * no watchdog is asked of this process. */
double	mc_sd_watchdog_every(void);

#endif
