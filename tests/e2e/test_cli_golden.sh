#!/usr/bin/env bash
# Golden output of every read command, text and JSON, against a fixed
# policy and a known burst of traffic: the outputs must equal the files in
# tests/golden/ once the values that differ per run (times, program and
# link ids, namespace cookie, cgroup path) are masked. JSON is parsed and
# compared with sorted keys, so it is valid by construction. Then the same
# after live changes made with the CLI, to show 'policy show' reports them.
#
# After an intended change of output: RW_GOLDEN_UPDATE=1 bash THIS, then
# read the diff of tests/golden/ before committing it.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env

GOLDEN=$RW_ROOT/tests/golden
TMP=$(mktemp -d)
at_exit "rm -rf '$TMP'"
GW=$(ns_name gw)
CL=$(ns_name cl)
gateway_and_client "$GW" "$CL"

cat >"$TMP/golden.yaml" <<'YAML'
version: 1
default:
  source:
    packets: { rate: 1000/s, burst: 1000 }
classes:
  - name: web
    ports: [udp/8080]
    source:
      packets: { rate: 4/m, burst: 5 }
  - name: api
    ports: [tcp/8443, tcp/9000-9009]
    mode: observe
    source:
      syn: { rate: 10/s, burst: 20 }
      connections: 4
    global:
      syn: { rate: 5400/m, burst: 200 }
      connections: 1000
tenants:
  - name: lab
    cidrs: [198.18.0.0/25, 2001:db8:7::/48]
    packets: { rate: 500/s, burst: 500 }
    classes:
      api: { syn: { rate: 15/s, burst: 45 } }
allow: [198.18.1.0/24]
deny: [198.18.2.0/24, 2001:db8:dead::/48]
YAML

cd "$TMP"
rw_attach "$GW" gw0 mode skb policy golden.yaml || die "attach failed"
CGROUP=$(rw_get "$GW" gw0 .connections.cgroup)
# 8 datagrams to web (burst 5 at 4/m): 5 pass, 3 dropped as src_pkt.
burst "$CL" 198.18.0.1 8080 8 >/dev/null || die "udp_burst failed"
rw_settle "$GW" gw0 8

# Masks what differs from run to run.
mask_text() {
	sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z/TIME/g' \
		-e 's/prog [0-9]+, link [0-9]+/prog N, link N/' \
		-e 's#netns:[0-9]+#netns:COOKIE#g' \
		-e "s#${CGROUP}#CGROUP#g" \
		-e 's/rates over [0-9.]+ s/rates over S s/'
}
mask_json() {
	jq -S 'walk(if type == "object" then
			del(.prog_id, .link_id, .ifindex, .applied_at_ns, .pin_dir, .interval_s)
		else . end)' | sed -E -e "s#${CGROUP}#CGROUP#g" -e 's#netns:[0-9]+#netns:COOKIE#g'
}

# golden NAME ARGS...: `ratewall ARGS` as text and `ratewall -j ARGS`
# against NAME.txt and NAME.json.
golden() {
	local name=$1 txt json
	shift
	txt=$(rw "$GW" "$@" | mask_text) || { fail "$name: ratewall $* failed"; return; }
	json=$(rw "$GW" -j "$@" | mask_json) || { fail "$name: ratewall -j $* failed or is not JSON"; return; }
	if [ "${RW_GOLDEN_UPDATE:-}" = 1 ]; then
		printf '%s\n' "$txt" >"$GOLDEN/$name.txt"
		printf '%s\n' "$json" >"$GOLDEN/$name.json"
		log "updated $name"
		return
	fi
	if diff -u "$GOLDEN/$name.txt" <(printf '%s\n' "$txt") >"$TMP/diff"; then
		ok "$name.txt"
	else
		fail "$name.txt differs:"; cat "$TMP/diff" >&2
	fi
	if diff -u "$GOLDEN/$name.json" <(printf '%s\n' "$json") >"$TMP/diff"; then
		ok "$name.json"
	else
		fail "$name.json differs:"; cat "$TMP/diff" >&2
	fi
}

golden link_show link show
golden class_show class show
golden class_show_api class show api
golden tenant_show tenant show
golden allow_show allow show
golden deny_show deny show
golden client_show client show 198.18.0.77
golden client_explain_syn client explain 198.18.0.9 port 8443 syn
golden client_explain_deny client explain 198.18.2.7 port 8080 udp
golden client_top client top
golden client_top_packets client top by packets count 3
golden client_top_conns client top by conns
golden stats_show stats show
golden stats_interval stats show interval 0.2
golden stats_watch stats watch interval 0.2 count 2
golden policy_show policy show
golden policy_check policy check golden.yaml

# Live changes: each is in the live policy that 'policy show' prints.
expect_eq "a change answers -j with null, as bpftool does" \
	"$(rw "$GW" -j class set web rate 50/s burst 100)" null
rw "$GW" class set api global conn-cap none mode enforce || fail "class set api failed"
rw "$GW" tenant add 198.18.0.128/25 name lab2 syn-rate 2/s in web rate 30/s ||
	fail "tenant add failed"
rw "$GW" tenant del 2001:db8:7::/48 || fail "tenant del CIDR failed"
rw "$GW" allow add 2001:db8:1::/48 || fail "allow add failed"
rw "$GW" deny del 198.18.2.0/24 || fail "deny del failed"
golden policy_show_edited policy show
golden class_show_edited class show

# Help of every object, text only.
help_out() {
	local o
	"$RATEWALL" help
	for o in link class tenant allow deny client stats policy quota; do
		echo "== $o"
		"$RATEWALL" "$o" help
	done
}
if [ "${RW_GOLDEN_UPDATE:-}" = 1 ]; then
	help_out >"$GOLDEN/help.txt"
elif diff -u "$GOLDEN/help.txt" <(help_out) >"$TMP/diff"; then
	ok "help.txt"
else
	fail "help.txt differs:"; cat "$TMP/diff" >&2
fi
cd /
finish
