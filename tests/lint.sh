#!/usr/bin/env bash
# tests/lint.sh - the checks behind `make lint`.
#
# 1. No banned C function in common/, hub/ (with hub/ctl/) or listener/:
#    sprintf strcpy strcat strncpy strtok gets atoi system popen, matched
#    as whole words followed by '(' (snprintf, vsnprintf, fgets, strtok_r
#    and the like are fine).  Comment lines are not code and are skipped.
# 2. shellcheck on install.sh, .dev/*.sh, tests/*.sh, bench/*.sh and .ci/run (those present).
# Exit status 1 if anything is found.
set -u

cd "$(dirname "$0")/.." || exit 1
status=0

banned='sprintf|strcpy|strcat|strncpy|strtok|gets|atoi|system|popen'
mapfile -t sources < <(find common hub listener bench -name '*.[ch]' -type f \
	2>/dev/null | sort)
if [ "${#sources[@]}" -gt 0 ]; then
	hits=$(grep -nHE "(^|[^A-Za-z0-9_])($banned)[[:space:]]*\(" \
		"${sources[@]}" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|/\*|//)')
	if [ -n "$hits" ]; then
		echo "lint: banned functions (use snprintf, mc_strlcpy, mc_parse_i64, fork/exec...):"
		echo "$hits"
		status=1
	fi
fi

scripts=()
for f in install.sh .dev/*.sh tests/*.sh bench/*.sh .ci/run; do
	[ -f "$f" ] && scripts+=("$f")
done
if [ "${#scripts[@]}" -gt 0 ]; then
	if ! command -v shellcheck > /dev/null; then
		echo "lint: shellcheck is not installed (.dev/deps.sh test installs it)"
		status=1
	elif ! shellcheck "${scripts[@]}"; then
		status=1
	fi
fi

if [ "$status" -eq 0 ]; then
	echo "lint: ok (${#sources[@]} C files, ${#scripts[@]} shell scripts)"
fi
exit "$status"
