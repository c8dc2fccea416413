// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A process whose memory behaves as told, for the end-to-end tests.
 *
 *   memhog [--base MIB] [--comm HEX] [--stop-after S] MODE [RATE_KIB_PER_S]
 *
 * MODE: steady      touch --base MiB, then sleep
 *       anon-leak   malloc and touch RATE KiB/s (in 100 ms steps), never free
 *       mmap-grow   mmap anonymous regions of RATE/10 KiB every 100 ms, touched
 *       brk-grow    sbrk RATE/10 KiB every 100 ms, touched
 *       oom         allocate and touch 4 MiB every 10 ms until killed
 *       faults      every 100 ms: map RATE/10 KiB, touch it, unmap it (faults, no growth)
 * --stop-after S: stop growing after S seconds and stay flat.
 * --comm HEX: set the task name to these bytes (hostile names for JSON tests).
 * Prints "ready" on stdout once the base is in place.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>

static void touch(char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 4096)
		p[i] = (char)(i | 1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_comm_hex(const char *hex)
{
	char name[16] = {};
	size_t i;

	for (i = 0; i < 15 && hex[2 * i] && hex[2 * i + 1]; i++) {
		unsigned int byte;

		sscanf(hex + 2 * i, "%2x", &byte);
		name[i] = (char)byte;
	}
	prctl(PR_SET_NAME, name);
}

static void *must(void *p)
{
	if (!p || p == MAP_FAILED) {
		perror("memhog: allocation");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	double base_mib = 0, stop_after = -1, rate_kib = 1024, start;
	const char *mode;
	size_t step;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i += 2) {
		if (i + 1 >= argc)
			break;
		if (!strcmp(argv[i], "--base"))
			base_mib = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--stop-after"))
			stop_after = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--comm"))
			set_comm_hex(argv[i + 1]);
	}
	if (i >= argc) {
		fprintf(stderr,
			"usage: memhog [--base MIB] [--comm HEX] [--stop-after S] MODE [RATE_KIB]\n");
		return 2;
	}
	mode = argv[i];
	if (i + 1 < argc)
		rate_kib = atof(argv[i + 1]);
	step = (size_t)(rate_kib * 1024 / 10);

	if (base_mib > 0) {
		size_t len = (size_t)(base_mib * 1048576);
		char *base = must(mmap(NULL, len, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));

		touch(base, len);
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	puts("ready");
	start = now_s();

	if (!strcmp(mode, "oom")) {
		for (;;) {
			touch(must(malloc(4 << 20)), 4 << 20);
			usleep(10000);
		}
	}
	for (;;) {
		bool growing = stop_after < 0 || now_s() - start < stop_after;

		if (!strcmp(mode, "steady") || !growing) {
			pause();
			continue;
		}
		if (!strcmp(mode, "anon-leak")) {
			touch(must(malloc(step)), step);
		} else if (!strcmp(mode, "mmap-grow")) {
			touch(must(mmap(NULL, step, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)),
			      step);
		} else if (!strcmp(mode, "brk-grow")) {
			touch(must(sbrk((intptr_t)step)), step);
		} else if (!strcmp(mode, "faults")) {
			char *p = must(mmap(NULL, step, PROT_READ | PROT_WRITE,
					    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));

			touch(p, step);
			munmap(p, step);
		} else {
			fprintf(stderr, "memhog: unknown mode '%s'\n", mode);
			return 2;
		}
		usleep(100000);
	}
}
