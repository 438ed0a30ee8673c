#!/usr/bin/env bash
# The daemon's two outputs, end to end. A client sends a known number of
# datagrams and SYNs over the limits of three classes (enforce, observe,
# shed); the Prometheus endpoint must show counter deltas equal to what
# was refused and admitted, pass `promtool check metrics`, and the JSON
# event lines must carry every field with the right values and packet
# counts that add up to the refusals exactly. Then: SIGHUP reopens a
# rotated events file without losing a line, a policy asking for
# redaction turns client ids into keyed hashes, and bad daemon arguments
# are refused with one line each.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env
TCP_SERVER=${TCP_SERVER:-$RW_ROOT/build/tests/tcp_server}
TCP_CLIENTS=${TCP_CLIENTS:-$RW_ROOT/build/tests/tcp_clients}
require_cmds promtool curl

daemon_testbed

cat >"$TMPD/policy.yaml" <<'EOF'
classes:
  - name: web
    ports: [udp/9000]
    source: { packets: { rate: 100/s, burst: 10 } }
  - name: dark
    mode: observe
    ports: [udp/9001]
    source: { packets: { rate: 50/s, burst: 5 } }
  - name: api
    mode: shed
    ports: [tcp/8080]
tenants:
  - { name: ci, cidrs: [198.18.0.0/24], mesh_node_id: mesh-a }
events: { interval: 500ms }
EOF
rw_attach "$GW" gw0 mode native policy "$TMPD/policy.yaml" || die "attach failed"

# A listener for the shed class: its accept queue is the events' queue_depth_hint.
nsenter --net="/run/netns/$GW" "$TCP_SERVER" -4 8080 >"$TMPD/server.out" 2>&1 &
server=$!
at_exit "kill $server; wait $server"
wait_line "$TMPD/server.out" ready || die "tcp_server did not start"

rw_daemon "$GW" "$TMPD/daemon.err" dev gw0 metrics "$M" events "$TMPD/events.jsonl" \
	instance-id gw-test
wait_healthy "$GW" "$M" || die "the daemon never became healthy: $(cat "$TMPD/daemon.err")"
http_get "$GW" "http://$M/metrics" >"$TMPD/before.txt"

series() { printf 'ratewall_packets_total{class="%s",verdict="%s",reason="%s"}' "$1" "$2" "$3"; }
delta() { echo $(($(metric "$TMPD/after.txt" "$1") - $(metric "$TMPD/before.txt" "$1"))); }

web=$(burst "$CL" 198.18.0.1 9000 600 pps 2000) || die "udp_burst failed: $web"
dark=$(burst "$CL" 198.18.0.1 9001 300 pps 2000) || die "udp_burst failed: $dark"
syn=$(echo "open 3 500" | in_ns "$CL" "$TCP_CLIENTS" 198.18.0.1 8080)
expect_eq "connections to the shedding class" "$syn" "opened 0 of 3"
sent_web=$(json_get "$web" .sent)
sent_dark=$(json_get "$dark" .sent)
rw_settle "$GW" gw0 $((sent_web + sent_dark + 3))
# The last packets of a quiet source are written within 1.5 intervals.
sleep 1.2
http_get "$GW" "http://$M/metrics" >"$TMPD/after.txt"

# --- counters ---------------------------------------------------------------
web_pass=$(delta "$(series web pass admitted)")
web_drop=$(delta "$(series web drop src_pkt)")
dark_pass=$(delta "$(series dark pass admitted)")
dark_would=$(delta "$(series dark would_drop src_pkt)")
api_shed=$(delta "$(series api drop shed)")
log "web: $web_pass admitted, $web_drop dropped; dark: $dark_pass admitted, $dark_would would_drop; api: $api_shed shed"
expect_eq "web: admitted + dropped == sent" $((web_pass + web_drop)) "$sent_web"
expect_true "web: some were dropped" test "$web_drop" -gt 0
expect_eq "dark: admitted + would_drop == sent" $((dark_pass + dark_would)) "$sent_dark"
expect_true "dark: some would have been dropped" test "$dark_would" -gt 0
expect_eq "api: every SYN shed" "$api_shed" 3
expect_eq "metrics agree with link show (web drops)" "$(rw_count "$GW" gw0 src_pkt drop)" "$web_drop"
expect_eq "bytes of web drops (each frame 74 bytes)" \
	"$(delta 'ratewall_bytes_total{class="web",verdict="drop",reason="src_pkt"}')" $((web_drop * 74))
