# shellcheck shell=bash
# SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#
# Bash completion for ratewall(8): `ratewall [OPTIONS] OBJECT { COMMAND | help }`,
# and `ratewall daemon [KEYWORD VALUE]...`, whose keywords follow the object.
# Install as /usr/share/bash-completion/completions/ratewall, or source it.
# Self-contained: it does not need the bash-completion package.
#
# Completes global options, objects, commands, keywords and fixed values;
# interface names from /sys/class/net; class, tenant and list entries of
# the live policy, read with `ratewall -j ... show` when that works
# (silently nothing otherwise, e.g. without root); policy files.
# Words already typed are understood as ratewall understands them: by
# exact name or unique prefix, global options anywhere.

_ratewall_objects=(link class tenant allow deny client stats policy quota daemon help version)
_ratewall_options=(-j --json -p --pretty -d --dev -h --help -V --version)

# _ratewall_match WORD CANDIDATE...: sets _rw_m to the candidate WORD names,
# exactly or as its unique prefix (ratewall's rule); empty when none or ambiguous.
_ratewall_match() {
	local word=$1 c found=
	shift
	_rw_m=
	[ -n "$word" ] || return 1
	for c in "$@"; do
		if [ "$c" = "$word" ]; then
			_rw_m=$c
			return 0
		fi
	done
	for c in "$@"; do
		if [[ $c == "$word"* ]]; then
			[ -n "$found" ] && return 1
			found=$c
		fi
	done
	_rw_m=$found
	[ -n "$found" ]
}

# _ratewall_add WORD...: the WORDs that start with $cur.
_ratewall_add() {
	local w
	for w in "$@"; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$w")
	done
	return 0
}

_ratewall_ifaces() {
	local d names=()
	for d in /sys/class/net/*; do
		[ -e "$d" ] && names+=("${d##*/}")
	done
	_ratewall_add "${names[@]}"
}

_ratewall_files() {
	local f
	compopt -o filenames 2>/dev/null || :
	while IFS= read -r f; do
		COMPREPLY+=("$f")
	done < <(compgen -f -- "$cur")
}

_ratewall_dirs() {
	local f
	compopt -o filenames 2>/dev/null || :
	while IFS= read -r f; do
		COMPREPLY+=("$f")
	done < <(compgen -d -- "$cur")
}

# _ratewall_query ARGS...: `ratewall -j ARGS` (for the interface chosen on
# the line, if any) on stdout; nothing when it fails.
_ratewall_query() {
	local rw=$_rw_cmd
	local args=(-j)
	[ -n "$_rw_dev" ] && args+=(-d "$_rw_dev")
	case $(type -t "$rw") in
	file)
		if command -v timeout >/dev/null 2>&1; then
			timeout 3 "$rw" "${args[@]}" "$@" 2>/dev/null
		else
			"$rw" "${args[@]}" "$@" 2>/dev/null
		fi
		;;
	function | builtin) "$rw" "${args[@]}" "$@" 2>/dev/null ;;
	*) return 1 ;;
	esac
}

# Class and tenant names of the live policy: every "name" of
# `class show` / `tenant show` is one (names are [a-z0-9_-] only).
_ratewall_live_names() {
	local json names=() n
	json=$(_ratewall_query "$1" show) || return 0
	while IFS= read -r n; do
		n=${n#\"name\":\"}
		names+=("${n%\"}")
	done < <(grep -o '"name":"[a-z0-9_-]*"' <<<"$json")
	_ratewall_add "${names[@]}"
}

# The prefixes of the live allow or deny list.
_ratewall_live_list() {
	local json list items=() c
	json=$(_ratewall_query "$1" show) || return 0
	list=$(grep -o "\"$1\":\\[[^]]*\\]" <<<"$json") || return 0
	list=${list#*\[}
	list=${list%]}
	list=${list//\\\//\/}
	list=${list//\"/}
	IFS=, read -ra items <<<"$list"
	for c in "${items[@]}"; do
		[ -n "$c" ] && _ratewall_add "$c"
	done
}

# _ratewall_value TYPE: completes the value of a keyword.
#   iface, file, dir, class, tenant, live:allow, live:deny (the list's
#   prefixes), list:a,b,c, file+list:a,b (files and those words),
#   none (a number or `none`), anything else: a free value, nothing to offer.
_ratewall_value() {
	case $1 in
	iface) _ratewall_ifaces ;;
	file) _ratewall_files ;;
	dir) _ratewall_dirs ;;
	class) _ratewall_live_names class ;;
	tenant) _ratewall_live_names tenant ;;
	live:*) _ratewall_live_list "${1#live:}" ;;
	file+list:*)
		_ratewall_files
		_ratewall_value "${1#file+}"
		;;
	list:*)
		local vals
		IFS=, read -ra vals <<<"${1#list:}"
		_ratewall_add "${vals[@]}"
		;;
	none) [ -n "$cur" ] && _ratewall_add none ;;
	esac
	return 0
}

