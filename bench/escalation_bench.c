// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What an escalation's hooks cost the process that runs them (bench/escalation.sh):
 *
 *   escalation_bench faults|mmap SECONDS
 *
 * faults: maps 16 MiB anonymous, touches every page (a first-touch fault
 *         each), unmaps it, again and again; prints ns per fault.
 * mmap:   mmap + munmap of 64 KiB, untouched; prints ns per pair.
 * Prints "ready" and waits for SIGUSR1 before it starts, so that the probes
 * can be attached to it first.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#define REGION (16 << 20)
#define SMALL (64 << 10)

static volatile sig_atomic_t go;

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

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	double seconds, start, end;
	unsigned long long n = 0;
	sigset_t none;

	if (argc != 3 || (strcmp(argv[1], "faults") && strcmp(argv[1], "mmap"))) {
		fprintf(stderr, "usage: escalation_bench faults|mmap SECONDS\n");
		return 2;
	}
	seconds = atof(argv[2]);
	signal(SIGUSR1, on_usr1);
	printf("ready\n");
	fflush(stdout);
	sigemptyset(&none);
	while (!go)
		sigsuspend(&none);
	start = now_s();
	end = start + seconds;
	if (!strcmp(argv[1], "faults")) {
		while (now_s() < end) {
			volatile char *p = map(REGION);
			size_t i;

			for (i = 0; i < REGION; i += 4096)
				p[i] = 1;
			munmap((void *)p, REGION);
			n += REGION / 4096;
		}
	} else {
		while (now_s() < end) {
			int i;

			for (i = 0; i < 256; i++)
				munmap(map(SMALL), SMALL);
			n += 256;
		}
	}
	printf("%.1f\n", (now_s() - start) * 1e9 / (double)n);
	return 0;
}