expect_eq "class rate gauge" "$(metric "$TMPD/after.txt" 'ratewall_class_rate{class="web",scope="source",limit="packets"}')" 100
expect_eq "class mode gauge" "$(metric "$TMPD/after.txt" 'ratewall_class_mode{class="api",mode="shed"}')" 1
hash=$(rw "$GW" -j policy show | jq -r .hash)
expect_eq "policy info carries the live hash" \
	"$(metric "$TMPD/after.txt" "ratewall_policy_info{hash=\"$hash\"}")" 1
expect_eq "no ring-buffer drops" "$(metric "$TMPD/after.txt" ratewall_events_dropped_total)" 0
expect_eq "event entries: one per (source, class, limit, action)" \
	"$(metric "$TMPD/after.txt" 'ratewall_map_entries{map="event_entries"}')" 3
expect_eq "per-source table capacity" \
	"$(metric "$TMPD/after.txt" 'ratewall_map_capacity{map="sources"}')" 1048576
expect_eq "daemon healthy" "$(metric "$TMPD/after.txt" ratewall_daemon_healthy)" 1
expect_true "promtool check metrics passes" promtool check metrics <"$TMPD/after.txt"
expect_false "no series per client address" grep -q '198\.18\.0\.2' "$TMPD/after.txt"

# --- event lines ------------------------------------------------------------
ev="$TMPD/events.jsonl"
jq_true() { jq -e "$@" >/dev/null; }
expect_true "every line is one JSON object" jq_true -s 'length > 0 and all(type == "object")' "$ev"
sum() { jq -s --arg c "$1" --arg a "$2" '[.[] | select(.route_class == $c and .action == $a) | .packets] | add // 0' "$ev"; }
expect_eq "web: event packets add up to the drops" "$(sum web drop)" "$web_drop"
expect_eq "dark: event packets add up to the would_drops" "$(sum dark would_drop)" "$dark_would"
expect_eq "api: event packets add up to the shed SYNs" "$(sum api shed)" 3
expect_eq "fields of every line" \
	"$(jq -c 'keys_unsorted' "$ev" | sort -u)" \
	'["ts","gateway_instance_id","mesh_node_id","tenant","route_class","limit_name","client_id","action","packets","retry_after_ms","queue_depth_hint"]'
expect_eq "values common to every line" \
	"$(jq -c '[.gateway_instance_id, .mesh_node_id, .tenant, .client_id]' "$ev" | sort -u)" \
	'["gw-test","mesh-a","ci","198.18.0.2"]'
expect_eq "limit names" "$(jq -r '"\(.route_class)/\(.limit_name)"' "$ev" | sort -u | tr '\n' ' ')" \
	"api/shed dark/src_pkt web/src_pkt "
expect_true "timestamps are RFC 3339 UTC with milliseconds" \
	jq_true -s 'all(.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))' "$ev"
expect_true "bucket refusals carry a wait (0 to 1000 ms at 100/s burst 10)" \
	jq_true -s 'all(.[] | select(.limit_name == "src_pkt"); .retry_after_ms >= 0 and .retry_after_ms <= 1000)' "$ev"
expect_true "shed has no wait that would admit" \
	jq_true -s 'all(.[] | select(.limit_name == "shed"); .retry_after_ms == null)' "$ev"
expect_true "shed lines carry the listener's accept-queue depth" \
	jq_true -s 'all(.[] | select(.route_class == "api"); .queue_depth_hint == 0)' "$ev"
expect_true "UDP classes have no listener to read" \
	jq_true -s 'all(.[] | select(.route_class != "api"); .queue_depth_hint == null)' "$ev"
# At most one kernel event per interval per (source, limit), plus one
# closing line: the 300 ms web burst needs no more than 3 lines.
expect_range "web lines for a 0.3 s burst" "$(jq -s '[.[] | select(.route_class == "web")] | length' "$ev")" 1 3

