// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A leak through the program's own wrapper, as GNU programs leak: every
 * allocation goes through xmalloc(), and the one that is never freed is
 * parse_request_headers()'s, three calls below main:
 *   main -> serve -> handle_connection -> parse_request_headers -> xmalloc -> malloc
 * memobs must name parse_request_headers as the site's caller, not xmalloc.
 *
 * Built as most software is, without frame pointers (the nofp_ rule of the
 * Makefile): only an unwinder that reads CFI gets past xmalloc. xmalloc_fp.c
 * is the same program with frame pointers.
 *
 * nofp_xmalloc [--rate BYTES_PER_S] [--size N]
 * Prints "ready", then leaks --rate bytes per second (default 1 MiB) in
 * blocks of --size bytes (default 4096) until killed, and "leaked <bytes>"
 * each second. Each request also allocates and frees a scratch buffer
 * (through xmalloc too): frees that must cancel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Each function keeps its own frame and symbol: no inlining, no clones, no tail calls. */
#define FRAME __attribute__((noinline, noclone))
#define NO_TAIL_CALL() __asm__ volatile("" ::: "memory")

static void **kept;
static size_t nr_kept, cap_kept;

FRAME void *xmalloc(size_t size)
{
	void *p = malloc(size);

	if (!p) {
		fputs("nofp_xmalloc: out of memory\n", stderr);
		abort();
	}
	NO_TAIL_CALL();
	return p;
}

static void keep(void *p)
{
	if (nr_kept == cap_kept) {
		cap_kept = cap_kept ? cap_kept * 2 : 4096;
		kept = realloc(kept, cap_kept * sizeof(*kept));
		if (!kept)
			abort();
	}
	kept[nr_kept++] = p;
}

/* The leak: the parsed headers are kept by nobody who frees them. */
FRAME void *parse_request_headers(size_t size)
{
	char *headers = xmalloc(size);

	memset(headers, 'h', size);
	keep(headers);
	NO_TAIL_CALL();
	return headers;
}

FRAME void handle_connection(size_t size)
{
	char *volatile scratch = xmalloc(256);

	parse_request_headers(size);
	free(scratch);
	NO_TAIL_CALL();
}

FRAME void serve(size_t size, size_t requests)
{
	size_t i;

	for (i = 0; i < requests; i++)
		handle_connection(size);
	NO_TAIL_CALL();
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double rate = 1 << 20, start, t, last_report;
	unsigned long long leaked = 0, due;
	size_t size = 4096;
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--rate") && a + 1 < argc) {
			rate = strtod(argv[++a], NULL);
		} else if (!strcmp(argv[a], "--size") && a + 1 < argc) {
			size = strtoul(argv[++a], NULL, 0);
		} else {
			fprintf(stderr, "nofp_xmalloc: bad argument '%s'\n", argv[a]);
			return 2;
		}
	}
	if (!size)
		size = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	puts("ready");
	start = last_report = now_s();
	for (;;) {
		t = now_s();
		due = (unsigned long long)((t - start) * rate);
		if (due > leaked + size) {
			size_t requests = (due - leaked) / size;

			serve(size, requests);
			leaked += (unsigned long long)requests * size;
		}
		if (t - last_report >= 1) {
			printf("leaked %llu\n", leaked);
			last_report = t;
		}
		usleep(10000);
	}
}
