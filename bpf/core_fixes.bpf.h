/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CO-RE workarounds, one place for all of them. Each names the kernel change
 * that made it necessary.
 *
 * Minimum kernel: 5.8 (BPF ring buffer, task iterator with BTF). From 5.5 on
 * kernfs_node::id is a u64 (commit 67c0496e87d1, "kernfs: convert
 * kernfs_node->id from union kernfs_node_id to u64"), so the cgroup id read
 * needs no flavour here.
 */
#ifndef MEMOBS_CORE_FIXES_BPF_H
#define MEMOBS_CORE_FIXES_BPF_H

#include <vmlinux.h>
#include <bpf/bpf_core_read.h>

/*
 * Linux 6.2 (commit f1a7941243c1, "mm: convert mm's rss stats into
 * percpu_counter") turned mm->rss_stat from a struct of atomics into an array
 * of percpu_counter. Before it, the counters were atomic_long_t count[].
 */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

/*
 * The value /proc/PID/status shows (get_mm_counter(): the percpu counter's
 * global count, without folding in the per-CPU deltas, which are bounded by
 * the batch size and not readable without a __percpu-tagged BTF pointer).
 */
static __always_inline __s64 memobs_mm_counter(struct mm_struct *mm, int member)
{
	__s64 value;

	if (bpf_core_type_exists(struct mm_rss_stat___pre62)) {
		struct mm_struct___pre62 *old = (void *)mm;

		value = BPF_CORE_READ(old, rss_stat.count[member].counter);
	} else {
		value = BPF_CORE_READ(mm, rss_stat[member].count);
	}
	return value < 0 ? 0 : value;
}

#endif /* MEMOBS_CORE_FIXES_BPF_H */
