#!/usr/bin/env bash
# Connection caps end to end: a real TCP server (tests/tools/tcp_server)
# runs in the gateway namespace inside a test cgroup, clients
# (tests/tools/tcp_clients) open and close connections step by step.
#
# - connections open before the attach are counted, and uncounted when
#   they close;
# - cap+5 connects from one source give exactly cap connections, and the
#   5 refused SYNs are counted as src_conn drops; closing k lets exactly k
#   new ones in (IPv4 and IPv6);
# - counts return to zero after a normal close, a reset, a client gone
#   silent (the server's keepalive times out), and the server process
#   being killed;
# - two sources share a class-wide cap (class_conn);
# - a policy that moves the port to another class recounts the open
#   connections there;
# - counts stay exact while four clients on both CPUs open, reset and
#   close hundreds of connections from two sources at once;
# - a full count table counts the sources it cannot hold as table_full;
# - bad cgroups and attach-time settings are refused and change nothing.
#
# Connects wait 500 ms, under TCP's first SYN retransmission (1 s), so
# every refused connect is exactly one dropped SYN.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env
TCP_SERVER=${TCP_SERVER:-$RW_ROOT/build/tests/tcp_server}
TCP_CLIENTS=${TCP_CLIENTS:-$RW_ROOT/build/tests/tcp_clients}
require_built "$TCP_SERVER" "$TCP_CLIENTS"

GW=$(ns_name gw)
CL=$(ns_name cl)
ns_create "$GW" v6
ns_create "$CL" v6
veth_pair "$GW" gw0 "$CL" cl0
ip -n "$GW" addr add 198.18.0.1/24 dev gw0
ip -n "$GW" addr add 2001:db8::1/64 dev gw0 nodad
for a in 198.18.0.2 198.18.0.3; do
	ip -n "$CL" addr add "$a/24" dev cl0
	neigh_static "$GW" gw0 "$a" "$(mac_of "$CL" cl0)"
done
ip -n "$CL" addr add 2001:db8::2/64 dev cl0 nodad
neigh_static "$GW" gw0 2001:db8::2 "$(mac_of "$CL" cl0)"
neigh_static "$CL" cl0 198.18.0.1 "$(mac_of "$GW" gw0)"
neigh_static "$CL" cl0 2001:db8::1 "$(mac_of "$GW" gw0)"

test_tmpdir

CG_ROOT=$(findmnt -n -t cgroup2 -o TARGET | head -n1)
[ -n "$CG_ROOT" ] || die "no cgroup2 mount"
CG="$CG_ROOT/rwt$RW_RUN-gateway"
mkdir "$CG"
# Removed after the server is gone (cleanups run newest first).
at_exit "(for t in 1 2 3 4 5 6 7 8 9 10; do rmdir '$CG' && break; sleep 0.2; done)"

# --- the server, in the test cgroup -----------------------------------------------

SERVER_PID=
server_start() {
	(
		echo "$BASHPID" >"$CG/cgroup.procs"
		exec nsenter --net="/run/netns/$GW" "$TCP_SERVER" -k 8080 9090 7070
	) >"$TMPD/server.out" 2>&1 &
	SERVER_PID=$!
	at_exit "kill $SERVER_PID; wait $SERVER_PID"
	wait_line "$TMPD/server.out" ready || die "tcp_server did not start: $(cat "$TMPD/server.out")"
}

# --- reading the counts back ------------------------------------------------

# open_in CLASS: open connections of a class, as status shows them.
open_in() {
	rw_get "$GW" gw0 ".connections.classes[] | select(.class == \"$1\") | .open"
}

# wait_open CLASS WANT: the server closes its side a moment after the
# client's FIN; waits up to 3 s for the count, then prints it.
wait_open() {
	local got
	for _ in $(seq 30); do
		got=$(open_in "$1")
		[ "$got" = "$2" ] && break
		sleep 0.1
	done
	printf '%s\n' "$got"
}

# The kernel's own view: established connections the server holds.
server_established() {
	in_ns "$GW" ss -Htn state established "( sport = :$1 )" | wc -l
}

