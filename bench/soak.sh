#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Churn soak (issue 14): `memobs run` for MINUTES while bench/churn_driver
# starts and ends PROCS_PER_S processes a second (every 10th an exec) and
# makes and removes CGROUPS_PER_MIN cgroups a minute (each holds a sleeping
# process for 3 s), and leak_here leaks LEAK_RATE bytes/s in a cgroup of its
# own, which the churn's short-lived processes share (a 20 s window: it is
# suspected within the first minute and escalated for ESCALATE_S seconds, each
# new process of the cgroup a target of escalation's per-process probes).
# memobs's RSS, open fds and CPU are sampled every SAMPLE_S seconds; the end
# prints the table, the bounds and whether each holds, the leaker's alerts,
# and the final stats line (every ring-buffer drop and full map is counted
# there).
#
#   bench/soak.sh [BUILD]      (root; MINUTES + ~1 minute)
# Knobs: MINUTES (10), PROCS_PER_S (1000), CGROUPS_PER_MIN (100), SAMPLE_S (10),
# LEAK_RATE (262144), ESCALATE_S (120), RSS_BOUND_MIB (32), FD_BOUND (8), CPU_BOUND_PCT (25).
#
# The bounds, after the first minute (start-up and the first escalation over):
#   RSS    max - value at 1 min  < RSS_BOUND_MIB
#   fds    every sample within +-FD_BOUND of the value at 1 min
#   CPU    memobs's mean over the rest of the run < CPU_BOUND_PCT % of a core
# and: the leaker's first alert and its escalated follow-up (call sites) both came.
set -u -o pipefail

BUILD=${1:-build}
MEMOBS=${MEMOBS:-$BUILD/memobs}
DRIVER=$BUILD/bench/churn_driver
LEAKER=$BUILD/workloads/leak_here
MINUTES=${MINUTES:-10}
PROCS_PER_S=${PROCS_PER_S:-1000}
CGROUPS_PER_MIN=${CGROUPS_PER_MIN:-100}
SAMPLE_S=${SAMPLE_S:-10}
LEAK_RATE=${LEAK_RATE:-262144}
ESCALATE_S=${ESCALATE_S:-120}
RSS_BOUND_MIB=${RSS_BOUND_MIB:-32}
FD_BOUND=${FD_BOUND:-8}
CPU_BOUND_PCT=${CPU_BOUND_PCT:-25}
OUT=$(mktemp -d /tmp/memobs-soak.XXXXXX)
CG2=$(awk '$9 == "cgroup2" && $4 == "/" { print $5; exit }' /proc/self/mountinfo)
PARENT=
MEMOBS_PID='' DRIVER_PID='' LEAKER_PID=''

[ "$(id -u)" = 0 ] || { echo "soak.sh: needs root (BPF, cgroups)" >&2; exit 1; }
for f in "$MEMOBS" "$DRIVER" "$LEAKER"; do
	[ -x "$f" ] || { echo "soak.sh: '$f' missing: make all workloads bench" >&2; exit 1; }
done
[ -n "$CG2" ] || { echo "soak.sh: no cgroup2 mount in /proc/self/mountinfo" >&2; exit 1; }

cleanup() {
	local pid d
	for pid in $DRIVER_PID $LEAKER_PID; do
		kill -KILL "$pid" 2>/dev/null
	done
	if [ -n "$MEMOBS_PID" ] && kill -0 "$MEMOBS_PID" 2>/dev/null; then
		kill -TERM "$MEMOBS_PID"
		for _ in $(seq 100); do
			kill -0 "$MEMOBS_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$MEMOBS_PID" 2>/dev/null
	fi
	wait 2>/dev/null
	if [ -n "$PARENT" ] && [ -d "$PARENT" ]; then
		for d in "$PARENT"/*/ "$PARENT"/churn/*/; do
			[ -d "$d" ] || continue
			for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do
				kill -KILL "$pid" 2>/dev/null
			done
		done
		for _ in $(seq 50); do
			rmdir "$PARENT"/churn/*/ "$PARENT"/*/ "$PARENT" 2>/dev/null
			[ -d "$PARENT" ] || break
			sleep 0.1
		done
	fi
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PARENT=$CG2/memobs-soak-$$
mkdir -p "$PARENT/churn" "$PARENT/leaker" || exit 1
LEAKER_CG_ID=$(stat -c %i "$PARENT/leaker")

# --stats-interval = SAMPLE_S: the drops are seen as they come, not only at exit
"$MEMOBS" run --window 20 --escalate-for "$ESCALATE_S" --stats-interval "$SAMPLE_S" --no-socket \
	>"$OUT/memobs.jsonl" 2>"$OUT/memobs.err" &
MEMOBS_PID=$!
for _ in $(seq 150); do
	grep -q ' started: ' "$OUT/memobs.err" && break
	kill -0 "$MEMOBS_PID" 2>/dev/null || break
	sleep 0.1
done
grep -q ' started: ' "$OUT/memobs.err" || { echo "soak.sh: memobs did not start:" >&2;
	cat "$OUT/memobs.err" >&2; exit 1; }

# the leaker enters its cgroup before exec (a subshell writes its own pid)
(echo "$BASHPID" >"$PARENT/leaker/cgroup.procs" &&
	exec "$LEAKER" --size 65536 --rate "$LEAK_RATE" >/dev/null) &
LEAKER_PID=$!
# the churn runs in the leaker's cgroup: escalation must pick up (or miss, and say
# so) processes that are gone before it can read /proc/PID or attach to them
(echo "$BASHPID" >"$PARENT/leaker/cgroup.procs" &&
	exec "$DRIVER" --procs-per-s "$PROCS_PER_S" --cgroups-per-min "$CGROUPS_PER_MIN" \
	--cgroup-parent "$PARENT/churn" --seconds $((MINUTES * 60)) >"$OUT/driver.out" \
	2>"$OUT/driver.err") &
DRIVER_PID=$!

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$MEMOBS_PID/stat"; }
start_s=$(date +%s.%N)
start_ticks=$(cpu_ticks)
prev_ticks=$start_ticks prev_s=$start_s
echo "soak: $MINUTES min, $PROCS_PER_S procs/s, $CGROUPS_PER_MIN cgroups/min," \
	"leaker $LEAK_RATE B/s, memobs pid $MEMOBS_PID; load average at start:" \
	"$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%8s %9s %9s %5s %9s %8s\n' t_s rss_mib anon_mib fds cpu_pct load1 | tee "$OUT/table"
while kill -0 "$DRIVER_PID" 2>/dev/null; do
	sleep "$SAMPLE_S"
	kill -0 "$MEMOBS_PID" 2>/dev/null || { echo "soak.sh: memobs died" >&2; break; }
	now_s=$(date +%s.%N)
	ticks=$(cpu_ticks)
	rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$MEMOBS_PID/status")
	anon_kib=$(awk '/^RssAnon:/ { print $2 }' "/proc/$MEMOBS_PID/status")
	fds=$(ls "/proc/$MEMOBS_PID/fd" | wc -l)
	awk -v t="$now_s" -v t0="$start_s" -v pt="$prev_s" -v c="$ticks" -v pc="$prev_ticks" \
		-v hz="$hz" -v rss="$rss_kib" -v anon="$anon_kib" -v fds="$fds" \
		-v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
		printf "%8.0f %9.1f %9.1f %5d %9.2f %8s\n", t - t0, rss / 1024, anon / 1024, fds,
			100 * (c - pc) / hz / (t - pt), load }' | tee -a "$OUT/table"
	prev_s=$now_s prev_ticks=$ticks
