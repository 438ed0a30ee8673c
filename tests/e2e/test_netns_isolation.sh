#!/usr/bin/env bash
# Two gateways in their own namespaces, each with an interface named eth0:
# their attachments must not see, share or disturb each other, and neither
# may show up in the host namespace.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env

A=$(ns_name gwa)
B=$(ns_name gwb)
CA=$(ns_name cla)
CB=$(ns_name clb)
for ns in "$A" "$B" "$CA" "$CB"; do ns_create "$ns"; done
# Same interface name on both gateways: pins must still not collide.
veth_pair "$A" eth0 "$CA" eth0
veth_pair "$B" eth0 "$CB" eth0
ip -n "$A" addr add 198.18.1.1/24 dev eth0
ip -n "$CA" addr add 198.18.1.2/24 dev eth0
ip -n "$B" addr add 198.18.2.1/24 dev eth0
ip -n "$CB" addr add 198.18.2.2/24 dev eth0
neigh_static "$A" eth0 198.18.1.2 "$(mac_of "$CA" eth0)"
neigh_static "$CA" eth0 198.18.1.1 "$(mac_of "$A" eth0)"
neigh_static "$B" eth0 198.18.2.2 "$(mac_of "$CB" eth0)"
neigh_static "$CB" eth0 198.18.2.1 "$(mac_of "$B" eth0)"

rw_attach "$A" eth0 rate 5000/s burst 1000 || die "attach in A failed"
rw_attach "$B" eth0 rate 50/s burst 20 || die "attach in B failed"

expect_eq "A lists one attachment" "$(rw_json "$A" | jq '.attachments | length')" 1
expect_eq "B lists one attachment" "$(rw_json "$B" | jq '.attachments | length')" 1
expect_eq "A rate" "$(rw_get "$A" eth0 .rate)" 5000
expect_eq "B rate" "$(rw_get "$B" eth0 .rate)" 50
expect_eq "A burst" "$(rw_get "$A" eth0 .burst)" 1000
expect_eq "B burst" "$(rw_get "$B" eth0 .burst)" 20
pin_a=$(rw_pin_dir "$A" eth0)
pin_b=$(rw_pin_dir "$B" eth0)
expect_ne "pin dirs differ (A: $pin_a)" "$pin_b" "$pin_a"
expect_true "A pins exist" test -d "$pin_a"
expect_true "B pins exist" test -d "$pin_b"
prog_a=$(rw_get "$A" eth0 .prog_id)
prog_b=$(rw_get "$B" eth0 .prog_id)
expect_ne "programs differ (A: $prog_a)" "$prog_b" "$prog_a"
# The host namespace must not list either (it may list its own, if any).
host=$("$RATEWALL" -j link show)
expect_false "host status does not list A or B" \
	grep -qF -e "$pin_a" -e "$pin_b" <<<"$host"

# Traffic into A only: B's counters stay empty.
res=$(burst "$CA" 198.18.1.1 9 300) || die "udp_burst A failed"
rw_settle "$A" eth0 300
expect_eq "A admitted (within its burst of 1000)" "$(rw_count "$A" eth0 admitted)" 300
expect_eq "B saw nothing" "$(rw_json "$B" | jq -c '.attachments[0].counters')" "[]"

# Traffic into B only: its own, far lower limit applies.
res=$(burst "$CB" 198.18.2.1 9 300) || die "udp_burst B failed"
rw_settle "$B" eth0 300
adm_b=$(rw_count "$B" eth0 admitted)
hi=$((20 + 50 * $(json_get "$res" .elapsed_ns) / 1000000000 + 2))
expect_range "B admitted (burst 20 + 50/s * t)" "$adm_b" 19 "$hi"
expect_eq "B admitted + dropped" "$((adm_b + $(rw_count "$B" eth0 src_pkt)))" 300
expect_eq "A unchanged by B's traffic" "$(rw_count "$A" eth0 admitted)" 300
expect_eq "A dropped nothing" "$(rw_count "$A" eth0 src_pkt)" 0

# Detaching A leaves B attached and working.
rw "$A" link detach dev eth0 || fail "detach in A failed"
expect_false "A pins removed" test -e "$pin_a"
expect_eq "A lists nothing" "$(rw_json "$A" | jq -c .attachments)" "[]"
expect_eq "A link has no program" "$(link_xdp_prog "$A" eth0)" ""
expect_true "B pins still there" test -d "$pin_b"
expect_eq "B still attached (ip link)" "$(link_xdp_prog "$B" eth0)" "$prog_b"
expect_eq "B status prog_id" "$(rw_get "$B" eth0 .prog_id)" "$prog_b"
adm0=$(rw_count "$B" eth0 admitted)
drp0=$(rw_count "$B" eth0 src_pkt)
res=$(burst "$CB" 198.18.2.1 9 100) || die "udp_burst B failed"
rw_settle "$B" eth0 $((adm0 + drp0 + 100))
adm1=$(($(rw_count "$B" eth0 admitted) - adm0))
drp1=$(($(rw_count "$B" eth0 src_pkt) - drp0))
expect_eq "B still counts after A's detach" "$((adm1 + drp1))" 100
# However long the pause, the bucket refills to at most its burst of 20.
hi=$((20 + 50 * $(json_get "$res" .elapsed_ns) / 1000000000 + 2))
expect_range "B still limits after A's detach (admitted)" "$adm1" 1 "$hi"
finish
