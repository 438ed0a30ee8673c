#!/usr/bin/env bash
# The policy file end to end: `policy check` accepts the README's example
# and refuses a broken file with file:line; attach with a policy shows its
# classes, tenants and hash in status; a broken apply changes nothing; and
# while datagrams flow, 60 applies that alternate two policies never let a
# packet be judged by a mix of them.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EXAMPLE=$ROOT/examples/gateway-policy.yaml
TMP=$(mktemp -d)
at_exit "rm -rf '$TMP'"

# --- check, without anything attached -----------------------------------------
out=$("$RATEWALL" policy check "$EXAMPLE") || fail "policy check of the example failed"
expect_true "check reports the example valid" grep -q "valid; policy [0-9a-f]\{64\}" <<<"$out"
example_hash=$("$RATEWALL" -j policy check "$EXAMPLE" | jq -r .hash)
expect_eq "check -j: 4 classes" "$("$RATEWALL" -j policy check "$EXAMPLE" | jq .classes)" 4

# The same policy written differently hashes alike.
sed -e 's/#.*$//' -e 's|1000/s|60000/m|' "$EXAMPLE" >"$TMP/rewritten.yaml"
expect_eq "hash ignores comments and units" \
	"$("$RATEWALL" -j policy check "$TMP/rewritten.yaml" | jq -r .hash)" "$example_hash"

printf 'version: 1\nclasses:\n  - name: web\n    ports: [tcp/80]\n    source:\n      packets: { rate: 20, burst: 5 }\n' \
	>"$TMP/broken.yaml"
rc=0
err=$("$RATEWALL" policy check "$TMP/broken.yaml" 2>&1 >/dev/null) || rc=$?
expect_eq "check of a broken file exits 1" "$rc" 1
expect_true "the error names file and line 6: $err" grep -q "broken.yaml:6:" <<<"$err"

# --- attach with a policy -----------------------------------------------------
GW=$(ns_name gw)
CL=$(ns_name cl)
gateway_and_client "$GW" "$CL"

expect_fail --has "built-in policy" rw "$GW" link attach dev gw0 policy "$EXAMPLE" rate 5/s
rw_attach "$GW" gw0 policy "$EXAMPLE" || die "attach with the example policy failed"
expect_eq "status hash = check hash" "$(rw_get "$GW" gw0 .policy.hash)" "$example_hash"
expect_eq "generation 1" "$(rw_get "$GW" gw0 .policy.generation)" 1
expect_eq "class names" "$(rw_get "$GW" gw0 '[.classes[].name] | join(",")')" \
	"default,interactive,ci_ingest,internal_worker"
expect_eq "ci_ingest observes" "$(rw_get "$GW" gw0 '.classes[2].mode')" observe
expect_eq "interactive ports" "$(rw_get "$GW" gw0 '.classes[1].ports | join(",")')" \
	"tcp/443,udp/443"
expect_eq "interactive source syn" \
	"$(rw_get "$GW" gw0 '.classes[1].source.syn | "\(.rate) \(.burst)"')" "20 60"
expect_eq "ci_ingest global syn 5400/m = 90/s" \
	"$(rw_get "$GW" gw0 '.classes[2].global.syn | "\(.rate) \(.burst)"')" "90 200"
expect_eq "tenants" "$(rw_get "$GW" gw0 '[.tenants[].name] | join(",")')" \
	"ci-fleet,chat-connectors"
expect_eq "ci-fleet in ci_ingest" \
	"$(rw_get "$GW" gw0 '.tenants[0].classes.ci_ingest.syn.rate')" 15
rw "$GW" link show | grep -q "internal_worker  *enforce" || fail "text link show lacks internal_worker enforce"

# --- a broken apply changes nothing -------------------------------------------
rc=0
err=$(rw "$GW" policy apply dev gw0 "$TMP/broken.yaml" 2>&1 >/dev/null) || rc=$?
expect_eq "apply of a broken file exits 1" "$rc" 1
expect_true "apply error names the line: $err" grep -q "broken.yaml:6:" <<<"$err"
expect_true "apply says the live policy is unchanged" grep -q "unchanged" <<<"$err"
expect_eq "hash unchanged" "$(rw_get "$GW" gw0 .policy.hash)" "$example_hash"
expect_eq "generation unchanged" "$(rw_get "$GW" gw0 .policy.generation)" 1

# --- atomic switch while packets flow -----------------------------------------
# In A, udp/9000 is class "first" (no limits) and udp/9999 class "second"
# (1 packet/s per source); B swaps them. A packet judged wholly by A counts
# as first/admitted, wholly by B as second/admitted; one that took its class
# from one policy and its limits from the other meets the 1/s bucket and is
# dropped. So: drops must be 0, and both classes must have seen packets.
cat >"$TMP/a.yaml" <<'YAML'
classes:
  - name: first
    ports: [udp/9000]
  - name: second
    ports: [udp/9999]
    source:
      packets: { rate: 1/s, burst: 1 }
