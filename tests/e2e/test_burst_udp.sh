#!/usr/bin/env bash
# A client floods a gateway at ~2.5x the per-source rate for ~1 s through
# a veth pair with native XDP on the gateway's end. Checks that ratewall's
# counters are exact (each datagram counted once, as admitted or dropped),
# that admitted ones and only those reach the gateway's IP stack, that the
# admitted count is burst + rate * t, and that detach leaves nothing.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env

RATE=2000
BURST=100
COUNT=5000
PPS=5000
PORT=9

GW=$(ns_name gw)
CL=$(ns_name cl)
gateway_and_client "$GW" "$CL"

rw_attach "$GW" gw0 mode native rate "$RATE/s" burst "$BURST" || die "attach failed"
expect_eq "status mode" "$(rw_get "$GW" gw0 .mode)" native
expect_eq "status rate" "$(rw_get "$GW" gw0 .rate)" "$RATE"
expect_eq "status burst" "$(rw_get "$GW" gw0 .burst)" "$BURST"
prog=$(rw_get "$GW" gw0 .prog_id)
pin=$(rw_pin_dir "$GW" gw0)
expect_eq "ip link shows the status prog_id" "$(link_xdp_prog "$GW" gw0)" "$prog"
expect_true "ip link shows native xdp" \
	bash -c "ip -n '$GW' -d link show dev gw0 | grep -qw xdp"

rx0=$(ip_in_receives "$GW")
res=$(burst "$CL" 198.18.0.1 "$PORT" "$COUNT" pps "$PPS") || die "udp_burst failed: $res"
sent=$(json_get "$res" .sent)
elapsed_ns=$(json_get "$res" .elapsed_ns)
log "udp_burst: $res"
rw_settle "$GW" gw0 "$sent"

admitted=$(rw_count "$GW" gw0 admitted pass)
dropped=$(rw_count "$GW" gw0 src_pkt drop)
rx1=$(ip_in_receives "$GW")
log "admitted=$admitted src_pkt=$dropped InReceives delta=$((rx1 - rx0)) elapsed=${elapsed_ns}ns stall=$(json_get "$res" .stall_ns)ns"

expect_eq "datagrams sent" "$sent" "$COUNT"
expect_eq "gateway IP InReceives delta == admitted" "$((rx1 - rx0))" "$admitted"
expect_eq "admitted + src_pkt drops == sent" "$((admitted + dropped))" "$sent"
expect_eq "totals.drop == src_pkt drops" "$(rw_get "$GW" gw0 .totals.drop)" "$dropped"
for reason in malformed contended no_state; do
	expect_eq "$reason packets" "$(rw_count "$GW" gw0 "$reason")" 0
done

# GCRA admits the burst at once and then one packet per 1/rate s, so over
# the sender's span t it admits burst + rate * t (+-1). XDP sees the first
# and last datagram each a little after they were sent; a difference of
# those delays (veth queueing, softirq scheduling on a busy 2-CPU VM)
# shifts the count by rate * delay. Tolerance: 3% + 10 packets, i.e. ~36 ms
# of skew at 2000/s, far above the usual sub-millisecond skew but far
# below what a broken limiter would be off by (sent is 5000).
# While the sender is held up (a busy machine), the bucket refills only up
# to its burst and the rest of the refill is lost, so the lower end also
# gives up rate * (time the sender stalled, as udp_burst measured it).
stall_ns=$(json_get "$res" .stall_ns)
expected=$((BURST + RATE * elapsed_ns / 1000000000))
tol=$((expected * 3 / 100 + 10))
expect_range "admitted vs burst + rate*t ($expected, sender stalled ${stall_ns}ns)" "$admitted" \
	$((expected - tol - RATE * stall_ns / 1000000000)) $((expected + tol))

rw "$GW" link detach dev gw0 || fail "detach failed"
expect_false "pins directory $pin is gone" test -e "$pin"
expect_eq "ip link shows no xdp program" "$(link_xdp_prog "$GW" gw0)" ""
expect_false "ip link shows no xdp flag" \
	bash -c "ip -n '$GW' -d link show dev gw0 | grep -qE '\bxdp(generic|drv|offload)?\b'"
expect_eq "status lists nothing" "$(rw_json "$GW" | jq -c .attachments)" "[]"
finish
