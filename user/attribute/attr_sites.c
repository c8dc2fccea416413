// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The attribution tier's call sites: each stack BPF kept is resolved to
 * frames once, while its process lives, and identical frame lists share one
 * site. Sampled allocations and mm counts are reported by site.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attribute/attr_internal.h"
#include "attribute/symbolize.h"
#include "output/records.h"
#include "util/array.h"

/* ---- stacks and call sites ---- */

static __u64 hash_frames(char **frames, size_t nr)
{
	__u64 h = 0xcbf29ce484222325ULL;
	size_t i;
	const char *c;

	for (i = 0; i < nr; i++) {
		for (c = frames[i]; *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL; /* frame separator */
	}
	return h | 1;
}

static void free_frames(char **frames, struct frame_meta *meta, size_t nr)
{
	size_t i;

	for (i = 0; frames && i < nr; i++)
		free(frames[i]);
	for (i = 0; meta && i < nr; i++)
		frame_meta__clear(&meta[i]);
	free(frames);
	free(meta);
}

/*
 * Past ATTR_MAX_SITES distinct stacks (a hostile process can make one per
 * sample: JIT code at fresh addresses, thousands of libraries), new stacks
 * share one site that says so, counted: the table's memory is bounded.
 */
static int overflow_site(struct attr *a, __u64 *index)
{
	char **frames;

	a->sites_overflowed++;
	if (a->overflow_site) {
		*index = a->overflow_site - 1;
		return 0;
	}
	frames = calloc(1, sizeof(*frames));
	if (!frames || !(frames[0] = strdup("[site table full: further distinct stacks]")) ||
	    ARRAY_GROW(a->sites, a->cap_sites, a->nr_sites + 1)) {
		free_frames(frames, NULL, frames && frames[0] ? 1 : 0);
		return -ENOMEM;
	}
	a->sites[a->nr_sites].frames = frames;
	a->sites[a->nr_sites].meta = NULL; /* no file names it */
	a->sites[a->nr_sites].nr = 1;
	*index = a->nr_sites++;
	a->overflow_site = *index + 1;
	return 0;
}

/* Sites are keyed by their frame strings: the meta of the first list that makes one is kept. */
static int add_site(struct attr *a, char **frames, struct frame_meta *meta, size_t nr, __u64 *index)
{
	__u64 h = hash_frames(frames, nr);
	uint64_t found;

	if (u64map_get(&a->site_by_hash, h, &found)) {
		free_frames(frames, meta, nr);
		*index = found;
		return 0;
	}
	if (a->nr_sites >= ATTR_MAX_SITES) {
		free_frames(frames, meta, nr);
		return overflow_site(a, index);
	}
	if (ARRAY_GROW(a->sites, a->cap_sites, a->nr_sites + 1)) {
		free_frames(frames, meta, nr);
		return -ENOMEM;
	}
	a->sites[a->nr_sites].frames = frames;
	a->sites[a->nr_sites].meta = meta;
	a->sites[a->nr_sites].nr = nr;
	*index = a->nr_sites++;
	return u64map_put(&a->site_by_hash, h, *index);
}

int attr_site_of_frames(struct attr *a, char **frames, struct frame_meta *meta, size_t nr,
			__u64 *index)
{
	return add_site(a, frames, meta, nr, index);
}

int attr_site_of_stack(struct attr *a, __u64 stack_id, int pid, bool ip_first, __u64 *index)
{
	struct memobs_stack st;
	struct frame_meta *meta;
	char **frames;
	size_t nr = 0, i;
	uint64_t found;
	int err;

	if (u64map_get(&a->stack_site, stack_id, &found)) {
		*index = found;
		return 0;
	}
	frames = calloc(MEMOBS_ATTR_STACK_DEPTH, sizeof(*frames));
	meta = calloc(MEMOBS_ATTR_STACK_DEPTH, sizeof(*meta));
	if (!frames || !meta) {
		free(frames);
		free(meta);
		return -ENOMEM;
	}
	if (!stack_id ||
	    bpf_map_lookup_elem(bpf_map__fd(a->skel->maps.memobs_attr_stacks), &stack_id, &st)) {
		frames[nr++] = strdup("[stack not kept]");
	} else {
		for (i = 0; i < st.nr && i < MEMOBS_ATTR_STACK_DEPTH; i++) {
			if (!st.ips[i])
				continue; /* the kernel added the caller itself: see attr_stack.bpf.h */
			if (symbolizer__resolve_frame(a->sym, pid, st.ips[i], !(ip_first && i == 0),
						      &frames[nr], &meta[nr])) {
				char hex[32];

				snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)st.ips[i]);
				frames[nr] = strdup(hex);
			}
			nr++;
		}
	}
	for (i = 0; i < nr; i++)
		if (!frames[i])
			frames[i] = strdup("?");
	if ((err = add_site(a, frames, meta, nr, index)))
		return err;
	if (stack_id && (err = u64map_put(&a->stack_owner, stack_id, pid)))
		return err;
	return u64map_put(&a->stack_site, stack_id, *index);
}

void attr_resolve_mm_stacks(struct attr *a)
{
	struct memobs_mm_key key, next;
	void *prev = NULL;
	__u64 index;
	int fd = bpf_map__fd(a->skel->maps.memobs_attr_mm_sites);

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		attr_site_of_stack(a, key.stack_id, key.pid, key.kind == MEMOBS_MM_FAULT, &index);
	}
}

