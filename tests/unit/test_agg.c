// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The aggregation model and its hash map. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/agg.h"
#include "util/u64map.h"

static struct memobs_task_rec leader(__u32 pid, __u64 cgroup, __u64 anon_pages, __u64 faults)
{
	struct memobs_task_rec r = {
		.type = MEMOBS_REC_TASK,
		.flags = MEMOBS_TASK_LEADER,
		.pid = pid,
		.tid = pid,
		.cgroup_id = cgroup,
		.start_time_ns = 1000 + pid,
		.min_flt = faults,
		.anon_rss_pages = anon_pages,
		.heap_bytes = 8192,
		.data_vm_pages = 10,
	};
	strcpy(r.comm, "proc");
	return r;
}

static struct memobs_task_rec thread(__u32 pid, __u32 tid, __u64 faults)
{
	struct memobs_task_rec r = {
		.type = MEMOBS_REC_TASK, .pid = pid, .tid = tid, .min_flt = faults
	};
	return r;
}

static struct snapshot *pass(struct agg *agg, __u64 t_s, const struct memobs_task_rec *recs,
			     size_t n)
{
	struct snapshot *snap;
	size_t i;

	agg__begin(agg, t_s * 1000000000ULL, t_s * 1000);
	for (i = 0; i < n; i++)
		assert_int_equal(agg__add_task(agg, &recs[i]), 0);
	assert_int_equal(agg__end(agg, &snap), 0);
	return snap;
}

static void test_groups_by_cgroup_and_sums(void **state)
{
	struct agg *agg = agg__new(4096);
	/* a thread before its leader, as after pid wrap-around */
	struct memobs_task_rec recs[] = {
		thread(10, 5, 7),
		leader(10, 200, 100, 3),
		leader(20, 100, 50, 1),
		leader(30, 200, 25, 1),
	};
	struct snapshot *snap = pass(agg, 1, recs, 4);
	struct cgroup_stat *cg;

	(void)state;
	assert_int_equal(snap->nr_cgroups, 2);
	assert_int_equal(snap->cgroups[0].id, 100); /* sorted by id */
	cg = snapshot__find_cgroup(snap, 200);
	assert_non_null(cg);
	assert_int_equal(cg->nr_procs, 2);
	assert_int_equal(cg->mem.anon_rss_bytes, 125 * 4096);
	assert_int_equal(cg->mem.heap_bytes, 2 * 8192);
	assert_int_equal(cg->mem.mmap_bytes, 2 * (10 * 4096 - 8192));
	assert_int_equal(snap->procs[cg->first_proc].pid, 10);
	assert_int_equal(snap->procs[cg->first_proc].nr_threads, 2);
	assert_int_equal(snap->procs[cg->first_proc].faults_total, 10);
	/* the first pass is the baseline: no faults "in" it */
	assert_int_equal(cg->mem.page_faults, 0);
	assert_int_equal(snap->nr_cgroups, 2);
	snapshot__free(snap);
	agg__free(agg);
}

static void test_faults_per_interval(void **state)
{
	struct agg *agg = agg__new(4096);
	struct memobs_task_rec first[] = { leader(10, 200, 1, 100), thread(10, 11, 50) };
	struct memobs_task_rec second[] = { leader(10, 200, 1, 130), thread(10, 11, 60),
					    leader(40, 200, 1, 5) /* born in between */ };
	struct memobs_task_rec reused[] = { leader(10, 200, 1, 2) };
	struct snapshot *snap;

	(void)state;
	snapshot__free(pass(agg, 1, first, 2));
	snap = pass(agg, 2, second, 3);
	assert_true(snap->interval_s > 0.99 && snap->interval_s < 1.01);
	assert_int_equal(snap->cgroups[0].mem.page_faults, 30 + 10 + 5);
	assert_int_equal(snap->cgroups[0].page_faults_total, 45);
	snapshot__free(snap);
	/* pid 10 reused by a new process (another start time): its faults are all new */
	reused[0].start_time_ns = 99999;
	snap = pass(agg, 3, reused, 1);
	assert_int_equal(snap->cgroups[0].mem.page_faults, 2);
	assert_int_equal(snap->cgroups[0].page_faults_total, 47);
	snapshot__free(snap);
	agg__free(agg);
}

