#!/bin/sh
# install.sh - put a workstation under a Maestro hub.  Safe to run again
# (it upgrades in place and keeps the agent's identity); --uninstall undoes it.
#
# From the hub (it fills in its own address and certificate fingerprint):
#   curl -fsSLk https://HUB:8443/install.sh | sudo sh -s -- --enroll-key-file KEYFILE
#   (check the fingerprint it prints against the hub's log)
# From a checkout or a copied file:
#   sudo ./install.sh --hub wss://HUB:8443 --enroll-key-file KEYFILE --fingerprint sha256:HEX
# Several hubs of one cluster: --hub repeated, or one comma-separated list.
# A key in a file (or in $MAESTRO_ENROLL_KEY) stays out of `ps`; --enroll-key
# KEY works too, but every user of the machine can read it while this runs.
set -eu

# Filled in by the hub when it serves this file.
HUB_DEFAULT=""
FINGERPRINT_DEFAULT=""

PROG=install.sh
UNIT=maestro-listener.service

usage() {
	cat <<'USAGE'
usage: install.sh [--hub wss://HOST:PORT]... [--enroll-key-file FILE]
                  [--fingerprint sha256:HEX | --ca FILE | --insecure]
                  [--name NAME] [--tags a,b] [--run-as USER] [--allow KINDS]
                  [--trust KEYLINE]... [--require-signed]
                  [--binary FILE] [--sha256 HEX] [--root DIR] [--no-start]
       install.sh --uninstall [--purge] [--root DIR]

Installs /usr/local/bin/maestro-listener, /etc/maestro/listener.conf (0640),
the state dir /var/lib/maestro-listener (0700) and maestro-listener.service,
then enables and starts it and waits until the hub has welcomed the agent.

  --hub URL          the hub's agent address, wss://HOST:8443; for several
                     hubs of one cluster repeat it or give a comma list
                     (at most 8, all wss:// or all ws://): all of them go
                     into listener.conf, the listener picks one at random
                     and moves on when it fails, and this script downloads
                     from the first that answers; the pin (--fingerprint)
                     is the cluster's one shared certificate
  --enroll-key-file FILE
                     a file holding the key from `hubctl enroll-key create`
                     (needed the first time; $MAESTRO_ENROLL_KEY works too)
  --enroll-key KEY   the key itself: visible in `ps` while this runs
  --fingerprint FP   pin the hub's certificate (sha256:HEX, printed by the hub)
  --ca FILE          or verify the hub with this CA certificate
  --insecure         accept any certificate (not recommended)
  --name NAME        agent name (default: this machine's hostname)
  --tags a,b         tags, for filtering and fan-out
  --run-as USER      run shell commands as USER
  --allow KINDS      command kinds this machine accepts (default: all)
  --trust KEYLINE    trust this operator key ("ed25519:BASE64 NAME", as
                     `hubctl key create` prints it; quote it); repeatable,
                     one `trust =` line each
  --require-signed   run only commands signed by a trusted key
                     (require_signed = yes; needs --trust)
  --binary FILE      install this maestro-listener instead of downloading it
                     from the hub
  --sha256 HEX       expected SHA-256 of the binary (default: the hub's)
  --root DIR         install into DIR instead of / (packaging, tests); the
                     config then names the state dir inside DIR, and the
                     service is not started
  --no-start         install only; do not enable or start the service
  --uninstall        remove what this script installed
  --purge            with --uninstall: also remove the agent's identity
USAGE
}

say() { echo "$PROG: $*"; }
die() { echo "$PROG: $*" >&2; exit 1; }

hub=$HUB_DEFAULT fp=$FINGERPRINT_DEFAULT key=${MAESTRO_ENROLL_KEY:-} ca=""
insecure="" name=""
tags="" run_as="" allow="" binary="" sum="" root="" start=1 uninstall=""
purge="" trust="" require_signed="" hub_given=""
nl='
'
while [ $# -gt 0 ]; do
	case $1 in
	--hub|--enroll-key|--enroll-key-file|--fingerprint|--ca|--name|--tags|\
	--run-as|--allow|--binary|--sha256|--root|--trust)
		[ $# -ge 2 ] || { echo "$PROG: $1 needs a value" >&2; exit 2; }
		case $1 in
		--hub)
			# the first --hub replaces the served default; more add hubs
			hub=${hub_given:+$hub, }$2 hub_given=1 ;;
		--enroll-key) key=$2 ;; --fingerprint) fp=$2 ;;
		--enroll-key-file)
			[ -r "$2" ] || { echo "$PROG: cannot read the key file $2" >&2; exit 2; }
			key=$(head -n 1 "$2" | tr -d ' \t\r')
			[ -n "$key" ] || { echo "$PROG: the key file $2 is empty" >&2; exit 2; } ;;
		--ca) ca=$2 ;; --name) name=$2 ;; --tags) tags=$2 ;;
		--run-as) run_as=$2 ;; --allow) allow=$2 ;; --binary) binary=$2 ;;
		--sha256) sum=$2 ;; --root) root=$2 ;;
		--trust)
			case $2 in
			ed25519:*) trust="${trust}trust = $2$nl" ;;
			*) echo "$PROG: --trust needs a key line, ed25519:BASE64 NAME" >&2; exit 2 ;;
			esac ;;
		esac
		shift ;;
	--insecure) insecure=1; fp="" ;;
	--require-signed) require_signed=1 ;;
	--no-start) start="" ;;
	--uninstall) uninstall=1 ;;
	--purge) purge=1 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "$PROG: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

