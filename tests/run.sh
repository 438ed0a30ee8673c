#!/usr/bin/env bash
# Runs every test layer (unit, BPF_PROG_TEST_RUN, end to end) and ends with
# one line "N passed, M failed". A suite that crashes or prints no result
# counts as failed; nothing is skipped silently.
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
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$bin" 2>&1)
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

echo "== unit"
for bin in build/tests/unit_*; do run_cmocka "$bin"; done
echo "== bpf (BPF_PROG_TEST_RUN)"
for bin in build/tests/bpf_*; do run_cmocka "$bin"; done
echo "== end to end"
for script in tests/e2e/test_*.sh; do [ -e "$script" ] && run_script "$script"; done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
