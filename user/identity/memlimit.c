// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "identity/memlimit.h"
#include "util/array.h"
#include "util/procfs.h"

static int parse_bytes(const char *text, __u64 *out)
{
	unsigned long long v;
	char *end;

	while (isspace((unsigned char)*text))
		text++;
	if (!isdigit((unsigned char)*text))
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return -EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int memlimit__parse_v2(const char *text, __u64 *limit_bytes)
{
	const char *p = text;

	while (isspace((unsigned char)*p))
		p++;
	if (!strncmp(p, "max", 3)) {
		for (p += 3; isspace((unsigned char)*p); p++)
			;
		if (*p)
			return -EINVAL;
		*limit_bytes = 0;
		return 0;
	}
	return parse_bytes(text, limit_bytes);
}

int memlimit__parse_v1(const char *text, __u64 *limit_bytes)
{
	int err = parse_bytes(text, limit_bytes);

	if (!err && *limit_bytes >= MEMLIMIT_V1_UNLIMITED)
		*limit_bytes = 0;
	return err;
}

static __u64 smaller_limit(__u64 a, __u64 b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

/*
 * Walks dir (an absolute path below top, or top itself) up to top, reading
 * file at each level with parse; levels without the file add no limit.
 */
static int walk_up(const char *top, const char *dir, const char *file,
		   int (*parse)(const char *, __u64 *), __u64 *limit_bytes)
{
	size_t top_len = strlen(top);
	char path[PATH_MAX], level[PATH_MAX];
	__u64 limit = 0;

	while (top_len > 1 && top[top_len - 1] == '/')
		top_len--;
	if (snprintf(level, sizeof(level), "%s", dir) >= (int)sizeof(level))
		return -ENAMETOOLONG;
	for (;;) {
		size_t len = strlen(level);
		char *text, *slash;
		__u64 v;
		int err;

		while (len > top_len && level[len - 1] == '/')
			level[--len] = '\0';
		if (snprintf(path, sizeof(path), "%s/%s", level, file) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		err = read_small_file(path, &text);
		if (!err) {
			if (!parse(text, &v))
				limit = smaller_limit(limit, v);
			free(text);
		} else if (err != -ENOENT) {
			return err;
		}
		if (len <= top_len)
			break;
		slash = strrchr(level, '/');
		if (!slash || (size_t)(slash - level) < top_len)
			break;
		*slash = '\0';
		if (strlen(level) < top_len)
			break;
	}
	*limit_bytes = limit;
	return 0;
}

int memlimit__read_v2(const char *cgroup2_mount, const char *cg_path, __u64 *limit_bytes)
{
	char dir[PATH_MAX];

	if (snprintf(dir, sizeof(dir), "%s%s", cgroup2_mount, cg_path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	return walk_up(cgroup2_mount, dir, "memory.max", memlimit__parse_v2, limit_bytes);
}

int memlimit__read_v1(const char *memcg_v1_mount, const char *memcg_v1_root, const char *proc_root,
		      __u32 pid, __u64 *limit_bytes)
{
	char path[PATH_MAX], cg[PATH_MAX], dir[PATH_MAX], *text;
	size_t root_len = strlen(memcg_v1_root);
	const char *below;
	int err;

	snprintf(path, sizeof(path), "%s/%u/cgroup", proc_root, pid);
	err = read_small_file(path, &text);
	if (err)
		return err;
	err = pid_cgroup__parse_v1(text, "memory", cg, sizeof(cg));
	free(text);
	if (err)
		return err;
	/* the hierarchy path seen from the mount: strip the mount's own root */
	while (root_len && memcg_v1_root[root_len - 1] == '/')
		root_len--;
	if (strncmp(cg, memcg_v1_root, root_len) || (cg[root_len] && cg[root_len] != '/'))
		return -ENOENT;
	below = cg + root_len;
	if (snprintf(dir, sizeof(dir), "%s%s", memcg_v1_mount, below) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	return walk_up(memcg_v1_mount, dir, "memory.limit_in_bytes", memlimit__parse_v1,
		       limit_bytes);
}

int memlimit__effective(const struct mounts *m, const char *proc_root, const char *cg_path,
			__u32 pid, __u64 *limit_bytes)
{
	*limit_bytes = 0;
	if (m->memcg_on_v2 && m->cgroup2[0] && cg_path)
		return memlimit__read_v2(m->cgroup2, cg_path, limit_bytes);
	if (m->memcg_v1[0] && pid)
		return memlimit__read_v1(m->memcg_v1, m->memcg_v1_root[0] ? m->memcg_v1_root : "/",
					 proc_root, pid, limit_bytes);
	return 0;
}

struct cached_limit {
	__u64 id;
	__u64 limit_bytes;
	__u64 read_ns; /* snapshot mono_ns when read */
};

struct memlimit_cache {
	struct mounts mounts;
	char proc_root[PATH_MAX];
	__u64 refresh_ns;
	struct cached_limit *entries; /* sorted by id */
	size_t nr, cap;
	struct cached_limit *next;
	size_t next_cap;
};

struct memlimit_cache *memlimit_cache__new(const struct mounts *m, const char *proc_root,
					   double refresh_s)
{
	struct memlimit_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->mounts = *m;
	snprintf(c->proc_root, sizeof(c->proc_root), "%s", proc_root);
	c->refresh_ns = refresh_s > 0 ? (__u64)(refresh_s * 1e9) : 0;
	return c;
}

void memlimit_cache__free(struct memlimit_cache *c)
{
	if (!c)
		return;
	free(c->entries);
	free(c->next);
	free(c);
}

int memlimit_cache__annotate(struct memlimit_cache *c, struct snapshot *snap)
{
	size_t i, j = 0;
	struct cached_limit *swap;

	if (ARRAY_GROW(c->next, c->next_cap, snap->nr_cgroups))
		return -ENOMEM;
	/* both sorted by id: a merge keeps what is cached and forgets the gone */
	for (i = 0; i < snap->nr_cgroups; i++) {
		struct cgroup_stat *cs = &snap->cgroups[i];
		struct cached_limit *e = &c->next[i];
		__u32 pid = 0;

		while (j < c->nr && c->entries[j].id < cs->id)
			j++;
		if (j < c->nr && c->entries[j].id == cs->id &&
		    snap->mono_ns - c->entries[j].read_ns < c->refresh_ns) {
			*e = c->entries[j];
		} else {
			e->id = cs->id;
			e->read_ns = snap->mono_ns;
			if (cs->nr_procs && cs->first_proc < snap->nr_procs)
				pid = snap->procs[cs->first_proc].pid;
			if (memlimit__effective(&c->mounts, c->proc_root, cs->path, pid,
						&e->limit_bytes))
				e->limit_bytes = 0;
		}
		cs->limit_bytes = e->limit_bytes;
	}
	swap = c->entries;
	c->entries = c->next;
	c->nr = snap->nr_cgroups;
	c->next = swap;
	i = c->cap;
	c->cap = c->next_cap;
	c->next_cap = i;
	return 0;
}
