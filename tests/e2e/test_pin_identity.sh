#!/usr/bin/env bash
# Pins are only ever used for the attachment they were made for: a renamed
# interface is found under its new name and its old name is refused; pins
# moved into another namespace's directory are refused by cookie; names
# like ".." never reach outside ratewall's pins; names with dots are pinned
# under an escaped name; detach leaves a directory holding foreign files
# alone; pins missing a piece are listed, not fatal, and cleared only when
# proven this namespace's; an interface moved to another namespace is never
# mistaken for the one that takes its ifindex; concurrent `class set`s and
# `link set`s never lose each other's fields.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env

A=$(ns_name a)
B=$(ns_name b)
ns_create "$A"
ns_create "$B"
veth_pair "$A" a0 "$B" b0

# --- rename -------------------------------------------------------------------
rw_attach "$A" a0 mode skb rate 100/s burst 10 || die "attach a0 failed"
pin=$(rw_pin_dir "$A" a0)
prog=$(rw_get "$A" a0 .prog_id)
expect_ne "prog_id after attach" "$prog" ""
ip -n "$A" link set a0 name a9
expect_eq "status lists it under its new name" "$(rw_get "$A" a9 .prog_id)" "$prog"
expect_eq "and says what it was pinned as" "$(rw_get "$A" a9 .pinned_as)" a0
expect_eq "state" "$(rw_get "$A" a9 .state)" attached
expect_eq "status dev a9" "$(rw_json "$A" dev a9 | jq -r '.attachments[0].prog_id')" "$prog"
expect_fail --has a9 --has renamed rw "$A" link show dev a0
expect_fail --has a9 rw "$A" class set dev a0 default rate 5/s
expect_fail --has "earlier name" rw "$A" link attach dev a9 mode skb
rw "$A" class set dev a9 default rate 7/s || fail "set on the new name failed"
expect_eq "set through the new name" "$(rw_get "$A" a9 .rate)" 7
# A new interface takes the old name: the old pins are not its.
veth_pair "$A" a0 "$B" b1
expect_fail --has a9 rw "$A" link attach dev a0 mode skb
expect_fail --has a9 rw "$A" link detach dev a0
expect_eq "the new a0 has no program" "$(link_xdp_prog "$A" a0)" ""
expect_eq "a9 still runs ratewall" "$(link_xdp_prog "$A" a9)" "$prog"
rw "$A" link detach dev a9 || fail "detach by the new name failed"
expect_false "pins removed" test -e "$pin"
expect_eq "a9 has no program" "$(link_xdp_prog "$A" a9)" ""
ip -n "$A" link set a9 name a0x

# --- pins of another namespace -------------------------------------------------
rw_attach "$A" a0 mode skb rate 100/s || die "attach a0 in A failed"
pa=$(rw_pin_dir "$A" a0)
rw_attach "$B" b1 mode skb rate 100/s || die "attach b1 in B failed"
pb=$(rw_pin_dir "$B" b1)
prog_a=$(rw_get "$A" a0 .prog_id)
# Make B's namespace directory hold A's pins under the name of B's b0.
mv -- "$pa" "$(dirname "$pb")/b0"
at_exit "mv -- '$(dirname "$pb")/b0' '$pa'"
expect_fail --has "another network namespace" rw "$B" link show dev b0
expect_fail --has "another network namespace" rw "$B" link detach dev b0
expect_fail --has "another network namespace" rw "$B" class set dev b0 default rate 1/s
expect_fail --has "another network namespace" rw "$B" link attach dev b0 mode skb
expect_eq "B lists only its own" "$(rw_json "$B" | jq -r '[.attachments[].dev] | join(",")')" b1
expect_eq "A's program is still attached" "$(link_xdp_prog "$A" a0)" "$prog_a"
mv -- "$(dirname "$pb")/b0" "$pa"
expect_eq "A's attachment back in place" "$(rw_get "$A" a0 .prog_id)" "$prog_a"

# --- names that are paths ------------------------------------------------------
for bad in .. . "a/b" "x:y" "a b" ""; do
	expect_fail --has "not a valid interface name" rw "$A" link detach dev "$bad"