drops() { rw_count "$GW" gw0 "$1" drop; }

# write_policy FILE TABLE CLASS...: the test's classes, in the order given
# (their ids follow it), in the test cgroup with a count table of TABLE.
write_policy() {
	local file=$1 table=$2 c
	shift 2
	{
		echo "classes:"
		for c in "$@"; do
			case $c in
			api) printf '  - name: api\n    ports: [tcp/8080]\n    source: { connections: 3 }\n' ;;
			pool) printf '  - name: pool\n    ports: [tcp/9090]\n    global: { connections: 4 }\n' ;;
			bulk) printf '  - name: bulk\n    ports: [tcp/7070]\n    source: { connections: 100000 }\n' ;;
			esac
		done
		printf 'connections:\n  cgroup: %s\n  table: %s\n' "$CG" "$table"
	} >"$file"
}
write_policy "$TMPD/policy.yaml" 1024 api pool bulk

# --- bad input first: nothing may be left attached -----------------------------

expect_fail --has "/nonexistent-cgroup" rw "$GW" link attach dev gw0 mode skb cgroup /nonexistent-cgroup
expect_fail --has "$TMPD" --has "cgroup2" rw "$GW" link attach dev gw0 mode skb cgroup "$TMPD"
expect_fail --has "conflicts" rw "$GW" link attach dev gw0 mode skb policy "$TMPD/policy.yaml" \
	cgroup "$CG_ROOT"
expect_eq "nothing attached after refused attaches" "$(rw_json "$GW" | jq '.attachments | length')" 0

server_start

# --- connections open before the attach ------------------------------------------

client_start pre -b 198.18.0.2 198.18.0.1 8080
expect_eq "before attach: connects succeed" "$(client pre open 2 2000)" "opened 2 of 2"
rw_attach "$GW" gw0 mode skb policy "$TMPD/policy.yaml" >"$TMPD/attach.out"
out=$(cat "$TMPD/attach.out")
log "$out"
expect_true "attach reports the 2 open connections" grep -q "(2 already open)" <<<"$out"
expect_eq "api open after attach" "$(open_in api)" 2
expect_eq "top source" "$(rw_get "$GW" gw0 '.connections.top_sources[0] | "\(.source) \(.class) \(.open)"')" \
	"198.18.0.2 api 2"
expect_eq "seeded event" "$(rw_get "$GW" gw0 '.connections.events.seeded')" 2
d0=$(drops src_conn)
expect_eq "one more fits under the cap of 3" "$(client pre open 3 500)" "opened 1 of 3"
expect_eq "src_conn drops: the 2 refused SYNs" $(($(drops src_conn) - d0)) 2
client_quit pre
expect_eq "api open after the pre-attach connections closed" "$(wait_open api 0)" 0
expect_eq "server holds none" "$(server_established 8080)" 0

# --- loopback never counts --------------------------------------------------------
# A health check from inside the gateway's own namespace never passes XDP,
# so it must not take a place under the cap (IPv4, mapped and native IPv6).

