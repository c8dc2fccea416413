/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The smallest effective memory limit of a cgroup: what the OOM killer will
 * enforce, for time_to_limit. A limit set on any ancestor applies to every
 * descendant (hierarchical accounting), so each level up to the root counts.
 *   - cgroup v2: memory.max on the cgroup and its ancestors ("max": none);
 *   - hybrid hosts, where the memory controller is on a v1 hierarchy: the
 *     memory.limit_in_bytes of a member process's v1 memory cgroup (from
 *     /proc/PID/cgroup) and of its ancestors (>= 2^62: none, the kernel
 *     reports "unlimited" as PAGE_COUNTER_MAX pages in bytes).
 * The readers take their roots as arguments so that tests can point them at
 * a tree of files; 0 always means "no limit".
 */
#ifndef MEMOBS_MEMLIMIT_H
#define MEMOBS_MEMLIMIT_H

#include <linux/types.h>
#include "util/mountinfo.h"
#include "model/snapshot.h"

/* v1 values at or above this are "unlimited". */
#define MEMLIMIT_V1_UNLIMITED (1ULL << 62)

/* memory.max text: "max" -> 0, "<bytes>" -> bytes. Returns 0 or -EINVAL. */
int memlimit__parse_v2(const char *text, __u64 *limit_bytes);
/* memory.limit_in_bytes text; unlimited -> 0. Returns 0 or -EINVAL. */
int memlimit__parse_v1(const char *text, __u64 *limit_bytes);

/*
 * The smallest memory.max from <cgroup2_mount><cg_path> up to the mount.
 * Levels without the file (the root; a host where memory is on v1; a
 * cgroup already removed) add no limit. Returns 0, or -errno when a file
 * exists but cannot be read.
 */
int memlimit__read_v2(const char *cgroup2_mount, const char *cg_path, __u64 *limit_bytes);

/*
 * The smallest memory.limit_in_bytes of pid's v1 memory cgroup and its
 * ancestors: the memory line of <proc_root>/<pid>/cgroup names the cgroup
 * in the hierarchy, which is mounted at memcg_v1_mount with root
 * memcg_v1_root ("/" on a host, a sub-path inside some containers).
 * Returns 0, -ENOENT (no such process, or it is in no cgroup under that
 * mount), or -errno.
 */
int memlimit__read_v1(const char *memcg_v1_mount, const char *memcg_v1_root, const char *proc_root,
		      __u32 pid, __u64 *limit_bytes);

/* v2 when the memory controller is there, else v1 through pid. */
int memlimit__effective(const struct mounts *m, const char *proc_root, const char *cg_path,
			__u32 pid, __u64 *limit_bytes);

/*
 * Fills snapshot cgroups' limit_bytes for the pipeline, reading each cgroup's
 * limit when first seen and again every refresh_s (limits change rarely, and
 * reading them all every interval would cost more than the detector).
 */
struct memlimit_cache;
struct memlimit_cache *memlimit_cache__new(const struct mounts *m, const char *proc_root,
					   double refresh_s);
void memlimit_cache__free(struct memlimit_cache *c);
/* Returns 0 or -ENOMEM; a limit that cannot be read is left as none. */
int memlimit_cache__annotate(struct memlimit_cache *c, struct snapshot *snap);

#endif /* MEMOBS_MEMLIMIT_H */
