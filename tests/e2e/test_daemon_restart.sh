#!/usr/bin/env bash
# The daemon's lifecycle. Counters live in pinned maps: stopping the
# daemon leaves the limiter enforcing, a new daemon shows the same
# counters, and refusals made while no daemon ran are written by the next
# one, so the event lines of both add up to every drop. A daemon that
# attached the limiter itself detaches it with detach-on-exit only, and a
# daemon whose limiter is detached under it stops by itself.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env
require_cmds curl

daemon_testbed
DROPS='ratewall_packets_total{class="web",verdict="drop",reason="src_pkt"}'
PASSES='ratewall_packets_total{class="web",verdict="pass",reason="admitted"}'

cat >"$TMPD/policy.yaml" <<'EOF'
classes:
  - name: web
    ports: [udp/9000]
    source: { packets: { rate: 100/s, burst: 10 } }
events: { interval: 500ms }
EOF
rw_attach "$GW" gw0 mode native policy "$TMPD/policy.yaml" || die "attach failed"
scrape() { http_get "$GW" "http://$M/metrics" >"$1"; }
sum_lines() { cat "$@" | jq -s '[.[].packets] | add // 0'; }

# --- first daemon -------------------------------------------------------------
rw_daemon "$GW" "$TMPD/daemon.err" dev gw0 metrics "$M" events "$TMPD/a.jsonl"
first=$RW_DAEMON_PID
wait_healthy "$GW" "$M" || die "the daemon never became healthy: $(cat "$TMPD/daemon.err")"
s1=$(json_get "$(burst "$CL" 198.18.0.1 9000 400 pps 2000)" .sent)
rw_settle "$GW" gw0 "$s1"
sleep 1.2
scrape "$TMPD/m1.txt"
rw_daemon_stop "$first"
expect_eq "first daemon stops with 0 on SIGTERM" "$RW_DAEMON_RC" 0
expect_eq "the limiter still runs" "$(rw_get "$GW" gw0 .mode)" native
expect_eq "counters stay in the pinned map" "$(rw_count "$GW" gw0 src_pkt drop)" "$(metric "$TMPD/m1.txt" "$DROPS")"

# --- no daemon: the limiter goes on ------------------------------------------
s2=$(json_get "$(burst "$CL" 198.18.0.1 9000 400 pps 2000)" .sent)
rw_settle "$GW" gw0 $((s1 + s2))
drops_now=$(rw_count "$GW" gw0 src_pkt drop)
expect_true "drops went on without a daemon" test "$drops_now" -gt "$(metric "$TMPD/m1.txt" "$DROPS")"

# --- second daemon: same counters, the missed refusals written -------------
rw_daemon "$GW" "$TMPD/daemon.err" dev gw0 metrics "$M" events "$TMPD/b.jsonl"
second=$RW_DAEMON_PID
wait_healthy "$GW" "$M" || die "the second daemon never became healthy"
sleep 1.2
scrape "$TMPD/m2.txt"
expect_eq "second daemon: drops == link show" "$(metric "$TMPD/m2.txt" "$DROPS")" "$drops_now"
expect_eq "second daemon: admitted + dropped == everything sent" \
	$(($(metric "$TMPD/m2.txt" "$DROPS") + $(metric "$TMPD/m2.txt" "$PASSES"))) $((s1 + s2))
expect_eq "first daemon's lines: the drops it saw" "$(sum_lines "$TMPD/a.jsonl")" \
	"$(metric "$TMPD/m1.txt" "$DROPS")"
expect_eq "both daemons' lines: every drop once" "$(sum_lines "$TMPD/a.jsonl" "$TMPD/b.jsonl")" "$drops_now"
expect_eq "daemon start time moved" \
	"$([ "$(metric "$TMPD/m2.txt" ratewall_daemon_start_time_seconds)" != \
		"$(metric "$TMPD/m1.txt" ratewall_daemon_start_time_seconds)" ] && echo yes)" yes

expect_fail --has "another ratewall daemon runs for gw0" \
	rw "$GW" daemon dev gw0 metrics none events none

# --- detached under the daemon: it stops by itself -------------------------
rw "$GW" link detach dev gw0 >/dev/null || die "detach failed"
for ((i = 0; i < 30; i++)); do kill -0 "$second" 2>/dev/null || break; sleep 0.1; done
alive() { kill -0 "$1" 2>/dev/null; }
expect_false "the daemon stopped once its limiter was detached" alive "$second"
wait "$second" && rc=0 || rc=$?
expect_eq "its exit status" "$rc" 0
expect_true "it said why" grep -q "gw0 was detached; the daemon stops" "$TMPD/daemon.err"

# --- a daemon that attaches, and detaches on exit when asked ---------------
at_exit "rw_force_detach '$GW' gw0 ''"
rw_daemon "$GW" "$TMPD/daemon.err" dev gw0 mode native policy "$TMPD/policy.yaml" \
	metrics "$M" events none detach-on-exit
third=$RW_DAEMON_PID
wait_healthy "$GW" "$M" || die "the attaching daemon never became healthy: $(cat "$TMPD/daemon.err")"
expect_eq "the daemon attached the limiter" "$(rw_get "$GW" gw0 .mode)" native
expect_eq "with the policy it was given" "$(rw "$GW" -j class show dev gw0 web | jq -r '.classes[0].name // .name')" web
rw_daemon_stop "$third"
expect_eq "detach-on-exit: exit status" "$RW_DAEMON_RC" 0
expect_eq "detach-on-exit: nothing attached" "$(rw_json "$GW" | jq '.attachments | length')" 0

finish
