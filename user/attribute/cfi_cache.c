// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "attribute/cfi_cache.h"

struct cfi_cache_entry {
	__u64 offset;
	__u64 gen; /* the symbolizer helper's generation: ids restart with a new helper */
	__u32 id;  /* 0: empty */
	__u32 none;
	struct cfi_row row;
};

void cfi_cache__init(struct cfi_cache *c, size_t nr)
{
	memset(c, 0, sizeof(*c));
	c->nr = nr ? nr : CFI_CACHE_ENTRIES;
}

void cfi_cache__free(struct cfi_cache *c)
{
	free(c->slots);
	c->slots = NULL;
}

static size_t slot_of(const struct cfi_cache *c, __u32 id, __u64 offset)
{
	__u64 h = (offset * 0x9e3779b97f4a7c15ULL) ^ ((__u64)id * 0xc2b2ae3d27d4eb4fULL);

	return (size_t)((h >> 17) % c->nr);
}

int cfi_cache__get(struct cfi_cache *c, __u64 gen, __u32 id, __u64 offset, struct cfi_row *row,
		   bool *none)
{
	const struct cfi_cache_entry *e;

	if (!c->slots || !id) {
		c->misses++;
		return 0;
	}
	e = &c->slots[slot_of(c, id, offset)];
	if (e->id != id || e->offset != offset || e->gen != gen) {
		c->misses++;
		return 0;
	}
	c->hits++;
	*none = e->none;
	if (!e->none)
		*row = e->row;
	return 1;
}

void cfi_cache__put(struct cfi_cache *c, __u64 gen, __u32 id, __u64 offset,
		    const struct cfi_row *row)
{
	struct cfi_cache_entry *e;

	if (!id)
		return;
	if (!c->slots && !(c->slots = calloc(c->nr, sizeof(*c->slots))))
		return;
	e = &c->slots[slot_of(c, id, offset)];
	if (e->id && (e->id != id || e->offset != offset || e->gen != gen))
		c->evictions++;
	e->id = id;
	e->offset = offset;
	e->gen = gen;
	e->none = !row;
	if (row)
		e->row = *row;
}

size_t cfi_cache__bytes(const struct cfi_cache *c)
{
	return c->slots ? c->nr * sizeof(*c->slots) : 0;
}
