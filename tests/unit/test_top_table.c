// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The plain table of `memobs top --once`, rendered without a terminal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/snapshot.h"
#include "top/top_model.h"
#include "top/top_table.h"

#define MiB (1024ULL * 1024)
#define TiB (MiB * 1024 * 1024)

/*
 * cron: steady, with a huge reserved mapping (a sanitizer's shadow) that is
 * virtual only; leaker: grows toward its limit, suspected.
 */
static struct snapshot *make_snapshot(void)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	struct cgroup_stat *cron, *leaker;

	s->interval_s = 2;
	s->nr_cgroups = 2;
	s->cgroups = calloc(s->nr_cgroups, sizeof(*s->cgroups));
	s->nr_procs = 2;
	s->procs = calloc(s->nr_procs, sizeof(*s->procs));

	cron = &s->cgroups[0];
	cron->id = 10;
	cron->path = strdup("/system.slice/cron.service");
	cron->nr_procs = 1;
	cron->first_proc = 0;
	cron->mem.anon_rss_bytes = 10 * MiB;
	cron->mem.heap_bytes = 2 * MiB;
	cron->mem.mmap_bytes = 14 * TiB;
	cron->mem.page_faults = 20;
	cron->time_to_limit_s = -1;
	s->procs[0] = (struct proc_stat){ .pid = 1000,
					  .nr_threads = 1,
					  .cgroup_id = 10,
					  .comm = "cron",
					  .mem.anon_rss_bytes = 10 * MiB,
					  .mem.heap_bytes = 2 * MiB,
					  .mem.mmap_bytes = 14 * TiB };

	leaker = &s->cgroups[1];
	leaker->id = 20;
	leaker->path = strdup("/leaker");
	leaker->nr_procs = 1;
	leaker->first_proc = 1;
	leaker->mem.anon_rss_bytes = 50 * MiB;
	leaker->mem.heap_bytes = 4 * MiB;
	leaker->mem.mmap_bytes = 8 * MiB;
	leaker->mem.page_faults = 4000;
	leaker->limit_bytes = 100 * MiB;
	leaker->growth_bytes_per_s = MiB;
	leaker->time_to_limit_s = 50;
	leaker->leak_state = LEAK_SUSPECTED;
	s->procs[1] = (struct proc_stat){ .pid = 2000,
					  .nr_threads = 3,
					  .cgroup_id = 20,
					  .comm = "memhog",
					  .mem.anon_rss_bytes = 50 * MiB,
					  .mem.heap_bytes = 4 * MiB,
					  .mem.mmap_bytes = 8 * MiB };
	return s;
}

