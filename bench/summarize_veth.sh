#!/usr/bin/env bash
# Turns veth.sh's JSON lines into the throughput table: per address family,
# source count and mode, packets handled per CPU-second of the receive side
# (median and min-max over the measured rounds; probes are left out), the
# ratio to trivial XDP_DROP and to nftables, the cost per packet and what a
# mode adds over XDP_DROP, and what was offered, delivered and dropped.
#
# usage: summarize_veth.sh [veth.jsonl] [json]
set -euo pipefail
IN=${1:-build/bench/veth.jsonl}
[ -s "$IN" ] || { echo "summarize_veth: no results in $IN (run bench/veth.sh)" >&2; exit 1; }

json=$(jq -s '
	def median: sort | if length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def table(rows):
	  rows
	| group_by([.family, .sources])
	| map(
		. as $cfg
		| (map(select(.mode == "xdp_drop").per_cpu_s) | median) as $drop
		| (map(select(.mode == "nft").per_cpu_s) | if length > 0 then median else null end) as $nft
		| { family: $cfg[0].family, sources: $cfg[0].sources,
		    modes: ($cfg | group_by(.mode) | map(
			(map(.per_cpu_s) | median) as $m
			| { mode: .[0].mode, rounds: length,
			    per_cpu_s: $m,
			    per_cpu_s_min: (map(.per_cpu_s) | min),
			    per_cpu_s_max: (map(.per_cpu_s) | max),
			    x_xdp_drop: ($m / $drop),
			    x_nft: (if $nft then $m / $nft else null end),
			    ns_per_packet: (1e9 / $m),
			    ns_over_xdp_drop: (1e9 / $m - 1e9 / $drop),
			    offered_pps: (map(.offered * 1e9 / .elapsed_ns) | median),
			    delivered_pct: (map(if .received > 0 then 100 * .delivered / .received else 0 end) | median),
			    ring_full_pct: (map(if .offered + .ring_full > 0 then 100 * .ring_full / (.offered + .ring_full) else 0 end) | median),
			    load_pct: (map(.load * 100) | median) })
		    | sort_by(.mode as $x | ["none", "xdp_drop", "xdp_read", "ratewall_over", "ratewall_flood", "ratewall_under", "nft", "iptables"] | index($x) // 99)) })
	| sort_by(.family, .sources);
	{ paced: table([ .[] | select(.phase | startswith("round")) ]),
	  equal: table([ .[] | select(.phase | startswith("equal")) ]) }' "$IN")

if [ "${2:-}" = json ]; then
	printf '%s\n' "$json"
	exit 0
fi
jq -r '
	def f(n): (n * 100 | round) / 100 | tostring;
	def i(n): n | round | tostring;
	def pad(w): tostring | (" " * ([w - length, 0] | max)) + .;
	def name: . + " " * (15 - length);
	"Each mode near its own capacity (load% = receive kthread busy):",
	"",
	(.paced[] | "IPv\(.family), \(.sources) source(s)",
	("  " + ("mode" | name) + ("Mpps/CPU-s" | pad(10)) + ("min-max" | pad(12))
		+ ("x drop" | pad(8)) + ("x nft" | pad(7)) + ("ns/pkt" | pad(8)) + ("+ns" | pad(6))
		+ ("offered/s" | pad(11)) + ("deliv%" | pad(8)) + ("ring%" | pad(7)) + ("load%" | pad(7))),
	(.modes[] | "  " + (.mode | name)
		+ (f(.per_cpu_s / 1e6) | pad(10))
		+ ((f(.per_cpu_s_min / 1e6) + "-" + f(.per_cpu_s_max / 1e6)) | pad(12))
		+ (f(.x_xdp_drop) | pad(8))
		+ ((if .x_nft then f(.x_nft) else "-" end) | pad(7))
		+ (i(.ns_per_packet) | pad(8)) + (i(.ns_over_xdp_drop) | pad(6))
		+ (i(.offered_pps) | pad(11)) + (f(.delivered_pct) | pad(8))
		+ (f(.ring_full_pct) | pad(7)) + (i(.load_pct) | pad(7))),
	""),
	"XDP modes at one common offered rate (same batching):",
	"",
	(.equal[] | "IPv\(.family), \(.sources) source(s), \(i(.modes[0].offered_pps)) packets/s offered",
	("  " + ("mode" | name) + ("ns/pkt" | pad(8)) + ("+ns vs xdp_drop" | pad(17))
		+ ("Mpps/CPU-s" | pad(12)) + ("load%" | pad(7))),
	(.modes[] | "  " + (.mode | name) + (i(.ns_per_packet) | pad(8))
		+ (i(.ns_over_xdp_drop) | pad(17)) + (f(.per_cpu_s / 1e6) | pad(12))
		+ (i(.load_pct) | pad(7))),
	"")' <<<"$json"
