// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stddef.h>
#include "model/growth.h"

static bool explains(__u64 part, __u64 whole)
{
	return part >= GROWTH_EXPLAINS_SHARE * whole;
}

/*
 * In order: live allocations first (a leak through malloc is the common
 * case and the one the sites name); then a runtime's heap, whose own
 * mappings (pymalloc's arenas, the JVM's heap commits) would otherwise read
 * as "mapped"; then memory mapped outside malloc; then the allocator's
 * arenas grown while few allocations stay live (retention: freed memory the
 * allocator keeps, fragmentation, one arena per thread).
 */
const char *growth__held_by(const struct growth_figures *f)
{
	if (!f->anon_growth)
		return NULL;
	if (f->malloc_bytes >= GROWTH_MALLOC_SHARE * f->anon_growth)
		return "malloc";
	if (f->managed_runtime)
		return "runtime";
	if (explains(f->mapped_bytes, f->anon_growth))
		return "mapped";
	if (explains(f->arena_bytes, f->anon_growth))
		return "allocator";
	return "unknown";
}
