// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The three hot paths that the always-on tier must leave alone: page faults,
 * mmap/munmap and malloc/free. Each run does a fixed amount of work and prints
 * one number, nanoseconds per operation, so that a driver can alternate runs
 * with and without memobs and compare medians.
 *
 *   alwayson_micro pagefault|mmap|malloc [COUNT]
 *
 * COUNT is the number of operations (faults, mmap+munmap pairs, malloc+free
 * pairs); the default suits a calibration run of well under a second.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* 16 MiB per mapping: big enough that mmap/munmap are a small share of a fault run. */
#define FAULT_REGION_BYTES (16UL << 20)
/* Small enough to stay below the mmap threshold of any allocator, large enough to map. */
#define MMAP_REGION_BYTES (4UL * 4096)
#define MALLOC_BYTES 64

static long page_bytes;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Every page of a fresh anonymous mapping costs one minor fault when first written. */
static int run_pagefault(unsigned long faults)
{
	unsigned long pages_per_region = FAULT_REGION_BYTES / page_bytes;
	unsigned long done = 0;

	while (done < faults) {
		unsigned long pages = faults - done;
		char *region;

		if (pages > pages_per_region)
			pages = pages_per_region;
		region = mmap(NULL, pages * page_bytes, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (region == MAP_FAILED)
			return -errno;
		/*
		 * Huge pages would turn 512 faults into one and measure
		 * something else; THP=always is a common default.
		 */
		madvise(region, pages * page_bytes, MADV_NOHUGEPAGE);
		for (unsigned long i = 0; i < pages; i++)
			region[i * page_bytes] = 1;
		munmap(region, pages * page_bytes);
		done += pages;
	}
	return 0;
}

/* Untouched mappings: the cost is the two syscalls and the VMA work, no faults. */
static int run_mmap(unsigned long pairs)
{
	for (unsigned long i = 0; i < pairs; i++) {
		void *region = mmap(NULL, MMAP_REGION_BYTES, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (region == MAP_FAILED)
			return -errno;
		if (munmap(region, MMAP_REGION_BYTES))
			return -errno;
	}
	return 0;
}

static int run_malloc(unsigned long pairs)
{
	for (unsigned long i = 0; i < pairs; i++) {
		void *block = malloc(MALLOC_BYTES);

		if (!block)
			return -ENOMEM;
		/* Without this the compiler may elide the pair entirely. */
		__asm__ volatile("" : : "r"(block) : "memory");
		free(block);
	}
	return 0;
}

struct mode {
	const char *name;
	int (*run)(unsigned long count);
	unsigned long default_count;
};

static const struct mode modes[] = {
	{ "pagefault", run_pagefault, 100000 },
	{ "mmap", run_mmap, 200000 },
	{ "malloc", run_malloc, 20000000 },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: alwayson_micro pagefault|mmap|malloc [COUNT]\n"
		     "prints nanoseconds per operation on stdout\n");
}

int main(int argc, char **argv)
{
	const struct mode *mode = NULL;
	unsigned long long start_ns, elapsed_ns;
	unsigned long count;
	char *end;
	int err;

	if (argc < 2 || argc > 3) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name))
			mode = &modes[i];
	if (!mode) {
		fprintf(stderr, "unknown mode '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	count = mode->default_count;
	if (argc == 3) {
		errno = 0;
		count = strtoul(argv[2], &end, 10);
		if (errno || *end || !count || argv[2][0] == '-') {
			fprintf(stderr, "invalid count '%s': expected a positive integer\n",
				argv[2]);
			return 2;
		}
	}
	page_bytes = sysconf(_SC_PAGESIZE);

	start_ns = now_ns();
	err = mode->run(count);
	elapsed_ns = now_ns() - start_ns;
	if (err) {
		fprintf(stderr, "%s run failed: %s\n", mode->name, strerror(-err));
		return 1;
	}
	printf("%.2f\n", (double)elapsed_ns / count);
	return 0;
}
