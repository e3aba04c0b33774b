#!/bin/sh
# .dev/cjson-src.sh DIR - Debian's cJSON source, for the static listener.
#
# Debian's libcjson-dev has only the shared library, and the listener is
# one fully static file, so it links cJSON built from Debian's own source
# package: the version of libcjson-dev installed here, with Debian's
# patches (its CVE fixes), fetched by apt-get source from the machine's
# Debian mirrors (a private apt state under DIR: the system's sources and
# lists are not touched) and unpacked by dpkg-source.  DIR gets cJSON.c,
# cJSON.h, LICENSE and VERSION.  Nothing is fetched when DIR already holds
# the installed version.  common/ is compiled against the installed
# cJSON.h, so the unpacked one must be the same file.
set -eu

dir=$1
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac	# apt reads relative paths from /etc/apt
ver=$(dpkg-query -W -f='${Version}' libcjson-dev 2>/dev/null) || {
	echo "maestro: libcjson-dev is not installed: run .dev/deps.sh build" >&2
	exit 1
}
hdr=/usr/include/cjson/cJSON.h
if [ -f "$dir/VERSION" ] && [ "$(cat "$dir/VERSION")" = "$ver" ] &&
	cmp -s "$dir/cJSON.h" "$hdr"; then
	exit 0
fi

work=$dir.tmp
rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" \
	"$work/apt/sources" "$work/src"
# the machine's own Debian mirrors, as deb-src
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	sed 's/^Types:.*/Types: deb-src/' "$f" >"$work/apt/sources/$(basename "$f")"
done
[ -f /etc/apt/sources.list ] &&
	sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$work/apt/sources.list"
touch "$work/apt/sources.list"
apt() {
	apt-get -q -o Dir::Etc::SourceList="$work/apt/sources.list" \
		-o Dir::Etc::SourceParts="$work/apt/sources" \
		-o Dir::State::Lists="$work/apt/lists" \
		-o Dir::Cache="$work/apt/cache" \
		-o APT::Sandbox::User="$(id -un)" "$@"
}
echo "  FETCH   Debian's cjson $ver source (apt-get source)"
if ! apt update >"$work/apt.log" 2>&1 ||
	! (cd "$work/src" && apt source --download-only "cjson=$ver") \
		>>"$work/apt.log" 2>&1; then
	echo "maestro: cannot fetch Debian's cjson $ver source, which the static" \
		"listener is built with; apt said:" >&2
	tail -5 "$work/apt.log" >&2
	exit 1
fi
(cd "$work/src" && dpkg-source -q -x ./*.dsc cjson) >>"$work/apt.log" 2>&1
if ! cmp -s "$work/src/cjson/cJSON.h" "$hdr"; then
	echo "maestro: cJSON.h of Debian's cjson $ver source differs from $hdr" >&2
	exit 1
fi
rm -rf "$dir"
mkdir -p "$dir"
cp "$work/src/cjson/cJSON.c" "$work/src/cjson/cJSON.h" \
	"$work/src/cjson/LICENSE" "$dir/"
printf '%s\n' "$ver" >"$dir/VERSION"
rm -rf "$work"
