#!/bin/sh
# bench/wakeups.sh - how often heartbeats wake the hub: real listeners
# against swarm's two timings, to check swarm's timing model.
#
#   bench/wakeups.sh [-n AGENTS] [-b HEARTBEAT] [-w SECONDS] [-r RUNS] [MODE...]
#
#   MODE  idle         the hub alone (its own timers)
#         listeners    AGENTS real maestro-listener processes
#         independent  one swarm process, --timing independent (default)
#         wheel        one swarm process, --timing wheel
#   default: -n 200 -b 1 -w 30 -r 1, all four modes; with -r R the modes
#   take turns R times, and a table of medians follows.
#
# Each mode of each run gets a fresh hub: 127.0.0.1 on a free port,
# --insecure-no-tls (plain WebSocket), --heartbeat HEARTBEAT, its own data
# directory, and an enrollment key with AGENTS uses.  Listeners are
# started at random times within one heartbeat interval (so their beats
# have unrelated phases, as a fleet's do), each with its own --name and
# --state-dir.  Once all are online and two intervals have passed, the
# hub is watched for -w seconds (30 by default: a listener's lws pings
# the hub every 30 s, so every listener pings once in the window):
#
#   wake-ups/s     voluntary context switches of the hub's event-loop
#                  thread (/proc/PID/task/PID/status): each is the loop
#                  going to sleep in epoll_wait and being woken
#   epoll_wait/s   the loop's epoll_wait calls (perf stat on that thread,
#                  when perf can read syscall tracepoints here; else -)
#   heartbeats/s   from the hub's /metrics
#   hub CPU        user + system time of the whole hub, % of one core
#   load           /proc/loadavg (1, 5, 15 min) at the end of the window
#
# Everything this starts is stopped by its PID.  Needs build/maestro-hub,
# build/maestro-listener (make) and build/swarm (make bench), curl and
# python3 (to find a free port).  Prints a Markdown table.
set -eu

B=${MAESTRO_BUILD:-build}
N=200
HB=1
WIN=30
RUNS=1
usage() {
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while getopts n:b:w:r:h opt; do
	case $opt in
	n) N=$OPTARG ;;
	b) HB=$OPTARG ;;
	w) WIN=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- idle listeners independent wheel
for m in "$@"; do
	case $m in
	idle | listeners | independent | wheel) ;;
	*) echo "wakeups: unknown mode '$m'" >&2; usage ;;
	esac
done
for prog in maestro-hub maestro-listener swarm; do
	[ -x "$B/$prog" ] || { echo "wakeups: $B/$prog is missing (make all bench)" >&2; exit 1; }
done
TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d /tmp/maestro-wakeups.XXXXXX)
HUB=""
PIDS=""
PERF=""
ROWS=$WORK/rows

# Is PID running (not gone, not a zombie waiting to be reaped)?
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)
	[ "$st" != Z ]
}

