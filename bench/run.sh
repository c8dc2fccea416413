#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The entry point of `make bench`: the always-on tier first, then every other
# executable bench/*.sh in name order. A benchmark that fails does not stop
# the others; a summary closes the output and the exit status is 1 if any
# failed. Each one's stdout (its figures) is also kept in BUILD/bench/NAME.log.
#
#   bench/run.sh [BUILD]
set -u -o pipefail

build=${1:-build}
bench_dir=$(dirname "$0")
scripts=("$bench_dir/alwayson.sh")
summary=()
nr_failed=0

for script in "$bench_dir"/*.sh; do
	case "$(basename "$script")" in
	run.sh | alwayson.sh) continue ;;
	esac
	[ -x "$script" ] && scripts+=("$script")
done

# Ctrl-C stops the whole run, not just the benchmark in progress.
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$build/bench" || exit 1

for script in "${scripts[@]}"; do
	name=$(basename "$script" .sh)
	start_s=$(date +%s)
	printf '\n### %s\n' "$name"
	if [ -x "$script" ]; then
		"$script" "$build" | tee "$build/bench/$name.log"
		rc=${PIPESTATUS[0]}
	else
		echo "run: '$script' is missing or not executable" >&2
		rc=127
	fi
	elapsed_s=$(($(date +%s) - start_s))
	took=$(printf '%dm%02ds' $((elapsed_s / 60)) $((elapsed_s % 60)))
	if [ "$rc" -eq 0 ]; then
		summary+=("$(printf '%-12s ok      %s' "$name" "$took")")
	else
		summary+=("$(printf '%-12s FAILED  %s (exit %d)' "$name" "$took" "$rc")")
		nr_failed=$((nr_failed + 1))
	fi
done

printf '\n### summary\n'
printf '%s\n' "${summary[@]}"
echo "${#scripts[@]} run, $nr_failed failed"
[ "$nr_failed" -eq 0 ]
