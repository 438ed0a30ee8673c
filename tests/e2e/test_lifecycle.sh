#!/usr/bin/env bash
# Attachment life cycle: attach outlives the command, a second attach is
# refused without touching the first, `class set` and `link set` change
# live limits, detach
# removes link and pins (twice is an error), generic (skb) mode works, and
# an attachment whose interface was deleted shows as defunct until detached.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env

GW=$(ns_name gw)
CL=$(ns_name cl)
gateway_and_client "$GW" "$CL"

# send COUNT: unpaced datagrams from the client; prints the sender's JSON.
send() { burst "$CL" 198.18.0.1 9 "$1" || die "udp_burst failed"; }
elapsed_ms() { echo $(($(json_get "$1" .elapsed_ns) / 1000000)); }

# --- attach outlives the command ----------------------------------------------
rw_attach "$GW" gw0 rate 100000/s burst 100000 || die "attach failed"
prog=$(rw_get "$GW" gw0 .prog_id)
link=$(rw_get "$GW" gw0 .link_id)
pin=$(rw_pin_dir "$GW" gw0)
expect_ne "prog_id after attach" "$prog" ""
expect_ne "link_id after attach" "$link" ""
expect_eq "default mode" "$(rw_get "$GW" gw0 .mode)" native
expect_eq "ip link shows the program after ratewall exited" "$(link_xdp_prog "$GW" gw0)" "$prog"
expect_true "bpftool net in the namespace shows the program" \
	bash -c "nsenter --net=/run/netns/$GW bpftool net show dev gw0 | grep -q 'id $prog'"
expect_true "bpftool lists link $link as xdp" \
	bash -c "bpftool link show id $link | grep -q xdp"
expect_true "pins directory exists" test -d "$pin"
expect_true "link is pinned" test -e "$pin/link"

# --- a second attach changes nothing ------------------------------------------
expect_fail --has gw0 rw "$GW" link attach dev gw0 rate 5/s
expect_eq "prog_id after refused attach" "$(rw_get "$GW" gw0 .prog_id)" "$prog"
expect_eq "link_id after refused attach" "$(rw_get "$GW" gw0 .link_id)" "$link"
expect_eq "rate after refused attach" "$(rw_get "$GW" gw0 .rate)" 100000
expect_eq "ip link program after refused attach" "$(link_xdp_prog "$GW" gw0)" "$prog"

# --- traffic under a generous limit all passes ---------------------------------
res=$(send 1000)
rw_settle "$GW" gw0 1000
expect_eq "admitted under generous limit" "$(rw_count "$GW" gw0 admitted pass)" 1000
expect_eq "dropped under generous limit" "$(rw_count "$GW" gw0 src_pkt drop)" 0

# --- class set / link set change the live limits --------------------------------
rw "$GW" class set dev gw0 default rate 10/s burst 10 || fail "class set rate/burst failed"
expect_eq "rate after set" "$(rw_get "$GW" gw0 .rate)" 10
expect_eq "burst after set" "$(rw_get "$GW" gw0 .burst)" 10
expect_eq "prog_id after set (same program)" "$(rw_get "$GW" gw0 .prog_id)" "$prog"
expect_eq "counters survive set" "$(rw_count "$GW" gw0 admitted pass)" 1000
res=$(send 500)
rw_settle "$GW" gw0 1500
adm=$(($(rw_count "$GW" gw0 admitted pass) - 1000))
drp=$(rw_count "$GW" gw0 src_pkt drop)
# At most the new burst plus what 10/s refills while sending (+2 slack for
# the bucket's rounding and the first packet), at least one: the bucket
# left by 1000 packets at 100000/s is only ~10 ms ahead of now.
hi=$((10 + 10 * $(elapsed_ms "$res") / 1000 + 2))
expect_range "admitted after set rate 10 burst 10" "$adm" 1 "$hi"
expect_eq "admitted + dropped after set" "$((adm + drp))" 500
rw "$GW" link set dev gw0 malformed drop || fail "link set malformed failed"
expect_eq "malformed after set" "$(rw_get "$GW" gw0 .malformed)" drop
expect_eq "rate unchanged by set malformed" "$(rw_get "$GW" gw0 .rate)" 10
expect_eq "default new-source rate" "$(rw_get "$GW" gw0 .new_rate)" 10000
expect_eq "default new-source burst" "$(rw_get "$GW" gw0 .new_burst)" 10000
rw "$GW" link set dev gw0 new-rate 50/s new-burst 7 || fail "link set new-rate/new-burst failed"
expect_eq "new-source rate after set" "$(rw_get "$GW" gw0 .new_rate)" 50
expect_eq "new-source burst after set" "$(rw_get "$GW" gw0 .new_burst)" 7
expect_eq "rate unchanged by set new-rate" "$(rw_get "$GW" gw0 .rate)" 10

