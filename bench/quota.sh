#!/usr/bin/env bash
# `make bench-quota`: what one quota shared by several gateways costs and
# how close it holds (README "Several gateways, one quota"; bench/README.md
# "The shared quota's cost"). Never part of `make test`.
#
# Three gateway namespaces, each with its own ratewall daemon on its own
# veth to its own client namespace, share one class-wide packet bucket
# (R = 3000/s, B = 300, scope: global, sync 100 ms) through a real
# redis-server: over TCP, Redis in a namespace of its own with a veth to
# each gateway (198.19.G.1 <-> 198.19.G.2), and over a unix socket. The
# clients offer uneven loads (500, 2000 and 4000 pkt/s: max-min fair
# shares 500, 1250, 1250) for DURATION_S. Per round and transport:
#  - accuracy: what the three admitted together (XDP verdict counters) over
#    R*t + B, t the longest sender's span; the highest 1-s window rate
#    over R (sampled every second);
#  - Redis: scripts (EVALSHA) and every command it ran (commandstats count
#    the script's own calls too) per second and gateway, its CPU per
#    second; the daemons' round trips per second (syncs_total);
#  - sync overhead: round trip from the daemons' histogram (mean; the
#    buckets holding p50 and p99), and the daemons' CPU per second
#    (every thread's schedstat) against a baseline window in the same
#    round: the same daemons and traffic under the same policy without
#    scope: global (each gateway then admits up to R alone).
# Then the per-packet cost of a shared bucket over the same local bucket
# (prog_run_cost's class_local and class_shared paths).
#
# Environment: ROUNDS (3), DURATION_S (10), TRANSPORTS ("tcp unix"),
# OUT (/tmp/ratewall-bench-quota), REPEAT and COST_ROUNDS (prog_run_cost,
# 1000000 and 7). Writes OUT/rounds.jsonl (one object per round and
# transport), OUT/prog_run_cost.json, OUT/summary.md (printed at the end).
set -euo pipefail

# shellcheck disable=SC2034 # lib.sh reads it
TEST_NAME=bench_quota
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION_S=${DURATION_S:-10}
TRANSPORTS=${TRANSPORTS:-tcp unix}
OUT=${OUT:-/tmp/ratewall-bench-quota}
REPEAT=${REPEAT:-1000000}
COST_ROUNDS=${COST_ROUNDS:-7}
PROG_RUN_COST=$RW_ROOT/build/bench/prog_run_cost
BASELINE_OBJ=$RW_ROOT/build/bench/baseline.bpf.o
R=3000
B=300
SYNC_MS=100
PPS=(0 500 2000 4000) # per gateway 1..3
PORT=9000
BUCKET=class/udp/packets
FLEET=bench$RW_RUN
M=127.0.0.1:9464

[[ "$ROUNDS" =~ ^[1-9][0-9]?$ ]] || die "ROUNDS must be 1..99"
if ! [[ "$DURATION_S" =~ ^[1-9][0-9]?$ ]] || [ "$DURATION_S" -gt 60 ]; then
	die "DURATION_S must be 1..60"
fi
for t in $TRANSPORTS; do
	[[ "$t" = tcp || "$t" = unix ]] || die "TRANSPORTS: tcp and/or unix, not '$t'"
done
RD=$(ns_name qrd)
bench_require "$RATEWALL $UDP_BURST $PROG_RUN_COST $BASELINE_OBJ" "jq nsenter redis-server redis-cli curl" \
	"$RD" "$(ns_name qgw1)" "$(ns_name qgw2)" "$(ns_name qgw3)"
mkdir -p "$OUT"
: >"$OUT/rounds.jsonl"
test_tmpdir
SOCK=$TMPD/redis.sock

# --- testbed -------------------------------------------------------------------
ns_create "$RD"
for i in 1 2 3; do
	gw=$(ns_name "qgw$i")
	cl=$(ns_name "qcl$i")
	gateway_and_client "$gw" "$cl" "$i"
	# the store's link: no XDP on it
	veth_pair "$RD" "rd$i" "$gw" rd0
	ip -n "$RD" addr add "198.19.$i.1/24" dev "rd$i"
	ip -n "$gw" addr add "198.19.$i.2/24" dev rd0
	printf -v "GW$i" %s "$gw"
	printf -v "CL$i" %s "$cl"
done