# Rebuilds the words up to the cursor into _rw_words/_rw_cword. Bash splits
# COMP_WORDS at the characters of COMP_WORDBREAKS, ':' among them, which
# IPv6 prefixes hold; pieces not separated by white space in COMP_LINE are
# one word for ratewall.
_ratewall_reassemble() {
	local line=${COMP_LINE-} pos=0 i n=-1 w rest lead
	_rw_words=()
	_rw_cword=0
	_rw_glued=0
	if [ -z "$line" ]; then
		_rw_words=("${COMP_WORDS[@]:0:COMP_CWORD+1}")
		_rw_cword=$COMP_CWORD
		return
	fi
	for ((i = 0; i <= COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		rest=${line:pos}
		lead=${rest%%[![:space:]]*}
		rest=${rest:${#lead}}
		if [[ $rest != "$w"* ]]; then
			# Not the line we expected (quoting): take the words as they are.
			_rw_words=("${COMP_WORDS[@]:0:COMP_CWORD+1}")
			_rw_cword=$COMP_CWORD
			_rw_glued=0
			return
		fi
		if ((n >= 0)) && [ -z "$lead" ]; then
			_rw_words[n]+=$w
			((i == COMP_CWORD)) && _rw_glued=1
		else
			n=$((n + 1))
			_rw_words[n]=$w
		fi
		pos=$((pos + ${#lead} + ${#w}))
	done
	_rw_cword=$n
}

# _ratewall_keywords SPEC... : completion for a command made of keywords.
# Each SPEC is NAME=TYPE (TYPE empty: a flag without value; see
# _ratewall_value for the others); a leading '+' marks a keyword that may
# be given again. Positional words (not keywords) go to the function named
# by $_rw_pos_fn, called as FN WORD (while scanning) and FN (at the cursor,
# to offer candidates); it may veto keywords through _rw_exclude.
_ratewall_keywords() {
	local -A type=() again=()
	local names=() spec name i w expect='' offer=() k
	local -A used=()
	for spec in "$@"; do
		name=${spec%%=*}
		if [[ $name == +* ]]; then
			name=${name#+}
			again[$name]=1
		fi
		names+=("$name")
		type[$name]=${spec#*=}
	done
	for ((i = 0; i < ${#_rw_args[@]}; i++)); do
		w=${_rw_args[i]}
		if [ -n "$expect" ]; then
			[ "$expect" = dev ] && _rw_dev=$w
			expect=
			continue
		fi
		if _ratewall_match "$w" "${names[@]}"; then
			used[$_rw_m]=1
			[ -n "${type[$_rw_m]}" ] && expect=$_rw_m
		elif [ -n "${_rw_pos_fn-}" ]; then
			"$_rw_pos_fn" "$w"
		fi
	done
	if [ -n "$expect" ]; then
		_ratewall_value "${type[$expect]}"
		return
	fi
	_rw_exclude=" "
	[ -n "${_rw_pos_fn-}" ] && "$_rw_pos_fn"
	for k in "${!used[@]}"; do
		[ -n "${again[$k]-}" ] || _rw_exclude+="$k "
	done
	[ -n "${_rw_veto_fn-}" ] && "$_rw_veto_fn" "${!used[@]}"
	for k in "${names[@]}"; do
		[[ $_rw_exclude == *" $k "* ]] || offer+=("$k")
	done
	_ratewall_add "${offer[@]}"
}

# --- positional words and exclusions of each command ---------------------

_ratewall_veto_attach() {
	local k
	for k; do
		case $k in
		policy) _rw_exclude+="rate burst " ;;
		rate | burst) _rw_exclude+="policy " ;;
		esac
	done
}

_ratewall_veto_explain() {
	local k
	for k; do
		case $k in
		udp) _rw_exclude+="tcp syn " ;;
		tcp | syn) _rw_exclude+="udp " ;;
		esac
	done
}

# One optional NAME (class show, tenant show).
_ratewall_pos_name() {
	if [ $# -eq 1 ]; then
		_rw_pos_seen=1
	elif [ -z "${_rw_pos_seen-}" ]; then
		_ratewall_value "$_rw_pos_type"
	fi
}

# One required word that is not completed (CIDR, ADDR) or, with
# _rw_pos_type, completed from that type (policy files, list entries).
_ratewall_pos_one() {
	if [ $# -eq 1 ]; then
		_rw_pos_seen=1
	elif [ -z "${_rw_pos_seen-}" ] && [ -n "${_rw_pos_type-}" ]; then
		_ratewall_value "$_rw_pos_type"
	fi
}

# tenant del: a CIDR or `name NAME`, not both.
_ratewall_pos_tenant_del() {
	if [ $# -eq 1 ]; then
		_rw_pos_seen=1
	elif [ -n "${_rw_pos_seen-}" ]; then
		_rw_exclude+="name "
	fi
}

_ratewall_veto_tenant_del() {
	local k
	for k; do
		[ "$k" = name ] && _rw_exclude+="name "
	done
	return 0
}

# class set [dev IFACE] NAME keywords...: NAME comes first (after an
# optional `dev IFACE`, spelled out), whatever it spells.
_ratewall_class_set() {
	local rest=("${_rw_args[@]}")
	if [ "${rest[0]-}" = dev ]; then
		if [ ${#rest[@]} -eq 1 ]; then
			_ratewall_ifaces
			return
		fi
		_rw_dev=${rest[1]}
		rest=("${rest[@]:2}")
	fi
	if [ ${#rest[@]} -eq 0 ]; then
		[ ${#_rw_args[@]} -eq 0 ] && _ratewall_add dev
		_ratewall_live_names class
		return
	fi
	_rw_args=("${rest[@]:1}")
	_ratewall_keywords dev=iface +source= +global= mode=list:enforce,observe,shed \
		+rate=none +burst=free +syn-rate=none +syn-burst=free +conn-cap=none
}

# --- the entry point ------------------------------------------------------

# The words after the global options ($rest), the last one $cur being
# completed: objects, commands, keywords and their values into COMPREPLY.
_ratewall_line() {
	local obj='' cmd=''
	if [ ${#rest[@]} -eq 0 ]; then
		_ratewall_add "${_ratewall_objects[@]}"
		return 0
	fi
	_ratewall_match "${rest[0]}" "${_ratewall_objects[@]}" || return 0
	obj=$_rw_m

	local cmds=()
	case $obj in
	link) cmds=(attach detach show set) ;;
	class) cmds=(show set) ;;
	tenant | allow | deny) cmds=(show add del) ;;
	client) cmds=(show explain top) ;;
	stats) cmds=(show watch) ;;
	policy) cmds=(check apply show) ;;
	quota) cmds=(show) ;;
	daemon)
		# no COMMAND: its keywords follow the object, or `help`
		_rw_args=("${rest[@]:1}")
		[ "${_rw_args[0]-}" = help ] && return 0
		[ ${#_rw_args[@]} -eq 0 ] && _ratewall_add help
		_ratewall_keywords dev=iface policy=file mode=list:native,skb \
			metrics=list:none events=file+list:-,none instance-id=free detach-on-exit=
		return 0
		;;
	*) return 0 ;; # help, version
	esac
	if [ ${#rest[@]} -eq 1 ]; then
		_ratewall_add "${cmds[@]}" help
		return 0
	fi
	_ratewall_match "${rest[1]}" "${cmds[@]}" || return 0
	cmd=$_rw_m
	_rw_args=("${rest[@]:2}")

	case $obj/$cmd in
	link/attach)
		_rw_veto_fn=_ratewall_veto_attach
		_ratewall_keywords dev=iface mode=list:native,skb policy=file rate=free \
			burst=free prefix4=free prefix6=free entries=free \
			malformed=list:pass,drop new-rate=free new-burst=free cgroup=dir
		;;
	link/detach | link/show | allow/show | deny/show | policy/show)
		_ratewall_keywords dev=iface
		;;
	link/set)
		_ratewall_keywords dev=iface malformed=list:pass,drop new-rate=free \
			new-burst=free shed=list:on,off
		;;
	class/show)
		_rw_pos_fn=_ratewall_pos_name _rw_pos_type=class
		_ratewall_keywords dev=iface
		;;
	class/set)
		_ratewall_class_set
		;;
	tenant/show)
		_rw_pos_fn=_ratewall_pos_name _rw_pos_type=tenant
		_ratewall_keywords dev=iface
		;;
	tenant/add)
		_rw_pos_fn=_ratewall_pos_one
		_ratewall_keywords dev=iface name=tenant +in=class +rate=none +burst=free \
			+syn-rate=none +syn-burst=free
		;;
	tenant/del)
		_rw_pos_fn=_ratewall_pos_tenant_del _rw_veto_fn=_ratewall_veto_tenant_del
		_ratewall_keywords dev=iface name=tenant
		;;
	allow/add | deny/add)
		_rw_pos_fn=_ratewall_pos_one
		_ratewall_keywords dev=iface
		;;
	allow/del | deny/del)
		_rw_pos_fn=_ratewall_pos_one _rw_pos_type=live:$obj
		_ratewall_keywords dev=iface
		;;
	client/show)
		_rw_pos_fn=_ratewall_pos_one
		_ratewall_keywords dev=iface
		;;
	client/explain)
		_rw_pos_fn=_ratewall_pos_one _rw_veto_fn=_ratewall_veto_explain
		_ratewall_keywords dev=iface port=free tcp= udp= syn=
		;;
	client/top)
		_ratewall_keywords dev=iface by=list:drops,conns,packets count=free
		;;
	stats/show)
		_ratewall_keywords dev=iface interval=free
		;;
	stats/watch)
		_ratewall_keywords dev=iface interval=free count=free
		;;
	quota/show)
		_ratewall_keywords dev=iface
		;;
	policy/check)
		# exactly one FILE, no keyword
		[ ${#_rw_args[@]} -eq 0 ] && _ratewall_files
		;;
	policy/apply)
		_rw_pos_fn=_ratewall_pos_one _rw_pos_type=file
		_ratewall_keywords dev=iface
		;;
	esac
}

