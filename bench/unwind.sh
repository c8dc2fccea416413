#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# CFI unwinding (docs/unwinding.md), side by side in one run:
#  1. the user-space walk: bench/unwind_bench through 50 distinct shared
#     libraries built here without frame pointers: a cold walk (every file
#     read, every rule fetched from the helper), a warm one (rules cached),
#     the rule cache's and the ELF copies' memory;
#  2. memobs's CPU while a process allocates (and frees) 4 KiB blocks at
#     RATE (default 100 MiB/s) for SECONDS, `memobs leaks --pid`, default
#     512 KiB sampling, with the stack copy (--stack-bytes 16384) and frame
#     pointers only (--stack-bytes 0), alternating ROUNDS times;
#  3. the share of sampled stacks that reach the outermost frame (main,
#     _start, clone3) in the C++ (no frame pointers), python3, thread and
#     Debian's redis-server cases.
# The per-pair cost of the copy is in bench/malloc.sh (configs pid, pid-fp,
# every, every-fp).
#
#   bench/unwind.sh [BUILD]      (root; ~2 minutes)
set -u -o pipefail

BUILD=${1:-build}
MEMOBS=${MEMOBS:-$BUILD/memobs}
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
RATE=${RATE:-$((100 << 20))}
NR_LIBS=${NR_LIBS:-50}
OUT=$(mktemp -d /tmp/memobs-unwind-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$OUT"' EXIT

[ "$(id -u)" = 0 ] || { echo "unwind.sh: needs root (BPF)" >&2; exit 1; }
for f in "$MEMOBS" "$BUILD/bench/unwind_bench" "$BUILD/workloads/unwind_cxx" \
	"$BUILD/workloads/nofp_thread_leak"; do
	[ -x "$f" ] || { echo "unwind.sh: '$f' missing: make all bench" >&2; exit 1; }
done

echo "== 1. the user-space walk through $NR_LIBS libraries"
libs=()
for i in $(seq "$NR_LIBS"); do
	# a tag of its own: 50 distinct files (50 build-ids), not 7 shared ones
	cat >"$OUT/hop$i.c" <<C
static const char tag[] __attribute__((used)) = "hop$i";
int hop(int (*next)(int), int i)
{
	volatile int pad[$((i % 7 + 1))];
	pad[0] = i;
	return next(i) + pad[0] - i;
}
C
	cc -O2 -fomit-frame-pointer -fPIC -shared "$OUT/hop$i.c" -o "$OUT/libhop$i.so" || exit 1
	libs+=("$OUT/libhop$i.so")
done
"$BUILD/bench/unwind_bench" "${libs[@]}" | tee "$OUT/walk"

echo "== 2. memobs's CPU at $((RATE >> 20)) MiB/s allocated, 512 KiB sampling"
cat >"$OUT/alloc_rate.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
int main(int argc, char **argv)
{
	long rate = atol(argv[1]), per_ms = rate / 4096 / 1000 + 1;
	struct timespec ms = { 0, 1000000 };
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		for (long k = 0; k < per_ms; k++) {
			char *p = malloc(4096);
			p[0] = 1;
			asm volatile("" : : "r"(p) : "memory");
			free(p);
		}
		nanosleep(&ms, NULL);
	}
}
C
cc -O2 "$OUT/alloc_rate.c" -o "$OUT/alloc_rate" || exit 1

# utime + stime of a process and its children (memobs's symbolizer helper parses the CFI)
cpu_ticks() {
	local total=0 pid t
	for pid in "$1" $(pgrep -P "$1"); do
		t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
		total=$((total + t))
	done
	echo "$total"
}

