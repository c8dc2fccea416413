// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/alloc_sites.h"
#include "util/array.h"
#include "util/u64map.h"

/*
 * Open addressing keyed by (pid, addr), linear probing, backward-shift
 * deletion (no tombstones: frees churn this table as fast as allocations).
 * A slot is empty when its addr is 0: allocators never return NULL for a
 * block they hand out.
 */
struct alloc_sites {
	struct alloc_sample *slots;
	size_t cap; /* a power of two */
	size_t len;
	__u64 sample_bytes;
};

static size_t slot_of(__u32 pid, __u64 addr, size_t cap)
{
	__u64 key = addr ^ ((__u64)pid << 40) ^ ((__u64)pid >> 24);

	return (size_t)u64_mix(key) & (cap - 1);
}

struct alloc_sites *alloc_sites__new(__u64 sample_bytes)
{
	struct alloc_sites *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->sample_bytes = sample_bytes;
	s->cap = 1024;
	s->slots = calloc(s->cap, sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return NULL;
	}
	return s;
}

void alloc_sites__free(struct alloc_sites *s)
{
	if (!s)
		return;
	free(s->slots);
	free(s);
}

double alloc_sites__weight(__u64 size, __u64 sample_bytes)
{
	double p;

	if (sample_bytes <= 1 || !size)
		return 1.0;
	p = -expm1(-(double)size / (double)sample_bytes); /* 1 - exp(-s/T), exact for small s */
	return p > 0 ? 1.0 / p : 1.0;
}

static struct alloc_sample *find(const struct alloc_sites *s, __u32 pid, __u64 addr)
{
	size_t i = slot_of(pid, addr, s->cap);

	for (; s->slots[i].addr; i = (i + 1) & (s->cap - 1))
		if (s->slots[i].addr == addr && s->slots[i].pid == pid)
			return &s->slots[i];
	return NULL;
}

static void insert(struct alloc_sample *slots, size_t cap, const struct alloc_sample *a)
{
	size_t i = slot_of(a->pid, a->addr, cap);

	while (slots[i].addr)
		i = (i + 1) & (cap - 1);
	slots[i] = *a;
}

static int grow(struct alloc_sites *s)
{
	size_t cap = s->cap * 2, i;
	struct alloc_sample *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++)
		if (s->slots[i].addr)
			insert(slots, cap, &s->slots[i]);
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

int alloc_sites__add(struct alloc_sites *s, const struct alloc_sample *a)
{
	struct alloc_sample *old;
	int err;

	if (!a->addr)
		return 0; /* NULL is not an allocation */
	old = find(s, a->pid, a->addr);
	if (old) {
		*old = *a;
		return 0;
	}
	if ((s->len + 1) * 4 > s->cap * 3 && (err = grow(s)))
		return err;
	insert(s->slots, s->cap, a);
	s->len++;
	return 0;
}

/* Backward-shift deletion: later entries of the cluster move up into the hole. */
static void delete_slot(struct alloc_sites *s, size_t hole)
{
	size_t mask = s->cap - 1, i = hole, home;

	for (;;) {
		i = (i + 1) & mask;
		if (!s->slots[i].addr)
			break;
		home = slot_of(s->slots[i].pid, s->slots[i].addr, s->cap);
		/* movable when its home is not within (hole, i] cyclically */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			s->slots[hole] = s->slots[i];
			hole = i;
		}
	}
	memset(&s->slots[hole], 0, sizeof(s->slots[hole]));
	s->len--;
}

bool alloc_sites__remove(struct alloc_sites *s, __u32 pid, __u64 addr)
{
	struct alloc_sample *found;

	if (!addr || !(found = find(s, pid, addr)))
		return false;
	delete_slot(s, found - s->slots);
	return true;
}

size_t alloc_sites__remove_pid(struct alloc_sites *s, __u32 pid,
			       void (*each)(void *ctx, const struct alloc_sample *a), void *ctx)
{
	size_t i = 0, removed = 0;

	/* a deletion may shift a not yet visited entry into i: look at i again */
	while (i < s->cap) {
		if (s->slots[i].addr && s->slots[i].pid == pid) {
			if (each)
				each(ctx, &s->slots[i]);
			delete_slot(s, i);
			removed++;
			continue;
		}
		i++;
	}
	return removed;
}

size_t alloc_sites__len(const struct alloc_sites *s)
{
	return s->len;
}

static bool passes(const struct alloc_sample *a, const struct alloc_filter *f)
{
	if (!a->addr)
		return false;
	if (!f)
		return true;
	return (!f->pid || f->pid == a->pid) && (!f->cgroup_id || f->cgroup_id == a->cgroup_id) &&
	       ((a->site_id & f->site_mask) == f->site_bits) != f->site_exclude;
}

double alloc_sites__outstanding_bytes(const struct alloc_sites *s, const struct alloc_filter *f)
{
	double bytes = 0;
	size_t i;

	for (i = 0; i < s->cap; i++)
		if (passes(&s->slots[i], f))
			bytes += s->slots[i].size *
				 alloc_sites__weight(s->slots[i].size, s->sample_bytes);
	return bytes;
}

static int by_est_bytes_desc(const void *a, const void *b)
{
	const struct alloc_site *x = a, *y = b;

	if (x->est_bytes != y->est_bytes)
		return x->est_bytes < y->est_bytes ? 1 : -1;
	return x->site_id < y->site_id ? -1 : x->site_id > y->site_id;
}

int alloc_sites__top(const struct alloc_sites *s, const struct alloc_filter *f, size_t n,
		     struct alloc_site **out, size_t *nr)
{
	struct alloc_site *sites = NULL, *site;
	size_t nr_sites = 0, cap = 0, i;
	struct u64map index; /* site_id + 1 -> position in sites (0 is not a valid key) */
	uint64_t pos;
	int err = 0;

	u64map_init(&index);
	for (i = 0; i < s->cap; i++) {
		const struct alloc_sample *a = &s->slots[i];
		double weight;

		if (!passes(a, f))
			continue;
		if (u64map_get(&index, a->site_id + 1, &pos)) {
			site = &sites[pos];
		} else {
			if ((err = ARRAY_GROW(sites, cap, nr_sites + 1)))
				goto out;
			if ((err = u64map_put(&index, a->site_id + 1, nr_sites)))
				goto out;
			site = &sites[nr_sites++];
			memset(site, 0, sizeof(*site));
			site->site_id = a->site_id;
			site->oldest_ts_ns = a->ts_ns;
			site->pid = a->pid;
			site->cgroup_id = a->cgroup_id;
		}
		weight = alloc_sites__weight(a->size, s->sample_bytes);
		site->est_bytes += a->size * weight;
		site->est_allocs += weight;
		site->samples++;
		site->sampled_bytes += a->size;
		if (a->ts_ns < site->oldest_ts_ns)
			site->oldest_ts_ns = a->ts_ns;
	}
	if (nr_sites)
		qsort(sites, nr_sites, sizeof(*sites), by_est_bytes_desc);
	if (n && nr_sites > n)
		nr_sites = n;
out:
	u64map_free(&index);
	if (err) {
		free(sites);
		return err;
	}
	*out = sites;
	*nr = nr_sites;
	return 0;
}
