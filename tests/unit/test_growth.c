// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What holds a suspect's growth (model/growth.c): the rule of
 * docs/detector.md's "Leak or retention", case by case and at its edges.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "model/growth.h"

#define MIB (1ULL << 20)

static void assert_held_by(const struct growth_figures *f, const char *want)
{
	const char *got = growth__held_by(f);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void test_nothing_grew(void **state)
{
	struct growth_figures f = { .malloc_bytes = 10 * MIB, .mapped_bytes = 10 * MIB };

	(void)state;
	assert_held_by(&f, NULL);
}

static void test_live_allocations_first(void **state)
{
	/* a fifth of the growth in live allocations is a leak through malloc, whatever else */
	struct growth_figures f = {
		.anon_growth = 100 * MIB,
		.malloc_bytes = 20 * MIB,
		.mapped_bytes = 90 * MIB,
		.arena_bytes = 90 * MIB,
		.managed_runtime = true,
	};

	(void)state;
	assert_held_by(&f, "malloc");
	f.malloc_bytes = 20 * MIB - 1;
	assert_held_by(&f, "runtime");
}

static void test_mapped_outside_malloc(void **state)
{
	struct growth_figures f = { .anon_growth = 100 * MIB,
				    .mapped_bytes = 50 * MIB,
				    .arena_bytes = 80 * MIB };

	(void)state;
	assert_held_by(&f, "mapped"); /* the program's own mappings before the allocator's */
	f.mapped_bytes = 50 * MIB - 1;
	assert_held_by(&f, "allocator");
}

static void test_retention(void **state)
{
	/* the arenas grew, few allocations stay live: the allocator keeps freed memory */
	struct growth_figures f = { .anon_growth = 100 * MIB,
				    .malloc_bytes = 5 * MIB,
				    .arena_bytes = 60 * MIB };

	(void)state;
	assert_held_by(&f, "allocator");
	f.arena_bytes = 10 * MIB;
	assert_held_by(&f, "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_grew),
		cmocka_unit_test(test_live_allocations_first),
		cmocka_unit_test(test_mapped_outside_malloc),
		cmocka_unit_test(test_retention),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
