#!/usr/bin/env bash
# A flood must not become a flood of event lines. Three sources send as
# fast as they can for about two seconds into a class limited to 100/s
# each; the counters must stay exact (admitted + dropped == sent), the
# event lines must add up to the drops exactly, and there must be at most
# one line per (source, limit) per interval plus one closing line, while
# the ring buffer loses nothing.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env
require_cmds curl

INTERVAL_MS=500
COUNT=150000 # per source; udp_burst stops by itself after 60 s at worst
SOURCES=(198.18.0.2 198.18.0.3 198.18.0.4)

daemon_testbed
for a in "${SOURCES[@]:1}"; do
	ip -n "$CL" addr add "$a/24" dev cl0
	neigh_static "$GW" gw0 "$a" "$(mac_of "$CL" cl0)"
done

cat >"$TMPD/policy.yaml" <<EOF
classes:
  - name: web
    ports: [udp/9000]
    source: { packets: { rate: 100/s, burst: 10 } }
events: { interval: ${INTERVAL_MS}ms }
EOF
rw_attach "$GW" gw0 mode native policy "$TMPD/policy.yaml" || die "attach failed"
rw_daemon "$GW" "$TMPD/daemon.err" dev gw0 metrics "$M" events "$TMPD/events.jsonl"
wait_healthy "$GW" "$M" || die "the daemon never became healthy: $(cat "$TMPD/daemon.err")"

# Three senders on two CPUs can fill the veth ring: the frames it drops
# never reach XDP and are counted as the client link's tx drops.
ring0=$(link_stat "$CL" cl0 tx dropped)
start=$(date +%s%N)
pids=()
for a in "${SOURCES[@]}"; do
	in_ns "$CL" "$UDP_BURST" 198.18.0.1 9000 "$COUNT" src "$a" >"$TMPD/burst.$a" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || die "udp_burst failed"; done
span_ms=$((($(date +%s%N) - start) / 1000000))
sent=0
for a in "${SOURCES[@]}"; do
	sent=$((sent + $(jq .sent "$TMPD/burst.$a")))
done
rw_settle "$GW" gw0 $((sent - $(link_stat "$CL" cl0 tx dropped) + ring0))
sleep 1.2 # quiet sources' last packets: within 1.5 intervals
http_get "$GW" "http://$M/metrics" >"$TMPD/metrics.txt"

ring_dropped=$(($(link_stat "$CL" cl0 tx dropped) - ring0))
# every series of the class, by verdict (a lost bucket race counts as contended)
class_sum() {
	awk -v v="verdict=\"$1\"" 'index($1, "ratewall_packets_total{class=\"web\"") == 1 &&
		index($1, v) { n += $2 } END { print n + 0 }' "$TMPD/metrics.txt"
}
admitted=$(class_sum pass)
dropped=$(class_sum drop)
lines=$(wc -l <"$TMPD/events.jsonl")
log "sent $sent in ${span_ms} ms ($ring_dropped lost in the veth ring): admitted $admitted, dropped $dropped, $lines event lines"
expect_eq "datagrams sent" "$sent" $((COUNT * ${#SOURCES[@]}))
expect_eq "admitted + dropped == sent - lost in the veth ring" $((admitted + dropped)) \
	$((sent - ring_dropped))
if [ $((admitted + dropped)) -ne $((sent - ring_dropped)) ]; then
	log "every nonzero verdict series:"
	grep '^ratewall_packets_total' "$TMPD/metrics.txt" | grep -v ' 0$' || true
	ip -n "$CL" -s link show dev cl0
	ip -n "$GW" -s link show dev gw0
fi
expect_eq "event packets add up to the drops" \
	"$(jq -s '[.[].packets] | add' "$TMPD/events.jsonl")" "$dropped"
# Each source is limited alone: it drops all but burst + rate * its span.
for a in "${SOURCES[@]}"; do
	expect_true "$a: its lines count most of what it sent" \
		test "$(jq -s --arg a "$a" '[.[] | select(.client_id == $a) | .packets] | add // 0' \
			"$TMPD/events.jsonl")" -gt $(($(jq .sent "$TMPD/burst.$a") / 2))
done
# Per source: one line per interval of the span while it floods, the
# first at once and one closing line: span / interval + 2. A pause of the
# sender longer than an interval (udp_burst reports them as stall_ns) can
# close and reopen the stream: one line more per interval of pausing.
for a in "${SOURCES[@]}"; do
	stall_ms=$(($(jq .stall_ns "$TMPD/burst.$a") / 1000000))
	bound=$((span_ms / INTERVAL_MS + 2 + (stall_ms + INTERVAL_MS - 1) / INTERVAL_MS))
	expect_range "$a: lines for a ${span_ms} ms flood" \
		"$(jq -s --arg a "$a" '[.[] | select(.client_id == $a)] | length' "$TMPD/events.jsonl")" 1 "$bound"
done
expect_eq "the ring buffer lost nothing" "$(metric "$TMPD/metrics.txt" ratewall_events_dropped_total)" 0
expect_eq "no refusal left uncounted" \
	"$(metric "$TMPD/metrics.txt" ratewall_event_unrecorded_packets_total)" 0

finish
