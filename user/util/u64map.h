/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A hash map from a non-zero u64 key (pid, cgroup id) to a u64 value (a
 * count, an index, a pointer). Open addressing with linear probing and
 * backward-shift deletion: no tombstones, so lookups stay short under churn.
 */
#ifndef MEMOBS_U64MAP_H
#define MEMOBS_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys; /* 0 = empty slot */
	uint64_t *values;
	size_t cap; /* a power of two */
	size_t len;
};

/* A 64-bit mix (splitmix64 finalizer): pids and ids are sequential, slots must not be. */
static inline uint64_t u64_mix(uint64_t key)
{
	key ^= key >> 30;
	key *= 0xbf58476d1ce4e5b9ULL;
	key ^= key >> 27;
	key *= 0x94d049bb133111ebULL;
	key ^= key >> 31;
	return key;
}

void u64map_init(struct u64map *m);
void u64map_free(struct u64map *m);
void u64map_clear(struct u64map *m);
/* Returns 0 or -ENOMEM; key must not be 0 (-EINVAL). */
int u64map_put(struct u64map *m, uint64_t key, uint64_t value);
bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *value);
bool u64map_del(struct u64map *m, uint64_t key);
/* Iteration: for (i = 0; u64map_next(m, &i, &k, &v);) */
bool u64map_next(const struct u64map *m, size_t *iter, uint64_t *key, uint64_t *value);

#endif /* MEMOBS_U64MAP_H */
