/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The aggregation model: task records of one sampler pass in, one snapshot
 * out (per process, per cgroup). Pure C, unit-tested without BPF. It keeps
 * what it needs across passes: each process's fault total (to report faults
 * per interval) and each cgroup's running fault total.
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

#endif /* MEMOBS_AGG_H */
