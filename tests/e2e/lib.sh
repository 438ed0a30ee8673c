# shellcheck shell=bash
# Shared helpers for the end-to-end tests. Source it first thing:
#   . "$(dirname "$0")/lib.sh"
#
# Everything a test creates (namespaces, veth pairs, ratewall attachments)
# is registered here and removed by an EXIT trap, also when the test fails
# or is interrupted. Links are created directly inside their namespaces so
# that no test interface ever exists in the host namespace, and names carry
# the PID so that parallel or leftover runs cannot collide.

set -euo pipefail

RW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RATEWALL=${RATEWALL:-$RW_ROOT/build/ratewall}
UDP_BURST=${UDP_BURST:-$RW_ROOT/build/tests/udp_burst}
UDP_SINK=${UDP_SINK:-$RW_ROOT/build/tests/udp_sink}
TEST_NAME=$(basename "$0" .sh)
RW_RUN=$$

_failures=0
_cleanups=()

log() { printf '%s: %s\n' "$TEST_NAME" "$*"; }
ok() { printf '%s: ok: %s\n' "$TEST_NAME" "$*"; }
fail() {
	printf '%s: FAIL: %s\n' "$TEST_NAME" "$*" >&2
	_failures=$((_failures + 1))
}
# Fatal: for broken set-up, where later checks would only add noise.
die() {
	printf '%s: FAIL: %s\n' "$TEST_NAME" "$*" >&2
	exit 1
}

# Ends the test: exit status tells the runner.
finish() {
	if [ "$_failures" -ne 0 ]; then
		printf '%s: %d check(s) failed\n' "$TEST_NAME" "$_failures" >&2
		exit 1
	fi
	printf '%s: PASS\n' "$TEST_NAME"
	exit 0
}

# Registers a shell command (one string) to run at exit, newest first.
at_exit() { _cleanups+=("$1"); }

_cleanup() {
	local rc=$? i
	set +e
	trap - ERR
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cleanups[i]}" >/dev/null 2>&1
	done
	exit "$rc"
}
trap _cleanup EXIT
# The EXIT trap runs on these too once they turn into an exit.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'printf "%s: FAIL: command failed at line %s: %s\n" "$TEST_NAME" "$LINENO" "$BASH_COMMAND" >&2' ERR

require_env() {
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	local f
	for f in "$RATEWALL" "$UDP_BURST" "$UDP_SINK"; do
		[ -x "$f" ] || die "$f is not built (make build/ratewall build/tests/udp_burst build/tests/udp_sink)"
	done
	require_cmds jq nsenter
}

# require_cmds CMD...: each command must be on PATH.
require_cmds() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || die "$c is missing (make deps)"
	done
}

# require_built FILE...: each program must be built.
require_built() {
	local f
	for f in "$@"; do
		[ -x "$f" ] || die "$f is not built (make $f)"
	done
}

# test_tmpdir: TMPD, a directory of the test's own, removed on exit.
test_tmpdir() {
	TMPD=$(mktemp -d)
	at_exit "rm -rf '$TMPD'"
}

# --- namespaces and links ---------------------------------------------------

# Unique name for this run: ns_name gw -> rwt1234-gw
ns_name() { printf 'rwt%s-%s' "$RW_RUN" "$1"; }

# in_ns NS CMD...: runs CMD in NS's network namespace only. Unlike
# `ip netns exec` this keeps the host's /sys, so /sys/fs/bpf is the real
# bpffs and ratewall's pins outlive the command.
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# ns_create NS [v6]: a namespace with lo up. IPv6 is disabled unless "v6"
# is given, so that router solicitations and MLD reports cannot pollute
# counters that must be exact; the sysctls go in before any link exists so
# that new links inherit them.
ns_create() {
	local ns=$1 v6=${2:-}
	ip netns add "$ns"
	at_exit "ip netns del '$ns'"
	if [ "$v6" = v6 ]; then
		# Keep IPv6 but cut the chatter a new link would start: no
		# router solicitations, no link-local address (so no DAD for
		# it). MLD reports remain; tests must not count on silence.
		in_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 \
			net.ipv6.conf.default.accept_ra=0 \
			net.ipv6.conf.all.router_solicitations=0 \
			net.ipv6.conf.default.router_solicitations=0 \
			net.ipv6.conf.default.addr_gen_mode=1
	else
		in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	fi
	ip -n "$ns" link set lo up
}

