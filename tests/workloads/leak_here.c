// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A leaker with a known call site: leak_here() allocates and never frees,
 * churn() allocates and frees at once (frees that must cancel), so memobs
 * must put leak_here first and estimate the leaked bytes.
 *
 * leak_here [--mode M] [--size N] [--rate BYTES_PER_S] [--seconds S]
 *           [--churn PAIRS_PER_S] [--wait-signal]
 *   M: malloc (default), calloc, realloc, posix_memalign, aligned_alloc,
 *      free_all (leak_here's blocks are freed again every second)
 *   --seconds 0 (default): leak until killed
 *   --wait-signal: start leaking on SIGUSR1 (after the tracer attached)
 * Prints "ready" at start, then "leaked <bytes>" each second and "done <bytes>"
 * when --seconds have passed (it then keeps running, churning only).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum mode { M_MALLOC, M_CALLOC, M_REALLOC, M_POSIX_MEMALIGN, M_ALIGNED_ALLOC, M_FREE_ALL };

static volatile sig_atomic_t go;
static void **blocks;
static size_t nr_blocks, cap_blocks;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static void keep(void *p)
{
	if (nr_blocks == cap_blocks) {
		cap_blocks = cap_blocks ? cap_blocks * 2 : 4096;
		blocks = realloc(blocks, cap_blocks * sizeof(*blocks));
		if (!blocks)
			abort();
	}
	blocks[nr_blocks++] = p;
}

/* The call site memobs must find. noinline: it has its own frame and symbol. */
__attribute__((noinline)) void *leak_here(enum mode mode, size_t size)
{
	void *p = NULL;

	switch (mode) {
	case M_MALLOC:
	case M_FREE_ALL:
		p = malloc(size);
		break;
	case M_CALLOC:
		p = calloc(1, size);
		break;
	case M_REALLOC:
		p = realloc(NULL, 16);
		p = realloc(p, size);
		break;
	case M_POSIX_MEMALIGN:
		if (posix_memalign(&p, 64, size))
			p = NULL;
		break;
	case M_ALIGNED_ALLOC:
		p = aligned_alloc(64, (size + 63) & ~(size_t)63);
		break;
	}
	if (!p)
		abort();
	memset(p, 0xab, size);
	keep(p);
	__asm__ volatile("" ::: "memory"); /* no tail call: leak_here stays on the stack */
	return p;
}

/* Allocations that are freed at once: they must not show as outstanding. */
__attribute__((noinline)) void churn(int pairs)
{
	int i;

	for (i = 0; i < pairs; i++) {
		void *volatile p = malloc(64);

		free(p);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static enum mode parse_mode(const char *s)
{
	static const char *const names[] = { "malloc",	       "calloc",	"realloc",
					     "posix_memalign", "aligned_alloc", "free_all" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return i;
	fprintf(stderr, "leak_here: unknown mode '%s'\n", s);
	exit(2);
}

int main(int argc, char **argv)
{
	enum mode mode = M_MALLOC;
	size_t size = 256, i;
	double rate = 1 << 20, seconds = 0, churn_rate = 10000, start, t, last_report, last_free;
	unsigned long long leaked = 0, due;
	int wait_signal = 0, a, done = 0;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--mode") && a + 1 < argc)
			mode = parse_mode(argv[++a]);
		else if (!strcmp(argv[a], "--size") && a + 1 < argc)
			size = strtoul(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "--rate") && a + 1 < argc)
			rate = strtod(argv[++a], NULL);
		else if (!strcmp(argv[a], "--seconds") && a + 1 < argc)
			seconds = strtod(argv[++a], NULL);
		else if (!strcmp(argv[a], "--churn") && a + 1 < argc)
			churn_rate = strtod(argv[++a], NULL);
		else if (!strcmp(argv[a], "--wait-signal"))
			wait_signal = 1;
		else {
			fprintf(stderr, "leak_here: bad argument '%s'\n", argv[a]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_usr1);
	puts("ready");
	while (wait_signal && !go)
		pause();

	start = last_report = last_free = now_s();
	for (;;) {
		t = now_s();
		if (!done && seconds > 0 && t - start >= seconds) {
			done = 1;
			printf("done %llu\n", leaked);
		}
		due = done ? leaked : (unsigned long long)((t - start) * rate);
		while (leaked + size <= due) {
			leak_here(mode, size);
			leaked += size;
		}
		if (mode == M_FREE_ALL && t - last_free >= 1) {
			for (i = 0; i < nr_blocks; i++)
				free(blocks[i]);
			nr_blocks = 0;
			last_free = t;
		}
		churn((int)(churn_rate / 100));
		if (t - last_report >= 1) {
			printf("leaked %llu\n", leaked);
			last_report = t;
		}
		usleep(10000);
	}
}