static void test_orphan_threads_are_left_out(void **state)
{
	struct agg *agg = agg__new(4096);
	struct memobs_task_rec recs[] = { thread(10, 11, 5) };
	struct snapshot *snap = pass(agg, 1, recs, 1);

	(void)state;
	assert_int_equal(snap->nr_procs, 0);
	assert_int_equal(snap->nr_cgroups, 0);
	snapshot__free(snap);
	agg__free(agg);
}

/* The process walk's record (MEMOBS_TASK_PROCESS) against iter/task's per-thread ones. */
static struct memobs_task_rec whole(__u32 pid, __u64 cgroup, __u64 anon_pages, __u64 faults,
				    __u32 nr_threads)
{
	struct memobs_task_rec r = leader(pid, cgroup, anon_pages, faults);

	r.flags |= MEMOBS_TASK_PROCESS;
	r.nr_threads = nr_threads;
	return r;
}

/* n quiet processes, pids from 10, over nr_cgroups cgroups from 100 */
static void fill_whole(struct memobs_task_rec *recs, size_t n, size_t nr_cgroups)
{
	size_t i;

	for (i = 0; i < n; i++)
		recs[i] = whole(10 + (__u32)i, 100 + i % nr_cgroups, 50, 10, 1);
}

static void test_process_records_match_thread_records(void **state)
{
	struct agg *per_thread = agg__new(4096), *per_process = agg__new(4096);
	struct memobs_task_rec threads1[] = {
		leader(10, 200, 100, 3),
		thread(10, 11, 4),
		thread(10, 12, 5),
		leader(20, 100, 50, 1),
	};
	struct memobs_task_rec procs1[] = { whole(10, 200, 100, 12, 3), whole(20, 100, 50, 1, 1) };
	/* a thread exited: its faults (5 + 2 more) folded into the leader's signal sum */
	struct memobs_task_rec threads2[] = {
		leader(10, 200, 110, 3 + 7),
		thread(10, 11, 9),
		leader(20, 100, 50, 1),
	};
	struct memobs_task_rec procs2[] = { whole(10, 200, 110, 19, 2), whole(20, 100, 50, 1, 1) };
	struct snapshot *a, *b;
	size_t i;

	(void)state;
	assert_non_null(per_thread);
	assert_non_null(per_process);
	for (int round = 0; round < 2; round++) {
		a = round ? pass(per_thread, 2, threads2, 3) : pass(per_thread, 1, threads1, 4);
		b = round ? pass(per_process, 2, procs2, 2) : pass(per_process, 1, procs1, 2);
		assert_int_equal(a->nr_procs, b->nr_procs);
		for (i = 0; i < a->nr_procs; i++) {
			assert_int_equal(a->procs[i].pid, b->procs[i].pid);
			assert_int_equal(a->procs[i].nr_threads, b->procs[i].nr_threads);
			assert_int_equal(a->procs[i].faults_total, b->procs[i].faults_total);
			assert_int_equal(a->procs[i].mem.page_faults, b->procs[i].mem.page_faults);
			assert_memory_equal(&a->procs[i].mem, &b->procs[i].mem,
					    sizeof(a->procs[i].mem));
		}
		assert_int_equal(a->nr_cgroups, b->nr_cgroups);
		for (i = 0; i < a->nr_cgroups; i++)
			assert_int_equal(a->cgroups[i].page_faults_total,
					 b->cgroups[i].page_faults_total);
		if (round) {
			assert_int_equal(b->procs[1].pid, 10);
			assert_int_equal(b->procs[1].nr_threads, 2);
			assert_int_equal(b->procs[1].mem.page_faults, 19 - 12);
		}
		snapshot__free(a);
		snapshot__free(b);
	}
	agg__free(per_thread);
	agg__free(per_process);
}

/*
 * The process walk's re-reading by change (docs/output.md): while a process's
 * live threads' faults are cached the total stands still, then the rescan
 * catches up: the faults arrive late, all of them, none twice.
 */
