#!/usr/bin/env bash
# `make demo`: a small LAN in network namespaces, with ratewall on the
# gateway. Two clients share a bridge: "steady" sends under the per-source
# limit, "burst" floods far over it. The gateway's own UDP sink reports
# what got through. Everything lives in namespaces made here (addresses
# from 198.18.0.0/15, no default route) and is removed on exit.
#
#   steady (198.18.0.11) --\
#                           br0 [lan] --- eth0 [gw 198.18.0.1, ratewall]
#   burst  (198.18.0.12) --/
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/e2e/lib.sh"
TEST_NAME=demo # names the lines lib.sh prints
require_env

RATE=100
BURST=50
PORT=5001
SECONDS_RUN=5
STEADY_PPS=40    # under RATE: nothing should be dropped
BURST_PPS=1000   # 10x RATE: about burst + rate * t gets through

GW=$(ns_name gw)
LAN=$(ns_name lan)
STEADY=$(ns_name steady)
FLOOD=$(ns_name burst)
for ns in "$GW" "$LAN" "$STEADY" "$FLOOD"; do ns_create "$ns"; done

ip -n "$LAN" link add br0 type bridge
ip -n "$LAN" link set br0 up
veth_pair "$GW" eth0 "$LAN" to-gw
veth_pair "$STEADY" eth0 "$LAN" to-steady
veth_pair "$FLOOD" eth0 "$LAN" to-burst
for port in to-gw to-steady to-burst; do ip -n "$LAN" link set "$port" master br0; done
ip -n "$GW" addr add 198.18.0.1/24 dev eth0
ip -n "$STEADY" addr add 198.18.0.11/24 dev eth0
ip -n "$FLOOD" addr add 198.18.0.12/24 dev eth0

echo "== ratewall link attach dev eth0 mode native rate $RATE/s burst $BURST (in the gateway)"
rw_attach "$GW" eth0 mode native rate "$RATE/s" burst "$BURST" || die "attach failed"

tmp=$(mktemp -d)
at_exit "rm -rf '$tmp'"

# nsenter execs the sink, so $! is the sink itself: ours to stop.
nsenter --net="/run/netns/$GW" "$UDP_SINK" "$PORT" 30 >"$tmp/sink.out" 2>"$tmp/sink.err" &
sink=$!
at_exit "kill $sink"
wait_line "$tmp/sink.err" '.*listening.*' || die "udp_sink did not start: $(cat "$tmp/sink.err")"

steady_count=$((STEADY_PPS * SECONDS_RUN))
burst_count=$((BURST_PPS * SECONDS_RUN))
echo "== steady sends $steady_count datagrams at $STEADY_PPS/s, burst sends $burst_count at $BURST_PPS/s (${SECONDS_RUN}s)"
nsenter --net="/run/netns/$STEADY" "$UDP_BURST" 198.18.0.1 "$PORT" "$steady_count" \
	pps "$STEADY_PPS" >"$tmp/steady.json" &
p1=$!
nsenter --net="/run/netns/$FLOOD" "$UDP_BURST" 198.18.0.1 "$PORT" "$burst_count" \
	pps "$BURST_PPS" >"$tmp/burst.json" &
p2=$!
wait "$p1" || die "steady sender failed"
wait "$p2" || die "burst sender failed"

# Let the last datagrams land, then have the sink report.
sleep 0.3
kill -TERM "$sink"
wait "$sink" || true

received() { awk -v a="$1" '$1 == a { print $2; found = 1 } END { if (!found) print 0 }' "$tmp/sink.out"; }

