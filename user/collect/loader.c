// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/loader.h"
#include "util/array.h"
#include "util/log.h"
#include "memobs_core.skel.h"

#define MAX_LINKS 8

struct loader {
	struct memobs_core *skel;
	struct bpf_link *links[MAX_LINKS];
	int nr_links;
	struct bpf_link *iter_link;
	struct ring_buffer *events;
	__u64 attach_failures;
	/* The records of the current drain, returned by loader__poll(). */
	struct memobs_event *drained;
	size_t nr_drained;
	size_t drained_cap;
	__u64 lost_to_enomem; /* records that did not fit in memory: counted as drops */
	/* The process walk (NULL: iter/task only): memobs_procs mapped read-only. */
	const struct memobs_task_rec *procs;
	size_t procs_map_bytes;
	__u32 procs_cap;
	bool walk_overflow_told;
};

static int handle_event(void *ctx, void *data, size_t size)
{
	struct loader *l = ctx;

	if (size < sizeof(struct memobs_event))
		return 0; /* a record from a future version: skip, don't stop the drain */
	if (ARRAY_GROW(l->drained, l->drained_cap, l->nr_drained + 1)) {
		l->lost_to_enomem++;
		return 0;
	}
	memcpy(&l->drained[l->nr_drained++], data, sizeof(struct memobs_event));
	return 0;
}

/* Chooses the programs this kernel can run; the iterator is the one we cannot do without. */
static int choose_programs(struct memobs_core *skel, const struct features *f)
{
	if (!f->task_iter) {
		p_err("the kernel has no BPF task iterator (iter/task, Linux 5.8+): cannot sample");
		return -EOPNOTSUPP;
	}
	/* one of the two mark_victim flavours, never both */
	if (f->oom_tp_task) {
		bpf_program__set_autoload(skel->progs.memobs_oom_victim_pid, false);
	} else {
		bpf_program__set_autoload(skel->progs.memobs_oom_victim, false);
		if (!f->oom_tp_exists || !f->tracefs) {
			p_warn("OOM kills not reported: %s",
			       f->oom_tp_exists
				       ? "tracefs is not mounted (tracepoint 'oom:mark_victim')"
				       : "no tracepoint 'oom:mark_victim'");
			bpf_program__set_autoload(skel->progs.memobs_oom_victim_pid, false);
		}
	}
	return 0;
}

static void attach_programs(struct loader *l)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, l->skel->obj) {
		struct bpf_link *link;

		/* the samplers are run, not attached to a hook (the iterator below) */
		if (!bpf_program__autoload(prog) || prog == l->skel->progs.memobs_iter_task ||
		    prog == l->skel->progs.memobs_walk_procs)
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			p_warn("failed to attach '%s': %s", bpf_program__section_name(prog),
			       strerror(errno));
			l->attach_failures++;
			continue;
		}
		l->links[l->nr_links++] = link;
	}
}

/* Processes alive now (/proc's numeric entries): sizes the process walk's array. */
static __u32 count_processes(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	__u32 n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += isdigit((unsigned char)e->d_name[0]) != 0;
	closedir(d);
	return n;
}

/*
 * Room for twice the processes alive at start, and at least 8,192: a pass
 * that meets more falls back to iter/task (loader__run_iter). The array is
 * allocated at load: 128 bytes a process (1 MiB for 8,192).
 */
static __u32 walk_capacity(void)
{
	__u32 n = count_processes();

	return n > 2048 ? 2 * n + 4096 : 8192;
}

/* *at_load: the error, if any, came from the kernel's load (the verifier), not before. */
/*
 * RSS exactness by budget (docs/output.md): mm counters are percpu_counters
 * (6.2+) whose global count lags the truth by less than the batch
 * (percpu_counter_batch: max(32, 2 x online CPUs)) on each CPU. The process
 * walk sums the per-CPU parts only of a counter below 100 x that bound, where
 * the error could exceed 1% of the value, and then only when it re-reads the
 * process (rescan_passes()). MEMOBS_RSS_EXACT=1 sums always (every process,
 * every pass), =0 never (for benchmarks: the cost of the per-CPU sum).
 */
static __u64 exact_below_pages(void)
{
	const char *env = getenv("MEMOBS_RSS_EXACT");
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	__u64 batch;

	if ((env && strcmp(env, "1") == 0) || online < 1)
		return ~0ULL;
	if (env && strcmp(env, "0") == 0)
		return 0;
	batch = 2 * online > 32 ? 2 * online : 32;
	return 100 * batch * online;
}

/*
 * Re-reading by change (docs/output.md): a process's live threads' faults
 * and its counters' per-CPU parts are re-read when a cheap figure of it
 * changed, and at least every RESCAN_PASSES passes. MEMOBS_RESCAN_PASSES=N
 * overrides it (1: everything every pass, for benchmarks); MEMOBS_RSS_EXACT=1
 * implies 1.
 */
#define RESCAN_PASSES 8