declare -A LIVE=()
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

# Redis listens on the three store links (TCP) and on a unix socket (the
# unix transport, and this script's own INFO reads).
redis_run "$RD" "$TMPD" --port 6379 --bind 198.19.1.1 198.19.2.1 198.19.3.1 --protected-mode no
LIVE[$REDIS_PID]=1
rcli() { timeout 5 redis-cli -s "$SOCK" "$@"; }

# policy I TRANSPORT|local: gw I's policy file.
policy() {
	local i=$1 how=$2 f="$TMPD/policy$1-$2.yaml" url
	case $how in
	tcp) url=redis://198.19.$i.1:6379 ;;
	unix) url=unix://$SOCK ;;
	esac
	{
		printf 'classes:\n  - name: udp\n    ports: [udp/%s]\n' "$PORT"
		if [ "$how" = local ]; then
			printf '    global: { packets: { rate: %s/s, burst: %s } }\n' "$R" "$B"
		else
			printf '    global: { packets: { rate: %s/s, burst: %s, scope: global } }\n' "$R" "$B"
			printf 'quota:\n  redis: %s\n  fleet: %s\n  sync: %sms\n' "$url" "$FLEET" "$SYNC_MS"
		fi
	} >"$f"
	echo "$f"
}

DPID=()
for i in 1 2 3; do
	gw="GW$i"
	rw_attach "${!gw}" gw0 mode native policy "$(policy "$i" local)" >/dev/null || die "attach to gw$i failed"
done
at_exit kill_live # again: the processes go before the attachments
for i in 1 2 3; do
	gw="GW$i"
	nsenter --net="/run/netns/${!gw}" "$RATEWALL" daemon dev gw0 metrics "$M" \
		events "$TMPD/events$i.jsonl" instance-id "gw$i" 2>>"$TMPD/daemon$i.err" &
	DPID[i]=$!
	LIVE[${DPID[i]}]=1
done
for i in 1 2 3; do
	gw="GW$i"
	wait_healthy "${!gw}" "$M" || die "daemon gw$i never became healthy: $(cat "$TMPD/daemon$i.err")"
done

# --- readings -------------------------------------------------------------------
q_admitted() {
	local gw="GW$1"
	rw_quota "${!gw}" gw0 "$BUCKET" .admitted
}
q_mode() {
	local gw="GW$1"
	rw_quota "${!gw}" gw0 "$BUCKET" '"\(.mode) \(.replicas)"'
}
# class_admitted I: packets class udp admitted at gw I (verdict counters;
# a policy apply does not reset them).
class_admitted() {
	local gw="GW$1"
	rw "${!gw}" -j stats show dev gw0 |
		jq -r '[.counters[] | select(.class == "udp" and .verdict == "pass" and .reason == "admitted") | .packets] | add // 0'
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# cpu_ns PID: CPU time of every thread of PID, ns (schedstat).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }
# redis_stats: {"scripts","commands","cpu_s"} from INFO (this script's own
# INFO calls left out).
redis_stats() {
	rcli INFO commandstats | tr -d '\r' | awk -F'[:=,]' '
		/^cmdstat_/ && $1 != "cmdstat_info" { all += $3 }
		$1 == "cmdstat_evalsha" || $1 == "cmdstat_eval" { s += $3; us += $5 }
		END { printf "{\"scripts\":%d,\"script_usec\":%d,\"commands\":%d,", s, us, all }'
	rcli INFO cpu | tr -d '\r' | awk -F: '
		$1 == "used_cpu_sys" || $1 == "used_cpu_user" { c += $2 } END { printf "\"cpu_s\":%.6f,", c }'
	printf '"t_ms":%s}\n' "$(now_ms)"
}
# daemon_metrics I: the sync series of gw I's daemon, as JSON.
daemon_metrics() {
	local gw="GW$1"
	http_get "${!gw}" "http://$M/metrics" | awk '
		/^ratewall_quota_syncs_total\{result="ok"\}/ { ok = $2 }
		/^ratewall_quota_syncs_total\{result="failed"\}/ { failed = $2 }
		/^ratewall_quota_syncs_total\{result="skipped"\}/ { skipped = $2 }
		/^ratewall_quota_sync_seconds_sum/ { sum = $2 }
		/^ratewall_quota_sync_seconds_bucket/ {
			match($1, /le="[^"]*"/); le = substr($1, RSTART + 4, RLENGTH - 5)
			b = b sep "{\"le\":\"" le "\",\"n\":" $2 "}"; sep = ","
		}
		END { printf "{\"ok\":%d,\"failed\":%d,\"skipped\":%d,\"sum\":%.9f,\"buckets\":[%s],",
			ok, failed, skipped, sum, b }'
	printf '"t_ms":%s}\n' "$(now_ms)"
}
apply_all() {
	local i gw
	for i in 1 2 3; do
		gw="GW$i"
		rw "${!gw}" policy apply dev gw0 "$(policy "$i" "$1")" >/dev/null || die "policy apply ($1) at gw$i failed"
	done
}
wait_fleet() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(q_mode 1)|$(q_mode 2)|$(q_mode 3)" = "shared 3|shared 3|shared 3" ] && return 0
		sleep 0.1
	done
	die "the gateways did not all go shared with 3 gateways: $(q_mode 1)|$(q_mode 2)|$(q_mode 3)"
}

