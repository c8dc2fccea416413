/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cgroup v2 id -> path, relative to the cgroup2 mount ("/" is the root).
 * The id BPF reports (kernfs node id) is the cgroup directory's file handle
 * on cgroup2, so a walk of the mount finds every id; the walk is repeated
 * when an unknown id shows up, which also forgets cgroups that are gone.
 */
#ifndef MEMOBS_CGROUP_H
#define MEMOBS_CGROUP_H

#include <linux/types.h>

struct cgroup_resolver;

struct cgroup_resolver *cgroup_resolver__new(const char *cgroup2_mount);
void cgroup_resolver__free(struct cgroup_resolver *r);
/*
 * The path of the cgroup, or NULL when no such cgroup exists (it may have
 * been removed before it could be resolved). Owned by the resolver, valid
 * until the next call.
 */
const char *cgroup_resolver__path(struct cgroup_resolver *r, __u64 id);
/* Walks the mount again now. Returns 0 or -errno. */
int cgroup_resolver__rescan(struct cgroup_resolver *r);

/* The id of the cgroup directory at an absolute path. Returns 0 or -errno. */
int cgroup_id_of_dir(const char *dir, __u64 *id);
/*
 * The cgroup v2 id of a process, from /proc/PID/cgroup and the directory
 * under cgroup2_mount. Returns 0, -ENOENT (no v2 line, or the cgroup is
 * gone) or -errno.
 */
int cgroup_id_of_pid(const char *cgroup2_mount, int pid, __u64 *id);
/* The part of abs_path below the mount, "/"-prefixed; NULL if outside. */
const char *cgroup_relative_path(const char *mount, const char *abs_path);

#endif /* MEMOBS_CGROUP_H */