# TERM each PID given, wait up to 15 s for all, then KILL what is left.
stop_pids() {
	[ $# -gt 0 ] || return 0
	for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
	i=0
	while [ $i -lt 150 ]; do
		left=0
		for p in "$@"; do
			if alive "$p"; then left=1; break; fi
		done
		[ $left -eq 1 ] || break
		sleep 0.1
		i=$((i + 1))
	done
	for p in "$@"; do
		if alive "$p"; then
			echo "wakeups: $p did not stop; killing it" >&2
			kill -KILL "$p" 2>/dev/null || true
		fi
		wait "$p" 2>/dev/null || true
	done
}

cleanup() {
	# agents first (their goodbyes go to a live hub), then the hub
	# shellcheck disable=SC2086
	stop_pids $PERF $PIDS
	# shellcheck disable=SC2086
	stop_pids $HUB
	PERF=""
	PIDS=""
	HUB=""
}
trap 'cleanup; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start a hub in $1 (a directory); sets HUB and PORT.
hub_start() {
	tries=0
	while [ $tries -lt 5 ]; do
		tries=$((tries + 1))
		PORT=$(free_port)
		"$B/maestro-hub" --listen "127.0.0.1:$PORT" --data "$1/hub" \
			--insecure-no-tls --heartbeat "$HB" --log-level warn \
			--handshake-per-ip 0 --connections-per-ip 0 \
			2>>"$1/hub.log" &
		HUB=$!
		i=0
		while [ $i -lt 100 ] && alive "$HUB"; do
			if curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
				TOKEN=$(cat "$1/hub/admin.token")
				return 0
			fi
			sleep 0.1
			i=$((i + 1))
		done
		stop_pids "$HUB"
		HUB=""
	done
	echo "wakeups: the hub did not start; see $1/hub.log" >&2
	exit 1
}

api() {
	curl -fs -H "Authorization: Bearer $TOKEN" "$@"
}

online() {
	curl -fs "http://127.0.0.1:$PORT/healthz" |
		sed -n 's/.*"online":\([0-9]*\).*/\1/p'
}

enroll_key() {
	api -d "{\"uses\":$N}" "http://127.0.0.1:$PORT/api/enroll-keys" |
		sed -n 's/.*"key":"\([^"]*\)".*/\1/p'
}

heartbeats() {
	api "http://127.0.0.1:$PORT/metrics" |
		awk '$1 == "maestro_heartbeats_total" { print $2 }'
}

wakeups() {
	awk '$1 == "voluntary_ctxt_switches:" { print $2 }' \
		"/proc/$HUB/task/$HUB/status"
}

cpu_ticks() {
	sed 's/.*) //' "/proc/$HUB/stat" | awk '{ print $12 + $13 }'
}

# perf stat on the hub's loop thread, when it works here.
perf_ok() {
	command -v perf >/dev/null 2>&1 &&
		perf stat -x, -e syscalls:sys_enter_epoll_wait -t "$HUB" \
			-o /dev/null -- sleep 0.1 >/dev/null 2>&1
}

start_listeners() {
	key=$1
	awk -v n="$N" -v hb="$HB" -v seed="$$$(date +%N)" \
		'BEGIN { srand(seed % 2147483647); for (i = 1; i <= n; i++) printf "%.3f\n", rand() * hb }' \
		>"$W/delays"
	k=0
	while read -r d; do
		k=$((k + 1))
		(
			sleep "$d"
			exec "$B/maestro-listener" --hub "ws://127.0.0.1:$PORT" \
				--name "wk-$k" --enroll-key "$key" \
				--state-dir "$W/l/$k" --log-level warn
		) 2>>"$W/listeners.log" &
		PIDS="$PIDS $!"
	done <"$W/delays"
}

one() {
	mode=$1
	run=$2
	W=$WORK/$mode.$run
	mkdir -p "$W"
	hub_start "$W"
	if [ "$mode" != idle ]; then
		key=$(enroll_key)
		[ -n "$key" ] || { echo "wakeups: no enrollment key" >&2; exit 1; }
		case $mode in
		listeners) start_listeners "$key" ;;
		*)
			"$B/swarm" --hub "ws://127.0.0.1:$PORT" --agents "$N" \
				--enroll-key "$key" --creds "$W/swarm.creds" \
				--timing "$mode" --log-level warn \
				>"$W/swarm.out" 2>"$W/swarm.log" &
			PIDS=$!
			;;
		esac
		i=0
		until [ "$(online)" = "$N" ]; do
			i=$((i + 1))
			if [ $i -gt 600 ]; then
				echo "wakeups: $mode: only $(online) of $N online after 60 s" >&2
				exit 1
			fi
			sleep 0.1
		done
		# every agent past its first beats, and in its own rhythm
		sleep "$(awk -v hb="$HB" 'BEGIN { print 2 * hb + 2 }')"
	fi
	perf_file=""
	if [ "$USE_PERF" = 1 ]; then
		perf_file=$W/perf
		perf stat -x, -e syscalls:sys_enter_epoll_wait -t "$HUB" \
			-o "$perf_file" -- sleep "$WIN" >/dev/null 2>&1 &
		PERF=$!
	fi
	v0=$(wakeups)
	c0=$(cpu_ticks)
	h0=$(heartbeats)
	t0=$(date +%s.%N)
	sleep "$WIN"
	v1=$(wakeups)
	c1=$(cpu_ticks)
	h1=$(heartbeats)
	t1=$(date +%s.%N)
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	if [ -n "$PERF" ]; then
		# it ends on its own with its sleep; TERM would lose the count
		i=0
		while [ $i -lt 50 ] && alive "$PERF"; do
			sleep 0.1
			i=$((i + 1))
		done
		stop_pids "$PERF"
		PERF=""
	fi
	ep=-
	if [ -n "$perf_file" ] && [ -s "$perf_file" ]; then
		ep=$(awk -F, -v s="$WIN" '$3 ~ /epoll_wait/ && $1 ~ /^[0-9]+$/ { printf "%.1f", $1 / s }' "$perf_file")
		[ -n "$ep" ] || ep=-
	fi
	cleanup
	awk -v m="$mode" -v r="$run" -v v="$((v1 - v0))" -v c="$((c1 - c0))" \
		-v h0="$h0" -v h1="$h1" -v t0="$t0" -v t1="$t1" -v tck="$TCK" \
		-v ep="$ep" -v load="$load" 'BEGIN {
		dt = t1 - t0
		hb = (h1 - h0) / dt
		wk = v / dt
		printf "%s %s %.1f %.1f %s %s %.2f %s\n", m, r, hb, wk, ep,
		    (wk > 0 && hb > 0) ? sprintf("%.2f", hb / wk) : "-",
		    c / tck / dt * 100, load
	}' >>"$ROWS"
	tail -n 1 "$ROWS" | awk '{ printf "| %s | %s | %s | %s | %s | %s | %s %% | %s %s %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'
}

USE_PERF=0
probe=$WORK/probe
mkdir -p "$probe"
hub_start "$probe"
if perf_ok; then USE_PERF=1; fi
cleanup

echo "$N agents, heartbeat ${HB} s, ${WIN} s window, plain WebSocket on 127.0.0.1, $(nproc) CPUs"
echo
echo "| mode | run | heartbeats/s | hub wake-ups/s | epoll_wait/s | heartbeats per wake-up | hub CPU | load (1, 5, 15 min) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
r=1
while [ $r -le "$RUNS" ]; do
	for m in "$@"; do one "$m" "$r"; done
	r=$((r + 1))
done

median() {
	# column $2 of mode $1's rows
	awk -v m="$1" -v c="$2" '$1 == m && $c != "-" { print $c }' "$ROWS" |
		sort -n | awk '{ a[NR] = $1 } END {
		if (NR == 0) print "-"
		else if (NR % 2) print a[(NR + 1) / 2]
		else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

if [ "$RUNS" -gt 1 ]; then
	echo
	echo "| mode | median of $RUNS: heartbeats/s | hub wake-ups/s | epoll_wait/s | heartbeats per wake-up | hub CPU | load (1 min) |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	for m in "$@"; do
		echo "| $m | $(median "$m" 3) | $(median "$m" 4) | $(median "$m" 5) | $(median "$m" 6) | $(median "$m" 7) % | $(median "$m" 8) |"
	done
fi
