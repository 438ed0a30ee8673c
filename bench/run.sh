#!/usr/bin/env bash
# `make bench`: measurements, never part of `make test`. Runs, in order:
# per-packet cost (BPF_PROG_TEST_RUN), drop throughput on a veth testbed,
# admission accuracy; prints the tables and keeps the raw results under
# build/bench/. See bench/README.md for what each figure means.
#
# Environment: REPEAT, ROUNDS (per-packet rounds), VETH_ROUNDS, MEASURE_S,
# DURATION_S (accuracy), SKIP (space-separated: cost veth accuracy).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench: benchmarks need root: sudo make bench" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "bench: needs at least 2 CPUs, this machine has $(nproc)" >&2; exit 1; }
OUTDIR=build/bench
SKIP=${SKIP:-}
skip() { [[ " $SKIP " == *" $1 "* ]]; }
start=$(date +%s)

echo "== machine"
printf 'kernel %s, %s CPUs (%s), clocksource %s, XDP native on veth\n' "$(uname -r)" "$(nproc)" \
	"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	"$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo

if ! skip cost; then
	echo "== per-packet cost (BPF_PROG_TEST_RUN)"
	build/bench/prog_run_cost build/bench/baseline.bpf.o repeat "${REPEAT:-1000000}" \
		rounds "${ROUNDS:-7}" | tee "$OUTDIR/prog_run_cost.txt"
	echo
fi

if ! skip veth; then
	echo "== drop throughput, veth testbed (receive-side CPU)"
	ROUNDS=${VETH_ROUNDS:-3} OUT="$OUTDIR/veth.jsonl" bench/veth.sh
	bench/summarize_veth.sh "$OUTDIR/veth.jsonl" | tee "$OUTDIR/veth.txt"
fi

if ! skip accuracy; then
	echo "== admission accuracy, veth testbed"
	OUT="$OUTDIR/accuracy.jsonl" bench/accuracy.sh
	jq -r '"\(.cpus) CPU(s) at \(.factor)x rate \(.rate)/s burst \(.burst) for \(.seconds * 100 | round / 100) s: admitted \(.admitted), expected \(.expected | floor), error \(.error_pct * 1000 | round / 1000) %; generator paused \(.stall_ms * 10 | round / 10) ms in \(.stalls) stalls = \(.stall_share_pct * 1000 | round / 1000) % of expected; within [burst + rate*(t - pauses - 100us), burst + rate*(t + 100us) + 1]: \(.within_bounds); contended \(.contended)"' \
		"$OUTDIR/accuracy.jsonl" | tee "$OUTDIR/accuracy.txt"
	echo
fi
echo "bench: done in $(($(date +%s) - start)) s; raw results in $OUTDIR/"
