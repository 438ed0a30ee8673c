#!/usr/bin/env bash
# Bash completion, man page and help text: `_ratewall` completes global
# options, objects, commands, keywords, fixed values, interfaces, files and
# the live policy's class and tenant names (from a stand-in `ratewall`);
# and every object, command, keyword and option that `ratewall help` and
# `ratewall OBJECT help` print appears in completion/ratewall.bash and in
# man/ratewall.8, so that the three cannot drift apart. No network, no
# namespace, no root needed.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

COMPLETION=${RW_COMPLETION:-$RW_ROOT/completion/ratewall.bash}
MANPAGE=${RW_MANPAGE:-$RW_ROOT/man/ratewall.8}
[ -x "$RATEWALL" ] || die "$RATEWALL is not built (make build/ratewall)"
[ -r "$COMPLETION" ] || die "$COMPLETION is missing"
[ -r "$MANPAGE" ] || die "$MANPAGE is missing"
TMP=$(mktemp -d)
at_exit "rm -rf '$TMP'"

# shellcheck source=completion/ratewall.bash
. "$COMPLETION"
expect_eq "the completion is registered for ratewall" "$(complete -p ratewall)" \
	"complete -F _ratewall ratewall"

# A stand-in for the live queries: `ratewall -j [-d IFACE] OBJECT show`
# answers like an attachment of the example policy would; with STUB_FAIL
# set it fails like ratewall does with nothing attached. (A function
# shadows any ratewall in PATH, so the test never reads a real attachment.)
STUB_FAIL=
STUB_LOG=$TMP/stub.log
# shellcheck disable=SC2317 # called by the completion, not here
ratewall() {
	printf '%s\n' "$*" >>"$STUB_LOG"
	if [ -n "$STUB_FAIL" ]; then
		echo "ratewall: nothing attached in this network namespace" >&2
		return 1
	fi
	case "$*" in
	*"class show")
		echo '{"dev":"v0","classes":[{"id":0,"name":"default","ports":[]},{"id":1,"name":"interactive","ports":["tcp\/443","udp\/443"]},{"id":2,"name":"ci_ingest","ports":["tcp\/8443"]}]}' ;;
	*"tenant show")
		echo '{"dev":"v0","tenants":[{"id":1,"name":"ci-fleet","cidrs":["198.18.10.0\/24","2001:db8:10::\/48"],"classes":{"ci_ingest":{"packets":null}}},{"id":2,"name":"chat-connectors","cidrs":["198.18.20.0\/24"],"classes":{}}]}' ;;
	*"allow show") echo '{"dev":"v0","allow":["198.18.0.10\/32","2001:db8::10\/128"]}' ;;
	*"deny show") echo '{"dev":"v0","deny":["198.19.255.0\/24"]}' ;;
	*) return 1 ;;
	esac
}

