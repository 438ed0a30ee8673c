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

rw_attach "$GW" gw0 rate 2000 burst 100 || die "attach failed"
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
refuse nosuchif0 attach dev nosuchif0
refuse 'a/b' attach dev a/b
refuse bogus attach dev gw1 bogus 5
refuse rate attach dev gw1 rate
refuse dev attach dev
refuse rate attach dev gw1 rate 0
refuse 1000000000000 attach dev gw1 rate 1000000000000
refuse abc attach dev gw1 rate abc
refuse 12x attach dev gw1 rate 12x
refuse "rate '-5' is not a non-negative integer" attach dev gw1 rate -5
refuse 'not a valid interface' attach dev ..
refuse burst attach dev gw1 burst 0
refuse 99999999999 attach dev gw1 burst 99999999999
refuse 33 attach dev gw1 prefix4 33
refuse 129 attach dev gw1 prefix6 129
refuse entries attach dev gw1 entries 0
refuse bogus attach dev gw1 mode bogus
refuse maybe attach dev gw1 malformed maybe
refuse new-rate attach dev gw1 new-rate 0
refuse 1000000000000 attach dev gw1 new-rate 1000000000000
refuse new-burst attach dev gw1 new-burst 0
refuse attach attach rate 5
refuse frobnicate frobnicate dev gw1
refuse --bogus --bogus status

# The kernel refusing is an error too, and must leave no pins behind:
# loopback has no native XDP.
refuse native attach dev lo mode native
expect_false "no pins for lo" test -e "$(dirname "$pin")/lo"
expect_eq "lo has no program" "$(link_xdp_prog "$GW" lo)" ""

# --- bad changes to the live attachment ------------------------------------
refuse already attach dev gw0
refuse already attach dev gw0 mode skb rate 5
refuse rate set dev gw0 rate 0
refuse 1000000000000 set dev gw0 rate 1000000000000
refuse burst set dev gw0 burst 0
refuse prefix4 set dev gw0 prefix4 8
refuse maybe set dev gw0 malformed maybe
refuse new-rate set dev gw0 new-rate 0
refuse new-burst set dev gw0 new-burst 99999999999
refuse set set dev gw0
refuse 'not attached' set dev gw1 rate 5
refuse nosuchif0 set dev nosuchif0 rate 5

# --- nothing to detach ------------------------------------------------------
refuse 'not attached' detach dev gw1
refuse nosuchif0 detach dev nosuchif0
refuse dev detach
refuse 'not a valid interface' detach dev ..
refuse 'not a valid interface' detach dev .

# --- not root ------------------------------------------------------------------
# nsenter needs root, so it runs first and drops to nobody for ratewall.
nobody() {
	in_ns "$GW" setpriv --reuid=65534 --regid=65534 --clear-groups "$RATEWALL" "$@"
}
for args in "attach dev gw1" "detach dev gw0" "set dev gw0 rate 5"; do
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
for args in "attach dev gw1" "detach dev gw0" "set dev gw0 rate 5"; do
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
for args in "attach dev gw1" "detach dev gw0"; do
	# shellcheck disable=SC2086
	expect_fail --has bpf no_bpffs_child $args
	unchanged "no bpffs (parent in the same mount namespace): ratewall $args"
done

# --- ip netns exec: remounts /sys, so no bpffs at /sys/fs/bpf ----------------
for args in "attach dev gw1" "detach dev gw0"; do
	# shellcheck disable=SC2086
	expect_fail --has bpf ip netns exec "$GW" "$RATEWALL" $args
	unchanged "ip netns exec: ratewall $args"
	# shellcheck disable=SC2086,SC2016
	expect_fail --has bpf ip netns exec "$GW" sh -c '"$0" "$@"; exit $?' "$RATEWALL" $args
	unchanged "ip netns exec sh -c: ratewall $args"
done

# Still works after all that.
expect_true "attachment still detaches cleanly" rw "$GW" detach dev gw0
expect_false "pins removed" test -e "$pin"
finish