# veth_pair NS1 IF1 NS2 IF2: a veth pair whose ends are created directly
# in their namespaces (never in the host's) and brought up.
veth_pair() {
	local ns1=$1 if1=$2 ns2=$3 if2=$4
	ip link add name "$if1" netns "$ns1" type veth peer name "$if2" netns "$ns2"
	ip -n "$ns1" link set "$if1" up
	ip -n "$ns2" link set "$if2" up
}

# gateway_and_client GW CL [N]: the usual testbed. Namespaces GW and CL
# joined by a veth pair gw0 (198.18.N.1/24) -- cl0 (198.18.N.2/24; N is 0
# unless given, several pairs side by side take 1, 2, ...), IPv4 only, with
# static neighbours: no ARP, so the only frames on the wire are the test's
# own (and the gateway's replies, which XDP on gw0 does not see).
gateway_and_client() {
	local gw=$1 cl=$2 net=198.18.${3:-0}
	ns_create "$gw"
	ns_create "$cl"
	veth_pair "$gw" gw0 "$cl" cl0
	ip -n "$gw" addr add "$net.1/24" dev gw0
	ip -n "$cl" addr add "$net.2/24" dev cl0
	neigh_static "$gw" gw0 "$net.2" "$(mac_of "$cl" cl0)"
	neigh_static "$cl" cl0 "$net.1" "$(mac_of "$gw" gw0)"
}

# daemon_testbed: the usual testbed (GW, CL: gateway_and_client), TMPD,
# and M, where the daemon's metrics listen on the gateway's loopback.
daemon_testbed() {
	GW=$(ns_name gw)
	CL=$(ns_name cl)
	gateway_and_client "$GW" "$CL"
	test_tmpdir
	M=127.0.0.1:9464
}

# link_stat NS IF rx|tx FIELD: an interface counter, e.g. tx packets.
link_stat() {
	ip -n "$1" -j -s link show dev "$2" | jq -r ".[0].stats64.$3.$4"
}

mac_of() { ip -n "$1" -j link show dev "$2" | jq -r '.[0].address'; }

# neigh_static NS IF ADDR MAC: no ARP/ND exchange then, so the only IP
# packets on the wire are the ones a test sends.
neigh_static() { ip -n "$1" neigh replace "$3" lladdr "$4" dev "$2" nud permanent; }

# link_xdp_prog NS IF: the XDP program id `ip link` reports, empty if none.
link_xdp_prog() {
	ip -n "$1" -d link show dev "$2" | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -n1
}

# ip_in_receives NS: Ip InReceives from the namespace's /proc/net/snmp
# (the file follows the reader's network namespace).
ip_in_receives() {
	in_ns "$1" cat /proc/net/snmp | awk '
		$1 == "Ip:" && !seen { for (i = 2; i <= NF; i++) col[$i] = i; seen = 1; next }
		$1 == "Ip:" && seen { print $col["InReceives"]; exit }'
}

# --- ratewall -----------------------------------------------------------------

# rw NS ARGS...: ratewall in NS's network namespace.
rw() {
	local ns=$1
	shift
	in_ns "$ns" "$RATEWALL" "$@"
}

# rw_attach NS DEV ARGS...: `link attach dev DEV ARGS...`; registers the
# detach (plus a forced removal of the pins, should detach itself be broken).
rw_attach() {
	local ns=$1 dev=$2 pin
	shift 2
	at_exit "rw_force_detach '$ns' '$dev' ''"
	rw "$ns" link attach dev "$dev" "$@" || return 1
	pin=$(rw_pin_dir "$ns" "$dev")
	[ -n "$pin" ] && at_exit "rw_force_detach '$ns' '$dev' '$pin'"
	return 0
}

rw_force_detach() {
	local ns=$1 dev=$2 pin=$3
	[ -e "/run/netns/$ns" ] && rw "$ns" link detach dev "$dev"
	[ -n "$pin" ] || return 0
	[ -e "$pin" ] && rm -rf -- "$pin"
	# The netns:COOKIE parent is this namespace's alone; it may be left
	# empty even when the pins went some other way.
	case $(basename "$(dirname "$pin")") in
	netns:*) rmdir -- "$(dirname "$pin")" 2>/dev/null ;;
	esac
	return 0
}

# rw_json NS [dev DEV]: `link show` as JSON.
rw_json() {
	local ns=$1
	shift
	rw "$ns" -j link show "$@"
}

# rw_get NS DEV JQ_EXPR: one field of DEV's attachment, e.g. '.rate'.
rw_get() {
	rw_json "$1" | jq -r --arg d "$2" ".attachments[] | select(.dev == \$d) | $3"
}

