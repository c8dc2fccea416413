// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Option values and `memobs run` option parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "cli/opts.h"
#include "cli/run_opts.h"

static void test_seconds(void **state)
{
	double s;

	(void)state;
	assert_int_equal(parse_seconds("1", 10, &s), 0);
	assert_true(s == 1.0);
	assert_int_equal(parse_seconds("0.5", 10, &s), 0);
	assert_true(s == 0.5);
	assert_int_equal(parse_seconds("2m", 3600, &s), 0);
	assert_true(s == 120);
	assert_int_equal(parse_seconds("250ms", 10, &s), 0);
	assert_true(s == 0.25);
	const char *bad[] = {
		"0", "-1", "", "abc", "1x", "0x10", "inf", "nan", " 1", "11", "1e999"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_seconds(bad[i], 10, &s), -EINVAL);
}

static void test_bytes_and_numbers(void **state)
{
	__u64 v;

	(void)state;
	assert_int_equal(parse_bytes("32K", &v), 0);
	assert_int_equal(v, 32768);
	assert_int_equal(parse_bytes("1.5MiB", &v), 0);
	assert_int_equal(v, 1572864);
	assert_int_equal(parse_bytes("2G", &v), 0);
	assert_int_equal(v, 2147483648ULL);
	assert_int_equal(parse_bytes("7", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_bytes("12Q", &v), -EINVAL);
	assert_int_equal(parse_bytes("-5", &v), -EINVAL);
	assert_int_equal(parse_u64("42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_u64("0", 1, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("101", 1, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("4a", 1, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("99999999999999999999999", 0, ~0ULL, &v), -EINVAL);
}

static int parse(struct run_opts *o, char *err, size_t size, ...)
{
	char *argv[16] = { "run" };
	int argc = 1;
	va_list ap;

	va_start(ap, size);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return run_opts__parse(argc, argv, o, err, size);
}

static void test_run_opts(void **state)
{
	struct run_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, sizeof(err), NULL), 0);
	assert_true(o.interval_s == 1 && o.window_s == 300 && o.duration_s == 0);
	assert_true(o.min_growth_bytes_per_s == 32768);
	assert_int_equal(parse(&o, err, sizeof(err), "--interval", "2", "--duration", "10",
			       "--snapshots", "--min-growth", "1M", "-v", "-v", NULL),
			 0);
	assert_true(o.interval_s == 2 && o.duration_s == 10 && o.snapshots);
	assert_true(o.min_growth_bytes_per_s == 1048576 && o.verbosity == 2);
	assert_int_equal(parse(&o, err, sizeof(err), "--help", NULL), RUN_PARSE_HELP);

	assert_int_equal(parse(&o, err, sizeof(err), "--interval", "0", NULL), -EINVAL);
	assert_non_null(strstr(err, "'0'"));
	assert_non_null(strstr(err, "--interval"));
	assert_int_equal(parse(&o, err, sizeof(err), "--bogus", NULL), -EINVAL);
	assert_non_null(strstr(err, "--bogus"));
	assert_int_equal(parse(&o, err, sizeof(err), "--interval", NULL), -EINVAL);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(parse(&o, err, sizeof(err), "stray", NULL), -EINVAL);
	assert_non_null(strstr(err, "'stray'"));
	assert_int_equal(parse(&o, err, sizeof(err), "--ringbuf-size", "3000", NULL), -EINVAL);
	assert_int_equal(parse(&o, err, sizeof(err), "--ringbuf-size", "1M", NULL), 0);
	assert_int_equal(o.ringbuf_bytes, 1 << 20);
	assert_int_equal(parse(&o, err, sizeof(err), "--window", "2", NULL), -EINVAL);
	assert_non_null(strstr(err, "window '2'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_bytes_and_numbers),
		cmocka_unit_test(test_run_opts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
