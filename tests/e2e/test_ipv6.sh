#!/usr/bin/env bash
# IPv6 sources are keyed by their prefix6 network: two addresses in one
# /64 share a bucket, an address in another /64 has its own; with
# prefix6 128 every address has its own.
#
# IPv6 stays enabled here, so MLD reports from the client can reach the
# gateway now and then. They come from "::" (the client has no link-local
# address), a bucket of their own that never fills, so they can only add
# to "admitted". The test therefore measures each sender by its drops:
# admitted = sent - dropped, exact once it is checked that every frame
# the client put on the wire was counted and none was lost before XDP.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env

RATE=10 # low, so that refill during a phase is a packet or two
BURST=200
COUNT=400
PPS=20000 # paced just enough that the veth ring never overflows

GW=$(ns_name gw)
CL=$(ns_name cl)
ns_create "$GW" v6
ns_create "$CL" v6
veth_pair "$GW" gw0 "$CL" cl0
for a in 2001:db8:1::1 2001:db8:2::1; do
	ip -n "$GW" addr add "$a/64" dev gw0 nodad
	neigh_static "$CL" cl0 "$a" "$(mac_of "$GW" gw0)"
done
# 1::a and 1::b share 2001:db8:1::/64; 2::a is alone in 2001:db8:2::/64.
for a in 2001:db8:1::a 2001:db8:1::b 2001:db8:2::a; do
	ip -n "$CL" addr add "$a/64" dev cl0 nodad
	neigh_static "$GW" gw0 "$a" "$(mac_of "$CL" cl0)"
done

now_ns() { date +%s%N; }

# phase SRC DST COUNT: sends COUNT datagrams from SRC; sets ADM (admitted
# for this sender: sent - dropped) and T_NS (the sender's span).
phase() {
	local src=$1 dst=$2 count=$3 res drop0 seen0 tx0 txd0 drop1 seen1 tx1 txd1 i
	drop0=$(rw_count "$GW" gw0 src_pkt drop)
	txd0=$(link_stat "$CL" cl0 tx dropped)
	wire_and_seen
	seen0=$SEEN tx0=$TX
	res=$(burst "$CL" "$dst" 9 "$count" pps "$PPS" src "$src") || die "udp_burst from $src failed: $res"
	[ "$(json_get "$res" .sent)" = "$count" ] || die "udp_burst sent $res"
	rw_settle "$GW" gw0 $((seen0 + count))
	for ((i = 0; i < 20; i++)); do
		wire_and_seen
		seen1=$SEEN tx1=$TX
		[ $((seen1 - seen0)) = $((tx1 - tx0)) ] && break
		sleep 0.1
	done
	txd1=$(link_stat "$CL" cl0 tx dropped)
	drop1=$(rw_count "$GW" gw0 src_pkt drop)
	T_NS=$(json_get "$res" .elapsed_ns)
	ADM=$((count - (drop1 - drop0)))
	log "from $src: sent $count in $((T_NS / 1000)) us, dropped $((drop1 - drop0)), frames on the wire $((tx1 - tx0))"
	expect_eq "$src: every frame on the wire counted once" $((seen1 - seen0)) $((tx1 - tx0))
	expect_eq "$src: nothing lost before XDP (client tx dropped)" $((txd1 - txd0)) 0
}

# wire_and_seen: sets TX (client frames sent) and SEEN (frames ratewall
# counted) as one consistent pair. An MLD report may be sent while the
# two are read; the read is repeated until the wire stood still around it.
wire_and_seen() {
	local txa i
	for ((i = 0; i < 20; i++)); do
		txa=$(link_stat "$CL" cl0 tx packets)
		SEEN=$(rw_seen)
		TX=$(link_stat "$CL" cl0 tx packets)
		[ "$txa" = "$TX" ] && return 0
	done
}

# rw_seen: packets counted for every reason and verdict.
rw_seen() { rw_json "$GW" | jq '[.attachments[0].counters[].packets] | add // 0'; }

# A fresh bucket admits burst + rate * t (+-1 for GCRA rounding, +1 slack).
fresh_range() { echo "$(($1 - 1)) $(($1 + RATE * $2 / 1000000000 + 2))"; }

rw_attach "$GW" gw0 rate "$RATE/s" burst "$BURST" || die "attach failed"
expect_eq "prefix6 default" "$(rw_get "$GW" gw0 .prefix6)" 64

start=$(now_ns)
phase 2001:db8:1::a 2001:db8:1::1 "$COUNT"
adm_a=$ADM t_a=$T_NS
# shellcheck disable=SC2046
expect_range "1::a admitted (fresh /64 bucket)" "$adm_a" $(fresh_range "$BURST" "$t_a")

phase 2001:db8:1::b 2001:db8:1::1 "$COUNT"
adm_b=$ADM t_b=$T_NS
span=$(($(now_ns) - start))
# 1::b finds the bucket 1::a emptied: only what refilled since, at most
# rate * (wall time of both phases) + 2, far below the burst of 200.
expect_range "1::b admitted (same /64: shares 1::a's bucket)" "$adm_b" 0 \
	$((RATE * span / 1000000000 + 2))
expect_range "1::a + 1::b admitted (one bucket's worth)" $((adm_a + adm_b)) \
	$((BURST + RATE * (t_a + t_b) / 1000000000 - 1)) $((BURST + RATE * span / 1000000000 + 2))

# Another /64, sent to the gateway's other address: a full bucket again.
phase 2001:db8:2::a 2001:db8:2::1 "$COUNT"
# shellcheck disable=SC2046
expect_range "2::a admitted (other /64: own bucket)" "$ADM" $(fresh_range "$BURST" "$T_NS")

# prefix6 128: each address is its own key.
rw "$GW" link detach dev gw0 || die "detach failed"
rw_attach "$GW" gw0 rate "$RATE/s" burst 50 prefix6 128 || die "attach prefix6 128 failed"
expect_eq "prefix6 after re-attach" "$(rw_get "$GW" gw0 .prefix6)" 128
phase 2001:db8:1::a 2001:db8:1::1 100
# shellcheck disable=SC2046
expect_range "prefix6 128: 1::a admitted" "$ADM" $(fresh_range 50 "$T_NS")
phase 2001:db8:1::b 2001:db8:1::1 100
# shellcheck disable=SC2046
expect_range "prefix6 128: 1::b admitted (own bucket)" "$ADM" $(fresh_range 50 "$T_NS")
finish
