// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <string.h>
#include "util/fmt.h"

static char buf[256];

static void test_size(void **state)
{
	(void)state;
	assert_string_equal(fmt_size(buf, sizeof(buf), 0), "0");
	assert_string_equal(fmt_size(buf, sizeof(buf), 512), "512B");
	assert_string_equal(fmt_size(buf, sizeof(buf), 1023), "1023B");
	assert_string_equal(fmt_size(buf, sizeof(buf), 1024), "1.00K");
	assert_string_equal(fmt_size(buf, sizeof(buf), 1536), "1.50K");
	assert_string_equal(fmt_size(buf, sizeof(buf), 12u << 20 | 300u << 10), "12.3M");
	assert_string_equal(fmt_size(buf, sizeof(buf), 100ull << 30), "100G");
	/* 1023.6 KiB would print as "1024K": it moves to the next unit */
	assert_string_equal(fmt_size(buf, sizeof(buf), 1048166), "1.00M");
	assert_string_equal(fmt_size(buf, sizeof(buf), 1023ull << 20), "1023M");
}

/* Whatever the value, the width promised in the header holds. */
static void test_widths_bounded(void **state)
{
	double v;
	__u64 b;

	(void)state;
	for (b = 1; b < (1ull << 62); b = b * 3 + 1) {
		assert_true(strlen(fmt_size(buf, sizeof(buf), b)) <= FMT_SIZE_WIDTH);
		assert_true(strlen(fmt_size(buf, sizeof(buf), b - 1)) <= FMT_SIZE_WIDTH);
	}
	assert_true(strlen(fmt_size(buf, sizeof(buf), ~0ull)) <= FMT_SIZE_WIDTH);
	for (v = 0.3; v < 1e22; v = v * 1.7 + 0.1) {
		assert_true(strlen(fmt_rate(buf, sizeof(buf), v)) <= FMT_RATE_WIDTH);
		assert_true(strlen(fmt_rate(buf, sizeof(buf), -v)) <= FMT_RATE_WIDTH);
		assert_true(strlen(fmt_count(buf, sizeof(buf), v)) <= FMT_COUNT_WIDTH);
		assert_true(strlen(fmt_duration(buf, sizeof(buf), v)) <= FMT_DURATION_WIDTH);
	}
}

static void test_rate(void **state)
{
	(void)state;
	assert_string_equal(fmt_rate(buf, sizeof(buf), 1.2 * 1024 * 1024), "+1.20M/s");
	assert_string_equal(fmt_rate(buf, sizeof(buf), -340 * 1024.0), "-340K/s");
	assert_string_equal(fmt_rate(buf, sizeof(buf), 0.2), "0/s");
	assert_string_equal(fmt_rate(buf, sizeof(buf), NAN), "-");
	assert_string_equal(fmt_rate(buf, sizeof(buf), 100), "+100B/s");
}

static void test_count(void **state)
{
	(void)state;
	assert_string_equal(fmt_count(buf, sizeof(buf), 0), "0");
	assert_string_equal(fmt_count(buf, sizeof(buf), 999), "999");
	assert_string_equal(fmt_count(buf, sizeof(buf), 1234), "1.23k");
	assert_string_equal(fmt_count(buf, sizeof(buf), 45.6e6), "45.6M");
	assert_string_equal(fmt_count(buf, sizeof(buf), -1), "-");
}

static void test_duration(void **state)
{
	(void)state;
	assert_string_equal(fmt_duration(buf, sizeof(buf), -1), "-");
	assert_string_equal(fmt_duration(buf, sizeof(buf), NAN), "-");
	assert_string_equal(fmt_duration(buf, sizeof(buf), INFINITY), "-");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 0), "0s");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 45.9), "45s");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 330), "5m30s");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 300), "5m");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 12 * 60 + 59), "12m");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 3 * 3600 + 10 * 60 + 5), "3h10m");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 15 * 3600 + 60), "15h");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 2 * 86400 + 4 * 3600), "2d4h");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 45 * 86400), "45d");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 1e9), ">99d");
}

