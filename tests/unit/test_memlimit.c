// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Memory limits: the parsers, and the readers on a tree of files in a temp dir. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "identity/memlimit.h"

static char tmp[256];

static void put_file(const char *rel, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void make_dir(const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/memobs-test-memlimit-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_parse_v2(void **state)
{
	__u64 v = 1;

	(void)state;
	assert_int_equal(memlimit__parse_v2("max\n", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(memlimit__parse_v2("268435456\n", &v), 0);
	assert_int_equal(v, 268435456);
	assert_int_equal(memlimit__parse_v2("0\n", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(memlimit__parse_v2("", &v), -EINVAL);
	assert_int_equal(memlimit__parse_v2("maximum\n", &v), -EINVAL);
	assert_int_equal(memlimit__parse_v2("12k\n", &v), -EINVAL);
	assert_int_equal(memlimit__parse_v2("-5\n", &v), -EINVAL);
	assert_int_equal(memlimit__parse_v2("99999999999999999999999\n", &v), -EINVAL);
}

static void test_parse_v1(void **state)
{
	__u64 v = 1;

	(void)state;
	/* what an unlimited v1 memcg reports on 4 KiB pages: PAGE_COUNTER_MAX * 4096 */
	assert_int_equal(memlimit__parse_v1("9223372036854771712\n", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(memlimit__parse_v1("134217728\n", &v), 0);
	assert_int_equal(v, 134217728);
	assert_int_equal(memlimit__parse_v1("max\n", &v), -EINVAL);
}

/* v2: the smallest of the cgroup's and its ancestors' memory.max, "max" at the others. */
static void test_read_v2_ancestors(void **state)
{
	char mount[300];
	__u64 v = 7;

	(void)state;
	make_dir("cg2");
	make_dir("cg2/kubepods");
	make_dir("cg2/kubepods/pod1");
	make_dir("cg2/kubepods/pod1/ctr");
	make_dir("cg2/free");
	put_file("cg2/kubepods/memory.max", "1073741824\n");
	put_file("cg2/kubepods/pod1/memory.max", "536870912\n");
	put_file("cg2/kubepods/pod1/ctr/memory.max", "max\n");
	put_file("cg2/free/memory.max", "max\n");
	snprintf(mount, sizeof(mount), "%s/cg2", tmp);

	assert_int_equal(memlimit__read_v2(mount, "/kubepods/pod1/ctr", &v), 0);
	assert_int_equal(v, 536870912);
	assert_int_equal(memlimit__read_v2(mount, "/kubepods", &v), 0);
	assert_int_equal(v, 1073741824);
	assert_int_equal(memlimit__read_v2(mount, "/free", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(memlimit__read_v2(mount, "/", &v), 0);
	assert_int_equal(v, 0);
	/* a cgroup that is gone has no limit to report, and no error */
	assert_int_equal(memlimit__read_v2(mount, "/kubepods/gone", &v), 0);
	assert_int_equal(v, 1073741824);
}

/* v1 on a hybrid host: the pid's memory line names the cgroup; ancestors count too. */
static void test_read_v1_through_pid(void **state)
{
	char mount[300], proc[300];
	__u64 v = 7;

	(void)state;
	make_dir("memory");
	make_dir("memory/test");
	make_dir("memory/test/leaker");
	put_file("memory/memory.limit_in_bytes", "9223372036854771712\n");
	put_file("memory/test/memory.limit_in_bytes", "9223372036854771712\n");
	put_file("memory/test/leaker/memory.limit_in_bytes", "209715200\n");
	make_dir("proc");
	make_dir("proc/4242");
	put_file("proc/4242/cgroup",
		 "12:pids:/test/leaker\n5:cpu,cpuacct:/\n4:memory:/test/leaker\n0::/test/leaker\n");
	make_dir("proc/4343");
	put_file("proc/4343/cgroup", "4:memory:/test\n0::/test\n");
	make_dir("proc/4444");
	put_file("proc/4444/cgroup", "0::/test\n");
	snprintf(mount, sizeof(mount), "%s/memory", tmp);
	snprintf(proc, sizeof(proc), "%s/proc", tmp);

	assert_int_equal(memlimit__read_v1(mount, "/", proc, 4242, &v), 0);
	assert_int_equal(v, 209715200);
	assert_int_equal(memlimit__read_v1(mount, "/", proc, 4343, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(memlimit__read_v1(mount, "/", proc, 4444, &v), -ENOENT);
	assert_int_equal(memlimit__read_v1(mount, "/", proc, 999999, &v), -ENOENT);
	/* a mount whose root is a sub-path of the hierarchy (inside a container) */
	assert_int_equal(memlimit__read_v1(mount, "/elsewhere", proc, 4242, &v), -ENOENT);

	/* memlimit__effective picks v1 when the memory controller is not on v2 */
	{
		struct mounts m;

		memset(&m, 0, sizeof(m));
		snprintf(m.memcg_v1, sizeof(m.memcg_v1), "%s", mount);
		snprintf(m.memcg_v1_root, sizeof(m.memcg_v1_root), "/");
		snprintf(m.cgroup2, sizeof(m.cgroup2), "%s/nonexistent", tmp);
		assert_int_equal(memlimit__effective(&m, proc, "/test/leaker", 4242, &v), 0);
		assert_int_equal(v, 209715200);
	}
}

/* The cache reads once, serves the cached value, and reads again after refresh_s. */
static void test_cache_refresh(void **state)
{
	struct cgroup_stat cgs[1];
	struct proc_stat procs[1];
	struct snapshot snap;
	struct memlimit_cache *c;
	struct mounts m;

	(void)state;
	make_dir("v2");
	make_dir("v2/a");
	put_file("v2/a/memory.max", "1048576\n");
	memset(&m, 0, sizeof(m));
	snprintf(m.cgroup2, sizeof(m.cgroup2), "%s/v2", tmp);
	m.memcg_on_v2 = true;
	memset(cgs, 0, sizeof(cgs));
	memset(procs, 0, sizeof(procs));
	memset(&snap, 0, sizeof(snap));
	cgs[0].id = 5;
	cgs[0].path = "/a";
	cgs[0].nr_procs = 1;
	procs[0].pid = 1;
	snap.cgroups = cgs;
	snap.nr_cgroups = 1;
	snap.procs = procs;
	snap.nr_procs = 1;

	c = memlimit_cache__new(&m, "/proc", 10);
	assert_non_null(c);
	snap.mono_ns = 1000000000ULL;
	assert_int_equal(memlimit_cache__annotate(c, &snap), 0);
	assert_int_equal(cgs[0].limit_bytes, 1048576);

	put_file("v2/a/memory.max", "2097152\n");
	cgs[0].limit_bytes = 0;
	snap.mono_ns += 5000000000ULL;
	assert_int_equal(memlimit_cache__annotate(c, &snap), 0);
	assert_int_equal(cgs[0].limit_bytes, 1048576); /* cached */
	snap.mono_ns += 6000000000ULL;
	assert_int_equal(memlimit_cache__annotate(c, &snap), 0);
	assert_int_equal(cgs[0].limit_bytes, 2097152); /* read again */

	/* the cgroup leaves and comes back: read afresh, not served from the past */
	snap.nr_cgroups = 0;
	assert_int_equal(memlimit_cache__annotate(c, &snap), 0);
	put_file("v2/a/memory.max", "max\n");
	snap.nr_cgroups = 1;
	snap.mono_ns += 1000000000ULL;
	assert_int_equal(memlimit_cache__annotate(c, &snap), 0);
	assert_int_equal(cgs[0].limit_bytes, 0);
	memlimit_cache__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v2),
		cmocka_unit_test(test_parse_v1),
		cmocka_unit_test_setup_teardown(test_read_v2_ancestors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_v1_through_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_refresh, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
