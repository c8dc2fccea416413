/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The aggregation model: task records of one sampler pass in, one snapshot
 * out (per process, per cgroup). Pure C, unit-tested without BPF. It keeps
 * the last pass's processes and cgroup sums, and works by change: a process
 * whose figures did not move since the last pass costs one comparison (no
 * sort, no hash, no re-summing of its cgroup); see agg.c.
 */
#ifndef MEMOBS_AGG_H
#define MEMOBS_AGG_H

#include <linux/types.h>
#include "memobs.h"
#include "model/snapshot.h"

struct agg;

struct agg *agg__new(long page_size);
void agg__free(struct agg *agg);
/* Starts a pass at these times (CLOCK_MONOTONIC ns, wall clock ms). */
void agg__begin(struct agg *agg, __u64 mono_ns, __u64 ts_ms);
/*
 * One record of the sampler: a thread's (iter/task) or a whole process's
 * (MEMOBS_TASK_PROCESS, the process walk). Returns 0 or -ENOMEM.
 */
int agg__add_task(struct agg *agg, const struct memobs_task_rec *rec);
/*
 * Ends the pass: a new snapshot the caller owns (cgroup paths left NULL for
 * the caller to resolve). Returns 0 or -ENOMEM.
 */
int agg__end(struct agg *agg, struct snapshot **out);

/* What the last agg__end did, process by process: what "by change" saved. */
struct agg_work {
	size_t unchanged; /* met again, figures as before: one comparison */
	size_t updated;	  /* met again, figures moved: its cgroup's sums by the delta */
	size_t born;	  /* new (or moved between cgroups): merged into the order */
	size_t gone;	  /* exited (or moved): taken out of its cgroup's sums */
	bool resorted;	  /* births or exits: the kept order was merged anew */
};
void agg__work(const struct agg *agg, struct agg_work *out);

#endif /* MEMOBS_AGG_H */