_ratewall() {
	local cur i w prev_opt='' pre
	local _rw_words _rw_cword _rw_glued _rw_m _rw_exclude _rw_pos_seen=
	local _rw_args=() _rw_dev='' _rw_pos_fn='' _rw_veto_fn='' _rw_pos_type=''
	local _rw_cmd
	COMPREPLY=()
	_ratewall_reassemble
	cur=${_rw_words[_rw_cword]}
	_rw_cmd=${_rw_words[0]}

	# Global options may stand anywhere: take them out, keep the rest.
	local rest=()
	for ((i = 1; i < _rw_cword; i++)); do
		w=${_rw_words[i]}
		if [ -n "$prev_opt" ]; then
			_rw_dev=$w
			prev_opt=
			continue
		fi
		case $w in
		-d | --dev) prev_opt=1 ;;
		-[!0-9]*) ;;
		*) rest+=("$w") ;;
		esac
	done
	if [ -n "$prev_opt" ]; then
		_ratewall_ifaces
		return 0
	fi
	if [[ $cur == -* && $cur != -[0-9]* ]]; then
		# A lone `-` is a word, not an option (`daemon events -`): offered
		# where it fits; options where nothing does.
		[ "$cur" = - ] && _ratewall_line
		[ ${#COMPREPLY[@]} -gt 0 ] || _ratewall_add "${_ratewall_options[@]}"
		return 0
	fi
	_ratewall_line

	# A word bash split at ':' or '=' is replaced only after its last one.
	if ((_rw_glued)) && [[ $cur == *[:=]* ]]; then
		pre=${cur%"${cur##*[:=]}"}
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=${COMPREPLY[i]#"$pre"}
		done
	fi
	return 0
}

complete -F _ratewall ratewall
