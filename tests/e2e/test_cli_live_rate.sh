#!/usr/bin/env bash
# A class's rate changed with the CLI while traffic flows: the admitted
# rate follows within one second. A source offers 2000 datagrams/s for
# about 5 s to a class limited to 100/s (burst 10 per source); after 2 s
# `class set` raises the limit to 1000/s (burst 100). Judged on counts, not
# on timing luck: in the second before the change at most what 100/s can
# admit passes; in the first second after it (measured, however long the
# machine took) more passes than the old limit could ever admit in that
# time, and no more than the new one can. `policy show` reports the change.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env

TMP=$(mktemp -d)
at_exit "rm -rf '$TMP'"
GW=$(ns_name gw)
CL=$(ns_name cl)
gateway_and_client "$GW" "$CL"
printf 'classes:\n  - name: web\n    ports: [udp/8080]\n    source:\n      packets: { rate: 100/s, burst: 10 }\n' \
	>"$TMP/p.yaml"
rw_attach "$GW" gw0 policy "$TMP/p.yaml" || die "attach failed"

admitted() { rw "$GW" -j stats show dev gw0 |
	jq '[.counters[] | select(.class == "web" and .verdict == "pass") | .packets] | add // 0'; }
now() { date +%s.%N; }

# 2000/s for 5 s at most (10000 datagrams), in the background.
burst "$CL" 198.18.0.1 8080 10000 pps 2000 >"$TMP/burst.json" &
SENDER=$!
at_exit "kill $SENDER 2>/dev/null; wait $SENDER 2>/dev/null"

sleep 1
a0=$(admitted); t0=$(now)
sleep 1
a1=$(admitted); t1=$(now)
rw "$GW" class set web rate 1000/s burst 100 || fail "class set failed"
t2=$(now); a2=$(admitted)
sleep 1
a3=$(admitted); t3=$(now)
wait "$SENDER" || fail "udp_burst failed"

before=$((a1 - a0))
after=$((a3 - a2))
calc() { awk "BEGIN { printf \"%.0f\", $1 }"; }
span_before=$(awk "BEGIN { print $t1 - $t0 }")
span_after=$(awk "BEGIN { print $t3 - $t2 }")
# The old limit admits at most burst + rate * t; the new one likewise
# (50 ms of slack for the reads at either end of a window).
old_max=$(calc "10 + 100 * ($span_before + 0.05)")
old_in_after=$(calc "10 + 100 * ($span_after + 0.05)")
new_max=$(calc "100 + 1000 * ($span_after + 0.05)")
log "before: $before in ${span_before}s (old limit allows $old_max); after: $after in ${span_after}s"
expect_range "admitted in the second before the change" "$before" 1 "$old_max"
expect_range "admitted in the second after the change: above the old limit, within the new" \
	"$after" $((3 * old_in_after)) "$new_max"
expect_eq "policy show has the new rate" \
	"$(rw "$GW" policy show | grep -o 'packets: {rate: 1000/s, burst: 100}')" \
	"packets: {rate: 1000/s, burst: 100}"
expect_eq "and counts one command-line change" "$(rw "$GW" -j policy show | jq .live_edits)" 1
finish