rw_pin_dir() { rw_get "$1" "$2" '.pin_dir'; }

# rw_count NS DEV REASON [VERDICT]: packets counted for a reason (and
# verdict), 0 when absent (link show lists nonzero counters only).
rw_count() {
	local ns=$1 dev=$2 reason=$3 verdict=${4:-}
	rw_json "$ns" | jq -r --arg d "$dev" --arg r "$reason" --arg v "$verdict" '
		[.attachments[] | select(.dev == $d) | .counters[]
		 | select(.reason == $r and ($v == "" or .verdict == $v)) | .packets]
		| add // 0'
}

# rw_settle NS DEV WANT: waits (at most ~3 s) until the IPv4/IPv6 verdicts
# (everything but non_ip) add up to at least WANT. Datagrams are counted
# when the XDP program runs, which can trail the sender by a softirq.
rw_settle() {
	local ns=$1 dev=$2 want=$3 i got=0
	for ((i = 0; i < 30; i++)); do
		got=$(rw_json "$ns" | jq -r --arg d "$dev" '
			[.attachments[] | select(.dev == $d) | .counters[]
			 | select(.reason != "non_ip") | .packets] | add // 0')
		[ "$got" -ge "$want" ] && return 0
		sleep 0.1
	done
	return 0
}

# --- the daemon ----------------------------------------------------------------

# rw_daemon NS LOG ARGS...: `ratewall daemon ARGS...` in NS, in the
# background, its stderr appended to LOG. Sets RW_DAEMON_PID (nsenter
# execs ratewall, so that is the daemon's own PID) and registers a stop.
rw_daemon() {
	local ns=$1 log=$2
	shift 2
	nsenter --net="/run/netns/$ns" "$RATEWALL" daemon "$@" 2>>"$log" &
	RW_DAEMON_PID=$!
	at_exit "kill $RW_DAEMON_PID; wait $RW_DAEMON_PID"
}

# redis_run NS DIR [ARGS...]: a redis-server of Debian's, in namespace NS
# ("" for this one), on the unix socket DIR/redis.sock (and TCP only if
# ARGS ask: later options win), logging to DIR/redis.log. REDIS_PID is
# the server itself, the caller's to stop. Dies when it does not answer
# PING within 5 s.
redis_run() {
	local ns=$1 dir=$2 i
	shift 2
	local cmd=(redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 --save ''
		--appendonly no --dir "$dir" --daemonize no --loglevel warning "$@")
	if [ -n "$ns" ]; then
		nsenter --net="/run/netns/$ns" "${cmd[@]}" >>"$dir/redis.log" 2>&1 &
	else
		"${cmd[@]}" >>"$dir/redis.log" 2>&1 &
	fi
	REDIS_PID=$!
	for ((i = 0; i < 50; i++)); do
		[ "$(timeout 5 redis-cli -s "$dir/redis.sock" PING 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	kill "$REDIS_PID" 2>/dev/null
	die "redis-server did not start: $(cat "$dir/redis.log")"
}

# rw_quota NS DEV BUCKET JQ: a field (JQ, like .mode) of one shared bucket
# in `ratewall -j quota show` of DEV in NS.
rw_quota() {
	rw "$1" -j quota show dev "$2" |
		jq -r --arg b "$3" ".buckets[] | select(.bucket == \$b) | $4"
}

# rw_daemon_stop PID: SIGTERM, then its exit status in RW_DAEMON_RC (124
# when it had not stopped after ~5 s). Not in $(...): wait needs the parent.
rw_daemon_stop() {
	local pid=$1 i
	RW_DAEMON_RC=0
	kill -TERM "$pid"
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		RW_DAEMON_RC=124
		return 0
	fi
	wait "$pid" || RW_DAEMON_RC=$?
}

# http_get NS URL: the body of a GET from inside NS (loopback there).
http_get() { in_ns "$1" curl -sS --max-time 5 "$2"; }

# wait_healthy NS ADDR:PORT: until /healthz answers ok (at most 5 s).
wait_healthy() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(in_ns "$1" curl -s --max-time 1 "http://$2/healthz" 2>/dev/null)" = ok ] && return 0
		sleep 0.1
	done
	return 1
}

# metric TEXT_FILE SERIES: the value of one series of an exposition
# (the name with its labels, as printed), 0 when absent.
metric() {
	awk -v s="$2" '$1 == s { v = $2 } END { print v == "" ? 0 : v }' "$1"
}

# --- traffic ----------------------------------------------------------------

# --- TCP clients, driven line by line through FIFOs -------------------------
# (tests/tools/tcp_clients; the caller sets TCP_CLIENTS, TMPD and CL)

# client_start NAME ARGS...: tcp_clients in the client namespace (or in
# $CLIENT_NS when set).
client_start() {
	local name=$1 w r pid
	shift
	mkfifo "$TMPD/$name.in" "$TMPD/$name.out"
	in_ns "${CLIENT_NS:-$CL}" "$TCP_CLIENTS" "$@" <"$TMPD/$name.in" >"$TMPD/$name.out" \
		2>>"$TMPD/clients.err" &
	pid=$!
	at_exit "kill $pid"
	exec {w}>"$TMPD/$name.in"
	exec {r}<"$TMPD/$name.out"
	printf -v "W_$name" %s "$w"
	printf -v "R_$name" %s "$r"
	printf -v "PID_$name" %s "$pid"
}

# client NAME COMMAND...: one command; prints its one-line answer.
client() {
	local name=$1 w r line
	shift
	w="W_$name" r="R_$name"
	printf '%s\n' "$*" >&"${!w}"
	IFS= read -r -t 15 line <&"${!r}" || die "client $name gave no answer to '$*'"
	printf '%s\n' "$line"
}

client_quit() {
	local name=$1 w r p
	w="W_$name" r="R_$name" p="PID_$name"
	printf 'quit\n' >&"${!w}"
	wait "${!p}" || true
	exec {w}>&- {r}<&-
}


# burst NS ARGS...: udp_burst in NS; prints its JSON line.
burst() {
	local ns=$1
	shift
	in_ns "$ns" "$UDP_BURST" "$@"
}

# wait_line FILE REGEX: waits (at most 5 s) until a line of FILE matches
# REGEX (grep -x), as a started server's "ready" line; fails otherwise.
wait_line() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep -qx -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- assertions ---------------------------------------------------------------

expect_eq() {
	local what=$1 got=$2 want=$3
	if [ "$got" = "$want" ]; then
		ok "$what = $got"
	else
		fail "$what: got '$got', want '$want'"
	fi
}

expect_ne() {
	local what=$1 got=$2 unwanted=$3
	if [ "$got" != "$unwanted" ]; then
		ok "$what = $got (not $unwanted)"
	else
		fail "$what: got '$got', which it must not be"
	fi
}

# expect_range WHAT GOT LO HI (integers; LO may be negative)
expect_range() {
	local what=$1 got=$2 lo=$3 hi=$4
	if [[ "$got" =~ ^-?[0-9]+$ ]] && [ "$got" -ge "$lo" ] && [ "$got" -le "$hi" ]; then
		ok "$what = $got in [$lo, $hi]"
	else
		fail "$what: got '$got', want [$lo, $hi]"
	fi
}

# expect_true WHAT CMD...: CMD must succeed.
expect_true() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what (command: $*)"; fi
}

