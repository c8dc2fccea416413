/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A snapshot as Prometheus metrics, in the text exposition format 0.0.4:
 * one series set per cgroup of the latest snapshot (cgroups that vanish are
 * gone at the next render: cardinality follows the node, with a cap), plus
 * memobs's own counters. Pure renderer: the HTTP side only serves the text.
 */
#ifndef MEMOBS_METRICS_H
#define MEMOBS_METRICS_H

#include <stddef.h>
#include <linux/types.h>
#include "model/snapshot.h"

#define METRICS_DEFAULT_MAX_CGROUPS 5000

/* memobs's own health. */
struct metrics_self {
	__u64 events;	       /* records BPF submitted */
	__u64 ringbuf_drops;   /* records lost to a full ring buffer */
	__u64 map_full;	       /* BPF map updates that failed for room */
	__u64 attach_failures; /* probes that failed to attach */
	double cpu_seconds;    /* user + system since start */
	__u64 rss_bytes;       /* resident now */
	__u64 start_time_s;    /* wall clock at start, seconds since the epoch */
};

/* Fills cpu_seconds and rss_bytes from getrusage() and /proc/self/statm. Returns 0 or -errno. */
int metrics_self__read_process(struct metrics_self *self);

/*
 * Renders the metrics into a malloc'd NUL-terminated text (*text, *len).
 * At most max_cgroups cgroups are exported (0: the default), those with the
 * most anonymous RSS; the others are counted in memobs_cgroups_not_exported.
 * snap may be NULL before the first pass. Returns 0 or -ENOMEM.
 */
int metrics__render(const struct snapshot *snap, const struct metrics_self *self,
		    unsigned int max_cgroups, char **text, size_t *len);

#endif /* MEMOBS_METRICS_H */
