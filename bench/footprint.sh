#!/bin/sh
# bench/footprint.sh - the listener's footprint on this machine.
#
#   bench/footprint.sh [MINUTES]     (default 10)
#
# Starts a hub on 127.0.0.1 (10 s heartbeat, the production default) and
# one listener, then prints: stripped size, RSS and PSS after 60 s, and the
# listener's CPU seconds (user+system, from /proc/PID/stat) over MINUTES.
# Figures go to stdout as a Markdown table.
set -eu

B=${MAESTRO_BUILD:-build}
MIN=${1:-10}
W=$(mktemp -d /tmp/maestro-footprint.XXXXXX)
PORT=$((20000 + $$ % 20000))
hub_pid=""
lst_pid=""
cleanup() {
	for p in $lst_pid $hub_pid; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $lst_pid $hub_pid; do wait "$p" 2>/dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

"$B/maestro-hub" --listen "127.0.0.1:$PORT" --data "$W/hub" --insecure-no-tls \
	--heartbeat 10 2>"$W/hub.log" &
hub_pid=$!
i=0
until curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "hub did not start" >&2; exit 1; }
	sleep 0.1
done
KEY=$(curl -fs -H "Authorization: Bearer $(cat "$W/hub/admin.token")" -d '{}' \
	"http://127.0.0.1:$PORT/api/enroll-keys" | sed 's/.*"key":"\([^"]*\)".*/\1/')
"$B/maestro-listener" --hub "ws://127.0.0.1:$PORT" --name footprint \
	--enroll-key "$KEY" --state-dir "$W/state" 2>"$W/lst.log" &
lst_pid=$!

strip -o "$W/listener.stripped" "$B/maestro-listener"
size=$(stat -c %s "$W/listener.stripped")

ticks() {
	# utime + stime, fields 14 and 15 of /proc/PID/stat (after the comm)
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
hz=$(getconf CLK_TCK)
sleep 60
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$lst_pid/status")
pss=$(awk '/^Pss:/ { print $2 }' "/proc/$lst_pid/smaps_rollup")
t0=$(ticks "$lst_pid")
sleep $((MIN * 60))
t1=$(ticks "$lst_pid")
cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
hb=$(grep -c . "$W/lst.log" || true)

echo "| figure | value |"
echo "| --- | --- |"
echo "| stripped listener | $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1048576 }') MiB) |"
echo "| RSS after 60 s | $rss KiB |"
echo "| PSS after 60 s | $pss KiB |"
echo "| CPU over $MIN min at a 10 s heartbeat | $cpu s (clock ticks of $((1000 / hz)) ms) |"
echo "| listener log lines | $hb |"