# comp WORD...: what _ratewall offers for the command line WORD... (the
# last WORD is the one being completed), sorted, on one line.
comp() {
	local COMP_WORDS=("$@") COMP_CWORD=$(($# - 1))
	unset COMP_LINE COMP_POINT
	COMPREPLY=()
	_ratewall || fail "_ratewall returned non-zero for: $*"
	printf '%s\n' ${COMPREPLY[@]+"${COMPREPLY[@]}"} | sort | tr '\n' ' ' | sed 's/ *$//'
}

# comp_line LINE WORD...: the same with COMP_LINE as bash sets it, and the
# words split at COMP_WORDBREAKS (':') as bash splits them.
comp_line() {
	local COMP_LINE=$1 COMP_POINT=${#1}
	shift
	local COMP_WORDS=("$@") COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_ratewall || fail "_ratewall returned non-zero for: $COMP_LINE"
	printf '%s\n' ${COMPREPLY[@]+"${COMPREPLY[@]}"} | sort | tr '\n' ' ' | sed 's/ *$//'
}

# has LIST WORD...: every WORD is one of the space-separated LIST.
has() {
	local list=" $1 " w
	shift
	for w; do
		[[ $list == *" $w "* ]] || return 1
	done
}

# --- the grammar -------------------------------------------------------------
expect_eq "ratewall cl<TAB>" "$(comp ratewall cl)" "class client"
expect_eq "ratewall <TAB>" "$(comp ratewall '')" \
	"allow class client daemon deny help link policy quota stats tenant version"
expect_eq "ratewall class <TAB>" "$(comp ratewall class '')" "help set show"
expect_eq "ratewall cla <TAB> (a prefix)" "$(comp ratewall cla '')" "help set show"
expect_eq "ratewall link <TAB>" "$(comp ratewall link '')" "attach detach help set show"
expect_eq "ratewall policy <TAB>" "$(comp ratewall policy '')" "apply check help show"
expect_eq "ratewall class set web mo<TAB>" "$(comp ratewall class set web mo)" "mode"
expect_eq "ratewall class set web mode <TAB>" "$(comp ratewall class set web mode '')" \
	"enforce observe shed"
expect_eq "ratewall link set shed <TAB>" "$(comp ratewall link set shed '')" "off on"
expect_eq "ratewall link set sh <TAB> (a prefix)" "$(comp ratewall link set sh '')" "off on"
expect_eq "ratewall link set malformed <TAB>" "$(comp ratewall link set malformed '')" "drop pass"
expect_eq "ratewall client top by <TAB>" "$(comp ratewall client top by '')" \
	"conns drops packets"
expect_eq "ratewall link attach dev lo mode <TAB>" "$(comp ratewall link attach dev lo mode '')" \
	"native skb"
out=$(comp ratewall -)
expect_true "ratewall -<TAB> offers -j: $out" has "$out" -j --json -p --pretty -d --dev -h --help \
	-V --version
expect_eq "ratewall --j<TAB>" "$(comp ratewall --j)" "--json"
expect_eq "options anywhere: ratewall -j link set -p shed <TAB>" \
	"$(comp ratewall -j link set -p shed '')" "off on"
expect_eq "nothing after ratewall help" "$(comp ratewall help '')" ""
expect_eq "nothing after an ambiguous object" "$(comp ratewall cl '')" ""

out=$(comp ratewall link attach dev lo '')
expect_true "link attach keywords: $out" has "$out" mode policy rate burst prefix4 prefix6 \
	entries malformed new-rate new-burst cgroup
expect_false "link attach does not offer dev twice: $out" has "$out" dev
out=$(comp ratewall link attach dev lo policy x.yaml '')
expect_false "policy excludes rate and burst: $out" has "$out" rate
out=$(comp ratewall link attach dev lo rate 50/s '')
expect_false "rate excludes policy: $out" has "$out" policy
expect_eq "ratewall link set <TAB>" "$(comp ratewall link set '')" \
	"dev malformed new-burst new-rate shed"
out=$(comp ratewall class set web global '')
expect_true "class set keywords after global: $out" has "$out" source global rate burst \
	syn-rate syn-burst conn-cap mode
expect_eq "class set web rate n<TAB>" "$(comp ratewall class set web rate n)" "none"
expect_eq "class set web rate <TAB> (a free value)" "$(comp ratewall class set web rate '')" ""
expect_eq "client explain ADDR <TAB>" "$(comp ratewall client explain 198.18.0.10 '')" \
	"dev port syn tcp udp"
expect_eq "client explain ADDR udp <TAB>" "$(comp ratewall client explain 198.18.0.10 udp '')" \
	"dev port"
expect_eq "stats watch <TAB>" "$(comp ratewall stats watch '')" "count dev interval"
expect_eq "tenant del <TAB> (stand-in failing)" "$(STUB_FAIL=1 comp ratewall tenant del '')" "dev name"

# daemon: no COMMAND, its keywords follow the object (or `help`).
daemon_kws="detach-on-exit dev events instance-id metrics mode policy"
expect_eq "ratewall daemon <TAB>" "$(comp ratewall daemon '')" \
	"detach-on-exit dev events help instance-id metrics mode policy"
expect_eq "ratewall dae <TAB> (a prefix)" "$(comp ratewall dae '')" \
	"detach-on-exit dev events help instance-id metrics mode policy"
expect_eq "ratewall daemon de<TAB>" "$(comp ratewall daemon de)" "detach-on-exit dev"
expect_eq "nothing after ratewall daemon help" "$(comp ratewall daemon help '')" ""
expect_eq "ratewall daemon mode <TAB>" "$(comp ratewall daemon mode '')" "native skb"
expect_eq "ratewall daemon mo <TAB> (a prefix)" "$(comp ratewall daemon mo '')" "native skb"
expect_eq "ratewall daemon metrics <TAB> (an address is free text)" \
	"$(comp ratewall daemon metrics '')" "none"
expect_eq "ratewall daemon metrics 1<TAB>" "$(comp ratewall daemon metrics 1)" ""
expect_eq "ratewall daemon instance-id <TAB> (free text)" "$(comp ratewall daemon instance-id '')" ""
expect_eq "ratewall daemon dev lo instance-id gw-1 <TAB>" \
	"$(comp ratewall daemon dev lo instance-id gw-1 '')" "detach-on-exit events metrics mode policy"
# Every keyword once: each given, it is no longer offered, the others are.
for kv in "dev lo" "policy p.yaml" "mode skb" "metrics none" "events -" "instance-id gw-1" \
	"detach-on-exit"; do
	read -ra given <<<"$kv"
	want=$(tr ' ' '\n' <<<"$daemon_kws" | grep -vx "${given[0]}" | tr '\n' ' ' | sed 's/ *$//')
	expect_eq "ratewall daemon $kv <TAB> offers the other keywords" \
		"$(comp ratewall daemon "${given[@]}" '')" "$want"
done
expect_eq "keywords by prefix: ratewall daemon ev - mo skb <TAB>" \
	"$(comp ratewall daemon ev - mo skb '')" "detach-on-exit dev instance-id metrics policy"
expect_eq "all but detach-on-exit given" \
	"$(comp ratewall daemon dev lo policy p.yaml mode skb metrics 127.0.0.1:9464 events - \
		instance-id gw-1 '')" "detach-on-exit"
expect_eq "all given: nothing left" \
	"$(comp ratewall daemon detach-on-exit dev lo policy p.yaml mode skb metrics none events - \
		instance-id gw-1 '')" ""
out=$(comp ratewall daemon detach-on-exit '')
expect_false "detach-on-exit is not offered again: $out" has "$out" detach-on-exit
out=$(comp ratewall daemon det '')
expect_false "nor after its prefix: $out" has "$out" detach-on-exit
expect_eq "detach-on-exit takes no value" "$out" "dev events instance-id metrics mode policy"
expect_eq "options anywhere: ratewall -j daemon -d lo mode <TAB>" \
	"$(comp ratewall -j daemon -d lo mode '')" "native skb"
out=$(comp ratewall daemon -)
expect_true "ratewall daemon -<TAB> offers options: $out" has "$out" -j --json -d --dev
expect_eq "daemon metrics [::1]:9464 <TAB> (one word for ratewall)" \
	"$(comp_line "ratewall daemon metrics [::1]:9464 " \
		ratewall daemon metrics '[' :: '1]' : 9464 '')" \
	"detach-on-exit dev events instance-id mode policy"

# --- interfaces and files ------------------------------------------------------
out=$(comp ratewall link attach dev '')
expect_true "link attach dev <TAB> lists /sys/class/net: $out" has "$out" lo
out=$(comp ratewall -d '')
expect_true "-d <TAB> lists interfaces: $out" has "$out" lo
expect_eq "link detach dev l<TAB>" "$(comp ratewall link detach dev lo)" "lo"
mkdir "$TMP/pol"
: >"$TMP/pol/gateway.yaml"
: >"$TMP/pol/other.yaml"
expect_eq "policy check FILE" "$(comp ratewall policy check "$TMP/pol/ga")" "$TMP/pol/gateway.yaml"
expect_eq "policy check takes one FILE" "$(comp ratewall policy check "$TMP/pol/gateway.yaml" '')" ""
expect_eq "policy apply FILE" "$(comp ratewall policy apply "$TMP/pol/o")" "$TMP/pol/other.yaml"
expect_eq "link attach ... policy FILE" \
	"$(comp ratewall link attach dev lo policy "$TMP/pol/g")" "$TMP/pol/gateway.yaml"
out=$(comp ratewall daemon dev '')
expect_true "daemon dev <TAB> lists /sys/class/net: $out" has "$out" lo
expect_eq "daemon policy FILE" "$(comp ratewall daemon policy "$TMP/pol/ga")" "$TMP/pol/gateway.yaml"
expect_eq "daemon events FILE" "$(comp ratewall daemon events "$TMP/pol/o")" "$TMP/pol/other.yaml"
# In a directory of known files: events offers them, `-` and `none`.
expect_eq "daemon events <TAB>" "$(cd "$TMP/pol" && comp ratewall daemon events '')" \
	"- gateway.yaml none other.yaml"
expect_eq "daemon events n<TAB>" "$(cd "$TMP/pol" && comp ratewall daemon events n)" "none"
expect_eq "daemon events -<TAB> (a lone - is a word, not an option)" \
	"$(cd "$TMP/pol" && comp ratewall daemon events -)" "-"
expect_eq "daemon events - <TAB>" "$(comp ratewall daemon events - '')" \
	"detach-on-exit dev instance-id metrics mode policy"

# --- live names ----------------------------------------------------------------
: >"$STUB_LOG"
expect_eq "class show <TAB>" "$(comp ratewall class show '')" "ci_ingest default dev interactive"
expect_eq "class set <TAB>" "$(comp ratewall class set '')" "ci_ingest default dev interactive"
expect_eq "class set i<TAB>" "$(comp ratewall class set i)" "interactive"
expect_eq "class set dev v0 <TAB>" "$(comp ratewall class set dev v0 '')" \
	"ci_ingest default interactive"
expect_eq "tenant show <TAB>" "$(comp ratewall tenant show '')" "chat-connectors ci-fleet dev"
expect_eq "tenant del name <TAB>" "$(comp ratewall tenant del name '')" "chat-connectors ci-fleet"
expect_eq "tenant del name ci<TAB>" "$(comp ratewall tenant del name ci)" "ci-fleet"
expect_eq "tenant add CIDR name x in <TAB>" \
	"$(comp ratewall tenant add 198.18.64.0/24 name x in '')" "ci_ingest default interactive"
expect_eq "allow del <TAB>" "$(comp ratewall allow del '')" "198.18.0.10/32 2001:db8::10/128 dev"
expect_eq "deny del <TAB>" "$(comp ratewall deny del '')" "198.19.255.0/24 dev"
expect_eq "-d v0 is passed to the live query" "$(comp ratewall -d v0 class show int)" "interactive"
expect_true "the queries were -j OBJECT show" grep -qx -- "-j class show" "$STUB_LOG"
expect_true "with -d IFACE when one was given" grep -qx -- "-j -d v0 class show" "$STUB_LOG"
expect_eq "class show <TAB> when ratewall fails" "$(STUB_FAIL=1 comp ratewall class show '')" "dev"
expect_eq "tenant del name <TAB> when ratewall fails" \
	"$(STUB_FAIL=1 comp ratewall tenant del name '')" ""

# IPv6 prefixes: bash splits words at ':'; they are one word for ratewall.
expect_eq "tenant add 2001:db8::/48 name x <TAB>" \
	"$(comp_line "ratewall tenant add 2001:db8::/48 name x " \
		ratewall tenant add 2001 : db8 :: /48 name x '')" \
	"burst dev in rate syn-burst syn-rate"
expect_eq "allow del 2001:db8::1<TAB> (replaces after the last ':')" \
	"$(comp_line "ratewall allow del 2001:db8::1" ratewall allow del 2001 : db8 :: 1)" "10/128"

# --- help text, completion and man page agree ----------------------------------
# words FILE: the distinct words of FILE (roff escapes removed), options
# (-j, --json) included.
words() {
	sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\~/ /g' -e 's/\\(..//g' "$1" |
		grep -oE -- '(--?)?[A-Za-z][A-Za-z0-9_-]*' | sort -u
}
words "$COMPLETION" >"$TMP/completion.words"
words "$MANPAGE" >"$TMP/man.words"
# The man page as one line of plain words, to look for "OBJECT COMMAND".
man_text=" $(sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\~/ /g' -e 's/^\.[A-Z]* *//' "$MANPAGE" |
	tr -s ' \n\t' '   ') "

# check WHAT WORD: WORD appears in the completion script and the man page.
check() {
	local what=$1 w=$2
	if ! grep -qxF -- "$w" "$TMP/completion.words"; then
		fail "$what '$w' (from the help text) is missing in completion/ratewall.bash"
	fi
	if ! grep -qxF -- "$w" "$TMP/man.words"; then
		fail "$what '$w' (from the help text) is missing in man/ratewall.8"
	fi
	checked=$((checked + 1))
}
checked=0

help=$("$RATEWALL" help) || fail "ratewall help failed"
objects=()
declare -A obj_cmds=()
block=
while IFS= read -r line; do
	case $line in
	"Objects and their commands:") block=objects; continue ;;
	"Options:") block=options; continue ;;
	esac
	# "  link    attach | detach | ...", or "  daemon  [dev IFACE] ..." for an
	# object without commands, whose keywords follow it.
	if [ "$block" = objects ] && [[ $line =~ ^\ +([a-z]+)\ +([a-z-]+( \| [a-z-]+)*|\[) ]]; then
		objects+=("${BASH_REMATCH[1]}")
		listed=${BASH_REMATCH[2]}
		[ "$listed" = "[" ] && listed=
		obj_cmds[${BASH_REMATCH[1]}]=${listed//|/}
	elif [ "$block" = options ] && [[ $line =~ ^\ +(-[A-Za-z]),\ (--[a-z-]+) ]]; then
		check option "${BASH_REMATCH[1]}"
		check option "${BASH_REMATCH[2]}"
		out=$(comp ratewall -)
		has "$out" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" ||
			fail "ratewall -<TAB> lacks ${BASH_REMATCH[1]} or ${BASH_REMATCH[2]}: $out"
	fi
done <<<"$help"
[ ${#objects[@]} -ge 9 ] || fail "parsed only ${#objects[@]} objects from 'ratewall help'"
# `ratewall help | version`
for w in help version; do
	grep -q "ratewall.*\b$w\b" <<<"$help" && check object "$w"
done
all_objects=$(comp ratewall '')

for obj in "${objects[@]}"; do
	check object "$obj"
	grep -qx "\.SH ${obj^^}" "$MANPAGE" || fail "man/ratewall.8 has no section '.SH ${obj^^}'"
	has "$all_objects" "$obj" || fail "ratewall <TAB> lacks the object $obj: $all_objects"
	offered=$(comp ratewall "$obj" '')
	ohelp=$("$RATEWALL" "$obj" help) || fail "ratewall $obj help failed"
	# The usage block: "Usage: ratewall ..." and the lines indented under it.
	usage=$(awk 'NR == 1 && /^Usage: / { print; next }
		     NR > 1 && /^       / { print; next }
		     { exit }' <<<"$ohelp")
	[ -n "$usage" ] || fail "no usage block in 'ratewall $obj help'"
	# Commands named by the usage lines must be the ones 'ratewall help' lists
	# ("ratewall OBJECT help" is no command; an object without commands has
	# usage lines "ratewall OBJECT [KEYWORD ...]", which name none).
	usage_cmds=$(grep -vE "^(Usage:)? *ratewall $obj help\$" <<<"$usage" |
		sed -n 's/^\(Usage:\)\{0,1\} *ratewall \(\[-j|-p\] \)\{0,1\}'"$obj"' \([a-z-]*\).*/\3/p' |
		sort -u | tr '\n' ' ' | sed 's/ *$//')
	expect_eq "commands of $obj: ratewall help and ratewall $obj help agree" "$usage_cmds" \
		"$(tr ' ' '\n' <<<"${obj_cmds[$obj]}" | grep . | sort -u | tr '\n' ' ' | sed 's/ *$//')"
	for cmd in ${obj_cmds[$obj]}; do
		check "command of $obj" "$cmd"
		[[ $man_text == *" $obj $cmd "* ]] ||
			fail "man/ratewall.8 never says '$obj $cmd'"
		has "$offered" "$cmd" || fail "ratewall $obj <TAB> lacks $cmd: $offered"
	done
	# Keywords and fixed values: the lower-case words of the usage lines.
	for w in $(sed -e 's/^Usage://' -e 's/[][{}|]/ /g' <<<"$usage" | tr -s ' ' '\n' |
		grep -E '^[a-z][a-z0-9-]*$' | sort -u); do
		[ "$w" = ratewall ] && continue
		check "keyword of $obj" "$w"
	done
done
ok "$checked words of the help text checked against the completion and the man page"

finish
