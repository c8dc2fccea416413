#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# What an escalation costs, side by side in one run (docs/output.md,
# "Escalation sources"): ns per first-touch page fault and per mmap+munmap
# pair of bench/escalation_bench, in ROUNDS alternating rounds of:
#   none       nothing of memobs runs
#   suspect    the process itself is escalated: `memobs leaks --pid P
#              --all-sources` (malloc family, libc's mmap/munmap/sbrk probes,
#              a page-fault perf event per thread, 512 KiB sampling)
#   neighbour  another process is escalated the same way: what the rest of
#              the node pays (nothing should show)
#   tracepoint for comparison, the host-wide alternative not taken: another
#              process traced with `--trace-mm` (syscall tracepoints and
#              page_fault_user, early exit for everyone else)
#
#   bench/escalation.sh [BUILD]      (root; ~3 minutes)
set -u -o pipefail

BUILD=${1:-build}
MEMOBS=${MEMOBS:-$BUILD/memobs}
BENCH=$BUILD/bench/escalation_bench
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-3}
OUT=$(mktemp -d /tmp/memobs-escalation-bench.XXXXXX)
# the escalated neighbour lives in a cgroup of its own, as a real one would
CG2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
NCG=$CG2/memobs-bench-escalation-$$
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rmdir "$NCG" 2>/dev/null; rm -rf "$OUT"' EXIT

[ "$(id -u)" = 0 ] || { echo "escalation.sh: needs root (BPF)" >&2; exit 1; }
[ -n "$CG2" ] || { echo "escalation.sh: no cgroup2 mount in /proc/self/mountinfo" >&2; exit 1; }
mkdir "$NCG" || exit 1
for f in "$MEMOBS" "$BENCH"; do
	[ -x "$f" ] || { echo "escalation.sh: '$f' missing: make all bench" >&2; exit 1; }
done

# Starts the bench, attaches memobs as the config says, lets it run; prints its figure.
run_one() {
	local config=$1 mode=$2 target figure mpid=""
	coproc BENCHP { exec "$BENCH" "$mode" "$SECS"; }
	local bpid=$BENCHP_PID
	read -r _ <&"${BENCHP[0]}"
	case $config in
	none) ;;
	suspect) target=$bpid ;;
	neighbour | tracepoint)
		sleep 600 &
		target=$!
		echo "$target" >"$NCG/cgroup.procs"
		;;
	esac
	if [ "$config" != none ]; then
		local extra=(--all-sources)
		[ "$config" = tracepoint ] && extra=(--trace-mm)
		"$MEMOBS" leaks --pid "$target" "${extra[@]}" --duration $((SECS + 30)) \
			>/dev/null 2>"$OUT/err" &
		mpid=$!
		# attached once it says it traces
		for _ in $(seq 200); do
			grep -q "tracing for" "$OUT/err" && break
			sleep 0.05
		done
	fi
	kill -USR1 "$bpid"
	read -r figure <&"${BENCHP[0]}"
	wait "$bpid" 2>/dev/null
	[ -n "$mpid" ] && { kill -INT "$mpid"; wait "$mpid" 2>/dev/null; }
	[ "$config" = neighbour ] || [ "$config" = tracepoint ] && kill "$target" 2>/dev/null
	echo "$figure"
}

configs=(none suspect neighbour tracepoint)
for mode in faults mmap; do
	for r in $(seq "$ROUNDS"); do
		# the order turns each round: no config always runs first on a cold machine
		for i in "${!configs[@]}"; do
			c=${configs[$(((i + r) % ${#configs[@]}))]}
			echo "$(run_one "$c" "$mode")" >>"$OUT/$mode.$c"
		done
	done
done

median() { sort -n "$1" | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
range() { sort -n "$1" | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.0f-%.0f", lo, hi}'; }
printf '%-10s %10s %13s %8s %12s %13s %8s\n' config "ns/fault" "(range)" "vs none" \
	"ns/mmap+unm" "(range)" "vs none"
fb=$(median "$OUT/faults.none")
mb=$(median "$OUT/mmap.none")
for c in "${configs[@]}"; do
	f=$(median "$OUT/faults.$c")
	m=$(median "$OUT/mmap.$c")
	awk -v c="$c" -v f="$f" -v m="$m" -v fb="$fb" -v mb="$mb" \
		-v fr="$(range "$OUT/faults.$c")" -v mr="$(range "$OUT/mmap.$c")" 'BEGIN {
		printf "%-10s %10.1f %13s %+7.1f%% %12.1f %13s %+7.1f%%\n", c, f, fr, (f / fb - 1) * 100,
			m, mr, (m / mb - 1) * 100 }'
done
echo "(medians and ranges of $ROUNDS rounds of ${SECS} s each; each round runs the four configs in a turned order)"
