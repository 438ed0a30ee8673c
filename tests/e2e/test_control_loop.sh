#!/usr/bin/env bash
# The daemon's control loop sheds on a failing health probe and stops on
# recovery. A test gateway (tests/tools/test_gateway) answers /healthz; a
# class holds its HTTP port and an echo port (tcp_server -e) with one
# established connection. When the probe starts failing (fail_after: 1),
# the next sample turns shedding on: new connections are refused (SYNs
# dropped, reason shed), while the established one still carries data
# both ways. After recover_after healthy samples new connections are
# admitted again. Every flip is a JSON line and shows in the metrics and
# in `stats show`; a clean daemon stop leaves the class admitting.
#
# Connects wait 300 ms, under TCP's first SYN retransmission (1 s), so a
# refused connect is exactly one dropped SYN.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env
require_cmds curl promtool
TCP_SERVER=${TCP_SERVER:-$RW_ROOT/build/tests/tcp_server}
TCP_CLIENTS=${TCP_CLIENTS:-$RW_ROOT/build/tests/tcp_clients}
TEST_GATEWAY=${TEST_GATEWAY:-$RW_ROOT/build/tests/test_gateway}
require_built "$TCP_SERVER" "$TCP_CLIENTS" "$TEST_GATEWAY"

daemon_testbed
INTERVAL_MS=500

# nsenter itself (not the in_ns function): $! is then the gateway, whose
# signals the test sends
nsenter --net="/run/netns/$GW" "$TEST_GATEWAY" --listen 198.18.0.1:8080 --workers 2 --service-ms 2 \
	--admin 198.18.0.1:8081 >"$TMPD/gw.out" 2>"$TMPD/gw.err" &
GW_PID=$!
at_exit "kill $GW_PID; wait $GW_PID"
wait_line "$TMPD/gw.out" ready || die "test_gateway did not start: $(cat "$TMPD/gw.err")"
nsenter --net="/run/netns/$GW" "$TCP_SERVER" -4 -e 8090 >"$TMPD/echo.out" 2>&1 &
ECHO_PID=$!
at_exit "kill $ECHO_PID; wait $ECHO_PID"
wait_line "$TMPD/echo.out" ready || die "tcp_server did not start: $(cat "$TMPD/echo.out")"

cat >"$TMPD/policy.yaml" <<EOF
classes:
  - name: api
    ports: [tcp/8080, tcp/8090]
    global: { syn: { rate: 1000/s, burst: 100 } }
    adaptive: { floor: 50%, ceiling: 100%, shed: true }
  - name: other
    ports: [tcp/8070]
    global: { syn: { rate: 1000/s } }
