#!/usr/bin/env bash
# bench/summarize_adaptive.sh OUT_DIR [MODE...] [ROUND]: the markdown report
# of bench/adaptive.sh from its raw files (see bench/README.md, "The
# adaptive benchmark"). Modes default to every mode with raw files in
# OUT_DIR. Without ROUND (a number, or rN) every figure is the median over
# the rounds, with (min-max) over them where it matters; with ROUND, that
# round's figures alone. Raw files are OUT_DIR/MODE.rK.*; the older layout
# without rounds (OUT_DIR/MODE.*) is read as a single round.
#
# Per mode and phase (load_gen's phase summaries: requests counted in the
# phase they arrived in, per second of the phase): goodput (2xx within the
# objective), p50/p95/p99 of the 2xx answers, refused, errors (5xx) and
# timeouts per second.
# Per mode:
#   react    from the capacity step (SIGUSR2) until the class's live rate
#            first drops below 90 % of its last value before the step; for
#            modes without a live rate, until the p95 of the per-second lines
#            returns under the objective for good (up to the restore): "0"
#            when it never went above, "never" when it was still above
#   recover  from the capacity's restore until the first second whose
#            goodput is within 10 % of the capacity (the smaller of the
#            nominal and the calibrated one)
#   osc      coefficient of variation of the live rate over the second half
#            of the 2x phase
set -euo pipefail
usage="usage: summarize_adaptive.sh OUT_DIR [MODE...] [ROUND]"
dir=${1:?$usage}
shift
[ -d "$dir" ] || { echo "$usage: $dir is not a directory" >&2; exit 2; }
modes=()
round=
for a in "$@"; do
	if [[ $a =~ ^r?([0-9]+)$ ]]; then round=${BASH_REMATCH[1]}; else modes+=("$a"); fi
