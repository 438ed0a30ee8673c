#!/usr/bin/env bash
# Several gateways, one quota, end to end. A real redis-server (Debian's)
# listens on a unix socket only (port 0: no TCP at all), started in a
# namespace of its own; three gateway namespaces gw1..gw3, each with its
# own ratewall daemon (instance-id gwN) on its own veth to its own client
# namespace, share a class-wide packet bucket (scope: global, R = 3000/s,
# B = 300) and a tenant's bucket through it. Checks:
#  0. the fleet forms: every gateway shared, 3 members, an idle third each;
#  1. accuracy: clients offer 2000/s to each gateway (6000/s in all) for
#     3 s; what the three admit together (XDP verdict counters) is R*t + B
#     within 5 %, while each gateway refused part of its offer (alone it
#     would have admitted all of it) and got a fair part; one script per
#     sync for both buckets (Redis' commandstats against the daemons'
#     syncs), about 10 syncs a second;
#  2. shares follow demand: traffic moves from gw1 to gw2; gw2's share
#     reaches 80 % of R within a second (+0.5 s slack on this shared
#     machine), and the grants in Redis never add up to more than R;
#  3. Redis stops answering mid-run (SIGSTOP): every gateway is at its
#     safe share (20 % of R, under R/3) within one sync interval plus the
#     timeout (+ slack), says so in one JSON line, and the three admit
#     3 x 600/s meanwhile; Redis killed and started again (empty, same
#     socket): all back to shared, the grants still within R, degraded
#     time counted in the line, in quota show and in the metrics;
#  4. a daemon killed (no goodbye): its gateway falls to the safe share
#     when its lease runs out, the fleet drops it when its TTL does; a
#     daemon stopped cleanly leaves at once; a daemon started while Redis
#     is down starts healthy at its safe share and goes shared once Redis
#     is back;
#  5. promtool accepts the quota metrics, whose values match; with
#     safe_share above 1/3, the safe share is R / 3 gateways.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env
require_cmds redis-server redis-cli curl promtool

R=3000
B=300
SAFE=600        # 20 % of R, below R/3
SYNC_MS=100
TIMEOUT_MS=50
PORT=9000
BUCKET=class/udp/packets
FLEET=e2e$RW_RUN
KEY="ratewall:{$FLEET}:bucket:$BUCKET"
M=127.0.0.1:9464 # each daemon's metrics, on its own namespace's loopback

test_tmpdir
SOCK=$TMPD/redis.sock
RD=$(ns_name rd)
ns_create "$RD"
for i in 1 2 3; do
	gw=$(ns_name "gw$i")
	cl=$(ns_name "cl$i")
	gateway_and_client "$gw" "$cl" "$i"
	printf -v "GW$i" %s "$gw"
	printf -v "CL$i" %s "$cl"
done

# --- Redis ---------------------------------------------------------------------
# Processes started in the background, by PID, until reaped: killed at exit.
declare -A LIVE=()
track() { LIVE[$1]=1; }
untrack() { unset "LIVE[$1]"; }
# shellcheck disable=SC2317 # run by the exit trap
kill_live() {
	local p
	for p in "${!LIVE[@]}"; do
		kill -KILL "$p"
		wait "$p"
	done
	LIVE=()
}
at_exit kill_live

