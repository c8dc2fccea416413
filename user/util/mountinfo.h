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
	char *root;	   /* field 4: root of the mount within its filesystem */
	char *mount_point; /* field 5, octal escapes (\040) decoded */
	char *fstype;	   /* after the " - " separator */
	char *source;
	char *super_opts; /* superblock options: for cgroup v1 the controllers */
};

/* mountinfo's octal escapes (\040 ...) decoded in place. */
void mountinfo__unescape(char *s);

/* Parses one line in place. Returns 0 or -EINVAL on a malformed line. */
int mountinfo__parse_line(char *line, struct mountinfo_entry *out);

/* Reads the given mountinfo file (normally /proc/self/mountinfo). */
int mounts__discover(struct mounts *m, const char *mountinfo_path);

#endif /* MEMOBS_MOUNTINFO_H */
