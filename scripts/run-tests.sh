#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Runs the unit tier (cmocka binaries, no root), the fuzzing smoke (when
# FUZZ_SMOKE_SECONDS is set: make test) and the end-to-end tier (pytest, real
# BPF, root), then prints one closing line: N passed, N failed.
set -u
mode=all
case "${1:-}" in
--unit-only) mode=unit; shift ;;
--e2e-only) mode=e2e; shift ;;
esac
build=${1:-build}
python=${2:-/usr/bin/python3}
passed=0
failed=0

if [ "$mode" != e2e ]; then
	for t in "$build"/tests/test_*; do
		[ -x "$t" ] || continue
		out=$("$t" 2>&1)
		rc=$?
		printf '%s\n' "$out"
		p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
		f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
		passed=$((passed + ${p:-0}))
		failed=$((failed + ${f:-0}))
		# a crash before the summary is a failure too
		if [ "$rc" -ne 0 ] && [ -z "$f" ]; then failed=$((failed + 1)); fi
	done
fi

# The fuzzing smoke (make test sets FUZZ_SMOKE_SECONDS): each harness of
# $build/fuzz runs that long; one line per harness counts as passed or failed.
if [ "$mode" = all ] && [ -n "${FUZZ_SMOKE_SECONDS:-}" ]; then
	out=$(tests/fuzz/run.sh "$build/fuzz" "$FUZZ_SMOKE_SECONDS" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | grep -c '^fuzz [^:]*: passed')
	f=$(printf '%s\n' "$out" | grep -c '^fuzz [^:]*: FAILED')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "run-tests: no fuzzing harness in $build/fuzz; NOT RUN" >&2
		failed=$((failed + 1))
	fi
fi

if [ "$mode" != unit ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "run-tests: the end-to-end tier needs root (BPF, cgroups); NOT RUN" >&2
		failed=$((failed + 1))
	else
		xml="$build/e2e-results.xml"
		rm -f "$xml"
		MEMOBS_BUILD="$build" "$python" -m pytest -p no:cacheprovider -v \
			--junitxml="$xml" tests/e2e
		counts=$("$python" - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1); sys.exit()
suites = [root] if root.tag == "testsuite" else list(root)
total = bad = 0
for s in suites:
    total += int(s.get("tests", 0))
    # a skip as root is a test that did not run: it counts as failed
    bad += sum(int(s.get(k, 0)) for k in ("failures", "errors", "skipped"))
print(total - bad, bad)
PY
)
		passed=$((passed + ${counts% *}))
		failed=$((failed + ${counts#* }))
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
