#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The cost of writing a profile (issue 13): bench/profile_bench builds 10,000
# (and 1,000: the daemon's --profile-dir bound) distinct 24-frame stacks into
# a gzipped pprof and into folded stacks with the library's own writers,
# ROUNDS times each; prints each run's time and peak RSS growth.
#
#   bench/profile.sh [BUILD]
set -u -o pipefail

BUILD=${1:-build}
BENCH=$BUILD/bench/profile_bench
ROUNDS=${ROUNDS:-3}
[ -x "$BENCH" ] || { echo "profile.sh: '$BENCH' missing: make bench" >&2; exit 1; }
for stacks in 10000 1000; do
	for round in $(seq "$ROUNDS"); do
		echo "== $stacks stacks, round $round"
		"$BENCH" --stacks "$stacks" || exit 1
	done
done