echo
printf '%-8s %-13s %8s %10s %8s\n' client address sent received dropped
declare -A dropped
for c in steady:198.18.0.11 burst:198.18.0.12; do
	name=${c%%:*}
	addr=${c#*:}
	sent=$(jq -r .sent "$tmp/$name.json")
	got=$(received "$addr")
	dropped[$name]=$((sent - got))
	printf '%-8s %-13s %8s %10s %8s\n' "$name" "$addr" "$sent" "$got" "${dropped[$name]}"
done
t=$(jq -r .elapsed_ns "$tmp/burst.json")
printf '(the limiter lets one source through at burst + rate * t = %d + %d/s * %d.%02d s = %d)\n' \
	"$BURST" "$RATE" $((t / 1000000000)) $((t / 10000000 % 100)) $((BURST + RATE * t / 1000000000))
echo
echo "== ratewall link show (in the gateway)"
rw "$GW" link show

# The demo doubles as a smoke test: say so when it did not show the point.
if [ "${dropped[steady]}" -ne 0 ] || [ "${dropped[burst]}" -le 0 ]; then
	echo "demo: unexpected result: the steady client should lose nothing and the burst client should lose most" >&2
	exit 1
fi

# Who did it, and what its next datagram would meet: read live, nothing spent.
echo
echo "== ratewall client top (in the gateway)"
rw "$GW" client top
echo
echo "== ratewall client explain 198.18.0.12 port $PORT udp (in the gateway)"
rw "$GW" client explain 198.18.0.12 port "$PORT" udp

# Second act: a policy applied live. The demo's port becomes class
# "uploads" in observe mode (a dark run): the burst client is no longer
# dropped, and the counters say what enforce mode would have dropped.
cat >"$tmp/policy.yaml" <<YAML
default:
  source:
    packets: { rate: ${RATE}/s, burst: ${BURST} }
classes:
  - name: uploads
    ports: [udp/${PORT}]
    mode: observe
    source:
      packets: { rate: ${RATE}/s, burst: ${BURST} }
YAML
echo
echo "== ratewall policy apply dev eth0 policy.yaml (in the gateway): udp/$PORT is class 'uploads', observing"
rw "$GW" policy apply dev eth0 "$tmp/policy.yaml" || die "policy apply failed"
count=$((BURST_PPS * 2))
nsenter --net="/run/netns/$FLOOD" "$UDP_BURST" 198.18.0.1 "$PORT" "$count" \
	pps "$BURST_PPS" >"$tmp/burst2.json" || die "burst sender failed"
rw_settle "$GW" eth0 $((steady_count + burst_count + count))
would=$(rw_json "$GW" | jq '[.attachments[0].counters[] | select(.class == "uploads" and
	.verdict == "would_drop") | .packets] | add // 0')
echo "burst sent $count more datagrams: none dropped, $would counted as would_drop (src_pkt)"
rw "$GW" link show | sed -n '/^  policy/,$p'
if [ "$would" -le 0 ] || [ "$(rw_get "$GW" eth0 .totals.drop)" -ne "${dropped[burst]}" ]; then
	echo "demo: unexpected result: observe mode should count would-drops and drop nothing more" >&2
	exit 1
fi

# Third act: a connection cap. A TCP server runs in the gateway namespace
# (attach counted the connections of every cgroup: its default is the
# cgroup2 root); class "agents" lets each source hold 3 connections. The
# burst client asks for 8 at once and gets 3: the other 5 SYNs are dropped
# as src_conn, and TCP would retry them once a connection closes.
TCP_SERVER=$RW_ROOT/build/tests/tcp_server
TCP_CLIENTS=$RW_ROOT/build/tests/tcp_clients
AGENTS=8443
sed "s|^classes:|classes:\n  - name: agents\n    ports: [tcp/$AGENTS]\n    source: { connections: 3 }|" \
	"$tmp/policy.yaml" >"$tmp/caps.yaml"
