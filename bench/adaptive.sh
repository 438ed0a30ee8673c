#!/usr/bin/env bash
# `make bench-adaptive`: what a limiter in front of a gateway does to its
# goodput and latency when load climbs past capacity and the capacity
# itself drops. Each mode runs once per round, ROUNDS rounds, the modes
# interleaved (round 1: every mode, round 2: every mode, ...) so that a slow
# stretch of this noisy VM spreads over the modes instead of landing on one;
# every mode-run has the same schedule and a fresh gateway:
#
#   none      no XDP
#   static    ratewall, class tcp/8080 with a class-wide SYN bucket at the
#             gateway's nominal capacity (CAP/s)
#   step      the same policy plus a `control:` section (controller: step)
#             and the class's `adaptive:` key, `ratewall daemon` running
#   gradient  the same with controller: gradient
#
# Testbed: namespaces rwa-gw (198.18.0.1/24 on veth rwa0, XDP in skb mode,
# tests/tools/test_gateway on :8080, its admin on :8081) and rwa-cl
# (198.18.0.2/24 on rwa1, tests/tools/load_gen), joined by one veth pair
# and nothing else; no default route.
#
# Schedule (offered load, new TCP connection per request): PHASE_S at
# 0.5x, 1x, 2x, 4x CAP; then STEP_PHASE_S at 4x, during which the gateway's
# capacity halves (SIGUSR2) STEP_AT_S into the phase; then RECOVER_S at 1x,
# the capacity restored (SIGUSR2 again) as it begins.
#
# Raw data under OUT (default /tmp/ratewall-bench-adaptive), per mode and
# round K: MODE.rK.load.jsonl (load_gen: one line per second, one summary
# per phase), MODE.rK.samples.jsonl (every 250 ms: gateway queue and, with
# the daemon, the class's live rate and multiplier), MODE.rK.marks.json
# (when the capacity changed), MODE.rK.gateway.err, MODE.rK.daemon.err,
# MODE.rK.events.jsonl, MODE.rK.policy.yaml; calibration.jsonl (once, before
# round 1). report.md is what bench/summarize_adaptive.sh prints: medians
# over the rounds with their spread; report.rK.md each round alone.
#
# Environment: MODES ("none static step gradient"), ROUNDS (3), WORKERS (4),
# SERVICE_MS (20), PHASE_S (8), STEP_PHASE_S (12), STEP_AT_S (4), RECOVER_S
# (12), OBJECTIVE_MS (250), BURST (20), CALIBRATE_S (5; 0 skips), OUT.
set -euo pipefail

TEST_NAME=bench_adaptive
. "$(dirname "$0")/lib.sh"

MODES=${MODES:-none static step gradient}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-4}
SERVICE_MS=${SERVICE_MS:-20}
# kernel: workers accept when free, the queue is the listener's accept
# queue (what ratewall reads through INET_DIAG); fifo: an acceptor thread
# queues in the gateway (invisible to the kernel's signals)
GATEWAY_QUEUE=${GATEWAY_QUEUE:-kernel}
PHASE_S=${PHASE_S:-8}
STEP_PHASE_S=${STEP_PHASE_S:-12}
STEP_AT_S=${STEP_AT_S:-4}
RECOVER_S=${RECOVER_S:-12}
OBJECTIVE_MS=${OBJECTIVE_MS:-250}
BURST=${BURST:-20}
CALIBRATE_S=${CALIBRATE_S:-5}
OUT=${OUT:-/tmp/ratewall-bench-adaptive}
GATEWAY=${GATEWAY:-$RW_ROOT/build/tests/test_gateway}
LOAD_GEN=${LOAD_GEN:-$RW_ROOT/build/tests/load_gen}
# A SYN the limiter drops is retransmitted by the kernel after about 1 s;
# giving up at 900 ms counts it as refused without a second SYN.
CONNECT_TIMEOUT_MS=${CONNECT_TIMEOUT_MS:-900}
TIMEOUT_MS=${TIMEOUT_MS:-5000}

GW=rwa-gw
CL=rwa-cl
GW_IP=198.18.0.1
CL_IP=198.18.0.2
SVC=$GW_IP:8080
ADMIN=$GW_IP:8081
METRICS=$GW_IP:9464
CAP=$((WORKERS * 1000 / SERVICE_MS))

