/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Parsing of option values: numbers, durations, byte sizes. Pure. */
#ifndef MEMOBS_OPTS_H
#define MEMOBS_OPTS_H

#include <linux/types.h>

/* Seconds as "1", "0.5", "30s", "5m", "2h"; must be > 0 and <= max_s. Returns 0 or -EINVAL. */
int parse_seconds(const char *s, double max_s, double *out);
/* A whole number in [min, max]. Returns 0 or -EINVAL. */
int parse_u64(const char *s, __u64 min, __u64 max, __u64 *out);
/* Bytes as "4096", "32K", "32KiB", "1.5M", "2G" (powers of 1024). Returns 0 or -EINVAL. */
int parse_bytes(const char *s, __u64 *out);

#endif /* MEMOBS_OPTS_H */
