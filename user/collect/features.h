/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What this kernel offers, probed before anything loads: a hook the kernel
 * lacks is disabled with a message naming the feature, never a crash.
 */
#ifndef MEMOBS_FEATURES_H
#define MEMOBS_FEATURES_H

#include <stdbool.h>
#include "util/mountinfo.h"

struct features {
	bool btf;	     /* /sys/kernel/btf/vmlinux: CO-RE needs it */
	bool bpf_syscall;    /* bpf() answers (privilege and kernel support) */
	bool ringbuf;	     /* BPF_MAP_TYPE_RINGBUF (5.8+) */
	bool task_iter;	     /* iter/task programs (struct bpf_iter__task in BTF) */
	bool oom_tp_task;    /* mark_victim passes the task (6.8+) */
	bool oom_tp_exists;  /* the oom:mark_victim tracepoint exists at all */
	bool tracefs;	     /* mounted (classic tracepoints need it) */
	bool uprobes;	     /* the uprobe PMU is registered */
	bool uprobe_session; /* kfunc bpf_session_is_return (6.13+) */
	bool fault_events; /* a software page-fault perf event opens (escalation's fault samples) */
	bool cgroup2;	   /* a cgroup2 mount was found */
	/*
	 * The process walk: a syscall program with the open-coded task
	 * iterator (kfuncs bpf_iter_task_new with BPF_TASK_ITER_ALL_PROCS,
	 * bpf_task_acquire, bpf_rcu_read_lock; Linux 6.7+): one record per
	 * process instead of one per thread.
	 */
	bool proc_walk;
	/* MEMOBS_SAMPLER=iter/task in the environment: the per-thread sampler even so */
	bool proc_walk_disabled;
};

/* The sampler memobs uses: the process walk where it can, else iter/task. */
static inline bool features__use_proc_walk(const struct features *f)
{
	return f->proc_walk && !f->proc_walk_disabled;
}

/* Probes everything; never fails, absent features are false. */
void features__probe(struct features *f, const struct mounts *m);

#endif /* MEMOBS_FEATURES_H */
