// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* mountinfo, /proc and cgroup path parsers. */
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
#include "util/array.h"
#include "identity/cgroup.h"
#include "util/mountinfo.h"
#include "util/procfs.h"

static void test_mountinfo_line(void **state)
{
	char line[] = "41 23 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 master:2 - cgroup2 "
		      "cgroup2 rw,nsdelegate\n";
	char spaced[] = "50 23 0:40 /a\\040b /mnt/with\\040space rw - tmpfs tmpfs rw";
	char broken[] = "41 23 0:38 / /x rw no-separator-here";
	struct mountinfo_entry e;

	(void)state;
	assert_int_equal(mountinfo__parse_line(line, &e), 0);
	assert_string_equal(e.mount_point, "/sys/fs/cgroup/unified");
	assert_string_equal(e.fstype, "cgroup2");
	assert_string_equal(e.root, "/");
	assert_string_equal(e.super_opts, "rw,nsdelegate");
	assert_int_equal(mountinfo__parse_line(spaced, &e), 0);
	assert_string_equal(e.mount_point, "/mnt/with space");
	assert_string_equal(e.root, "/a b");
	assert_int_equal(mountinfo__parse_line(broken, &e), -EINVAL);
	assert_int_equal(e.major, 0);
}

/* Files on FUSE are refused before any open (util/observed_file.c): found from mountinfo. */
static void test_mountinfo_fuse(void **state)
{
	char path[] = "/tmp/memobs-test-mountinfo-XXXXXX";
	const char *text =
		"22 1 254:0 / / rw,relatime - ext4 /dev/vda1 rw\n"
		"40 22 0:55 / /mnt/remote rw,nosuid - fuse.sshfs host:/srv rw,user_id=0\n"
		"41 22 8:17 / /media/usb rw - fuseblk /dev/sdb1 rw\n"
		"42 22 0:56 / /mnt/fusectl rw - fusectl fusectl rw\n"
		"43 22 0:57 / /mnt/plain rw - fuse /dev/fuse rw\n";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(mountinfo__dev_is_fuse(path, 0, 55), 1);
	assert_int_equal(mountinfo__dev_is_fuse(path, 8, 17), 1);
	assert_int_equal(mountinfo__dev_is_fuse(path, 0, 57), 1);
	assert_int_equal(mountinfo__dev_is_fuse(path, 254, 0), 0);
	assert_int_equal(mountinfo__dev_is_fuse(path, 0, 56), 0); /* fusectl is not FUSE */
	assert_int_equal(mountinfo__path_on_fuse(path, "/mnt/remote/lib/libc.so.6"), 1);
	assert_int_equal(mountinfo__path_on_fuse(path, "/mnt/remote"), 1);
	assert_int_equal(mountinfo__path_on_fuse(path, "/mnt/remotex/a.so"), 0);
	assert_int_equal(mountinfo__path_on_fuse(path, "/usr/lib/libc.so.6"), 0);
	assert_int_equal(mountinfo__path_on_fuse(path, "/mnt/fusectl/x"), 0);
	unlink(path);
	assert_int_equal(mountinfo__dev_is_fuse(path, 0, 55), -ENOENT);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_mounts_hybrid_and_pure_v2(void **state)
{
	char path[] = "/tmp/memobs-mountinfo-XXXXXX";
	struct mounts m;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
			 "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
			 "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
			 "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
			 "60 23 0:12 / /sys/kernel/tracing rw - tracefs tracefs rw\n");
	assert_int_equal(mounts__discover(&m, path), 0);
	assert_string_equal(m.cgroup2, "/sys/fs/cgroup/unified");
	assert_string_equal(m.memcg_v1, "/sys/fs/cgroup/memory");
	assert_string_equal(m.tracefs, "/sys/kernel/tracing");

	/* pure v2, no tracefs; a container's bind mount of a sub-cgroup is not the root */
	write_file(path, "25 23 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
			 "90 25 0:22 /kubepods /host/cg rw - cgroup2 cgroup2 rw\n"
			 "91 23 0:5 / /x rw - cgroup cgroup rw,cpuset\n");
	assert_int_equal(mounts__discover(&m, path), 0);
	assert_string_equal(m.cgroup2, "/sys/fs/cgroup");
	assert_string_equal(m.memcg_v1, "");
	assert_string_equal(m.tracefs, "");
	assert_int_equal(mounts__discover(&m, "/nonexistent/mountinfo"), -ENOENT);
	unlink(path);
}

static void test_meminfo(void **state)
{
	struct meminfo mi;

	(void)state;
	assert_int_equal(meminfo__parse("MemTotal:       24576000 kB\nMemFree:  1 kB\n"
					"MemAvailable:   20000000 kB\n",
					&mi),
			 0);
	assert_int_equal(mi.mem_total_bytes, 24576000ULL * 1024);
	assert_int_equal(mi.mem_available_bytes, 20000000ULL * 1024);
	assert_int_equal(meminfo__parse("MemFree: 1 kB\n", &mi), -EINVAL);
	assert_int_equal(meminfo__read("/proc", &mi), 0);
	assert_true(mi.mem_total_bytes > 0);
}