# --- SIGHUP reopens a rotated file ----------------------------------------
mv "$ev" "$ev.1"
kill -HUP "$RW_DAEMON_PID"
for ((i = 0; i < 50; i++)); do [ -e "$ev" ] && break; sleep 0.1; done
expect_true "SIGHUP made a new events file" test -e "$ev"
cp "$TMPD/after.txt" "$TMPD/before.txt"
more=$(burst "$CL" 198.18.0.1 9000 300 pps 2000) || die "udp_burst failed: $more"
rw_settle "$GW" gw0 $((sent_web + sent_dark + 3 + $(json_get "$more" .sent)))
sleep 1.2
http_get "$GW" "http://$M/metrics" >"$TMPD/after.txt"
more_drop=$(delta "$(series web drop src_pkt)")
expect_eq "after the reopen, the new file holds the new drops" "$(sum web drop)" "$more_drop"
expect_eq "the reopen is counted" "$(metric "$TMPD/after.txt" ratewall_daemon_event_reopens_total)" 1

# --- redaction ----------------------------------------------------------------
head -c 32 /dev/urandom >"$TMPD/client.key"
sed -i 's|^events: .*|events: { interval: 500ms, client_id: hashed, client_key: '"$TMPD"'/client.key }|' \
	"$TMPD/policy.yaml"
rw "$GW" policy apply dev gw0 "$TMPD/policy.yaml" >/dev/null || die "policy apply failed"
sleep 0.3 # the daemon reads the new policy within a tick
: >"$ev"
burst "$CL" 198.18.0.1 9000 300 pps 2000 >/dev/null
sleep 1.2
ids=$(jq -r .client_id "$ev" | sort -u)
expect_true "redacted client id is h: and 16 hex digits ($ids)" \
	grep -qxE 'h:[0-9a-f]{16}' <<<"$ids"
expect_eq "one client, one id" "$(wc -l <<<"$ids")" 1
expect_false "the address appears nowhere" grep -q '198\.18\.0\.2' "$ev"

# --- an apply that gives web's id to another class -------------------------
# Refusals waiting in the ring buffer when class id 1 changes name must be
# written under the name that judged them, and none under the new one.
rw_daemon_stop "$RW_DAEMON_PID"
expect_eq "daemon exit status on SIGTERM" "$RW_DAEMON_RC" 0
burst "$CL" 198.18.0.1 9000 300 pps 2000 >/dev/null
sed -i 's|^classes:|classes:\n  - { name: first, ports: [udp/9100] }|' "$TMPD/policy.yaml"
rw "$GW" policy apply dev gw0 "$TMPD/policy.yaml" >/dev/null || die "policy apply failed"
expect_eq "web moved to id 2" "$(rw "$GW" -j class show dev gw0 web | jq '.classes[0].id')" 2
rw_daemon "$GW" "$TMPD/daemon.err" dev gw0 metrics "$M" events "$TMPD/after_apply.jsonl"
wait_healthy "$GW" "$M" || die "the daemon did not come back"
sleep 1.2
expect_true "the waiting events are written as web's" \
	jq_true -s 'length > 0 and all(.route_class == "web")' "$TMPD/after_apply.jsonl"

# --- stop: the limiter keeps running --------------------------------------
rw_daemon_stop "$RW_DAEMON_PID"
expect_eq "daemon exit status on SIGTERM" "$RW_DAEMON_RC" 0
expect_eq "the limiter still runs" "$(rw_get "$GW" gw0 .mode)" native

# --- bad arguments: one line each, nothing started --------------------------
for bad in "metrics 127.0.0.1" "metrics 127.0.0.1:0" "metrics localhost:9464" \
	"instance-id" "frobnicate 1" "mode fast"; do
	# shellcheck disable=SC2086
	expect_fail --has "${bad%% *}" rw "$GW" daemon dev gw0 $bad
done
expect_fail --has nosuch0 rw "$GW" daemon dev nosuch0 metrics none events none
# the port the test server holds
expect_fail --has 127.0.0.1:8080 rw "$GW" daemon dev gw0 metrics 127.0.0.1:8080 events none
expect_fail --has "$TMPD/no/such/dir" rw "$GW" daemon dev gw0 metrics none events "$TMPD/no/such/dir/ev"

finish
