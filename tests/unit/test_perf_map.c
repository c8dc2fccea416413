// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The perf map parser (perf_map.h): perf's line format, hostile and growing files, NSpid. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "attribute/perf_map.h"

static const char *name_at(const struct perf_map *m, __u64 addr)
{
	const struct perf_map_entry *e = perf_map__find(m, addr);

	return e ? perf_map__name(m, e) : NULL;
}

static void test_node_style_map(void **state)
{
	/* as node --perf-basic-prof writes it, out of order as a JIT emits */
	static const char text[] = "3a1c0a4c4e0 1f4 Builtin:ArgumentsAdaptorTrampoline\n"
				   "3a1c0a45000 8c LazyCompile:~leakyBufferMaker /app/leak.js:3\n"
				   "3a1c0a46000 120 LazyCompile:*leakyBufferMaker /app/leak.js:3\n"
				   "0x7f0000001000 0x10 JS:*main file:///x.js:1:1\n";
	struct perf_map m;

	(void)state;
	assert_int_equal(perf_map__parse(text, sizeof(text) - 1, 100, &m), 0);
	assert_int_equal(m.nr, 4);
	assert_int_equal(m.skipped, 0);
	assert_string_equal(name_at(&m, 0x3a1c0a45000),
			    "LazyCompile:~leakyBufferMaker /app/leak.js:3");
	assert_string_equal(name_at(&m, 0x3a1c0a4608b),
			    "LazyCompile:*leakyBufferMaker /app/leak.js:3");
	assert_string_equal(name_at(&m, 0x3a1c0a4c4e0 + 0x1f3),
			    "Builtin:ArgumentsAdaptorTrampoline");
	assert_string_equal(name_at(&m, 0x7f000000100f), "JS:*main file:///x.js:1:1");
	assert_null(name_at(&m, 0x3a1c0a4508c)); /* between entries */
	assert_null(name_at(&m, 0x3a1c0a4c4e0 + 0x1f4));
	assert_null(name_at(&m, 0));
	assert_null(name_at(&m, ~0ULL));
	assert_true(perf_map__bytes(&m) > 0);
	perf_map__free(&m);
	assert_int_equal(m.nr, 0);
	perf_map__free(NULL);
}

/* Code freed and re-jitted at the same address: the later line names it. */
static void test_later_line_wins(void **state)
{
	static const char text[] = "1000 100 old\n2000 10 other\n1000 80 new\n";
	struct perf_map m;

	(void)state;
	assert_int_equal(perf_map__parse(text, sizeof(text) - 1, 100, &m), 0);
	assert_int_equal(m.nr, 2);
	assert_int_equal(m.skipped, 1);
	assert_string_equal(name_at(&m, 0x1000), "new");
	assert_null(name_at(&m, 0x1090)); /* the new size */
	perf_map__free(&m);
}

static void test_malformed_lines_are_counted(void **state)
{
	static const char text[] = "\n"
				   "zz 10 bad-start\n"
				   "1000 bad-size\n"
				   "1000 10\n"	/* no name */
				   "1000 10 \n" /* empty name */
				   "1000  10 two-spaces\n"
				   "2000 0 zero-size\n"
				   "ffffffffffffff00 200 wraps\n"
				   "11112222333344445 10 seventeen-digits\n"
				   "3000 10 good\n"
				   "4000 10 being-written"; /* no newline yet */
	struct perf_map m;

	(void)state;
	assert_int_equal(perf_map__parse(text, sizeof(text) - 1, 100, &m), 0);
	assert_int_equal(m.nr, 1);
	assert_int_equal(m.skipped, 10);
	assert_string_equal(name_at(&m, 0x3005), "good");
	assert_null(name_at(&m, 0x4000));
	perf_map__free(&m);
}

