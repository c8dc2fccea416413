/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one place memobs reads a clock. Two clocks, named by what they are for:
 * CLOCK_MONOTONIC for intervals, deadlines and ages (never jumps), and the
 * wall clock only for the timestamps people read (the `ts` of a JSON line).
 */
#ifndef MEMOBS_CLOCK_H
#define MEMOBS_CLOCK_H

#include <linux/types.h>

__u64 clock_mono_ns(void); /* CLOCK_MONOTONIC */
__u64 clock_mono_ms(void); /* CLOCK_MONOTONIC, in ms */
__u64 clock_wall_ms(void); /* CLOCK_REALTIME, ms since the epoch */

#endif /* MEMOBS_CLOCK_H */
