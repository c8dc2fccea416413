/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Parsers of the /proc files memobs reads; pure on text, plus thin readers. */
#ifndef MEMOBS_PROCFS_H
#define MEMOBS_PROCFS_H

#include <stddef.h>
#include <linux/types.h>

struct meminfo {
	__u64 mem_total_bytes;
	__u64 mem_available_bytes;
};

/* Parses /proc/meminfo text. Returns 0, or -EINVAL when MemTotal is missing. */
int meminfo__parse(const char *text, struct meminfo *out);
int meminfo__read(const char *proc_root, struct meminfo *out);

/*
 * From /proc/PID/cgroup text, the cgroup v2 path ("0::/path" line) into out.
 * Returns 0, -ENOENT when the process is in no v2 cgroup, -ENAMETOOLONG, or
 * -EXDEV when the path is not below the reader's cgroup namespace root
 * ("/../../x", seen from a private cgroup namespace) or holds "." or "..":
 * it cannot be resolved from here, and joined to a mount it would escape it.
 */
int pid_cgroup__parse_v2(const char *text, char *out, size_t size);
/* The same for a v1 hierarchy holding the named controller ("4:memory:/path"). */
int pid_cgroup__parse_v1(const char *text, const char *controller, char *out, size_t size);

/*
 * A numeric field of /proc/PID/stat, counted from 1 as proc(5) does (3 and
 * up: those after the command name); 0 when the process is gone.
 */
__u64 proc_pid_stat_field(int pid, int field);
/* Field 22 of /proc/PID/stat (start time in clock ticks after boot); 0 when the process is gone. */
__u64 proc_pid_start_time(int pid);
/*
 * The executable's path as /proc/PID/exe's link says (the link only: no
 * file is touched), " (deleted)" cut. 0, -ENOENT, or -errno of readlink.
 */
int proc_pid_exe_path(int pid, char *buf, size_t size);

/* Reads a whole small file (under 1 MiB) into a NUL-terminated malloc'd buffer. */
int read_small_file(const char *path, char **text);

#endif /* MEMOBS_PROCFS_H */
