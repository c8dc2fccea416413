/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The leak detector: per cgroup and per metric, a bounded series of the last
 * window of samples, tested for growth (trend.h) as snapshots come, and the
 * alert lifecycle on top: "suspected" once the test holds on K consecutive
 * evaluations (once per episode), "cleared" when the cgroup went away, or
 * when no evaluation has found growth for a whole window and, K evaluations
 * in a row, the window's floor no longer rises (docs/detector.md). Pure C:
 * no libbpf, no I/O.
 */
#ifndef MEMOBS_DETECTOR_H
#define MEMOBS_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "memobs.h"
#include "model/snapshot.h"
#include "detect/trend.h"

#define DETECTOR_DEFAULT_WINDOW_S 300.0
#define DETECTOR_DEFAULT_INTERVAL_S 1.0
#define DETECTOR_DEFAULT_MIN_GROWTH (32.0 * 1024)
#define DETECTOR_DEFAULT_CONSECUTIVE 3

struct detector_opts {
	double window_s;	       /* the series holds this much history */
	double interval_s;	       /* the expected time between snapshots */
	double min_growth_bytes_per_s; /* slower growth is never a leak */
	unsigned consecutive;	       /* K: evaluations in a row before "suspected" */
	bool malloc_metric;	       /* also watch cgroup_stat.malloc_outstanding_bytes */
	/* NULL: trend_params__default(); min_growth always comes from above. */
	const struct trend_params *trend;
};

/* The documented defaults (300 s, 1 s, 32 KiB/s, K = 3). */
void detector_opts__default(struct detector_opts *opts);
/*
 * Checks the options a person gave. Returns 0, or -EINVAL with a one-line
 * reason naming the bad value in err (for the caller to print and exit 2).
 */
int detector_opts__check(const struct detector_opts *opts, char *err, size_t err_len);

enum leak_metric {
	LEAK_METRIC_ANON_RSS = 0,
	LEAK_METRIC_HEAP = 1,	/* brk - start_brk */
	LEAK_METRIC_MMAP = 2,	/* private writable mappings but the heap */
	LEAK_METRIC_MALLOC = 3, /* outstanding bytes from allocation tracing */
	LEAK_METRIC_NR = 4,
};

const char *leak_metric__str(enum leak_metric m); /* "anon_rss", "heap", "mmap", "malloc" */

enum leak_alert_state {
	LEAK_ALERT_SUSPECTED = 0,
	LEAK_ALERT_CLEARED = 1,
};

struct leak_alert {
	enum leak_alert_state state;
	enum leak_metric metric;
	__u64 cgroup_id;
	const char *path;	   /* the detector's copy; NULL while unresolved */
	__u64 bytes;		   /* the metric now (last value seen when cleared) */
	double growth_bytes_per_s; /* Theil-Sen slope of the last evaluation */
	double window_s;
	double confidence;	/* one-sided Mann-Kendall confidence, 0..1 */
	__u64 limit_bytes;	/* 0: none (null in JSON) */
	double time_to_limit_s; /* < 0: unknown (null in JSON) */
	bool has_top_process;
	__u32 top_pid; /* the process whose metric grew most while seen */
	char top_comm[MEMOBS_COMM_LEN];
};

struct detector;

/* Returns NULL with errno set (EINVAL: bad options, see detector_opts__check). */
struct detector *detector__new(const struct detector_opts *opts);
void detector__free(struct detector *d);

/*
 * Feeds one snapshot: every cgroup's sample goes into its series, due series
 * are evaluated, and each cgroup is annotated (growth_bytes_per_s: the
 * anon_rss slope of its last evaluation; leak_state; time_to_limit_s while
 * suspected and limit_bytes, which the caller fills first, is set).
 * *alerts gets the alerts this snapshot raised, owned by the detector and
 * valid until the next call. Returns 0 or -ENOMEM.
 */
int detector__update(struct detector *d, struct snapshot *snap, const struct leak_alert **alerts,
		     size_t *nr_alerts);

/* Counters for the benchmark and for debugging. */
struct detector_stats {
	__u64 samples;	   /* series samples taken */
	__u64 evaluations; /* series evaluations that were due */
	__u64 full_tests;  /* of which ran trend_assess (the rest were gated out) */
	__u64 resets;	   /* restarts and steps */
};
void detector__stats(const struct detector *d, struct detector_stats *out);

#endif /* MEMOBS_DETECTOR_H */