static void test_pid_cgroup(void **state)
{
	const char *hybrid = "12:memory:/kubepods/pod1\n4:cpu,cpuacct:/x\n0::/kubepods.slice/a\n";
	char out[64], tiny[4];

	(void)state;
	assert_int_equal(pid_cgroup__parse_v2(hybrid, out, sizeof(out)), 0);
	assert_string_equal(out, "/kubepods.slice/a");
	assert_int_equal(pid_cgroup__parse_v1(hybrid, "memory", out, sizeof(out)), 0);
	assert_string_equal(out, "/kubepods/pod1");
	assert_int_equal(pid_cgroup__parse_v1(hybrid, "cpuacct", out, sizeof(out)), 0);
	assert_string_equal(out, "/x");
	assert_int_equal(pid_cgroup__parse_v1(hybrid, "cpuset", out, sizeof(out)), -ENOENT);
	assert_int_equal(pid_cgroup__parse_v1(hybrid, "mem", out, sizeof(out)), -ENOENT);
	assert_int_equal(pid_cgroup__parse_v2("4:cpu:/x\n", out, sizeof(out)), -ENOENT);
	assert_int_equal(pid_cgroup__parse_v2(hybrid, tiny, sizeof(tiny)), -ENAMETOOLONG);
}

/*
 * Read from a private cgroup namespace, a cgroup outside it is "/../../x":
 * unknown, never a path that climbs out of the mount it is joined to.
 */
static void test_pid_cgroup_outside_namespace(void **state)
{
	static const char *const escaping[] = {
		"0::/../../kubepods.slice/x.scope\n",
		"0::/..\n",
		"0::/a/../../etc\n",
		"0::/a/./b\n",
		"0::relative\n",
		"0::\n",
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(escaping); i++) {
		strcpy(out, "unchanged");
		assert_int_equal(pid_cgroup__parse_v2(escaping[i], out, sizeof(out)), -EXDEV);
		assert_string_equal(out, "");
	}
	/* dots inside a name are a name */
	assert_int_equal(pid_cgroup__parse_v2("0::/a..b/.hidden/...\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/a..b/.hidden/...");
	assert_int_equal(pid_cgroup__parse_v2("0::/\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
}

static void test_cgroup_relative_path(void **state)
{
	(void)state;
	assert_string_equal(cgroup_relative_path("/sys/fs/cgroup", "/sys/fs/cgroup"), "/");
	assert_string_equal(cgroup_relative_path("/sys/fs/cgroup/", "/sys/fs/cgroup/a/b"), "/a/b");
	assert_string_equal(cgroup_relative_path("/sys/fs/cgroup/unified",
						 "/sys/fs/cgroup/unified/x.slice"),
			    "/x.slice");
	assert_null(cgroup_relative_path("/sys/fs/cgroup", "/sys/fs/cgroupfoo/a"));
	assert_null(cgroup_relative_path("/sys/fs/cgroup", "/proc"));
}

static void test_cgroup_resolver_on_a_fake_tree(void **state)
{
	char dir[] = "/tmp/memobs-cgtree-XXXXXX", sub[128], leaf[160];
	struct cgroup_resolver *r;
	__u64 id;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/a.slice", dir);
	snprintf(leaf, sizeof(leaf), "%s/a.slice/b.scope", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(mkdir(leaf, 0755), 0);
	r = cgroup_resolver__new(dir);
	assert_non_null(r);
	/* outside cgroupfs the id is the inode number: the same walk applies */
	assert_int_equal(cgroup_id_of_dir(leaf, &id), 0);
	assert_string_equal(cgroup_resolver__path(r, id), "/a.slice/b.scope");
	assert_int_equal(cgroup_id_of_dir(dir, &id), 0);
	assert_string_equal(cgroup_resolver__path(r, id), "/");
	assert_int_equal(cgroup_id_of_dir(leaf, &id), 0);
	rmdir(leaf);
	assert_int_equal(cgroup_resolver__rescan(r), 0);
	assert_null(cgroup_resolver__path(r, id));
	cgroup_resolver__free(r);
	rmdir(sub);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mountinfo_line),
		cmocka_unit_test(test_mountinfo_fuse),
		cmocka_unit_test(test_mounts_hybrid_and_pure_v2),
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_pid_cgroup),
		cmocka_unit_test(test_pid_cgroup_outside_namespace),
		cmocka_unit_test(test_cgroup_relative_path),
		cmocka_unit_test(test_cgroup_resolver_on_a_fake_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