void attr_sites_free(struct attr *a)
{
	size_t i;

	for (i = 0; i < a->nr_sites; i++)
		free_frames(a->sites[i].frames, a->sites[i].meta, a->sites[i].nr);
	free(a->sites);
	a->sites = NULL;
	a->nr_sites = a->cap_sites = 0;
}

/* ---- results ---- */

int attr__top_sites(struct attr *a, const struct alloc_filter *f, size_t n, struct attr_site **out,
		    size_t *nr)
{
	struct alloc_filter shown = f ? *f : (struct alloc_filter){ 0 };
	struct alloc_site *top;
	struct attr_site *sites;
	size_t i;
	int err;

	attr_filter_source(&shown, ATTR_SOURCE_ARENA, true); /* the allocator's own: not a site */
	attr_drain_some(a);
	if ((err = alloc_sites__top(a->samples, &shown, n, &top, nr)))
		return err;
	sites = calloc(*nr ? *nr : 1, sizeof(*sites));
	if (!sites) {
		free(top);
		return -ENOMEM;
	}
	for (i = 0; i < *nr; i++) {
		__u64 index = attr_site_index(top[i].site_id);

		sites[i].est = top[i];
		sites[i].source = attr_site_source(top[i].site_id);
		if (index < a->nr_sites) {
			sites[i].frames = (const char *const *)a->sites[index].frames;
			sites[i].meta = a->sites[index].meta;
			sites[i].nr_frames = a->sites[index].nr;
		}
	}
	free(top);
	*out = sites;
	return 0;
}

__u64 attr__cgroup_outstanding_bytes(struct attr *a, __u64 cgroup_id)
{
	return attr__cgroup_source_bytes(a, cgroup_id, MEMOBS_SRC_MALLOC);
}

__u64 attr__cgroup_source_bytes(struct attr *a, __u64 cgroup_id, __u32 source)
{
	struct alloc_filter f = { .cgroup_id = cgroup_id };

	attr_filter_source(&f, source, false);
	attr_drain_some(a);
	return (__u64)(alloc_sites__outstanding_bytes(a->samples, &f) + 0.5);
}

static int mm_by_bytes_desc(const void *x, const void *y)
{
	const struct attr_mm_site *p = x, *q = y;

	if (p->bytes != q->bytes)
		return p->bytes < q->bytes ? 1 : -1;
	return p->count < q->count ? 1 : p->count > q->count ? -1 : 0;
}

int attr__top_mm_sites(struct attr *a, const struct alloc_filter *f, size_t n,
		       struct attr_mm_site **out, size_t *nr)
{
	struct memobs_mm_val *values = NULL;
	struct attr_mm_site *sites = NULL;
	struct memobs_mm_key key, next;
	struct u64map index; /* (site, kind, cgroup) hash -> position */
	size_t nr_sites = 0, cap = 0;
	void *prev = NULL;
	int fd, cpu, err = 0;

	*out = NULL;
	*nr = 0;
	if (!a->opts.trace_mm)
		return 0;
	fd = bpf_map__fd(a->skel->maps.memobs_attr_mm_sites);
	values = calloc(a->nr_cpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	u64map_init(&index);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct attr_mm_site *site;
		__u64 site_index, h;
		uint64_t pos;

		key = next;
		prev = &key;
		if (f && ((f->pid && f->pid != key.pid) ||
			  (f->cgroup_id && f->cgroup_id != key.cgroup_id)))
			continue;
		if (bpf_map_lookup_elem(fd, &key, values))
			continue;
		if (attr_site_of_stack(a, key.stack_id, key.pid, key.kind == MEMOBS_MM_FAULT,
				       &site_index))
			continue;
		h = ((site_index + 1) * 0x9e3779b97f4a7c15ULL) ^ ((__u64)key.kind << 56) ^
		    key.cgroup_id;
		h |= 1;
		if (u64map_get(&index, h, &pos)) {
			site = &sites[pos];
		} else {
			if ((err = ARRAY_GROW(sites, cap, nr_sites + 1)))
				goto out;
			u64map_put(&index, h, nr_sites);
			site = &sites[nr_sites++];
			memset(site, 0, sizeof(*site));
			site->cgroup_id = key.cgroup_id;
			site->pid = key.pid;
			site->kind = key.kind;
			site->frames = (const char *const *)a->sites[site_index].frames;
			site->nr_frames = a->sites[site_index].nr;
		}
		for (cpu = 0; cpu < a->nr_cpus; cpu++) {
			site->count += values[cpu].count;
			site->bytes += values[cpu].bytes;
		}
	}
	if (nr_sites)
		qsort(sites, nr_sites, sizeof(*sites), mm_by_bytes_desc);
	if (n && nr_sites > n)
		nr_sites = n;
out:
	u64map_free(&index);
	free(values);
	if (err) {
		free(sites);
		return err;
	}
	*out = sites;
	*nr = nr_sites;
	return 0;
}

const char *attr_mm_kind__str(enum memobs_mm_kind kind)
{
	static const char *const names[MEMOBS_MM_NR] = {
		[MEMOBS_MM_MMAP_ANON] = "mmap_anon", [MEMOBS_MM_MMAP_FILE] = "mmap_file",
		[MEMOBS_MM_MUNMAP] = "munmap",	     [MEMOBS_MM_MREMAP_GROW] = "mremap_grow",
		[MEMOBS_MM_BRK_GROW] = "brk_grow",   [MEMOBS_MM_FAULT] = "page_fault",
	};

	return (unsigned)kind < MEMOBS_MM_NR ? names[kind] : "unknown";
}