static void test_sparkline(void **state)
{
	const double rising[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	const double flat[] = { 5, 5, 5 };
	const double gap[] = { 1, NAN, 3 };

	(void)state;
	assert_string_equal(fmt_sparkline(buf, sizeof(buf), rising, 8, 8, true), "▁▂▃▄▅▆▇█");
	assert_string_equal(fmt_sparkline(buf, sizeof(buf), rising, 8, 8, false), "_.-~=+*#");
	/* the window keeps the newest values and rescales to them */
	assert_string_equal(fmt_sparkline(buf, sizeof(buf), rising, 8, 2, false), "_#");
	/* fewer values than columns: right-aligned, the newest at the right edge */
	assert_string_equal(fmt_sparkline(buf, sizeof(buf), flat, 3, 5, false), "  ___");
	assert_string_equal(fmt_sparkline(buf, sizeof(buf), gap, 3, 3, false), "_ #");
	assert_string_equal(fmt_sparkline(buf, sizeof(buf), NULL, 0, 2, true), "  ");
	/* a short buffer is never overrun: whole cells only */
	assert_string_equal(fmt_sparkline(buf, 7, rising, 8, 8, true), "▁▂");
}

static void test_cgroup_name(void **state)
{
	const char *deep = "/kubepods.slice/kubepods-burstable.slice/cri-containerd-ab12.scope";

	(void)state;
	assert_string_equal(fmt_cgroup_name(buf, sizeof(buf), "/a/b", NULL, 20, true), "/a/b");
	/* the last components survive, the cut is marked */
	assert_string_equal(fmt_cgroup_name(buf, sizeof(buf), deep, NULL, 30, true),
			    "…/cri-containerd-ab12.scope");
	assert_string_equal(fmt_cgroup_name(buf, sizeof(buf), deep, NULL, 52, false),
			    "~/kubepods-burstable.slice/cri-containerd-ab12.scope");
	/* a component longer than the column keeps both its ends */
	assert_string_equal(fmt_cgroup_name(buf, sizeof(buf), deep, NULL, 11, false),
			    "/kube~scope");
	/* the container label wins over the path */
	assert_string_equal(fmt_cgroup_name(buf, sizeof(buf), deep, "web/nginx", 20, true),
			    "web/nginx");
	assert_string_equal(fmt_cgroup_name(buf, sizeof(buf), deep, "", 11, false), "/kube~scope");
	/* hostile bytes cannot reach the terminal */
	assert_string_equal(fmt_cgroup_name(buf, sizeof(buf), "/x\x1b[2J\n\xc3\xa9", NULL, 20,
					    true),
			    "/x?[2J???");
	assert_int_equal(strlen(fmt_cgroup_name(buf, sizeof(buf), deep, NULL, 1, true)), 1);
	assert_string_equal(fmt_sanitize(buf, sizeof(buf), "ab\tcd", 4), "ab?c");
}

/*
 * Issue 14: absurd figures (a u64 off the socket, a broken rate) kept their
 * widths? fmt_count wrote 63 digits for 1e300 and fmt_rate took llround()
 * past LLONG_MAX (1e19 showed as "+8.00E/s", not 8.67E).
 */
static void test_absurd_values_keep_widths(void **state)
{
	static const double values[] = { 1e19, 1.8e19, 0x1p64, 1e22, 1e25, 1e300, DBL_MAX };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		assert_true(strlen(fmt_rate(buf, sizeof(buf), values[i])) <= FMT_RATE_WIDTH);
		assert_true(strlen(fmt_rate(buf, sizeof(buf), -values[i])) <= FMT_RATE_WIDTH);
		assert_true(strlen(fmt_count(buf, sizeof(buf), values[i])) <= FMT_COUNT_WIDTH);
		assert_true(strlen(fmt_duration(buf, sizeof(buf), values[i])) <=
			    FMT_DURATION_WIDTH);
		assert_true(strlen(fmt_size_double(buf, sizeof(buf), values[i])) <= FMT_SIZE_WIDTH);
	}
	assert_string_equal(fmt_rate(buf, sizeof(buf), 1e19), "+8.67E/s");
	assert_string_equal(fmt_rate(buf, sizeof(buf), -1e300), "-16.0E/s");
	assert_string_equal(fmt_count(buf, sizeof(buf), 999e18), "999E");
	assert_string_equal(fmt_count(buf, sizeof(buf), 1e21), ">999E");
	assert_string_equal(fmt_count(buf, sizeof(buf), DBL_MAX), ">999E");
}

/* A size held as a double saturates instead of an undefined cast. */
static void test_size_double(void **state)
{
	(void)state;
	assert_string_equal(fmt_size_double(buf, sizeof(buf), 1536), "1.50K");
	assert_string_equal(fmt_size_double(buf, sizeof(buf), 0x1p64), "16.0E");
	assert_string_equal(fmt_size_double(buf, sizeof(buf), 1e300), "16.0E");
	assert_string_equal(fmt_size_double(buf, sizeof(buf), -5), "0");
	assert_string_equal(fmt_size_double(buf, sizeof(buf), NAN), "-");
}

/* What `memobs leaks` prints of a symbol: no escape sequence reaches the terminal. */
static void test_sanitize_symbol(void **state)
{
	(void)state;
	assert_string_equal(fmt_sanitize(buf, sizeof(buf), "evil\x1b]0;owned\x07+0x10", 64),
			    "evil?]0;owned?+0x10");
	assert_string_equal(fmt_sanitize(buf, sizeof(buf), "f\xc3\xa9\xff\r\n", 64), "f?????");
	/* cut at the buffer, not past it */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(strlen(fmt_sanitize(buf, 8, "0123456789", 64)), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_widths_bounded),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_sparkline),
		cmocka_unit_test(test_cgroup_name),
		cmocka_unit_test(test_absurd_values_keep_widths),
		cmocka_unit_test(test_size_double),
		cmocka_unit_test(test_sanitize_symbol),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
