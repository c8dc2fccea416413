// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * util/observed_file: what an observed process can do to a file memobs
 * reads (issue 14). Each attack is built in a temporary directory that
 * stands for the process's root. SIGALRM fails a test that blocks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "util/observed_file.h"

static char dir[PATH_MAX];
static int root_fd = -1;

static void put_file(const char *name, size_t size)
{
	char path[PATH_MAX + 64];
	FILE *f;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 0; i < size; i++)
		fputc((int)(i % 251), f);
	fclose(f);
}

static void at(const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static int setup(void **state)
{
	char path[PATH_MAX + 64];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/memobs-observed-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	put_file("file", 10000);
	at("fifo", path, sizeof(path));
	if (mkfifo(path, 0600))
		return -1;
	at("link", path, sizeof(path));
	if (symlink("file", path))
		return -1;
	at("abslink", path, sizeof(path));
	if (symlink("/etc/passwd", path))
		return -1;
	at("sub", path, sizeof(path));
	if (mkdir(path, 0700))
		return -1;
	at("sublink", path, sizeof(path));
	if (symlink("sub", path))
		return -1;
	put_file("sub/inner", 16);
	root_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	alarm(20); /* a blocking open fails the run instead of hanging it */
	return root_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	alarm(0);
	close(root_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

/* `rm lib; mkfifo lib`: opened without a writer, it must be refused at once. */
static void test_fifo_refused_without_blocking(void **state)
{
	struct observed_file_opts opts = { .pid = getpid() };
	struct observed_file f;
	char path[PATH_MAX + 64];
	int fd;

	(void)state;
	assert_int_equal(observed_file__openat(root_fd, "/fifo", false, 0, 0, &f), -EINVAL);
	assert_int_equal(f.fd, -1);
	/* the same through /proc/PID/root, as for an observed process */
	at("fifo", path, sizeof(path));
	opts.path = path;
	assert_int_equal(observed_file__open(&opts, &f), -EINVAL);
	/* the walk opens it without blocking; the type check refuses it after */
	fd = observed_file__walk_beneath(root_fd, "/fifo");
	assert_true(fd >= 0);
	assert_int_equal(observed_file__adopt(fd, false, 0, 0, &f), -EINVAL);
}

static void test_symlinks_refused(void **state)
{
	struct observed_file f;
	int fd;

	(void)state;
	assert_int_equal(observed_file__openat(root_fd, "/link", false, 0, 0, &f), -ELOOP);
	/* an absolute link would leave the process's root: refused, not followed */
	assert_int_equal(observed_file__openat(root_fd, "/abslink", false, 0, 0, &f), -ELOOP);
	/* a link in a directory component too */
	assert_int_equal(observed_file__openat(root_fd, "/sublink/inner", false, 0, 0, &f), -ELOOP);
	assert_int_equal(observed_file__openat(root_fd, "/sub/inner", false, 0, 0, &f), 0);
	observed_file__close(&f);
	/* the walk without openat2 follows the same rules */
	assert_int_equal(observed_file__walk_beneath(root_fd, "/link"), -ELOOP);
	assert_int_equal(observed_file__walk_beneath(root_fd, "/sublink/inner"), -ENOTDIR);
	assert_int_equal(observed_file__walk_beneath(root_fd, "/../file"), -EXDEV);
	fd = observed_file__walk_beneath(root_fd, "//sub/./inner");
	assert_true(fd >= 0);
	close(fd);
	/* ".." cannot climb out of the root either */
	assert_int_not_equal(observed_file__openat(root_fd, "/../../etc/passwd", false, 0, 0, &f),
			     0);
}

static void test_non_regular_refused(void **state)
{
	struct observed_file_opts opts = { .pid = getpid(), .path = "/dev/null" };
	struct observed_file f;

	(void)state;
	assert_int_equal(observed_file__openat(root_fd, "/sub", false, 0, 0, &f), -EINVAL);
	assert_int_equal(observed_file__open(&opts, &f), -EINVAL);
	assert_int_equal(observed_file__openat(root_fd, "", false, 0, 0, &f), -EINVAL);
}

static void test_identity_checked(void **state)
{
	struct observed_file f;
	char path[PATH_MAX + 64];
	struct stat st;

	(void)state;
	at("file", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(observed_file__openat(root_fd, "/file", true, st.st_dev, st.st_ino + 1,
					       &f),
			 -ESTALE);
	assert_int_equal(observed_file__openat(root_fd, "/file", true, st.st_dev, st.st_ino, &f),
			 0);
	assert_int_equal(f.ino, st.st_ino);
	assert_int_equal(f.size, 10000);
	observed_file__close(&f);
	observed_file__close(&f); /* idempotent */
	observed_file__close(NULL);
}

static void test_read_capped_and_truncated(void **state)
{
	struct observed_file f;
	char path[32];
	size_t len;
	void *buf;
	int i, wfd;

	(void)state;
	assert_int_equal(observed_file__openat(root_fd, "/file", false, 0, 0, &f), 0);
	assert_int_equal(observed_file__read_all(&f, 4096, &buf, &len), -EFBIG);
	assert_null(buf);
	assert_int_equal(observed_file__read_all(&f, 0, &buf, &len), 0);
	assert_int_equal(len, 10000);
	for (i = 0; i < 10000; i++)
		assert_int_equal(((unsigned char *)buf)[i], i % 251);
	free(buf);
	assert_int_equal(observed_file__fd_path(&f, path, sizeof(path)), 0);
	assert_non_null(strstr(path, "/proc/self/fd/"));
	/* truncated by its owner after the open: what is there now, no fault */
	wfd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(wfd >= 0);
	assert_int_equal(ftruncate(wfd, 100), 0);
	close(wfd);
	assert_int_equal(observed_file__read_all(&f, 0, &buf, &len), 0);
	assert_int_equal(len, 100);
	free(buf);
	observed_file__close(&f);
	assert_int_equal(observed_file__fd_path(&f, path, sizeof(path)), -EBADF);
	put_file("file", 10000);
}

/* map_files reaches the mapped inode even after the name is a FIFO (needs CAP_SYS_ADMIN). */
static void test_map_files_reaches_the_mapping(void **state)
{
	struct observed_file_opts opts = { .pid = getpid() };
	struct observed_file f;
	char path[PATH_MAX + 64];
	struct stat st;
	void *map;
	int fd, err;

	(void)state;
	put_file("mapped", 8192);
	at("mapped", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	map = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(map != MAP_FAILED);
	close(fd);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	opts.start = (__u64)(uintptr_t)map;
	opts.end = opts.start + 8192;
	opts.path = path;
	opts.check_identity = true;
	opts.dev = st.st_dev;
	opts.ino = st.st_ino;
	err = observed_file__open(&opts, &f);
	if (!err) {
		assert_true(f.via_map_files);
		assert_int_equal(f.ino, st.st_ino);
		observed_file__close(&f);
	} else {
		/* unprivileged: map_files is refused, the name (a FIFO now) too */
		assert_int_equal(err, -EINVAL);
	}
	munmap(map, 8192);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_refused_without_blocking),
		cmocka_unit_test(test_symlinks_refused),
		cmocka_unit_test(test_non_regular_refused),
		cmocka_unit_test(test_identity_checked),
		cmocka_unit_test(test_read_capped_and_truncated),
		cmocka_unit_test(test_map_files_reaches_the_mapping),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
