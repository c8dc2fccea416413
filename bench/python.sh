#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Python frames (issue 16, docs/python.md), side by side in one run, configs
# alternating round by round (drift on a noisy VM falls on all alike):
#   py-dN      Debian's python3 running bench/python_alloc.py at RATE (default
#              50 MiB/s of 4 KiB bytes objects, made and dropped: a malloc and a
#              free each) from N Python frames below main (DEPTHS, "4 40"):
#              its frames are read at every sampled allocation
#   py-undet   the same script under a CPython memobs has no layout for (pyenv's
#              3.8, when installed: "python frames unavailable"): a Python
#              process whose frames are not read, the nearest to a switch-off
#   native     a C program making and freeing 4 KiB blocks at RATE: no Python
# each traced by `memobs leaks --pid P`, default 512 KiB sampling, 16 KiB stack
# copy, for SECONDS_PER_RUN (after ATTACH_WAIT). Prints:
#  (a) the added cost per sampled event in the probe: python_stack_ns /
#      python_stacks (reading the frame chain) next to stack_copy_ns /
#      stack_copies (the stack copy every sample makes) of the same runs;
#  (b) memobs's CPU (utime+stime from /proc/PID/stat of memobs and its
#      symbolizer helper, over SECONDS_PER_RUN) as a share of one core, next to
#      the traced process's own CPU.
#
#   bench/python.sh [BUILD]      (root; ~3 minutes with the defaults)
# Knobs: ROUNDS (3), SECONDS_PER_RUN (10), ATTACH_WAIT (2), RATE, DEPTHS ("4 40"),
# PYTHON (/usr/bin/python3), UNDETECTED_PYTHON (found under pyenv's root: `pyenv
# root`, $PYENV_ROOT, ~/.pyenv).
set -u -o pipefail

BUILD=${1:-build}
MEMOBS=${MEMOBS:-$BUILD/memobs}
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ATTACH_WAIT=${ATTACH_WAIT:-2}
RATE=${RATE:-$((50 << 20))}
DEPTHS=${DEPTHS:-4 40}
PYTHON=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
ALLOC_PY=$HERE/python_alloc.py
OUT=$(mktemp -d /tmp/memobs-python-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$OUT"' EXIT

[ "$(id -u)" = 0 ] || { echo "python.sh: needs root (BPF)" >&2; exit 1; }
[ -x "$MEMOBS" ] || { echo "python.sh: '$MEMOBS' missing: make all" >&2; exit 1; }
[ -x "$PYTHON" ] || { echo "python.sh: '$PYTHON' missing" >&2; exit 1; }

if [ -z "${UNDETECTED_PYTHON:-}" ]; then
	root=$(pyenv root 2>/dev/null) || root=${PYENV_ROOT:-$HOME/.pyenv}
	for d in $(ls -d "$root"/versions/3.8.* 2>/dev/null | sort -V); do
		[ -x "$d/bin/python3.8" ] && UNDETECTED_PYTHON=$d/bin/python3.8
	done
fi
CONFIGS=
for d in $DEPTHS; do CONFIGS+=" py-d$d"; done
[ -n "${UNDETECTED_PYTHON:-}" ] && CONFIGS+=" py-undet" ||
	echo "python.sh: no pyenv CPython 3.8: config py-undet skipped" >&2
CONFIGS+=" native"

cat >"$OUT/alloc_rate.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv)
{
	long per_tick = atol(argv[1]) / 4096 / 100 + 1;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		for (long k = 0; k < per_tick; k++) {
			char *p = calloc(1, 4096);
			asm volatile("" : : "r"(p) : "memory");
			free(p);
		}
		nanosleep(&tick, NULL);
	}
}
C
cc -O2 "$OUT/alloc_rate.c" -o "$OUT/alloc_rate" || exit 1

# utime + stime, in ticks, of a process and its children (memobs's symbolizer helper)
cpu_ticks() {
	local total=0 pid t
	for pid in "$1" $(pgrep -P "$1"); do
		t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
		total=$((total + t))
	done
	echo "$total"
}