static void test_cached_faults_arrive_late_and_once(void **state)
{
	static const __u64 totals[] = { 100, 100, 100, 100, 180, 180, 230 };
	struct agg *agg = agg__new(4096);
	__u64 counted = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		struct memobs_task_rec r = leader(10, 200, 100, totals[i]);
		struct snapshot *snap;

		r.flags |= MEMOBS_TASK_PROCESS |
			   (totals[i] == 100 && i ? MEMOBS_TASK_FAULTS_CACHED : 0);
		r.nr_threads = 64;
		snap = pass(agg, 1 + i, &r, 1);
		assert_int_equal(snap->nr_procs, 1);
		assert_int_equal(snap->procs[0].nr_threads, 64);
		if (i)
			counted += snap->cgroups[0].mem.page_faults;
		assert_int_equal(snap->cgroups[0].page_faults_total, counted);
		snapshot__free(snap);
	}
	assert_int_equal(counted, 230 - 100);
	agg__free(agg);
}

/*
 * By change, checked against a from-scratch aggregation: a world of
 * processes that are born (pids reused), exit, grow, fault, move between
 * cgroups and change order, sampled as whole-process records or as
 * per-thread ones (threads interleaved by tid, as iter/task meets them);
 * every pass's snapshot must equal the one computed anew.
 */
struct world_proc {
	__u32 pid, nr_threads;
	__u64 cgroup, start, anon, file, shmem, swap, heap, data_vm, faults;
	char comm[16];
};

struct reference {
	struct world_proc prev[512];
	size_t nr_prev;
	__u64 cg_ids[64], cg_totals[64];
	size_t nr_cg;
	bool seen;
};

static unsigned rnd(unsigned *seed, unsigned n)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) % n;
}

