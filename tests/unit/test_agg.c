// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The aggregation model and its hash map. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
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
	assert_null(snapshot__find_cgroup(snap, 300));
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
		cmocka_unit_test(test_u64map_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