# --- detach -------------------------------------------------------------------
rw "$GW" link detach dev gw0 || fail "detach failed"
expect_false "pins directory removed" test -e "$pin"
expect_eq "ip link shows no program after detach" "$(link_xdp_prog "$GW" gw0)" ""
expect_false "link $link is gone" bash -c "bpftool link show id $link 2>/dev/null"
expect_eq "status after detach" "$(rw_json "$GW" | jq -c .attachments)" "[]"
expect_fail --has "not attached" rw "$GW" link detach dev gw0
expect_fail rw "$GW" class set dev gw0 default rate 5/s

# --- generic XDP (skb mode) ---------------------------------------------------
rw_attach "$GW" gw0 mode skb rate 1000/s burst 50 || die "attach mode skb failed"
expect_eq "status mode" "$(rw_get "$GW" gw0 .mode)" skb
prog=$(rw_get "$GW" gw0 .prog_id)
expect_eq "ip link shows the skb-mode program" "$(link_xdp_prog "$GW" gw0)" "$prog"
expect_true "ip link says xdpgeneric" \
	bash -c "ip -n '$GW' -d link show dev gw0 | grep -qw xdpgeneric"
rx0=$(ip_in_receives "$GW")
res=$(send 300)
rw_settle "$GW" gw0 300
adm=$(rw_count "$GW" gw0 admitted pass)
drp=$(rw_count "$GW" gw0 src_pkt drop)
rx1=$(ip_in_receives "$GW")
expect_eq "skb mode: admitted + dropped" "$((adm + drp))" 300
expect_eq "skb mode: InReceives delta == admitted" "$((rx1 - rx0))" "$adm"
# burst + rate * t, +-2 for rounding (t is the sender's span), less what
# the bucket could not store while the sender stalled (see test_burst_udp).
mid=$((50 + 1000 * $(json_get "$res" .elapsed_ns) / 1000000000))
lo=$((mid - 2 - 1000 * $(json_get "$res" .stall_ns) / 1000000000))
expect_range "skb mode: admitted vs burst + rate*t ($mid)" "$adm" "$lo" $((mid + 2))
pin=$(rw_pin_dir "$GW" gw0)
rw "$GW" link detach dev gw0 || fail "detach (skb) failed"
expect_false "skb mode: pins removed" test -e "$pin"
expect_eq "skb mode: no program after detach" "$(link_xdp_prog "$GW" gw0)" ""

# --- the interface goes away under a live attachment ---------------------------
veth_pair "$GW" gone0 "$CL" gone1
rw_attach "$GW" gone0 mode skb || die "attach gone0 failed"
pin=$(rw_pin_dir "$GW" gone0)
ip -n "$GW" link del gone0
expect_eq "status says defunct" "$(rw_get "$GW" gone0 .state)" defunct
expect_fail --has defunct rw "$GW" class set dev gone0 default rate 5/s
# A new interface of the same name must not be mistaken for the old one.
veth_pair "$GW" gone0 "$CL" gone1
expect_fail --has defunct rw "$GW" link attach dev gone0 mode skb
expect_eq "the new gone0 has no program" "$(link_xdp_prog "$GW" gone0)" ""
rw "$GW" link detach dev gone0 || fail "detach of a defunct attachment failed"
expect_false "defunct pins removed" test -e "$pin"
rw_attach "$GW" gone0 mode skb || fail "attach after clearing the defunct one failed"
expect_eq "the new gone0 is attached" "$(rw_get "$GW" gone0 .state)" attached
rw "$GW" link detach dev gone0 || fail "final detach failed"
finish