static int cmp_world(const void *a, const void *b)
{
	const struct world_proc *x = a, *y = b;

	if (x->cgroup != y->cgroup)
		return x->cgroup < y->cgroup ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* A process's figures the plain way: pages to bytes, VmData less the heap. */
static struct mem_figures world_figures(const struct world_proc *w)
{
	struct mem_figures m = {
		.anon_rss_bytes = w->anon * 4096,
		.file_rss_bytes = w->file * 4096,
		.shmem_rss_bytes = w->shmem * 4096,
		.swap_bytes = w->swap * 4096,
		.heap_bytes = w->heap,
		.data_vm_bytes = w->data_vm * 4096,
	};

	m.mmap_bytes = m.data_vm_bytes > m.heap_bytes ? m.data_vm_bytes - m.heap_bytes : 0;
	return m;
}

/* The snapshot's figures the plain way: sort, faults against the last pass, sums, totals. */
static void check_against_reference(struct reference *ref, const struct world_proc *w, size_t n,
				    const struct snapshot *snap)
{
	struct world_proc sorted[512];
	__u64 ids[64], totals[64];
	size_t i, j, nr_cg = 0;

	memcpy(sorted, w, n * sizeof(*w));
	qsort(sorted, n, sizeof(*w), cmp_world);
	assert_int_equal(snap->nr_procs, n);
	for (i = 0; i < n; i++) {
		const struct proc_stat *p = &snap->procs[i];
		__u64 faults = ref->seen ? sorted[i].faults : 0;

		for (j = 0; j < ref->nr_prev; j++)
			if (ref->prev[j].pid == sorted[i].pid &&
			    ref->prev[j].start == sorted[i].start)
				faults = sorted[i].faults - ref->prev[j].faults;
		assert_int_equal(p->pid, sorted[i].pid);
		assert_int_equal(p->cgroup_id, sorted[i].cgroup);
		assert_int_equal(p->start_time_ns, sorted[i].start);
		assert_int_equal(p->nr_threads, sorted[i].nr_threads);
		assert_string_equal(p->comm, sorted[i].comm);
		struct mem_figures want = world_figures(&sorted[i]);

		want.page_faults = faults;
		assert_memory_equal(&p->mem, &want, sizeof(want));
		assert_int_equal(p->faults_total, sorted[i].faults);
		if (!nr_cg || ids[nr_cg - 1] != p->cgroup_id) {
			const struct cgroup_stat *cg = &snap->cgroups[nr_cg];
			struct mem_figures sum = { 0 };
			__u64 before = 0;
			size_t k, members = 0;

			assert_true(nr_cg < snap->nr_cgroups);
			for (k = i; k < n && sorted[k].cgroup == p->cgroup_id; k++, members++) {
				struct mem_figures m = world_figures(&sorted[k]);

				mem_figures__add(&sum, &m);
			}
			for (k = i; k < i + members; k++)
				sum.page_faults += snap->procs[k].mem.page_faults;
			for (k = 0; k < ref->nr_cg; k++)
				if (ref->cg_ids[k] == p->cgroup_id)
					before = ref->cg_totals[k];
			assert_int_equal(cg->id, p->cgroup_id);
			assert_int_equal(cg->first_proc, i);
			assert_int_equal(cg->nr_procs, members);
			assert_memory_equal(&cg->mem, &sum, sizeof(sum));
			assert_int_equal(cg->page_faults_total, before + sum.page_faults);
			ids[nr_cg] = cg->id;
			totals[nr_cg++] = cg->page_faults_total;
		}
	}
	assert_int_equal(snap->nr_cgroups, nr_cg);
	memcpy(ref->prev, w, n * sizeof(*w));
	ref->nr_prev = n;
	memcpy(ref->cg_ids, ids, nr_cg * sizeof(ids[0]));
	memcpy(ref->cg_totals, totals, nr_cg * sizeof(totals[0]));
	ref->nr_cg = nr_cg;
	ref->seen = true;
}

static bool pid_in_use(const struct world_proc *w, size_t n, __u32 pid)
{
	for (size_t i = 0; i < n; i++)
		if (w[i].pid == pid)
			return true;
	return false;
}

/* One pass of the world's life: what changes, changes at random. */
static void world_step(struct world_proc *w, size_t *n, unsigned *seed, __u64 *clock)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		struct world_proc *p = &w[i];
		unsigned r = rnd(seed, 100);

		if (r < 6)
			p->anon += rnd(seed, 50);
		else if (r < 7)
			p->anon -= p->anon ? rnd(seed, (unsigned)p->anon) : 0;
		else if (r < 8)
			p->file = rnd(seed, 300);
		else if (r < 9)
			p->shmem += rnd(seed, 20);
		else if (r < 10)
			p->swap = rnd(seed, 100);
		else if (r < 11)
			p->data_vm = rnd(seed, 40); /* at times under the heap: mmap_bytes 0 */
		else if (r < 20)
			p->faults += 1 + rnd(seed, 9);
		else if (r < 22)
			p->cgroup = 100 + rnd(seed, 12);
		else if (r < 23)
			p->heap += 4096;
		else if (r < 24)
			snprintf(p->comm, sizeof(p->comm), "renamed%u", rnd(seed, 9));
		else if (r < 25 && p->nr_threads < 6)
			p->nr_threads++;
		else if (r < 28) { /* exit */
			w[i--] = w[--*n];
			continue;
		}
	}
	while (*n < 200 && rnd(seed, 100) < 60) { /* births, pids reused, some mid-order */
		struct world_proc p = { .nr_threads = 1 + rnd(seed, 3),
					.cgroup = 100 + rnd(seed, 12) };
		size_t at = rnd(seed, 4) ? *n : rnd(seed, *n + 1);

		do
			p.pid = 2 + rnd(seed, 300);
		while (pid_in_use(w, *n, p.pid));
		p.start = ++*clock;
		p.anon = rnd(seed, 1000);
		p.file = rnd(seed, 200);
		p.data_vm = rnd(seed, 60);
		p.faults = rnd(seed, 500);
		strcpy(p.comm, "born");
		memmove(&w[at + 1], &w[at], (*n - at) * sizeof(*w));
		w[at] = p;
		++*n;
	}
	if (*n > 1 && rnd(seed, 10) == 0) { /* the walk met two in another order */
		struct world_proc t = w[0];

		w[0] = w[*n - 1];
		w[*n - 1] = t;
	}
}

/* The world as records: one per process, or a leader and its threads, threads interleaved. */
static size_t world_records(const struct world_proc *w, size_t n, bool per_thread,
			    struct memobs_task_rec *out)
{
	size_t i, nr = 0;
	__u32 t;

