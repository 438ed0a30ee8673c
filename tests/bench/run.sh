#!/usr/bin/env bash
# `make bench`: measurements, never part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "benchmarks need root: sudo make bench" >&2; exit 1; }
echo "== per-packet cost (BPF_PROG_TEST_RUN)"
build/bench/prog_run_cost build/bench/baseline.bpf.o repeat "${REPEAT:-1000000}" rounds "${ROUNDS:-7}"
