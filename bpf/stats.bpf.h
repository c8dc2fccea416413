/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Counting what BPF submits and drops, so userspace can report it. */
#ifndef MEMOBS_STATS_BPF_H
#define MEMOBS_STATS_BPF_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "memobs.h"

/*
 * Per-CPU so that counting never contends; userspace sums the CPUs. Each
 * object that includes this header gets its own copy of the map.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MEMOBS_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} memobs_stats SEC(".maps");

static __always_inline void memobs_count(enum memobs_stat stat)
{
	__u32 key = stat;
	__u64 *value = bpf_map_lookup_elem(&memobs_stats, &key);

	if (value)
		*value += 1;
}

#endif /* MEMOBS_STATS_BPF_H */
