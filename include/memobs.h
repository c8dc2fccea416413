/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The wire format shared by the BPF programs and userspace.
 *
 * Fixed-width types only and no includes: the BPF side gets __u32/__u64 from
 * vmlinux.h, userspace from <linux/types.h>. Every record begins with a __u32
 * `type` (enum memobs_rec_type) so that one switch dispatches all of them.
 * Records are 8-byte aligned.
 */
#ifndef MEMOBS_H
#define MEMOBS_H

#define MEMOBS_COMM_LEN 16
/* Default capacity of the map of cgroups under watch by the attribution tier. */
#define MEMOBS_MAX_WATCHED_CGROUPS 4096

enum memobs_rec_type {
	MEMOBS_REC_TASK = 1, /* task iterator: one per user thread per pass */
	MEMOBS_REC_EXEC = 2, /* ring buffer: a process called execve */
	MEMOBS_REC_EXIT = 3, /* ring buffer: a thread-group leader exited */
	MEMOBS_REC_OOM = 4,  /* ring buffer: the OOM killer chose a victim */
};

/* Indices into the per-CPU stats array map (memobs_stats). */
enum memobs_stat {
	MEMOBS_STAT_EVENTS = 0,	       /* records submitted to the ring buffer */
	MEMOBS_STAT_RINGBUF_DROPS = 1, /* bpf_ringbuf_reserve() failed */
	MEMOBS_STAT_MAP_FULL = 2,      /* a map update failed with -E2BIG/-ENOMEM */
	MEMOBS_STAT_NR = 3,
};

/* memobs_task_rec.flags */
#define MEMOBS_TASK_LEADER 0x1 /* thread-group leader: the mm figures are valid */

/*
 * One user thread as seen by the task iterator. Only the leader carries the
 * process-wide mm figures (they are shared by all threads); every thread
 * carries its own fault counts, and the leader's also include those of threads
 * that already exited (signal->{min,maj}_flt), so the sum over a process's
 * records is its fault total.
 */
struct memobs_task_rec {
	__u32 type; /* MEMOBS_REC_TASK */
	__u32 flags;
	__u32 pid; /* tgid */
	__u32 tid;
	__u64 cgroup_id;     /* cgroup v2 id (kernfs node id) */
	__u64 start_time_ns; /* leader's start time: tells a reused pid apart */
	__u64 min_flt;
	__u64 maj_flt;
	/*
	 * Resident and virtual sizes in pages: the page size is the kernel's,
	 * which userspace knows and BPF would have to be told.
	 */
	__u64 anon_rss_pages;
	__u64 file_rss_pages;
	__u64 shmem_rss_pages;
	__u64 swap_pages;
	__u64 data_vm_pages; /* private writable, non-stack: VmData */
	__u64 total_vm_pages;
	__u64 heap_bytes; /* brk - start_brk */
	char comm[MEMOBS_COMM_LEN];
};

/* Low-rate lifecycle events (exec, exit, OOM kill) on the ring buffer. */
struct memobs_event {
	__u32 type; /* MEMOBS_REC_EXEC, MEMOBS_REC_EXIT or MEMOBS_REC_OOM */
	__u32 pid;  /* tgid of the subject (for OOM: the victim) */
	__u64 cgroup_id; /* the subject's cgroup, not the current task's */
	__u64 ts_ns;	 /* bpf_ktime_get_ns() */
	__u64 anon_rss_pages; /* OOM only: the victim's resident pages at the kill */
	__u64 file_rss_pages;
	__u64 shmem_rss_pages;
	char comm[MEMOBS_COMM_LEN];
};

#endif /* MEMOBS_H */
