// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The reader of process memory (py_proc.h's py_mem) on this test's own
 * process: anonymous memory is read, a file's mapping is not unless it is
 * the interpreter image named, an address nothing maps is -EFAULT, and a
 * start time that is not the process's is -ESRCH.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include "attribute/py_proc.h"
#include "util/procfs.h"

/* The device and inode maps shows for the mapping at addr (on overlayfs, not what fstat says). */
static void maps_identity(const void *addr, __u64 *dev, __u64 *ino)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096];
	unsigned long long start, end, inode;
	unsigned int major, minor;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx %*s %*s %x:%x %llu", &start, &end, &major, &minor,
			   &inode) == 5 &&
		    start == (uintptr_t)addr) {
			*dev = makedev(major, minor);
			*ino = inode;
			fclose(f);
			return;
		}
	}
	fclose(f);
	fail_msg("no mapping at %p in maps", addr);
}

/* Reads heap of PY_MEM_MAX_FDS + 2 children of ours (a copy of our heap each), then reaps them. */
static void evict_descriptors(struct py_mem *m, const char *heap)
{
	pid_t kids[PY_MEM_MAX_FDS + 2];
	char buf[12];
	size_t i;

	for (i = 0; i < PY_MEM_MAX_FDS + 2; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (!kids[i]) {
			pause();
			_exit(0);
		}
	}
	for (i = 0; i < PY_MEM_MAX_FDS + 2; i++) {
		__u64 start = 0;
		int tries;

		for (tries = 0; tries < 100 && !(start = proc_pid_start_time(kids[i])); tries++)
			usleep(1000);
		assert_int_equal(py_mem__read(m, kids[i], start, (uintptr_t)heap, buf, 12), 0);
		assert_string_equal(buf, "on the heap");
	}
	for (i = 0; i < PY_MEM_MAX_FDS + 2; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
		py_mem__forget(m, kids[i]);
	}
}

static void test_reads_anonymous_memory_only(void **state)
{
	char path[] = "/tmp/test_py_mem.XXXXXX", buf[16];
	struct py_mem *m = py_mem__new();
	__u32 pid = (__u32)getpid();
	__u64 start = proc_pid_start_time(getpid());
	char *heap = malloc(64), *file_map;
	__u64 dev = 0, ino = 0;
	int fd = mkstemp(path);

	(void)state;
	assert_non_null(m);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "from the file...", 16), 16);
	file_map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(file_map != MAP_FAILED);
	maps_identity(file_map, &dev, &ino);
	strcpy(heap, "on the heap");

	assert_int_equal(py_mem__read(m, pid, start, (uintptr_t)heap, buf, 12), 0);
	assert_string_equal(buf, "on the heap");
	/* a file's pages would be read from the file: not that one */
	assert_int_equal(py_mem__read(m, pid, start, (uintptr_t)file_map, buf, 16), -EFAULT);
	/* ... unless it is the interpreter image */
	py_mem__set_image(m, pid, start, dev, ino);
	assert_int_equal(py_mem__read(m, pid, start, (uintptr_t)file_map, buf, 16), 0);
	assert_memory_equal(buf, "from the file...", 16);
	/* the image outlives the descriptor: others' reads recycle it (PY_MEM_MAX_FDS) */
	evict_descriptors(m, heap);
	assert_int_equal(py_mem__read(m, pid, start, (uintptr_t)file_map, buf, 16), 0);
	/* an address nothing maps, a range past the address space */
	assert_int_equal(py_mem__read(m, pid, start, 8, buf, 8), -EFAULT);
	assert_int_equal(py_mem__read(m, pid, start, ~0ULL - 4, buf, 8), -EFAULT);
	/* another process than the start time says */
	py_mem__forget(m, pid);
	assert_int_equal(py_mem__read(m, pid, start + 1, (uintptr_t)heap, buf, 12), -ESRCH);

	munmap(file_map, 4096);
	close(fd);
	unlink(path);
	free(heap);
	py_mem__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_anonymous_memory_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