for v in ROUNDS WORKERS SERVICE_MS PHASE_S STEP_PHASE_S STEP_AT_S RECOVER_S OBJECTIVE_MS BURST CALIBRATE_S; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
[ "$ROUNDS" -ge 1 ] || die "ROUNDS must be at least 1"
# The calibration skips its first second and reads over the next ones.
[ "$CALIBRATE_S" -eq 0 ] || [ "$CALIBRATE_S" -ge 3 ] || die "CALIBRATE_S must be 0 or at least 3"
[ "$CAP" -ge 4 ] || die "capacity WORKERS*1000/SERVICE_MS = $CAP/s is too small"
[ "$STEP_AT_S" -lt "$STEP_PHASE_S" ] || die "STEP_AT_S ($STEP_AT_S) must fall inside STEP_PHASE_S ($STEP_PHASE_S)"
case $GATEWAY_QUEUE in
kernel) GATEWAY_QUEUE_OPT=--accept-queue ;;
fifo) GATEWAY_QUEUE_OPT= ;;
*) die "GATEWAY_QUEUE must be kernel or fifo, not '$GATEWAY_QUEUE'" ;;
esac
for m in $MODES; do
	case $m in none | static | step | gradient) ;; *) die "unknown mode '$m' (none static step gradient)" ;; esac
done
bench_require "$RATEWALL $GATEWAY $LOAD_GEN" "jq nsenter curl awk" "$GW" "$CL"

# --- processes: started here, stopped by PID only ---------------------------
declare -A RUNNING=()
# bg_stop PID: SIGTERM, SIGKILL after ~5 s, then reaped.
bg_stop() {
	local pid=$1 i
	[ -n "${RUNNING[$pid]:-}" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	unset "RUNNING[$pid]"
}
bg_stop_all() {
	local pid
	for pid in "${!RUNNING[@]}"; do bg_stop "$pid"; done
}

# --- testbed --------------------------------------------------------------
mkdir -p "$OUT"
if ! mountpoint -q /sys/fs/bpf; then
	mount -t bpf bpf /sys/fs/bpf
	at_exit "umount /sys/fs/bpf"
fi
ns_create "$GW"
ns_create "$CL"
at_exit bg_stop_all
veth_pair "$GW" rwa0 "$CL" rwa1
ip -n "$GW" addr add "$GW_IP/24" dev rwa0
ip -n "$CL" addr add "$CL_IP/24" dev rwa1
neigh_static "$GW" rwa0 "$CL_IP" "$(mac_of "$CL" rwa1)"
neigh_static "$CL" rwa1 "$GW_IP" "$(mac_of "$GW" rwa0)"
# A new connection per request: thousands a second need the whole port range.
in_ns "$CL" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
in_ns "$GW" sysctl -qw net.core.somaxconn=4096

now() { date +%s.%N; }
# sleep_until T: until the wall clock reads T (seconds, fractional).
sleep_until() {
	local d
	d=$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; if (d < 0) d = 0; printf "%.3f\n", d }')
	sleep "$d"
}

GW_PID=
# gateway_start TAG: a fresh gateway (empty queue), waits for "ready".
gateway_start() {
	: >"$OUT/$1.gateway.out"
	nsenter --net="/run/netns/$GW" "$GATEWAY" --listen "$SVC" --admin "$ADMIN" \
		--workers "$WORKERS" --service-ms "$SERVICE_MS" $GATEWAY_QUEUE_OPT \
		>"$OUT/$1.gateway.out" 2>"$OUT/$1.gateway.err" &
	GW_PID=$!
	RUNNING[$GW_PID]=gateway
	wait_line "$OUT/$1.gateway.out" ready || die "test_gateway did not start: $(cat "$OUT/$1.gateway.err")"
}
gateway_stop() {
	[ -n "$GW_PID" ] && bg_stop "$GW_PID"
	GW_PID=
}

