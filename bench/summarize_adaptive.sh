#!/usr/bin/env bash
# bench/summarize_adaptive.sh OUT_DIR [MODE...]: the markdown report of
# bench/adaptive.sh from its raw files (see bench/README.md, "The adaptive
# benchmark"). Modes default to every MODE.load.jsonl in OUT_DIR.
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
dir=${1:?usage: summarize_adaptive.sh OUT_DIR [MODE...]}
shift
modes=("$@")
if [ ${#modes[@]} -eq 0 ]; then
	for f in "$dir"/*.load.jsonl; do
		[ -e "$f" ] || continue
		modes+=("$(basename "$f" .load.jsonl)")
	done
fi

measured=null
if [ -s "$dir/calibration.jsonl" ]; then
	measured=$(jq -s '[.[] | select(.calibration) | .capacity] | last' "$dir/calibration.jsonl")
fi

echo "## Adaptive benchmark"
echo
first_marks=
for m in "${modes[@]}"; do
	[ -s "$dir/$m.marks.json" ] && { first_marks=$dir/$m.marks.json; break; }
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

echo "| mode | phase | offered/s | good/s | p50 ms | p95 ms | p99 ms | refused/s | errors/s | timeouts/s |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for m in "${modes[@]}"; do
	if [ -s "$dir/$m.failed.json" ] && [ ! -s "$dir/$m.load.jsonl" ]; then
		echo "| $m | failed: $(jq -r .failed "$dir/$m.failed.json" | tr '|\n' '/ ') | | | | | | | | |"
		continue
	fi
	[ -s "$dir/$m.load.jsonl" ] || continue
	jq -s -r --arg mode "$m" --slurpfile marks "$dir/$m.marks.json" '
		def f(x): if x == null then "-" elif x >= 100 then (x | round | tostring)
			else (x * 10 | round / 10 | tostring) end;
		($marks[0].cap) as $cap
		| [.[] | select(.summary)] | length as $n | to_entries[] | .value as $p
		| ((($p.rate / $cap) * 100 | round / 100 | tostring) + "x"
		  + (if .key == $n - 2 then ", capacity / 2 at +\($marks[0].step - $marks[0].t0 - ($marks[0].phase_s * 4) | round) s"
		     elif .key == $n - 1 then ", recovery" else "" end)) as $lbl
		| "| \($mode) | \($lbl) | \(f($p.offered)) | \(f($p.good)) | \(f($p.p50_ms)) | \(f($p.p95_ms)) | \(f($p.p99_ms)) | \(f($p.refused)) | \(f($p.errors)) | \(f($p.timeouts)) |"
	' "$dir/$m.load.jsonl"
done
echo

echo "| mode | react s | react by | recover s | oscillation (CoV of live rate, 2x) | live rate before step /s | min live rate after step /s |"
echo "|---|---:|---|---:|---:|---:|---:|"
for m in "${modes[@]}"; do
	[ -s "$dir/$m.load.jsonl" ] && [ -s "$dir/$m.marks.json" ] || continue
	samples=$dir/$m.samples.jsonl
	[ -s "$samples" ] || samples=/dev/null
	jq -n -r --arg mode "$m" --argjson measured "$measured" \
		--slurpfile L "$dir/$m.load.jsonl" --slurpfile S "$samples" --slurpfile M "$dir/$m.marks.json" '
		def r1: if . == null then "never" else (. * 10 | round / 10 | tostring) end;
		def f(x): if x == null then "-" else (x * 100 | round / 100 | tostring) end;
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
		| "| \($mode) | \($re.react | r1) | \($re.how) | \(if $rec == null then "never" else ($rec.ts - $restore | . * 10 | round / 10 | tostring) end) | \(f($cov)) | \(f($re.pre)) | \(f($re.min_after)) |"
	'
done
echo
echo "react and recover have the resolution of what they read: 1 s for per-second lines, 250 ms for live-rate samples."
echo "Recovery needs goodput of $(if [ "$measured" = null ]; then echo "90 % of the nominal capacity"; else echo "90 % of min(nominal, calibrated)"; fi) per second."
for m in "${modes[@]}"; do
	[ -s "$dir/$m.failed.json" ] && echo "Mode $m FAILED: $(jq -r .failed "$dir/$m.failed.json")"
done
exit 0
