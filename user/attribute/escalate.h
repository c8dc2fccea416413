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
struct caller_rule;
struct cgroup_resolver;
struct features;
struct mounts;

struct escalator_opts {
	bool malloc_all;   /* --malloc: trace every process's allocations */
	bool trace_mm_all; /* --trace-mm: mmap/brk/fault hooks for every cgroup */
	bool escalate;	   /* attach to suspects (when malloc_all is off) */
	double escalate_for_s;
	__u64 sample_bytes; /* 0: the default */
	__u32 stack_bytes;  /* stack copied per sample (attr.h); 0: the default */
	unsigned int top_sites;
	/* the caller of each site (model/caller.h, --wrappers); NULL: the defaults; not owned */
	const struct caller_rule *callers;
	/* --profile-dir: a pprof per escalation and per --malloc alert (output/profile_dir.h) */
	const char *profile_dir; /* NULL: none */
	unsigned int profile_keep;
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
/* Whether anything is traced now (an escalation, or host-wide): its ring needs draining. */
bool escalator__tracing(const struct escalator *e);
/*
 * Sets malloc_outstanding_bytes and malloc_traced on the cgroups traced: every
 * cgroup with host-wide tracing, else the suspects while they are escalated.
 */
void escalator__annotate(struct escalator *e, struct snapshot *snap);
/* A detector alert: a suspected cgroup gets probes (if escalation is on). */
void escalator__on_alert(struct escalator *e, const struct snapshot *snap,
			 const struct leak_alert *alert);
/*
 * With host-wide tracing (--malloc) the samples of a cgroup are there when
 * it is first suspected: its top sites now, for the episode's first line
 * (owned by the escalator, valid until the first call for another
 * snapshot). 0 without host-wide tracing.
 */
size_t escalator__sites_now(struct escalator *e, const struct snapshot *snap, __u64 cgroup_id,
			    const char *path, const struct site_record **sites,
			    const char **profile);
/*
 * Escalations whose time is up: their probes go, and *records gets their
 * follow-up leak records (owned by the escalator, valid until the next call).
 * Returns how many.
 */
size_t escalator__finish_due(struct escalator *e, const struct snapshot *snap,
			     const struct record **records);
/*
 * The profile of an OOM kill's cgroup: written now when its allocations are
 * traced (escalated, or --malloc: the samples of what filled it are there),
 * else the last one written for it at since_ms or later; NULL: none. Valid
 * until the escalator writes 64 more.
 */
const char *escalator__oom_profile(struct escalator *e, __u64 cgroup_id, const char *path,
				   __u64 ts_ms, __u64 since_ms);
/*
 * Adds what the attribution tier counted to st: its ring-buffer drops, its
 * full maps (live allocations, stacks, calls in flight, mm sites) to
 * map_full, its failed attaches.
 */
void escalator__add_stats(struct escalator *e, struct pipeline_stats *st);

#endif /* MEMOBS_ESCALATE_H */