# window KIND: traffic for DURATION_S at the three gateways, measured; one
# JSON object on stdout. KIND shared also samples every second and reads
# Redis and the daemons' sync series.
window() {
	local kind=$1 i gw cl pid pids=() cpu0=() cpu1=() a0=() a1=() m0=() m1=() r0 r1 t0 t1 samples=""
	for i in 1 2 3; do
		cpu0[i]=$(cpu_ns "${DPID[i]}")
		a0[i]=$(class_admitted "$i")
		m0[i]=$(daemon_metrics "$i") # in both kinds: the scrape's cost alike
	done
	r0=$(redis_stats)
	t0=$(now_ms)
	for i in 1 2 3; do
		cl="CL$i"
		nsenter --net="/run/netns/${!cl}" "$UDP_BURST" "198.18.$i.1" "$PORT" $((PPS[i] * DURATION_S)) \
			pps "${PPS[i]}" >"$TMPD/burst$i.json" &
		pid=$!
		LIVE[$pid]=1
		pids[i]=$pid
	done
	if [ "$kind" = shared ]; then
		# every second: the fleet's admissions so far (the shared bucket's own count)
		# (while the senders run, and once after)
		local s
		for ((s = 0; s <= DURATION_S + 1; s++)); do
			samples+="[$(now_ms),$(($(q_admitted 1) + $(q_admitted 2) + $(q_admitted 3)))],"
			kill -0 "${pids[1]}" 2>/dev/null || kill -0 "${pids[2]}" 2>/dev/null ||
				kill -0 "${pids[3]}" 2>/dev/null || break
			sleep 1
		done
	fi
	for i in 1 2 3; do
		wait "${pids[i]}" || die "udp_burst to gw$i failed: $(cat "$TMPD/burst$i.json")"
		unset "LIVE[${pids[i]}]"
	done
	sleep 0.2 # the last datagrams through XDP
	t1=$(now_ms)
	r1=$(redis_stats)
	for i in 1 2 3; do
		cpu1[i]=$(cpu_ns "${DPID[i]}")
		a1[i]=$(class_admitted "$i")
		m1[i]=$(daemon_metrics "$i")
	done
	jq -cn --arg kind "$kind" --argjson R "$R" --argjson B "$B" \
		--argjson wall_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1000 }')" \
		--argjson bursts "[$(cat "$TMPD/burst1.json"),$(cat "$TMPD/burst2.json"),$(cat "$TMPD/burst3.json")]" \
		--argjson adm "[$((a1[1] - a0[1])),$((a1[2] - a0[2])),$((a1[3] - a0[3]))]" \
		--argjson cpu "[$((cpu1[1] - cpu0[1])),$((cpu1[2] - cpu0[2])),$((cpu1[3] - cpu0[3]))]" \
		--argjson samples "[${samples%,}]" \
		--argjson r0 "${r0:-null}" --argjson r1 "${r1:-null}" \
		--argjson m0 "[${m0[1]:-null},${m0[2]:-null},${m0[3]:-null}]" \
		--argjson m1 "[${m1[1]:-null},${m1[2]:-null},${m1[3]:-null}]" '
		([$bursts[].elapsed_ns] | max / 1e9) as $t
		| ($adm | add) as $total
		| {kind: $kind, seconds: $t, wall_s: $wall_s,
		   offered: [$bursts[].sent], admitted: $adm, admitted_total: $total,
		   admitted_per_s: ($total / $t),
		   stall_ms: ([$bursts[].stall_ns] | max / 1e6),
		   accuracy: ($total / ($R * $t + $B)),
		   daemon_cpu_ms_per_s: [$cpu[] / 1e6 / $wall_s],
		   redis_cpu_ms_per_s: (($r1.cpu_s - $r0.cpu_s) * 1e6 / ($r1.t_ms - $r0.t_ms))}
		+ if $kind != "shared" then {} else
		  ([range(1; $samples | length) as $k
		    | ($samples[$k][1] - $samples[$k - 1][1]) / (($samples[$k][0] - $samples[$k - 1][0]) / 1000)]) as $rates
		  | {second_rates: $rates, max_second_over_R: (($rates[1:] | max) / $R),
		     redis_scripts_per_s_per_gw: (($r1.scripts - $r0.scripts) * 1000 / ($r1.t_ms - $r0.t_ms) / 3),
		     redis_commands_per_s_per_gw: (($r1.commands - $r0.commands) * 1000 / ($r1.t_ms - $r0.t_ms) / 3),
		     redis_usec_per_script: (($r1.script_usec - $r0.script_usec) / ($r1.scripts - $r0.scripts)),
		     syncs: [range(0; 3) as $g | {ok: ($m1[$g].ok - $m0[$g].ok), failed: ($m1[$g].failed - $m0[$g].failed),
		       s: (($m1[$g].t_ms - $m0[$g].t_ms) / 1000),
		       skipped: ($m1[$g].skipped - $m0[$g].skipped), sum: ($m1[$g].sum - $m0[$g].sum),
		       buckets: [range(0; $m1[$g].buckets | length) as $b
		         | {le: $m1[$g].buckets[$b].le, n: ($m1[$g].buckets[$b].n - $m0[$g].buckets[$b].n)}]}]}
		  | .round_trips_per_s_per_gw = ([.syncs[] | (.ok + .failed) / .s] | add / 3)
		  | .failed_syncs = ([.syncs[].failed] | add) | .skipped_syncs = ([.syncs[].skipped] | add)
		  | .rtt_mean_ms = (([.syncs[].sum] | add) * 1000 / ([.syncs[].ok] | add))
		  | ([range(0; .syncs[0].buckets | length) as $b | {le: .syncs[0].buckets[$b].le,
		      n: ([.syncs[].buckets[$b].n] | add)}]) as $h
		  | ($h[-1].n) as $n
		  | .rtt_p50_le = ([$h[] | select(.n >= 0.5 * $n)][0].le)
		  | .rtt_p99_le = ([$h[] | select(.n >= 0.99 * $n)][0].le)
		  | del(.syncs) end'
}