/* Bounds: entries past the cap, long names cut, NUL bytes inside a line, not NUL-terminated. */
static void test_bounds(void **state)
{
	char *text = malloc(8 * 1024), *p, name[PERF_MAP_NAME_MAX + 100];
	struct perf_map m;
	int i;

	(void)state;
	assert_non_null(text);
	p = text;
	for (i = 0; i < 10; i++)
		p += sprintf(p, "%x 10 f%d\n", 0x1000 * (i + 1), i);
	assert_int_equal(perf_map__parse(text, (size_t)(p - text), 4, &m), 0);
	assert_int_equal(m.nr, 4);
	assert_int_equal(m.skipped, 6);
	assert_string_equal(name_at(&m, 0x4000), "f3");
	assert_null(name_at(&m, 0x5000));
	perf_map__free(&m);

	memset(name, 'n', sizeof(name));
	name[sizeof(name) - 1] = '\0';
	p = text + sprintf(text, "100 10 %s\n200 10 a", name);
	p[-1] = '\0'; /* "a" becomes a NUL byte: a hostile one */
	*p++ = 'b';
	*p++ = '\n';
	assert_int_equal(perf_map__parse(text, (size_t)(p - text), 10, &m), 0);
	assert_int_equal(m.nr, 2);
	assert_int_equal(strlen(name_at(&m, 0x100)), PERF_MAP_NAME_MAX);
	assert_string_equal(name_at(&m, 0x200), "?b");
	perf_map__free(&m);

	/* the empty file */
	assert_int_equal(perf_map__parse(text, 0, 10, &m), 0);
	assert_int_equal(m.nr, 0);
	assert_null(perf_map__find(&m, 0x100));
	free(text);
}

/* A growing file read on: where the last read stopped, its unfinished line read again whole. */
static void test_append_as_the_file_grows(void **state)
{
	static const char text[] = "1000 100 first\n2000 10 sec";
	static const char more[] =
		"2000 10 second\n1000 80 first-again\n3000 10 third\n4000 10 fourth\n";
	struct perf_map m;
	size_t consumed = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(perf_map__append(&m, text, sizeof(text) - 1, 3, &consumed), 0);
	assert_int_equal(consumed, strlen("1000 100 first\n"));
	assert_int_equal(m.nr, 1);
	assert_int_equal(m.skipped, 0); /* the unfinished line is not lost: read again */
	/* the cap counts lines kept before a later one replaces one: fourth is past 4 */
	assert_int_equal(perf_map__append(&m, more, sizeof(more) - 1, 4, &consumed), 0);
	assert_int_equal(consumed, sizeof(more) - 1);
	/* first-again replaced first */
	assert_int_equal(m.nr, 3);
	assert_int_equal(m.skipped, 2);
	assert_string_equal(name_at(&m, 0x1000), "first-again");
	assert_null(name_at(&m, 0x1090));
	assert_string_equal(name_at(&m, 0x2000), "second");
	assert_string_equal(name_at(&m, 0x3009), "third");
	assert_null(name_at(&m, 0x4000));
	/* nothing new: nothing changes */
	assert_int_equal(perf_map__append(&m, "", 0, 3, &consumed), 0);
	assert_int_equal(consumed, 0);
	assert_int_equal(m.nr, 3);
	perf_map__free(&m);
}

static void test_nspid(void **state)
{
	int pid = 0;

	(void)state;
	assert_int_equal(perf_map__nspid("Name:\tnode\nPid:\t4242\nNSpid:\t4242\t17\t1\nPPid:\t1\n",
					 &pid),
			 0);
	assert_int_equal(pid, 1);
	assert_int_equal(perf_map__nspid("Pid:\t4242\nNSpid:\t4242\n", &pid), 0);
	assert_int_equal(pid, 4242);
	assert_int_equal(perf_map__nspid("Pid:\t4242\nNSpid:\t4242", &pid), 0); /* last line */
	assert_int_equal(pid, 4242);
	assert_int_equal(perf_map__nspid("Name:\tx\nPid:\t7\n", &pid), -ENOENT);
	assert_int_equal(perf_map__nspid("NSpid:\t\n", &pid), -EINVAL);
	assert_int_equal(perf_map__nspid("NSpid:\t99999999999\n", &pid), -EINVAL);
	assert_int_equal(perf_map__nspid("NSpid:\t12x\n", &pid), -EINVAL);
	assert_int_equal(perf_map__nspid("", &pid), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_style_map),
		cmocka_unit_test(test_later_line_wins),
		cmocka_unit_test(test_malformed_lines_are_counted),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_append_as_the_file_grows),
		cmocka_unit_test(test_nspid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
