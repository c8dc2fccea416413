// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include "model/alloc_sites.h"

static struct alloc_sample sample(__u32 pid, __u64 addr, __u64 size, __u64 site, __u64 ts)
{
	struct alloc_sample a = {
		.pid = pid,
		.cgroup_id = 100 + pid,
		.addr = addr,
		.size = size,
		.ts_ns = ts,
		.site_id = site,
	};
	return a;
}

static void test_weight(void **state)
{
	(void)state;
	/* every allocation sampled: weight 1 whatever the size */
	assert_true(alloc_sites__weight(64, 1) == 1.0);
	/* s = T: p = 1 - 1/e */
	assert_float_equal(alloc_sites__weight(1000, 1000), 1.0 / (1.0 - exp(-1.0)), 1e-9);
	/* small s: p ~ s/T, weight ~ T/s */
	assert_float_equal(alloc_sites__weight(64, 512 * 1024), 512.0 * 1024 / 64, 0.6);
	/* huge s: sampled for sure */
	assert_float_equal(alloc_sites__weight(100 << 20, 512 * 1024), 1.0, 1e-9);
}

static void test_add_remove(void **state)
{
	struct alloc_sites *s = alloc_sites__new(1);
	struct alloc_sample a = sample(7, 0x1000, 64, 1, 10);
	(void)state;

	assert_non_null(s);
	assert_int_equal(alloc_sites__add(s, &a), 0);
	/* same address in another process is another block */
	a.pid = 8;
	assert_int_equal(alloc_sites__add(s, &a), 0);
	assert_int_equal(alloc_sites__len(s), 2);
	/* a NULL result is not an allocation */
	a.addr = 0;
	assert_int_equal(alloc_sites__add(s, &a), 0);
	assert_int_equal(alloc_sites__len(s), 2);
	/* re-adding an address replaces it (a reused block after an unseen free) */
	a = sample(7, 0x1000, 128, 2, 11);
	assert_int_equal(alloc_sites__add(s, &a), 0);
	assert_int_equal(alloc_sites__len(s), 2);
	assert_float_equal(alloc_sites__outstanding_bytes(s, &(struct alloc_filter){ .pid = 7 }),
			   128, 0);
	/* an unsampled block's free is a miss */
	assert_false(alloc_sites__remove(s, 7, 0x2000));
	assert_true(alloc_sites__remove(s, 7, 0x1000));
	assert_false(alloc_sites__remove(s, 7, 0x1000));
	assert_int_equal(alloc_sites__len(s), 1);
	alloc_sites__free(s);
	alloc_sites__free(NULL);
}

/* Many colliding inserts and deletions keep every remaining entry findable. */
static void test_churn(void **state)
{
	struct alloc_sites *s = alloc_sites__new(1);
	const int n = 20000;
	int i;
	(void)state;

	for (i = 1; i <= n; i++) {
		struct alloc_sample a = sample(i % 3, (__u64)i * 16, 16, i % 5, i);

		assert_int_equal(alloc_sites__add(s, &a), 0);
	}
	for (i = 1; i <= n; i += 2)
		assert_true(alloc_sites__remove(s, i % 3, (__u64)i * 16));
	assert_int_equal(alloc_sites__len(s), n / 2);
	for (i = 2; i <= n; i += 2)
		assert_true(alloc_sites__remove(s, i % 3, (__u64)i * 16));
	assert_int_equal(alloc_sites__len(s), 0);
	alloc_sites__free(s);
}

static __u64 seen_bytes;

static void count_bytes(void *ctx, const struct alloc_sample *a)
{
	*(__u64 *)ctx += a->size;
}

static void test_remove_pid(void **state)
{
	struct alloc_sites *s = alloc_sites__new(1);
	int i;
	(void)state;

	for (i = 1; i <= 3000; i++) {
		struct alloc_sample a = sample(i % 2 ? 5 : 6, (__u64)i * 32, 10, 1, i);

		assert_int_equal(alloc_sites__add(s, &a), 0);
	}
	seen_bytes = 0;
	assert_int_equal(alloc_sites__remove_pid(s, 5, count_bytes, &seen_bytes), 1500);
	assert_int_equal(seen_bytes, 15000);
	assert_int_equal(alloc_sites__remove_pid(s, 5, NULL, NULL), 0);
	assert_int_equal(alloc_sites__len(s), 1500);
	assert_float_equal(alloc_sites__outstanding_bytes(s, NULL), 15000, 0);
	assert_float_equal(alloc_sites__outstanding_bytes(s, &(struct alloc_filter){ .pid = 5 }), 0,
			   0);
	alloc_sites__free(s);
}

