// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The leak detector's cost at scale: N cgroups (default 10,000) with a window
 * of W samples (default 300 s at 1 s), one snapshot per simulated second.
 * Reports the CPU time detector__update takes per simulated second, i.e. the
 * share of one core it would use in `memobs run`, against the 10%
 * target, side by side with a plain least-squares baseline (the slope of every
 * series' window recomputed every second, as a fixed-threshold agent does) on
 * the same samples in the same run. Not a test: it prints figures.
 *
 *   detector_bench [--cgroups N] [--window S] [--measure S] [--growing FRAC]
 *
 * Two scenarios: a realistic mix (FRAC of the cgroups leak or saw, default
 * 5%; the rest are flat with noise), and the worst case where every series
 * grows, so that no evaluation is gated out. Only the seconds after the
 * windows have filled are measured (default 120 of them).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "detect/detector.h"

#define MIB (1024.0 * 1024.0)
#define TARGET_CORE_SHARE 0.10

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static double uniform01(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng >> 11) * 0x1.0p-53;
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

enum kind { FLAT, LEAK, SAW };

struct world {
	size_t nr;
	enum kind *kind;
	double *phase;
	struct snapshot snap;
	struct cgroup_stat *cgroups;
	struct proc_stat *procs;
	char **paths;
};

static int world_init(struct world *w, size_t nr, double growing)
{
	size_t i;

	memset(w, 0, sizeof(*w));
	w->nr = nr;
	w->kind = calloc(nr, sizeof(*w->kind));
	w->phase = calloc(nr, sizeof(*w->phase));
	w->cgroups = calloc(nr, sizeof(*w->cgroups));
	w->procs = calloc(nr, sizeof(*w->procs));
	w->paths = calloc(nr, sizeof(*w->paths));
	if (!w->kind || !w->phase || !w->cgroups || !w->procs || !w->paths)
		return -1;
	for (i = 0; i < nr; i++) {
		char path[64];
		double u = uniform01();

		w->kind[i] = u < growing / 2 ? LEAK : u < growing ? SAW : FLAT;
		w->phase[i] = uniform01() * 30;
		snprintf(path, sizeof(path), "/kubepods.slice/pod%zu/ctr", i);
		w->paths[i] = strdup(path);
		w->cgroups[i].id = 1000 + i;
		w->cgroups[i].path = w->paths[i];
		w->cgroups[i].nr_procs = 1;
		w->cgroups[i].first_proc = i;
		w->procs[i].pid = 10000 + i;
		w->procs[i].cgroup_id = 1000 + i;
		snprintf(w->procs[i].comm, sizeof(w->procs[i].comm), "app%zu", i % 100);
	}
	w->snap.cgroups = w->cgroups;
	w->snap.nr_cgroups = nr;
	w->snap.procs = w->procs;
	w->snap.nr_procs = nr;
	return 0;
}

static void world_free(struct world *w)
{
	for (size_t i = 0; i < w->nr && w->paths; i++)
		free(w->paths[i]);
	free(w->paths);
	free(w->kind);
	free(w->phase);
	free(w->cgroups);
	free(w->procs);
}

/* The sample of second t: anon RSS, heap and mmap move together, with noise. */
static void world_step(struct world *w, size_t t)
{
	for (size_t i = 0; i < w->nr; i++) {
		double base = 64 * MIB + (i % 64) * MIB, noise = (uniform01() - 0.5) * 2 * MIB, v;

		switch (w->kind[i]) {
		case LEAK:
			v = base + 256 * 1024.0 * t + noise;
			break;
		case SAW:
			v = base + 64 * MIB * fmod(t + w->phase[i], 30) / 30 + 64 * 1024.0 * t;
			break;
		default:
			v = base + noise;
		}
		w->cgroups[i].mem.anon_rss_bytes = (__u64)v;
		w->cgroups[i].mem.heap_bytes = (__u64)(v / 4);
		w->cgroups[i].mem.mmap_bytes = (__u64)(v / 2);
		w->procs[i].mem.anon_rss_bytes = w->cgroups[i].mem.anon_rss_bytes;
		w->procs[i].mem.heap_bytes = w->cgroups[i].mem.heap_bytes;
		w->procs[i].mem.mmap_bytes = w->cgroups[i].mem.mmap_bytes;
	}
	w->snap.mono_ns = (__u64)t * 1000000000ULL;
	w->snap.ts_ms = 1700000000000ULL + t * 1000;
}

/* The baseline: every series' window in a ring, least squares over it every second. */
struct baseline {
	size_t nr_series, window;
	double *ring;
	double sink;
};

static void baseline_step(struct baseline *b, const struct world *w, size_t t)
{
	size_t n = t + 1 < b->window ? t + 1 : b->window, at = t % b->window;

	for (size_t s = 0; s < b->nr_series; s++) {
		const struct cgroup_stat *cs = &w->cgroups[s / 3];
		double *ring = b->ring + s * b->window, t_mean = 0, v_mean = 0, stt = 0, stv = 0;
		__u64 v = s % 3 == 0   ? cs->mem.anon_rss_bytes
			  : s % 3 == 1 ? cs->mem.heap_bytes
				       : cs->mem.mmap_bytes;

		ring[at] = (double)v;
		for (size_t i = 0; i < n; i++) {
			t_mean += i;
			v_mean += ring[i];
		}
		t_mean /= n;
		v_mean /= n;
		for (size_t i = 0; i < n; i++) {
			/* ring order does not matter for the cost, only for the answer */
			double dt = ((i + b->window - at - 1) % b->window) - t_mean;

			stt += dt * dt;
			stv += dt * (ring[i] - v_mean);
		}
		b->sink += stt > 0 ? stv / stt : 0;
	}
}

struct result {
	double detector_cpu_per_s, baseline_cpu_per_s;
	struct detector_stats stats;
	size_t alerts;
};

static int run(size_t nr, double window_s, size_t measure_s, double growing, struct result *r)
{
	struct detector_opts opts;
	struct baseline b = { 0 };
	struct detector_stats before;
	struct detector *d;
	struct world w;
	size_t fill_s = (size_t)ceil(window_s), t;
	double det_cpu = 0, base_cpu = 0;

	memset(r, 0, sizeof(*r));
	detector_opts__default(&opts);
	opts.window_s = window_s;
	d = detector__new(&opts);
	if (!d || world_init(&w, nr, growing))
		return -1;
	b.nr_series = 3 * nr;
	b.window = (size_t)ceil(window_s);
	b.ring = calloc(b.nr_series * b.window, sizeof(double));
	if (!b.ring)
		return -1;
	for (t = 0; t < fill_s + measure_s; t++) {
		const struct leak_alert *alerts;
		size_t nr_alerts;
		double c0, c1, c2;

		world_step(&w, t);
		if (t == fill_s)
			detector__stats(d, &before);
		c0 = cpu_now();
		if (detector__update(d, &w.snap, &alerts, &nr_alerts))
			return -1;
		c1 = cpu_now();
		baseline_step(&b, &w, t);
		c2 = cpu_now();
		if (t >= fill_s) {
			det_cpu += c1 - c0;
			base_cpu += c2 - c1;
		}
		r->alerts += nr_alerts;
	}
	detector__stats(d, &r->stats);
	r->stats.samples -= before.samples;
	r->stats.evaluations -= before.evaluations;
	r->stats.full_tests -= before.full_tests;
	r->detector_cpu_per_s = det_cpu / measure_s;
	r->baseline_cpu_per_s = base_cpu / measure_s;
	if (b.sink == 12345) /* keep the baseline's work observable */
		printf("\n");
	free(b.ring);
	world_free(&w);
	detector__free(d);
	return 0;
}

int main(int argc, char **argv)
{
	size_t nr = 10000, measure_s = 120;
	double window_s = 300, growing = 0.05;
	const double scenarios[2] = { -1, 1 };
	int a, i;

	for (a = 1; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--cgroups"))
			nr = strtoul(argv[a + 1], NULL, 10);
		else if (!strcmp(argv[a], "--window"))
			window_s = atof(argv[a + 1]);
		else if (!strcmp(argv[a], "--measure"))
			measure_s = strtoul(argv[a + 1], NULL, 10);
		else if (!strcmp(argv[a], "--growing"))
			growing = atof(argv[a + 1]);
		else
			break;
	}
	if (a < argc || !nr || window_s < 10 || !measure_s || growing < 0 || growing > 1) {
		fprintf(stderr, "usage: detector_bench [--cgroups N] [--window S] [--measure S] "
				"[--growing FRAC]\n");
		return 2;
	}
	printf("detector_bench: %zu cgroups x 3 metrics, window %.0f s at 1 s, %zu s measured "
	       "after the windows filled\n",
	       nr, window_s, measure_s);
	printf("%-22s %12s %10s %12s %14s %10s %12s %8s\n", "scenario", "detector", "of 1 core",
	       "vs target", "least-squares", "of 1 core", "full tests/s", "alerts");
	for (i = 0; i < 2; i++) {
		double frac = scenarios[i] < 0 ? growing : scenarios[i];
		struct result r;
		char name[32];

		if (run(nr, window_s, measure_s, frac, &r)) {
			fprintf(stderr, "detector_bench: out of memory\n");
			return 1;
		}
		snprintf(name, sizeof(name), "%.0f%% growing", frac * 100);
		printf("%-22s %10.4f s %9.2f%% %11.2fx %12.4f s %9.2f%% %12.0f %8zu\n", name,
		       r.detector_cpu_per_s, 100 * r.detector_cpu_per_s,
		       r.detector_cpu_per_s / TARGET_CORE_SHARE, r.baseline_cpu_per_s,
		       100 * r.baseline_cpu_per_s, (double)r.stats.full_tests / measure_s,
		       r.alerts);
	}
	printf("(detector and least-squares: CPU seconds per simulated second = share of one core; "
	       "vs target: detector / %.0f%%; below 1.00x meets it)\n",
	       TARGET_CORE_SHARE * 100);
	return 0;
}