# the same in ns (schedstat's time on CPU, every thread): a tick is 0.1% of 10 s
cpu_ns() {
	local pid
	for pid in "$1" $(pgrep -P "$1"); do
		cat /proc/"$pid"/task/*/schedstat 2>/dev/null
	done | awk '{ t += $1 } END { printf "%d\n", t }'
}

run_one() {
	local config=$1 round=$2 app tracer t0 t1 a0 a1 n0 n1 m0 m1
	case $config in
	py-d*) "$PYTHON" "$ALLOC_PY" --rate "$RATE" --depth "${config#py-d}" >/dev/null & app=$! ;;
	py-undet) "$UNDETECTED_PYTHON" "$ALLOC_PY" --rate "$RATE" >/dev/null & app=$! ;;
	native) "$OUT/alloc_rate" "$RATE" >/dev/null & app=$! ;;
	esac
	sleep 0.5
	$MEMOBS leaks --pid "$app" --duration $((ATTACH_WAIT + SECONDS_PER_RUN + 1)) --json \
		>"$OUT/leaks.$config.$round" 2>"$OUT/err.$config.$round" &
	tracer=$!
	sleep "$ATTACH_WAIT"
	t0=$(cpu_ticks $tracer)
	n0=$(cpu_ns $tracer)
	a0=$(awk '{print $14 + $15}' "/proc/$app/stat")
	m0=$(cpu_ns $app)
	sleep "$SECONDS_PER_RUN"
	t1=$(cpu_ticks $tracer)
	n1=$(cpu_ns $tracer)
	a1=$(awk '{print $14 + $15}' "/proc/$app/stat")
	m1=$(cpu_ns $app)
	wait $tracer
	kill $app
	wait $app 2>/dev/null
	echo "$config $((t1 - t0)) $((a1 - a0)) $((n1 - n0)) $((m1 - m0))" >>"$OUT/cpu"
}

for round in $(seq "$ROUNDS"); do
	for config in $CONFIGS; do
		run_one "$config" "$round"
	done
	echo "round $round/$ROUNDS done" >&2
done

/usr/bin/python3 - "$OUT" "$CONFIGS" "$SECONDS_PER_RUN" "$(getconf CLK_TCK)" "$RATE" \
	"$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
	"${UNDETECTED_PYTHON:-}" <<'PY'
import glob, json, os, statistics, sys
out, configs, secs, hz, rate, pyver, undet = sys.argv[1:8]
configs, secs, hz, rate = configs.split(), float(secs), int(hz), int(rate)

def summaries(config):
    for f in sorted(glob.glob(os.path.join(out, f"leaks.{config}.*"))):
        s = [json.loads(l) for l in open(f) if '"leaks_summary"' in l]
        if s:
            yield f, s[0]

def med(v):
    return statistics.median(v) if v else float("nan")

label = {"native": "C, 4 KiB calloc+free", "py-undet": f"CPython {os.path.basename(undet)[6:]}, layout unknown"}
print(f"(a) cost per sampled event in the probe, {rate >> 20} MiB/s, 512 KiB sampling "
      f"(sums over {len(list(summaries(configs[0])))} runs each)")
print(f"  {'config':<10} {'samples':>8} {'py stacks':>10} {'ns/py read':>11} {'ns/stack copy':>14}"
      f" {'read/copy':>10}  torn trunc no_thread")
for c in configs:
    sampled = pys = pyns = copies = copyns = torn = trunc = nothr = 0
    for f, s in summaries(c):
        b = s["bpf"]
        sampled += b["sampled"]; pys += b.get("python_stacks", 0); pyns += b.get("python_stack_ns", 0)
        copies += b.get("stack_copies", 0); copyns += b.get("stack_copy_ns", 0)
        torn += b.get("python_stacks_torn", 0); trunc += b.get("python_stacks_truncated", 0)
        nothr += b.get("python_stacks_no_thread", 0)
    per_py = pyns / pys if pys else 0
    per_copy = copyns / copies if copies else 0
    ratio = f"{per_py / per_copy:.3f}" if per_py and per_copy else "-"
    print(f"  {c:<10} {sampled:>8} {pys:>10} {per_py:>11.0f} {per_copy:>14.0f} {ratio:>10}"
          f"  {torn} {trunc} {nothr}")

cpu, ticks = {}, {}
for line in open(os.path.join(out, "cpu")):
    c, t, a, tn, an = line.split()
    ticks.setdefault(c, []).append((int(t) / hz / secs * 100, int(a) / hz / secs * 100))
    cpu.setdefault(c, []).append((int(tn) / 1e9 / secs * 100, int(an) / 1e9 / secs * 100))
print(f"\n(b) CPU over {secs:.0f} s while the process allocates {rate >> 20} MiB/s, 512 KiB sampling,"
      f" % of one core (schedstat ns; utime+stime ticks alongside), median (runs)")
print(f"  {'config':<10} {'memobs':>8} {'process':>8} {'memobs/process':>15} {'ticks: memobs':>14}"
      f" {'process':>8}  runs (memobs/process)")
for c in configs:
    v, vt = cpu.get(c, []), ticks.get(c, [])
    m, a = med([x for x, _ in v]), med([y for _, y in v])
    mt, at = med([x for x, _ in vt]), med([y for _, y in vt])
    print(f"  {c:<10} {m:>7.3f}% {a:>7.2f}% {m / a if a else float('nan'):>15.3f} {mt:>13.2f}%"
          f" {at:>7.2f}%  " + " ".join(f"{x:.3f}/{y:.2f}" for x, y in v))
print(f"\nconfigs: py-dN = CPython {pyver}, burst() N frames below main (N+2 Python frames);"
      f" {', '.join(f'{k} = {v}' for k, v in label.items())}")
for c in configs:
    warned = sum("python frames unavailable" in open(f).read()
                 for f in glob.glob(os.path.join(out, f"err.{c}.*")))
    if warned:
        print(f"  {c}: 'python frames unavailable' in {warned} run(s)")
PY
