#!/usr/bin/env bash
# Every bad command line, and every bad environment (not root, no bpffs,
# `ip netns exec`), must be refused with exit != 0 and one "ratewall: "
# line on stderr naming what is wrong, and must change nothing: a live
# attachment keeps its program, limits and counters, and a spare
# interface stays bare.
# shellcheck disable=SC2317 # the helpers below run through expect_fail "$@"
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env
command -v setpriv >/dev/null || die "setpriv is missing (util-linux)"
command -v unshare >/dev/null || die "unshare is missing (util-linux)"

GW=$(ns_name gw)
CL=$(ns_name cl)
gateway_and_client "$GW" "$CL"
veth_pair "$GW" gw1 "$CL" cl1 # spare: must never get a program

rw_attach "$GW" gw0 rate 2000/s burst 100 || die "attach failed"
# Some counters first, so "unchanged" covers them too.
burst "$CL" 198.18.0.1 9 300 >/dev/null || die "udp_burst failed"
rw_settle "$GW" gw0 300
snapshot=$(rw_json "$GW" | jq -cS .)
pin=$(rw_pin_dir "$GW" gw0)
spare_pin="$(dirname "$pin")/gw1"
log "baseline: $snapshot"
[ "$(rw_count "$GW" gw0 src_pkt)" -gt 0 ] || die "baseline has no drops"

# unchanged: the attachment's status is byte-for-byte the baseline (same
# prog_id, link_id, limits and counters: no traffic flows meanwhile) and
# the spare interface has neither a program nor pins.
unchanged() {
	local now
	now=$(rw_json "$GW" | jq -cS .)
	[ "$now" = "$snapshot" ] || fail "status changed after: $*
  before: $snapshot
  after:  $now"
	[ -z "$(link_xdp_prog "$GW" gw1)" ] || fail "gw1 got an XDP program after: $*"
	[ ! -e "$spare_pin" ] || fail "gw1 got pins after: $*"
	[ "$(link_xdp_prog "$GW" gw0)" = "$(jq -r '.attachments[0].prog_id' <<<"$snapshot")" ] ||
		fail "gw0's XDP program changed after: $*"
}

# refuse TEXT ARGS...: ratewall ARGS in the gateway must fail naming TEXT.
refuse() {
	local text=$1
	shift
	expect_fail --has "$text" rw "$GW" "$@"
	unchanged "ratewall $*"
}

# --- bad command lines ------------------------------------------------------------
refuse nosuchif0 link attach dev nosuchif0
refuse 'a/b' link attach dev a/b
refuse bogus link attach dev gw1 bogus 5
refuse rate link attach dev gw1 rate
refuse dev link attach dev
refuse 'has no unit' link attach dev gw1 rate 5
refuse rate link attach dev gw1 rate 0/s
refuse 1000000000000 link attach dev gw1 rate 1000000000000/s
refuse abc link attach dev gw1 rate abc
refuse 12x link attach dev gw1 rate 12x
refuse 'rate "-5/s" is not a count per period' link attach dev gw1 rate -5/s
refuse 'not a valid interface' link attach dev ..
refuse burst link attach dev gw1 burst 0
refuse 99999999999 link attach dev gw1 burst 99999999999
refuse 33 link attach dev gw1 prefix4 33
refuse 129 link attach dev gw1 prefix6 129
refuse entries link attach dev gw1 entries 0
refuse bogus link attach dev gw1 mode bogus
refuse maybe link attach dev gw1 malformed maybe
refuse new-rate link attach dev gw1 new-rate 0/s
refuse 1000000000000 link attach dev gw1 new-rate 1000000000000/s
refuse new-burst link attach dev gw1 new-burst 0
refuse attach link attach rate 5/s
refuse frobnicate frobnicate dev gw1
refuse --bogus --bogus link show

# The kernel refusing is an error too, and must leave no pins behind:
# loopback has no native XDP.
refuse native link attach dev lo mode native
expect_false "no pins for lo" test -e "$(dirname "$pin")/lo"
expect_eq "lo has no program" "$(link_xdp_prog "$GW" lo)" ""

