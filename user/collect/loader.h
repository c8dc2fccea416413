/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The always-on tier's BPF lifecycle: open the core skeleton, choose the
 * programs this kernel supports, size the ring buffer, load, attach each
 * program (counting failures), and detach everything on close.
 */
#ifndef MEMOBS_LOADER_H
#define MEMOBS_LOADER_H

#include <linux/types.h>
#include "memobs.h"
#include "collect/features.h"
#include "model/agg.h"

struct loader;

struct loader_opts {
	const struct features *features;
	__u32 ringbuf_bytes; /* a power of two, >= page size */
};

/* Returns 0 or -errno; reports what failed. */
int loader__open(struct loader **out, const struct loader_opts *opts);
void loader__close(struct loader *l); /* destroys every link; NULL-safe */

/*
 * Runs one pass of the sampler, feeding its records to the aggregation: the
 * process walk (one record per process) where the kernel has it, else (or
 * for a pass the walk cannot cover) iter/task, one record per thread.
 */
int loader__run_iter(struct loader *l, struct agg *agg);
/* The sampler loaded: "process walk" or "iter/task". */
const char *loader__sampler(const struct loader *l);
/*
 * Waits up to timeout_ms for lifecycle records (OOM kills) and drains them:
 * *events gets them, owned by the loader and valid until the next call.
 * Returns how many, or -errno (-EINTR).
 */
int loader__poll(struct loader *l, int timeout_ms, const struct memobs_event **events);
/* Sums the per-CPU stats map: MEMOBS_STAT_* counters. */
int loader__read_stats(struct loader *l, __u64 out[MEMOBS_STAT_NR]);
/* Programs that failed to attach. */
__u64 loader__attach_failures(const struct loader *l);

#endif /* MEMOBS_LOADER_H */
