// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A worker thread that leaks through a wrapper, built without frame
 * pointers (the Makefile's nofp_ rule): its stacks end in glibc's
 * start_thread and clone3, whose CFI marks the outermost frame.
 *
 *   nofp_thread_leak [--rate BYTES_PER_S]   prints "ready", leaks until killed
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long rate = 4L << 20;

__attribute__((noinline)) static void *cache_alloc(size_t n)
{
	void *p = malloc(n);

	if (p)
		memset(p, 1, n);
	asm volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) static void index_document(long i)
{
	void *p = cache_alloc(4096);

	(void)i;
	asm volatile("" : : "r"(p) : "memory");
}

static void *indexer_thread(void *arg)
{
	long per_tick = rate / 4096 / 100 + 1, i = 0, k;
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	(void)arg;
	for (;;) {
		for (k = 0; k < per_tick; k++)
			index_document(i++);
		nanosleep(&tick, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	int i;

	for (i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--rate"))
			rate = atol(argv[i + 1]);
	if (pthread_create(&t, NULL, indexer_thread, NULL))
		return 1;
	printf("ready\n");
	fflush(stdout);
	pthread_join(t, NULL);
	return 0;
}