done
wait "$DRIVER_PID"
DRIVER_PID=
kill -KILL "$LEAKER_PID" 2>/dev/null
wait "$LEAKER_PID" 2>/dev/null
LEAKER_PID=
memobs_alive=no
kill -0 "$MEMOBS_PID" 2>/dev/null && memobs_alive=yes
kill -TERM "$MEMOBS_PID" 2>/dev/null
wait "$MEMOBS_PID"
memobs_rc=$?
MEMOBS_PID=

echo
echo "driver: $(tail -1 "$OUT/driver.out")"
echo "memobs: alive at the end: $memobs_alive, exit status after SIGTERM: $memobs_rc," \
	"stderr lines: $(wc -l <"$OUT/memobs.err")"
if [ -s "$OUT/memobs.err" ]; then
	echo "memobs stderr (distinct messages, counted):"
	sed -E 's/[0-9]+/N/g' "$OUT/memobs.err" | sort | uniq -c | sort -rn | head -10
fi
# the bounds over the samples after the first minute
verdict=$(awk -v rb="$RSS_BOUND_MIB" -v fb="$FD_BOUND" -v cb="$CPU_BOUND_PCT" '
	NR == 1 || $1 < 60 { next }
	!base { base = 1; rss0 = $2; fd0 = $4 }
	{ if ($2 > rssmax) rssmax = $2; if ($4 - fd0 > fdd) fdd = $4 - fd0;
	  if (fd0 - $4 > fdd) fdd = fd0 - $4; cpu += $5; n++ }
	END {
		if (!n) { print "too short: no sample after the first minute"; exit 1 }
		printf "RSS growth after 1 min: %.1f MiB (bound < %d): %s\n", rssmax - rss0, rb,
			rssmax - rss0 < rb ? "holds" : "FAILS"
		printf "fds: %d at 1 min, largest deviation %d (bound +-%d): %s\n", fd0, fdd, fb,
			fdd <= fb ? "holds" : "FAILS"
		printf "CPU after 1 min: %.2f%% of a core, mean (bound < %d%%): %s\n", cpu / n, cb,
			cpu / n < cb ? "holds" : "FAILS"
	}' "$OUT/table")
echo "$verdict"
alerts=$(grep -c "\"type\":\"leak\".*\"id\":${LEAKER_CG_ID}[,}].*\"state\":\"suspected\"" \
	"$OUT/memobs.jsonl")
escalated=$(grep "\"type\":\"leak\".*\"id\":${LEAKER_CG_ID}[,}]" "$OUT/memobs.jsonl" |
	grep -c '"escalated_for_s"')
echo "leaker (cgroup id $LEAKER_CG_ID): $alerts 'suspected' leak lines, $escalated escalated" \
	"follow-up(s) with call sites: $([ "$alerts" -ge 1 ] && [ "$escalated" -ge 1 ] &&
	echo "no alert lost" || echo "ALERT MISSING")"
echo "stats lines: $(grep -c '"type":"stats"' "$OUT/memobs.jsonl"); the last:"
grep '"type":"stats"' "$OUT/memobs.jsonl" | tail -1
ok=yes
case "$verdict" in *FAILS* | too*) ok=no ;; esac
[ "$alerts" -ge 1 ] && [ "$escalated" -ge 1 ] || ok=no
[ "$memobs_alive" = yes ] && [ "$memobs_rc" = 0 ] || ok=no
echo "soak: $([ $ok = yes ] && echo "every bound holds" || echo FAILED)"
[ $ok = yes ]
