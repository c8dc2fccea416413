// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What cAdvisor-style per-cgroup reading costs, for comparison with the
 * always-on sampler: creates N empty cgroups under DIR (a memory-controller
 * hierarchy: the cgroup2 mount with memory enabled, or cgroup v1's memory
 * mount), then PASSES times opens, reads and parses (every "key value" line)
 * the memory.stat of each, and removes the cgroups. Prints the CPU time
 * (user + system) per pass and per cgroup read.
 *
 *   alwayson_cgroupfs DIR N PASSES
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Sums every value of a memory.stat, as a reader that keeps them all would parse them. */
static unsigned long long read_stat(const char *path)
{
	static char buf[16384];
	unsigned long long sum = 0;
	ssize_t n;
	char *p, *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (p = buf; (p = strchr(p, ' ')); p = end)
		sum += strtoull(p + 1, &end, 10);
	return sum;
}

int main(int argc, char **argv)
{
	char path[4096];
	long n, passes, i, pass, made = 0;
	unsigned long long sink = 0;
	double t0, t1;

	if (argc != 4) {
		fprintf(stderr, "usage: alwayson_cgroupfs DIR N PASSES\n");
		return 2;
	}
	n = atol(argv[2]);
	passes = atol(argv[3]);
	if (n < 1 || passes < 1) {
		fprintf(stderr, "N and PASSES must be >= 1\n");
		return 2;
	}
	for (; made < n; made++) {
		snprintf(path, sizeof(path), "%s/memobs-bench-%ld", argv[1], made);
		if (mkdir(path, 0755) && errno != EEXIST) {
			fprintf(stderr, "failed to create '%s': %s\n", path, strerror(errno));
			goto out;
		}
	}
	for (i = 0; i < n; i++) { /* warm-up: the first read of each allocates */
		snprintf(path, sizeof(path), "%s/memobs-bench-%ld/memory.stat", argv[1], i);
		sink += read_stat(path);
	}
	t0 = cpu_s();
	for (pass = 0; pass < passes; pass++)
		for (i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/memobs-bench-%ld/memory.stat", argv[1], i);
			sink += read_stat(path);
		}
	t1 = cpu_s();
	printf("cgroups %ld passes %ld cpu_per_pass_ms %.3f ns_per_cgroup %.0f (checksum %llu)\n",
	       n, passes, (t1 - t0) / passes * 1e3, (t1 - t0) / passes / n * 1e9, sink % 10);
out:
	for (i = 0; i < made; i++) {
		snprintf(path, sizeof(path), "%s/memobs-bench-%ld", argv[1], i);
		rmdir(path);
	}
	return made == n ? 0 : 1;
}
