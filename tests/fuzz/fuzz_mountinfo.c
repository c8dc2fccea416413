// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/PID/mountinfo is written by the kernel, but its paths are whatever
 * mounts a container made (memobs reads other processes' tables): every
 * line through mountinfo__parse_line(), the whole text through
 * mounts__discover() (from a memfd, as it reads a file).
 */
#include <sys/mman.h>
#include <unistd.h>
#include "util/mountinfo.h"
#include "fuzz.h"

static void parse_lines(const char *text)
{
	const char *line = text, *nl;

	for (; *line; line = nl + 1) {
		struct mountinfo_entry e;
		char *copy;

		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line);
		copy = strndup(line, nl - line);
		if (!copy)
			abort();
		if (mountinfo__parse_line(copy, &e) == 0) {
			/* the fields point into the line: all NUL-terminated within it */
			FUZZ_ASSERT(strlen(e.root) <= (size_t)(nl - line));
			FUZZ_ASSERT(strlen(e.mount_point) <= (size_t)(nl - line));
			FUZZ_ASSERT(strlen(e.fstype) + strlen(e.source) <= (size_t)(nl - line));
			FUZZ_ASSERT(strlen(e.super_opts) <= (size_t)(nl - line));
		}
		free(copy);
		if (!*nl)
			break;
	}
}

static void discover(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64];
	struct mounts m;

	if (fd < 0)
		fd = memfd_create("mountinfo", 0);
	if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (mounts__discover(&m, path) == 0) {
		FUZZ_ASSERT(strnlen(m.cgroup2, sizeof(m.cgroup2)) < sizeof(m.cgroup2));
		FUZZ_ASSERT(strnlen(m.memcg_v1, sizeof(m.memcg_v1)) < sizeof(m.memcg_v1));
		FUZZ_ASSERT(strnlen(m.tracefs, sizeof(m.tracefs)) < sizeof(m.tracefs));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strdup(data, size);

	parse_lines(text);
	free(text);
	discover(data, size);
	return 0;
}
