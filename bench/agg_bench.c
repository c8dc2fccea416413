// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The aggregation's cost per pass by how much of the host changed since the
 * last pass (user/model/agg.c works by change): N processes in C cgroups as
 * the process walk's records, fed to one agg pass after pass, in five
 * scenarios measured in the same run, interleaved round by round:
 *
 *   quiet       no process changed (the idle processes of a node)
 *   10% moved   a tenth of the processes faulted or grew
 *   all moved   every process faulted
 *   churn       1% of the processes exit and as many are born, every pass
 *   from scratch a new agg every pass: every process sorted and summed,
 *               what a pass cost before aggregation by change
 *
 * Prints CPU ns per pass and per process (medians over the rounds) and each
 * scenario's ratio to "from scratch". Not a test: it prints figures.
 *
 *   agg_bench [--procs N] [--cgroups C] [--passes P] [--rounds R]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model/agg.h"

enum scenario { QUIET, TENTH, ALL, CHURN, SCRATCH, NR_SCENARIOS };

static const char *const scenario_name[NR_SCENARIOS] = {
	"quiet", "10% moved", "all moved", "churn 1%", "from scratch",
};

struct bench {
	size_t procs, cgroups, passes, rounds;
	struct memobs_task_rec *recs;
	__u32 next_pid;
	__u64 clock;
	unsigned seed;
};

static unsigned rnd(struct bench *b, unsigned n)
{
	b->seed = b->seed * 1103515245u + 12345u;
	return (b->seed >> 16) % n;
}

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void new_proc(struct bench *b, struct memobs_task_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->type = MEMOBS_REC_TASK;
	r->flags = MEMOBS_TASK_LEADER | MEMOBS_TASK_PROCESS;
	r->pid = r->tid = b->next_pid++;
	r->cgroup_id = 1000 + rnd(b, (unsigned)b->cgroups);
	r->start_time_ns = ++b->clock;
	r->min_flt = rnd(b, 10000);
	r->anon_rss_pages = 100 + rnd(b, 10000);
	r->file_rss_pages = 50 + rnd(b, 1000);
	r->data_vm_pages = r->anon_rss_pages + 200;
	r->total_vm_pages = r->data_vm_pages + r->file_rss_pages + 1000;
	r->heap_bytes = 4096 * rnd(b, 1000);
	r->nr_threads = 1 + rnd(b, 10);
	snprintf(r->comm, sizeof(r->comm), "proc%u", r->pid % 97);
}

/* What changes between two passes, by scenario: the records as the walk meets them. */
static void step(struct bench *b, enum scenario s)
{
	size_t i, n = b->procs;

	switch (s) {
	case TENTH:
		for (i = 0; i < n / 10; i++)
			b->recs[rnd(b, (unsigned)n)].min_flt++;
		break;
	case ALL:
		for (i = 0; i < n; i++)
			b->recs[i].min_flt++;
		break;
	case CHURN:
		/* exits anywhere in the walk, births at its end (the kernel's task list) */
		for (i = 0; i < n / 100; i++) {
			size_t at = rnd(b, (unsigned)n);

			memmove(&b->recs[at], &b->recs[at + 1], (n - at - 1) * sizeof(b->recs[0]));
			new_proc(b, &b->recs[n - 1]);
		}
		break;
	default:
		break;
	}
}

static int one_pass(struct agg *agg, const struct bench *b)
{
	struct snapshot *snap;
	size_t i;
	int err;

	agg__begin(agg, b->clock * 1000000000ULL, b->clock * 1000);
	for (i = 0; i < b->procs; i++)
		if ((err = agg__add_task(agg, &b->recs[i])))
			return err;
	if ((err = agg__end(agg, &snap)))
		return err;
	snapshot__free(snap);
	return 0;
}

/* CPU ns per pass of one scenario, over b->passes passes after one to set it up. */
static double run_scenario(struct bench *b, enum scenario s)
{
	struct agg *agg = agg__new(4096);
	double t0, spent = 0;
	size_t i;

	if (!agg || one_pass(agg, b) || one_pass(agg, b))
		goto fail;
	for (i = 0; i < b->passes; i++) {
		step(b, s);
		t0 = cpu_ns();
		if (s == SCRATCH) {
			agg__free(agg);
			agg = agg__new(4096);
			if (!agg)
				goto fail;
		}
		if (one_pass(agg, b))
			goto fail;
		spent += cpu_ns() - t0;
	}
	agg__free(agg);
	return spent / b->passes;
fail:
	fprintf(stderr, "agg_bench: %s: out of memory\n", scenario_name[s]);
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static size_t parse_size(const char *opt, const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg ? arg : "", &end, 10);
	if (!arg || errno || *end || !v || v > 1000000) {
		fprintf(stderr, "agg_bench: %s wants a count from 1 to 1000000, not '%s'\n", opt,
			arg ? arg : "");
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct bench b = { .procs = 2000, .cgroups = 100, .passes = 50, .rounds = 9, .seed = 7 };
	double *ns[NR_SCENARIOS], med[NR_SCENARIOS];
	size_t r, i;
	int s;

	for (i = 1; i < (size_t)argc; i++) {
		const char *arg = i + 1 < (size_t)argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--procs"))
			b.procs = parse_size(argv[i], arg);
		else if (!strcmp(argv[i], "--cgroups"))
			b.cgroups = parse_size(argv[i], arg);
		else if (!strcmp(argv[i], "--passes"))
			b.passes = parse_size(argv[i], arg);
		else if (!strcmp(argv[i], "--rounds"))
			b.rounds = parse_size(argv[i], arg);
		else {
			fprintf(stderr,
				"agg_bench: unknown option '%s' (--procs, --cgroups, "
				"--passes, --rounds)\n",
				argv[i]);
			return 2;
		}
		i++;
	}
	b.recs = calloc(b.procs, sizeof(*b.recs));
	for (s = 0; s < NR_SCENARIOS; s++)
		ns[s] = calloc(b.rounds, sizeof(double));
	if (!b.recs)
		return 1;
	b.next_pid = 100;
	for (i = 0; i < b.procs; i++)
		new_proc(&b, &b.recs[i]);
	for (r = 0; r < b.rounds; r++)
		for (s = 0; s < NR_SCENARIOS; s++) {
			/* rotate the order each round: no scenario always runs on a warm cache */
			int k = (s + (int)r) % NR_SCENARIOS;

			if (!ns[k])
				return 1;
			ns[k][r] = run_scenario(&b, (enum scenario)k);
		}
	printf("aggregation per pass: %zu processes in %zu cgroups, %zu passes x %zu rounds "
	       "(medians)\n",
	       b.procs, b.cgroups, b.passes, b.rounds);
	printf("%-13s %12s %12s %14s\n", "scenario", "us per pass", "ns per proc",
	       "/ from scratch");
	for (s = 0; s < NR_SCENARIOS; s++) {
		qsort(ns[s], b.rounds, sizeof(double), cmp_double);
		med[s] = ns[s][b.rounds / 2];
	}
	for (s = 0; s < NR_SCENARIOS; s++)
		printf("%-13s %12.1f %12.1f %14.3f\n", scenario_name[s], med[s] / 1e3,
		       med[s] / b.procs, med[s] / med[SCRATCH]);
	for (s = 0; s < NR_SCENARIOS; s++)
		free(ns[s]);
	free(b.recs);
	return 0;
}
