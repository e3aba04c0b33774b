#!/bin/sh
# `make run`: a hub on 127.0.0.1 with its data in ./.maestro/, one local
# listener enrolled to it, and what to type next.  Ctrl-C stops both.
set -eu

B=${MAESTRO_BUILD:-build}
PORT=${MAESTRO_PORT:-8443}
DATA=$PWD/.maestro/hub
STATE=$PWD/.maestro/listener
HUB=https://127.0.0.1:$PORT
hub_pid=""
lst_pid=""

stop() {
	trap - INT TERM EXIT
	echo
	echo "maestro: stopping"
	# the listener first, so it says goodbye to a hub that still listens
	for pid in $lst_pid $hub_pid; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	exit 0
}
trap stop INT TERM EXIT

mkdir -p "$DATA" "$STATE"
chmod 700 "$PWD/.maestro"
"$B/maestro-hub" --listen "127.0.0.1:$PORT" --data "$DATA" \
	2>>"$PWD/.maestro/hub.log" &
hub_pid=$!

# Wait (bounded) for the hub to answer.
i=0
until curl -fsk "$HUB/healthz" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$hub_pid" 2>/dev/null; then
		echo "maestro: the hub did not start; see .maestro/hub.log:" >&2
		tail -5 "$PWD/.maestro/hub.log" >&2
		exit 1
	fi
	sleep 0.1
done

FP=sha256:$(openssl x509 -in "$DATA/tls/cert.pem" -noout -fingerprint -sha256 |
	sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
cat >"$PWD/.maestro/hubctl.conf" <<CONF
hub = $HUB
fingerprint = $FP
token_file = $DATA/admin.token
CONF
chmod 600 "$PWD/.maestro/hubctl.conf"
CTL="$B/hubctl --config $PWD/.maestro/hubctl.conf"

if [ ! -f "$STATE/credential" ]; then
	KEY=$($CTL enroll-key create --uses 1 --expires 10m)
	set -- --enroll-key "$KEY"
else
	set --
fi
"$B/maestro-listener" --hub "wss://127.0.0.1:$PORT" --name "$(hostname)-demo" \
	--tags demo --state-dir "$STATE" --fingerprint "$FP" "$@" \
	2>>"$PWD/.maestro/listener.log" &
lst_pid=$!

i=0
until $CTL agents 2>/dev/null | grep -q " online "; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$lst_pid" 2>/dev/null; then
		echo "maestro: the listener did not come online; see .maestro/listener.log:" >&2
		tail -5 "$PWD/.maestro/listener.log" >&2
		exit 1
	fi
	sleep 0.1
done

cat <<MSG

Maestro is running.
  Dashboard:    $HUB/   (self-signed certificate $FP)
  Admin token:  $DATA/admin.token
  Logs:         .maestro/hub.log, .maestro/listener.log

Try:
  $CTL agents
  $CTL send $(hostname)-demo shell -- uname -a

Ctrl-C stops the hub and the listener.
MSG
wait "$hub_pid"
