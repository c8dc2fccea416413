// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "util/procfs.h"

#define SMALL_FILE_MAX (1 << 20)

int read_small_file(const char *path, char **text)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *bigger;
	ssize_t n;
	int fd, err = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		free(buf);
		return err;
	}
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= SMALL_FILE_MAX) {
				err = -EFBIG;
				break;
			}
			bigger = realloc(buf, cap * 2);
			if (!bigger) {
				err = -ENOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

/* The value of "Key:   1234 kB" lines, in bytes. */
static int meminfo_field(const char *text, const char *key, __u64 *bytes)
{
	size_t n = strlen(key);
	const char *p = text;
	unsigned long long kib;

	while (p && *p) {
		if (!strncmp(p, key, n) && p[n] == ':') {
			if (sscanf(p + n + 1, " %llu", &kib) != 1)
				return -EINVAL;
			*bytes = (__u64)kib * 1024;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

int meminfo__parse(const char *text, struct meminfo *out)
{
	out->mem_available_bytes = 0;
	if (meminfo_field(text, "MemTotal", &out->mem_total_bytes))
		return -EINVAL;
	/* MemAvailable exists since 3.14; without it report none rather than guess */
	meminfo_field(text, "MemAvailable", &out->mem_available_bytes);
	return 0;
}

int meminfo__read(const char *proc_root, struct meminfo *out)
{
	char path[4096], *text;
	int err;

	snprintf(path, sizeof(path), "%s/meminfo", proc_root);
	err = read_small_file(path, &text);
	if (err)
		return err;
	err = meminfo__parse(text, out);
	free(text);
	return err;
}

static int copy_line_rest(const char *start, char *out, size_t size)
{
	size_t n = strcspn(start, "\n");

	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(out, start, n);
	out[n] = '\0';
	return 0;
}

/* An absolute path with no "." or ".." component: it stays below what it is joined to. */
static bool path_stays_below(const char *path)
{
	const char *c = path, *end;
	size_t n;

	if (path[0] != '/')
		return false;
	for (; *c; c = end) {
		while (*c == '/')
			c++;
		end = strchrnul(c, '/');
		n = end - c;
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
	}
	return true;
}

int pid_cgroup__parse_v2(const char *text, char *out, size_t size)
{
	const char *p = text;
	int err;

	/* hierarchy id 0 with an empty controller list is the unified hierarchy */
	while (p && *p) {
		if (!strncmp(p, "0::", 3)) {
			err = copy_line_rest(p + 3, out, size);
			/*
			 * A cgroup outside the reader's cgroup namespace reads
			 * "/../../x": relative to a root we cannot name, and
			 * joined to a mount it would climb out of it.
			 */
			if (!err && !path_stays_below(out)) {
				out[0] = '\0';
				err = -EXDEV;
			}
			return err;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

int pid_cgroup__parse_v1(const char *text, const char *controller, char *out, size_t size)
{
	size_t n = strlen(controller);
	const char *p = text, *ctrls, *path, *c;

	while (p && *p) {
		ctrls = strchr(p, ':');
		path = ctrls ? strchr(ctrls + 1, ':') : NULL;
		if (!path)
			return -ENOENT;
		/* the controller list is comma-separated: "4:cpu,cpuacct:/x" */
		for (c = ctrls + 1; c < path;) {
			const char *end = memchr(c, ',', path - c);

			if (!end)
				end = path;
			if ((size_t)(end - c) == n && !strncmp(c, controller, n))
				return copy_line_rest(path + 1, out, size);
			c = end + 1;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

__u64 proc_pid_stat_field(int pid, int field)
{
	char path[64], buf[1024], *p;
	unsigned long long value = 0;
	ssize_t n;
	int fd, at;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: count from the last ')' */
	p = strrchr(buf, ')');
	if (!p || field < 3)
		return 0;
	for (at = 2; at < field && p; at++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &value);
	return value;
}

__u64 proc_pid_start_time(int pid)
{
	return proc_pid_stat_field(pid, 22);
}

int proc_pid_exe_path(int pid, char *buf, size_t size)
{
	static const char deleted[] = " (deleted)";
	char link[64];
	ssize_t n;

	if (size < 2)
		return -EINVAL;
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, buf, size - 1);
	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	buf[n] = '\0';
	if ((size_t)n > sizeof(deleted) - 1 && !strcmp(buf + n - (sizeof(deleted) - 1), deleted))
		buf[n - (sizeof(deleted) - 1)] = '\0';
	return 0;
}