done
expect_fail --has "not a valid interface name" rw "$A" link attach dev ..
expect_true "A's pins untouched" test -e "$pa/link"
expect_true "B's pins untouched" test -e "$pb/link"

# --- names with dots (VLAN-style; bpffs refuses '.' in file names) -------------
veth_pair "$A" v.100 "$B" vp100
rw_attach "$A" v.100 mode skb rate 100/s || fail "attach dev v.100 failed"
pv=$(rw_pin_dir "$A" v.100)
expect_eq "pinned under an escaped name" "$(basename "$pv")" "v%2e100"
expect_eq "listed under its own name" "$(rw_get "$A" v.100 .pinned_as)" v.100
expect_eq "v.100 runs ratewall" "$(link_xdp_prog "$A" v.100)" "$(rw_get "$A" v.100 .prog_id)"
rw "$A" class set dev v.100 default rate 9/s || fail "set dev v.100 failed"
expect_eq "set through the dotted name" "$(rw_get "$A" v.100 .rate)" 9
# The escape's own spelling is another name, with pins of its own.
expect_fail --has "not attached" rw "$A" link show dev "v%2e100"
expect_fail --has "not attached" rw "$A" link detach dev "v%2e100"
ip -n "$A" link set v.100 name w.200
expect_eq "renamed dotted interface found" "$(rw_get "$A" w.200 .pinned_as)" v.100
rw "$A" link detach dev w.200 || fail "detach dev w.200 failed"
expect_false "dotted pins removed" test -e "$pv"
expect_eq "w.200 has no program" "$(link_xdp_prog "$A" w.200)" ""

# --- a directory with something else in it -------------------------------------
mkdir -- "$pa/extra"
expect_fail --has extra rw "$A" link detach dev a0
expect_eq "still attached after the refused detach" "$(link_xdp_prog "$A" a0)" "$prog_a"
expect_true "link pin kept" test -e "$pa/link"
rmdir -- "$pa/extra"

# --- a pin where an attachment's directory should be -----------------------------
# detach must not remove what it cannot list, and must say why.
zf="$(dirname "$pa")/z0"
at_exit "rm -f -- '$zf'"
bpftool map create "$zf" type array key 4 value 4 entries 1 name rwt_z0 ||
	die "cannot pin a map at $zf"
expect_fail --has "cannot list" --has "not a directory" rw "$A" link detach dev z0
expect_true "the file is left alone" test -f "$zf"
rm -- "$zf"

# --- incomplete pins ----------------------------------------------------------
rm -- "$pa/counters"
expect_eq "incomplete listed with its state" \
	"$(rw_json "$A" | jq -r '.attachments[] | select(.dev == "a0") | .state')" incomplete
rw "$A" link show >/dev/null || fail "text status fails on incomplete pins"
expect_true "text status names them" bash -c "nsenter --net=/run/netns/$A '$RATEWALL' link show | grep -q 'a0: incomplete'"
expect_fail --has incomplete rw "$A" class set dev a0 default rate 5/s
# Incomplete pins are still A's: under B's path B must neither list nor clear them.
mv -- "$pa" "$(dirname "$pb")/b0"
at_exit "rm -rf -- '$(dirname "$pb")/b0'"
expect_fail --has "another network namespace" rw "$B" link detach dev b0
expect_eq "B lists only its own, not A's incomplete pins" \
	"$(rw_json "$B" | jq -r '[.attachments[].dev] | join(",")')" b1
mv -- "$(dirname "$pb")/b0" "$pa"
expect_true "A's incomplete pins kept" test -e "$pa/link"
rw "$A" link detach dev a0 || fail "detach of incomplete pins failed"
expect_false "incomplete pins removed" test -e "$pa"
expect_eq "and the program with them" "$(link_xdp_prog "$A" a0)" ""

