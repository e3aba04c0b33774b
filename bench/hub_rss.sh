#!/bin/sh
# bench/hub_rss.sh - the hub's memory with real listeners connected.
#
#   bench/hub_rss.sh [N...]          (default: 1 100)
#
# For each N: a fresh hub on 127.0.0.1 (TLS, 10 s heartbeat), N real
# listeners enrolled and online, then the hub's RSS 20 s later (after a
# heartbeat round).  Prints a Markdown table.
set -eu

B=${MAESTRO_BUILD:-build}
[ $# -gt 0 ] || set -- 1 100

one_run() {
	n=$1
	W=$(mktemp -d /tmp/maestro-hubrss.XXXXXX)
	PORT=$((20000 + ($$ + n) % 20000))
	pids=""
	"$B/maestro-hub" --listen "127.0.0.1:$PORT" --data "$W/hub" \
		--heartbeat 10 2>"$W/hub.log" &
	hub=$!
	i=0
	until curl -fsk "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "hub did not start" >&2; exit 1; }
		sleep 0.1
	done
	T=$(cat "$W/hub/admin.token")
	FP=sha256:$(openssl x509 -in "$W/hub/tls/cert.pem" -noout -fingerprint \
		-sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
	KEY=$(curl -fsk -H "Authorization: Bearer $T" -d '{}' \
		"https://127.0.0.1:$PORT/api/enroll-keys" |
		sed 's/.*"key":"\([^"]*\)".*/\1/')
	rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$hub/status")
	k=1
	while [ $k -le "$n" ]; do
		"$B/maestro-listener" --hub "wss://127.0.0.1:$PORT" \
			--name "rss-$k" --enroll-key "$KEY" --state-dir "$W/s$k" \
			--fingerprint "$FP" 2>/dev/null &
		pids="$pids $!"
		k=$((k + 1))
	done
	i=0
	until [ "$(curl -fsk -H "Authorization: Bearer $T" \
	    "https://127.0.0.1:$PORT/healthz" | sed 's/.*"online":\([0-9]*\).*/\1/')" = "$n" ]; do
		i=$((i + 1)); [ $i -lt 600 ] || { echo "not all online" >&2; break; }
		sleep 0.1
	done
	sleep 20
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$hub/status")
	echo "| $n | $rss0 KiB | $rss KiB | $(( (rss - rss0) / n )) KiB |"
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	kill -TERM "$hub"; wait "$hub" 2>/dev/null || true
	rm -rf "$W"
}

echo "| listeners | hub RSS before | hub RSS with them (after 20 s) | per listener |"
echo "| --- | --- | --- | --- |"
for n in "$@"; do one_run "$n"; done