# expect_false WHAT CMD...: CMD must fail.
expect_false() {
	local what=$1
	shift
	if "$@"; then fail "$what (command succeeded: $*)"; else ok "$what"; fi
}

# expect_fail [--has TEXT]... CMD...: CMD must exit non-zero and print
# exactly one line on stderr, starting "ratewall: " and containing each
# TEXT (case-insensitive). The line is kept in $LAST_ERR.
LAST_ERR=
expect_fail() {
	local has=() rc=0 out err nlines t bad=
	while [ "${1:-}" = --has ]; do
		has+=("$2")
		shift 2
	done
	out=$(mktemp)
	err=$(mktemp)
	"$@" >"$out" 2>"$err" || rc=$?
	LAST_ERR=$(cat "$err")
	nlines=$(wc -l <"$err")
	rm -f "$out" "$err"
	if [ "$rc" -eq 0 ]; then
		fail "expected failure, exit 0: $*"
		return 0
	fi
	if [ "$nlines" -ne 1 ] || [[ "$LAST_ERR" != "ratewall: "* ]]; then
		fail "want one 'ratewall: ' line on stderr from: $* -- got $nlines line(s): $LAST_ERR"
		return 0
	fi
	for t in ${has[@]+"${has[@]}"}; do
		if ! grep -qiF -- "$t" <<<"$LAST_ERR"; then
			bad="$bad '$t'"
		fi
	done
	if [ -n "$bad" ]; then
		fail "error line lacks$bad: $LAST_ERR (from: $*)"
	else
		ok "refused (rc $rc): $LAST_ERR"
	fi
}

# json_get JSON JQ_EXPR
json_get() { jq -r "$2" <<<"$1"; }
