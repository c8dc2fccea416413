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

/* Possible CPUs, set before load: the exact RSS sums their per-CPU parts. */
const volatile __u32 memobs_nr_cpus = 0;

/*
 * A one-element per-CPU array whose element addresses give each CPU's
 * per-CPU offset: bpf_map_lookup_percpu_elem() returns per_cpu_ptr(p, cpu)
 * and the array holds p itself (bpf_array.pptrs[0]).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} memobs_cpu_probe SEC(".maps");

__u64 memobs_cpu_offsets[MEMOBS_MAX_CPUS];
__u32 memobs_cpu_offsets_known; /* CPUs whose offsets are learnt (0: not yet) */

/* A pointer's value as a plain number: the verifier forbids arithmetic between pointer kinds. */
static __always_inline __u64 address_of(const void *const *slot)
{
	__u64 addr = 0;

	bpf_probe_read_kernel(&addr, sizeof(addr), slot);
	return addr;
}

static __always_inline __u32 learn_cpu_offsets(void)
{
	const void *map = &memobs_cpu_probe, *elem;
	__u64 pptr = 0, map_addr;
	__u32 zero = 0, cpu;

	if (memobs_cpu_offsets_known || !memobs_nr_cpus ||
	    !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_map_lookup_percpu_elem))
		return memobs_cpu_offsets_known;
	map_addr = address_of(&map);
	bpf_probe_read_kernel(
		&pptr, sizeof(pptr),
		(const void *)(map_addr + bpf_core_field_offset(struct bpf_array, pptrs)));
	for (cpu = 0; cpu < MEMOBS_MAX_CPUS && cpu < memobs_nr_cpus; cpu++) {
		elem = bpf_map_lookup_percpu_elem(&memobs_cpu_probe, &zero, cpu);
		if (!elem || !pptr)
			return 0;
		memobs_cpu_offsets[cpu] = address_of(&elem) - pptr;
	}
	memobs_cpu_offsets_known = cpu;
	return cpu;
}

/*
 * ctx->task is a trusted BTF pointer: fields are read with plain loads
 * (turned into fault-safe loads by the verifier), not one
 * bpf_probe_read_kernel() call per field as BPF_CORE_READ does; with tens of
 * fields per process that halves the cost of a pass. The accesses are CO-RE
 * relocated all the same (vmlinux.h types carry preserve_access_index).
 */
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
	mm = task->mm;
	if (!mm)
		return 0;

	rec.type = MEMOBS_REC_TASK;
	rec.pid = task->tgid;
	rec.tid = task->pid;
	rec.cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	rec.start_time_ns = task->group_leader->start_time;
	rec.min_flt = task->min_flt;
	rec.maj_flt = task->maj_flt;

	if (rec.pid == rec.tid) {
		rec.flags = MEMOBS_TASK_LEADER;
		/* Faults of threads that already exited were folded in here. */
		rec.min_flt += task->signal->min_flt;
		rec.maj_flt += task->signal->maj_flt;
		memobs_read_mm_pages(mm, &pages, memobs_cpu_offsets, learn_cpu_offsets());
		rec.anon_rss_pages = pages.anon;
		rec.file_rss_pages = pages.file;
		rec.shmem_rss_pages = pages.shmem;
		rec.swap_pages = pages.swap;
		rec.data_vm_pages = mm->data_vm;
		rec.total_vm_pages = mm->total_vm;
		rec.heap_bytes = mm->brk - mm->start_brk;
		__builtin_memcpy(rec.comm, task->comm, sizeof(rec.comm));
	}

	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
