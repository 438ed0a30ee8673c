#!/usr/bin/env bash
# Admission accuracy through the veth testbed: one source sends at 2x and
# 10x its rate for DURATION_S seconds, from one CPU and then from both CPUs
# at once (two receive queues, each processed on its sender's CPU, so two
# CPUs run the same source's bucket concurrently). What ratewall admitted
# is compared with burst + rate * t, t being the span from the first to the
# last packet sent. The upper bound burst + rate * t + 1 is the invariant;
# the lower bound allows for the generator's pauses over 1 ms (summed over
# its CPUs; a bucket refills only up to its burst while its source is
# silent), and both allow for the 100 us to which t is known.
#
# One JSON line per run goes to $OUT (default build/bench/accuracy.jsonl).
# Environment: DURATION_S (10), RATE (100000), BURST (100), OUT.
set -euo pipefail

TEST_NAME=bench_accuracy
. "$(dirname "$0")/lib.sh"

DURATION_S=${DURATION_S:-10}
RATE=${RATE:-100000}
BURST=${BURST:-100}
OUT=${OUT:-$RW_ROOT/build/bench/accuracy.jsonl}
# The generator stamps its first and last frame from a clock it reads only
# every few frames (up to 32 frames leave after the last stamp), and frames
# reach the receiver in batches: the span `t` is known to about 100 us,
# which both bounds allow for.
CLOCK_SLACK_S=0.0001
GW_ADDR4=198.19.255.254

GEN=$(ns_name agen)
GW=$(ns_name agw)
bench_require "$RATEWALL $XDP_GEN" "jq nsenter ethtool" "$GEN" "$GW"
ns_create "$GEN"
ns_create "$GW"
# Two queues each way: a frame sent on CPU k lands in receive queue k.
ip link add name gen0 netns "$GEN" numtxqueues 2 numrxqueues 2 type veth \
	peer name gw0 netns "$GW" numtxqueues 2 numrxqueues 2
ip -n "$GEN" link set gen0 up
ip -n "$GW" link set gw0 up
ip -n "$GW" addr add "$GW_ADDR4/32" dev gw0
GW_MAC=$(mac_of "$GW" gw0)

# Frames each receive queue took, as a JSON array: shows both CPUs worked.
rx_queues() {
	ip netns exec "$GW" ethtool -S gw0 |
		awk '$1 ~ /^rx_queue_[0-9]+_xdp_packets:$/ { printf "%s%s", sep, $2; sep = "," } BEGIN { printf "[" } END { print "]" }'
}

mkdir -p "$(dirname "$OUT")"
: >"$OUT"
for cpus in 1 2; do
	for factor in 2 10; do
		rw_attach "$GW" gw0 rate "$RATE/s" burst "$BURST" >/dev/null
		q0=$(rx_queues)
		g=$(in_ns "$GEN" "$XDP_GEN" dev gen0 dst-mac "$GW_MAC" family 4 dst "$GW_ADDR4" \
			sources 1 pps $((RATE * factor)) duration "$DURATION_S" threads "$cpus")
		sleep 0.1
		q1=$(rx_queues)
		st=$(rw_json "$GW" dev gw0)
		rw "$GW" link detach dev gw0 >/dev/null
		ring_full=$(ethtool_sum "$GEN" gen0 '_xdp_xmit_errors:$')
		line=$(jq -cn --argjson g "$g" --argjson st "$st" --argjson rate "$RATE" \
			--argjson burst "$BURST" --argjson factor "$factor" --argjson cpus "$cpus" \
			--argjson ring_full_total "$ring_full" --argjson q0 "$q0" --argjson q1 "$q1" \
			--argjson clock_slack "$CLOCK_SLACK_S" '
			def count(r; v): [$st.attachments[0].counters[] | select(.reason == r and .verdict == v) | .packets] | add // 0;
			(count("admitted"; "pass")) as $adm
			| ($g.elapsed_ns / 1e9) as $t
			| ($burst + $rate * $t) as $expected
			| {cpus: $cpus, factor: $factor, rate: $rate, burst: $burst,
			   seconds: $t, sent: $g.sent, ring_full_total: $ring_full_total,
			   admitted: $adm, refused: count("src_pkt"; "drop"),
			   contended: count("contended"; "drop"),
			   expected: $expected, error_pct: (100 * ($adm - $expected) / $expected),
			   received_per_queue: [$q1, $q0] | transpose | map(.[0] - .[1]),
			   stalls: $g.stalls, stall_ms: ($g.stall_ns / 1e6),
			   stall_share_pct: (100 * $rate * $g.stall_ns / 1e9 / $expected),
			   expected_min_with_stalls: ($burst + $rate * ($t - $g.stall_ns / 1e9 - $clock_slack))}
			| .within_bounds = (.admitted >= .expected_min_with_stalls and
				.admitted <= .expected + $rate * $clock_slack + 1)')
		echo "$line" >>"$OUT"
		log "$(jq -r '"\(.cpus) CPU(s), \(.factor)x rate: admitted \(.admitted) vs expected \(.expected | floor) (\(.error_pct * 1000 | round / 1000) %), refused \(.refused), contended \(.contended), per queue \(.received_per_queue), stalls \(.stalls)"' <<<"$line")"
	done
done
log "results in $OUT"
exit 0