# Without the config pin the link's program still tells whose they are.
rw_attach "$A" a0 mode skb || die "attach a0 (no config) failed"
pa=$(rw_pin_dir "$A" a0)
prog_a=$(rw_get "$A" a0 .prog_id)
rm -- "$pa/config"
expect_eq "no config: incomplete" "$(rw_get "$A" a0 .state)" incomplete
mv -- "$pa" "$(dirname "$pb")/b0"
expect_fail --has "another network namespace" rw "$B" link detach dev b0
expect_eq "no config: A's program still attached" "$(link_xdp_prog "$A" a0)" "$prog_a"
mv -- "$(dirname "$pb")/b0" "$pa"
rw "$A" link detach dev a0 || fail "detach of pins without config failed"
expect_false "pins without config removed" test -e "$pa"
expect_eq "and the program with them" "$(link_xdp_prog "$A" a0)" ""

# With neither config nor link nothing proves whose they are: never removed.
rw_attach "$A" a0 mode skb || die "attach a0 (no config, no link) failed"
pa=$(rw_pin_dir "$A" a0)
rm -- "$pa/config" "$pa/link"
expect_eq "unproven listed as such" "$(rw_get "$A" a0 .state)" unproven
expect_fail --has "by hand" rw "$A" link detach dev a0
expect_true "unproven pins left alone" test -e "$pa/sources"
expect_true "and the counters" test -e "$pa/counters"
expect_fail --has "by hand" rw "$A" link attach dev a0 mode skb
rm -r -- "$pa"

# Pins of a ratewall whose config has another layout (an older or newer
# build): named as such, and left alone.
pv="$(dirname "$pa")/v0"
at_exit "rm -rf -- '$pv'"
mkdir -- "$pv"
# The same size as this build's config, but no layout mark: only the mark
# tells them apart.
size=$(bpftool -j map show pinned "$pb/config" | jq .bytes_value)
bpftool map create "$pv/config" type array key 4 value "$size" entries 1 name rw_config ||
	die "cannot pin a map at $pv/config"
expect_eq "another version's pins listed as such" "$(rw_get "$A" v0 .state)" other_version
expect_fail --has "another ratewall version" rw "$A" link detach dev v0
expect_true "another version's pins left alone" test -e "$pv/config"
rm -r -- "$pv"

# --- an interface moved to another namespace ------------------------------------
# The link follows x0 into B, where its ifindex names B's device. A new
# interface in A that gets the same ifindex must not be taken for it.
veth_pair "$A" x0 "$B" xp
rw_attach "$A" x0 mode skb rate 100/s || die "attach x0 failed"
px=$(rw_pin_dir "$A" x0)
prog_x=$(rw_get "$A" x0 .prog_id)
ip -n "$A" link set x0 netns "$B"
expect_eq "the program went with x0 to B" "$(link_xdp_prog "$B" x0)" "$prog_x"
idx=$(ip -n "$B" -j link show dev x0 | jq -r '.[0].ifindex')
ip -n "$A" link add name y0 index "$idx" type veth peer name yp netns "$B"
expect_eq "y0 in A has x0's ifindex" "$(ip -n "$A" -j link show dev y0 | jq -r '.[0].ifindex')" "$idx"
expect_eq "status says moved" "$(rw_get "$A" x0 .state)" moved
expect_eq "status lists no y0" "$(rw_json "$A" | jq -r '[.attachments[] | select(.dev == "y0")] | length')" 0
expect_eq "status dev x0 says moved" "$(rw_json "$A" dev x0 | jq -r '.attachments[0].state')" moved
expect_fail --has "not attached" rw "$A" link show dev y0
expect_fail --has "not attached" rw "$A" class set dev y0 default rate 5/s
expect_fail --has moved rw "$A" class set dev x0 default rate 5/s
expect_eq "B's x0 kept its rate" "$(rw_get "$A" x0 .rate)" 100
expect_fail --has "not attached" rw "$A" link detach dev y0
expect_eq "B's x0 still runs ratewall" "$(link_xdp_prog "$B" x0)" "$prog_x"
rw_attach "$A" y0 mode skb rate 50/s || fail "attach y0 (same ifindex as B's x0) failed"
expect_eq "y0 attached in its own right" "$(rw_get "$A" y0 .state)" attached
rw "$A" link detach dev y0 || fail "detach y0 failed"
expect_eq "B's x0 untouched by y0's detach" "$(link_xdp_prog "$B" x0)" "$prog_x"
# A new x0 in A: the old pins stand in its way until detached by that name.
veth_pair "$A" x0 "$B" xq
expect_fail --has moved rw "$A" link attach dev x0 mode skb
rw "$A" link detach dev x0 || fail "detach of the moved attachment by its pin name failed"
expect_false "moved pins removed" test -e "$px"
expect_eq "and B's x0 runs no program" "$(link_xdp_prog "$B" x0)" ""
rw_attach "$A" x0 mode skb || fail "attach of the new x0 failed"
expect_eq "the new x0 is attached" "$(rw_get "$A" x0 .state)" attached
rw "$A" link detach dev x0 || fail "detach of the new x0 failed"