	for (i = 0; i < n; i++) {
		struct memobs_task_rec r = leader(w[i].pid, w[i].cgroup, w[i].anon, w[i].faults);

		r.start_time_ns = w[i].start;
		r.file_rss_pages = w[i].file;
		r.shmem_rss_pages = w[i].shmem;
		r.swap_pages = w[i].swap;
		r.heap_bytes = w[i].heap;
		r.data_vm_pages = w[i].data_vm;
		memcpy(r.comm, w[i].comm, sizeof(r.comm));
		if (!per_thread) {
			r.flags |= MEMOBS_TASK_PROCESS;
			r.nr_threads = w[i].nr_threads;
			out[nr++] = r;
			continue;
		}
		/* the leader takes all faults but one per other thread */
		r.min_flt = w[i].faults -
			    (w[i].faults >= w[i].nr_threads - 1 ? w[i].nr_threads - 1 : 0);
		out[nr++] = r;
	}
	for (t = 1; per_thread && t < 6; t++) /* other threads after all leaders, as by tid */
		for (i = 0; i < n; i++)
			if (t < w[i].nr_threads)
				out[nr++] = thread(w[i].pid, w[i].pid + 1000 * t,
						   w[i].faults >= w[i].nr_threads - 1 ? 1 : 0);
	return nr;
}

static void test_by_change_equals_from_scratch(void **state)
{
	static struct memobs_task_rec recs[512 * 6];
	static struct world_proc w[512];
	size_t k;

	(void)state;
	for (k = 0; k < 2; k++) { /* process walk, then iter/task */
		static struct reference ref;
		struct agg *agg = agg__new(4096);
		unsigned seed = 7 + (unsigned)k;
		__u64 clock = 0;
		size_t n = 0, nr, pass_no;

		memset(&ref, 0, sizeof(ref));
		assert_non_null(agg);
		for (pass_no = 0; pass_no < 400; pass_no++) {
			struct snapshot *snap;

			world_step(w, &n, &seed, &clock);
			nr = world_records(w, n, k == 1, recs);
			snap = pass(agg, 1 + pass_no, recs, nr);
			check_against_reference(&ref, w, n, snap);
			snapshot__free(snap);
		}
		agg__free(agg);
	}
}

/* What "by change" saves, counted: a quiet pass compares and copies, nothing more. */
static void test_unchanged_processes_cost_no_work(void **state)
{
	struct memobs_task_rec recs[300];
	struct agg *agg = agg__new(4096);
	struct agg_work work;
	struct snapshot *snap;

	(void)state;
	fill_whole(recs, 300, 7);
	snapshot__free(pass(agg, 1, recs, 300));
	agg__work(agg, &work);
	assert_int_equal(work.born, 300);
	assert_true(work.resorted);

	snapshot__free(pass(agg, 2, recs, 300));
	agg__work(agg, &work);
	assert_int_equal(work.unchanged, 300);
	assert_int_equal(work.updated + work.born + work.gone, 0);
	assert_false(work.resorted);

	recs[17].anon_rss_pages++;
	recs[18].min_flt += 5;
	snap = pass(agg, 3, recs, 300);
	agg__work(agg, &work);
	assert_int_equal(work.unchanged, 298);
	assert_int_equal(work.updated, 2);
	assert_false(work.resorted);
	assert_int_equal(snapshot__find_cgroup(snap, 100 + 18 % 7)->mem.page_faults, 5);
	snapshot__free(snap);

	/* the faults of the last pass are not this one's: the cgroup's figure drops back */
	snap = pass(agg, 4, recs, 300);
	agg__work(agg, &work);
	assert_int_equal(work.updated, 1);
	assert_int_equal(snapshot__find_cgroup(snap, 100 + 18 % 7)->mem.page_faults, 0);
	assert_int_equal(snapshot__find_cgroup(snap, 100 + 18 % 7)->page_faults_total, 5);
	snapshot__free(snap);

	/* an exit in the middle of the walk: the cursor steps over it, the rest stay quiet */
	memmove(&recs[100], &recs[101], 199 * sizeof(recs[0]));
	snap = pass(agg, 5, recs, 299);
	agg__work(agg, &work);
	assert_int_equal(work.unchanged, 299);
	assert_int_equal(work.gone, 1);
	assert_true(work.resorted);
	assert_int_equal(snap->nr_procs, 299);
	snapshot__free(snap);
	agg__free(agg);
}