static __u32 rescan_passes(void)
{
	const char *env = getenv("MEMOBS_RESCAN_PASSES"), *exact = getenv("MEMOBS_RSS_EXACT");
	char *end;
	long n;

	if (exact && strcmp(exact, "1") == 0)
		return 1;
	if (!env || !*env)
		return RESCAN_PASSES;
	n = strtol(env, &end, 10);
	if (*end || n < 1 || n > 1000) {
		p_warn("ignoring MEMOBS_RESCAN_PASSES='%s': not a number of passes (1..1000)", env);
		return RESCAN_PASSES;
	}
	return n;
}

/*
 * Per-CPU loads a pass may spend on the per-CPU parts of processes that
 * changed (~35 ns each), and about as much again on the due ones:
 * 16,384 is ~0.6 ms, 21 processes of 4 counters on 192 CPUs, 2,048 on 2.
 * MEMOBS_EXACT_BUDGET_LOADS=N overrides it (benchmarks: a small budget
 * on 2 CPUs spreads the due re-reads as 16,384 does on a many-CPU node).
 */
#define EXACT_BUDGET_LOADS 16384
/*
 * Thread visits a pass's due fault walks take, about (~220-300 ns each):
 * 512 is ~0.15 ms. A node of more other threads than 8 x 512 walks each
 * quiet process's threads less often than every 8 passes (20,000 threads:
 * every 40; faults of quiet threads arrive that late, none lost).
 * MEMOBS_WALK_THREAD_BUDGET=N overrides it.
 */
#define WALK_THREAD_BUDGET 512

/* A budget from the environment: a count in 1..max, else (with a warning) the default. */
static __u64 env_budget(const char *name, __u64 dflt, long long max, const char *unit)
{
	const char *env = getenv(name);
	char *end;
	long long n;

	if (!env || !*env)
		return dflt;
	errno = 0;
	n = strtoll(env, &end, 10);
	if (errno || *end || n < 1 || n > max) {
		p_warn("ignoring %s='%s': not a number of %s (1..%lld)", name, env, unit, max);
		return dflt;
	}
	return n;
}

static int open_skeleton(struct loader *l, const struct loader_opts *opts, bool walk, bool *at_load)
{
	int err;

	*at_load = false;
	l->skel = memobs_core__open();
	if (!l->skel) {
		err = -errno;
		p_err("failed to open the BPF object: %s", strerror(-err));
		return err;
	}
	err = choose_programs(l->skel, opts->features);
	if (err)
		return err;
	bpf_program__set_autoload(l->skel->progs.memobs_walk_procs, walk);
	l->procs_cap = walk ? walk_capacity() : 1;
	bpf_map__set_max_entries(l->skel->maps.memobs_procs, l->procs_cap);
	/* the walk's states: the last pass's and this pass's, in walk order */
	bpf_map__set_max_entries(l->skel->maps.memobs_walk_slots, 2 * l->procs_cap);
	l->skel->rodata->memobs_walk_cap = l->procs_cap;
	bpf_map__set_max_entries(l->skel->maps.memobs_events, opts->ringbuf_bytes);
	err = libbpf_num_possible_cpus();
	l->skel->rodata->memobs_nr_cpus = err > 0 ? err : 0;
	l->skel->rodata->memobs_exact_below_pages = exact_below_pages();
	l->skel->rodata->memobs_rescan_passes = rescan_passes();
	l->skel->rodata->memobs_exact_budget_loads =
		env_budget("MEMOBS_EXACT_BUDGET_LOADS", EXACT_BUDGET_LOADS, 1000000000LL, "loads");
	l->skel->rodata->memobs_walk_thread_budget = env_budget(
		"MEMOBS_WALK_THREAD_BUDGET", WALK_THREAD_BUDGET, 1000000000LL, "threads");
	*at_load = true;
	return memobs_core__load(l->skel);
}

static int map_procs(struct loader *l)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t bytes = (size_t)l->procs_cap * sizeof(struct memobs_task_rec);
	void *p;

	l->procs_map_bytes = (bytes + page - 1) / page * page;
	p = mmap(NULL, l->procs_map_bytes, PROT_READ, MAP_SHARED,
		 bpf_map__fd(l->skel->maps.memobs_procs), 0);
	if (p == MAP_FAILED)
		return -errno;
	l->procs = p;
	return 0;
}

