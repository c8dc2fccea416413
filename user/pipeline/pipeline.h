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

struct pipeline;
struct json;

enum pipeline_event_type {
	PIPELINE_EV_OOM_KILL,
	PIPELINE_EV_LEAK, /* an alert from the detector (or its escalation follow-up) */
};

struct pipeline_event {
	enum pipeline_event_type type;
	__u64 ts_ms;
	const struct cgroup_stat *cgroup; /* the cgroup it concerns (id, path, container) */
	/*
	 * Writes the event's own fields (everything after the common ts, type,
	 * cgroup and container) into an open JSON object.
	 */
	void (*write_fields)(const struct pipeline_event *ev, struct json *j);
	const void *data; /* for write_fields */
};

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
	/* Set by a signal handler: waits end early when it turns non-zero. */
	volatile sig_atomic_t *stop;
	/* Called for each event as it happens; may be NULL. */
	void (*on_event)(void *ctx, const struct pipeline_event *ev);
	void *ctx;
};

/* Loads and attaches everything. Returns 0 or -errno (already reported). */
int pipeline__open(struct pipeline **out, const struct pipeline_opts *opts);
/*
 * Sleeps until the next interval is due (returns -EINTR early when a signal
 * arrives), samples, and returns the snapshot, owned by the pipeline and
 * valid until the next call.
 */
int pipeline__next(struct pipeline *p, const struct snapshot **snap);
/* What BPF counted: events submitted, ring-buffer drops, map-full, attach failures. */
struct pipeline_stats {
	__u64 events;
	__u64 ringbuf_drops;
	__u64 map_full;
	__u64 attach_failures;
};
void pipeline__stats(struct pipeline *p, struct pipeline_stats *out);
void pipeline__close(struct pipeline *p); /* detaches everything; NULL-safe */

struct features;
const struct features *pipeline__features(const struct pipeline *p);

#endif /* MEMOBS_PIPELINE_H */
