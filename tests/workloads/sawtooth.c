// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A collector's sawtooth: memory rises steadily through each cycle, then is
 * all released at once back to the trough.
 *
 *   sawtooth flat|rising [--base MIB] [--amplitude MIB] [--period S] [--trough-rise KIB]
 *
 * base (default 16 MiB) is held throughout. Each cycle of PERIOD seconds
 * (default 6) maps and touches AMPLITUDE MiB (default 48) in 100 ms steps,
 * then unmaps it all. In "rising" mode each cycle also keeps TROUGH-RISE KiB
 * (default 4096) for good: the troughs climb. Mappings are made with mmap,
 * not malloc, so that a release really lowers RSS whatever the allocator's
 * thresholds. Prints "ready" once the base is in place.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define STEPS_PER_S 10

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *map_touched(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("sawtooth: mmap");
		exit(1);
	}
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	return p;
}

int main(int argc, char **argv)
{
	double base_mib = 16, amplitude_mib = 48, period_s = 6, trough_rise_kib = 4096;
	size_t steps, step_bytes, i;
	char **cycle;
	bool rising;
	double next;
	int a;

	if (argc < 2 || (strcmp(argv[1], "flat") && strcmp(argv[1], "rising")))
		goto usage;
	rising = !strcmp(argv[1], "rising");
	for (a = 2; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--base"))
			base_mib = atof(argv[a + 1]);
		else if (!strcmp(argv[a], "--amplitude"))
			amplitude_mib = atof(argv[a + 1]);
		else if (!strcmp(argv[a], "--period"))
			period_s = atof(argv[a + 1]);
		else if (!strcmp(argv[a], "--trough-rise"))
			trough_rise_kib = atof(argv[a + 1]);
		else
			goto usage;
	}
	if (a < argc || base_mib < 0 || amplitude_mib <= 0 || period_s < 0.2 || trough_rise_kib < 0)
		goto usage;

	steps = (size_t)(period_s * STEPS_PER_S);
	step_bytes = ((size_t)(amplitude_mib * 1048576 / steps) + 4095) & ~(size_t)4095;
	cycle = calloc(steps, sizeof(*cycle));
	if (!cycle)
		return 1;
	if (base_mib > 0)
		map_touched((size_t)(base_mib * 1048576));
	printf("ready\n");
	fflush(stdout);

	next = now_s();
	for (;;) {
		for (i = 0; i < steps; i++) {
			cycle[i] = map_touched(step_bytes);
			next += 1.0 / STEPS_PER_S;
			while (now_s() < next)
				usleep(5000);
		}
		for (i = 0; i < steps; i++)
			munmap(cycle[i], step_bytes);
		if (rising && trough_rise_kib > 0)
			map_touched((size_t)(trough_rise_kib * 1024));
	}
usage:
	fprintf(stderr, "usage: sawtooth flat|rising [--base MIB] [--amplitude MIB] [--period S] "
			"[--trough-rise KIB]\n");
	return 2;
}
