#!/bin/sh
# install.sh - put a workstation under a Maestro hub.
#
#   sudo ./install.sh --hub wss://HUB:8443 --enroll-key KEY --fingerprint sha256:HEX
#   sudo ./install.sh --uninstall [--purge]
#
# Installs the static listener to /usr/local/bin/maestro-listener, writes
# /etc/maestro/listener.conf (0640) and the systemd unit, then enables and
# starts it.  Running it again upgrades the binary and keeps the agent's
# identity (its credential in /var/lib/maestro-listener) and config.
set -eu

usage() {
	cat <<'USAGE'
usage: install.sh --hub wss://HOST:PORT [--enroll-key KEY]
                  [--fingerprint sha256:HEX | --ca FILE | --insecure]
                  [--name NAME] [--tags a,b] [--run-as USER] [--allow KINDS]
                  [--binary FILE] [--root DIR] [--no-start]
       install.sh --uninstall [--purge] [--root DIR]

  --hub URL          the hub's agent address (wss://HOST:8443)
  --enroll-key KEY   from `hubctl enroll-key create` (needed the first time)
  --fingerprint FP   pin the hub's certificate (printed by the hub at start)
  --ca FILE          or verify the hub with this CA certificate
  --name NAME        agent name (default: this machine's hostname)
  --tags a,b         tags for filtering and fan-out
  --run-as USER      run shell commands as USER
  --allow KINDS      command kinds this machine accepts (default: all)
  --binary FILE      the maestro-listener to install (default: next to this
                     script, or build/maestro-listener)
  --root DIR         install into DIR instead of / (packaging, tests)
  --no-start         install only; do not enable or start the service
  --uninstall        remove what this script installed
  --purge            with --uninstall: also remove the agent's identity
USAGE
}

die() {
	echo "install.sh: $*" >&2
	exit 1
}

hub="" key="" fp="" ca="" insecure="" name="" tags="" run_as="" allow=""
binary="" root="" start=1 uninstall="" purge=""
while [ $# -gt 0 ]; do
	case $1 in
	--hub) hub=${2:?}; shift ;;
	--enroll-key) key=${2:?}; shift ;;
	--fingerprint) fp=${2:?}; shift ;;
	--ca) ca=${2:?}; shift ;;
	--insecure) insecure=1 ;;
	--name) name=${2:?}; shift ;;
	--tags) tags=${2:?}; shift ;;
	--run-as) run_as=${2:?}; shift ;;
	--allow) allow=${2:?}; shift ;;
	--binary) binary=${2:?}; shift ;;
	--root) root=${2:?}; shift ;;
	--no-start) start="" ;;
	--uninstall) uninstall=1 ;;
	--purge) purge=1 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "install.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

bin=$root/usr/local/bin/maestro-listener
conf_dir=$root/etc/maestro
conf=$conf_dir/listener.conf
state=$root/var/lib/maestro-listener
unit=$root/etc/systemd/system/maestro-listener.service
have_systemd=""
[ -z "$root" ] && [ -d /run/systemd/system ] && have_systemd=1

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
	die "run as root (sudo), or use --root DIR"
fi

if [ -n "$uninstall" ]; then
	if [ -n "$have_systemd" ]; then
		systemctl disable --now maestro-listener.service 2>/dev/null || true
	fi
	rm -f "$bin" "$conf" "$unit"
	rmdir "$conf_dir" 2>/dev/null || true
	[ -n "$have_systemd" ] && systemctl daemon-reload
	if [ -n "$purge" ]; then
		rm -rf "$state"
		echo "maestro-listener removed, with its identity"
	else
		echo "maestro-listener removed (identity kept in $state; --purge removes it)"
	fi
	exit 0
fi

[ -n "$hub" ] || [ -f "$conf" ] || die "--hub wss://HOST:PORT is required (see --help)"
if [ -z "$binary" ]; then
	here=$(dirname "$0")
	for b in "$here/maestro-listener" "$here/build/maestro-listener"; do
		[ -x "$b" ] && binary=$b && break
	done
fi
if [ -z "$binary" ] || [ ! -x "$binary" ]; then
	die "no maestro-listener binary found; pass --binary FILE"
fi

mkdir -p "$root/usr/local/bin" "$conf_dir" "$state" "$(dirname "$unit")"
chmod 700 "$state"
# replace atomically so a running listener is never half-written
cp "$binary" "$bin.new"
chmod 755 "$bin.new"
mv -f "$bin.new" "$bin"

if [ -n "$hub" ] || [ ! -f "$conf" ]; then
	umask 027
	{
		echo "# written by install.sh; flags given to install.sh again replace it"
		echo "hub = $hub"
		[ -n "$name" ] && echo "name = $name"
		[ -n "$tags" ] && echo "tags = $tags"
		[ -n "$fp" ] && echo "fingerprint = $fp"
		[ -n "$ca" ] && echo "ca = $ca"
		[ -n "$insecure" ] && echo "insecure = true"
		[ -n "$run_as" ] && echo "run_as = $run_as"
		[ -n "$allow" ] && echo "allow = $allow"
		[ -n "$key" ] && echo "enroll_key = $key"
		echo "state_dir = /var/lib/maestro-listener"
	} >"$conf.new"
	chmod 640 "$conf.new"
	mv -f "$conf.new" "$conf"
fi

cat >"$unit" <<'UNIT'
[Unit]
Description=Maestro listener (workstation agent)
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/local/bin/maestro-listener --config /etc/maestro/listener.conf
Restart=on-failure
RestartSec=5
KillMode=mixed

[Install]
WantedBy=multi-user.target
UNIT

if [ -n "$have_systemd" ] && [ -n "$start" ]; then
	systemctl daemon-reload
	systemctl enable maestro-listener.service >/dev/null 2>&1
	systemctl restart maestro-listener.service
	echo "maestro-listener installed and started; follow it with: journalctl -u maestro-listener -f"
else
	echo "maestro-listener installed in ${root:-/}."
	echo "Start it with: $bin --config $conf"
fi
