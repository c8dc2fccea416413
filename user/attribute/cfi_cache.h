/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The unwind rules already asked for, by file and pc: a fixed-size,
 * direct-mapped table (a pc's slot is a hash of the file's id and the
 * offset), so its memory is bounded from the start and a lookup is one
 * compare. Keyed by the symbolizer's file id, not by process: one libc shared
 * by every container is one set of entries. A rule nobody has ("no CFI
 * here") is cached too. A slot taken by another pc counts an eviction.
 */
#ifndef MEMOBS_CFI_CACHE_H
#define MEMOBS_CFI_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "attribute/unwind.h"

/* 2048 x ~820 bytes: ~1.6 MiB, allocated on first use */
#define CFI_CACHE_ENTRIES 2048

struct cfi_cache_entry;

struct cfi_cache {
	struct cfi_cache_entry *slots;
	size_t nr;
	__u64 hits, misses, evictions;
};

void cfi_cache__init(struct cfi_cache *c, size_t nr); /* nr 0: CFI_CACHE_ENTRIES */
void cfi_cache__free(struct cfi_cache *c);
/* 1 and *row (or *none: no rule there) when held, 0 when not. */
int cfi_cache__get(struct cfi_cache *c, __u64 gen, __u32 id, __u64 offset, struct cfi_row *row,
		   bool *none);
/* row NULL: no rule there. Memory exhaustion only means nothing is cached. */
void cfi_cache__put(struct cfi_cache *c, __u64 gen, __u32 id, __u64 offset,
		    const struct cfi_row *row);
size_t cfi_cache__bytes(const struct cfi_cache *c);

#endif /* MEMOBS_CFI_CACHE_H */
