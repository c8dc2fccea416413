#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The leak detector at 10,000 cgroups x 3 metrics, 300 s windows, evaluated
# every simulated second: share of one core, side by side with a plain
# least-squares baseline (bench/detector_bench.c). No privileges needed.
#
#   bench/detector.sh [BUILD]      (~2 minutes)
# Knobs: DETECTOR_ARGS (passed on, e.g. "--cgroups 1000 --measure 60").
set -u -o pipefail

BUILD=${1:-build}
BENCH=$BUILD/bench/detector_bench
[ -x "$BENCH" ] || { echo "detector.sh: '$BENCH' missing: make bench" >&2; exit 1; }
# shellcheck disable=SC2086 # DETECTOR_ARGS is a list
exec "$BENCH" ${DETECTOR_ARGS:-}
