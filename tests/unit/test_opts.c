// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Option values and the option parsing of run, top and leaks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "attribute/attr.h"
#include "cli/leaks_opts.h"
#include "cli/opts.h"
#include "cli/run_opts.h"
#include "cli/top_opts.h"
#include "util/array.h"

static void test_seconds(void **state)
{
	double s;

	(void)state;
	assert_int_equal(parse_seconds("1", OPTS_MIN_SECONDS, 10, &s), 0);
	assert_true(s == 1.0);
	assert_int_equal(parse_seconds("0.5", OPTS_MIN_SECONDS, 10, &s), 0);
	assert_true(s == 0.5);
	assert_int_equal(parse_seconds("2m", OPTS_MIN_SECONDS, 3600, &s), 0);
	assert_true(s == 120);
	assert_int_equal(parse_seconds("250ms", OPTS_MIN_SECONDS, 10, &s), 0);
	assert_true(s == 0.25);
	assert_int_equal(parse_seconds("0.01", OPTS_MIN_SECONDS, 10, &s), 0);
	assert_true(s == 0.01);
	assert_int_equal(parse_seconds("10ms", OPTS_MIN_SECONDS, 10, &s), 0);
	const char *bad[] = {
		"0",  "-1", "",	     "abc",   "1x",    "0x10", "inf",	"nan",
		" 1", "11", "1e999", "1e-10", "0.001", "9ms",  "1e-5m",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(parse_seconds(bad[i], OPTS_MIN_SECONDS, 10, &s), -EINVAL);
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
	assert_int_equal(parse_bytes("1T", &v), 0);
	assert_int_equal(v, 1ULL << 40);
	assert_int_equal(parse_bytes("12Q", &v), -EINVAL);
	assert_int_equal(parse_bytes("-5", &v), -EINVAL);
	assert_int_equal(parse_u64("42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_u64("0", 1, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("101", 1, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("4a", 1, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("99999999999999999999999", 0, ~0ULL, &v), -EINVAL);
}

/* argv from a NULL-terminated list of arguments after the command name. */
static int make_argv(char **argv, const char *cmd, va_list ap)
{
	int argc = 1;

	argv[0] = (char *)cmd;
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	argv[argc] = NULL;
	return argc;
}

static enum opts_result parse(struct run_opts *o, char *err, size_t size, ...)
{
	char *argv[16];
	va_list ap;
	int argc;

	va_start(ap, size);
	argc = make_argv(argv, "run", ap);
	va_end(ap);
	return run_opts__parse(argc, argv, o, err, size);
}

static enum opts_result parse_top(struct top_opts *o, char *err, size_t size, ...)
{
	char *argv[16];
	va_list ap;
	int argc;

	va_start(ap, size);
	argc = make_argv(argv, "top", ap);
	va_end(ap);
	return top_opts__parse(argc, argv, o, err, size);
}

static enum opts_result parse_leaks(struct leaks_opts *o, char *err, size_t size, ...)
{
	char *argv[16];
	va_list ap;
	int argc;

	va_start(ap, size);
	argc = make_argv(argv, "leaks", ap);
	va_end(ap);
	return leaks_opts__parse(argc, argv, o, err, size);
}

static void test_run_opts(void **state)
{
	struct run_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, sizeof(err), NULL), OPTS_OK);
	assert_true(o.interval_s == 1 && o.window_s == 300 && o.duration_s == 0);
	assert_true(o.min_growth_bytes_per_s == 32768);
	assert_int_equal(parse(&o, err, sizeof(err), "--interval", "2", "--duration", "10",
			       "--snapshots", "--min-growth", "1M", "-v", "-v", NULL),
			 OPTS_OK);
	assert_true(o.interval_s == 2 && o.duration_s == 10 && o.snapshots);
	assert_true(o.min_growth_bytes_per_s == 1048576 && o.verbosity == 2);
	assert_int_equal(parse(&o, err, sizeof(err), "--help", NULL), OPTS_EXIT_OK);

	assert_int_equal(parse(&o, err, sizeof(err), "--interval", "0", NULL), OPTS_USAGE_ERROR);
	assert_non_null(strstr(err, "'0'"));
	assert_non_null(strstr(err, "--interval"));
	assert_int_equal(parse(&o, err, sizeof(err), "--bogus", NULL), OPTS_USAGE_ERROR);
	assert_non_null(strstr(err, "--bogus"));
	assert_int_equal(parse(&o, err, sizeof(err), "--interval", NULL), OPTS_USAGE_ERROR);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(parse(&o, err, sizeof(err), "stray", NULL), OPTS_USAGE_ERROR);
	assert_non_null(strstr(err, "'stray'"));
	assert_int_equal(parse(&o, err, sizeof(err), "--ringbuf-size", "3000", NULL),
			 OPTS_USAGE_ERROR);
	assert_int_equal(parse(&o, err, sizeof(err), "--ringbuf-size", "1M", NULL), OPTS_OK);
	assert_int_equal(o.ringbuf_bytes, 1 << 20);
	assert_int_equal(parse(&o, err, sizeof(err), "--window", "2", NULL), OPTS_USAGE_ERROR);
	assert_non_null(strstr(err, "window '2'"));

	/* every numeric option has bounds on both sides */
	const char *const absurd[][2] = {
		{ "--interval", "1e-10" },
		{ "--interval", "0.001" },
		{ "--interval", "3601" },
		{ "--duration", "1e-10" },
		{ "--duration", "8785h" },
		{ "--window", "1e-10" },
		{ "--window", "8000000" },
		{ "--min-growth", "0" },
		{ "--min-growth", "2048G" },
		{ "--stats-interval", "1e-10" },
		{ "--escalate-for", "1e-10" },
		{ "--malloc-sample-bytes", "0" },
		{ "--malloc-sample-bytes", "2T" },
		{ "--metrics-max-cgroups", "0" },
		{ "--metrics-max-cgroups", "1000001" },
		{ "--ringbuf-size", "2G" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(absurd); i++) {
		assert_int_equal(parse(&o, err, sizeof(err), absurd[i][0], absurd[i][1], NULL),
				 OPTS_USAGE_ERROR);
		assert_non_null(strstr(err, absurd[i][1]));
		assert_non_null(strstr(err, absurd[i][0]));
	}
	assert_int_equal(parse(&o, err, sizeof(err), "--interval", "0.01", "--window", "1",
			       "--duration", "10ms", NULL),
			 OPTS_OK);
	assert_true(o.interval_s == 0.01 && o.duration_s == 0.01);
	assert_int_equal(parse(&o, err, sizeof(err), "--verbose", "-vv", NULL), OPTS_OK);
	assert_int_equal(o.verbosity, 3);
	/* a short option in a bundle is named by its letter */
	assert_int_equal(parse(&o, err, sizeof(err), "-vq", NULL), OPTS_USAGE_ERROR);
	assert_string_equal(err, "unknown option '-q'");
	assert_int_equal(parse(&o, err, sizeof(err), "--interval", "abc", NULL), OPTS_USAGE_ERROR);
	assert_string_equal(err, "invalid value 'abc' for --interval: expected seconds from 0.01 "
				 "to 3600 (e.g. 1, 0.5, 30s)");
}

static void test_top_opts(void **state)
{
	struct top_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse_top(&o, err, sizeof(err), NULL), OPTS_OK);
	assert_true(o.delay_s == 2 && o.iterations == 0 && o.sort == TOP_COL_GROWTH);
	assert_int_equal(parse_top(&o, err, sizeof(err), "-d", "0.5", "-n", "3", "-s", "anon", "-R",
				   "-r", "20", "-v", "--once", NULL),
			 OPTS_OK);
	assert_true(o.delay_s == 0.5 && o.sort == TOP_COL_ANON && o.reverse);
	assert_true(o.max_rows == 20 && o.verbosity == 1 && o.once && o.iterations == 1);
	assert_int_equal(parse_top(&o, err, sizeof(err), "--verbose", "--verbose", NULL), OPTS_OK);
	assert_int_equal(o.verbosity, 2);
	assert_int_equal(parse_top(&o, err, sizeof(err), "-h", NULL), OPTS_EXIT_OK);

	const char *const bad[][2] = {
		{ "-d", "0" },	  { "-d", "1e-10" },   { "-d", "3601" },       { "-s", "speed" },
		{ "-n", "many" }, { "-n", "0" },       { "-n", "4294967296" }, { "-r", "-3" },
		{ "-r", "0" },	  { "-r", "1000001" }, { "--socket", "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(parse_top(&o, err, sizeof(err), bad[i][0], bad[i][1], NULL),
				 OPTS_USAGE_ERROR);
		assert_non_null(strstr(err, "invalid value '"));
		assert_non_null(strstr(err, bad[i][1]));
	}
	assert_int_equal(parse_top(&o, err, sizeof(err), "-d", NULL), OPTS_USAGE_ERROR);
	assert_string_equal(err, "option '-d' needs a value");
	assert_int_equal(parse_top(&o, err, sizeof(err), "--delay", NULL), OPTS_USAGE_ERROR);
	assert_string_equal(err, "option '--delay' needs a value");
	assert_int_equal(parse_top(&o, err, sizeof(err), "--bogus", NULL), OPTS_USAGE_ERROR);
	assert_string_equal(err, "unknown option '--bogus'");
	assert_int_equal(parse_top(&o, err, sizeof(err), "stray", NULL), OPTS_USAGE_ERROR);
	assert_string_equal(err, "unexpected argument 'stray'");
}

static void test_leaks_opts(void **state)
{
	struct leaks_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse_leaks(&o, err, sizeof(err), "--pid", "42", NULL), OPTS_OK);
	assert_true(o.pid == 42 && o.duration_s == 10 && o.top == 10 && !o.all);
	assert_int_equal(parse_leaks(&o, err, sizeof(err), "--all", "--duration", "2m", "--top",
				     "5", "--json", "--trace-mm", "-v", NULL),
			 OPTS_OK);
	assert_true(o.all && o.duration_s == 120 && o.top == 5 && o.json && o.trace_mm);
	assert_int_equal(o.verbosity, 1);
	assert_int_equal(parse_leaks(&o, err, sizeof(err), "--cgroup", "/x", NULL), OPTS_OK);
	assert_string_equal(o.cgroup_arg, "/x");
	assert_int_equal(parse_leaks(&o, err, sizeof(err), "--help", NULL), OPTS_EXIT_OK);

	const char *const bad[][2] = {
		{ "--pid", "abc" },
		{ "--pid", "0" },
		{ "--duration", "-3" },
		{ "--duration", "1e-10" },
		{ "--duration", "8d" },
		{ "--top", "0" },
		{ "--top", "100001" },
		{ "--malloc-sample-bytes", "0" },
		{ "--malloc-sample-bytes", "2T" },
		{ "--stack-bytes", "100" },
		{ "--stack-bytes", "17K" },
		{ "--stack-bytes", "-1" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(parse_leaks(&o, err, sizeof(err), "--all", bad[i][0], bad[i][1],
					     NULL),
				 OPTS_USAGE_ERROR);
		assert_non_null(strstr(err, "invalid value '"));
		assert_non_null(strstr(err, bad[i][1]));
		assert_non_null(strstr(err, bad[i][0]));
	}
	assert_int_equal(parse_leaks(&o, err, sizeof(err), NULL), OPTS_USAGE_ERROR);
	assert_string_equal(err, "expected one of --cgroup, --pid or --all");
	assert_int_equal(parse_leaks(&o, err, sizeof(err), "--all", "--pid", "1", NULL),
			 OPTS_USAGE_ERROR);
	assert_string_equal(err, "expected only one of --cgroup, --pid or --all");
	assert_int_equal(parse_leaks(&o, err, sizeof(err), "--all", "--bogus", NULL),
			 OPTS_USAGE_ERROR);
	assert_string_equal(err, "unknown option '--bogus'");
	assert_int_equal(parse_leaks(&o, err, sizeof(err), "--pid", "1", "--all-sources", NULL),
			 OPTS_OK);
	assert_true(o.all_sources);
	assert_int_equal(parse_leaks(&o, err, sizeof(err), "--all", "--all-sources", NULL),
			 OPTS_USAGE_ERROR);
	assert_string_equal(err,
			    "--all-sources traces named processes (--pid or --cgroup), not --all");
}

/* --stack-bytes (run, leaks): 0 is "no copy", kept apart from "the default". */
static void test_stack_bytes_opts(void **state)
{
	struct leaks_opts lo;
	struct run_opts ro;
	char err[256];

	(void)state;
	assert_int_equal(parse_leaks(&lo, err, sizeof(err), "--all", NULL), OPTS_OK);
	assert_int_equal(lo.stack_bytes, 0);
	assert_int_equal(parse_leaks(&lo, err, sizeof(err), "--all", "--stack-bytes", "0", NULL),
			 OPTS_OK);
	assert_int_equal(lo.stack_bytes, ATTR_FP_ONLY);
	assert_int_equal(parse_leaks(&lo, err, sizeof(err), "--all", "--stack-bytes", "8K", NULL),
			 OPTS_OK);
	assert_int_equal(lo.stack_bytes, 8192);
	assert_int_equal(parse(&ro, err, sizeof(err), "--stack-bytes", "16K", NULL), OPTS_OK);
	assert_int_equal(ro.stack_bytes, MEMOBS_USTACK_MAX);
	assert_int_equal(parse(&ro, err, sizeof(err), "--stack-bytes", "32K", NULL),
			 OPTS_USAGE_ERROR);
	assert_string_equal(err,
			    "invalid value '32K' for --stack-bytes: expected 0 (frame pointers "
			    "only) or bytes from 256 to 16K");
}

/* --wrappers (run, leaks): checked at parse time, one line naming the option. */
static void test_wrappers_opts(void **state)
{
	char err[256], many[64 * 3 + 8], longest[300];
	struct leaks_opts lo;
	struct run_opts ro;
	size_t i;

	(void)state;
	assert_int_equal(parse_leaks(&lo, err, sizeof(err), "--pid", "1", NULL), OPTS_OK);
	assert_null(lo.wrappers);
	assert_int_equal(parse_leaks(&lo, err, sizeof(err), "--pid", "1", "--wrappers",
				     "=mymalloc,my_*", NULL),
			 OPTS_OK);
	assert_string_equal(lo.wrappers, "=mymalloc,my_*");
	assert_int_equal(parse(&ro, err, sizeof(err), NULL), OPTS_OK);
	assert_null(ro.wrappers);
	assert_int_equal(parse(&ro, err, sizeof(err), "--wrappers", "zalloc,pool_*", NULL),
			 OPTS_OK);
	assert_string_equal(ro.wrappers, "zalloc,pool_*");

	const char *const empty[] = { "", "=", "a,,b", "a,", ",a" };
	for (i = 0; i < ARRAY_SIZE(empty); i++) {
		assert_int_equal(parse_leaks(&lo, err, sizeof(err), "--all", "--wrappers", empty[i],
					     NULL),
				 OPTS_USAGE_ERROR);
		assert_non_null(strstr(err, "for --wrappers: pattern "));
		assert_non_null(strstr(err, " is empty"));
		assert_int_equal(parse(&ro, err, sizeof(err), "--wrappers", empty[i], NULL),
				 OPTS_USAGE_ERROR);
		assert_non_null(strstr(err, "--wrappers"));
	}
	assert_int_equal(parse(&ro, err, sizeof(err), "--wrappers", "a,,b", NULL),
			 OPTS_USAGE_ERROR);
	assert_string_equal(err, "invalid value 'a,,b' for --wrappers: pattern 2 is empty "
				 "(expected function globs separated by commas)");

	many[0] = '\0';
	for (i = 0; i < 65; i++)
		strcat(many, i ? ",p*" : "p*");
	assert_int_equal(parse_leaks(&lo, err, sizeof(err), "--all", "--wrappers", many, NULL),
			 OPTS_USAGE_ERROR);
	assert_non_null(strstr(err, "for --wrappers: 65 patterns, at most 64"));
	assert_non_null(strstr(err, "'p*,p*,"));
	assert_non_null(strstr(err, "...'")); /* the value is cut, the reason is whole */
	many[strlen(many) - 3] = '\0';
	assert_int_equal(parse_leaks(&lo, err, sizeof(err), "--all", "--wrappers", many, NULL),
			 OPTS_OK);

	memset(longest, 'f', 257);
	longest[257] = '\0';
	assert_int_equal(parse(&ro, err, sizeof(err), "--wrappers", longest, NULL),
			 OPTS_USAGE_ERROR);
	assert_non_null(strstr(err, "for --wrappers: pattern 1 is longer than 256 bytes"));
	longest[256] = '\0';
	assert_int_equal(parse(&ro, err, sizeof(err), "--wrappers", longest, NULL), OPTS_OK);

	assert_int_equal(parse_leaks(&lo, err, sizeof(err), "--all", "--wrappers", NULL),
			 OPTS_USAGE_ERROR);
	assert_string_equal(err, "option '--wrappers' needs a value");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seconds),		 cmocka_unit_test(test_bytes_and_numbers),
		cmocka_unit_test(test_run_opts),	 cmocka_unit_test(test_top_opts),
		cmocka_unit_test(test_leaks_opts),	 cmocka_unit_test(test_wrappers_opts),
		cmocka_unit_test(test_stack_bytes_opts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