YAML
cat >"$TMP/b.yaml" <<'YAML'
classes:
  - name: first
    ports: [udp/9999]
    source:
      packets: { rate: 1/s, burst: 1 }
  - name: second
    ports: [udp/9000]
YAML
rw "$GW" policy apply dev gw0 "$TMP/a.yaml" || die "apply a.yaml failed"
expect_eq "generation 2 after apply" "$(rw_get "$GW" gw0 .policy.generation)" 2
before=$(rw_json "$GW" | jq '[.attachments[0].counters[] | select(.reason != "non_ip") | .packets] | add // 0')

COUNT=40000
burst "$CL" 198.18.0.1 9000 "$COUNT" pps 10000 >"$TMP/burst.json" &
sender=$!
at_exit "kill $sender 2>/dev/null"
applies=0
while kill -0 "$sender" 2>/dev/null && [ "$applies" -lt 200 ]; do
	if [ $((applies % 2)) -eq 0 ]; then f=b; else f=a; fi
	rw "$GW" policy apply dev gw0 "$TMP/$f.yaml" || fail "apply $f.yaml failed"
	applies=$((applies + 1))
done
wait "$sender" || fail "udp_burst failed: $(cat "$TMP/burst.json")"
sent=$(jq .sent "$TMP/burst.json")
rw_settle "$GW" gw0 $((before + sent))
log "applies during the flow: $applies; sent $sent"
expect_range "applies while packets flowed" "$applies" 10 200
json=$(rw_json "$GW")
count() { jq --arg c "$1" --arg r "$2" --arg v "$3" '[.attachments[0].counters[]
	| select(.class == $c and .reason == $r and .verdict == $v) | .packets] | add // 0' <<<"$json"; }
first=$(count first admitted pass)
second=$(count second admitted pass)
drops=$(jq '[.attachments[0].counters[] | select(.verdict != "pass") | .packets] | add // 0' <<<"$json")
expect_eq "packets judged by a mixed policy (dropped)" "$drops" 0
expect_eq "first + second admitted == sent" "$((first + second))" "$sent"
expect_range "packets judged by A" "$first" 1 "$sent"
expect_range "packets judged by B" "$second" 1 "$sent"
expect_eq "generation counts every apply" "$(rw_get "$GW" gw0 .policy.generation)" $((2 + applies))

# --- bad commands change nothing ----------------------------------------------
expect_fail --has "one too many" rw "$GW" policy apply dev gw0 "$TMP/a.yaml" "$TMP/b.yaml"
expect_fail --has "needs a FILE" rw "$GW" policy apply dev gw0
expect_fail --has "cannot read" --has "nothere.yaml" "$RATEWALL" policy check "$TMP/nothere.yaml"
expect_fail --has "exactly one FILE" "$RATEWALL" policy check
expect_eq "generation after refused commands" "$(rw_get "$GW" gw0 .policy.generation)" \
	$((2 + applies))

# --- live switches on top of a policy -----------------------------------------
expect_fail --has "shed" --has "maybe" rw "$GW" link set dev gw0 shed maybe
expect_eq "shed off by default" "$(rw_get "$GW" gw0 .shed)" false
rw "$GW" link set dev gw0 shed on || fail "link set shed on failed"
expect_eq "shed on" "$(rw_get "$GW" gw0 .shed)" true
rw "$GW" link show | grep -q "shed on (every class)" || fail "text link show lacks 'shed on'"
rw "$GW" link set dev gw0 shed off || fail "link set shed off failed"
expect_eq "shed off again" "$(rw_get "$GW" gw0 .shed)" false
# The last applied policy has no default-class source bucket: a burst
# alone has nothing to change, a rate creates it.
gen=$(rw_get "$GW" gw0 .policy.generation)
expect_fail --has "give a rate" rw "$GW" class set dev gw0 default burst 5
expect_eq "refused set made no live change" "$(rw_get "$GW" gw0 .policy.live_edits)" 0
rw "$GW" class set dev gw0 default rate 300/s burst 30 || fail "class set rate on the default class failed"
expect_eq "default class source packets" \
	"$(rw_get "$GW" gw0 '.classes[0].source.packets | "\(.rate) \(.burst)"')" "300 30"
expect_eq "one live change recorded" "$(rw_get "$GW" gw0 .policy.live_edits)" 1
# A live change is a whole policy edit of its own: a new generation.
expect_eq "a live change is one generation" "$(rw_get "$GW" gw0 .policy.generation)" $((gen + 1))
rw "$GW" policy apply dev gw0 "$TMP/a.yaml" || fail "apply after the live change failed"
expect_eq "an apply clears the live changes" "$(rw_get "$GW" gw0 .policy.live_edits)" 0
expect_eq "and is a generation too" "$(rw_get "$GW" gw0 .policy.generation)" $((gen + 2))

finish
