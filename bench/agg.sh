#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The aggregation by change (user/model/agg.c): CPU per pass for 2,000 and
# 10,000 processes when nothing, a tenth or everything changed, under churn,
# and from scratch, side by side in one run (bench/agg_bench.c). No
# privileges needed.
#
#   bench/agg.sh [BUILD]      (~1 minute)
# Knobs: AGG_ARGS (passed on to every run, e.g. "--rounds 15").
set -u -o pipefail

BUILD=${1:-build}
BENCH=$BUILD/bench/agg_bench
[ -x "$BENCH" ] || { echo "agg.sh: '$BENCH' missing: make bench" >&2; exit 1; }
# shellcheck disable=SC2086 # AGG_ARGS is a list
"$BENCH" --procs 2000 --cgroups 100 ${AGG_ARGS:-} || exit 1
echo
# shellcheck disable=SC2086
exec "$BENCH" --procs 10000 --cgroups 500 ${AGG_ARGS:-}