for dst in 127.0.0.1 ::1; do
	CLIENT_NS=$GW client_start "lo${dst//[:.]/}" "$dst" 8080
	expect_eq "$dst connects" "$(client "lo${dst//[:.]/}" open 2 2000)" "opened 2 of 2"
	expect_eq "the server holds them" "$(server_established 8080)" 2
	expect_eq "api open while $dst holds 2" "$(open_in api)" 0
	client_quit "lo${dst//[:.]/}"
done

# --- cap+5 from one source, IPv4 then IPv6 -----------------------------------------

cap_round() {
	local fam=$1 src=$2 dst=$3 key=$4 d0 d1
	client_start "c$fam" -b "$src" "$dst" 8080
	d0=$(drops src_conn)
	expect_eq "$fam: cap+5 connects" "$(client "c$fam" open 8 500)" "opened 3 of 8"
	d1=$(drops src_conn)
	expect_eq "$fam: the 5 refused SYNs counted as src_conn drops" $((d1 - d0)) 5
	expect_eq "$fam: api open" "$(open_in api)" 3
	expect_eq "$fam: top source" \
		"$(rw_get "$GW" gw0 '.connections.top_sources[0] | "\(.source) \(.open)"')" "$key 3"
	expect_eq "$fam: the server holds exactly the cap" "$(server_established 8080)" 3
	expect_eq "$fam: close 2" "$(client "c$fam" close 2)" "closed 2"
	expect_eq "$fam: api open after closing 2" "$(wait_open api 1)" 1
	expect_eq "$fam: exactly 2 new ones get in" "$(client "c$fam" open 4 500)" "opened 2 of 4"
	expect_eq "$fam: 2 more src_conn drops" $(($(drops src_conn) - d1)) 2
	expect_eq "$fam: reset 3" "$(client "c$fam" reset 3)" "reset 3"
	expect_eq "$fam: api open after resets" "$(wait_open api 0)" 0
	expect_eq "$fam: top sources after resets" "$(rw_get "$GW" gw0 '.connections.top_sources | length')" 0
	expect_eq "$fam: open after reset" "$(client "c$fam" open 3 500)" "opened 3 of 3"
	expect_eq "$fam: api open" "$(open_in api)" 3
	client_quit "c$fam"
	expect_eq "$fam: api open after a normal close" "$(wait_open api 0)" 0
}
cap_round v4 198.18.0.2 198.18.0.1 198.18.0.2
cap_round v6 2001:db8::2 2001:db8::1 2001:db8::/64

# --- the server killed with connections open ---------------------------------------

client_start killed -b 198.18.0.3 198.18.0.1 8080
expect_eq "open 3 before the kill" "$(client killed open 3 500)" "opened 3 of 3"
expect_eq "api open before the kill" "$(open_in api)" 3
kill -KILL "$SERVER_PID"
{ wait "$SERVER_PID" || true; } 2>/dev/null
expect_eq "api open after the server was killed" "$(wait_open api 0)" 0
client_quit killed
server_start

# --- a client gone silent: the server's keepalive times out -------------------------
# No FIN, no RST: the client's link goes down. The server (keepalive after
# 1 s, one probe) gives up on its own, and the count follows.

client_start silent -b 198.18.0.3 198.18.0.1 8080
expect_eq "open 2 before going silent" "$(client silent open 2 500)" "opened 2 of 2"
expect_eq "api open before going silent" "$(open_in api)" 2
ip -n "$CL" link set cl0 down
for _ in $(seq 80); do
	[ "$(open_in api)" = 0 ] && break
	sleep 0.1
done
expect_eq "api open after the server timed out" "$(open_in api)" 0
expect_eq "the server holds none" "$(server_established 8080)" 0
ip -n "$CL" link set cl0 up
client_quit silent

# --- two sources under one class-wide cap ---------------------------------------

client_start a -b 198.18.0.2 198.18.0.1 9090
client_start b -b 198.18.0.3 198.18.0.1 9090
d0=$(drops class_conn)
expect_eq "source a: 3 of 3" "$(client a open 3 500)" "opened 3 of 3"
expect_eq "source b: 1 of 3 (class cap 4)" "$(client b open 3 500)" "opened 1 of 3"
expect_eq "pool open" "$(open_in pool)" 4
expect_eq "class_conn drops" $(($(drops class_conn) - d0)) 2
expect_eq "source a closes 2" "$(client a close 2)" "closed 2"
expect_eq "pool open after a closed 2" "$(wait_open pool 2)" 2
expect_eq "source b: exactly 2 more get in" "$(client b open 3 500)" "opened 2 of 3"
expect_eq "class_conn drops after" $(($(drops class_conn) - d0)) 3
expect_eq "pool caps no source, so no source is in the table" \
	"$(rw_get "$GW" gw0 '.connections.sources')" 0

# --- a policy moving the port to another class recounts what is open ------------

# The same classes in another order: pool becomes class 1, api class 2.
write_policy "$TMPD/moved.yaml" 1024 pool api bulk
out=$(rw "$GW" policy apply dev gw0 "$TMPD/moved.yaml")
log "$out"
expect_true "apply reports the 4 recounted connections" grep -q "^gw0: 4 open connections" <<<"$out"
expect_eq "pool open after the apply" "$(open_in pool)" 4
expect_eq "moved event" "$(rw_get "$GW" gw0 '.connections.events.moved')" 4
expect_eq "source b still capped by the class" "$(client b open 1 500)" "opened 0 of 1"

# Settings fixed at attach are refused live, and nothing changes.
gen=$(rw_get "$GW" gw0 .policy.generation)
write_policy "$TMPD/table.yaml" 2048 api pool bulk
expect_fail --has "2048" --has "fixed at attach" rw "$GW" policy apply dev gw0 "$TMPD/table.yaml"
sed "s|cgroup: $CG|cgroup: $CG_ROOT|" "$TMPD/policy.yaml" >"$TMPD/cg.yaml"
expect_fail --has "$CG_ROOT" --has "fixed at attach" rw "$GW" policy apply dev gw0 "$TMPD/cg.yaml"
expect_eq "generation unchanged by refused applies" "$(rw_get "$GW" gw0 .policy.generation)" "$gen"

client_quit a
client_quit b
expect_eq "pool open after both quit" "$(wait_open pool 0)" 0
expect_eq "no source holds a count" "$(rw_get "$GW" gw0 '.connections.sources')" 0
expect_eq "nothing lost or dropped from the table" \
	"$(rw_get "$GW" gw0 '.connections.events | "\(.lost) \(.table_full)"')" "0 0"
log "events: $(rw_get "$GW" gw0 '.connections.events | tostring')"
text=$(rw "$GW" link show)
expect_true "status text has the connections table" grep -q "^  pool *0 *- *4$" <<<"$text"

# --- churn: exact under concurrency ------------------------------------------------
# Port 7070 is class bulk, whose per-source cap is far away: every connect
# gets in and both counts must follow every open, reset and close exactly.

for c in w x y z; do
	case $c in w | x) src=198.18.0.2 ;; *) src=198.18.0.3 ;; esac
	client_start "$c" -b "$src" 198.18.0.1 7070
