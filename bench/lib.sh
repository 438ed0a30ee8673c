# shellcheck shell=bash
# Shared by the testbed benchmarks: the end-to-end helpers (namespaces,
# cleanup traps, ratewall wrappers) plus one precondition check.
#   TEST_NAME=bench_x; . "$(dirname "$0")/lib.sh"

_bench_name=$TEST_NAME
. "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/lib.sh"
TEST_NAME=$_bench_name
XDP_GEN=$RW_ROOT/build/bench/xdp_gen

# bench_require "FILES" "TOOLS" NS...: root, built files, tools on PATH,
# two CPUs, and namespace names not taken; dies naming what is missing.
bench_require() {
	local files=$1 tools=$2 missing=() t ns
	shift 2
	[ "$(id -u)" -eq 0 ] || die "must run as root: sudo make bench"
	for t in $files; do
		[ -e "$t" ] || die "$t is not built: make bench builds it"
	done
	for t in $tools; do
		command -v "$t" >/dev/null || missing+=("$t")
	done
	[ ${#missing[@]} -eq 0 ] || die "missing tools: ${missing[*]} (make bench installs them)"
	[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (generator and receiver apart); this machine has $(nproc)"
	for ns in "$@"; do
		[ ! -e "/run/netns/$ns" ] || die "network namespace $ns already exists"
	done
}

# ethtool_sum NS IF PATTERN: the sum of the interface's ethtool -S counters
# whose names (with their colon) match PATTERN, e.g. '_xdp_xmit_errors:$'.
ethtool_sum() {
	ip netns exec "$1" ethtool -S "$2" | awk -v p="$3" '$1 ~ p { s += $2 } END { print s + 0 }'
}