# --- bad changes to the live attachment ------------------------------------
refuse already link attach dev gw0
refuse already link attach dev gw0 mode skb rate 5/s
refuse rate class set dev gw0 default rate 0/s
refuse 1000000000000 class set dev gw0 default rate 1000000000000/s
refuse burst class set dev gw0 default burst 0
refuse prefix4 link set dev gw0 prefix4 8
refuse maybe link set dev gw0 malformed maybe
refuse new-rate link set dev gw0 new-rate 0/s
refuse new-burst link set dev gw0 new-burst 99999999999
refuse set link set dev gw0
refuse set class set dev gw0 default
refuse 'not attached' class set dev gw1 default rate 5/s
refuse 'not attached' link set dev gw1 malformed drop
refuse nosuchif0 class set dev nosuchif0 default rate 5/s
refuse nosuchif0 link set dev nosuchif0 malformed drop

# --- nothing to detach ------------------------------------------------------
refuse 'not attached' link detach dev gw1
refuse nosuchif0 link detach dev nosuchif0
refuse dev link detach
refuse 'not a valid interface' link detach dev ..
refuse 'not a valid interface' link detach dev .

# --- not root ------------------------------------------------------------------
# nsenter needs root, so it runs first and drops to nobody for ratewall.
nobody() {
	in_ns "$GW" setpriv --reuid=65534 --regid=65534 --clear-groups "$RATEWALL" "$@"
}
for args in "link attach dev gw1" "link detach dev gw0" "class set dev gw0 default rate 5/s" \
	"link set dev gw0 malformed drop"; do
	# shellcheck disable=SC2086
	expect_fail --has root nobody $args
	unchanged "nobody: ratewall $args"
done

# --- no bpffs: a private mount namespace with /sys/fs/bpf unmounted --------
# Pins made there would die with the namespace, so attach must refuse.
# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
no_bpffs() {
	unshare --mount --propagation private sh -c \
		'umount -l /sys/fs/bpf 2>/dev/null || exit 99; exec nsenter --net="$0" "$@"' \
		"/run/netns/$GW" "$RATEWALL" "$@"
}
for args in "link attach dev gw1" "link detach dev gw0" "class set dev gw0 default rate 5/s" \
	"link set dev gw0 malformed drop"; do
	# shellcheck disable=SC2086
	expect_fail --has bpf no_bpffs $args
	unchanged "no bpffs: ratewall $args"
done

# The same when ratewall's parent shares that private mount namespace, as
# for any command of a script run under unshare or `ip netns exec`.
# shellcheck disable=SC2016
no_bpffs_child() {
	unshare --mount --propagation private sh -c \
		'umount -l /sys/fs/bpf 2>/dev/null || exit 99; nsenter --net="$0" "$@"; exit $?' \
		"/run/netns/$GW" "$RATEWALL" "$@"
}
for args in "link attach dev gw1" "link detach dev gw0"; do
	# shellcheck disable=SC2086
	expect_fail --has bpf no_bpffs_child $args
	unchanged "no bpffs (parent in the same mount namespace): ratewall $args"
done

# --- ip netns exec: remounts /sys, so no bpffs at /sys/fs/bpf ----------------
for args in "link attach dev gw1" "link detach dev gw0"; do
	# shellcheck disable=SC2086
	expect_fail --has bpf ip netns exec "$GW" "$RATEWALL" $args
	unchanged "ip netns exec: ratewall $args"
	# shellcheck disable=SC2086,SC2016
	expect_fail --has bpf ip netns exec "$GW" sh -c '"$0" "$@"; exit $?' "$RATEWALL" $args
	unchanged "ip netns exec sh -c: ratewall $args"
done

# Still works after all that.
expect_true "attachment still detaches cleanly" rw "$GW" link detach dev gw0
expect_false "pins removed" test -e "$pin"
finish