echo
echo "== ratewall policy apply dev eth0 caps.yaml (in the gateway): tcp/$AGENTS is class 'agents', 3 connections per source"
rw "$GW" policy apply dev eth0 "$tmp/caps.yaml" || die "policy apply failed"
nsenter --net="/run/netns/$GW" "$TCP_SERVER" "$AGENTS" >"$tmp/server.out" 2>&1 &
server=$!
at_exit "kill $server"
wait_line "$tmp/server.out" ready || die "tcp_server did not start: $(cat "$tmp/server.out")"
mkfifo "$tmp/cl.in"
nsenter --net="/run/netns/$FLOOD" "$TCP_CLIENTS" 198.18.0.1 "$AGENTS" <"$tmp/cl.in" >"$tmp/cl.out" &
client=$!
at_exit "kill $client"
exec {to_client}>"$tmp/cl.in"
echo "open 8 500" >&"$to_client"
wait_line "$tmp/cl.out" 'opened .*' || die "tcp_clients did not answer"
opened=$(cat "$tmp/cl.out")
echo "burst asked for 8 connections at once: $opened"
rw "$GW" link show | sed -n '/^  connections/,/^  connection events/p'
refused=$(rw_count "$GW" eth0 src_conn drop)
echo "SYNs dropped as src_conn: $refused"
echo "quit" >&"$to_client"
exec {to_client}>&-
wait "$client" || true
if [ "$opened" != "opened 3 of 8" ] || [ "$refused" -ne 5 ]; then
	echo "demo: unexpected result: the cap of 3 should admit 3 connections and drop 5 SYNs" >&2
	exit 1
fi

# Fourth act: the daemon. It serves the counters to Prometheus on the
# gateway's loopback and writes one JSON line per refusal event; the burst
# client floods the observed class again and the lines add up to what the
# counters say would have been dropped.
echo
echo "== ratewall daemon dev eth0 metrics 127.0.0.1:9464 events events.jsonl (in the gateway)"
rw_daemon "$GW" "$tmp/daemon.err" dev eth0 metrics 127.0.0.1:9464 events "$tmp/events.jsonl" \
	instance-id demo-gw
wait_healthy "$GW" 127.0.0.1:9464 || die "the daemon did not start: $(cat "$tmp/daemon.err")"
series='ratewall_packets_total{class="uploads",verdict="would_drop",reason="src_pkt"}'
http_get "$GW" http://127.0.0.1:9464/metrics >"$tmp/m0.txt"
start=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
nsenter --net="/run/netns/$FLOOD" "$UDP_BURST" 198.18.0.1 "$PORT" "$count" \
	pps "$BURST_PPS" >"$tmp/burst3.json" || die "burst sender failed"
sleep 1.7 # the last packets of a quiet source are written within 1.5 s
http_get "$GW" http://127.0.0.1:9464/metrics >"$tmp/m1.txt"
grep -E '^ratewall_(packets_total\{class="uploads"|class_rate|policy_info|events_sent)' "$tmp/m1.txt" |
	grep -v ' 0$'
echo "-- event lines (the first ones were waiting in the ring buffer from the acts before):"
cat "$tmp/events.jsonl"
delta=$(($(metric "$tmp/m1.txt" "$series") - $(metric "$tmp/m0.txt" "$series")))
lines=$(jq -s --arg t "$start" '[.[] | select(.ts >= $t and .route_class == "uploads"
	and .action == "would_drop") | .packets] | add // 0' "$tmp/events.jsonl")
echo "would_drop counted $delta more; the event lines since then carry $lines packets"
rw_daemon_stop "$RW_DAEMON_PID"
if [ "$delta" -le 0 ] || [ "$lines" -ne "$delta" ] || [ "$RW_DAEMON_RC" -ne 0 ]; then
	echo "demo: unexpected result: the event lines should carry every would_drop" >&2
	exit 1
fi

# Fifth act: the control loop. A test gateway (a pool of workers behind
# tcp/8080, /healthz on the namespace's loopback) gets a class "api" marked
# adaptive and sheddable, and the daemon probes its health every 500 ms.
# When the probe starts failing, the next sample sheds: new connections
# to the class are refused (SYNs dropped as shed), and once the probe
# passes again they are admitted.
TEST_GATEWAY=$RW_ROOT/build/tests/test_gateway
API=8080
cat >>"$tmp/caps.yaml" <<POLICY
control:
  interval: 500ms
  objective: 250ms
  health: { url: "http://127.0.0.1:8081/healthz", timeout: 200ms, fail_after: 1, recover_after: 2 }
