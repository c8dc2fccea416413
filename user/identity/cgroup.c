// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "identity/cgroup.h"
#include "util/clock.h"
#include "util/procfs.h"
#include "util/u64map.h"

/* A miss rescans at most this often: removed cgroups must not cause a walk per lookup. */
#define RESCAN_MIN_INTERVAL_NS 200000000ULL

struct cgroup_resolver {
	char *mount;
	struct u64map paths; /* id -> char * (owned) */
	__u64 last_scan_ns;
};

int cgroup_id_of_pid(const char *cgroup2_mount, int pid, __u64 *id)
{
	char path[64], rel[PATH_MAX], dir[PATH_MAX * 2], *text = NULL;
	int err;

	if (!cgroup2_mount[0])
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	err = read_small_file(path, &text);
	if (err)
		return err;
	err = pid_cgroup__parse_v2(text, rel, sizeof(rel));
	free(text);
	if (err)
		return err;
	snprintf(dir, sizeof(dir), "%s%s", cgroup2_mount, strcmp(rel, "/") ? rel : "");
	return cgroup_id_of_dir(dir, id);
}

int cgroup_id_of_dir(const char *dir, __u64 *id)
{
	struct {
		struct file_handle fh;
		__u64 id;
	} handle = { .fh.handle_bytes = sizeof(__u64) };
	int mount_id;
	struct stat st;

	/* cgroup2 file handles carry the 64-bit kernfs id; st_ino may be truncated on 32-bit */
	if (!name_to_handle_at(AT_FDCWD, dir, &handle.fh, &mount_id, 0) &&
	    handle.fh.handle_bytes == sizeof(__u64)) {
		memcpy(id, handle.fh.f_handle, sizeof(*id));
		return 0;
	}
	if (stat(dir, &st))
		return -errno;
	*id = st.st_ino;
	return 0;
}

const char *cgroup_relative_path(const char *mount, const char *abs_path)
{
	size_t n = strlen(mount);

	while (n > 1 && mount[n - 1] == '/')
		n--;
	if (strncmp(abs_path, mount, n))
		return NULL;
	if (abs_path[n] == '\0')
		return "/";
	if (abs_path[n] != '/')
		return NULL;
	return abs_path + n;
}

static void clear_paths(struct u64map *paths)
{
	__u64 key, value;
	size_t it = 0;

	while (u64map_next(paths, &it, (uint64_t *)&key, (uint64_t *)&value))
		free((void *)(uintptr_t)value);
	u64map_clear(paths);
}

struct cgroup_resolver *cgroup_resolver__new(const char *cgroup2_mount)
{
	struct cgroup_resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->mount = strdup(cgroup2_mount);
	if (!r->mount) {
		free(r);
		return NULL;
	}
	u64map_init(&r->paths);
	return r;
}

void cgroup_resolver__free(struct cgroup_resolver *r)
{
	if (!r)
		return;
	clear_paths(&r->paths);
	u64map_free(&r->paths);
	free(r->mount);
	free(r);
}

/* nftw has no user pointer: the walk in progress is single-threaded by design. */
static struct cgroup_resolver *walking;
static struct u64map *walk_paths; /* the table the walk fills */
static int walk_err;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char *rel;
	char *copy;
	__u64 id;

	(void)st;
	(void)ftw;
	if (type != FTW_D)
		return 0;
	rel = cgroup_relative_path(walking->mount, path);
	if (!rel || cgroup_id_of_dir(path, &id))
		return 0; /* removed while walking */
	copy = strdup(rel);
	if (!copy || u64map_put(walk_paths, id, (uintptr_t)copy)) {
		free(copy);
		walk_err = -ENOMEM;
		return 1;
	}
	return 0;
}

/*
 * Walks into a new table and swaps it in only when the walk completed: a
 * walk cut short (EMFILE, ENOMEM) keeps every path known before it, rather
 * than naming no cgroup until the next one.
 */
int cgroup_resolver__rescan(struct cgroup_resolver *r)
{
	struct u64map fresh;

	u64map_init(&fresh);
	walking = r;
	walk_paths = &fresh;
	walk_err = 0;
	/* FTW_PHYS: never follow links out of the hierarchy */
	if (nftw(r->mount, visit, 32, FTW_PHYS) < 0 && !walk_err)
		walk_err = -errno;
	walking = NULL;
	walk_paths = NULL;
	r->last_scan_ns = clock_mono_ns();
	if (walk_err) {
		clear_paths(&fresh);
		u64map_free(&fresh);
		return walk_err;
	}
	clear_paths(&r->paths);
	u64map_free(&r->paths);
	r->paths = fresh;
	return 0;
}

const char *cgroup_resolver__path(struct cgroup_resolver *r, __u64 id)
{
	__u64 value;

	if (u64map_get(&r->paths, id, (uint64_t *)&value))
		return (const char *)(uintptr_t)value;
	if (clock_mono_ns() - r->last_scan_ns < RESCAN_MIN_INTERVAL_NS && r->last_scan_ns)
		return NULL;
	if (cgroup_resolver__rescan(r))
		return NULL;
	if (u64map_get(&r->paths, id, (uint64_t *)&value))
		return (const char *)(uintptr_t)value;
	return NULL;
}
