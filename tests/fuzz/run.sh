#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Runs every libFuzzer harness of a build dir, one after the other, for a
# bounded time each: tests/fuzz/run.sh BUILD/fuzz SECONDS.
# The committed seeds (tests/fuzz/corpus/<name>/) are read, never written:
# what a run discovers goes to BUILD/fuzz/corpus/<name>/, a crash to
# BUILD/fuzz/artifacts/. Prints one line per harness ("fuzz <name>: passed,
# N runs, N exec/s, 0 findings" or "failed") and exits 1 on any finding.
set -u
dir=${1:?usage: run.sh BUILD/fuzz SECONDS}
seconds=${2:-60}
seeds=tests/fuzz/corpus
passed=0
failed=0

mkdir -p "$dir/artifacts"
for bin in "$dir"/fuzz_*; do
	[ -x "$bin" ] || continue
	case "$bin" in *.d) continue ;; esac
	name=${bin##*/fuzz_}
	work="$dir/corpus/$name"
	log="$dir/$name.log"
	mkdir -p "$work"
	set -- "$work"
	[ -d "$seeds/$name" ] && set -- "$@" "$seeds/$name"
	dict=""
	[ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
	# shellcheck disable=SC2086 # an empty $dict is no argument
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/artifacts/$name-" $dict "$@" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "fuzz $name: passed, ${runs:-0} runs, ${rate:-0} exec/s, cov ${cov:-?}, 0 findings"
	else
		failed=$((failed + 1))
		echo "fuzz $name: FAILED (exit $rc), ${runs:-0} runs, 1 finding; log: $log" >&2
		grep -m 1 -A 12 'ERROR: \|runtime error:' "$log" >&2
		ls "$dir/artifacts/$name-"* 2>/dev/null >&2
	fi
done
echo "fuzz: $passed passed, $failed failed (${seconds}s each)"
[ "$failed" -eq 0 ]
