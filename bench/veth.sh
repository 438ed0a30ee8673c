#!/usr/bin/env bash
# Drop throughput on a veth testbed: a generator namespace and a gateway
# namespace joined by one veth pair, native XDP on the gateway's end.
#
# The generator (build/bench/xdp_gen, CPU 0) sends UDP from 1..130000 IPv4
# sources and 1M IPv6 /64s. The gateway's veth runs threaded NAPI with its
# kthread pinned to CPU 1, so everything the receive side spends (XDP,
# nftables' ingress hook, iptables, the IP stack) is that kthread's CPU
# time, read from /proc/PID/schedstat. Headline: packets handled per
# CPU-second of the receive side.
#
# The receive side's cost per packet falls as its load rises (fewer
# wake-ups per packet), so each mode is measured near its own capacity:
# probed flat out, then paced at PACE_PCT % of what it took there (and of
# what the generator can send): a veth driven past saturation makes both
# CPUs fight over its ring and distorts every figure. The XDP modes are also measured at one common
# rate ("equal" phase), where their costs compare at the same batching.
# Modes alternate within each round; ROUNDS rounds. One JSON line per
# trial goes to $OUT (default build/bench/veth.jsonl); summarize_veth.sh
# turns them into tables.
#
# Environment: ROUNDS (3), MEASURE_S (1), PACE_PCT (85), SOURCES4 ("1 1000 65536 130000"), SOURCES6 (1000000), MODES (all),
# EQUAL_MODES, OUT.
set -euo pipefail

TEST_NAME=bench_veth
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
MEASURE_S=${MEASURE_S:-1}
PACE_PCT=${PACE_PCT:-85}
EQUAL_MODES=${EQUAL_MODES:-xdp_drop xdp_read ratewall_over ratewall_flood}
SOURCES4=${SOURCES4:-1 1000 65536 130000}
SOURCES6=${SOURCES6:-1000000}
MODES=${MODES:-none xdp_drop xdp_read ratewall_over ratewall_flood ratewall_under nft iptables}
OUT=${OUT:-$RW_ROOT/build/bench/veth.jsonl}
BASELINE_OBJ=$RW_ROOT/build/bench/baseline.bpf.o
# The same per-source limit for every limiter: 1 packet/s, burst 1, so
# after the warm-up every source is over it.
LIMIT_RATE=1
LIMIT_BURST=1
GW_ADDR4=198.19.255.254
GW_ADDR6=2001:db8:ffff::1
PORT=9

GEN=$(ns_name gen)
GW=$(ns_name gw)
PIN_DIR=/sys/fs/bpf/rwbench-$RW_RUN
bench_require "$RATEWALL $XDP_GEN $BASELINE_OBJ" \
	"jq nsenter taskset ethtool nft iptables-legacy ip6tables-legacy bpftool nstat" "$GEN" "$GW"

# --- testbed ----------------------------------------------------------------

ns_create "$GEN"
ns_create "$GW" v6
veth_pair "$GEN" gen0 "$GW" gw0
ip -n "$GW" addr add "$GW_ADDR4/32" dev gw0
ip -n "$GW" addr add "$GW_ADDR6/128" dev gw0 nodad
# No routes back to the sources: the gateway's stack takes each packet up
# to UDP (NoPorts) and its ICMP error finds no route, so no reply traffic
# and no neighbour resolution for 1M addresses.
in_ns "$GW" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.gw0.rp_filter=0
# GRO keeps the veth's NAPI alive without an XDP program, so every mode
# has the same receive kthread; threaded NAPI makes its cost measurable.
ip netns exec "$GW" ethtool -K gw0 gro on >/dev/null
ip netns exec "$GW" sh -c 'echo 1 > /sys/class/net/gw0/threaded'
GW_MAC=$(mac_of "$GW" gw0)

mkdir -p "$PIN_DIR"
at_exit "rm -rf '$PIN_DIR'"
bpftool prog loadall "$BASELINE_OBJ" "$PIN_DIR" type xdp
at_exit "in_ns '$GW' bpftool net detach xdpdrv dev gw0"
at_exit "in_ns '$GW' nft delete table netdev rwbench"
at_exit "in_ns '$GW' iptables-legacy -t raw -F PREROUTING; in_ns '$GW' ip6tables-legacy -t raw -F PREROUTING"
at_exit "rw_force_detach '$GW' gw0 ''"

napi_pid() {
	local pid
	pid=$(ps -eo pid=,comm= | awk '$2 ~ /^napi\/gw0-/ { print $1 }')
	[ "$(wc -w <<<"$pid")" -eq 1 ] || die "expected one napi/gw0 kthread, found: '$pid'"
	printf '%s' "$pid"
}