REDIS_PID=
redis_start() {
	redis_run "$RD" "$TMPD"
	track "$REDIS_PID"
}
# redis_kill: SIGKILL (a stopped one included) and reap.
redis_kill() {
	kill -KILL "$REDIS_PID"
	{ wait "$REDIS_PID"; } 2>/dev/null || true
	untrack "$REDIS_PID"
	REDIS_PID=
}
rcli() { timeout 5 redis-cli -s "$SOCK" "$@"; }
# The grants of the live records of the bucket, added up inside Redis
# (one atomic read).
grants_sum() {
	rcli EVAL "local t = redis.call('TIME')
		local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
		local f = redis.call('HGETALL', KEYS[1])
		local s = 0
		for j = 1, #f, 2 do
			if string.sub(f[j], 1, 2) == 'm:' then
				local g, b, d, e = string.match(f[j + 1], '^(%S+) (%S+) (%S+) (%S+) %S+ %S+$')
				if tonumber(e) > now then s = s + tonumber(g) end
			end
		end
		return string.format('%.6f', s)" 1 "$KEY"
}
# dump_records: the bucket's records in Redis, for a failure's log.
dump_records() {
	log "records of $KEY (grant burst demand expires):"
	rcli HGETALL "$KEY" | paste - - | sed 's/^/    /'
	log "quota show: $(for i in 1 2 3; do q "$i" tojson; done)"
}
# dump_daemon I: gw I's daemon's fds, what its epoll watches, its last lines.
dump_daemon() {
	local p=${DPID[$1]} f
	log "daemon gw$1 (pid $p): fds"
	for f in /proc/"$p"/fd/*; do
		printf '    %s -> %s\n' "$(basename "$f")" "$(readlink "$f")"
	done
	for f in /proc/"$p"/fd/*; do
		[ "$(readlink "$f")" = "anon_inode:[eventpoll]" ] || continue
		log "epoll $(basename "$f") watches:"
		grep tfd /proc/"$p"/fdinfo/"$(basename "$f")" | sed 's/^/    /' || true
	done
	grep -v 'counting TCP' "$TMPD/daemon$1.err" | tail -n 12 | sed 's/^/    /'
	grep quota "$TMPD/events$1.jsonl" | tail -n 6 | cut -c1-400 | sed 's/^/    /'
	log "quota show: $(rw "$GW1" -j quota show dev gw0)"
	log "redis: $(rcli HGETALL "$KEY" | paste -sd' ')"
	scrape "$1" "$TMPD/dump.txt" && grep -E '^ratewall_quota_(syncs|safe|switches)' "$TMPD/dump.txt" | sed 's/^/    /'
}
# sample_sum: max_sum is the largest grants_sum seen.
max_sum=0
sample_sum() {
	local s
	s=$(grants_sum)
	max_sum=$(awk -v a="$max_sum" -v b="$s" 'BEGIN { print (b > a) ? b : a }')
}
redis_start

cat >"$TMPD/policy.yaml" <<EOF
classes:
  - name: udp
    ports: [udp/$PORT]
    global: { packets: { rate: $R/s, burst: $B, scope: global } }
tenants:
  # shared too, never the limit here: two buckets, one script per sync
  - name: clients
    cidrs: [198.18.0.0/16]
    packets: { rate: 100000/s, burst: 10000, scope: global }
quota:
  redis: unix://$SOCK
  fleet: $FLEET
  sync: ${SYNC_MS}ms
  timeout: ${TIMEOUT_MS}ms
EOF

# daemon_start I: gw I's daemon (nsenter execs it: $! is the daemon).
DPID=()
daemon_start() {
	local i=$1 gw="GW$1"
	nsenter --net="/run/netns/${!gw}" "$RATEWALL" daemon dev gw0 metrics "$M" \
		events "$TMPD/events$i.jsonl" instance-id "gw$i" 2>>"$TMPD/daemon$i.err" &
	DPID[i]=$!
	track "${DPID[i]}"
}
# daemon_stop I: SIGTERM, its exit status in RW_DAEMON_RC (lib.sh).
daemon_stop() {
	rw_daemon_stop "${DPID[$1]}"
	[ "$RW_DAEMON_RC" = 124 ] || untrack "${DPID[$1]}"
}
for i in 1 2 3; do
	gw="GW$i"
	rw_attach "${!gw}" gw0 mode native policy "$TMPD/policy.yaml" || die "attach to gw$i failed"
done
at_exit kill_live # again: the processes go before the attachments
for i in 1 2 3; do
	daemon_start "$i"
done
for i in 1 2 3; do
	gw="GW$i"
	wait_healthy "${!gw}" "$M" || die "daemon gw$i never became healthy: $(cat "$TMPD/daemon$i.err")"
done

# --- reading the gateways ------------------------------------------------------
# q I JQ: a field of the shared bucket in gw I's `quota show`.
q() {
	local gw="GW$1"
	rw_quota "${!gw}" gw0 "$BUCKET" "$2"
}
# modes: "MODE1 MODE2 MODE3"
modes() { echo "$(q 1 .mode) $(q 2 .mode) $(q 3 .mode)"; }
# wait_modes WANT TENTHS: until modes says WANT, at most TENTHS/10 s.
wait_modes() {
	local i
	for ((i = 0; i < $2; i++)); do
		[ "$(modes)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# admitted_sum: what the shared bucket admitted at the three gateways.
admitted_sum() { echo $(($(q 1 .admitted) + $(q 2 .admitted) + $(q 3 .admitted))); }
# class_count I VERDICT REASON: stats show's packets of class udp.
class_count() {
	local gw="GW$1"
	rw "${!gw}" -j stats show dev gw0 | jq -r --arg v "$2" --arg r "$3" \
		'[.counters[] | select(.class == "udp" and .verdict == $v and .reason == $r) | .packets] | add // 0'
}
# lines I ACTION: the JSON lines of ACTION in gw I's events file.
lines() { jq -c --arg a "$2" 'select(.action == $a)' "$TMPD/events$1.jsonl" 2>/dev/null || true; }
count_lines() { lines "$1" "$2" | grep -c . || true; }
# ts_ms: a line's ts (UTC, milliseconds) in ms since the epoch.
ts_ms() {
	jq -r '((.ts | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000
		+ (.ts | capture("\\.(?<ms>[0-9]+)Z$").ms | tonumber))'
}
# shellcheck disable=SC2317 # run through expect_true
jtest() { jq -e "$@" >/dev/null; }
round() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
scrape() {
	local gw="GW$1"
	http_get "${!gw}" "http://$M/metrics" >"$2"
}
# send I COUNT PPS: udp_burst from client I to gateway I (foreground).
send() {
	local cl="CL$1"
	burst "${!cl}" "198.18.$1.1" "$PORT" "$2" pps "$3"
}
# send_bg I COUNT PPS OUT: the same in the background, its JSON in OUT.
send_bg() {
	local cl="CL$1" pid
	nsenter --net="/run/netns/${!cl}" "$UDP_BURST" "198.18.$1.1" "$PORT" "$2" pps "$3" >"$4" &
	pid=$!
	track "$pid"
	SEND_PID=$pid
}
# reap PID: waits for a sender; its status.
reap() {
	local rc=0
	wait "$1" || rc=$?
	untrack "$1"
	return "$rc"
}

# --- 0. the fleet forms ----------------------------------------------------------
wait_modes "shared shared shared" 50 || die "the gateways never all went shared: $(modes); $(cat "$TMPD"/daemon*.err)"
for ((i = 0; i < 30; i++)); do
	[ "$(q 1 .replicas)$(q 2 .replicas)$(q 3 .replicas)" = 333 ] && break
	sleep 0.1
done
for i in 1 2 3; do
	expect_eq "gw$i: shared, 3 gateways, global $R/s burst $B, safe $SAFE/s" \
		"$(q "$i" '[.mode, .replicas, (.global_rate | round), .global_burst, (.safe_rate | round)] | join(" ")')" \
		"shared 3 $R $B $SAFE"
	expect_eq "gw$i: one quota_shared line, naming the store" \
		"$(lines "$i" quota_shared | jq -r '[.store, .limit_name, .gateway_instance_id] | join(" ")')" \
		"$SOCK quota gw$i"
done
expect_eq "Redis counts 3 members" "$(rcli ZCARD "ratewall:{$FLEET}:members")" 3
members=$(rcli ZRANGE "ratewall:{$FLEET}:members" 0 -1 | sort | paste -sd' ')
expect_eq "members are INSTANCE-ID/IFACE" "$members" "gw1/gw0 gw2/gw0 gw3/gw0"
# idle: nobody asks, so each holds an even third
for i in 1 2 3; do
	expect_range "gw$i: idle share ~R/3" "$(q "$i" '.rate | floor')" $((R / 3 - 5)) $((R / 3 + 5))
done

expect_eq "gw1: the tenant's bucket is shared too" "$(rw "$GW1" -j quota show dev gw0 |
	jq -r '.buckets[] | select(.bucket == "tenant/clients/packets") | .mode')" shared
expect_eq "Redis holds one key per shared bucket" \
	"$(rcli --scan --pattern "ratewall:{$FLEET}:bucket:*" | sort | paste -sd' ')" \
	"ratewall:{$FLEET}:bucket:class/udp/packets ratewall:{$FLEET}:bucket:tenant/clients/packets"

# --- 1. accuracy ---------------------------------------------------------------
PPS=2000
COUNT=6000 # 3 s at each gateway
# scripts: the sync scripts Redis has run (its command statistics)
scripts() {
	rcli INFO commandstats | tr -d '\r' |
		awk -F'[:=,]' '$1 == "cmdstat_evalsha" || $1 == "cmdstat_eval" { n += $3 } END { print n + 0 }'
}
# syncs_ok: the answered syncs of the three daemons
syncs_ok() {
	local i n=0
	for i in 1 2 3; do
		scrape "$i" "$TMPD/s.txt"
		n=$((n + $(metric "$TMPD/s.txt" 'ratewall_quota_syncs_total{result="ok"}')))
	done
	echo "$n"
}
e0=$(scripts)
o0=$(syncs_ok)
w0=$(now_ms)
a0=$(admitted_sum)
for i in 1 2 3; do
	pa0[i]=$(class_count "$i" pass admitted)
	pd0[i]=$(class_count "$i" drop class_pkt)
	send_bg "$i" "$COUNT" "$PPS" "$TMPD/burst$i.json"
	spid[i]=$SEND_PID
done
for i in 1 2 3; do
	reap "${spid[i]}" || die "udp_burst to gw$i failed: $(cat "$TMPD/burst$i.json")"
done
max_ns=0
stall_ns=0
for i in 1 2 3; do
	res=$(cat "$TMPD/burst$i.json")
	log "client $i: $res"
	expect_eq "client $i sent all" "$(json_get "$res" .sent)" "$COUNT"
	e=$(json_get "$res" .elapsed_ns)
	s=$(json_get "$res" .stall_ns)
	[ "$e" -gt "$max_ns" ] && max_ns=$e
	[ "$s" -gt "$stall_ns" ] && stall_ns=$s
	gw="GW$i"
	rw_settle "${!gw}" gw0 "$COUNT"
done
total=0
for i in 1 2 3; do
	pa=$(($(class_count "$i" pass admitted) - pa0[i]))
	pd=$(($(class_count "$i" drop class_pkt) - pd0[i]))
	log "gw$i: admitted $pa, refused by the shared bucket $pd"
	expect_eq "gw$i: every datagram counted once (admitted + class_pkt)" $((pa + pd)) "$COUNT"
	# alone, with a bucket of its own at R, it would have admitted all
	expect_true "gw$i: refused part of its offer" test "$pd" -gt 0
	expect_true "gw$i: admitted at most 60 % of its offer" test $((10 * pa)) -le $((6 * COUNT))
	adm[i]=$pa
	total=$((total + pa))
done
for i in 1 2 3; do
	expect_range "gw$i: equal demand, a fair part of the fleet's admissions (%)" \
		$((100 * adm[i] / total)) 28 39
done
a1=$(admitted_sum)
o1=$(syncs_ok)
w1=$(now_ms)
e1=$(scripts)
expect_eq "quota show's admitted agree with the verdict counters" $((a1 - a0)) "$total"
# Redis is read before and after the three scrapes, which take up to
# ~100 ms each side: up to 2 syncs a gateway a side more in Redis' count,
# one a gateway a side fewer (in flight at a scrape). Two buckets in one
# script each would double it.
log "syncs answered: $((o1 - o0)); scripts Redis ran: $((e1 - e0))"
expect_range "one script per sync, both buckets in it" $((e1 - e0)) $((o1 - o0 - 6)) $((o1 - o0 + 12))
expect_range "syncs every ${SYNC_MS} ms: per gateway and second" \
	$(((o1 - o0) * 1000 / 3 / (w1 - w0))) 6 11
# R*t + B over the longest sender's span; a stalled sender's bucket refills
# only up to its burst share, so the lower end gives up R * the longest stall.
want=$((B + R * max_ns / 1000000000))
tol=$((want * 5 / 100))
log "admitted together: $total, R*t + B = $want (t = ${max_ns} ns, longest stall ${stall_ns} ns), offered $((3 * COUNT))"
expect_range "fleet admitted within 5 % of R*t + B" "$total" \
	$((want - tol - R * stall_ns / 1000000000)) $((want + tol))
log "accuracy: admitted/(R*t+B) = $(awk -v a="$total" -v w="$want" 'BEGIN { printf "%.4f", a / w }')"

# --- 2. shares follow demand ---------------------------------------------------
# gw1 alone: it takes (nearly) the whole rate, the idle two give theirs up.
send 1 6000 4000 >"$TMPD/shift1.json" || die "udp_burst to gw1 failed"
r1=$(q 1 '.rate | floor')
r2=$(q 2 '.rate | floor')
log "after 1.5 s of demand at gw1 only: gw1 $r1/s, gw2 $r2/s"
expect_true "gw1 alone holds at least 80 % of R" test "$r1" -ge $((R * 8 / 10)) || dump_records
# Now gw2 alone: time until its share is 80 % of R. The share's time is
# that of the sync that granted it (quota show's synced_ago_s), so the
# poll's own lag does not count; t0 is taken before the sender starts.
t0=$(now_ms)
send_bg 2 8000 4000 "$TMPD/shift2.json"
shift_pid=$SEND_PID
took=
: >"$TMPD/shift.log"
for ((i = 0; i < 60; i++)); do
	st=$(q 2 '[(.rate | floor), .synced_ago_s] | join(" ")')
	t=$(now_ms)
	read -r r ago <<<"$st"
	echo "$((t - t0)) ms: gw2 $r/s synced ${ago}s ago" >>"$TMPD/shift.log"
	sample_sum
	if [ "$r" -ge $((R * 8 / 10)) ]; then
		took=$(awk -v t="$((t - t0))" -v a="$ago" 'BEGIN { printf "%d", t - a * 1000 }')
		break
	fi
	sleep 0.05
done
[ -n "$took" ] || fail "gw2's share never reached 80 % of R (last $r/s)"
log "gw2's share reached $r/s (>= 80 % of R) at a sync ${took} ms after its demand began"
# The decay of gw1's demand (tau 0.3 s) to 20 % of R takes ~0.6 s, plus a
# sync for gw1 to give up and one for gw2 to take: ~0.8 s. Slack: 0.5 s
# for a busy 2-CPU machine (a late sender start counts against it).
if [ -n "$took" ] && ! expect_range "gw2 takes 80 % of R within a second (+0.5 s slack)" "$took" 0 1500; then
	sed 's/^/    /' "$TMPD/shift.log"
	dump_records
fi
reap "$shift_pid" || die "udp_burst to gw2 failed"
expect_eq "gw1, idle now, holds little" "$(q 1 '.rate < '$((R / 5)))" true
for ((i = 0; i < 5; i++)); do sample_sum; done
expect_true "the grants in Redis never added up to more than R (max $max_sum)" \
	awk -v s="$max_sum" -v r="$R" 'BEGIN { exit !(s <= r + 1e-6) }'
expect_true "the grants read from Redis were there to add (max $max_sum)" \
	awk -v s="$max_sum" -v r="$R" 'BEGIN { exit !(s >= r / 2) }'

# --- 3. Redis stops answering mid-run, then restarts -----------------------------
b0=$(admitted_sum)
for i in 1 2 3; do
	send_bg "$i" 10000 2000 "$TMPD/out$i.json" # 5 s
	spid[i]=$SEND_PID
done
sleep 1
t_stop=$(now_ms)
kill -STOP "$REDIS_PID"
wait_modes "safe safe safe" 30 || fail "not all gateways went safe: $(modes)"
t_safe=$(now_ms)
a_safe=$(admitted_sum)
for i in 1 2 3; do
	l=$(lines "$i" quota_safe)
	expect_eq "gw$i: one quota_safe line" "$(grep -c . <<<"$l")" 1
	expect_eq "gw$i: it names the bucket, its safe rate and the reason" \
		"$(jq -r --arg b "$BUCKET" '(.buckets[] | select(.bucket == $b)) as $q | [$q.bucket, ($q.rate | round), $q.replicas, (.reason | test("no answer within '$TIMEOUT_MS' ms"))] | join(" ")' <<<"$l")" \
		"$BUCKET $SAFE 3 true"
	lat=$(($(ts_ms <<<"$l") - t_stop))
	log "gw$i: safe ${lat} ms after Redis stopped"
	# one sync interval + the timeout, + 150 ms for a busy machine
	expect_range "gw$i: safe within one sync interval + the timeout (+slack)" "$lat" 0 \
		$((SYNC_MS + TIMEOUT_MS + 150))
	expect_eq "gw$i: quota show: safe at $SAFE/s, burst $((B / 5))" "$(q "$i" '[(.rate | round), .burst] | join(" ")')" \
		"$SAFE $((B / 5))"
done
sleep 1.5
a_out=$(admitted_sum)
t_out=$(now_ms)
# Killed while stopped: down, not just slow. Then started afresh (empty)
# on the same socket.
redis_kill
sleep 0.3
for i in 1 2 3; do
	expect_eq "gw$i: still one quota_safe line (no flapping)" "$(count_lines "$i" quota_safe)" 1
done
redis_start
t_back=$(now_ms)
# an empty Redis: the first to sync may take all of R, the others then
# only what it gives back; the grants must never add up to more
back=
for ((i = 0; i < 30; i++)); do
	sample_sum
	if [ "$(modes)" = "shared shared shared" ]; then
		back=$(($(now_ms) - t_back))
		break
	fi
	sleep 0.1
done
[ -n "$back" ] || fail "not all gateways came back to shared: $(modes)"
log "all shared again ${back} ms after Redis restarted"
for ((i = 0; i < 10; i++)); do sample_sum; sleep 0.05; done
expect_true "after the restart too, the grants never added up to more than R (max $max_sum)" \
	awk -v s="$max_sum" -v r="$R" 'BEGIN { exit !(s <= r + 1e-6) }'
for i in 1 2 3; do
	reap "${spid[i]}" || die "udp_burst to gw$i failed: $(cat "$TMPD/out$i.json")"
done
for i in 1 2 3; do
	gw="GW$i"
	rw_settle "${!gw}" gw0 1
done
out_dt=$((t_out - t_safe))
out_adm=$((a_out - a_safe))
# 3 safe shares of 600/s; the snapshots are ~50 ms each off their times
want=$((3 * SAFE * out_dt / 1000))
log "in safe share: $out_adm admitted in ${out_dt} ms (3 x $SAFE/s: $want)"
expect_range "admitted in safe share ~ 3 x safe rate" "$out_adm" \
	$((want * 85 / 100 - 100)) $((want * 105 / 100 + 3 * B / 5 + 100))
expect_true "the outage admitted under the global rate" test $((out_adm * 1000 / out_dt)) -lt "$R"
# the whole run, outage and the return included: never over R*t + B
max_ns=0
for i in 1 2 3; do
	e=$(json_get "$(cat "$TMPD/out$i.json")" .elapsed_ns)
	[ "$e" -gt "$max_ns" ] && max_ns=$e
done
run_adm=$(($(admitted_sum) - b0))
cap=$((B + R * max_ns / 1000000000))
log "the whole run, stop and restart included: $run_adm admitted; R*t + B = $cap"
expect_true "the run admitted no more than R*t + B (+5 %): $run_adm <= $cap" \
	test "$run_adm" -le $((cap * 105 / 100))
for i in 1 2 3; do
	l=$(lines "$i" quota_shared | tail -n1)
	expect_eq "gw$i: a second quota_shared line" "$(count_lines "$i" quota_shared)" 2
	expect_true "gw$i: it counts the time degraded ($(jq -r .degraded_s <<<"$l") s)" \
		jtest '.degraded_s > 1.5 and .degraded_s < 10 and .store != ""' <<<"$l"
	expect_true "gw$i: quota show counts it too" jtest -n "$(q "$i" .degraded_s) > 1.5"
	expect_eq "gw$i: went safe once" "$(q "$i" .to_safe)" 1
done

# --- 4. a daemon crashes, comes back, leaves; then starts with Redis down ----------
# A crash leaves no goodbye: the kernel falls back to the safe share when
# the lease runs out, and the fleet forgets the member when its record's
# TTL does (1 s after its last sync, and the record 50 ms later still, so
# that nobody takes a share a kernel may still enforce).
t_kill=$(now_ms)
kill -KILL "${DPID[3]}"
{ reap "${DPID[3]}"; } 2>/dev/null || true
# When its lease and its record end, read once nothing can renew them (a
# script sent just before the kill has run within these 100 ms):
sleep 0.1
lease_left=$(q 3 '.lease_left_ms // 0')
lease_left=$((lease_left + $(now_ms) - t_kill)) # from the kill
ttl_left=$(rcli EVAL "local t = redis.call('TIME')
	local e = redis.call('ZSCORE', KEYS[1], ARGV[1])
	return tonumber(e) - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))" \
	1 "ratewall:{$FLEET}:members" gw3/gw0)
ttl_left=$((ttl_left + $(now_ms) - t_kill)) # from the kill
log "gw3's daemon killed with ${lease_left} ms left of its lease, ${ttl_left} ms of its membership"
expect_range "gw3's lease ends at most 1 s after the kill (+ the read)" "$lease_left" 0 1150
expect_range "gw3's membership ends at most 1 s + 50 ms after the kill (+ the read)" "$ttl_left" 0 1200
expect_true "gw3's record outlives its lease ($ttl_left > $lease_left ms)" test "$ttl_left" -gt "$lease_left"
# past the lease, nobody renewed it: safe, with no daemon at all
sleep "$(awk -v l="$lease_left" -v t0="$t_kill" -v t="$(now_ms)" \
	'BEGIN { s = (l - (t - t0) + 50) / 1000; printf "%.3f", (s > 0 ? s : 0) }')"
expect_eq "gw3, its daemon dead, at its safe share once the lease ran out" \
	"$(q 3 '[.mode, (.rate | round)] | join(" ")')" "safe $SAFE"
# past the TTL, the next sync of another member drops gw3
gone=
for ((i = 0; i < 30; i++)); do
	if [ "$(rcli ZCARD "ratewall:{$FLEET}:members")" = 2 ]; then
		gone=$(($(now_ms) - t_kill))
		break
	fi
	sleep 0.05
done
log "gw3 out of the fleet ${gone:-never} ms after the kill"
expect_range "gw3 out of the fleet after its TTL (+ a sync of the others, + slack)" "${gone:-9999}" \
	$((ttl_left - 50)) $((ttl_left + SYNC_MS + 400))
for ((i = 0; i < 10; i++)); do
	[ "$(q 1 .replicas)" = 2 ] && break
	sleep 0.1
done
expect_eq "gw1 counts 2 gateways now" "$(q 1 .replicas)" 2
daemon_start 3
for ((i = 0; i < 30; i++)); do
	[ "$(q 3 .mode) $(q 3 .replicas)" = "shared 3" ] && break
	sleep 0.1
done
expect_eq "gw3 restarted: shared, 3 gateways" "$(q 3 .mode) $(q 3 .replicas)" "shared 3"
daemon_stop 3
expect_eq "gw3's daemon stops with 0" "$RW_DAEMON_RC" 0
expect_eq "gw3 left the fleet at once" "$(rcli ZSCORE "ratewall:{$FLEET}:members" gw3/gw0)" ""
expect_eq "gw3's grant is gone" "$(rcli HEXISTS "$KEY" m:gw3/gw0)" 0
redis_kill
daemon_start 3
wait_healthy "$GW3" "$M" || fail "gw3's daemon is not healthy with Redis down: $(tail -n3 "$TMPD/daemon3.err")"
expect_true "gw3's daemon runs" kill -0 "${DPID[3]}"
for ((i = 0; i < 30; i++)); do
	[ "$(count_lines 3 quota_safe)" -ge 2 ] && break
	sleep 0.1
done
expect_eq "gw3: a quota_safe line at start" "$(count_lines 3 quota_safe)" 2
expect_true "gw3: it says why" jtest -s 'last(.[] | select(.action == "quota_safe")) | .reason | test("redis")' \
	"$TMPD/events3.jsonl"
expect_eq "gw3 starts at its safe share" "$(q 3 '[.mode, (.rate | round)] | join(" ")')" "safe $SAFE"
scrape 3 "$TMPD/m3.txt"
expect_eq "gw3's metrics: safe" "$(metric "$TMPD/m3.txt" ratewall_quota_safe)" 1
expect_eq "gw3's metrics: no answered sync" "$(metric "$TMPD/m3.txt" 'ratewall_quota_syncs_total{result="ok"}')" 0
expect_true "gw3's metrics: failed syncs" test "$(metric "$TMPD/m3.txt" 'ratewall_quota_syncs_total{result="failed"}')" -ge 1
redis_start
for ((i = 0; i < 30; i++)); do
	[ "$(q 3 .mode)" = shared ] && break
	sleep 0.1
done
expect_eq "gw3 shared once Redis is up" "$(q 3 .mode)" shared
wait_modes "shared shared shared" 30 || fail "not all shared at the end: $(modes)"
expect_true "gw3: a quota_shared line" test "$(count_lines 3 quota_shared)" -ge 3

# --- 5. metrics --------------------------------------------------------------------
scrape 1 "$TMPD/m1.txt"
expect_true "promtool accepts the quota metrics" promtool check metrics <"$TMPD/m1.txt"
L="{bucket=\"$BUCKET\"}"
expect_eq "metrics: global rate" "$(round "$(metric "$TMPD/m1.txt" "ratewall_quota_global_rate$L")")" "$R"
expect_eq "metrics: safe rate" "$(round "$(metric "$TMPD/m1.txt" "ratewall_quota_safe_rate$L")")" "$SAFE"
expect_eq "metrics: shared" "$(metric "$TMPD/m1.txt" "ratewall_quota_shared$L")" 1
expect_eq "metrics: not safe" "$(metric "$TMPD/m1.txt" ratewall_quota_safe)" 0
# the stop of step 3 and the kill of step 4
expect_eq "metrics: two switches each way" \
	"$(metric "$TMPD/m1.txt" 'ratewall_quota_switches_total{to="safe"}') $(metric "$TMPD/m1.txt" 'ratewall_quota_switches_total{to="shared"}')" "2 2"
expect_eq "metrics: to_safe of the bucket" "$(metric "$TMPD/m1.txt" "ratewall_quota_to_safe_total$L")" 2
expect_true "metrics: degraded seconds > 1.5" \
	awk -v v="$(metric "$TMPD/m1.txt" "ratewall_quota_degraded_seconds_total$L")" 'BEGIN { exit !(v > 1.5) }'
expect_true "metrics: answered and failed syncs" test \
	"$(metric "$TMPD/m1.txt" 'ratewall_quota_syncs_total{result="ok"}')" -gt 50 -a \
	"$(metric "$TMPD/m1.txt" 'ratewall_quota_syncs_total{result="failed"}')" -ge 1
expect_eq "metrics: sync round trips, counted" \
	"$(metric "$TMPD/m1.txt" ratewall_quota_sync_seconds_count)" \
	"$(metric "$TMPD/m1.txt" 'ratewall_quota_syncs_total{result="ok"}')"
expect_eq "metrics: admitted as quota show" \
	"$(metric "$TMPD/m1.txt" "ratewall_quota_admitted_packets_total$L")" "$(q 1 .admitted)"
expect_range "metrics: the fleet's gateways" "$(metric "$TMPD/m1.txt" ratewall_quota_fleet_gateways)" 2 3

# safe_share 50 % is more than R / 3 gateways: the safe share is R / 3.
# A quota: section that changes restarts gw1's sync (it leaves and joins
# again): it must sync again, without a failed sync or a bogus demand
# (the old slot's counts are not the new one's). Six applies, the slots
# alternating, so that the new slot's counts are below the old's three
# times, each soon after the last restart (then the daemon's tick, which
# reads the new policy, comes before its sync timer).
sed 's/^  timeout: .*/&\n  safe_share: 50%/' "$TMPD/policy.yaml" >"$TMPD/half.yaml"
failed0=$(metric "$TMPD/m1.txt" 'ratewall_quota_syncs_total{result="failed"}')
safe_lines0=$(count_lines 1 quota_safe)
for k in 1 2 3 4 5 6; do
	f=$TMPD/half.yaml
	[ $((k % 2)) = 0 ] && f=$TMPD/policy.yaml
	lines0=$(count_lines 1 quota_shared)
	rw "$GW1" policy apply dev gw0 "$f" >/dev/null || fail "policy apply $k of safe_share 50%/20% failed"
	want=$SAFE
	[ $((k % 2)) = 1 ] && want=$((R / 3))
	expect_eq "apply $k: the safe share is $want/s (safe_share $([ "$want" = "$SAFE" ] && echo 20 || echo 50) %, 3 gateways)" \
		"$(q 1 '.safe_rate | round')" "$want"
	# the lease the apply carried over holds until the daemon restarts
	# its sync (and ends it); the restarted sync's first answer is a line
	for ((i = 0; i < 30; i++)); do
		[ "$(count_lines 1 quota_shared)" -gt "$lines0" ] && [ "$(q 1 .mode)" = shared ] && break
		sleep 0.1
	done
	st=$(q 1 '[.mode, .replicas] | join(" ")')
	expect_eq "apply $k: gw1 syncs again (shared, 3 gateways)" "$st" "shared 3"
	[ "$st" = "shared 3" ] || dump_daemon 1
done
scrape 1 "$TMPD/m1b.txt"
expect_eq "no failed sync through the applies" \
	"$(metric "$TMPD/m1b.txt" 'ratewall_quota_syncs_total{result="failed"}')" "$failed0"
expect_eq "no quota_safe line through the applies" "$(count_lines 1 quota_safe)" "$safe_lines0"
demand=$(rcli HGET "$KEY" m:gw1/gw0 | awk '{ printf "%.0f", $3 }')
expect_range "gw1's demand in Redis, idle: no bogus figure" "$demand" 0 $((2 * R))

for i in 1 2; do
	daemon_stop "$i"
	expect_eq "gw$i's daemon stops with 0" "$RW_DAEMON_RC" 0
done
expect_eq "stopped daemons leave: their leases end, safe share in force" "$(q 1 .mode)" safe
finish
