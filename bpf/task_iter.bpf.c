// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The always-on sampler: a task iterator that userspace runs once per
 * interval. Its cost grows with the number of threads alive, not with what
 * they do, so nothing is added to page faults, syscalls or allocations.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "memobs.h"
#include "task_mem.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("iter/task")
int memobs_iter_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct memobs_task_rec rec = {};
	struct memobs_mm_pages pages;
	struct mm_struct *mm;

	if (!task)
		return 0;
	/* Kernel threads and tasks past exit_mm() own no user memory. */
	mm = BPF_CORE_READ(task, mm);
	if (!mm)
		return 0;

	rec.type = MEMOBS_REC_TASK;
	rec.pid = BPF_CORE_READ(task, tgid);
	rec.tid = BPF_CORE_READ(task, pid);
	rec.cgroup_id = memobs_task_cgroup_id(task);
	rec.start_time_ns = BPF_CORE_READ(task, group_leader, start_time);
	rec.min_flt = BPF_CORE_READ(task, min_flt);
	rec.maj_flt = BPF_CORE_READ(task, maj_flt);

	if (rec.pid == rec.tid) {
		rec.flags = MEMOBS_TASK_LEADER;
		/* Faults of threads that already exited were folded in here. */
		rec.min_flt += BPF_CORE_READ(task, signal, min_flt);
		rec.maj_flt += BPF_CORE_READ(task, signal, maj_flt);
		memobs_read_mm_pages(mm, &pages);
		rec.anon_rss_pages = pages.anon;
		rec.file_rss_pages = pages.file;
		rec.shmem_rss_pages = pages.shmem;
		rec.swap_pages = pages.swap;
		rec.data_vm_pages = BPF_CORE_READ(mm, data_vm);
		rec.total_vm_pages = BPF_CORE_READ(mm, total_vm);
		rec.heap_bytes = BPF_CORE_READ(mm, brk) - BPF_CORE_READ(mm, start_brk);
		BPF_CORE_READ_STR_INTO(&rec.comm, task, comm);
	}

	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
