/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The attribution tier inside `memobs run`: host-wide allocation tracing
 * (--malloc, --trace-mm) and escalation. When the detector suspects a
 * cgroup and host-wide tracing is off, its processes get pid-filtered
 * malloc-family probes for --escalate-for seconds; then a second `leak` line
 * of the same episode carries the call sites, and the probes go.
 */
#ifndef MEMOBS_ESCALATE_H
#define MEMOBS_ESCALATE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "detect/detector.h"
#include "output/records.h"
#include "model/snapshot.h"

struct escalator;
struct cgroup_resolver;
struct features;
struct mounts;

struct escalator_opts {
	bool malloc_all;   /* --malloc: trace every process's allocations */
	bool trace_mm_all; /* --trace-mm: mmap/brk/fault hooks for every cgroup */
	bool escalate;	   /* attach to suspects (when malloc_all is off) */
	double escalate_for_s;
	__u64 sample_bytes; /* 0: the default */
	unsigned int top_sites;
	/* the caller's host context, not owned: passed on to attr_opts (attribute/attr.h) */
	const struct mounts *mounts;
	const struct features *features;
	struct cgroup_resolver *cgroups;
};

/* Returns 0 or -errno (reported); with only `escalate` asked, a kernel without uprobes gives -EOPNOTSUPP. */
int escalator__open(struct escalator **out, const struct escalator_opts *opts);
void escalator__close(struct escalator *e); /* detaches everything; NULL-safe */

/* Drains sampled allocations, waiting up to timeout_ms. Returns >= 0 or -errno (-EINTR). */
int escalator__poll(struct escalator *e, int timeout_ms);
/* Sets malloc_outstanding_bytes on every cgroup (host-wide tracing only). */
void escalator__annotate(struct escalator *e, struct snapshot *snap);
/* A detector alert: a suspected cgroup gets probes (if escalation is on). */
void escalator__on_alert(struct escalator *e, const struct snapshot *snap,
			 const struct leak_alert *alert);
/*
 * Escalations whose time is up: their probes go, and *records gets their
 * follow-up leak records (owned by the escalator, valid until the next call).
 * Returns how many.
 */
size_t escalator__finish_due(struct escalator *e, const struct snapshot *snap,
			     const struct record **records);
/*
 * Adds what the attribution tier counted to st: its ring-buffer drops, its
 * full maps (live allocations, stacks, calls in flight, mm sites) to
 * map_full, its failed attaches.
 */
void escalator__add_stats(struct escalator *e, struct pipeline_stats *st);

#endif /* MEMOBS_ESCALATE_H */
