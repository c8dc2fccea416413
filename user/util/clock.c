// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <time.h>
#include "util/clock.h"

static __u64 read_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

__u64 clock_mono_ns(void)
{
	return read_ns(CLOCK_MONOTONIC);
}

__u64 clock_mono_ms(void)
{
	return read_ns(CLOCK_MONOTONIC) / 1000000;
}

__u64 clock_wall_ms(void)
{
	return read_ns(CLOCK_REALTIME) / 1000000;
}
