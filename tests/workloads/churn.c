// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Steady malloc/free churn with a constant live set: busy, never growing.
 *
 *   churn [--live MIB] [--ops-per-s N]
 *
 * Keeps about LIVE MiB (default 32) in blocks of 64 B to 64 KiB; every
 * operation frees a random block and allocates another of a random size,
 * touching it, N times a second (default 50000). The live set is filled
 * and churned for a second before "ready" is printed, so that the
 * allocator's own warm-up is over by then.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIN_BLOCK 64
#define MAX_BLOCK 65536

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *new_block(void)
{
	size_t len = MIN_BLOCK + next_rand() % (MAX_BLOCK - MIN_BLOCK);
	char *p = malloc(len);

	if (!p) {
		perror("churn: malloc");
		exit(1);
	}
	/* one byte a page faults it in: the churn is the allocator's, not memset's */
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 0x5a;
	p[len - 1] = 0x5a;
	return p;
}

int main(int argc, char **argv)
{
	double live_mib = 32, ops_per_s = 50000, start;
	size_t nr_blocks, i;
	char **blocks;
	uint64_t ops = 0;
	int ready = 0, a;

	for (a = 1; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--live"))
			live_mib = atof(argv[a + 1]);
		else if (!strcmp(argv[a], "--ops-per-s"))
			ops_per_s = atof(argv[a + 1]);
		else
			break;
	}
	if (a < argc || live_mib <= 0 || ops_per_s <= 0) {
		fprintf(stderr, "usage: churn [--live MIB] [--ops-per-s N]\n");
		return 2;
	}
	nr_blocks = (size_t)(live_mib * 1048576 / ((MIN_BLOCK + MAX_BLOCK) / 2));
	blocks = calloc(nr_blocks, sizeof(*blocks));
	if (!blocks)
		return 1;
	for (i = 0; i < nr_blocks; i++)
		blocks[i] = new_block();

	start = now_s();
	for (;;) {
		/* in batches of 1000, paced to the rate */
		for (i = 0; i < 1000; i++) {
			size_t k = next_rand() % nr_blocks;

			free(blocks[k]);
			blocks[k] = new_block();
		}
		ops += 1000;
		if (!ready && now_s() - start >= 1) {
			printf("ready\n");
			fflush(stdout);
			ready = 1;
		}
		while (now_s() < start + ops / ops_per_s)
			usleep(1000);
	}
}
