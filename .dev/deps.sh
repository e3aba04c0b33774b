#!/bin/sh
# Install what Maestro needs on Debian 12, only what is missing.
#   .dev/deps.sh build   compilers and libraries for `make`
#   .dev/deps.sh test    the above plus what the test suites use (with
#                        Chromium for the browser test, and the npm
#                        packages of package-lock.json)
# As root it runs apt-get; otherwise it lists the packages and how to get them.
set -eu

build_pkgs="build-essential pkg-config libwebsockets-dev libssl-dev libcjson-dev
libcurl4-openssl-dev libstatgrab-dev libsqlite3-dev libpq-dev libgit2-dev libhiredis-dev zlib1g-dev
libcap-dev libwebsockets-evlib-ev
openssl file curl git"
test_pkgs="clang python3 valgrind sqlite3 procps psmisc shellcheck curl iproute2 iptables
chromium xvfb fonts-dejavu-core docker.io docker-registry busybox-static x11-xserver-utils xauth
openssh-server redis-server postgresql"

want=$build_pkgs
[ "${1:-build}" = test ] && want="$build_pkgs $test_pkgs"

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
# the build copies the dashboard's charting library from npm; any Node.js
# with npm will do (Debian's, or one installed otherwise)
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"

# npm_install: the packages of package-lock.json, if not there yet.
npm_install() {
	[ "${1:-build}" = test ] || return 0
	[ -d node_modules/playwright-core ] && [ -d node_modules/uplot ] && return 0
	cd "$(dirname "$0")/.." && npm ci --no-audit --no-fund --loglevel=error >/dev/null
}

if [ -z "$missing" ]; then
	npm_install "${1:-build}"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "maestro: missing Debian packages:$missing" >&2
	echo "maestro: install them with: sudo apt-get install$missing" >&2
	exit 1
fi
echo "maestro: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
npm_install "${1:-build}"
