/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one growable-array helper and the one ARRAY_SIZE. An array is a
 * pointer plus a capacity that the owner keeps beside it; ARRAY_GROW makes
 * room for `want` elements, doubling so that n appends cost O(n).
 */
#ifndef MEMOBS_ARRAY_H
#define MEMOBS_ARRAY_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Grows *items (capacity *cap, elements of elem_size bytes) to hold at least
 * want elements. Returns 0 or -ENOMEM (then *items and *cap are unchanged).
 */
int array_grow(void **items, size_t *cap, size_t want, size_t elem_size);

#define ARRAY_GROW(items, cap, want) array_grow((void **)&(items), &(cap), (want), sizeof(*(items)))

#endif /* MEMOBS_ARRAY_H */