POLICY
sed -i "s|^classes:|classes:\n  - name: api\n    ports: [tcp/$API]\n    global: { syn: { rate: 500/s } }\n    adaptive: { floor: 20%, ceiling: 100%, shed: true }|" \
	"$tmp/caps.yaml"
echo
echo "== ratewall policy apply dev eth0 adaptive.yaml (in the gateway): tcp/$API is class 'api', adaptive and sheddable"
sed -n '/^  - name: api/,/adaptive:/p;/^control:/,$p' "$tmp/caps.yaml"
rw "$GW" policy apply dev eth0 "$tmp/caps.yaml" || die "policy apply failed"
nsenter --net="/run/netns/$GW" "$TEST_GATEWAY" --listen "198.18.0.1:$API" --admin 127.0.0.1:8081 \
	--workers 2 --service-ms 5 --accept-queue >"$tmp/gw.out" 2>"$tmp/gw.err" &
gateway=$!
at_exit "kill $gateway"
wait_line "$tmp/gw.out" ready || die "test_gateway did not start: $(cat "$tmp/gw.err")"
echo "== ratewall daemon dev eth0 events control.jsonl (in the gateway)"
rw_daemon "$GW" "$tmp/daemon2.err" dev eth0 metrics 127.0.0.1:9464 events "$tmp/control.jsonl" \
	instance-id demo-gw
wait_healthy "$GW" 127.0.0.1:9464 || die "the daemon did not start: $(cat "$tmp/daemon2.err")"
connect() { echo "open 1 300" >&"$to_api"; read -r -t 5 line <&"$from_api"; echo "$line"; echo "close 1" >&"$to_api"; read -r -t 5 _ <&"$from_api"; }
mkfifo "$tmp/api.in" "$tmp/api.out"
nsenter --net="/run/netns/$STEADY" "$TCP_CLIENTS" 198.18.0.1 "$API" <"$tmp/api.in" >"$tmp/api.out" \
	2>"$tmp/api.err" &
api_client=$!
at_exit "kill $api_client"
exec {to_api}>"$tmp/api.in"
exec {from_api}<"$tmp/api.out"
before=$(connect)
echo "steady opens a connection to the healthy gateway: $before"
echo "-- the gateway's /healthz starts failing"
kill -USR1 "$gateway"
wait_line "$tmp/control.jsonl" '.*"shed_on".*' || die "the loop did not shed: $(cat "$tmp/daemon2.err")"
during=$(connect)
echo "steady tries again: $during"
grep shed_on "$tmp/control.jsonl"
rw "$GW" stats show dev eth0 | sed -n '/^  control:/,$p'
echo "-- the gateway's /healthz passes again"
kill -USR1 "$gateway"
wait_line "$tmp/control.jsonl" '.*"shed_off".*' || die "the loop did not stop shedding"
# the line can come a tick before the flag is cleared (the pins were busy):
# a refused SYN is only retried by TCP after a second, so try a few times
for _ in 1 2 3; do
	after=$(connect)
	[ "$after" = "opened 1 of 1" ] && break
	sleep 0.3
done
echo "steady tries again: $after"
shed=$(rw_count "$GW" eth0 shed drop)
echo "SYNs dropped as shed: $shed"
rw_daemon_stop "$RW_DAEMON_PID"
if [ "$before" != "opened 1 of 1" ] || [ "$during" != "opened 0 of 1" ] ||
	[ "$after" != "opened 1 of 1" ] || [ "$shed" -lt 1 ]; then
	echo "demo: unexpected result: the loop should refuse new connections only while the probe fails" >&2
	exit 1
fi

