// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The command table: `memobs CMD [options]`. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "cli/cmd.h"
#include "cli/opts.h"
#include "collect/libbpf_log.h"
#include "util/array.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", cmd_run, "sample every cgroup, detect leaks, report JSON lines (the daemon)" },
	{ "leaks", cmd_leaks,
	  "trace a process or cgroup's allocations; print its leaking call sites" },
	{ "top", cmd_top, "live view of every cgroup's memory (from the daemon's socket)" },
	{ "check", cmd_check,
	  "print each kernel feature and privilege memobs needs, ok or missing" },
};

static void usage(FILE *out)
{
	size_t i;

	fputs("usage: memobs [-v] COMMAND [options]\n"
	      "A host-wide memory observer: finds the leaking container, its call sites, and the time\n"
	      "until the OOM killer fires.\n\ncommands:\n",
	      out);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-7s %s\n", commands[i].name, commands[i].summary);
	fputs("\n  -v, --verbose  debug diagnostics on stderr, libbpf's included (before or after\n"
	      "                 COMMAND)\n"
	      "\n'memobs COMMAND --help' for a command's options; 'memobs --version'.\n",
	      out);
}

/* "-v", "-vv", ... or "--verbose": adds its count of v's to *n. */
static bool verbose_flag(const char *arg, int *n)
{
	size_t len = strspn(arg + (arg[0] == '-'), "v");

	if (!strcmp(arg, "--verbose")) {
		(*n)++;
		return true;
	}
	if (arg[0] != '-' || !len || arg[1 + len])
		return false;
	*n += (int)len;
	return true;
}

int main(int argc, char **argv)
{
	char msg[128];
	int arg = 1, verbosity = 0;
	size_t i;

	libbpf_log__install();
	while (arg < argc && verbose_flag(argv[arg], &verbosity))
		arg++;
	opts__add_verbosity(verbosity);
	if (arg >= argc) {
		usage(stderr);
		return OPTS_EXIT_USAGE;
	}
	if (!strcmp(argv[arg], "--help") || !strcmp(argv[arg], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[arg], "--version")) {
		printf("memobs %s\n", MEMOBS_VERSION);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[arg], commands[i].name))
			return commands[i].run(argc - arg, argv + arg);
	opts__fail(msg, sizeof(msg), "unknown %s '%s'", argv[arg][0] == '-' ? "option" : "command",
		   argv[arg]);
	return opts__exit_status(OPTS_USAGE_ERROR, NULL, msg, NULL);
}
