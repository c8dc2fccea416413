/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where the filesystems memobs reads are mounted, from /proc/self/mountinfo:
 * never a hard-coded layout (pure v2 nodes mount cgroup2 at /sys/fs/cgroup,
 * hybrid hosts at /sys/fs/cgroup/unified with v1 controllers beside it).
 */
#ifndef MEMOBS_MOUNTINFO_H
#define MEMOBS_MOUNTINFO_H

#include <limits.h>
#include <stdbool.h>

struct mounts {
	char cgroup2[PATH_MAX];	      /* "" when cgroup2 is not mounted */
	char memcg_v1[PATH_MAX];      /* v1 hierarchy with the memory controller, or "" */
	char memcg_v1_root[PATH_MAX]; /* that mount's root within the hierarchy ("/") */
	char tracefs[PATH_MAX];	      /* tracefs, or debugfs's tracing dir, or "" */
	bool memcg_on_v2;	      /* "memory" listed in cgroup2's cgroup.controllers */
};

/* One mountinfo line, split; the fields point into the line (modified). */
struct mountinfo_entry {
	unsigned int major, minor; /* field 3: the device of the mount's filesystem */
	char *root;		   /* field 4: root of the mount within its filesystem */
	char *mount_point;	   /* field 5, octal escapes (\040) decoded */
	char *fstype;		   /* after the " - " separator */
	char *source;
	char *super_opts; /* superblock options: for cgroup v1 the controllers */
};

/* mountinfo's octal escapes (\040 ...) decoded in place. */
void mountinfo__unescape(char *s);

/* Parses one line in place. Returns 0 or -EINVAL on a malformed line. */
int mountinfo__parse_line(char *line, struct mountinfo_entry *out);

/*
 * Whether a mount of the filesystem on device major:minor in the mountinfo
 * file at path (a process's /proc/PID/mountinfo) is FUSE (fuse, fuseblk,
 * fuse.*): 1 yes, 0 no or not listed, -errno when it cannot be read.
 */
int mountinfo__dev_is_fuse(const char *path, unsigned int major, unsigned int minor);

/*
 * Whether reaching path (absolute, no symlinks) crosses a FUSE mount in the
 * mountinfo at mountinfo_path: a mount whose mount point is path or one of
 * its leading directories. 1 yes, 0 no, -errno when it cannot be read.
 */
int mountinfo__path_on_fuse(const char *mountinfo_path, const char *path);

/* Reads the given mountinfo file (normally /proc/self/mountinfo). */
int mounts__discover(struct mounts *m, const char *mountinfo_path);

#endif /* MEMOBS_MOUNTINFO_H */
