/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reading a task's memory figures and cgroup; shared by the core programs. */
#ifndef MEMOBS_TASK_MEM_BPF_H
#define MEMOBS_TASK_MEM_BPF_H

#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include "core_fixes.bpf.h"

/*
 * The rss_stat indices (MM_FILEPAGES .. MM_SHMEMPAGES) sit in an anonymous
 * enum, which CO-RE cannot relocate; they have had these values since Linux
 * 4.5 added MM_SHMEMPAGES.
 */

/* The cgroup v2 id: what bpf_get_current_cgroup_id() returns for that task. */
static __always_inline __u64 memobs_task_cgroup_id(struct task_struct *task)
{
	return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

struct memobs_mm_pages {
	__u64 anon;
	__u64 file;
	__u64 shmem;
	__u64 swap;
};

/* cpu_offsets, nr_cpus: see memobs_mm_counter() (nr_cpus 0: the global counts only). */
static __always_inline void memobs_read_mm_pages(struct mm_struct *mm, struct memobs_mm_pages *out,
						 const __u64 *cpu_offsets, __u32 nr_cpus)
{
	out->file = memobs_mm_counter(mm, MM_FILEPAGES, cpu_offsets, nr_cpus);
	out->anon = memobs_mm_counter(mm, MM_ANONPAGES, cpu_offsets, nr_cpus);
	out->swap = memobs_mm_counter(mm, MM_SWAPENTS, cpu_offsets, nr_cpus);
	out->shmem = memobs_mm_counter(mm, MM_SHMEMPAGES, cpu_offsets, nr_cpus);
}

#endif /* MEMOBS_TASK_MEM_BPF_H */
