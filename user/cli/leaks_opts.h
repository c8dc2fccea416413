/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `memobs leaks` options: parsed in one place, read-only afterwards. */
#ifndef MEMOBS_LEAKS_OPTS_H
#define MEMOBS_LEAKS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
#include "cli/opts.h"

struct leaks_opts {
	const char *cgroup_arg;	 /* --cgroup as given; NULL: none */
	__u64 cgroup_id;	 /* --cgroup resolved, by the command (it knows the mounts) */
	int pid;		 /* --pid; 0: none */
	bool all;		 /* --all */
	double duration_s;	 /* --duration, default 10 */
	__u64 top;		 /* --top, default 10 */
	bool json;		 /* --json */
	__u64 sample_bytes;	 /* --malloc-sample-bytes */
	__u32 stack_bytes;	 /* --stack-bytes; 0: the default, ATTR_FP_ONLY: no copy */
	bool trace_mm;		 /* --trace-mm */
	bool all_sources;	 /* --all-sources: mmap/sbrk and fault samples too */
	bool no_session;	 /* --no-session */
	const char *pprof_path;	 /* --pprof: a gzipped pprof profile; NULL: none */
	const char *folded_path; /* --folded: folded stacks; NULL: none */
	const char *svg_path;	 /* --svg: an SVG flame graph; NULL: none */
	const char *wrappers;	 /* --wrappers, checked (model/caller.h); NULL: the defaults */
	int verbosity;		 /* -v, repeatable */
};

/*
 * Parses argv (argv[0] = "leaks"): exactly one target. On OPTS_USAGE_ERROR,
 * err names the bad value. cgroup_id is left 0: the command resolves --cgroup.
 */
enum opts_result leaks_opts__parse(int argc, char **argv, struct leaks_opts *opts, char *err,
				   size_t err_size);
void leaks_opts__usage(FILE *out);

#endif /* MEMOBS_LEAKS_OPTS_H */