# --- rounds ------------------------------------------------------------------------
start=$(date +%s)
for ((round = 1; round <= ROUNDS; round++)); do
	for tr in $TRANSPORTS; do
		apply_all "$tr"
		wait_fleet
		sleep 0.5 # a few syncs at idle
		shared=$(window shared)
		apply_all local
		sleep 0.5
		local_w=$(window local)
		line=$(jq -cn --argjson round "$round" --arg tr "$tr" --argjson s "$shared" --argjson l "$local_w" '
			{round: $round, transport: $tr, shared: $s, local: $l,
			 daemon_cpu_ms_per_s_shared: ($s.daemon_cpu_ms_per_s | add / 3),
			 daemon_cpu_ms_per_s_local: ($l.daemon_cpu_ms_per_s | add / 3)}
			| .daemon_cpu_ms_per_s_added = (.daemon_cpu_ms_per_s_shared - .daemon_cpu_ms_per_s_local)')
		echo "$line" >>"$OUT/rounds.jsonl"
		log "$(jq -r '"round \(.round) \(.transport): admitted \(.shared.admitted_total) of \(.shared.offered | add) offered in \(.shared.seconds * 100 | round / 100) s, accuracy \(.shared.accuracy * 10000 | round / 10000), max 1-s rate/R \(.shared.max_second_over_R * 1000 | round / 1000); alone \(.local.admitted_per_s | round)/s; scripts/s/gw \(.shared.redis_scripts_per_s_per_gw * 10 | round / 10), commands/s/gw \(.shared.redis_commands_per_s_per_gw | round), round trips/s/gw \(.shared.round_trips_per_s_per_gw * 10 | round / 10), rtt mean \(.shared.rtt_mean_ms * 1000 | round / 1000) ms (p50 <= \(.shared.rtt_p50_le) s), daemon CPU \(.daemon_cpu_ms_per_s_shared * 100 | round / 100) vs \(.daemon_cpu_ms_per_s_local * 100 | round / 100) ms/s"' <<<"$line")"
	done
done

# --- per-packet cost ---------------------------------------------------------------
log "per-packet cost: prog_run_cost, $REPEAT repeats x $COST_ROUNDS rounds"
"$PROG_RUN_COST" "$BASELINE_OBJ" repeat "$REPEAT" rounds "$COST_ROUNDS" json >"$OUT/prog_run_cost.json" ||
	die "prog_run_cost failed"

# --- summary ---------------------------------------------------------------------------
{
	echo "# ratewall: one quota shared by 3 gateways"
	echo
	printf 'kernel %s, %s CPUs (%s), redis-server %s; %s\n' "$(uname -r)" "$(nproc)" \
		"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
		"$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')" "$(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	printf 'Bucket %s: R = %s/s, burst %s, sync %s ms; offered %s/%s/%s pkt/s for %s s; %s rounds; median (min-max).\n' \
		"$BUCKET" "$R" "$B" "$SYNC_MS" "${PPS[1]}" "${PPS[2]}" "${PPS[3]}" "$DURATION_S" "$ROUNDS"
	echo
	jq -rs '
		def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		def r(d): . * d | round / d + 0; # + 0: no "-0"
		def cell(f; d): [.[] | f] as $v | "\($v | med | r(d)) (\($v | min | r(d))-\($v | max | r(d)))";
		def mode(f): [.[] | f] | group_by(.) | max_by(length) | .[0];
		def ms: if . == "+Inf" then "over 250 ms" else "\(tonumber * 1000) ms" end;
		"| transport | accuracy | max 1-s rate / R | admitted/s shared | per gateway | admitted/s alone | scripts/s/gw | commands/s/gw | round trips/s/gw | sync RTT mean ms | RTT p50, p99 at most | script in Redis us | Redis CPU ms/s | idle | daemon CPU ms/s shared | local | added |",
		"|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
		(group_by(.transport)[] |
		 "| \(.[0].transport) | \(cell(.shared.accuracy; 10000)) | \(cell(.shared.max_second_over_R; 1000)) | \(cell(.shared.admitted_per_s; 1)) | \([range(0; 3) as $g | [.[] | .shared.admitted[$g] / .shared.seconds] | med | round] | join("/")) | \(cell(.local.admitted_per_s; 1)) | \(cell(.shared.redis_scripts_per_s_per_gw; 10)) | \(cell(.shared.redis_commands_per_s_per_gw; 1)) | \(cell(.shared.round_trips_per_s_per_gw; 10)) | \(cell(.shared.rtt_mean_ms; 1000)) | \(mode(.shared.rtt_p50_le) | ms), \(mode(.shared.rtt_p99_le) | ms) | \(cell(.shared.redis_usec_per_script; 1)) | \(cell(.shared.redis_cpu_ms_per_s; 10)) | \(cell(.local.redis_cpu_ms_per_s; 10)) | \(cell(.daemon_cpu_ms_per_s_shared; 100)) | \(cell(.daemon_cpu_ms_per_s_local; 100)) | \(cell(.daemon_cpu_ms_per_s_added; 100)) |")
	' "$OUT/rounds.jsonl"
	echo
	jq -r '
		def p(n): .paths[] | select(.path == n);
		"Per packet (BPF_PROG_TEST_RUN, \(.repeat) x \(.rounds), ns, median (min-max)):",
		"",
		"| path | ns | what |", "|---|---|---|",
		(p("class_local"), p("class_shared") | "| \(.path) | \(.ns_median) (\(.ns_min)-\(.ns_max)) | \(.what) |"),
		"",
		"A shared bucket adds \(.shared_ns_over_local) ns a packet over the same local bucket."
	' "$OUT/prog_run_cost.json"
} >"$OUT/summary.md"
cat "$OUT/summary.md"
log "done in $(($(date +%s) - start)) s; raw results in $OUT/"
exit 0
