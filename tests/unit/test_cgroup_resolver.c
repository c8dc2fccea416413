// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The cgroup id -> path resolver over a plain directory tree (ids are inode
 * numbers, as on cgroup2): a walk cut short by EMFILE keeps what was known.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "identity/cgroup.h"

static char root[64];

static int make_tree(void **state)
{
	char path[128];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_cgroup_resolver.XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/a", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/a/b", root);
	assert_int_equal(mkdir(path, 0755), 0);
	return 0;
}

static int remove_tree(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/a/b", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/a", root);
	rmdir(path);
	rmdir(root);
	return 0;
}

static void test_paths_by_id(void **state)
{
	struct cgroup_resolver *r = cgroup_resolver__new(root);
	char path[128];
	__u64 id;

	(void)state;
	assert_non_null(r);
	snprintf(path, sizeof(path), "%s/a/b", root);
	assert_int_equal(cgroup_id_of_dir(path, &id), 0);
	assert_int_equal(cgroup_resolver__rescan(r), 0);
	assert_string_equal(cgroup_resolver__path(r, id), "/a/b");
	assert_int_equal(cgroup_id_of_dir(root, &id), 0);
	assert_string_equal(cgroup_resolver__path(r, id), "/");
	cgroup_resolver__free(r);
}

static void test_failed_walk_keeps_known_paths(void **state)
{
	struct cgroup_resolver *r = cgroup_resolver__new(root);
	struct rlimit old, low;
	char path[128];
	__u64 id;
	int fd, err;

	(void)state;
	assert_non_null(r);
	snprintf(path, sizeof(path), "%s/a/b", root);
	assert_int_equal(cgroup_id_of_dir(path, &id), 0);
	assert_int_equal(cgroup_resolver__rescan(r), 0);
	/* no fd left: the walk cannot open the mount */
	fd = dup(0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)fd;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	err = cgroup_resolver__rescan(r);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true(err < 0);
	assert_non_null(cgroup_resolver__path(r, id));
	assert_string_equal(cgroup_resolver__path(r, id), "/a/b");
	cgroup_resolver__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_by_id),
		cmocka_unit_test(test_failed_walk_keeps_known_paths),
	};

	return cmocka_run_group_tests(tests, make_tree, remove_tree);
}
