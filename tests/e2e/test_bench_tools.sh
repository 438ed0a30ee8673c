#!/usr/bin/env bash
# The benchmark's own tools, so that `make bench` cannot rot unseen: the
# live-frames generator (build/bench/xdp_gen) must put valid frames on the
# wire (every one reaches the gateway's UDP layer, IPv4 header checksum and
# IPv6 UDP checksum right), from exactly the number of distinct sources
# asked for, never faster than its pace; and the throughput summary must
# compute its ratios from the right rows.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env
XDP_GEN=$RW_ROOT/build/bench/xdp_gen
SUMMARIZE=$RW_ROOT/bench/summarize_veth.sh
[ -x "$XDP_GEN" ] || die "$XDP_GEN is not built (make build/bench/xdp_gen)"

SOURCES=100
PPS=20000
SECONDS_RUN=0.3
MAX_CREDIT=32 # gen.bpf.c: frames one clock reading may release at once

GEN=$(ns_name gen)
GW=$(ns_name gw)
ns_create "$GEN"
ns_create "$GW" v6
veth_pair "$GEN" gen0 "$GW" gw0
ip -n "$GW" addr add 198.19.255.254/32 dev gw0
ip -n "$GW" addr add 2001:db8:ffff::1/128 dev gw0 nodad
in_ns "$GW" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.gw0.rp_filter=0
# Limits wide open: ratewall passes everything and keeps one entry per
# source, which is how the distinct sources are counted.
rw_attach "$GW" gw0 rate 100000000/s burst 10000000 new-rate 100000000/s new-burst 10000000 ||
	die "attach failed"
pin=$(rw_pin_dir "$GW" gw0)
gw_mac=$(mac_of "$GW" gw0)

no_ports() {
	in_ns "$GW" nstat -az UdpNoPorts Udp6NoPorts | awk '$1 ~ /NoPorts$/ { s += $2 } END { print s + 0 }'
}
tracked() {
	bpftool -j map dump pinned "$pin/sources" | jq --argjson f "$1" '[.[] | select(.formatted.key.family == $f)] | length'
}

for fam in 4 6; do
	dst=198.19.255.254
	[ "$fam" = 6 ] && dst=2001:db8:ffff::1
	before=$(no_ports)
	out=$(in_ns "$GEN" "$XDP_GEN" dev gen0 dst-mac "$gw_mac" family "$fam" dst "$dst" \
		sources "$SOURCES" pps "$PPS" duration "$SECONDS_RUN") || die "xdp_gen failed"
	sleep 0.2
	sent=$(jq -r .sent <<<"$out")
	span=$(jq -r .elapsed_ns <<<"$out")
	stalled=$(jq -r .stall_ns <<<"$out")
	expect_range "IPv$fam frames sent" "$sent" "$SOURCES" 1000000
	expect_eq "IPv$fam frames that reached UDP (checksums right)" "$(($(no_ports) - before))" "$sent"
	expect_eq "IPv$fam distinct sources tracked" "$(tracked "$fam")" "$SOURCES"
	# Never faster than the pace; not far slower either, pauses aside
	# (half the pace: the machine may be busy, a broken pacer is off by far more).
	expect_range "IPv$fam frames within the pace" "$sent" \
		"$((PPS * (span - stalled) / 2000000000))" "$((PPS * span / 1000000000 + MAX_CREDIT + 1))"
done

# The summary: ratios come from medians of the measured rounds, never from
# probes, and against xdp_drop and nft of the same source count.
canned=$(mktemp)
at_exit "rm -f '$canned'"
for r in round1 round2 round3; do
	for m in xdp_drop:4000000 ratewall_over:2000000 nft:1000000; do
		jq -cn --arg m "${m%%:*}" --argjson pcs "${m#*:}" --arg r "$r" \
			'{mode: $m, family: 4, sources: 1, phase: $r, per_cpu_s: $pcs, offered: 1000,
			  elapsed_ns: 1000000000, received: 1000, delivered: 0, ring_full: 0,
			  load: 0.9}' >>"$canned"
	done
done
jq -cn '{mode: "ratewall_over", family: 4, sources: 1, phase: "probe", per_cpu_s: 1,
	offered: 1, elapsed_ns: 1, received: 1, delivered: 0, ring_full: 0, load: 1}' >>"$canned"
summary=$("$SUMMARIZE" "$canned" json)
rwo='.paced[0].modes[] | select(.mode == "ratewall_over")'
expect_eq "x xdp_drop" "$(jq -r "$rwo | .x_xdp_drop" <<<"$summary")" 0.5
expect_eq "x nft" "$(jq -r "$rwo | .x_nft" <<<"$summary")" 2
expect_eq "ns over xdp_drop" "$(jq -r "$rwo | .ns_over_xdp_drop" <<<"$summary")" 250
expect_eq "rounds counted (probe left out)" "$(jq -r "$rwo | .rounds" <<<"$summary")" 3
finish
