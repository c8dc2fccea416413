// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The attribution ring buffer at a given rate of sampled records: does
 * memobs's consumer (the same attr object and drain `memobs run --malloc`
 * and `memobs leaks` use: site lookup, sample table insert and remove) keep
 * up, with zero drops? A producer thread paces getppid() calls, each of which
 * makes bench/ringbuf_producer.bpf.c write one allocation record (with its
 * user stack) and one free record into memobs's ring buffer; the main thread
 * drains it exactly as memobs does (attr__poll). Not a test: it prints
 * figures, one line per rate.
 *
 *   ringbuf_bench [--seconds S] [--ring-mib M] RATE...
 * RATE: records/s offered; 0: as fast as one producer thread goes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attribute/attr.h"
#include "collect/features.h"
#include "util/mountinfo.h"
#include "bench/ringbuf_producer.skel.h"

struct producer {
	double rate; /* records/s offered; 0: unpaced */
	double seconds;
	volatile int done;
	double elapsed_s;
};

static double now_s(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Two records per call; paced in slices of 64 calls against the wall clock. */
static void *produce(void *arg)
{
	struct producer *p = arg;
	double start = now_s(CLOCK_MONOTONIC), t = start;
	unsigned long long calls = 0;
	int i;

	while (t - start < p->seconds) {
		for (i = 0; i < 64; i++)
			syscall(SYS_getppid);
		calls += 64;
		t = now_s(CLOCK_MONOTONIC);
		while (p->rate > 0 && 2.0 * calls > p->rate * (t - start)) {
			double ahead_s = 2.0 * calls / p->rate - (t - start);

			if (ahead_s > 200e-6)
				usleep((useconds_t)(ahead_s * 1e6 / 2));
			t = now_s(CLOCK_MONOTONIC);
		}
	}
	p->elapsed_s = t - start;
	p->done = 1;
	return NULL;
}

static __u64 stat_of(struct attr *a, enum memobs_attr_stat stat)
{
	struct attr_stats st;

	attr__stats(a, &st);
	return st.bpf[stat];
}

static int run_rate(struct attr *a, struct ringbuf_producer_bpf *skel, double rate, double seconds)
{
	struct producer p = { .rate = rate, .seconds = seconds };
	__u64 made0 = skel->bss->pairs_made, drops0 = stat_of(a, MEMOBS_ATTR_STAT_RINGBUF_DROPS);
	__u64 made, drops, consumed = 0;
	double cpu0 = now_s(CLOCK_THREAD_CPUTIME_ID), cpu, t0;
	char offered[32] = "unpaced";
	pthread_t thread;
	int n, err;

	if ((err = pthread_create(&thread, NULL, produce, &p)))
		return -err;
	while (!p.done) {
		n = attr__poll(a, 100);
		if (n > 0)
			consumed += n;
	}
	pthread_join(thread, NULL);
	/* what is left below the wake-up mark goes on memobs's next tick (1 s) */
	for (t0 = now_s(CLOCK_MONOTONIC); now_s(CLOCK_MONOTONIC) - t0 < 1.2;)
		if ((n = attr__poll(a, 100)) > 0)
			consumed += n;
	cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	made = 2 * (skel->bss->pairs_made - made0);
	drops = stat_of(a, MEMOBS_ATTR_STAT_RINGBUF_DROPS) - drops0;
	if (rate > 0)
		snprintf(offered, sizeof(offered), "%.0f", rate);
	printf("%-10s %12.0f %12llu %12llu %8llu %9.1f%% %9.0f\n", offered, made / p.elapsed_s,
	       (unsigned long long)made, (unsigned long long)consumed, (unsigned long long)drops,
	       100.0 * cpu / p.elapsed_s, consumed ? cpu * 1e9 / consumed : 0.0);
	fflush(stdout);
	return 0;
}

static int reuse_map(struct bpf_object *from, struct bpf_map *to)
{
	struct bpf_map *m = bpf_object__find_map_by_name(from, bpf_map__name(to));

	return m ? bpf_map__reuse_fd(to, bpf_map__fd(m)) : -ENOENT;
}

static int usage(void)
{
	fprintf(stderr, "usage: ringbuf_bench [--seconds S] [--ring-mib M] RATE...\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct attr_opts opts = { .sample_bytes = 1 };
	struct features features;
	struct mounts mounts;
	struct ringbuf_producer_bpf *skel = NULL;
	struct bpf_object *obj;
	struct attr *a = NULL;
	double seconds = 5;
	int i, err;

	for (i = 1; i < argc && argv[i][0] == '-'; i += 2) {
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--ring-mib"))
			opts.ringbuf_bytes = (__u32)atoi(argv[i + 1]) << 20;
		else
			return usage();
	}
	if (i >= argc || seconds <= 0)
		return usage();
	if ((err = mounts__discover(&mounts, "/proc/self/mountinfo"))) {
		fprintf(stderr, "ringbuf_bench: reading the mount table failed: %s\n",
			strerror(-err));
		return 1;
	}
	features__probe(&features, &mounts);
	opts.mounts = &mounts;
	opts.features = &features;
	/* nothing hooked: the stand-in producer feeds the maps instead */
	if ((err = attr__open(&a, &opts)))
		return 1;
	obj = attr__bpf_object(a);
	skel = ringbuf_producer_bpf__open();
	if (!skel) {
		fprintf(stderr, "ringbuf_bench: opening the producer failed: %s\n",
			strerror(errno));
		goto out;
	}
	skel->rodata->bench_tgid = getpid();
	skel->rodata->wakeup_bytes =
		bpf_map__max_entries(bpf_object__find_map_by_name(obj, "memobs_attr_events")) / 4;
	if ((err = reuse_map(obj, skel->maps.memobs_attr_events)) ||
	    (err = reuse_map(obj, skel->maps.memobs_attr_stacks)) ||
	    (err = reuse_map(obj, skel->maps.memobs_attr_stats)) ||
	    (err = ringbuf_producer_bpf__load(skel)) ||
	    (err = ringbuf_producer_bpf__attach(skel))) {
		fprintf(stderr, "ringbuf_bench: loading the producer failed: %s\n", strerror(-err));
		goto out;
	}
	printf("# ring buffer %u MiB, wake-up at 1/4 full, %.0f s per rate, 2 CPUs "
	       "share "
	       "producer and consumer\n",
	       bpf_map__max_entries(skel->maps.memobs_attr_events) >> 20, seconds);
	printf("%-10s %12s %12s %12s %8s %10s %9s\n", "offered/s", "made/s", "made", "consumed",
	       "drops", "consumer", "ns/record");
	for (; i < argc && !err; i++)
		err = run_rate(a, skel, atof(argv[i]), seconds);
out:
	ringbuf_producer_bpf__destroy(skel);
	attr__close(a);
	return err ? 1 : 0;
}