for round in $(seq "$ROUNDS"); do
	for bytes in 16384 0; do
		"$OUT/alloc_rate" "$RATE" >/dev/null &
		app=$!
		sleep 0.3
		$MEMOBS leaks --pid "$app" --duration $((SECONDS_PER_RUN + 3)) --stack-bytes "$bytes" \
			--json >"$OUT/leaks.$bytes.$round" 2>/dev/null &
		tracer=$!
		sleep 2
		t0=$(cpu_ticks $tracer)
		a0=$(awk '{print $14 + $15}' "/proc/$app/stat")
		sleep "$SECONDS_PER_RUN"
		t1=$(cpu_ticks $tracer)
		a1=$(awk '{print $14 + $15}' "/proc/$app/stat")
		wait $tracer
		kill $app
		wait $app 2>/dev/null
		echo "$bytes $((t1 - t0)) $((a1 - a0))" >>"$OUT/cpu"
	done
done

echo "== 3. stacks that reach the outermost frame"
reach() {
	local name=$1
	shift
	"$@" >/dev/null 2>&1 &
	local app=$!
	sleep 1
	$MEMOBS leaks --pid "$app" --duration 8 --json >"$OUT/reach.$name" 2>/dev/null
	kill $app
	wait $app 2>/dev/null
}
reach cxx "$BUILD/workloads/unwind_cxx" --rate $((8 << 20))
reach thread "$BUILD/workloads/nofp_thread_leak" --rate $((8 << 20))
# Debian's redis-server (no frame pointers), filled with 3 KB values by redis-benchmark
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
	port=$((20000 + RANDOM % 20000))
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$OUT" \
		>/dev/null 2>&1 &
	rpid=$!
	sleep 1
	$MEMOBS leaks --pid "$rpid" --duration 8 --json >"$OUT/reach.redis" 2>/dev/null &
	tracer=$!
	sleep 1
	redis-benchmark -p "$port" -t set -n 200000 -d 3000 -r 10000000 -q >/dev/null 2>&1
	wait $tracer
	kill $rpid
	wait $rpid 2>/dev/null
fi
reach python3 /usr/bin/python3 -c 'import time
keep = []
while True:
    keep.extend(bytes(4096) for _ in range(200))
    time.sleep(0.1)'

/usr/bin/python3 - "$OUT" "$SECONDS_PER_RUN" "$(getconf CLK_TCK)" "$RATE" <<'PY'
import json, os, statistics, sys
out, secs, hz, rate = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cpu = {}
for line in open(os.path.join(out, "cpu")):
    b, t, a = line.split()
    cpu.setdefault(b, []).append(int(t) / hz / secs * 100)
print(f"\nmemobs leaks --pid and its symbolizer helper, CPU % of one core while the process allocates {rate >> 20} MiB/s:")
for b, label in (("16384", "stack copy, 16 KiB"), ("0", "frame pointers only")):
    v = cpu.get(b, [])
    if v:
        print(f"  {label:<22} median {statistics.median(v):.2f} %  runs {' '.join(f'{x:.2f}' for x in v)}")
    for f in sorted(os.listdir(out)):
        if f.startswith(f"leaks.{b}."):
            s = [json.loads(l) for l in open(os.path.join(out, f)) if '"leaks_summary"' in l]
            if s:
                bp = s[0]["bpf"]
                per = f", {bp['stack_copy_ns'] / bp['stack_copies'] / 1e3:.1f} us per copy in the probe" if bp.get("stack_copies") else ""
                print(f"    {f}: sampled {bp['sampled']}, stack copies {bp.get('stack_copies', 0)}{per},"
                      f" throttled {bp.get('stack_copies_throttled', 0)}, drops {bp['ringbuf_drops']}, unwind {s[0].get('unwind')}")
print("\nshare of sampled stacks unwound to the outermost frame:")
for name in ("cxx", "thread", "python3", "redis"):
    try:
        s = [json.loads(l) for l in open(os.path.join(out, f"reach.{name}")) if '"leaks_summary"' in l][0]
        u = s["unwind"]
        share = 1 - u["truncated"] / u["stacks"] if u["stacks"] else 0
        print(f"  {name:<8} {u['stacks']} stacks, {u['truncated']} truncated: {share * 100:.1f} % whole"
              f" ({'met' if share >= 0.95 else 'NOT met'}: target >= 95 %)")
    except (OSError, IndexError, KeyError) as e:
        print(f"  {name}: unavailable ({e})")
PY
