#!/usr/bin/env bash
# tests/run.sh - run every test suite against one build.
#
#   MAESTRO_BUILD=build tests/run.sh      (make test does this)
#
# Runs $MAESTRO_BUILD/unit-tests and tests/integration/run.py, adds up the
# counts from their last lines ("unit: N passed, N failed",
# "integration: N passed, N failed") and ends with one line
# "N passed, N failed".  Exit status 0 only if nothing failed and at least
# one test ran.  A missing program or a suite that dies before its summary
# counts as a failure, with a message saying so.
set -u

cd "$(dirname "$0")/.." || exit 1
BUILD=${MAESTRO_BUILD:-build}
export MAESTRO_BUILD=$BUILD

passed=0
failed=0
out=$(mktemp -d "${TMPDIR:-/tmp}/maestro-run.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT

# add_counts SUITE FILE STATUS: add the counts of SUITE's summary line.
add_counts() {
	local suite=$1 file=$2 status=$3 line p f
	line=$(grep -E "^$suite: [0-9]+ passed, [0-9]+ failed" "$file" | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL $suite: the suite ended (status $status) without its summary line"
		failed=$((failed + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/^[a-z]+: ([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $suite: exit status $status although it counted no failure"
		failed=$((failed + 1))
	fi
}

for prog in unit-tests maestro-hub maestro-listener hubctl; do
	if [ ! -x "$BUILD/$prog" ]; then
		echo "FAIL build: $BUILD/$prog is missing (run make, or set MAESTRO_BUILD)"
		failed=$((failed + 1))
	fi
done

echo "== unit tests ($BUILD/unit-tests)"
if [ -x "$BUILD/unit-tests" ]; then
	"$BUILD/unit-tests" > "$out/unit" 2>&1
	status=$?
	cat "$out/unit"
	add_counts unit "$out/unit" "$status"
fi

echo "== integration tests (tests/integration/run.py)"
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" tests/integration/run.py 2>&1 | tee "$out/integration"
status=${PIPESTATUS[0]}
add_counts integration "$out/integration" "$status"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
