// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The cost of a profile (issue 13): 10,000 distinct stacks of 24 frames
 * (200 functions in 20 modules, shared as real programs share them), built
 * into a gzipped pprof by the library's own writer (output/pprof.c) and, for
 * comparison, folded stacks. Prints the time of each and the peak RSS
 * growth: what `memobs leaks --pprof` and the daemon's --profile-dir pay.
 *
 *   profile_bench [--stacks N] [--out DIR]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include "output/folded.h"
#include "output/pprof.h"

#define FRAMES 24

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	size_t stacks = 10000, i, f;
	const char *out = "/tmp";
	char path[4096], name[128];
	struct alloc_site *est;
	struct site_record *sites;
	char **names;
	struct pprof_opts po = { .sample_bytes = 512 * 1024 };
	double t0, pprof_ms, folded_ms;
	long rss0;
	int err;

	for (int a = 1; a + 1 < argc; a++) {
		if (!strcmp(argv[a], "--stacks"))
			stacks = strtoul(argv[a + 1], NULL, 10);
		else if (!strcmp(argv[a], "--out"))
			out = argv[a + 1];
	}
	/* 200 distinct frame strings, as a program's functions */
	names = calloc(200, sizeof(*names));
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name),
			 "module%zu::function_%zu(long)+0x%zx (libm%zu.so) src%zu.cc:%zu", i % 20,
			 i, i * 7 % 300, i % 20, i % 20, 10 + i);
		names[i] = strdup(name);
	}
	est = calloc(stacks, sizeof(*est));
	sites = calloc(stacks, sizeof(*sites));
	for (i = 0; i < stacks; i++) {
		const char **frames = calloc(FRAMES, sizeof(*frames));
		size_t x = i;

		/* a distinct path through the 200 functions: the stack's digits, base 200 */
		for (f = 0; f < FRAMES; f++) {
			frames[f] = names[(x % 200 + f * 13) % 200];
			x = x / 200 + f * 31 + i;
		}
		est[i] = (struct alloc_site){ .site_id = i,
					      .est_bytes = 4096.0 * (i % 97 + 1),
					      .est_allocs = i % 97 + 1,
					      .samples = 1,
					      .pid = 1 };
		sites[i] = (struct site_record){ .est = &est[i],
						 .frames = frames,
						 .nr_frames = FRAMES };
	}
	rss0 = peak_rss_kib();
	snprintf(path, sizeof(path), "%s/memobs-profile-bench-%d.pb.gz", out, (int)getpid());
	t0 = now_ms();
	err = pprof__write(path, sites, stacks, &po);
	pprof_ms = now_ms() - t0;
	if (err) {
		fprintf(stderr, "profile_bench: pprof: %s\n", strerror(-err));
		return 1;
	}
	printf("pprof: %zu stacks in %.1f ms, peak RSS +%ld KiB, ", stacks, pprof_ms,
	       peak_rss_kib() - rss0);
	{
		FILE *f = fopen(path, "rb");
		long size = 0;

		if (f && !fseek(f, 0, SEEK_END))
			size = ftell(f);
		if (f)
			fclose(f);
		printf("%ld bytes\n", size);
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/memobs-profile-bench-%d.folded", out, (int)getpid());
	t0 = now_ms();
	{
		FILE *f = fopen(path, "w");

		err = f ? folded__write(f, sites, stacks) : -1;
		if (f)
			fclose(f);
	}
	folded_ms = now_ms() - t0;
	unlink(path);
	printf("folded: %zu stacks in %.1f ms (%s)\n", stacks, folded_ms, err ? "failed" : "ok");
	return err ? 1 : 0;
}
