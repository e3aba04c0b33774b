#!/bin/sh
# `make run`: a hub on 127.0.0.1 with its data in ./.maestro/, one local
# listener named "demo" enrolled to it, .maestro/env for hubctl, and what
# to type next.  Ctrl-C stops both.
#   MAESTRO_PORT      the hub's port (default 8443)
#   MAESTRO_DEMO_DIR  where its files go (default ./.maestro)
set -eu

B=$(cd "${MAESTRO_BUILD:-build}" && pwd)
PORT=${MAESTRO_PORT:-8443}
DIR=${MAESTRO_DEMO_DIR:-$PWD/.maestro}
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
# what to tell the user to type: short when it is the usual place
SHOW=$DIR
[ "$DIR" = "$PWD/.maestro" ] && SHOW=.maestro
DATA=$DIR/hub
STATE=$DIR/demo-listener
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
chmod 700 "$DIR"
# an operator key for the tour's signed command (hubctl key create makes
# one under ~/.config/maestro/keys; this one stays with the demo)
[ -e "$DIR/demo.key" ] || (umask 077 &&
	openssl genpkey -algorithm ed25519 -out "$DIR/demo.key")
# the fleet's configuration in git (docs/config.md): a bare repository the
# hub follows and a clone of it to edit, with one rule to start from; and
# a repository the hub commits what the API changes to (backup_repo)
if [ ! -d "$DIR/fleet.git" ]; then
	git init -q --bare -b main "$DIR/fleet.git"
	git clone -q "$DIR/fleet.git" "$DIR/fleet" 2>/dev/null
	git -C "$DIR/fleet" checkout -q -b main
	git -C "$DIR/fleet" config user.name "${USER:-operator}"
	git -C "$DIR/fleet" config user.email "${USER:-operator}@localhost"
	echo "disk_used_pct > 95 for 10m" >"$DIR/fleet/rules.conf"
	echo 'demo description="make run'"'"'s listener" owner=you' \
		>"$DIR/fleet/agents.conf"
	git -C "$DIR/fleet" add rules.conf agents.conf
	git -C "$DIR/fleet" commit -qm "the demo's first rule"
	git -C "$DIR/fleet" push -q origin main
fi
"$B/maestro-hub" --listen "127.0.0.1:$PORT" --data "$DATA" \
	--config-repo "$DIR/fleet.git" --backup-repo "$DIR/backup.git" \
	2>>"$DIR/hub.log" &
hub_pid=$!

# Wait (bounded) for the hub to answer.
i=0
until curl -fsk "$HUB/healthz" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$hub_pid" 2>/dev/null; then
		echo "maestro: the hub did not start; see $SHOW/hub.log:" >&2
		tail -5 "$DIR/hub.log" >&2
		exit 1
	fi
	sleep 0.1
done

FP=sha256:$(openssl x509 -in "$DATA/tls/cert.pem" -noout -fingerprint -sha256 |
	sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
# hubctl finds the hub, its certificate and the token in the environment
cat >"$DIR/env" <<ENV
# . $SHOW/env - hubctl on PATH, pointed at the hub of \`make run\`
export PATH="$B:\$PATH"
export MAESTRO_HUB=$HUB
export MAESTRO_FINGERPRINT=$FP
export MAESTRO_TOKEN_FILE=$DATA/admin.token
ENV
export MAESTRO_HUB="$HUB" MAESTRO_FINGERPRINT="$FP" \
	MAESTRO_TOKEN_FILE="$DATA/admin.token"
CTL=$B/hubctl

if [ ! -f "$STATE/credential" ]; then
	KEY=$($CTL enroll-key create --uses 1 --expires 10m)
	set -- --enroll-key "$KEY"
else
	set --
fi
"$B/maestro-listener" --hub "wss://127.0.0.1:$PORT" --name demo \
	--tags demo --state-dir "$STATE" --fingerprint "$FP" "$@" \
	2>>"$DIR/listener.log" &
lst_pid=$!

i=0
until $CTL agents 2>/dev/null | grep -q " online "; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$lst_pid" 2>/dev/null; then
		echo "maestro: the listener did not come online; see $SHOW/listener.log:" >&2
		tail -5 "$DIR/listener.log" >&2
		exit 1
	fi
	sleep 0.1
done

cat <<MSG

Maestro is running.
  Dashboard:    $HUB/
                sign in with the token in $SHOW/hub/admin.token; the certificate
                is self-signed, so the browser warns once: its fingerprint is
                $FP
  Logs:         $SHOW/hub.log, $SHOW/listener.log

In another terminal, in this directory (the README's tour goes on from here):
  . $SHOW/env
  hubctl agents
  hubctl send demo shell -- uname -a

Ctrl-C stops the hub and the listener.
MSG
wait "$hub_pid"