# --- modes --------------------------------------------------------------------

nft_rules() {
	cat <<EOF
table netdev rwbench {
	set src4 { type ipv4_addr; size 2097152; flags dynamic,timeout; timeout 60s; }
	set src6 { type ipv6_addr; size 2097152; flags dynamic,timeout; timeout 60s; }
	chain ingress {
		type filter hook ingress device "gw0" priority -500; policy accept;
		meta protocol ip update @src4 { ip saddr limit rate over $LIMIT_RATE/second burst $LIMIT_BURST packets } counter drop
		meta protocol ip6 update @src6 { ip6 saddr and ffff:ffff:ffff:ffff:: limit rate over $LIMIT_RATE/second burst $LIMIT_BURST packets } counter drop
	}
}
EOF
}

hashlimit_args() {
	local fam=$1 mask=32
	[ "$fam" = 6 ] && mask=64
	printf '%s ' -i gw0 -m hashlimit --hashlimit-mode srcip --hashlimit-srcmask "$mask" \
		--hashlimit-above "$LIMIT_RATE/sec" --hashlimit-burst "$LIMIT_BURST" \
		--hashlimit-name "rwb$fam" --hashlimit-htable-size 1048576 \
		--hashlimit-htable-max 2097152 --hashlimit-htable-expire 60000 -j DROP
}

mode_on() {
	case $1 in
	none) ;;
	xdp_drop) in_ns "$GW" bpftool net attach xdpdrv pinned "$PIN_DIR/baseline_drop" dev gw0 ;;
	xdp_read) in_ns "$GW" bpftool net attach xdpdrv pinned "$PIN_DIR/baseline_read_drop" dev gw0 ;;
	ratewall_over)
		# new-rate open: this measures sources that are known and over
		# their limit (the new-source path is measured by prog_run_cost).
		rw "$GW" link attach dev gw0 rate "$LIMIT_RATE/s" burst "$LIMIT_BURST" entries "$ENTRIES" \
			new-rate 100000000/s new-burst 10000000 >/dev/null ;;
	ratewall_under)
		rw "$GW" link attach dev gw0 rate 100000000/s burst 10000000 entries "$ENTRIES" \
			new-rate 100000000/s new-burst 10000000 >/dev/null ;;
	ratewall_flood)
		# The default new-source budget (10000/s): the sources it has no
		# room for stay unknown, like a spoofed flood, and drop as src_new.
		rw "$GW" link attach dev gw0 rate "$LIMIT_RATE/s" burst "$LIMIT_BURST" entries "$ENTRIES" \
			>/dev/null ;;
	nft) nft_rules | in_ns "$GW" nft -f - ;;
	iptables)
		# shellcheck disable=SC2046
		in_ns "$GW" iptables-legacy -t raw -A PREROUTING $(hashlimit_args 4)
		# shellcheck disable=SC2046
		in_ns "$GW" ip6tables-legacy -t raw -A PREROUTING $(hashlimit_args 6) ;;
	*) die "unknown mode $1" ;;
	esac
}

mode_off() {
	case $1 in
	none) ;;
	xdp_drop | xdp_read) in_ns "$GW" bpftool net detach xdpdrv dev gw0 ;;
	ratewall_*) rw "$GW" link detach dev gw0 >/dev/null ;;
	nft) in_ns "$GW" nft delete table netdev rwbench ;;
	iptables)
		in_ns "$GW" iptables-legacy -t raw -F PREROUTING
		in_ns "$GW" ip6tables-legacy -t raw -F PREROUTING
		# hashlimit tables go with their last rule, asynchronously.
		sleep 0.2 ;;
	esac
}

# --- one trial ----------------------------------------------------------------


udp_noports() {
	in_ns "$GW" nstat -az UdpNoPorts Udp6NoPorts | awk '$1 ~ /NoPorts$/ { s += $2 } END { print s + 0 }'
}

snapshot() { # prints: offered xmit_err received delivered cpu_ns
	local pid=$1
	printf '%s %s %s %s %s\n' \
		"$(ethtool_sum "$GEN" gen0 '_xdp_xmit:$')" \
		"$(ethtool_sum "$GEN" gen0 '_xdp_xmit_errors:$')" \
		"$(ethtool_sum "$GW" gw0 '_xdp_packets:$')" \
		"$(udp_noports)" \
		"$(awk '{ print $1 }' "/proc/$pid/schedstat")"
}

dst_of() { [ "$1" = 6 ] && echo "$GW_ADDR6" || echo "$GW_ADDR4"; }

gen() { # FAMILY SOURCES PPS SECONDS
	in_ns "$GEN" "$XDP_GEN" dev gen0 dst-mac "$GW_MAC" family "$1" dst "$(dst_of "$1")" \
		sources "$2" pps "$3" duration "$4" port "$PORT"
}