int loader__open(struct loader **out, const struct loader_opts *opts)
{
	struct loader *l = calloc(1, sizeof(*l));
	bool walk = features__use_proc_walk(opts->features), at_load;
	int err;

	if (!l)
		return -ENOMEM;
	err = open_skeleton(l, opts, walk, &at_load);
	if (err && walk && at_load) {
		/* the kernel named the kfuncs but refused the program: the older sampler */
		p_warn("failed to load 'syscall' program 'memobs_walk_procs': %s; sampling with "
		       "iter/task (one record per thread) instead (-v for the verifier log)",
		       strerror(-err));
		memobs_core__destroy(l->skel);
		walk = false;
		err = open_skeleton(l, opts, walk, &at_load);
	}
	if (err) {
		if (at_load)
			p_err("failed to load the BPF programs: %s (run 'memobs check'; -v for the "
			      "verifier log)",
			      strerror(-err));
		goto fail;
	}
	if (walk && (err = map_procs(l))) {
		p_err("failed to map 'memobs_procs': %s", strerror(-err));
		goto fail;
	}

	l->iter_link = bpf_program__attach_iter(l->skel->progs.memobs_iter_task, NULL);
	if (!l->iter_link) {
		err = -errno;
		p_err("failed to attach 'iter/task': %s", strerror(-err));
		goto fail;
	}
	attach_programs(l);

	l->events =
		ring_buffer__new(bpf_map__fd(l->skel->maps.memobs_events), handle_event, l, NULL);
	if (!l->events) {
		err = -errno;
		p_err("failed to open the ring buffer: %s", strerror(-err));
		goto fail;
	}
	*out = l;
	return 0;
fail:
	loader__close(l);
	return err;
}

void loader__close(struct loader *l)
{
	int i;

	if (!l)
		return;
	ring_buffer__free(l->events);
	for (i = 0; i < l->nr_links; i++)
		bpf_link__destroy(l->links[i]);
	bpf_link__destroy(l->iter_link);
	if (l->procs)
		munmap((void *)l->procs, l->procs_map_bytes);
	memobs_core__destroy(l->skel);
	free(l->drained);
	free(l);
}

/*
 * One run of the process walk: 1 and the records fed to agg, 0 when the walk
 * could not cover every process (the caller runs iter/task instead), or -errno.
 */
static int run_walk(struct loader *l, struct agg *agg)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts);
	__u64 missed;
	bool failed;
	__u32 nr, i;
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(l->skel->progs.memobs_walk_procs), &topts);
	if (err)
		return err;
	failed = (int)topts.retval != 0;
	nr = l->skel->bss->memobs_walk_nr;
	missed = l->skel->bss->memobs_walk_missed;
	if (failed || missed) {
		if (!l->walk_overflow_told)
			p_warn("the process walk %s: sampling with iter/task while it does",
			       failed ? "could not start its task iterator"
				      : "met more processes than its array holds");
		l->walk_overflow_told = true;
		return 0;
	}
	for (i = 0; i < nr && i < l->procs_cap; i++)
		if ((err = agg__add_task(agg, &l->procs[i])))
			return err;
	return 1;
}

static int run_iter_task(struct loader *l, struct agg *agg);

int loader__run_iter(struct loader *l, struct agg *agg)
{
	int err;

	if (l->procs) {
		err = run_walk(l, agg);
		if (err)
			return err < 0 ? err : 0;
	}
	return run_iter_task(l, agg);
}

const char *loader__sampler(const struct loader *l)
{
	return l->procs ? "process walk" : "iter/task";
}

static int run_iter_task(struct loader *l, struct agg *agg)
{
	/* whole records are not guaranteed per read(): carry a partial one over */
	static __thread char buf[64 * 1024];
	const size_t rec_size = sizeof(struct memobs_task_rec);
	size_t have = 0, off;
	ssize_t n;
	int fd, err = 0;

	fd = bpf_iter_create(bpf_link__fd(l->iter_link));
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, buf + have, sizeof(buf) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		have += n;
		for (off = 0; off + rec_size <= have; off += rec_size) {
			struct memobs_task_rec rec;

			memcpy(&rec, buf + off, rec_size);
			if (rec.type == MEMOBS_REC_TASK && (err = agg__add_task(agg, &rec)))
				goto out;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
out:
	close(fd);
	return err;
}

int loader__poll(struct loader *l, int timeout_ms, const struct memobs_event **events)
{
	int err;

	l->nr_drained = 0;
	err = ring_buffer__poll(l->events, timeout_ms);
	*events = l->drained;
	return err < 0 ? err : (int)l->nr_drained;
}

int loader__read_stats(struct loader *l, __u64 out[MEMOBS_STAT_NR])
{
	int nr_cpus = libbpf_num_possible_cpus(), fd = bpf_map__fd(l->skel->maps.memobs_stats);
	__u64 *values;
	__u32 key;
	int cpu;

	if (nr_cpus < 0)
		return nr_cpus;
	values = calloc(nr_cpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	for (key = 0; key < MEMOBS_STAT_NR; key++) {
		out[key] = 0;
		if (bpf_map_lookup_elem(fd, &key, values))
			continue;
		for (cpu = 0; cpu < nr_cpus; cpu++)
			out[key] += values[cpu];
	}
	free(values);
	out[MEMOBS_STAT_RINGBUF_DROPS] += l->lost_to_enomem;
	return 0;
}

__u64 loader__attach_failures(const struct loader *l)
{
	return l->attach_failures;
}
