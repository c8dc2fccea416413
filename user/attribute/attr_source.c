// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The sources of sampled blocks (enum memobs_alloc_source): malloc-family
 * calls, anonymous mmap, sbrk, and page faults share one sampler, one
 * record stream and one table of samples; a site is a stack and a source,
 * so that one stack reaching both malloc and mmap makes two sites.
 */
#include <string.h>
#include "attribute/attr_internal.h"
#include "util/array.h"

/* The site index is far below 2^48 (ATTR_MAX_SITES); the source goes above it. */
#define SITE_SOURCE_SHIFT 48
#define SITE_INDEX_MASK ((1ULL << SITE_SOURCE_SHIFT) - 1)

__u64 attr_site_id(__u64 index, __u32 source)
{
	return (index & SITE_INDEX_MASK) | ((__u64)source << SITE_SOURCE_SHIFT);
}

__u64 attr_site_index(__u64 site_id)
{
	return site_id & SITE_INDEX_MASK;
}

enum memobs_alloc_source attr_site_source(__u64 site_id)
{
	__u64 source = site_id >> SITE_SOURCE_SHIFT;

	return source <= ATTR_SOURCE_ARENA ? (enum memobs_alloc_source)source : MEMOBS_SRC_MALLOC;
}

const char *attr_source__str(enum memobs_alloc_source source)
{
	switch (source) {
	case MEMOBS_SRC_MALLOC:
		return "malloc";
	case MEMOBS_SRC_MMAP:
		return "mmap";
	case MEMOBS_SRC_BRK:
		return "brk";
	case MEMOBS_SRC_FAULT:
		return "fault";
	case ATTR_SOURCE_ARENA:
		return "arena";
	default:
		return "?";
	}
}

/*
 * The entry points the malloc probes hook (attr_probes.c) and the names the
 * symbolizer may give them (glibc's __libc_ aliases, C++ operators). A
 * stack with one of them is the allocator growing its own arenas.
 */
static const char *const malloc_entries[] = {
	"malloc",
	"calloc",
	"realloc",
	"reallocarray",
	"free",
	"posix_memalign",
	"aligned_alloc",
	"memalign",
	"valloc",
	"pvalloc",
	"__libc_malloc",
	"__libc_calloc",
	"__libc_realloc",
	"__libc_free",
	"__libc_memalign",
	"__libc_valloc",
	"__libc_pvalloc",
	"operator new",
	"operator new[]",
	"operator delete",
	"operator delete[]",
};

/* Whether a frame "func+0xoff (module) ..." names one of them (demangled arguments aside). */
static bool frame_is_malloc_entry(const char *frame)
{
	size_t len = strcspn(frame, "+ (");
	size_t i;

	/* "operator new(unsigned long)+0x1c (libstdc++.so.6)": the name stops at its '(' */
	if (!strncmp(frame, "operator ", 9))
		len = strcspn(frame, "(+");
	for (i = 0; i < sizeof(malloc_entries) / sizeof(malloc_entries[0]); i++)
		if (strlen(malloc_entries[i]) == len && !strncmp(frame, malloc_entries[i], len))
			return true;
	return false;
}

void attr_filter_source(struct alloc_filter *f, __u32 source, bool exclude)
{
	f->site_mask = ~SITE_INDEX_MASK;
	f->site_bits = attr_site_id(0, source);
	f->site_exclude = exclude;
}

bool attr_mm_inside_malloc(struct attr *a, __u64 index)
{
	const struct site *s;
	size_t i;

	if (index >= a->nr_sites)
		return false;
	s = &a->sites[index];
	for (i = 0; i < s->nr; i++)
		if (frame_is_malloc_entry(s->frames[i]))
			return true;
	return false;
}

/*
 * The sampled mappings alive (mmap, sbrk, the allocator's arenas), by
 * range: a fault on one of their pages is the first touch of memory a site
 * already names where it was mapped, and is not counted again. Bounded:
 * past ATTR_MAX_MAPPED_RANGES, new mappings are not remembered (their
 * faults then count as faults), counted.
 */
static bool is_mapping_source(__u32 source)
{
	return source == MEMOBS_SRC_MMAP || source == MEMOBS_SRC_BRK || source == ATTR_SOURCE_ARENA;
}

void attr_mapped_add(struct attr *a, __u32 pid, __u64 addr, __u64 len, __u32 source)
{
	if (!is_mapping_source(source) || !len)
		return;
	if (a->nr_mapped >= ATTR_MAX_MAPPED_RANGES ||
	    ARRAY_GROW(a->mapped, a->cap_mapped, a->nr_mapped + 1)) {
		a->mapped_untracked++;
		return;
	}
	a->mapped[a->nr_mapped++] =
		(struct mapped_range){ .pid = pid, .start = addr, .end = addr + len };
}

void attr_mapped_remove(struct attr *a, __u32 pid, __u64 addr)
{
	size_t i;

	for (i = 0; i < a->nr_mapped; i++)
		if (a->mapped[i].pid == pid && a->mapped[i].start == addr) {
			a->mapped[i] = a->mapped[--a->nr_mapped];
			return;
		}
}

void attr_mapped_forget_pid(struct attr *a, __u32 pid)
{
	size_t i = 0;

	while (i < a->nr_mapped) {
		if (a->mapped[i].pid == pid)
			a->mapped[i] = a->mapped[--a->nr_mapped];
		else
			i++;
	}
}

bool attr_mapped_covers(const struct attr *a, __u32 pid, __u64 addr)
{
	size_t i;

	for (i = 0; i < a->nr_mapped; i++)
		if (a->mapped[i].pid == pid && a->mapped[i].start <= addr &&
		    addr < a->mapped[i].end)
			return true;
	return false;
}