# policy_write FILE CONTROLLER: the class at CAP/s; with a CONTROLLER also
# the control section and the class's adaptive key.
policy_write() {
	{
		echo "# bench/adaptive.sh: the gateway's service port, capacity $CAP/s"
		echo "version: 1"
		if [ -n "$2" ]; then
			cat <<-EOF
				control:
				  controller: $2
				  interval: 500ms
				  objective: ${OBJECTIVE_MS}ms
				  health:  { url: http://$ADMIN/healthz, timeout: 200ms, fail_after: 2, recover_after: 4 }
				  metrics: { url: http://$ADMIN/metrics, timeout: 200ms, latency: gw_request_duration_seconds, quantile: 0.95, requests: gw_requests_total }
			EOF
		fi
		cat <<-EOF
			classes:
			  - name: api
			    ports: [tcp/8080]
			    global: { syn: { rate: $CAP/s, burst: $BURST } }
		EOF
		[ -z "$2" ] || echo "    adaptive: { floor: 10%, ceiling: 300%, shed: true }"
	} >"$1"
}

# sampler FILE DAEMON STOPFILE MAX: every 250 ms one JSON line (queue of the
# gateway; the class's live rate and multiplier when DAEMON is 1), until
# STOPFILE exists or MAX lines. Runs in the background.
sampler() {
	local file=$1 daemon=$2 stop=$3 max=$4 i ts q body rate mult start
	start=$(now)
	for ((i = 0; i < max; i++)); do
		[ -e "$stop" ] && break
		ts=$(now)
		# the queue where the gateway keeps it: the listener's accept
		# queue (Recv-Q of a listening socket), or its own FIFO
		if [ "$GATEWAY_QUEUE" = kernel ]; then
			q=$(in_ns "$GW" ss -Hltn "sport = :${SVC##*:}" 2>/dev/null | awk 'NR == 1 { print $2 }') || true
		else
			q=$(in_ns "$GW" curl -s --max-time 0.2 "http://$ADMIN/metrics" 2>/dev/null |
				awk '$1 == "gw_queue_length" { print $2 }') || true
		fi
		rate=null
		mult=null
		if [ "$daemon" = 1 ]; then
			body=$(in_ns "$GW" curl -s --max-time 0.2 "http://$METRICS/metrics" 2>/dev/null) || true
			# the class's live SYN rate: its written rate x the multiplier
			rate=$(awk '$1 == "ratewall_class_rate{class=\"api\",scope=\"global\",limit=\"syn\"}" { v = $2 }
				END { print v != "" ? v : "null" }' <<<"$body")
			mult=$(awk '$1 == "ratewall_control_multiplier{class=\"api\"}" { v = $2 } END { print v == "" ? "null" : v }' <<<"$body")
		fi
		printf '{"ts":%s,"queue":%s,"live_rate":%s,"multiplier":%s}\n' "$ts" "${q:-null}" "$rate" "$mult" >>"$file"
		sleep_until "$(awk -v s="$start" -v i="$i" 'BEGIN { printf "%.3f\n", s + (i + 1) * 0.25 }')"
	done
}

FAILED=()
# mode_fail MODE ROUND WHY
mode_fail() {
	printf '%s: mode %s round %s FAILED: %s\n' "$TEST_NAME" "$1" "$2" "$3" >&2
	FAILED+=("$1.r$2")
	jq -cn --arg mode "$1" --argjson round "$2" --arg why "$3" \
		'{mode: $mode, round: $round, failed: $why}' >"$OUT/$1.r$2.failed.json"
}

PHASES=("$PHASE_S:$((CAP / 2))" "$PHASE_S:$CAP" "$PHASE_S:$((2 * CAP))" "$PHASE_S:$((4 * CAP))"
	"$STEP_PHASE_S:$((4 * CAP))" "$RECOVER_S:$CAP")
STEP_OFF=$((4 * PHASE_S + STEP_AT_S))
RESTORE_OFF=$((4 * PHASE_S + STEP_PHASE_S))
TOTAL_S=$((RESTORE_OFF + RECOVER_S))

# run_mode MODE ROUND: its files are $OUT/MODE.rROUND.*
run_mode() {
	local mode=$1 round=$2 tag="$1.r$2" daemon=0 dpid= lpid spid t0 ts_step ts_restore
	local pol="$OUT/$tag.policy.yaml" stop="$OUT/$tag.sampler.stop" err p args=()
	gateway_start "$tag"
	case $mode in
	static) policy_write "$pol" "" ;;
	step | gradient)
		policy_write "$pol" "$mode"
		daemon=1
		;;
	esac
	if [ "$mode" != none ]; then
		if ! err=$(rw "$GW" policy check "$pol" 2>&1 >/dev/null); then
			mode_fail "$mode" "$round" "ratewall policy check refuses $pol: $err"
			gateway_stop
			return 0
		fi
		# Not in $(...): rw_attach registers the detach for the exit trap.
		if ! rw_attach "$GW" rwa0 mode skb policy "$pol" >/dev/null 2>"$OUT/$tag.attach.err"; then
			mode_fail "$mode" "$round" "link attach: $(cat "$OUT/$tag.attach.err")"
			gateway_stop
			return 0
		fi
		# On the way out, stop the daemon and the rest before the detach.
		at_exit bg_stop_all
	fi
	if [ "$daemon" = 1 ]; then
		nsenter --net="/run/netns/$GW" "$RATEWALL" daemon dev rwa0 policy "$pol" \
			metrics "$METRICS" events "$OUT/$tag.events.jsonl" 2>>"$OUT/$tag.daemon.err" &
		dpid=$!
		RUNNING[$dpid]=daemon
		if ! wait_healthy "$GW" "$METRICS" || ! kill -0 "$dpid" 2>/dev/null; then
			mode_fail "$mode" "$round" "ratewall daemon did not come up with the control section: $(tail -n 3 "$OUT/$tag.daemon.err" | tr '\n' ' ')"
			bg_stop "$dpid"
			rw "$GW" link detach dev rwa0 >/dev/null 2>&1 || true
			gateway_stop
			return 0
		fi
	fi

	: >"$OUT/$tag.samples.jsonl"
	sampler "$OUT/$tag.samples.jsonl" "$daemon" "$stop" $(((TOTAL_S + TIMEOUT_MS / 1000 + 5) * 4)) &
	spid=$!
	RUNNING[$spid]=sampler

	for p in "${PHASES[@]}"; do args+=(--phase "$p"); done
	t0=$(now)
	nsenter --net="/run/netns/$CL" "$LOAD_GEN" --target "$SVC" "${args[@]}" \
		--objective-ms "$OBJECTIVE_MS" --connect-timeout-ms "$CONNECT_TIMEOUT_MS" \
		--timeout-ms "$TIMEOUT_MS" --max-open 8192 --out "$OUT/$tag.load.jsonl" \
		2>"$OUT/$tag.load.err" &
	lpid=$!
	RUNNING[$lpid]=load_gen
	sleep_until "$(awk -v a="$t0" -v b="$STEP_OFF" 'BEGIN { printf "%.3f", a + b }')"
	kill -USR2 "$GW_PID"
	ts_step=$(now)
	sleep_until "$(awk -v a="$t0" -v b="$RESTORE_OFF" 'BEGIN { printf "%.3f", a + b }')"
	kill -USR2 "$GW_PID"
	ts_restore=$(now)
	if ! wait "$lpid"; then
		unset "RUNNING[$lpid]"
		mode_fail "$mode" "$round" "load_gen failed: $(cat "$OUT/$tag.load.err")"
	else
		unset "RUNNING[$lpid]"
	fi
	touch "$stop"
	wait "$spid" || true
	unset "RUNNING[$spid]"
	rm -f "$stop"
	in_ns "$GW" curl -s --max-time 2 "http://$ADMIN/metrics" >"$OUT/$tag.gateway.metrics" || true
	if [ -n "$dpid" ]; then
		in_ns "$GW" curl -s --max-time 2 "http://$METRICS/metrics" >"$OUT/$tag.daemon.metrics" || true
		bg_stop "$dpid"
	fi
	[ "$mode" = none ] || rw "$GW" link detach dev rwa0 >/dev/null
	gateway_stop
	jq -cn --arg mode "$mode" --argjson round "$round" --argjson t0 "$t0" --argjson step "$ts_step" \
		--argjson restore "$ts_restore" --argjson cap "$CAP" --argjson objective "$OBJECTIVE_MS" \
		--argjson phase_s "$PHASE_S" --argjson step_phase_s "$STEP_PHASE_S" \
		--argjson recover_s "$RECOVER_S" --argjson daemon "$daemon" \
		'{mode: $mode, round: $round, t0: $t0, step: $step, restore: $restore, cap: $cap,
		  objective_ms: $objective, phase_s: $phase_s, step_phase_s: $step_phase_s,
		  recover_s: $recover_s, daemon: ($daemon == 1)}' >"$OUT/$tag.marks.json"
	log "$mode, round $round: done, offered:good/s by phase: $(jq -s -r '[.[] | select(.summary) | "\(.rate | floor):\(.good | floor)"] | join(" ")' "$OUT/$tag.load.jsonl" 2>/dev/null || echo "no data")"
}

