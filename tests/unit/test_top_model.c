// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "identity/container.h"
#include "model/snapshot.h"
#include "top/top_model.h"

#define MiB (1024.0 * 1024)

static struct container_id nginx = { .pod = "web", .name = "nginx", .runtime = "containerd" };

struct cg_spec {
	__u64 id;
	const char *path;
	double anon_mib;
	double growth;
	int nr_procs;
	bool leak;
	double ttl;
	const struct container_id *container;
};

/* cron: steady; leaker: grows toward its limit; nginx: a container, shrinking */
static const struct cg_spec fixed[] = {
	{ 10, "/system.slice/cron.service", 10, 0, 2, false, -1, NULL },
	{ 20, "/leaker", 50, MiB, 1, true, 50, NULL },
	{ 30, "/kubepods/podabc/cri-containerd-1234.scope", 30, -100, 3, false, -1, &nginx },
};

static struct snapshot *make_snapshot(const struct cg_spec *specs, size_t nr, double scale)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	size_t i, p = 0;
	int k;

	s->interval_s = 2;
	s->cgroups = calloc(nr, sizeof(*s->cgroups));
	s->procs = calloc(16, sizeof(*s->procs));
	s->nr_cgroups = nr;
	for (i = 0; i < nr; i++) {
		struct cgroup_stat *cg = &s->cgroups[i];

		cg->id = specs[i].id;
		cg->path = strdup(specs[i].path);
		cg->mem.anon_rss_bytes = (__u64)(specs[i].anon_mib * MiB * scale);
		cg->growth_bytes_per_s = specs[i].growth;
		cg->leak_state = specs[i].leak ? LEAK_SUSPECTED : LEAK_NONE;
		cg->time_to_limit_s = specs[i].ttl;
		cg->limit_bytes = specs[i].ttl >= 0 ? 100 * MiB : 0;
		cg->container = specs[i].container;
		cg->mem.page_faults = 100 * (i + 1);
		cg->first_proc = p;
		cg->nr_procs = specs[i].nr_procs;
		for (k = 0; k < specs[i].nr_procs; k++, p++) {
			s->procs[p].pid = 1000 * (i + 1) + k;
			s->procs[p].cgroup_id = cg->id;
			/* the second process of each cgroup is the biggest */
			s->procs[p].mem.anon_rss_bytes = (k == 1 ? 100 : 10) * (k + 1);
			snprintf(s->procs[p].comm, sizeof(s->procs[p].comm), "proc%d_%d",
				 (int)i % 10, k % 10);
		}
	}
	s->nr_procs = p;
	return s;
}

struct fixture {
	struct top_model *m;
	struct snapshot *snap;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->m = top_model__new();
	f->snap = make_snapshot(fixed, 3, 1);
	assert_int_equal(top_model__update(f->m, f->snap), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	top_model__free(f->m);
	snapshot__free(f->snap);
	free(f);
	return 0;
}

/* The cgroup ids (0 for a process row) of the visible rows, as a string: "20 10 30". */
static const char *order(const struct top_model *m)
{
	static char buf[256];
	const struct top_row *rows;
	size_t nr = top_model__rows(m, &rows), i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < nr; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%llu", i ? " " : "",
				rows[i].proc ? (unsigned long long)rows[i].proc->pid
					     : (unsigned long long)rows[i].cg->id);
	return buf;
}

static void test_default_sort_is_growth(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(top_model__sort_col(f->m), TOP_COL_GROWTH);
	assert_string_equal(order(f->m), "20 10 30");
}

static void test_sort_each_way(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(top_model__set_sort(f->m, TOP_COL_ANON, false), 0);
	assert_string_equal(order(f->m), "20 30 10");
	assert_int_equal(top_model__set_sort(f->m, TOP_COL_ANON, true), 0);
	assert_string_equal(order(f->m), "10 30 20");
	/* by name: the container's label, not its path, is its name */
	assert_int_equal(top_model__set_sort(f->m, TOP_COL_NAME, false), 0);
	assert_string_equal(order(f->m), "20 10 30");
	assert_int_equal(top_model__set_sort(f->m, TOP_COL_NAME, true), 0);
	assert_string_equal(order(f->m), "30 10 20");
	assert_int_equal(top_model__set_sort(f->m, TOP_COL_PROCS, false), 0);
	assert_string_equal(order(f->m), "30 10 20");
	assert_int_equal(top_model__set_sort(f->m, TOP_COL_FAULTS, false), 0);
	assert_string_equal(order(f->m), "30 20 10");
	assert_int_equal(top_model__set_sort(f->m, TOP_COL_STATE, false), 0);
	assert_string_equal(order(f->m), "20 10 30");
	assert_int_equal(top_model__set_sort(f->m, TOP_COL_NR, false), -EINVAL);
}

/* Unknown figures (no limit, no time to limit) sort last in both directions. */
static void test_unknown_sorts_last(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(top_model__set_sort(f->m, TOP_COL_TTL, false), 0);
	assert_string_equal(order(f->m), "20 10 30");
	assert_int_equal(top_model__set_sort(f->m, TOP_COL_TTL, true), 0);
	assert_string_equal(order(f->m), "20 10 30");
	assert_int_equal(top_model__set_sort(f->m, TOP_COL_LIMIT, true), 0);
	assert_string_equal(order(f->m), "20 10 30");
}