static void test_top_order_and_filter(void **state)
{
	struct alloc_sites *s = alloc_sites__new(1);
	struct alloc_site *top;
	size_t nr;
	struct alloc_sample a;
	(void)state;

	/* site 1: 3 x 100 B in pid 1; site 2: 1 x 1000 B in pid 2; site 3: 1 x 50 B in pid 1 */
	a = sample(1, 0x10, 100, 1, 30), alloc_sites__add(s, &a);
	a = sample(1, 0x20, 100, 1, 20), alloc_sites__add(s, &a);
	a = sample(1, 0x30, 100, 1, 40), alloc_sites__add(s, &a);
	a = sample(2, 0x10, 1000, 2, 50), alloc_sites__add(s, &a);
	a = sample(1, 0x40, 50, 3, 60), alloc_sites__add(s, &a);

	assert_int_equal(alloc_sites__top(s, NULL, 0, &top, &nr), 0);
	assert_int_equal(nr, 3);
	assert_int_equal(top[0].site_id, 2);
	assert_int_equal(top[1].site_id, 1);
	assert_float_equal(top[1].est_bytes, 300, 0);
	assert_float_equal(top[1].est_allocs, 3, 0);
	assert_int_equal(top[1].samples, 3);
	assert_int_equal(top[1].oldest_ts_ns, 20);
	assert_int_equal(top[2].site_id, 3);
	free(top);

	assert_int_equal(
		alloc_sites__top(s, &(struct alloc_filter){ .cgroup_id = 101 }, 1, &top, &nr), 0);
	assert_int_equal(nr, 1);
	assert_int_equal(top[0].site_id, 1);
	assert_int_equal(top[0].pid, 1);
	free(top);

	assert_int_equal(alloc_sites__top(s, &(struct alloc_filter){ .pid = 99 }, 5, &top, &nr), 0);
	assert_int_equal(nr, 0);
	free(top);
	alloc_sites__free(s);
}

/* A uniform double in (0, 1] from a xorshift generator: deterministic runs. */
static double uniform(__u64 *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return ((*state >> 11) + 1) * (1.0 / 9007199254740992.0);
}

/*
 * The estimator against the truth: allocations of mixed sizes sampled as
 * the BPF side does (a countdown drawn from an exponential), half of them
 * freed; the estimate of what is outstanding must land near the truth.
 */
static void test_estimate_matches_truth(void **state)
{
	const __u64 mean = 16 * 1024;
	const __u64 sizes[] = { 16, 64, 200, 4096, 100000, 1 << 20 };
	struct alloc_sites *s = alloc_sites__new(mean);
	double truth = 0, truth_site0 = 0, left, est;
	__u64 rng = 0x9e3779b97f4a7c15ULL, i;
	struct alloc_site *top;
	size_t nr;
	(void)state;

	left = -log(uniform(&rng)) * mean;
	for (i = 0; i < 400000; i++) {
		__u64 size = sizes[i % 6];
		bool keep = (i / 6) % 2 == 0;
		struct alloc_sample a = sample(1, 0x1000 + i * 16, size, size == 64, i);

		if (keep) {
			truth += size;
			truth_site0 += size == 64 ? size : 0;
		}
		if (left > (double)size) {
			left -= size;
			continue;
		}
		left = -log(uniform(&rng)) * mean;
		assert_int_equal(alloc_sites__add(s, &a), 0);
		if (!keep)
			assert_true(alloc_sites__remove(s, 1, a.addr));
	}
	est = alloc_sites__outstanding_bytes(s, NULL);
	assert_true(fabs(est - truth) / truth < 0.05);
	assert_int_equal(alloc_sites__top(s, NULL, 0, &top, &nr), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(top[1].site_id, 1); /* the 64-byte site */
	assert_true(fabs(top[1].est_bytes - truth_site0) / truth_site0 < 0.2);
	free(top);
	alloc_sites__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weight),
		cmocka_unit_test(test_add_remove),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_remove_pid),
		cmocka_unit_test(test_top_order_and_filter),
		cmocka_unit_test(test_estimate_matches_truth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