if [ -n "$require_signed" ] && [ -z "$trust" ]; then
	echo "$PROG: --require-signed needs a --trust key: without one no command could run" >&2
	exit 2
fi

bin=$root/usr/local/bin/maestro-listener
conf_dir=$root/etc/maestro
conf=$conf_dir/listener.conf
state=$root/var/lib/maestro-listener
unit=$root/etc/systemd/system/$UNIT
systemd=""
[ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null &&
	systemd=1

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
	die "run as root (sudo), or use --root DIR"
fi

uninstall() {
	if [ -n "$systemd" ]; then
		systemctl disable --now "$UNIT" >/dev/null 2>&1 || true
	fi
	rm -f "$bin" "$conf" "$unit"
	rmdir "$conf_dir" 2>/dev/null || true
	[ -n "$systemd" ] && systemctl daemon-reload
	if [ -n "$purge" ]; then
		rm -rf "$state"
		say "removed maestro-listener and its identity"
	else
		say "removed maestro-listener (its identity stays in $state; --purge removes it)"
	fi
}

if [ -n "$uninstall" ]; then
	uninstall
	exit 0
fi

# ---- where the hub is and how we trust it ----
if [ -z "$hub" ] && [ -f "$conf" ]; then
	hub=$(sed -n 's/^hub *= *//p' "$conf" | head -n 1)
	[ -n "$fp" ] || fp=$(sed -n 's/^fingerprint *= *//p' "$conf" | head -n 1)
	[ -n "$ca" ] || ca=$(sed -n 's/^ca *= *//p' "$conf" | head -n 1)
fi
[ -n "$hub" ] || die "--hub wss://HOST:PORT is required (see --help)"
# The hub list as listener.conf gets it ("a, b"), every URL checked: the
# listener would refuse the same at its start, after the install.
hubs="" scheme="" nhubs=0
for h in $(echo "$hub" | tr ',' ' '); do
	case $h in
	ws://*|wss://*) ;;
	*) die "--hub must start with wss:// (or ws:// for a hub without TLS): $h" ;;
	esac
	[ -z "$scheme" ] || [ "$scheme" = "${h%%://*}" ] ||
		die "--hub: every hub uses wss:// or every hub ws://: $h"
	scheme=${h%%://*}
	hubs=${hubs:+$hubs, }$h
	nhubs=$((nhubs + 1))
done
[ "$nhubs" -gt 0 ] || die "--hub wss://HOST:PORT is required (see --help)"
[ "$nhubs" -le 8 ] || die "--hub: at most 8 hubs"
hub=$hubs
# hub_at URL: the host:port and https:// address the checks and downloads use
hub_at() {
	hostport=${1#*://}
	hostport=${hostport%%/*}
	case $1 in
	wss://*) http=https://$hostport ;;
	*) http=http://$hostport ;;
	esac
}
if [ -z "$fp" ] && [ -z "$ca" ] && [ -z "$insecure" ] && [ "$scheme" = wss ]; then
	say "warning: no --fingerprint or --ca: the hub is checked against the system CAs"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/maestro-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# Check the hub certificate's SHA-256 fingerprint and pin its public key
# for curl, so the download is bound to the pinned certificate.  Returns 1
# (with why) when the hub at $hostport does not answer; a certificate that
# is not the pinned one stops the install (every hub of a cluster holds
# the same one).
pin_hub() {
	command -v openssl >/dev/null || die "openssl is needed to check the hub's fingerprint"
	if ! echo | openssl s_client -connect "$hostport" -servername "${hostport%:*}" \
		2>/dev/null | openssl x509 >"$tmp/hub.pem" 2>/dev/null; then
		why="cannot reach the hub at $hostport (is maestro-hub running there?)"
		return 1
	fi
	got=sha256:$(openssl x509 -in "$tmp/hub.pem" -noout -fingerprint -sha256 |
		sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
	want=$(echo "$fp" | sed 's/^sha256://; s/://g' | tr 'A-F' 'a-f')
	if [ "$got" != "sha256:$want" ]; then
		die "fingerprint mismatch: the hub at $hostport presents $got, expected sha256:$want; nothing installed"
	fi
	pin=sha256//$(openssl x509 -in "$tmp/hub.pem" -noout -pubkey |
		openssl pkey -pubin -outform der | openssl dgst -sha256 -binary |
		base64)
}

fetch() {
	# fetch PATH FILE
	if [ -n "$fp" ] && [ "$scheme" = wss ]; then
		curl -fsS --pinnedpubkey "$pin" -k -o "$2" "$http$1"
	elif [ -n "$ca" ]; then
		curl -fsS --cacert "$ca" -o "$2" "$http$1"
	elif [ -n "$insecure" ]; then
		curl -fsSk -o "$2" "$http$1"
	else
		curl -fsS -o "$2" "$http$1"
	fi
}

# get_from URL: check the hub at URL and download the listener from it.
# Returns 1 with why when it does not answer.
get_from() {
	hub_at "$1"
	if [ -n "$fp" ] && [ "$scheme" = wss ]; then
		pin_hub || return 1
	fi
	say "downloading maestro-listener from $http"
	if ! fetch /download/maestro-listener "$tmp/maestro-listener"; then
		why="cannot download the listener from $http/download/maestro-listener"
		return 1
	fi
}

# ---- the binary ----
if [ -z "$binary" ]; then
	command -v curl >/dev/null || die "curl is needed to download the listener (or pass --binary FILE)"
	# the first hub that answers serves the download and its checksum
	served="" why=""
	for h in $(echo "$hub" | tr ',' ' '); do
		if get_from "$h"; then
			served=1
			break
		fi
		[ "$nhubs" -gt 1 ] && say "$why; trying the next hub"
	done
	if [ -z "$served" ]; then
		[ "$nhubs" -gt 1 ] && why="none of the $nhubs hubs answered (last: $why)"
		die "$why"
	fi
	if [ -z "$sum" ]; then
		fetch /download/maestro-listener.sha256 "$tmp/sum" ||
			die "cannot download the checksum from the hub"
		sum=$(cut -d' ' -f1 "$tmp/sum")
	fi
	binary=$tmp/maestro-listener
fi
[ -f "$binary" ] || die "no such file: $binary"
if [ -n "$sum" ]; then
	got=$(sha256sum "$binary" | cut -d' ' -f1)
	[ "$got" = "$sum" ] ||
		die "checksum mismatch: $binary has sha256 $got, expected $sum; nothing installed"
	say "checksum ok ($sum)"
fi

# ---- files ----
mkdir -p "$root/usr/local/bin" "$conf_dir" "$state" "$(dirname "$unit")"
chmod 700 "$state"
upgrade=""
[ -f "$bin" ] && upgrade=1
cp "$binary" "$bin.new"
chmod 755 "$bin.new"
mv -f "$bin.new" "$bin"	# atomic: a running listener is never half-written

write_conf() {
	echo "# maestro-listener settings, written by install.sh (docs/config.md)"
	echo "hub = $hub"
	[ -n "$name" ] && echo "name = $name"
	[ -n "$tags" ] && echo "tags = $tags"
	[ -n "$fp" ] && echo "fingerprint = $fp"
	[ -n "$ca" ] && echo "ca = $ca"
	[ -n "$insecure" ] && echo "insecure = true"
	[ -n "$run_as" ] && echo "run_as = $run_as"
	[ -n "$allow" ] && echo "allow = $allow"
	[ -n "$trust" ] && printf '%s' "$trust"
	[ -n "$require_signed" ] && echo "require_signed = yes"
	[ -n "$key" ] && echo "enroll_key = $key"
	echo "state_dir = $state"
}
# Keep an existing config unless this run says something new.
if [ ! -f "$conf" ] ||
    [ -n "$name$tags$key$run_as$allow$ca$insecure$trust$require_signed" ] ||
    ! grep -q "^hub = $hub\$" "$conf"; then
	old_umask=$(umask)
	umask 027
	write_conf >"$conf.new"
	umask "$old_umask"
	chmod 640 "$conf.new"
	mv -f "$conf.new" "$conf"
fi

# systemd/maestro-listener.service.in with /usr/local for its PREFIX
cat >"$unit" <<'UNIT'
# maestro-listener, installed by install.sh.  Restart=on-failure: a stop
# command (exit 0) keeps it stopped, a crash brings it back; exit status 75
# is the listener asking for a fresh copy of itself (the restart command).
# It runs as root, and keeps these powers on purpose: setuid/setgid to run
# shell commands as the config's run_as user; the Docker socket (root or
# the docker group) for docker_ps/docker_restart; reading the session's
# Xauthority file and X socket for screenshots.  Narrow it with `allow =`
# in listener.conf, or run it as a plain user (User=) without those.
[Unit]
Description=Maestro listener (workstation agent)
After=network-online.target
Wants=network-online.target
# a self-update's new version that keeps dying is put back after its 3rd
# failed start (docs/operations.md): leave room for those starts
StartLimitIntervalSec=60
StartLimitBurst=10

[Service]
Type=notify
NotifyAccess=main
WatchdogSec=60
ExecStart=/usr/local/bin/maestro-listener --config /etc/maestro/listener.conf
Restart=on-failure
RestartForceExitStatus=75
SuccessExitStatus=75
RestartSec=2
KillMode=mixed
TimeoutStopSec=10

[Install]
WantedBy=multi-user.target
UNIT

if [ -n "$upgrade" ]; then
	say "upgraded ${root:-}/usr/local/bin/maestro-listener (identity and config kept)"
else
	say "installed ${root:-}/usr/local/bin/maestro-listener"
fi

if [ -z "$systemd" ] || [ -z "$start" ]; then
	[ -z "$root" ] && [ -z "$systemd" ] && say "no systemd here"
	say "start it with: $bin --config $conf"
	exit 0
fi

systemctl daemon-reload
systemctl enable "$UNIT" >/dev/null 2>&1
systemctl restart "$UNIT"
# Wait (bounded) for the hub's welcome, or say why not.
i=0
while [ $i -lt 30 ]; do
	log=$(journalctl -u "$UNIT" --since "-2min" -o cat 2>/dev/null | tail -n 20)
	case $log in
	*"welcomed us"*) say "the hub has the agent online; follow it with: journalctl -u $UNIT -f"; exit 0 ;;
	*"does not match --fingerprint"*) die "fingerprint mismatch: the hub's certificate is not the pinned one" ;;
	*"hub refused us"*) die "the hub refused this agent: $(echo "$log" | grep 'hub refused us' | tail -n 1)" ;;
	esac
	i=$((i + 1))
	sleep 1
done
die "the listener did not reach the hub within 30 s; see: journalctl -u $UNIT"