start=$(date +%s)
log "capacity $WORKERS workers x $SERVICE_MS ms = $CAP/s; phases ${PHASES[*]} (s:rate/s); step at +${STEP_OFF}s, restore at +${RESTORE_OFF}s; modes: $MODES; $ROUNDS rounds; raw data in $OUT"
# Every earlier file of these modes goes, whatever its round: the report
# takes the rounds it finds, and a stale round would count in the medians.
rm -f "$OUT/calibration.jsonl" "$OUT"/*.failed.json "$OUT"/report.r*.md
for m in $MODES; do rm -f "$OUT/$m".*; done
# served_total: the gateway's count of 200 answers.
served_total() {
	in_ns "$GW" curl -s --max-time 1 "http://$ADMIN/metrics" | awk '$1 == "gw_requests_total{code=\"200\"}" { print $2 }'
}
if [ "$CALIBRATE_S" -gt 0 ]; then
	# Open loop at twice the capacity, no limiter: once the queue holds a
	# second's work the workers never idle, and what the gateway answers per
	# second (its own counter, late answers to clients that gave up
	# included) is its capacity.
	gateway_start calibration
	in_ns "$CL" "$LOAD_GEN" --target "$SVC" --phase "$CALIBRATE_S:$((2 * CAP))" \
		--objective-ms "$OBJECTIVE_MS" --connect-timeout-ms "$CONNECT_TIMEOUT_MS" \
		--timeout-ms 1000 --out "$OUT/calibration.jsonl" &
	cpid=$!
	RUNNING[$cpid]=load_gen
	sleep 1
	c1=$(served_total)
	ct1=$(now)
	sleep $((CALIBRATE_S - 2))
	c2=$(served_total)
	ct2=$(now)
	wait "$cpid" || die "load_gen failed in the calibration"
	unset "RUNNING[$cpid]"
	gateway_stop
	jq -cn --argjson c1 "$c1" --argjson c2 "$c2" --argjson t1 "$ct1" --argjson t2 "$ct2" \
		--argjson nominal "$CAP" '{calibration: true, nominal: $nominal, served: ($c2 - $c1),
		seconds: ($t2 - $t1), capacity: (($c2 - $c1) / ($t2 - $t1))}' >>"$OUT/calibration.jsonl"
	log "calibration: the gateway served $(jq -s -r '.[] | select(.calibration) | .capacity * 10 | round / 10' "$OUT/calibration.jsonl") requests/s saturated (nominal $CAP/s)"
fi
for ((r = 1; r <= ROUNDS; r++)); do
	for m in $MODES; do
		log "round $r/$ROUNDS, mode $m ($TOTAL_S s of load)"
		run_mode "$m" "$r"
	done
done
for ((r = 1; r <= ROUNDS; r++)); do
	"$RW_ROOT/bench/summarize_adaptive.sh" "$OUT" $MODES "$r" >"$OUT/report.r$r.md"
done
"$RW_ROOT/bench/summarize_adaptive.sh" "$OUT" $MODES | tee "$OUT/report.md"
log "done in $(($(date +%s) - start)) s; raw data in $OUT, each round's report in $OUT/report.rK.md"
if [ ${#FAILED[@]} -gt 0 ]; then
	die "mode-runs that failed: ${FAILED[*]} (see above and $OUT/MODE.rK.failed.json)"
fi
