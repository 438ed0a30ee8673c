#!/usr/bin/env bash
# Bad input to every object of the command line: one line on stderr
# starting "ratewall: " that names the bad value, exit code 2 for a usage
# error (unknown object or keyword, ambiguous prefix, malformed value) and
# 1 for a runtime error (nothing attached, no such class or tenant, a
# change the policy refuses), and nothing changed: the live policy's hash
# and generation and the attachment's settings are the same afterwards.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env

TMP=$(mktemp -d)
at_exit "rm -rf '$TMP'"
GW=$(ns_name gw)
CL=$(ns_name cl)
EMPTY=$(ns_name empty)
gateway_and_client "$GW" "$CL"
ns_create "$EMPTY"

cat >"$TMP/p.yaml" <<'YAML'
classes:
  - name: web
    ports: [udp/8080]
    source:
      packets: { rate: 100/s, burst: 10 }
tenants:
  - name: lab
    cidrs: [198.18.0.0/25]
allow: [198.18.1.0/24]
deny: [198.18.2.0/24]
YAML
printf 'classes:\n  - name: web\n    ports: [udp/80]\n    source: { packets: { rate: 5 } }\n' \
	>"$TMP/broken.yaml"

# refuse CODE TEXT ARGS...: ratewall ARGS in the gateway namespace exits
# CODE with one error line containing TEXT.
refuse() {
	local code=$1 text=$2 rc=0
	shift 2
	expect_fail --has "$text" rw "$GW" "$@"
	rw "$GW" "$@" >/dev/null 2>&1 || rc=$?
	expect_eq "exit code of: ratewall $*" "$rc" "$code"
}

state() {
	rw "$GW" -j policy show dev gw0 | jq -c '{hash, generation, live_edits}'
	rw "$GW" -j link show dev gw0 |
		jq -c '.attachments[0] | {shed, malformed, new_rate, new_burst}'
}

# --- nothing attached ----------------------------------------------------------
expect_fail --has "nothing attached" in_ns "$EMPTY" "$RATEWALL" class show
rc=0
in_ns "$EMPTY" "$RATEWALL" class set web rate 5/s >/dev/null 2>&1 || rc=$?
expect_eq "class set with nothing attached exits 1" "$rc" 1

rw_attach "$GW" gw0 mode skb policy "$TMP/p.yaml" || die "attach failed"
before=$(state)

# --- the top level -----------------------------------------------------------
rc=0
rw "$GW" >/dev/null 2>&1 || rc=$?
expect_eq "no object: exit 2" "$rc" 2
refuse 2 "bogus" bogus
refuse 2 "ambiguous" c show
refuse 2 "-x" -x link show
refuse 2 "-d" class show -d

# --- link ----------------------------------------------------------------------
refuse 2 "bogus" link bogus
refuse 2 "dev IFACE" link attach
refuse 2 "no unit" link attach dev gw1 rate 5
refuse 2 "new-rate" link attach dev gw1 new-rate 5/m
refuse 2 "prefix4" link attach dev gw1 prefix4 33
refuse 2 "208 days" link attach dev gw1 rate 4/m burst 10000000
refuse 1 "already" link attach dev gw0 mode skb
refuse 2 "maybe" link set dev gw0 shed maybe
refuse 2 "prefix4" link set dev gw0 prefix4 8
refuse 2 "at least one" link set dev gw0
refuse 2 "dev IFACE" link detach
refuse 1 "nosuch0" link show dev nosuch0
refuse 2 "'a/b'" link show dev a/b

# --- class ---------------------------------------------------------------------
refuse 2 "ambiguous" class s
refuse 2 "no unit" class set web rate 5
refuse 2 "fast" class set web mode fast
refuse 2 "conn-cap" class set web conn-cap 0
refuse 2 "needs a value" class set web burst
refuse 2 "changes nothing" class set web
refuse 2 "speed" class set web speed 5/s
refuse 2 "removes the bucket" class set web rate none burst 4
refuse 1 "nope" class set nope rate 5/s
refuse 1 "nope" class show nope
refuse 1 "give a rate" class set web syn-burst 5
refuse 1 "208 days" class set web rate 4/m burst 10000000

# --- tenant ----------------------------------------------------------------------
refuse 2 "host bits" tenant add 198.18.0.1/16 name x
refuse 2 "name" tenant add 198.18.9.0/24
refuse 2 "bad name" tenant add 198.18.9.0/24 name 'bad name'
refuse 2 "no unit" tenant add 198.18.9.0/24 name x rate 7
refuse 2 "one CIDR" tenant del 198.18.9.0/24 198.18.8.0/24
refuse 1 "198.18.77.0/24" tenant del 198.18.77.0/24
refuse 1 "nope" tenant del name nope
refuse 1 "nope" tenant add 198.18.9.0/24 name x in nope rate 5/s
refuse 1 "nope" tenant show nope

# --- allow and deny --------------------------------------------------------------
refuse 2 "300.1.1.1/8" allow add 300.1.1.1/8
refuse 2 "needs a CIDR" allow add
refuse 2 "one too many" deny add 198.18.3.0/24 198.18.4.0/24
refuse 1 "both" allow add 198.18.2.0/24
refuse 1 "already" deny add 198.18.2.0/24
refuse 1 "not in the deny list" deny del 198.18.50.0/24
refuse 2 "bogus" allow bogus

# --- client ----------------------------------------------------------------------
refuse 2 "198.18.0.300" client show 198.18.0.300
refuse 2 "address" client show
refuse 2 "70000" client explain 198.18.0.1 port 70000
refuse 2 "port" client explain 198.18.0.1 syn
refuse 2 "udp" client explain 198.18.0.1 port 80 udp syn
refuse 2 "bytes" client top by bytes
refuse 2 "count" client top count 0

# --- stats -----------------------------------------------------------------------
refuse 2 "interval" stats show interval 0
refuse 2 "count" stats show count 3
refuse 2 "abc" stats watch interval abc

# --- quota -----------------------------------------------------------------------
refuse 2 "extra" quota show extra
refuse 1 "gw9" quota show dev gw9
refuse 2 "frob" quota frob

# --- policy ----------------------------------------------------------------------
refuse 2 "exactly one FILE" policy check
refuse 2 "needs a FILE" policy apply
refuse 2 "extra" policy show extra
# A broken file gets its own line per error, then the verdict.
rc=0
err=$(rw "$GW" policy apply "$TMP/broken.yaml" 2>&1 >/dev/null) || rc=$?
expect_eq "policy apply of a broken file exits 1" "$rc" 1
expect_true "it names file and line: $err" grep -q "broken.yaml:4: rate \"5\" has no unit" <<<"$err"
expect_true "and says the live policy is unchanged" grep -q "unchanged" <<<"$err"

expect_eq "nothing changed by any refused command" "$(state)" "$before"

# --- two attachments: a command must be told which -------------------------------
veth_pair "$GW" gw1 "$CL" cl1
rw_attach "$GW" gw1 mode skb || die "attach gw1 failed"
refuse 2 "gw0, gw1" class show
out=$(rw "$GW" -d gw1 -j class show | jq -r '.dev') || fail "-d gw1 class show failed"
expect_eq "-d picks the interface" "$out" gw1
out=$(rw "$GW" -j class show dev gw0 | jq -r '.dev') || fail "class show dev gw0 failed"
expect_eq "dev picks the interface" "$out" gw0
finish
