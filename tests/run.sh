#!/usr/bin/env bash
# Runs every test layer (unit, BPF_PROG_TEST_RUN, end to end) and ends with
# one line "N passed, M failed". A suite that crashes or prints no result
# counts as failed; nothing is skipped silently. The Makefile passes the
# binaries it just built (UNIT_TESTS, BPF_TESTS), so a stale binary of a
# removed test cannot run and a missing one counts as a failure.
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "tests need root (they load BPF programs and create namespaces): run 'sudo make test'" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

passed=0
failed=0
failures=()

# cmocka binaries report in TAP: one "ok"/"not ok" line per test.
run_cmocka() {
	local bin=$1 out rc ok bad
	if [ ! -x "$bin" ]; then
		failed=$((failed + 1))
		failures+=("$bin: not built")
		return
	fi
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP timeout --kill-after=10 300 "$bin" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	ok=$(printf '%s\n' "$out" | grep -c '^ok ')
	bad=$(printf '%s\n' "$out" | grep -c '^not ok ')
	passed=$((passed + ok))
	failed=$((failed + bad))
	[ "$bad" -gt 0 ] && failures+=("$(basename "$bin"): $bad test(s)")
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		failed=$((failed + 1))
		failures+=("$(basename "$bin"): exited $rc")
	fi
	if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$rc" -eq 0 ]; then
		failed=$((failed + 1))
		failures+=("$(basename "$bin"): ran no test")
	fi
}

run_script() {
	local script=$1 rc start
	start=$(date +%s)
	timeout --kill-after=10 300 bash "$script" > >(sed 's/^/    /') 2>&1
	rc=$?
	wait
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok - $(basename "$script") ($(( $(date +%s) - start ))s)"
	else
		failed=$((failed + 1))
		failures+=("$(basename "$script"): exit $rc")
		echo "not ok - $(basename "$script") (exit $rc)"
	fi
}

# Each layer must have something to run: an empty list is a broken build.
run_layer() {
	local name=$1 kind=$2
	shift 2
	echo "== $name"
	if [ $# -eq 0 ]; then
		failed=$((failed + 1))
		failures+=("$name: no tests found")
		return
	fi
	for t in "$@"; do "$kind" "$t"; done
}

# Run by hand, outside make: take what is built.
UNIT_TESTS=${UNIT_TESTS:-$(ls build/tests/unit_* 2>/dev/null)}
BPF_TESTS=${BPF_TESTS:-$(ls build/tests/bpf_* 2>/dev/null)}
shopt -s nullglob
e2e=(tests/e2e/test_*.sh)
# shellcheck disable=SC2086 # word splitting of the binary lists is intended
run_layer unit run_cmocka $UNIT_TESTS
# shellcheck disable=SC2086
run_layer "bpf (BPF_PROG_TEST_RUN)" run_cmocka $BPF_TESTS
run_layer "end to end" run_script "${e2e[@]}"

if [ ${#failures[@]} -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