done
# all4 COMMAND: sends it to the four clients at once, then reads the answers.
all4() {
	local c w r line
	for c in w x y z; do
		w="W_$c"
		printf '%s\n' "$*" >&"${!w}"
	done
	for c in w x y z; do
		r="R_$c"
		IFS= read -r -t 30 line <&"${!r}" || die "client $c gave no answer to '$*'"
		printf '%s\n' "$line"
	done
}
base_events=$(rw_get "$GW" gw0 '.connections.events.opened')
for round in 1 2 3; do
	got=$(all4 open 150 5000 | sort -u)
	expect_eq "round $round: every client opened all" "$got" "opened 150 of 150"
	expect_eq "round $round: bulk open = 4 x $((round * 50 + 100))" \
		"$(wait_open bulk $((4 * (round * 50 + 100))))" $((4 * (round * 50 + 100)))
	expect_eq "round $round: per source, 2 x $((round * 50 + 100)) each" \
		"$(rw_get "$GW" gw0 '[.connections.top_sources[] | select(.class == "bulk") | .open] | join(" ")')" \
		"$((2 * (round * 50 + 100))) $((2 * (round * 50 + 100)))"
	expect_eq "round $round: the server agrees" "$(server_established 7070)" \
		$((4 * (round * 50 + 100)))
	all4 reset 50 >/dev/null
	all4 close 50 >/dev/null
	expect_eq "round $round: bulk open after 100 each went" \
		"$(wait_open bulk $((4 * round * 50)))" $((4 * round * 50))
done
for c in w x y z; do client_quit "$c"; done
expect_eq "churn: bulk open after all quit" "$(wait_open bulk 0)" 0
expect_eq "churn: no source holds a count" "$(rw_get "$GW" gw0 '.connections.sources')" 0
expect_eq "churn: 1800 opened" $(($(rw_get "$GW" gw0 '.connections.events.opened') - base_events)) 1800
expect_eq "churn: nothing lost" "$(rw_get "$GW" gw0 '.connections.events.lost')" 0

