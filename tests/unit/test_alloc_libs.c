// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of allocator discovery. With MEMOBS_TEST_PIDS="pid1 pid2 ..."
 * set (by tests/e2e/test_alloc_libs_overlay.py, as root), the binary instead
 * scans those live processes and prints one line per library found
 * (alloc_libs__debug_dump) plus one "set-add" line per library telling
 * whether the set of attached files took it: the e2e test asserts on those.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "attribute/alloc_libs.h"
#include "util/array.h"

static void test_parse_library_line(void **state)
{
	struct maps_entry e;

	(void)state;
	assert_int_equal(
		maps_line__parse("7f985f3a1000-7f985f4f7000 r-xp 00026000 fe:00 10953104"
				 "                   /usr/lib/x86_64-linux-gnu/libc.so.6\n",
				 &e),
		0);
	assert_int_equal(e.start, 0x7f985f3a1000ULL);
	assert_int_equal(e.end, 0x7f985f4f7000ULL);
	assert_int_equal(e.offset, 0x26000);
	assert_int_equal(e.dev_major, 0xfe);
	assert_int_equal(e.dev_minor, 0);
	assert_int_equal(e.inode, 10953104);
	assert_string_equal(e.perms, "r-xp");
	assert_string_equal(e.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_false(e.deleted);
}

static void test_parse_odd_paths(void **state)
{
	struct maps_entry e;

	(void)state;
	assert_int_equal(maps_line__parse("00400000-00452000 r-xp 00000000 00:27 42 "
					  "/opt/my app/lib jemalloc.so.2 (deleted)\n",
					  &e),
			 0);
	assert_string_equal(e.path, "/opt/my app/lib jemalloc.so.2");
	assert_true(e.deleted);
	/* a name that only contains "(deleted)" elsewhere is not deleted */
	assert_int_equal(maps_line__parse("1000-2000 r--p 0 00:00 7 /tmp/(deleted) x\n", &e), 0);
	assert_string_equal(e.path, "/tmp/(deleted) x");
	assert_false(e.deleted);
	/* maps writes a newline in a name as \012 */
	assert_int_equal(maps_line__parse("1000-2000 r--p 0 00:00 7 /tmp/a\\012b", &e), 0);
	assert_string_equal(e.path, "/tmp/a\nb");
	/* anonymous and special mappings */
	assert_int_equal(maps_line__parse("7ffd1000-7ffd3000 rw-p 00000000 00:00 0 \n", &e), 0);
	assert_string_equal(e.path, "");
	assert_int_equal(maps_line__parse("55d0c000-55d2d000 rw-p 00000000 00:00 0   [heap]", &e),
			 0);
	assert_string_equal(e.path, "[heap]");
	assert_int_equal(maps_line__parse("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0"
					  "                  [vsyscall]",
					  &e),
			 0);
	assert_int_equal(e.start, 0xffffffffff600000ULL);
	/* malformed */
	assert_int_equal(maps_line__parse("garbage", &e), -EINVAL);
	assert_int_equal(maps_line__parse("2000-1000 r--p 0 00:00 7 /x", &e), -EINVAL);
	assert_int_equal(maps_line__parse("1000-2000 r--p 0 00:00", &e), -EINVAL);
}

static void test_classify(void **state)
{
	static const struct {
		const char *path;
		int kind; /* -1: not an allocator */
	} cases[] = {
		{ "/usr/lib/x86_64-linux-gnu/libc.so.6", ALLOC_LIB_GLIBC },
		{ "/lib/libc-2.17.so", ALLOC_LIB_GLIBC },
		{ "/lib/ld-musl-x86_64.so.1", ALLOC_LIB_MUSL },
		{ "/lib/libc.musl-x86_64.so.1", ALLOC_LIB_MUSL },
		{ "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", ALLOC_LIB_JEMALLOC },
		{ "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.10", ALLOC_LIB_TCMALLOC },
		{ "/usr/lib/libtcmalloc.so.4", ALLOC_LIB_TCMALLOC },
		{ "/usr/lib/libmimalloc.so.2.0", ALLOC_LIB_MIMALLOC },
		{ "/usr/lib/libmimalloc-secure.so", ALLOC_LIB_MIMALLOC },
		{ "/usr/lib/x86_64-linux-gnu/libcap.so.2", -1 },
		{ "/usr/lib/libc.so.6.bak/other", -1 },
		{ "/opt/libjemalloc_notes.txt", -1 },
		{ "/usr/lib/x86_64-linux-gnu/libcrypt.so.1", -1 },
		{ "libc.so.6", ALLOC_LIB_GLIBC },
	};
	enum alloc_lib_kind kind;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		bool found = alloc_lib__classify(cases[i].path, &kind);

		if (cases[i].kind < 0) {
			assert_false(found);
		} else {
			assert_true(found);
			assert_int_equal(kind, cases[i].kind);
		}
	}
	assert_string_equal(alloc_lib_kind__str(ALLOC_LIB_TCMALLOC), "tcmalloc");
	assert_string_equal(alloc_lib_kind__str(ALLOC_LIB_EXE), "exe");
}

