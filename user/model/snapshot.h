/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The model: what memobs knows of the host at one pass of the sampler.
 * One snapshot feeds every renderer (JSON lines, `memobs top`, metrics, the
 * daemon socket). Pure data: no libbpf, no terminal.
 *
 * The sampler fills the measured fields; later stages of the pipeline
 * (identity, limits, detector, allocation tracing) annotate each cgroup with
 * what they know, leaving the zero value where they know nothing.
 */
#ifndef MEMOBS_SNAPSHOT_H
#define MEMOBS_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "memobs.h"

struct container_id; /* container.h */

/*
 * The memory figures of a process, or summed over a cgroup's processes: one
 * plain struct, added whole (mem_figures__add), copied whole, and carried
 * on the snapshot socket as is.
 */
struct mem_figures {
	__u64 anon_rss_bytes;
	__u64 file_rss_bytes;
	__u64 shmem_rss_bytes;
	__u64 swap_bytes;
	__u64 heap_bytes;    /* brk - start_brk: virtual */
	__u64 data_vm_bytes; /* VmData: private writable, non-stack, virtual */
	__u64 mmap_bytes;    /* VmData less the heap: private writable mappings, virtual */
	__u64 page_faults;   /* minor + major during this interval */
};

void mem_figures__add(struct mem_figures *sum, const struct mem_figures *x);
/* Takes back what mem_figures__add added: sums kept across passes change by deltas. */
void mem_figures__sub(struct mem_figures *sum, const struct mem_figures *x);

/* One process in one pass. */
struct proc_stat {
	__u32 pid;
	__u32 nr_threads;
	__u64 cgroup_id;
	__u64 start_time_ns; /* boot-relative: with pid, names a process uniquely */
	char comm[MEMOBS_COMM_LEN];
	struct mem_figures mem;
	__u64 total_vm_bytes; /* VmSize */
	__u64 faults_total;   /* minor + major since the process started */
};

enum leak_state {
	LEAK_NONE = 0,
	LEAK_SUSPECTED = 1,
};

/* One cgroup (= container) in one pass: the sum over its processes. */
struct cgroup_stat {
	__u64 id;   /* cgroup v2 id (the cgroup directory's inode number) */
	char *path; /* relative to the cgroup2 root, starts with "/"; owned */
	__u32 nr_procs;
	__u32 first_proc;	 /* index of its first process in snapshot.procs */
	struct mem_figures mem;	 /* the sum over its processes */
	__u64 page_faults_total; /* since memobs started */

	/* Annotations by later stages; zero when unknown. */
	__u64 limit_bytes;	   /* smallest effective memory limit; 0: none */
	double growth_bytes_per_s; /* anon RSS trend slope from the detector */
	double time_to_limit_s;	   /* < 0: unknown or no limit */
	enum leak_state leak_state;
	__u64 malloc_outstanding_bytes; /* estimated from sampled allocations */
	bool malloc_traced; /* its allocations are traced now: the estimate above means something */
	__u64 oom_kills_total;
	const struct container_id *container; /* NULL: not a container; not owned */
};

struct snapshot {
	__u64 ts_ms;		     /* wall clock at the pass, ms since the epoch */
	__u64 mono_ns;		     /* CLOCK_MONOTONIC at the pass */
	double interval_s;	     /* since the previous pass; 0 on the first */
	struct cgroup_stat *cgroups; /* sorted by id */
	size_t nr_cgroups;
	struct proc_stat *procs; /* grouped by cgroup (cgroup order), then by pid */
	size_t nr_procs;
	__u64 host_mem_total_bytes;	/* MemTotal */
	__u64 host_mem_available_bytes; /* MemAvailable */
};

void snapshot__free(struct snapshot *snap);
/* Binary search by id; NULL when the cgroup has no process in this pass. */
struct cgroup_stat *snapshot__find_cgroup(const struct snapshot *snap, __u64 id);

#endif /* MEMOBS_SNAPSHOT_H */
