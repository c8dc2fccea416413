// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The cost of a malloc(64)+free pair, per thread, in ns: what a tracer adds
 * to the hottest path of every program it watches.
 *
 * malloc_bench [--threads N] [--seconds S] [--wait-signal]
 * Prints "ready", (with --wait-signal waits for SIGUSR1, so that a tracer can
 * attach to this pid first), runs the loop for S seconds (default 1) in N
 * threads (default 1), and prints one line: "ns_per_pair <mean over threads>".
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t go;
static double seconds = 1;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *loop(void *arg)
{
	double *ns_per_pair = arg, start = now_s(), t;
	unsigned long long pairs = 0;
	int i;

	do {
		/* 256 pairs between clock reads: the clock must not be what is measured */
		for (i = 0; i < 256; i++) {
			void *volatile p = malloc(64);

			free(p);
		}
		pairs += 256;
		t = now_s();
	} while (t - start < seconds);
	*ns_per_pair = (t - start) * 1e9 / pairs;
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = 1, wait_signal = 0, a, i;
	pthread_t tids[64];
	double ns[64], sum = 0;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--threads") && a + 1 < argc)
			threads = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--seconds") && a + 1 < argc)
			seconds = atof(argv[++a]);
		else if (!strcmp(argv[a], "--wait-signal"))
			wait_signal = 1;
		else {
			fprintf(stderr, "malloc_bench: bad argument '%s'\n", argv[a]);
			return 2;
		}
	}
	if (threads < 1 || threads > 64 || seconds <= 0) {
		fprintf(stderr, "malloc_bench: --threads 1..64, --seconds > 0\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_usr1);
	puts("ready");
	while (wait_signal && !go)
		pause();
	for (i = 0; i < threads; i++)
		pthread_create(&tids[i], NULL, loop, &ns[i]);
	for (i = 0; i < threads; i++) {
		pthread_join(tids[i], NULL);
		sum += ns[i];
	}
	printf("ns_per_pair %.1f\n", sum / threads);
	return 0;
}