static void test_set(void **state)
{
	struct alloc_lib a = { .key_dev = 65024, .key_ino = 10953104 };
	struct alloc_lib same_file = { .key_dev = 65024, .key_ino = 10953104 };
	struct alloc_lib other_dev = { .key_dev = 39, .key_ino = 10953104 };
	struct alloc_lib_set *s = alloc_lib_set__new();
	int i;

	(void)state;
	assert_non_null(s);
	strcpy(same_file.host_path, "/some/other/path");
	assert_true(alloc_lib_set__add(s, &a));
	assert_false(alloc_lib_set__add(s, &same_file));
	assert_true(alloc_lib_set__contains(s, &same_file));
	assert_false(alloc_lib_set__contains(s, &other_dev));
	assert_true(alloc_lib_set__add(s, &other_dev));
	/* growth past the first allocation */
	for (i = 0; i < 100; i++) {
		struct alloc_lib l = { .key_dev = 1, .key_ino = (__u64)i };

		assert_true(alloc_lib_set__add(s, &l));
	}
	assert_int_equal(alloc_lib_set__len(s), 102);
	alloc_lib_set__free(s);
	alloc_lib_set__free(NULL);
}

/* This very process maps glibc: the scan finds it, with the file's own identity. */
static void test_scan_self(void **state)
{
	struct alloc_lib libs[16];
	struct stat st;
	int n, i, glibc = -1;

	(void)state;
	n = alloc_libs__scan_pid(getpid(), libs, 16);
	assert_true(n >= 1);
	for (i = 0; i < n; i++)
		if (libs[i].kind == ALLOC_LIB_GLIBC)
			glibc = i;
	assert_true(glibc >= 0);
	assert_int_equal(stat(libs[glibc].host_path, &st), 0);
	assert_int_equal(libs[glibc].key_dev, st.st_dev);
	assert_int_equal(libs[glibc].key_ino, st.st_ino);
	assert_int_equal(stat(libs[glibc].map_path, &st), 0);
	assert_int_equal(libs[glibc].key_ino, st.st_ino);
	/* the test binary does not define malloc: not reported as an allocator */
	for (i = 0; i < n; i++)
		assert_int_not_equal(libs[i].kind, ALLOC_LIB_EXE);
	/* each library came back open, as a regular file of that identity */
	assert_true(libs[glibc].file.fd >= 0);
	assert_int_equal(fstat(libs[glibc].file.fd, &st), 0);
	assert_int_equal(libs[glibc].key_ino, st.st_ino);
	alloc_libs__release(libs, n);
	assert_int_equal(libs[glibc].file.fd, -1);
	/* a pid that cannot exist */
	assert_int_equal(alloc_libs__scan_pid(0x3fffffff, libs, 16), -ESRCH);
}

/* The e2e mode: scan the given live processes, report, and feed one set. */
static int scan_pids(const char *pids)
{
	struct alloc_lib_set *set = alloc_lib_set__new();
	char *copy = strdup(pids), *save = NULL, *tok;
	struct alloc_lib libs[16];
	int n, i, err = 0;

	if (!set || !copy)
		return 1;
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		int pid = atoi(tok);

		if (alloc_libs__debug_dump(pid, stdout))
			err = 1;
		n = alloc_libs__scan_pid(pid, libs, 16);
		for (i = 0; i < n; i++)
			printf("set-add pid=%d kind=%s added=%d\n", pid,
			       alloc_lib_kind__str(libs[i].kind),
			       alloc_lib_set__add(set, &libs[i]));
		if (n > 0)
			alloc_libs__release(libs, n);
	}
	free(copy);
	alloc_lib_set__free(set);
	return err;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_library_line), cmocka_unit_test(test_parse_odd_paths),
		cmocka_unit_test(test_classify),	   cmocka_unit_test(test_set),
		cmocka_unit_test(test_scan_self),
	};
	const char *pids = getenv("MEMOBS_TEST_PIDS");

	if (pids)
		return scan_pids(pids);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
