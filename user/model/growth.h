/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What holds a suspect's growth, from what an escalation measured (pure,
 * unit-tested; the rule is docs/detector.md's "Leak or retention"): live
 * malloc allocations (a leak through malloc), the allocator's own arenas
 * (freed memory it keeps: retention), memory mapped outside malloc, or a
 * runtime's own heap.
 */
#ifndef MEMOBS_GROWTH_H
#define MEMOBS_GROWTH_H

#include <stdbool.h>
#include <linux/types.h>

/* Estimated bytes, each over the escalation (attribute/attr.h's sources). */
struct growth_figures {
	__u64 anon_growth;    /* anonymous RSS growth of the cgroup */
	__u64 malloc_bytes;   /* malloc-family allocations still outstanding */
	__u64 arena_bytes;    /* mmap/sbrk made inside the allocator, still mapped */
	__u64 mapped_bytes;   /* anonymous mmap and sbrk outside malloc, still mapped */
	bool managed_runtime; /* the top process runs go, jvm, node or python */
};

/* Below this share of the growth, live malloc allocations do not hold it. */
#define GROWTH_MALLOC_SHARE 0.2
/* From this share of the growth up, a source explains it. */
#define GROWTH_EXPLAINS_SHARE 0.5

/*
 * "malloc", "runtime", "mapped", "allocator" or "unknown"; NULL when nothing
 * grew (there is nothing to explain).
 */
const char *growth__held_by(const struct growth_figures *f);

#endif /* MEMOBS_GROWTH_H */
