#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# What allocation tracing adds to a malloc(64)+free pair, side by side in one
# run, 1 and 2 threads, configurations alternating round by round (drift on
# a noisy VM falls on all alike); medians; ratios of added cost to the peer's.
#   untraced         nothing attached
#   run              `memobs run` (always-on tier, no tracing): must add nothing
#   outside          `memobs leaks --pid` on another process: the bench is outside
#                    the traced scope (what escalation costs bystanders): nothing
#   pid              `memobs leaks --pid` on the bench, default 512 KiB sampling
#                    (targeted tracing, as escalation and `memobs leaks` do), with
#                    the default 16 KiB stack copy for the CFI unwinder
#   pid-fp           the same with --stack-bytes 0 (frame-pointer walk, no copy):
#                    unsampled calls must cost the same as in pid
#   pid-noses        the same with --no-session (return probe on every call)
#   all              `memobs leaks --all` (host-wide, as `memobs run --malloc`), 512 KiB
#   all-every        the same with --malloc-sample-bytes 1 (every allocation)
#   every, every-fp  `memobs leaks --pid` on the bench, every allocation sampled, with
#                    the stack copy and without: past the copy budget (4 MiB/s per
#                    CPU) samples walk frame pointers, so this shows that a storm of
#                    samples costs no more with copies on; the cost of one copy is
#                    measured in the probe itself (bench/unwind.sh, stack_copy_ns)
#   bpftrace         bench/peers/bpftrace_tracker.bt (host-wide address tracker)
#   floor            bench/peers/uprobe_floor.bt: one emulated trap with an empty
#                    program; twice its added cost is the floor of any uprobe
#                    tracker (two traps per pair)
# Then the ring buffer at the highest sampled record rate the probes make here
# (every allocation of the bench sampled, RB_THREADS threads): records/s, drops.
#
#   bench/malloc.sh [BUILD]      (root; ~6 minutes with the defaults)
# Knobs: ROUNDS (3), SECONDS_PER_RUN (2), CONFIGS, THREADS ("1 2"), RB_THREADS (2),
# LEAKS (the command that runs `leaks`, default "$MEMOBS leaks").
set -u -o pipefail

BUILD=${1:-build}
MEMOBS=${MEMOBS:-$BUILD/memobs}
LEAKS=${LEAKS:-$MEMOBS leaks}
BENCH=$BUILD/bench/malloc_bench
BT=$(dirname "$0")/peers/bpftrace_tracker.bt
FLOOR_BT=$(dirname "$0")/peers/uprobe_floor.bt
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-2}
THREADS=${THREADS:-1 2}
CONFIGS=${CONFIGS:-untraced run outside pid pid-fp pid-noses all all-every every every-fp bpftrace floor}
ATTACH_WAIT=${ATTACH_WAIT:-3}
OUT=$(mktemp -d /tmp/memobs-malloc-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$OUT"' EXIT

[ "$(id -u)" = 0 ] || { echo "malloc.sh: needs root (BPF)" >&2; exit 1; }
for f in "$BENCH" "$MEMOBS"; do
	[ -x "$f" ] || { echo "malloc.sh: '$f' missing: make all bench" >&2; exit 1; }
done

# Starts the bench waiting for SIGUSR1; echoes its pid. Its result goes to $1.
start_bench() {
	local out=$1 threads=$2
	coproc BENCHPROC { exec "$BENCH" --threads "$threads" --seconds "$SECONDS_PER_RUN" --wait-signal; }
	read -r ready <&"${BENCHPROC[0]}"
	BENCH_PID=$BENCHPROC_PID
	BENCH_FD=${BENCHPROC[0]}
}

finish_bench() {
	local out=$1 line
	kill -USR1 "$BENCH_PID"
	read -r line <&"$BENCH_FD"
	wait "$BENCH_PID" 2>/dev/null
	echo "${line#ns_per_pair }" >>"$out"
}

# SIGTERM: background jobs of a script ignore SIGINT. KILL if it lingers.
stop_tracer() {
	local i
	[ -n "${TRACER:-}" ] || return 0
	kill -TERM "$TRACER" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$TRACER" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$TRACER" 2>/dev/null
	wait "$TRACER" 2>/dev/null
	TRACER=
}

run_one() {
	local config=$1 threads=$2 out=$OUT/$1.$2 sleeper
	TRACER=
	start_bench "$out" "$threads"
	case $config in
	untraced) ;;
	run) $MEMOBS run --no-socket --interval 1 >/dev/null 2>&1 & TRACER=$! ;;
	outside)
		sleep 600 & sleeper=$!
		$LEAKS --pid "$sleeper" --duration 600 >/dev/null 2>&1 & TRACER=$! ;;
	pid) $LEAKS --pid "$BENCH_PID" --duration 600 >/dev/null 2>&1 & TRACER=$! ;;
	pid-fp) $LEAKS --pid "$BENCH_PID" --duration 600 --stack-bytes 0 >/dev/null 2>&1 & TRACER=$! ;;
	pid-noses) $LEAKS --pid "$BENCH_PID" --duration 600 --no-session >/dev/null 2>&1 & TRACER=$! ;;
	every) $LEAKS --pid "$BENCH_PID" --duration 600 --malloc-sample-bytes 1 >/dev/null 2>&1 & TRACER=$! ;;
	every-fp) $LEAKS --pid "$BENCH_PID" --duration 600 --malloc-sample-bytes 1 --stack-bytes 0 \
		>/dev/null 2>&1 & TRACER=$! ;;
	all) $LEAKS --all --duration 600 >/dev/null 2>&1 & TRACER=$! ;;
	all-every) $LEAKS --all --duration 600 --malloc-sample-bytes 1 >/dev/null 2>&1 & TRACER=$! ;;
	bpftrace) bpftrace "$BT" >/dev/null 2>&1 & TRACER=$! ;;
	floor) bpftrace "$FLOOR_BT" >/dev/null 2>&1 & TRACER=$! ;;
	esac
	[ "$config" = untraced ] || sleep "$ATTACH_WAIT"
	finish_bench "$out"
	stop_tracer
	[ -n "${sleeper:-}" ] && kill "$sleeper" 2>/dev/null
	true
}

