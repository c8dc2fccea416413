#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The attribution ring buffer at 250 k, 500 k and 1 M sampled records/s and
# unpaced, with the ring sizes memobs picks (16 MiB when every allocation is
# sampled, 4 MiB at the default rate): records made, consumed, dropped, and
# the consumer's CPU. See bench/ringbuf_bench.c for how records are made.
#
#   bench/ringbuf.sh [BUILD]      (root; ~1 minute)
# Knobs: SECONDS_PER_RATE (5), RATES ("250000 500000 1000000 0"), RING_MIBS ("16 4").
set -u -o pipefail

BUILD=${1:-build}
BENCH=$BUILD/bench/ringbuf_bench
SECONDS_PER_RATE=${SECONDS_PER_RATE:-5}
RATES=${RATES:-250000 500000 1000000 0}
RING_MIBS=${RING_MIBS:-16 4}

[ "$(id -u)" = 0 ] || { echo "ringbuf.sh: needs root (BPF)" >&2; exit 1; }
[ -x "$BENCH" ] || { echo "ringbuf.sh: '$BENCH' missing: make bench" >&2; exit 1; }
for mib in $RING_MIBS; do
	# shellcheck disable=SC2086 # RATES is a list
	"$BENCH" --seconds "$SECONDS_PER_RATE" --ring-mib "$mib" $RATES || exit 1
done
