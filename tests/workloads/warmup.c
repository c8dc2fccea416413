// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Warms up, then stays flat: what a leak detector must not flag once the
 * plateau outlasts the recent part of its window.
 *
 *   warmup [--rate KIB_PER_S] [--seconds S]
 *
 * Allocates and touches RATE KiB/s (default 10240) in 100 ms steps for S
 * seconds (default 10), then sleeps holding it all. Prints "ready" at start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double rate_kib = 10240, seconds = 10, start;
	size_t step, i;
	int a;

	for (a = 1; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--rate"))
			rate_kib = atof(argv[a + 1]);
		else if (!strcmp(argv[a], "--seconds"))
			seconds = atof(argv[a + 1]);
		else
			break;
	}
	if (a < argc || rate_kib <= 0 || seconds < 0) {
		fprintf(stderr, "usage: warmup [--rate KIB_PER_S] [--seconds S]\n");
		return 2;
	}
	step = (size_t)(rate_kib * 1024 / 10);
	printf("ready\n");
	fflush(stdout);
	start = now_s();
	for (i = 1; now_s() - start < seconds; i++) {
		char *p = mmap(NULL, step, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			       0);

		if (p == MAP_FAILED) {
			perror("warmup: mmap");
			return 1;
		}
		for (size_t off = 0; off < step; off += 4096)
			p[off] = 1;
		/* keep to the schedule: step i is due at start + i/10 s */
		while (now_s() < start + i / 10.0)
			usleep(10000);
	}
	for (;;)
		pause();
}