# Sixth act: two gateways, one quota. A second gateway joins the LAN, both
# apply a policy whose class 'uploads' has a fleet-wide packet bucket
# (scope: global), and both daemons sync it through a Redis on a unix
# socket here. Traffic to the first gateway only: it gets nearly all of the
# fleet's rate; traffic to both: they split it; Redis gone: each falls back
# to its safe share (20 %) within an interval.
GW2=$(ns_name gw2)
ns_create "$GW2"
veth_pair "$GW2" eth0 "$LAN" to-gw2
ip -n "$LAN" link set to-gw2 master br0
ip -n "$GW2" addr add 198.18.0.2/24 dev eth0
redis_run "" "$tmp"
redis=$REDIS_PID
at_exit "kill $redis"
cat >"$tmp/fleet.yaml" <<POLICY
classes:
  - name: uploads
    ports: [udp/$PORT]
    global:
      packets: { rate: 400/s, burst: 40, scope: global }   # the whole fleet's
quota:
  redis: unix://$tmp/redis.sock
  fleet: demo
POLICY
echo
echo "== two gateways, one quota: udp/$PORT is class 'uploads' with 400/s for the whole fleet"
sed -n '/^classes:/,$p' "$tmp/fleet.yaml"
rw "$GW" policy apply dev eth0 "$tmp/fleet.yaml" || die "policy apply failed"
rw_daemon "$GW" "$tmp/daemon3.err" dev eth0 metrics none events "$tmp/quota.jsonl" instance-id gw-a
daemon_a=$RW_DAEMON_PID
rw_daemon "$GW2" "$tmp/daemon4.err" dev eth0 policy "$tmp/fleet.yaml" metrics none detach-on-exit \
	events "$tmp/quota2.jsonl" instance-id gw-b
daemon_b=$RW_DAEMON_PID
# both have synced once the store counts two gateways
quota_of() { rw_quota "$1" eth0 class/uploads/packets ".$2"; }
for _ in $(seq 50); do
	[ "$(quota_of "$GW" replicas)" = 2 ] && [ "$(quota_of "$GW2" replicas)" = 2 ] && break
	sleep 0.1
done
show_shares() {
	printf '   gateway a: %-6s %6.0f/s   gateway b: %-6s %6.0f/s\n' \
		"$(quota_of "$GW" mode)" "$(quota_of "$GW" rate)" \
		"$(quota_of "$GW2" mode)" "$(quota_of "$GW2" rate)"
}
flood() { # DESTINATIONS...: 1500 datagrams at 1000/s to each, at once
	local pids=() d
	for d in "$@"; do
		nsenter --net="/run/netns/$FLOOD" "$UDP_BURST" "$d" "$PORT" 1500 pps 1000 >/dev/null &
		pids+=($!)
	done
	for d in "${pids[@]}"; do wait "$d"; done
}
echo "-- idle, both synced: the rate nobody asks for is spread"
show_shares
echo "-- burst floods gateway a only (1000/s for 1.5 s)"
flood 198.18.0.1
show_shares
echo "-- burst floods both (1000/s each)"
flood 198.18.0.1 198.18.0.2
show_shares
echo "-- Redis stops (redis-cli shutdown)"
redis-cli -s "$tmp/redis.sock" shutdown nosave >/dev/null 2>&1 || true
wait "$redis" || true
wait_line "$tmp/quota.jsonl" '.*"quota_safe".*' || die "gateway a did not go to its safe share"
wait_line "$tmp/quota2.jsonl" '.*"quota_safe".*' || die "gateway b did not go to its safe share"
show_shares
grep quota_safe "$tmp/quota.jsonl"
rw "$GW" quota show dev eth0
modes="$(quota_of "$GW" mode) $(quota_of "$GW2" mode)"
rw_daemon_stop "$daemon_b"
rw_daemon_stop "$daemon_a"
if [ "$modes" != "safe safe" ]; then
	echo "demo: unexpected result: without Redis both gateways should be at their safe share" >&2
	exit 1
fi