static void test_filter(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(top_model__set_filter(f->m, "NGINX"), 0);
	assert_string_equal(order(f->m), "30");
	assert_int_equal(top_model__set_filter(f->m, "slice"), 0);
	assert_string_equal(order(f->m), "10");
	/* the path matches too, not only the label */
	assert_int_equal(top_model__set_filter(f->m, "containerd-1234"), 0);
	assert_string_equal(order(f->m), "30");
	assert_int_equal(top_model__set_filter(f->m, "nothing-has-this"), 0);
	assert_string_equal(order(f->m), "");
	assert_int_equal(top_model__set_filter(f->m, ""), 0);
	assert_string_equal(top_model__filter(f->m), "");
	assert_string_equal(order(f->m), "20 10 30");
}

static void test_expand(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(top_model__set_sort(f->m, TOP_COL_ANON, false), 0);
	assert_int_equal(top_model__toggle_expand(f->m, 30), 0);
	assert_true(top_model__is_expanded(f->m, 30));
	/* its processes follow it, sorted by the same column */
	assert_string_equal(order(f->m), "20 30 3001 3002 3000 10");
	assert_int_equal(top_model__set_sort(f->m, TOP_COL_ANON, true), 0);
	assert_string_equal(order(f->m), "10 30 3000 3002 3001 20");
	/* a filter that hides the cgroup hides its processes */
	assert_int_equal(top_model__set_filter(f->m, "leaker"), 0);
	assert_string_equal(order(f->m), "20");
	assert_int_equal(top_model__set_filter(f->m, NULL), 0);
	assert_int_equal(top_model__toggle_expand(f->m, 30), 0);
	assert_false(top_model__is_expanded(f->m, 30));
	assert_string_equal(order(f->m), "10 30 20");
}

static void test_values(void **state)
{
	struct fixture *f = *state;
	const struct top_row *rows;
	char label[64];

	top_model__rows(f->m, &rows);
	assert_int_equal(rows[0].cg->id, 20);
	/* 200 faults over a 2 s interval */
	assert_true(top_model__value(f->m, &rows[0], TOP_COL_FAULTS) == 100);
	assert_true(top_model__value(f->m, &rows[0], TOP_COL_LIMIT) == 100 * MiB);
	assert_true(isnan(top_model__value(f->m, &rows[1], TOP_COL_LIMIT)));
	assert_string_equal(top_model__container_label(rows[2].cg, label, sizeof(label)),
			    "web/nginx");
	assert_null(top_model__container_label(rows[0].cg, label, sizeof(label)));
	assert_int_equal(top_col__parse("growth"), TOP_COL_GROWTH);
	assert_int_equal(top_col__parse("TTL"), TOP_COL_TTL);
	assert_int_equal(top_col__parse("speed"), -EINVAL);
}

/* -s takes the names of the virtual columns, and still their names of before. */
static void test_virtual_sort_keys(void **state)
{
	(void)state;
	assert_int_equal(top_col__parse("heap_vm"), TOP_COL_HEAP_VM);
	assert_int_equal(top_col__parse("mmap_vm"), TOP_COL_MMAP_VM);
	assert_int_equal(top_col__parse("heap"), TOP_COL_HEAP_VM);
	assert_int_equal(top_col__parse("MMAP"), TOP_COL_MMAP_VM);
	assert_string_equal(top_cols[TOP_COL_HEAP_VM].title, "HEAP_VM");
	assert_string_equal(top_cols[TOP_COL_MMAP_VM].title, "MMAP_VM");
}

static void test_history(void **state)
{
	struct fixture *f = *state;
	struct snapshot *prev = f->snap, *next;
	const double *values;
	size_t nr, i;

	nr = top_model__history(f->m, 20, &values);
	assert_int_equal(nr, 1);
	assert_true(values[0] == 50 * MiB);
	for (i = 2; i <= 40; i++) {
		next = make_snapshot(fixed, 3, (double)i);
		assert_int_equal(top_model__update(f->m, next), 0);
		snapshot__free(prev);
		prev = next;
		f->snap = prev;
	}
	/* bounded, oldest first, the newest last */
	nr = top_model__history(f->m, 20, &values);
	assert_int_equal(nr, TOP_HISTORY_LEN);
	assert_true(values[TOP_HISTORY_LEN - 1] == 40 * 50 * MiB);
	assert_true(values[0] == (40 - TOP_HISTORY_LEN + 1) * 50 * MiB);

	/* cron vanishes: its history goes; when it comes back it starts over */
	next = make_snapshot(&fixed[1], 2, 1);
	assert_int_equal(top_model__update(f->m, next), 0);
	snapshot__free(prev);
	prev = next;
	f->snap = prev;
	assert_int_equal(top_model__history(f->m, 10, &values), 0);
	assert_int_equal(top_model__history(f->m, 20, &values), TOP_HISTORY_LEN);
	next = make_snapshot(fixed, 3, 1);
	assert_int_equal(top_model__update(f->m, next), 0);
	snapshot__free(prev);
	assert_int_equal(top_model__history(f->m, 10, &values), 1);
	f->snap = next;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_sort_is_growth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sort_each_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_sorts_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_values, setup, teardown),
		cmocka_unit_test(test_virtual_sort_keys),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