struct fixture {
	struct top_model *m;
	struct snapshot *snap;
	char *text; /* the last rendering */
	size_t len;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->m = top_model__new();
	f->snap = make_snapshot();
	assert_int_equal(top_model__update(f->m, f->snap), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	top_model__free(f->m);
	snapshot__free(f->snap);
	free(f->text);
	free(f);
	return 0;
}

/* Renders the table (ASCII sparklines) and returns its lines, NULL-terminated. */
static char **render(struct fixture *f, int max_rows, size_t *nr_lines)
{
	static char *lines[16];
	FILE *out;
	char *p;
	size_t nr = 0;

	free(f->text);
	f->text = NULL;
	out = open_memstream(&f->text, &f->len);
	assert_non_null(out);
	assert_int_equal(top_print_table(out, f->m, max_rows, false), 0);
	fclose(out);
	for (p = f->text; *p && nr < 15; nr++) {
		lines[nr] = p;
		p = strchr(p, '\n');
		assert_non_null(p); /* every line ends */
		*p++ = '\0';
	}
	lines[nr] = NULL;
	*nr_lines = nr;
	return lines;
}

/* The column in a line where the title (a whole word) ends; -1 if it is not there. */
static int title_end(const char *header, const char *title)
{
	size_t n = strlen(title);
	const char *p;

	for (p = strstr(header, title); p; p = strstr(p + 1, title)) {
		if ((p == header || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return (int)(p - header + n);
	}
	return -1;
}

/* The right-aligned figure of a row that ends where its column's title ends. */
static const char *figure_under(const char *header, const char *row, const char *title)
{
	static char figure[32];
	int end = title_end(header, title), start = end;

	assert_true(end > 0);
	assert_true((int)strlen(row) >= end);
	while (start > 0 && row[start - 1] != ' ')
		start--;
	assert_true(end - start < (int)sizeof(figure));
	memcpy(figure, row + start, end - start);
	figure[end - start] = '\0';
	return figure;
}

static void test_header(void **state)
{
	struct fixture *f = *state;
	size_t nr;
	char **lines = render(f, 0, &nr);

	assert_int_equal(nr, 3);
	/* the marker column, the name as wide as the widest, then the columns at their widths */
	assert_string_equal(lines[0],
			    "  NAME                       PROCS  ANON   GROWTH TREND    FLT/s "
			    "HEAP_VM MMAP_VM LIMIT   TTL STATE");
	/* virtual sizes are labelled as such; no MALLOC column without malloc figures */
	assert_int_equal(title_end(lines[0], "HEAP"), -1);
	assert_int_equal(title_end(lines[0], "MMAP"), -1);
	assert_int_equal(title_end(lines[0], "MALLOC"), -1);
}

static void test_rows(void **state)
{
	struct fixture *f = *state;
	size_t nr;
	char **lines = render(f, 0, &nr);
	const char *header = lines[0], *leaker = lines[1], *cron = lines[2];

	assert_int_equal(nr, 3);
	/* sorted by growth: the leaker first, marked */
	assert_true(!strncmp(leaker, "! /leaker ", 10));
	assert_string_equal(figure_under(header, leaker, "PROCS"), "1");
	assert_string_equal(figure_under(header, leaker, "ANON"), "50.0M");
	assert_string_equal(figure_under(header, leaker, "GROWTH"), "+1.00M/s");
	assert_string_equal(figure_under(header, leaker, "FLT/s"), "2.00k");
	assert_string_equal(figure_under(header, leaker, "HEAP_VM"), "4.00M");
	assert_string_equal(figure_under(header, leaker, "MMAP_VM"), "8.00M");
	assert_string_equal(figure_under(header, leaker, "LIMIT"), "100M");
	assert_string_equal(figure_under(header, leaker, "TTL"), "50s");
	assert_string_equal(figure_under(header, leaker, "STATE"), "LEAK");

	/* the name is not shortened; a reserved mapping shows as virtual, not as RSS */
	assert_true(!strncmp(cron, "  /system.slice/cron.service ", 29));
	assert_string_equal(figure_under(header, cron, "ANON"), "10.0M");
	assert_string_equal(figure_under(header, cron, "GROWTH"), "0/s");
	assert_string_equal(figure_under(header, cron, "FLT/s"), "10");
	assert_string_equal(figure_under(header, cron, "HEAP_VM"), "2.00M");
	assert_string_equal(figure_under(header, cron, "MMAP_VM"), "14.0T");
	assert_string_equal(figure_under(header, cron, "LIMIT"), "-");
	assert_string_equal(figure_under(header, cron, "TTL"), "-");
	/* no state: the row ends in blanks under STATE */
	assert_int_equal((int)strlen(cron), title_end(header, "STATE"));
	assert_int_equal(cron[strlen(cron) - 1], ' ');
}

static void test_max_rows_and_processes(void **state)
{
	struct fixture *f = *state;
	size_t nr;
	char **lines;

	lines = render(f, 1, &nr);
	assert_int_equal(nr, 2);
	assert_non_null(strstr(lines[1], "/leaker"));

	/* an expanded cgroup brings its processes along, under the same -r bound */
	assert_int_equal(top_model__toggle_expand(f->m, 20), 0);
	lines = render(f, 1, &nr);
	assert_int_equal(nr, 3);
	assert_true(!strncmp(lines[2], "    2000 memhog ", 16));
	assert_string_equal(figure_under(lines[0], lines[2], "PROCS"), "3");
	assert_string_equal(figure_under(lines[0], lines[2], "MMAP_VM"), "8.00M");
}

/*
 * Issue 14: a u64 near UINT64_MAX off the socket became a double of 2^64,
 * cast back to __u64 (undefined; x86 gave 0): the figure saturates instead.
 */
static void test_u64_max_figures(void **state)
{
	struct fixture *f = *state;
	struct cgroup_stat *cron = &f->snap->cgroups[0];
	size_t nr;
	char **lines;

	cron->mem.anon_rss_bytes = ~0ull;
	cron->mem.heap_bytes = ~0ull - 1;
	cron->limit_bytes = ~0ull;
	cron->malloc_outstanding_bytes = ~0ull;
	f->snap->procs[0].mem.anon_rss_bytes = ~0ull;
	assert_int_equal(top_model__update(f->m, f->snap), 0);
	assert_int_equal(top_model__toggle_expand(f->m, cron->id), 0);
	lines = render(f, 0, &nr);
	assert_int_equal(nr, 4);
	assert_true(!strncmp(lines[2], "  /system.slice/cron.service ", 29));
	assert_string_equal(figure_under(lines[0], lines[2], "ANON"), "16.0E");
	assert_string_equal(figure_under(lines[0], lines[2], "HEAP_VM"), "16.0E");
	assert_string_equal(figure_under(lines[0], lines[2], "LIMIT"), "16.0E");
	assert_string_equal(figure_under(lines[0], lines[2], "MALLOC"), "16.0E");
	assert_string_equal(figure_under(lines[0], lines[3], "ANON"), "16.0E");
}

static void test_malloc_column(void **state)
{
	struct fixture *f = *state;
	size_t nr;
	char **lines;

	f->snap->cgroups[1].malloc_outstanding_bytes = 30 * MiB;
	lines = render(f, 0, &nr);
	assert_int_equal(nr, 3);
	assert_true(title_end(lines[0], "MALLOC") > title_end(lines[0], "MMAP_VM"));
	assert_string_equal(figure_under(lines[0], lines[1], "MALLOC"), "30.0M");
	assert_string_equal(figure_under(lines[0], lines[2], "MALLOC"), "-");
}

/* The live screen's titles: the sort column carries its direction, scripts get none. */
static void test_titles_arrows(void **state)
{
	struct fixture *f = *state;
	bool visible[TOP_COL_NR] = {
		[TOP_COL_NAME] = true, [TOP_COL_ANON] = true, [TOP_COL_MMAP_VM] = true
	};
	char line[256];

	top_format_titles(f->m, visible, 8, false, false, line, sizeof(line));
	assert_string_equal(line, "  NAME      ANON MMAP_VM");
	assert_int_equal(top_model__set_sort(f->m, TOP_COL_MMAP_VM, false), 0);
	top_format_titles(f->m, visible, 8, true, false, line, sizeof(line));
	assert_string_equal(line, "  NAME      ANONvMMAP_VM");
	top_format_titles(f->m, visible, 8, true, true, line, sizeof(line));
	assert_string_equal(line, "  NAME      ANON▼MMAP_VM");
	/* a row under those titles: on a narrow screen the name is shortened in the middle */
	top_format_row(f->m, &(const struct top_row){ .cg = &f->snap->cgroups[0] }, visible, 8,
		       false, line, sizeof(line));
	assert_string_equal(line, "  /sy~vice 10.0M   14.0T");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_rows_and_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malloc_column, setup, teardown),
		cmocka_unit_test_setup_teardown(test_u64_max_figures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_titles_arrows, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
