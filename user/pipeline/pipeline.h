/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The running collector as one object: loads and attaches the BPF side,
 * runs the sampler once per interval, drains the lifecycle events and runs
 * the later stages (cgroup paths, container identity, limits, detector) over
 * each snapshot. `memobs run` and an in-process `memobs top` both drive it.
 */
#ifndef MEMOBS_PIPELINE_H
#define MEMOBS_PIPELINE_H

#include <signal.h>
#include <stdbool.h>
#include <linux/types.h>
#include "model/snapshot.h"
#include "output/records.h"

struct pipeline;
struct caller_rule;

struct pipeline_opts {
	double interval_s; /* sampler period */
	double window_s;   /* detector window */
	double min_growth_bytes_per_s;
	bool detect;	      /* run the leak detector */
	__u32 ringbuf_bytes;  /* 0: the default */
	const char *pods_dir; /* the kubelet's pod log tree; NULL: /var/log/pods */
	/* The attribution tier (escalate.h). */
	bool malloc_all;   /* --malloc: trace every process's allocations */
	bool trace_mm_all; /* --trace-mm */
	bool escalate;	   /* trace the suspects' allocations for escalate_for_s */
	double escalate_for_s;
	__u64 malloc_sample_bytes; /* 0: the default */
	__u32 stack_bytes;	   /* stack copied per sample (attr.h); 0: the default */
	const char *profile_dir;   /* --profile-dir; NULL: no profiles */
	unsigned int profile_keep; /* --profile-keep; 0: the default */
	/* The caller of each site (model/caller.h, --wrappers); NULL: the defaults; not owned. */
	const struct caller_rule *callers;
	/*
	 * The passes leave the host's memory (/proc/meminfo, for `memobs top`'s
	 * header) to the caller, which reads it when it needs it.
	 */
	bool no_host_memory;
	/* Set by a signal handler: waits end early when it turns non-zero. */
	volatile sig_atomic_t *stop;
};

/* What one call of pipeline__next() produced; owned by the pipeline until the next call. */
struct pipeline_pass {
	const struct snapshot *snap; /* NULL: no pass yet, only events (an OOM kill came) */
	const struct record *events; /* oom_kill and leak records, in the order they came */
	size_t nr_events;
};

/* Loads and attaches everything. Returns 0 or -errno (already reported). */
int pipeline__open(struct pipeline **out, const struct pipeline_opts *opts);
/*
 * Waits until the next interval is due and runs the pass: sampler ->
 * aggregation -> identity -> limits -> detector -> escalator, then returns
 * the snapshot and the events of the pass. Returns earlier, with only events,
 * when an OOM kill arrives in between, so that it is reported at once.
 * Returns 0, -EINTR when a signal arrived, or -errno (reported).
 */
int pipeline__next(struct pipeline *p, struct pipeline_pass *out);
/* What BPF counted: events submitted, ring-buffer drops, map-full, attach failures. */
void pipeline__stats(struct pipeline *p, struct pipeline_stats *out);
void pipeline__close(struct pipeline *p); /* detaches everything; NULL-safe */
/*
 * Called while pipeline__next() waits for the pass, at most a second apart,
 * with the last pass's snapshot: work that should not wait for the next pass
 * (a `memobs top` that just connected gets its first frame).
 */
void pipeline__while_waiting(struct pipeline *p,
			     void (*cb)(struct pipeline *p, const struct snapshot *last, void *ctx),
			     void *ctx);

struct features;
const struct features *pipeline__features(const struct pipeline *p);

#endif /* MEMOBS_PIPELINE_H */