# trial MODE FAMILY SOURCES PPS PHASE: one JSON line of counter deltas.
trial() {
	local mode=$1 fam=$2 src=$3 pps=$4 phase=$5 seconds=${6:-$MEASURE_S} pid warm a b g
	# The default map size, doubled where the sources would fill it.
	ENTRIES=1048576
	[ "$src" -le 524288 ] || ENTRIES=2097152
	mode_on "$mode"
	pid=$(napi_pid)
	taskset -p 2 "$pid" >/dev/null
	# Warm-up: every source seen several times, so limiters hold state
	# for all of them and every source is over its limit.
	warm=0.3
	case $mode in
	ratewall_* | nft | iptables)
		warm=$(awk -v s="$src" -v p="$pps" 'BEGIN { w = 3 * s / p; if (w < 0.3) w = 0.3; if (w > 8) w = 8; printf "%.2f", w }') ;;
	esac
	gen "$fam" "$src" "$pps" "$warm" >/dev/null
	sleep 0.05
	read -r -a a <<<"$(snapshot "$pid")"
	g=$(gen "$fam" "$src" "$pps" "$seconds")
	sleep 0.05
	read -r -a b <<<"$(snapshot "$pid")"
	mode_off "$mode"
	jq -cn --arg mode "$mode" --argjson fam "$fam" --argjson src "$src" --argjson pps "$pps" \
		--arg phase "$phase" --argjson g "$g" \
		--argjson offered $((b[0] - a[0])) --argjson xmit_err $((b[1] - a[1])) \
		--argjson received $((b[2] - a[2])) --argjson delivered $((b[3] - a[3])) \
		--argjson cpu_ns $((b[4] - a[4])) \
		'{mode: $mode, family: $fam, sources: $src, target_pps: $pps, phase: $phase,
		  gen_sent: $g.sent, elapsed_ns: $g.elapsed_ns, offered: $offered,
		  ring_full: $xmit_err, received: $received, delivered: $delivered,
		  dropped: ($received - $delivered), cpu_ns: $cpu_ns,
		  per_cpu_s: (if $cpu_ns > 0 then $received * 1e9 / $cpu_ns else 0 end),
		  load: (if $g.elapsed_ns > 0 then $cpu_ns / $g.elapsed_ns else 0 end)}'
}

# --- run ----------------------------------------------------------------------

mkdir -p "$(dirname "$OUT")"
: >"$OUT"
configs=()
for s in $SOURCES4; do configs+=("4:$s"); done
for s in $SOURCES6; do configs+=("6:$s"); done

declare -A pace equal
# Capacity: one trial flat out; the pace is PACE_PCT % of what the
# receiver took per CPU-second there, and of what the generator offered.
log "probing each mode's capacity (generator flat out)"
for c in "${configs[@]}"; do
	fam=${c%%:*} src=${c#*:}
	for m in $MODES; do
		line=$(trial "$m" "$fam" "$src" 20000000 probe)
		echo "$line" >>"$OUT"
		pace[$c:$m]=$(jq -r --argjson pct "$PACE_PCT" \
			'[.per_cpu_s, .gen_sent * 1e9 / .elapsed_ns] | min * $pct / 100 | floor' <<<"$line")
		log "IPv$fam $src sources $m: $(jq -r '"\(.per_cpu_s / 1e6 * 100 | floor / 100) Mpps per CPU-s flat out"' <<<"$line"); pacing at ${pace[$c:$m]} pps"
	done
	# Equal load: the XDP modes at one rate that all of them take, so their
	# cost per packet compares at the same batching.
	eq=""
	for m in $EQUAL_MODES; do
		[ -n "${pace[$c:$m]:-}" ] || continue
		if [ -z "$eq" ] || [ "${pace[$c:$m]}" -lt "$eq" ]; then eq=${pace[$c:$m]}; fi
	done
	[ -z "$eq" ] || equal[$c]=$((eq * 95 / 100))
done
for ((r = 1; r <= ROUNDS; r++)); do
	log "round $r of $ROUNDS"
	for c in "${configs[@]}"; do
		fam=${c%%:*} src=${c#*:}
		for m in $MODES; do
			trial "$m" "$fam" "$src" "${pace[$c:$m]}" "round$r" >>"$OUT"
		done
		for m in $EQUAL_MODES; do
			[ -n "${equal[$c]:-}" ] && [ -n "${pace[$c:$m]:-}" ] || continue
			trial "$m" "$fam" "$src" "${equal[$c]}" "equal$r" >>"$OUT"
		done
	done
done
log "results in $OUT"
exit 0
