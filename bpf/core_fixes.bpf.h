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
#include <bpf/bpf_helpers.h>

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

#define MEMOBS_MAX_CPUS 1024

/*
 * The per-CPU deltas of a percpu_counter not yet folded into its count.
 * The counters pointer carries no __percpu BTF tag that bpf_per_cpu_ptr()
 * would take, and __per_cpu_offset[] is a variable that kallsyms lists only
 * with CONFIG_KALLSYMS_ALL, so the caller passes each CPU's per-CPU offset
 * (learnt from a per-CPU array map, see task_iter.bpf.c).
 */
static __always_inline __s64 memobs_percpu_deltas(const __s32 *counters, const __u64 *cpu_offsets,
						  __u32 nr_cpus)
{
	__s64 sum = 0;
	__u32 cpu;

	if (!counters)
		return 0;
	for (cpu = 0; cpu < MEMOBS_MAX_CPUS && cpu < nr_cpus; cpu++) {
		__s32 delta = 0;

		bpf_probe_read_kernel(&delta, sizeof(delta),
				      (const void *)((unsigned long)counters + cpu_offsets[cpu]));
		sum += delta;
	}
	return sum;
}

/*
 * An mm counter in pages. With nr_cpus > 0 (and their offsets) on 6.2+, the exact sum (what
 * /proc/PID/status shows since Linux 6.16 summed the per-CPU parts, commit
 * 5fb8a3a3a4d4, "mm: fix the inaccurate memory statistics issue for users"):
 * each CPU may hold up to the batch size (32+ pages) unfolded, which is the
 * whole of a small process. nr_cpus == 0 reads the cheaper global count.
 */
static __always_inline __s64 memobs_mm_counter(struct mm_struct *mm, int member,
					       const __u64 *cpu_offsets, __u32 nr_cpus)
{
	__s64 value;

	if (bpf_core_type_exists(struct mm_rss_stat___pre62)) {
		struct mm_struct___pre62 *old = (void *)mm;

		value = BPF_CORE_READ(old, rss_stat.count[member].counter);
	} else {
		/* mm is a BTF pointer in every caller: plain loads, no helper call */
		value = mm->rss_stat[member].count;
		if (nr_cpus)
			value += memobs_percpu_deltas(mm->rss_stat[member].counters, cpu_offsets,
						      nr_cpus);
	}
	return value < 0 ? 0 : value;
}

#endif /* MEMOBS_CORE_FIXES_BPF_H */