# --- the lock comes first -------------------------------------------------------
# Commands lock /run/ratewall.lock, outside bpffs, before they check or mount
# bpffs, so concurrent first attaches cannot each mount one. Held here, it
# keeps an attach from doing anything at all until it is released.
veth_pair "$A" k0 "$B" kp
at_exit "rw_force_detach '$A' k0 ''"
rw "$A" link show >/dev/null || fail "status before the lock test failed"
# Released before any cleanup runs ratewall, should the test die holding it.
release_lock() {
	[ -z "${lockfd:-}" ] || exec {lockfd}<&-
	lockfd=
}
at_exit release_lock
exec {lockfd}</run/ratewall.lock
flock -x "$lockfd"
# Not inherited by the attach, which would then hold the lock it waits for.
in_ns "$A" timeout 20 "$RATEWALL" link attach dev k0 mode skb {lockfd}<&- &
pk=$!
sleep 0.5
expect_true "attach waits for the lock" kill -0 "$pk"
expect_eq "and has attached nothing meanwhile" "$(link_xdp_prog "$A" k0)" ""
release_lock
wait "$pk" || fail "attach after the lock was released failed"
expect_ne "attached once the lock was free" "$(link_xdp_prog "$A" k0)" ""
rw "$A" link detach dev k0 || fail "detach k0 failed"

# --- concurrent class set / link set ---------------------------------------------
# RATEWALL_TEST_SET_DELAY_MS (a test-only hook) holds each `class set` and
# `link set` between reading the live state and storing it. Each round
# overlaps four changes, each to its own field (the default class's rate
# and burst, the attachment's new-rate and new-burst), started while the
# first is held: only the lock makes each read the others' results instead
# of the old state, which it would store back over their fields.
delayed() {
	in_ns "$B" env RATEWALL_TEST_SET_DELAY_MS=400 "$RATEWALL" "$@"
}
lost=0
for i in 2 3 4; do
	rw "$B" class set dev b1 default rate 1/s burst 1 || fail "class reset $i failed"
	rw "$B" link set dev b1 new-rate 1/s new-burst 1 || fail "link reset $i failed"
	delayed class set dev b1 default rate "$i/s" &
	p1=$!
	sleep 0.1
	delayed class set dev b1 default burst "$i" &
	p2=$!
	delayed link set dev b1 new-rate "$i/s" &
	p3=$!
	delayed link set dev b1 new-burst "$i" &
	p4=$!
	wait "$p1" || fail "class set rate $i failed"
	wait "$p2" || fail "class set burst $i failed"
	wait "$p3" || fail "link set new-rate $i failed"
	wait "$p4" || fail "link set new-burst $i failed"
	got=$(rw_json "$B" dev b1 | jq -r '.attachments[0] | "\(.rate) \(.burst) \(.new_rate) \(.new_burst)"')
	[ "$got" = "$i $i $i $i" ] || {
		lost=$((lost + 1))
		log "round $i: rate burst new_rate new_burst = $got"
	}
done
expect_eq "overlapping changes that lost a field (of 3 rounds)" "$lost" 0
rw "$B" link detach dev b1 || fail "detach b1 failed"
finish
