// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "cli/opts.h"
#include "cli/top_opts.h"
#include "output/snapsock.h"

#define MAX_DELAY_S 3600.0
#define MAX_ROWS 1000000

enum {
	OPT_NO_COLOR = 256,
	OPT_ONCE,
	OPT_JSON,
	OPT_SOCKET,
};

static const struct option long_options[] = {
	{ "delay", required_argument, NULL, 'd' },
	{ "iterations", required_argument, NULL, 'n' },
	{ "sort", required_argument, NULL, 's' },
	{ "reverse", no_argument, NULL, 'R' },
	{ "rows", required_argument, NULL, 'r' },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	OPTS_COMMON_LONG_OPTIONS,
};

void top_opts__usage(FILE *out)
{
	int c;

	fputs("usage: memobs top [options]\n"
	      "A live view of every cgroup's memory: who grows, how fast, how long until its limit.\n"
	      "Reads the snapshots of a running `memobs run` from its socket; with no daemon,\n"
	      "collects in-process (root needed then).\n"
	      "\n"
	      "  -d, --delay S        refresh every S seconds when collecting in-process (default 2;\n"
	      "                       a daemon refreshes at its own interval)\n"
	      "  -n, --iterations N   exit after N refreshes\n"
	      "  -s, --sort KEY       sort column (default growth), one of:\n",
	      out);
	for (c = 0; c < TOP_COL_NR; c++)
		fprintf(out, "                         %-7s %s\n", top_cols[c].key,
			top_cols[c].help);
	fputs("  -R, --reverse        reverse the sort order\n"
	      "  -r, --rows N         show at most N cgroups\n"
	      "      --no-color       no colours (a suspected leak is still marked '!' and LEAK)\n"
	      "      --once           print one plain-text table and exit (for scripts and pipes)\n"
	      "      --json           with --once (or a non-terminal stdout): JSON lines, one per cgroup\n"
	      "      --socket PATH    the daemon's socket (default " SNAPSOCK_DEFAULT_PATH ")\n"
	      "  -v, --verbose        debug diagnostics on stderr (not over the live view)\n"
	      "  -h, --help           this text\n"
	      "When stdout is not a terminal, a table (or JSON lines) is printed per refresh.\n",
	      out);
}

enum opts_result top_opts__parse(int argc, char **argv, struct top_opts *o, char *err,
				 size_t err_size)
{
	__u64 n;
	enum opts_result r;
	int c, col;

	memset(o, 0, sizeof(*o));
	o->delay_s = 2;
	o->sort = TOP_COL_GROWTH;
	o->socket_path = SNAPSOCK_DEFAULT_PATH;
	optind = 0; /* glibc: a full re-initialisation, so that parsing can be repeated */
	opterr = 0; /* our own messages */
	while ((c = getopt_long(argc, argv, ":d:n:s:r:Rvh", long_options, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_seconds(optarg, OPTS_MIN_SECONDS, MAX_DELAY_S, &o->delay_s))
				return opts__bad_value(
					err, err_size, "delay", optarg,
					"seconds from 0.01 to 3600 (e.g. 1, 0.5, 2s)");
			break;
		case 'n':
			if (parse_u64(optarg, 1, UINT32_MAX, &o->iterations))
				return opts__bad_value(err, err_size, "iterations", optarg,
						       "a whole number from 1 to 4294967295");
			break;
		case 's':
			col = top_col__parse(optarg);
			if (col < 0)
				return opts__bad_value(
					err, err_size, "sort", optarg,
					"name, procs, anon, growth, trend, faults, heap, mmap, "
					"malloc, limit, ttl or state");
			o->sort = col;
			break;
		case 'R':
			o->reverse = true;
			break;
		case 'r':
			if (parse_u64(optarg, 1, MAX_ROWS, &n))
				return opts__bad_value(err, err_size, "rows", optarg,
						       "a whole number from 1 to 1000000");
			o->max_rows = (int)n;
			break;
		case OPT_NO_COLOR:
			o->no_color = true;
			break;
		case OPT_ONCE:
			o->once = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_SOCKET:
			if (!*optarg)
				return opts__bad_value(err, err_size, "socket", optarg, "a path");
			o->socket_path = optarg;
			break;
		default:
			if ((r = opts__common(c, argc, argv, &o->verbosity, err, err_size)))
				return r;
		}
	}
	if ((r = opts__no_operands(argc, argv, err, err_size)))
		return r;
	if (o->once)
		o->iterations = 1;
	return OPTS_OK;
}
