// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A leak outside malloc, through a function of its own, for the escalation
 * tests of its sources:
 *
 *   leak_mm MODE RATE_KIB_PER_S
 *
 * MODE: mmap   map_more_pages(): anonymous mmap, touched, never unmapped
 *       brk    grow_the_break(): sbrk, touched, never given back
 *       churn  map_and_unmap(): mmap, touch, munmap (faults, no growth)
 * Every 100 ms, RATE/10 KiB. Prints "ready" once started.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

static void touch(char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 4096)
		p[i] = 1;
}

__attribute__((noinline)) static void map_more_pages(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		exit(1);
	touch(p, len);
}

__attribute__((noinline)) static void grow_the_break(size_t len)
{
	char *p = sbrk((intptr_t)len);

	if (p == (void *)-1)
		exit(1);
	touch(p, len);
}

__attribute__((noinline)) static void map_and_unmap(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		exit(1);
	touch(p, len);
	munmap(p, len);
}

int main(int argc, char **argv)
{
	const struct timespec step = { 0, 100 * 1000 * 1000 };
	size_t len;

	if (argc != 3) {
		fprintf(stderr, "usage: leak_mm mmap|brk|churn RATE_KIB_PER_S\n");
		return 2;
	}
	len = (size_t)atol(argv[2]) * 1024 / 10;
	len = (len + 4095) & ~(size_t)4095;
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (!strcmp(argv[1], "mmap"))
			map_more_pages(len);
		else if (!strcmp(argv[1], "brk"))
			grow_the_break(len);
		else
			map_and_unmap(len);
		nanosleep(&step, NULL);
	}
}
