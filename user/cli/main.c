// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The command table: `memobs CMD [options]`. */
#include <stdio.h>
#include <string.h>
#include "cli/cmd.h"
#include "collect/libbpf_log.h"
#include "util/log.h"

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
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-7s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'memobs COMMAND --help' for a command's options; 'memobs --version'.\n", out);
}

int main(int argc, char **argv)
{
	size_t i;
	int arg = 1;

	log_level = LOG_INFO;
	libbpf_log__install();
	while (arg < argc && !strcmp(argv[arg], "-v")) {
		log_level++;
		arg++;
	}
	if (arg >= argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[arg], "--help") || !strcmp(argv[arg], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[arg], "--version")) {
		printf("memobs %s\n", MEMOBS_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[arg], commands[i].name))
			return commands[i].run(argc - arg, argv + arg);
	p_err("unknown command '%s' (see 'memobs --help')", argv[arg]);
	return 2;
}