control:
  interval: ${INTERVAL_MS}ms
  objective: 200ms
  health: { url: http://198.18.0.1:8081/healthz, timeout: 200ms, fail_after: 1, recover_after: 2 }
EOF
rw_attach "$GW" gw0 mode native policy "$TMPD/policy.yaml" || die "attach failed"
rw_daemon "$GW" "$TMPD/daemon.err" dev gw0 metrics "$M" events "$TMPD/events.jsonl"
DAEMON=$RW_DAEMON_PID
wait_healthy "$GW" "$M" || die "the daemon never became healthy: $(cat "$TMPD/daemon.err")"

scrape() { http_get "$GW" "http://$M/metrics" >"$1"; }
# samples: the loop's sample count
samples() { scrape "$TMPD/s.txt"; metric "$TMPD/s.txt" ratewall_control_samples_total; }
for ((i = 0; i < 50; i++)); do [ "$(samples)" -ge 2 ] && break; sleep 0.1; done
scrape "$TMPD/m0.txt"
expect_true "the loop samples" test "$(metric "$TMPD/m0.txt" ratewall_control_samples_total)" -ge 2
expect_eq "the probe is healthy" "$(metric "$TMPD/m0.txt" ratewall_signal_health)" 1
expect_eq "no shedding yet" "$(metric "$TMPD/m0.txt" ratewall_control_shed)" 0
expect_eq "the adaptive class at its written rate" \
	"$(metric "$TMPD/m0.txt" 'ratewall_control_multiplier{class="api"}')" 1
expect_eq "a class without adaptive: has no multiplier" \
	"$(grep -c 'ratewall_control_multiplier{class="other"}' "$TMPD/m0.txt")" 0
expect_eq "the scrape is unknown, and says so" \
	"$(metric "$TMPD/m0.txt" 'ratewall_control_signal_up{signal="latency"}')" 0

client_start held 198.18.0.1 8090
client_start fresh 198.18.0.1 8090
expect_eq "an established connection" "$(client held open 1 1000)" "opened 1 of 1"
expect_eq "it carries data both ways" "$(client held ping 2000)" "ponged 1 of 1"
expect_eq "a new connection before the failure" "$(client fresh open 1 300)" "opened 1 of 1"
client fresh close 1 >/dev/null

shed_drops() {
	rw "$GW" -j stats show dev gw0 |
		jq '[.counters[] | select(.class == "api" and .reason == "shed" and .verdict == "drop") | .packets] | add // 0'
}

# --- the probe fails: shed within one interval ------------------------------
t0=$(date +%s%N)
kill -USR1 "$GW_PID"
refused_ms=
# at most 3 s of attempts, 50 ms apart
for ((i = 0; i < 60; i++)); do
	if [ "$(client fresh open 1 300)" = "opened 0 of 1" ]; then
		refused_ms=$((($(date +%s%N) - t0) / 1000000))
		break
	fi
	client fresh close 1 >/dev/null
	sleep 0.05
done
[ -n "$refused_ms" ] || die "new connections were never refused after the probe failed"
log "first refused connect ${refused_ms} ms after the probe began failing (interval ${INTERVAL_MS} ms)"
# One interval until the sample that fails, plus the refused connect's
# own 300 ms wait, plus slack for a loaded machine.
expect_true "shed within one interval (+ the connect's wait and slack)" \
	test "$refused_ms" -le $((INTERVAL_MS + 300 + 700))
drops_before=$(shed_drops)
expect_eq "another new connection is refused" "$(client fresh open 1 300)" "opened 0 of 1"
expect_eq "the refused SYN counts as shed" "$(shed_drops)" $((drops_before + 1))
expect_eq "the established connection still works" "$(client held ping 2000)" "ponged 1 of 1"
expect_eq "and is still open" "$(client held alive)" "alive 1 of 1"
scrape "$TMPD/m1.txt"
expect_eq "metrics: shedding" "$(metric "$TMPD/m1.txt" ratewall_control_shed)" 1
expect_eq "metrics: the class sheds" "$(metric "$TMPD/m1.txt" 'ratewall_control_class_shed{class="api"}')" 1
expect_eq "metrics: the probe failed" "$(metric "$TMPD/m1.txt" ratewall_signal_health)" 0
expect_eq "metrics: one flip" "$(metric "$TMPD/m1.txt" ratewall_control_shed_changes_total)" 1
expect_true "promtool accepts the control loop's metrics" promtool check metrics <"$TMPD/m1.txt"
st=$(rw "$GW" -j stats show dev gw0)
expect_eq "stats show: shedding for health" "$(json_get "$st" '.control.shed, .control.shed_reason' | paste -sd' ')" "true health"
expect_eq "stats show: the class sheds" "$(json_get "$st" '.control.classes[] | select(.name == "api") | .shed')" true
expect_eq "stats show: the probe's answer" "$(json_get "$st" '.control.signals.health, .control.signals.health_status' | paste -sd' ')" "failed 503"
explain_names_loop() {
	rw "$GW" client explain dev gw0 198.18.0.2 port 8090 syn | grep -q 'the control loop sheds the class'
}
expect_true "client explain names the control loop" explain_names_loop
on=$(jq -c 'select(.action == "shed_on")' "$TMPD/events.jsonl")
expect_eq "one shed_on line" "$(grep -c . <<<"$on")" 1
expect_eq "its fields" "$(jq -r '[.route_classes[0], .reason, .signals.health, .limit_name] | join(" ")' <<<"$on")" \
	"api health failed adaptive"
has_id_and_ts() { jq -e -n --argjson l "$on" '$l | .gateway_instance_id != "" and (.ts | test("Z$"))' >/dev/null; }
expect_true "it has the instance id and a timestamp" has_id_and_ts

# --- recovery: admitted again after recover_after healthy samples -----------
kill -USR1 "$GW_PID"
admitted=
for ((i = 0; i < 60; i++)); do
	if [ "$(client fresh open 1 300)" = "opened 1 of 1" ]; then admitted=yes; break; fi
	sleep 0.05
done
expect_eq "new connections are admitted after recovery" "$admitted" yes
client fresh close 1 >/dev/null
expect_eq "the established connection went through it all" "$(client held ping 2000)" "ponged 1 of 1"
off=$(jq -c 'select(.action == "shed_off")' "$TMPD/events.jsonl")
expect_eq "one shed_off line" "$(grep -c . <<<"$off")" 1
expect_eq "it says recovered" "$(jq -r .reason <<<"$off")" recovered
scrape "$TMPD/m2.txt"
expect_eq "metrics: no longer shedding" "$(metric "$TMPD/m2.txt" ratewall_control_shed)" 0
expect_eq "metrics: two flips" "$(metric "$TMPD/m2.txt" ratewall_control_shed_changes_total)" 2

# --- a policy apply while shedding keeps shedding; a clean stop ends it ------
kill -USR1 "$GW_PID"
for ((i = 0; i < 40; i++)); do
	[ "$(rw "$GW" -j stats show dev gw0 | jq -r '.control.shed')" = true ] && break
	sleep 0.1
done
expect_eq "shedding again" "$(rw "$GW" -j stats show dev gw0 | jq -r '.control.shed')" true
sed -i 's/recover_after: 2/recover_after: 3/' "$TMPD/policy.yaml"
rw "$GW" policy apply dev gw0 "$TMPD/policy.yaml" >/dev/null || die "apply failed"
expect_eq "the new policy goes on shedding at once" "$(client fresh open 1 300)" "opened 0 of 1"
# --- the control section removed while the daemon runs: the new policy's
# own rates go live, and the loop's record goes ----------------------------
api_syn_rate() {
	rw "$GW" -j class show dev gw0 api | jq -r '.classes[0].global.syn.rate'
}
sed -e '/^control:/,$d' -e '/adaptive:/d' -e 's|syn: { rate: 1000/s, burst: 100 }|syn: { rate: 300/s, burst: 100 }|' \
	"$TMPD/policy.yaml" >"$TMPD/plain.yaml"
rw "$GW" policy apply dev gw0 "$TMPD/plain.yaml" >/dev/null || die "apply of the plain policy failed"
sleep $(((INTERVAL_MS * 3 + 999) / 1000))
expect_eq "the written rate of the new policy is live" "$(api_syn_rate)" 300
expect_eq "and stays live while the daemon runs on" "$(rw "$GW" -j stats show dev gw0 | jq -r '.control // "none"')" none
expect_eq "nothing sheds" "$(client fresh open 1 300)" "opened 1 of 1"
client fresh close 1 >/dev/null
rw "$GW" policy apply dev gw0 "$TMPD/policy.yaml" >/dev/null || die "apply of the adaptive policy failed"
for ((i = 0; i < 40; i++)); do
	[ "$(rw "$GW" -j stats show dev gw0 | jq -r '.control.shed // empty')" = true ] && break
	sleep 0.1
done
expect_eq "the loop comes back with its section, shedding (the probe still fails)" \
	"$(rw "$GW" -j stats show dev gw0 | jq -r '.control.shed')" true
rw_daemon_stop "$DAEMON"
expect_eq "the daemon stops with 0" "$RW_DAEMON_RC" 0
expect_eq "a clean stop leaves the written rate" "$(api_syn_rate)" 1000
expect_eq "after a clean stop the class admits again" "$(client fresh open 1 300)" "opened 1 of 1"
expect_eq "and no loop state is shown" "$(rw "$GW" -j stats show dev gw0 | jq -r '.control // "none"')" none
client fresh close 1 >/dev/null
client_quit fresh
client_quit held
finish
