/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `memobs run` options: parsed in one place, read-only afterwards. */
#ifndef MEMOBS_RUN_OPTS_H
#define MEMOBS_RUN_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
#include "cli/opts.h"

struct run_opts {
	double interval_s;		  /* --interval, default 1 */
	double duration_s;		  /* --duration; 0: until SIGINT/SIGTERM */
	double window_s;		  /* --window, default 300 */
	double min_growth_bytes_per_s;	  /* --min-growth, default 32 KiB/s */
	bool snapshots;			  /* --snapshots: a sample line per cgroup per interval */
	bool no_detect;			  /* --no-detect */
	__u32 ringbuf_bytes;		  /* --ringbuf-size */
	double stats_every_s;		  /* --stats-interval, default 60 */
	const char *pods_dir;		  /* --pods-dir: the kubelet's pod log tree */
	const char *socket_path;	  /* --socket; NULL with --no-socket */
	const char *metrics_addr;	  /* --metrics ADDR:PORT; NULL: no metrics */
	const char *health_addr;	  /* --health ADDR:PORT; NULL: /healthz on --metrics only */
	unsigned int metrics_max_cgroups; /* --metrics-max-cgroups; 0: the default */
	bool malloc_all;		  /* --malloc */
	bool trace_mm_all;		  /* --trace-mm */
	bool no_escalate;		  /* --no-escalate */
	double escalate_for_s;		  /* --escalate-for, default 60 */
	__u64 malloc_sample_bytes;	  /* --malloc-sample-bytes; 0: the default */
	__u32 stack_bytes;		  /* --stack-bytes; 0: the default, ATTR_FP_ONLY: no copy */
	const char *profile_dir;	  /* --profile-dir; NULL: no profiles */
	unsigned int profile_keep;	  /* --profile-keep; 0: the default */
	const char *wrappers;		  /* --wrappers, checked (model/caller.h); NULL: defaults */
	int verbosity;			  /* -v, repeatable */
};

/* Parses argv (argv[0] = "run"); on OPTS_USAGE_ERROR, err names the bad value. */
enum opts_result run_opts__parse(int argc, char **argv, struct run_opts *opts, char *err,
				 size_t err_size);
void run_opts__usage(FILE *out);

#endif /* MEMOBS_RUN_OPTS_H */