/* More exits in a row than the cursor looks ahead: the index finds the rest, all quiet. */
static void test_long_run_of_exits(void **state)
{
	struct memobs_task_rec recs[100];
	struct agg *agg = agg__new(4096);
	struct agg_work work;
	struct snapshot *snap;
	size_t i;

	(void)state;
	fill_whole(recs, 100, 3);
	snapshot__free(pass(agg, 1, recs, 100));
	memmove(&recs[30], &recs[50], 50 * sizeof(recs[0]));
	snap = pass(agg, 2, recs, 80);
	agg__work(agg, &work);
	assert_int_equal(work.unchanged, 80);
	assert_int_equal(work.gone, 20);
	assert_int_equal(work.born, 0);
	assert_int_equal(snap->nr_procs, 80);
	for (i = 0; i < snap->nr_cgroups; i++)
		assert_int_equal(snap->cgroups[i].mem.anon_rss_bytes,
				 snap->cgroups[i].nr_procs * 50 * 4096);
	snapshot__free(snap);
	/* and the pass after walks the new order quietly */
	snapshot__free(pass(agg, 3, recs, 80));
	agg__work(agg, &work);
	assert_int_equal(work.unchanged, 80);
	assert_false(work.resorted);
	agg__free(agg);
}

/* A record met twice in one pass (a walk racing exec or a move) counts once: the first stands. */
static void test_duplicate_records_count_once(void **state)
{
	struct memobs_task_rec recs[8];
	struct agg *agg = agg__new(4096);
	struct snapshot *snap;

	(void)state;
	recs[0] = whole(10, 100, 50, 0, 1);
	recs[1] = whole(11, 100, 50, 0, 1);
	recs[2] = whole(12, 200, 50, 0, 1);
	snapshot__free(pass(agg, 1, recs, 3));

	recs[3] = recs[0];		   /* a kept process twice */
	recs[4] = whole(13, 200, 7, 0, 1); /* a new one twice */
	recs[5] = recs[4];
	recs[6] = whole(11, 200, 50, 0, 1); /* moved to 200, then met again in 100 */
	recs[7] = recs[1];
	recs[1] = recs[6];
	snap = pass(agg, 2, recs, 8);
	assert_int_equal(snap->nr_procs, 4);
	assert_int_equal(snapshot__find_cgroup(snap, 100)->nr_procs, 1);
	assert_int_equal(snapshot__find_cgroup(snap, 100)->mem.anon_rss_bytes, 50 * 4096);
	assert_int_equal(snapshot__find_cgroup(snap, 200)->nr_procs, 3);
	assert_int_equal(snapshot__find_cgroup(snap, 200)->mem.anon_rss_bytes, 107 * 4096);
	snapshot__free(snap);

	/* the pass after, each once: the kept state holds no trace of the duplicates */
	recs[3] = recs[4];
	snap = pass(agg, 3, recs, 4);
	assert_int_equal(snap->nr_procs, 4);
	assert_int_equal(snapshot__find_cgroup(snap, 200)->mem.anon_rss_bytes, 107 * 4096);
	assert_int_equal(snap->nr_cgroups, 2);
	snapshot__free(snap);
	agg__free(agg);
}

static void test_u64map_churn(void **state)
{
	struct u64map m;
	uint64_t v, k;
	size_t it = 0, n = 0;
	uint64_t i;

	(void)state;
	u64map_init(&m);
	assert_int_equal(u64map_put(&m, 0, 1), -EINVAL);
	for (i = 1; i <= 5000; i++)
		assert_int_equal(u64map_put(&m, i * 7, i), 0);
	for (i = 1; i <= 5000; i += 2)
		assert_true(u64map_del(&m, i * 7));
	assert_false(u64map_del(&m, 7));
	assert_int_equal(m.len, 2500);
	for (i = 1; i <= 5000; i++) {
		bool present = u64map_get(&m, i * 7, &v);

		assert_int_equal(present, i % 2 == 0);
		if (present)
			assert_int_equal(v, i);
	}
	while (u64map_next(&m, &it, &k, &v))
		n++;
	assert_int_equal(n, 2500);
	u64map_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_groups_by_cgroup_and_sums),
		cmocka_unit_test(test_faults_per_interval),
		cmocka_unit_test(test_orphan_threads_are_left_out),
		cmocka_unit_test(test_process_records_match_thread_records),
		cmocka_unit_test(test_cached_faults_arrive_late_and_once),
		cmocka_unit_test(test_by_change_equals_from_scratch),
		cmocka_unit_test(test_unchanged_processes_cost_no_work),
		cmocka_unit_test(test_long_run_of_exits),
		cmocka_unit_test(test_duplicate_records_count_once),
		cmocka_unit_test(test_u64map_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
