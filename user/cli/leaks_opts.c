// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "attribute/attr.h"
#include "cli/leaks_opts.h"
#include "cli/opts.h"

#define MAX_DURATION_S (7.0 * 86400)
#define MAX_TOP 100000

enum {
	OPT_CGROUP = 256,
	OPT_PID,
	OPT_ALL,
	OPT_DURATION,
	OPT_TOP,
	OPT_JSON,
	OPT_SAMPLE,
	OPT_TRACE_MM,
	OPT_NO_SESSION,
	OPT_PPROF,
	OPT_FOLDED,
	OPT_SVG,
	OPT_WRAPPERS,
	OPT_STACK_BYTES,
	OPT_ALL_SOURCES,
};

static const struct option long_options[] = {
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "malloc-sample-bytes", required_argument, NULL, OPT_SAMPLE },
	{ "trace-mm", no_argument, NULL, OPT_TRACE_MM },
	{ "no-session", no_argument, NULL, OPT_NO_SESSION },
	{ "pprof", required_argument, NULL, OPT_PPROF },
	{ "folded", required_argument, NULL, OPT_FOLDED },
	{ "svg", required_argument, NULL, OPT_SVG },
	{ "wrappers", required_argument, NULL, OPT_WRAPPERS },
	{ "stack-bytes", required_argument, NULL, OPT_STACK_BYTES },
	{ "all-sources", no_argument, NULL, OPT_ALL_SOURCES },
	OPTS_COMMON_LONG_OPTIONS,
};

void leaks_opts__usage(FILE *out)
{
	fputs("usage: memobs leaks (--cgroup PATH|ID | --pid PID | --all) [--duration S] [--top N]\n"
	      "                    [--json] [--malloc-sample-bytes N] [--trace-mm] [--no-session]\n"
	      "                    [--pprof FILE] [--folded FILE] [--svg FILE] [--wrappers LIST]\n"
	      "                    [--stack-bytes N] [--all-sources]\n"
	      "Traces allocations of the named processes for S seconds (default 10; Ctrl-C ends\n"
	      "early), then prints the call sites with the most bytes outstanding. Allocations\n"
	      "are sampled every N bytes on average (default 512K; 1: every allocation): bytes\n"
	      "and counts are estimates.\n"
	      "  --cgroup PATH|ID   a cgroup v2 (path under the cgroup2 mount, or its id), with\n"
	      "                     its descendants; processes that start there are traced too\n"
	      "  --pid PID          one process\n"
	      "  --all              every process on the host (probes attached once per file)\n"
	      "  --top N            call sites to print (default 10)\n"
	      "  --json             JSON lines: one per site, then a summary\n"
	      "  --trace-mm         also count mmap/munmap/mremap/brk and page faults by call site\n"
	      "  --all-sources      also sample anonymous mmap/sbrk and page faults, as an\n"
	      "                     escalation does (sites of source mmap, brk, fault); with\n"
	      "                     --pid or --cgroup only\n"
	      "  --no-session       return probes on every call even where uprobe sessions exist\n"
	      "  --pprof FILE       also write every site as a gzipped pprof heap profile\n"
	      "                     (go tool pprof, Pyroscope, Parca, speedscope)\n"
	      "  --folded FILE      ... as folded stacks, root first (flamegraph.pl, inferno)\n"
	      "  --svg FILE         ... as an SVG flame graph of the bytes outstanding\n"
	      "  --wrappers LIST    function globs, comma-separated, that a site's caller is not\n"
	      "                     (its wrappers of malloc), besides the defaults; a leading '='\n"
	      "                     replaces them: --wrappers =mymalloc,my_*\n"
	      "  --stack-bytes N    stack copied per sampled call for the CFI unwinder (default\n"
	      "                     16K, the most); 0: frame pointers only (docs/unwinding.md)\n"
	      "  -v, --verbose      debug diagnostics on stderr, libbpf's included\n"
	      "  -h, --help         this text\n",
	      out);
}

enum opts_result leaks_opts__parse(int argc, char **argv, struct leaks_opts *o, char *err,
				   size_t err_size)
{
	__u64 v;
	enum opts_result r;
	int c, targets = 0;

	memset(o, 0, sizeof(*o));
	o->duration_s = 10;
	o->top = 10;
	o->sample_bytes = ATTR_DEFAULT_SAMPLE_BYTES;
	optind = 0; /* glibc: a full re-initialisation, so that parsing can be repeated */
	opterr = 0; /* our own messages */
	while ((c = getopt_long(argc, argv, ":vh", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_CGROUP:
			o->cgroup_arg = optarg;
			targets++;
			break;
		case OPT_PID:
			if (parse_u64(optarg, 1, INT_MAX, &v))
				return opts__bad_value(err, err_size, "pid", optarg,
						       "a process id");
			o->pid = (int)v;
			targets++;
			break;
		case OPT_ALL:
			o->all = true;
			targets++;
			break;
		case OPT_DURATION:
			if (parse_seconds(optarg, OPTS_MIN_SECONDS, MAX_DURATION_S, &o->duration_s))
				return opts__bad_value(err, err_size, "duration", optarg,
						       "seconds from 0.01 to 7 days (e.g. 30, 2m)");
			break;
		case OPT_TOP:
			if (parse_u64(optarg, 1, MAX_TOP, &o->top))
				return opts__bad_value(err, err_size, "top", optarg,
						       "a count from 1 to 100000");
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_SAMPLE:
			if ((r = opts__sample_bytes(optarg, &o->sample_bytes, err, err_size)))
				return r;
			break;
		case OPT_TRACE_MM:
			o->trace_mm = true;
			break;
		case OPT_ALL_SOURCES:
			o->all_sources = true;
			break;
		case OPT_NO_SESSION:
			o->no_session = true;
			break;
		case OPT_PPROF:
			o->pprof_path = optarg;
			break;
		case OPT_FOLDED:
			o->folded_path = optarg;
			break;
		case OPT_SVG:
			o->svg_path = optarg;
			break;
		case OPT_WRAPPERS:
			if ((r = opts__wrappers(optarg, &o->wrappers, err, err_size)))
				return r;
			break;
		case OPT_STACK_BYTES:
			if ((r = opts__stack_bytes(optarg, &o->stack_bytes, err, err_size)))
				return r;
			break;
		default:
			if ((r = opts__common(c, argc, argv, &o->verbosity, err, err_size)))
				return r;
		}
	}
	if ((r = opts__no_operands(argc, argv, err, err_size)))
		return r;
	if ((o->pprof_path && !*o->pprof_path) || (o->folded_path && !*o->folded_path) ||
	    (o->svg_path && !*o->svg_path))
		return opts__fail(err, err_size,
				  "expected a file name after --pprof, --folded, --svg");
	if (targets != 1)
		return opts__fail(err, err_size, "%s one of --cgroup, --pid or --all",
				  targets ? "expected only" : "expected");
	if (o->all_sources && o->all)
		return opts__fail(
			err, err_size,
			"--all-sources traces named processes (--pid or --cgroup), not --all");
	return OPTS_OK;
}
