// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The /proc files memobs parses: meminfo, PID/cgroup (v2 and v1 lines,
 * whose paths a container names), and PID/maps lines (whose paths are any
 * file a target maps). /proc/PID/status is not parsed by memobs (the task
 * iterator reads the figures in the kernel), so it has no harness.
 */
#include "attribute/alloc_libs.h"
#include "util/procfs.h"
#include <errno.h>
#include "fuzz.h"

static void cgroup_paths(const char *text)
{
	char path[4096], small[16];
	int err;

	err = pid_cgroup__parse_v2(text, path, sizeof(path));
	FUZZ_ASSERT(err == 0 || err == -ENOENT || err == -ENAMETOOLONG || err == -EXDEV);
	if (!err)
		FUZZ_ASSERT(strlen(path) < sizeof(path) && !strchr(path, '\n'));
	err = pid_cgroup__parse_v2(text, small, sizeof(small));
	if (!err)
		FUZZ_ASSERT(strlen(small) < sizeof(small));
	err = pid_cgroup__parse_v1(text, "memory", path, sizeof(path));
	FUZZ_ASSERT(err == 0 || err == -ENOENT || err == -ENAMETOOLONG || err == -EXDEV);
	if (!err)
		FUZZ_ASSERT(strlen(path) < sizeof(path) && !strchr(path, '\n'));
	err = pid_cgroup__parse_v1(text, "", small, sizeof(small));
	if (!err)
		FUZZ_ASSERT(strlen(small) < sizeof(small));
}

static void maps_lines(const char *text)
{
	const char *line = text, *nl;
	struct maps_entry e;
	char *copy;

	for (; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line);
		copy = strndup(line, nl - line);
		if (!copy)
			abort();
		if (maps_line__parse(copy, &e) == 0) {
			FUZZ_ASSERT(strnlen(e.path, sizeof(e.path)) < sizeof(e.path));
			FUZZ_ASSERT(strnlen(e.perms, sizeof(e.perms)) < sizeof(e.perms));
		}
		free(copy);
		if (!*nl)
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strdup(data, size);
	struct meminfo mi;
	int err;

	err = meminfo__parse(text, &mi);
	FUZZ_ASSERT(err == 0 || err == -EINVAL);
	cgroup_paths(text);
	maps_lines(text);
	free(text);
	return 0;
}
