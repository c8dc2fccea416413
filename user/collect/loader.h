/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The always-on tier's BPF lifecycle: open the core skeleton, choose the
 * programs this kernel supports, size the ring buffer, load, attach each
 * program (counting failures), and detach everything on close.
 */
#ifndef MEMOBS_LOADER_H
#define MEMOBS_LOADER_H

#include <stdbool.h>
#include <linux/types.h>
#include "memobs.h"
#include "collect/features.h"

struct loader;

struct loader_opts {
	const struct features *features;
	__u32 ringbuf_bytes; /* a power of two, >= page size */
	/* Called for each lifecycle event when the ring buffer is drained. */
	int (*on_event)(void *ctx, const struct memobs_event *ev);
	void *ctx;
};

/* Returns 0 or -errno; reports what failed. */
int loader__open(struct loader **out, const struct loader_opts *opts);
void loader__close(struct loader *l); /* destroys every link; NULL-safe */

/* Runs one pass of the task iterator, calling on_task for each record. */
int loader__run_iter(struct loader *l, int (*on_task)(void *ctx, const struct memobs_task_rec *rec),
		     void *ctx);
/* Waits up to timeout_ms for events and drains them. Returns events seen or -errno (-EINTR). */
int loader__poll(struct loader *l, int timeout_ms);
/* Sums the per-CPU stats map: MEMOBS_STAT_* counters. */
int loader__read_stats(struct loader *l, __u64 out[MEMOBS_STAT_NR]);
/* Programs that failed to attach. */
__u64 loader__attach_failures(const struct loader *l);
/* Whether an OOM-kill hook is attached (the kernel may lack one). */
bool loader__oom_hooked(const struct loader *l);

#endif /* MEMOBS_LOADER_H */
