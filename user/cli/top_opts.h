/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `memobs top` options: parsed in one place, read-only afterwards. */
#ifndef MEMOBS_TOP_OPTS_H
#define MEMOBS_TOP_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
#include "cli/opts.h"
#include "top/top_model.h"

struct top_opts {
	double delay_s;		 /* --delay, default 2: the in-process interval */
	__u64 iterations;	 /* --iterations; 0: until q or a signal (--once: 1) */
	enum top_col sort;	 /* --sort, default growth */
	bool reverse;		 /* --reverse */
	int max_rows;		 /* --rows; 0: all */
	bool no_color;		 /* --no-color */
	bool once;		 /* --once */
	bool json;		 /* --json */
	const char *socket_path; /* --socket */
	int verbosity;		 /* -v, repeatable */
};

/* Parses argv (argv[0] = "top"); on OPTS_USAGE_ERROR, err names the bad value. */
enum opts_result top_opts__parse(int argc, char **argv, struct top_opts *opts, char *err,
				 size_t err_size);
void top_opts__usage(FILE *out);

#endif /* MEMOBS_TOP_OPTS_H */