done
if [ ${#modes[@]} -eq 0 ]; then
	declare -A seen=()
	for f in "$dir"/*.load.jsonl "$dir"/*.failed.json; do
		[ -e "$f" ] || continue
		b=$(basename "$f")
		b=${b%.load.jsonl}
		b=${b%.failed.json}
		[[ $b =~ ^(.+)\.r[0-9]+$ ]] && b=${BASH_REMATCH[1]}
		[ -n "${seen[$b]:-}" ] || { seen[$b]=1; modes+=("$b"); }
	done
fi

# rounds_of MODE: its round numbers, ascending; "-" for the layout without
# rounds (kept so that older result directories still summarize).
rounds_of() {
	local f k
	{
		for f in "$dir/$1".r*.load.jsonl "$dir/$1".r*.failed.json; do
			[ -e "$f" ] || continue
			k=${f#"$dir/$1".r}
			k=${k%%.*}
			[[ $k =~ ^[0-9]+$ ]] && echo "$k"
		done
		:
	} | sort -nu | grep . && return 0
	if [ -e "$dir/$1.load.jsonl" ] || [ -e "$dir/$1.failed.json" ]; then echo -; fi
	return 0
}
# prefix MODE K: where round K's files are, without the suffix.
prefix() { if [ "$2" = - ]; then echo "$dir/$1"; else echo "$dir/$1.r$2"; fi; }

measured=null
if [ -s "$dir/calibration.jsonl" ]; then
	measured=$(jq -s '[.[] | select(.calibration) | .capacity] | last' "$dir/calibration.jsonl")
fi

# round_metrics PREFIX: react, recover, oscillation and the live rates of
# one mode-run, as one JSON object (null where there is nothing to read).
round_metrics() {
	local samples=$1.samples.jsonl
	[ -s "$samples" ] || samples=/dev/null
	jq -n -c --argjson measured "$measured" \
		--slurpfile L "$1.load.jsonl" --slurpfile S "$samples" --slurpfile M "$1.marks.json" '
		$M[0] as $mk | $mk.step as $step | $mk.restore as $restore | $mk.objective_ms as $obj
		| ([$mk.cap, ($measured // $mk.cap)] | min) as $capref
		| [$L[] | select(.summary | not)] as $lines
		| ($lines[0].ts - $lines[0].t) as $t0
		| [$L[] | select(.summary)] as $ph
		| ($t0 + ([$ph[0:2][] | .seconds] | add)) as $p2_start
		| ($p2_start + $ph[2].seconds) as $p2_end
		| [$S[] | select(.live_rate != null)] as $live
		| (if ($live | length) > 0 then
			([$live[] | select(.ts < $step)] | last | .live_rate) as $pre
			| ([$live[] | select(.ts >= $step and .ts < $restore and .live_rate < 0.9 * $pre)] | first) as $hit
			| {react: (if $hit == null then null else $hit.ts - $step end), how: "live rate < 90 %", pre: $pre,
			   min_after: ([$live[] | select(.ts >= $step and .ts < $restore) | .live_rate] | min)}
		   else
			[$lines[] | select(.ts > $step and .ts <= $restore + 0.5)] as $w
			| ([$w | to_entries[] | select(.value.p95_ms == null or .value.p95_ms > $obj) | .key] | last) as $j
			| {react: (if ($w | length) == 0 then null elif $j == null then 0
				   elif $j == ($w | length) - 1 then null else $w[$j + 1].ts - $step end),
			   how: "p95 <= \($obj) ms", pre: null, min_after: null}
		   end) as $re
		| ([$lines[] | select(.ts > $restore and .good >= 0.9 * $capref)] | first) as $rec
		| ([$live[] | select(.ts >= ($p2_start + $p2_end) / 2 and .ts <= $p2_end) | .live_rate]) as $osc
		| (if ($osc | length) < 2 then null else
			($osc | add / length) as $mean
			| (($osc | map((. - $mean) * (. - $mean)) | add / length) | sqrt) as $sd
			| (if $mean > 0 then $sd / $mean else null end) end) as $cov
		| $re + {recover: (if $rec == null then null else $rec.ts - $restore end), cov: $cov}'
}

# Shared by both tables: the median (mean of the middle two for an even
# count), and "median (min-max)" when spreads are asked for and the rounds
# differ at the precision shown. fmt formats one number.
JQ_DEFS='
	def med: sort | length as $n
		| if $n == 0 then null elif $n % 2 == 1 then .[($n - 1) / 2]
		  else (.[$n / 2 - 1] + .[$n / 2]) / 2 end;
	def agg(fmt): if length == 0 then "-"
		elif $spread and (min | fmt) != (max | fmt) then "\(med | fmt) (\(min | fmt)–\(max | fmt))"
		else med | fmt end;
'

# Which rounds each mode contributes: the one asked for, or (for medians)
# every round that did not fail.
all_rounds=()
declare -A use=() notes=() whyfail=()
for m in "${modes[@]}"; do
	mapfile -t rs < <(rounds_of "$m")
	for k in "${rs[@]}"; do
		[[ " ${all_rounds[*]} " == *" $k "* ]] || all_rounds+=("$k")
		if [ -n "$round" ]; then
			# The layout without rounds is round 1.
			[ "$k" = "$round" ] || { [ "$k" = - ] && [ "$round" = 1 ]; } || continue
		fi
		p=$(prefix "$m" "$k")
		if [ -s "$p.failed.json" ]; then
			why=$(jq -r '.failed | gsub("\\s+"; " ") | sub(" $"; "")' "$p.failed.json")
			notes[$m]+="Mode $m$([ "$k" = - ] || echo ", round $k,") FAILED: $why"$'\n'
			[ -n "${whyfail[$m]:-}" ] || whyfail[$m]=$why
			# A run that failed midway still shows in its own round, not
			# in the medians.
			[ -n "$round" ] || continue
		fi
		[ -s "$p.load.jsonl" ] && [ -s "$p.marks.json" ] || continue
		use[$m]+="$p"$'\n'
	done
done
nrounds=$(printf '%s\n' "${all_rounds[@]}" | grep -c . || true)
spread=false
[ -n "$round" ] || [ "$nrounds" -le 1 ] || spread=true

if [ -n "$round" ]; then
	echo "## Adaptive benchmark, round $round of $nrounds"
else
	echo "## Adaptive benchmark"
fi
echo
first_marks=
for m in "${modes[@]}"; do
	[ -n "${use[$m]:-}" ] && { first_marks=$(head -n 1 <<<"${use[$m]}").marks.json; break; }
done
if [ -n "$first_marks" ]; then
	jq -r --argjson measured "$measured" '
		"Gateway capacity: nominal \(.cap)/s (workers x 1000 / service ms); " +
		(if $measured == null then "no calibration run" else
		 "calibrated \($measured * 10 | round / 10)/s (open loop at 2x, no limiter: the gateway\u0027s 200 answers per second once saturated)" end) +
		". Objective: p95 under \(.objective_ms) ms; `good` = 2xx within it. Phases of \(.phase_s) s, " +
		"the 4x step phase \(.step_phase_s) s (capacity halved \(.step - .t0 | . * 10 | round / 10) s after the start of the run), " +
		"recovery at 1x \(.recover_s) s (capacity restored as it begins)."' "$first_marks"
	echo
fi
if [ -n "$round" ]; then
	echo "Round $round alone; without a round, \`summarize_adaptive.sh\` reports the medians over the rounds."
	echo
elif [ "$nrounds" -gt 1 ]; then
	echo "Each figure is the median over $nrounds rounds (every mode once per round, the modes interleaved, each run on a fresh gateway); good/s, p95, react, recover and oscillation also give (min–max) over the rounds, unless every round gave the same. A mode with fewer rounds says how many; \`summarize_adaptive.sh OUT_DIR [MODE...] K\` prints round K alone."
	echo
fi

table1=
table2=
for m in "${modes[@]}"; do
	if [ -z "${use[$m]:-}" ]; then
		[ -z "${whyfail[$m]:-}" ] || table1+="| $m | failed: $(tr '|' '/' <<<"${whyfail[$m]}") | | | | | | | | |"$'\n'
		continue
	fi
	mapfile -t ps < <(grep . <<<"${use[$m]}")
	label=$m
	[ -n "$round" ] || [ "${#ps[@]}" -ge "$nrounds" ] || label="$m (${#ps[@]} of $nrounds rounds)"
	# One array of phase summaries per round, then one row per phase.
	R=$(for p in "${ps[@]}"; do jq -c -s '[.[] | select(.summary)]' "$p.load.jsonl"; done | jq -c -s .)
	table1+=$(jq -n -r --arg mode "$label" --argjson spread "$spread" --argjson R "$R" \
		--slurpfile marks "${ps[0]}.marks.json" "$JQ_DEFS"'
		def f: if . >= 100 then round | tostring else . * 10 | round / 10 | tostring end;
		# Input: one phase summary per round.
		def col(k): [.[] | .[k] | select(. != null)];
		def one(k): col(k) | if length == 0 then "-" else med | f end;
		($marks[0].cap) as $cap | ($R[0] | length) as $n
		| range(0; $n) as $i | [$R[] | .[$i] | select(. != null)] as $rs
		| ((($rs[0].rate / $cap) * 100 | round / 100 | tostring) + "x"
		  + (if $i == $n - 2 then ", capacity / 2 at +\($marks[0].step - $marks[0].t0 - ($marks[0].phase_s * 4) | round) s"
		     elif $i == $n - 1 then ", recovery" else "" end)) as $lbl
		| $rs | "| \($mode) | \($lbl) | \(one("offered")) | \(col("good") | agg(f)) | \(one("p50_ms")) | \(col("p95_ms") | agg(f)) | \(one("p99_ms")) | \(one("refused")) | \(one("errors")) | \(one("timeouts")) |"
	')$'\n'
	X=$(for p in "${ps[@]}"; do round_metrics "$p"; done | jq -c -s .)
	# null react or recover is "never": it sorts last, and a median that
	# lands on it is "never" too.
	table2+=$(jq -n -r --arg mode "$label" --argjson spread "$spread" --argjson X "$X" "$JQ_DEFS"'
		def s1: if isinfinite then "never" else . * 10 | round / 10 | tostring end;
		def s2: . * 100 | round / 100 | tostring;
		def never(k): [$X[] | .[k] | if . == null then infinite else . end];
		def some(k): [$X[] | .[k] | select(. != null)];
		"| \($mode) | \(never("react") | agg(s1)) | \($X[0].how) | \(never("recover") | agg(s1)) | \(some("cov") | agg(s2)) | \(some("pre") | if length == 0 then "-" else med | s2 end) | \(some("min_after") | if length == 0 then "-" else med | s2 end) |"
	')$'\n'
done

echo "| mode | phase | offered/s | good/s | p50 ms | p95 ms | p99 ms | refused/s | errors/s | timeouts/s |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s' "$table1"
echo
echo "| mode | react s | react by | recover s | oscillation (CoV of live rate, 2x) | live rate before step /s | min live rate after step /s |"
echo "|---|---:|---|---:|---:|---:|---:|"
printf '%s' "$table2"
echo
echo "react and recover have the resolution of what they read: 1 s for per-second lines, 250 ms for live-rate samples."
echo "Recovery needs goodput of $(if [ "$measured" = null ]; then echo "90 % of the nominal capacity"; else echo "90 % of min(nominal, calibrated)"; fi) per second."
if [ "$spread" = true ]; then
	echo "Latency medians are over the rounds with 2xx answers in the phase; the live rates are medians."
fi
for m in "${modes[@]}"; do
	printf '%s' "${notes[$m]:-}"
done
exit 0