# One source's count going 0 -> 1 -> 0 from two clients at once: its entry
# is deleted and made again all the time, racing between the CPUs.
base_closed=$(rw_get "$GW" gw0 '.connections.events.closed')
flip_pids=()
for c in 1 2; do
	for _ in $(seq 300); do printf 'open 1 2000\nreset 1\n'; done |
		in_ns "$CL" "$TCP_CLIENTS" -b 198.18.0.2 198.18.0.1 7070 >"$TMPD/flip$c.out" &
	flip_pids+=($!)
done
for p in "${flip_pids[@]}"; do wait "$p"; done
expect_eq "flip: every connect succeeded" "$(cat "$TMPD"/flip*.out | grep -c '^opened 1 of 1$')" 600
expect_eq "flip: bulk open" "$(wait_open bulk 0)" 0
expect_eq "flip: no source holds a count" "$(rw_get "$GW" gw0 '.connections.sources')" 0
expect_eq "flip: 600 closed" $(($(rw_get "$GW" gw0 '.connections.events.closed') - base_closed)) 600
expect_eq "flip: nothing lost" "$(rw_get "$GW" gw0 '.connections.events.lost')" 0

expect_true "detach" rw "$GW" link detach dev gw0

# --- a full table --------------------------------------------------------------------
# 66 sources, a table of 64: two cannot be counted, and say so.

write_policy "$TMPD/small.yaml" 64 api pool bulk
rw_attach "$GW" gw0 mode skb policy "$TMPD/small.yaml" >/dev/null
expect_eq "table size" "$(rw_get "$GW" gw0 '.connections.table_size')" 64
for i in $(seq 10 75); do
	ip -n "$CL" addr add "198.18.0.$i/24" dev cl0
	neigh_static "$GW" gw0 "198.18.0.$i" "$(mac_of "$CL" cl0)"
	client_start "t$i" -b "198.18.0.$i" 198.18.0.1 7070
	[ "$(client "t$i" open 1 2000)" = "opened 1 of 1" ] || fail "198.18.0.$i could not connect"
done
expect_eq "sources counted" "$(rw_get "$GW" gw0 '.connections.sources')" 64
expect_eq "table_full events" "$(rw_get "$GW" gw0 '.connections.events.table_full')" 2
expect_eq "the class counts all 66" "$(open_in bulk)" 66
# Room again: the next apply walks and counts the two that were left out.
for i in $(seq 10 14); do client_quit "t$i"; done
expect_eq "bulk open after 5 quit" "$(wait_open bulk 61)" 61
expect_eq "59 sources counted" "$(rw_get "$GW" gw0 '.connections.sources')" 59
rw "$GW" policy apply dev gw0 "$TMPD/small.yaml" >/dev/null || fail "apply small.yaml failed"
expect_eq "the apply counted the left-out two" "$(rw_get "$GW" gw0 '.connections.sources')" 61
for i in $(seq 15 75); do client_quit "t$i"; done
expect_eq "bulk open after they quit" "$(wait_open bulk 0)" 0
expect_eq "no source left in the table" "$(rw_get "$GW" gw0 '.connections.sources')" 0

# --- the cgroup removed (a service restart does that) -------------------------------

expect_eq "cgroup attached" "$(rw_get "$GW" gw0 '.connections.cgroup_attached')" true
kill "$SERVER_PID"
{ wait "$SERVER_PID" || true; } 2>/dev/null
rmdir "$CG"
# The kernel lets go of a removed cgroup's links a moment later.
for _ in $(seq 30); do
	[ "$(rw_get "$GW" gw0 '.connections.cgroup_attached')" = false ] && break
	sleep 0.1
done
expect_eq "cgroup no longer attached" "$(rw_get "$GW" gw0 '.connections.cgroup_attached')" false
expect_true "status warns that the cgroup was removed" \
	grep -q "WARNING: that cgroup was removed" <<<"$(rw "$GW" link show)"
expect_true "detach" rw "$GW" link detach dev gw0
finish