for round in $(seq "$ROUNDS"); do
	for threads in $THREADS; do
		for config in $CONFIGS; do
			run_one "$config" "$threads"
		done
	done
	echo "round $round/$ROUNDS done" >&2
done

# The ring buffer at the highest rate: every allocation of the bench sampled.
start_bench "$OUT/rb" "${RB_THREADS:-2}"
$LEAKS --pid "$BENCH_PID" --duration $((ATTACH_WAIT + SECONDS_PER_RUN + 1)) \
	--malloc-sample-bytes 1 --json >"$OUT/rb.json" 2>/dev/null &
TRACER=$!
sleep "$ATTACH_WAIT"
finish_bench "$OUT/rb"
wait "$TRACER"
TRACER=

/usr/bin/python3 - "$OUT" "$CONFIGS" "$THREADS" "$SECONDS_PER_RUN" <<'PY'
import json, os, statistics, sys
out, configs, threads, secs = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), float(sys.argv[4])

def median(config, t):
    try:
        with open(os.path.join(out, f"{config}.{t}")) as f:
            vals = [float(x) for x in f.read().split()]
    except OSError:
        return None, []
    return (statistics.median(vals) if vals else None), vals

print(f"malloc(64)+free, ns per pair per thread, median of runs; added = minus untraced")
for t in threads:
    base, _ = median("untraced", t)
    peer, _ = median("bpftrace", t)
    peer_added = peer - base if peer is not None and base is not None else None
    print(f"\n{t} thread(s):")
    print(f"  {'config':<11} {'ns/pair':>9} {'added':>9} {'x bpftrace':>11}  runs")
    for c in configs:
        m, vals = median(c, t)
        if m is None:
            continue
        added = m - base
        ratio = f"{added / peer_added:.3f}" if peer_added and c != "untraced" else "-"
        print(f"  {c:<11} {m:>9.1f} {added:>9.1f} {ratio:>11}  {' '.join(f'{v:.0f}' for v in vals)}")
    floor, _ = median("floor", t)
    floor_pair = 2 * (floor - base) if floor is not None and base is not None else None
    if floor_pair:
        print(f"  floor, two emulated traps per pair: {floor_pair:.1f} ns added"
              + (f" = {floor_pair / peer_added:.3f} x bpftrace" if peer_added else ""))
    fp, _ = median("pid-fp", t)
    pid, _ = median("pid", t)
    if fp is not None and pid is not None:
        print(f"  unsampled calls, stack copy vs frame pointers: pid {pid - base:.1f} ns added,"
              f" pid-fp {fp - base:.1f} ns added: ratio {(pid - base) / (fp - base):.3f}")
    ev, _ = median("every", t)
    evfp, _ = median("every-fp", t)
    if ev is not None and evfp is not None:
        print(f"  every allocation sampled, copies on (throttled past their budget) vs frame"
              f" pointers only: {ev:.0f} vs {evfp:.0f} ns per pair, ratio {ev / evfp:.3f}")
    if peer_added:
        for c, target in (("pid", 0.10), ("pid-noses", 0.15)):
            m, _ = median(c, t)
            if m is not None:
                r = (m - base) / peer_added
                above = f"; {(m - base) / floor_pair:.2f} x the floor" if floor_pair else ""
                print(f"  target {c}: {r:.3f} <= {target}: {'met' if r <= target else 'NOT met'}{above}")
try:
    with open(os.path.join(out, "rb.json")) as f:
        summary = [json.loads(l) for l in f if '"leaks_summary"' in l][0]
    bpf = summary["bpf"]
    events = bpf["sampled"] + bpf["frees"]
    print(f"\nring buffer, every allocation sampled, {os.environ.get('RB_THREADS', '2')} thread(s), {secs:.0f} s of bench:"
          f" {events} records ({events / secs / 1e6:.2f} M/s while the bench ran),"
          f" drops {bpf['ringbuf_drops']}, live map full {bpf['live_full']}")
except (OSError, IndexError, KeyError) as e:
    print(f"\nring buffer figures unavailable: {e}")
PY
