// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/array.h"
#include "identity/container.h"
#include "top/top_model.h"

const struct top_col_def top_cols[TOP_COL_NR] = {
	[TOP_COL_NAME] = { "name", "NAME", 0, 0, 'N', false, "container, pod or cgroup path" },
	[TOP_COL_PROCS] = { "procs", "PROCS", 5, 4, 'C', true,
			    "processes (threads for a process)" },
	[TOP_COL_ANON] = { "anon", "ANON", 5, 1, 'M', true, "anonymous resident memory" },
	[TOP_COL_GROWTH] = { "growth", "GROWTH", 8, 1, 'G', true,
			     "anon RSS trend (Theil-Sen slope)" },
	[TOP_COL_TREND] = { "trend", "TREND", 8, 3, 0, true, "anon RSS over the recent passes" },
	[TOP_COL_FAULTS] = { "faults", "FLT/s", 5, 4, 'F', true, "page faults per second" },
	/* virtual sizes say so: a reserved mapping can make them terabytes beside a small RSS */
	[TOP_COL_HEAP_VM] = { "heap_vm", "HEAP_VM", 7, 5, 'H', true,
			      "brk heap, virtual: brk - start_brk", "heap" },
	[TOP_COL_MMAP_VM] = { "mmap_vm", "MMAP_VM", 7, 7, 'V', true,
			      "private writable virtual memory less the heap", "mmap" },
	[TOP_COL_MALLOC] = { "malloc", "MALLOC", 6, 8, 'A', true, "malloc outstanding (tracing)" },
	[TOP_COL_LIMIT] = { "limit", "LIMIT", 5, 3, 'L', true, "smallest effective memory limit" },
	[TOP_COL_TTL] = { "ttl", "TTL", 5, 2, 'T', false, "time to the limit at this growth" },
	[TOP_COL_STATE] = { "state", "STATE", 5, 6, 'S', true, "LEAK: a suspected leak" },
};

int top_col__parse(const char *key)
{
	int c;

	for (c = 0; c < TOP_COL_NR; c++) {
		if (!strcasecmp(key, top_cols[c].key) ||
		    (top_cols[c].old_key && !strcasecmp(key, top_cols[c].old_key)))
			return c;
	}
	return -EINVAL;
}

struct top_history {
	__u64 cgroup_id;
	double values[TOP_HISTORY_LEN];
	size_t nr;
};

struct top_model {
	const struct snapshot *snap;
	struct top_history *hist; /* one per cgroup of snap, same (id) order */
	size_t nr_hist;
	struct top_row *rows;
	size_t nr_rows;
	enum top_col sort_col;
	bool reverse;
	char *filter;
	__u64 *expanded; /* cgroup ids */
	size_t nr_expanded, cap_expanded;
};

struct top_model *top_model__new(void)
{
	struct top_model *m = calloc(1, sizeof(*m));

	if (m)
		m->sort_col = TOP_COL_GROWTH;
	return m;
}

void top_model__free(struct top_model *m)
{
	if (!m)
		return;
	free(m->hist);
	free(m->rows);
	free(m->filter);
	free(m->expanded);
	free(m);
}

const struct snapshot *top_model__snapshot(const struct top_model *m)
{
	return m->snap;
}

const char *top_model__container_label(const struct cgroup_stat *cg, char *buf, size_t n)
{
	const struct container_id *c = cg->container;

	if (!c || !n)
		return NULL;
	if (c->pod && c->name)
		snprintf(buf, n, "%s/%s", c->pod, c->name);
	else if (c->name || c->pod)
		snprintf(buf, n, "%s", c->name ? c->name : c->pod);
	else if (c->id)
		snprintf(buf, n, "%s:%.12s", c->runtime ? c->runtime : "container", c->id);
	else
		return NULL;
	return buf;
}

double top_model__value(const struct top_model *m, const struct top_row *row, enum top_col col)
{
	const struct cgroup_stat *cg = row->cg;
	const struct proc_stat *p = row->proc;
	double interval_s = m->snap ? m->snap->interval_s : 0;

	switch (col) {
	case TOP_COL_NAME:
		return NAN; /* compared as strings */
	case TOP_COL_PROCS:
		return p ? p->nr_threads : cg->nr_procs;
	case TOP_COL_ANON:
	case TOP_COL_TREND:
		return p ? p->mem.anon_rss_bytes : cg->mem.anon_rss_bytes;
	case TOP_COL_GROWTH:
		return p ? NAN : cg->growth_bytes_per_s;
	case TOP_COL_FAULTS:
		if (interval_s <= 0)
			return NAN;
		return (p ? p->mem.page_faults : cg->mem.page_faults) / interval_s;
	case TOP_COL_HEAP_VM:
		return p ? p->mem.heap_bytes : cg->mem.heap_bytes;
	case TOP_COL_MMAP_VM:
		return p ? p->mem.mmap_bytes : cg->mem.mmap_bytes;
	case TOP_COL_MALLOC:
		return p || !cg->malloc_outstanding_bytes ? NAN : cg->malloc_outstanding_bytes;
	case TOP_COL_LIMIT:
		return p || !cg->limit_bytes ? NAN : cg->limit_bytes;
	case TOP_COL_TTL:
		return p || !(cg->time_to_limit_s >= 0) ? NAN : cg->time_to_limit_s;
	case TOP_COL_STATE:
		return p ? NAN : cg->leak_state;
	case TOP_COL_NR:
		break;
	}
	return NAN;
}

static const char *row_name(const struct top_row *row, char *buf, size_t n)
{
	const char *label;

	if (row->proc) {
		snprintf(buf, n, "%.*s", MEMOBS_COMM_LEN, row->proc->comm);
		return buf;
	}
	label = top_model__container_label(row->cg, buf, n);
	return label ? label : row->cg->path ? row->cg->path : "";
}

/* Unknown figures sort last whichever the direction; ties fall back to id then pid. */
static int compare_rows(const void *a, const void *b, void *ctx)
{
	const struct top_model *m = ctx;
	const struct top_row *ra = a, *rb = b;
	bool descending = top_cols[m->sort_col].descending != m->reverse;
	int order = 0;

	if (m->sort_col == TOP_COL_NAME) {
		char na[256], nb[256];

		order = strcmp(row_name(ra, na, sizeof(na)), row_name(rb, nb, sizeof(nb)));
		if (descending)
			order = -order;
	} else {
		double va = top_model__value(m, ra, m->sort_col);
		double vb = top_model__value(m, rb, m->sort_col);

		if (isnan(va) != isnan(vb))
			return isnan(va) ? 1 : -1;
		if (va != vb && !isnan(va))
			order = (va < vb) != descending ? -1 : 1;
	}
	if (order)
		return order;
	if (ra->cg->id != rb->cg->id)
		return ra->cg->id < rb->cg->id ? -1 : 1;
	if (ra->proc && rb->proc && ra->proc->pid != rb->proc->pid)
		return ra->proc->pid < rb->proc->pid ? -1 : 1;
	return 0;
}

static bool matches_filter(const struct top_model *m, const struct cgroup_stat *cg)
{
	char label[256];
	const char *name;

	if (!m->filter)
		return true;
	name = top_model__container_label(cg, label, sizeof(label));
	if (name && strcasestr(name, m->filter))
		return true;
	return cg->path && strcasestr(cg->path, m->filter);
}

bool top_model__is_expanded(const struct top_model *m, __u64 cgroup_id)
{
	size_t i;

	for (i = 0; i < m->nr_expanded; i++) {
		if (m->expanded[i] == cgroup_id)
			return true;
	}
	return false;
}

/* Cgroup rows sorted, then each expanded one followed by its sorted processes. */
static int rebuild_rows(struct top_model *m)
{
	const struct snapshot *s = m->snap;
	struct top_row *cg_rows, *rows;
	size_t i, nr_cg = 0, nr = 0;

	free(m->rows);
	m->rows = NULL;
	m->nr_rows = 0;
	if (!s)
		return 0;
	cg_rows = calloc(s->nr_cgroups + 1, sizeof(*cg_rows));
	rows = calloc(s->nr_cgroups + s->nr_procs + 1, sizeof(*rows));
	if (!cg_rows || !rows) {
		free(cg_rows);
		free(rows);
		return -ENOMEM;
	}
	for (i = 0; i < s->nr_cgroups; i++) {
		if (matches_filter(m, &s->cgroups[i]))
			cg_rows[nr_cg++].cg = &s->cgroups[i];
	}
	qsort_r(cg_rows, nr_cg, sizeof(*cg_rows), compare_rows, m);
	for (i = 0; i < nr_cg; i++) {
		const struct cgroup_stat *cg = cg_rows[i].cg;
		size_t first = nr + 1, p;

		rows[nr++] = cg_rows[i];
		if (!top_model__is_expanded(m, cg->id))
			continue;
		/* a snapshot from the wire was validated; this guards one built by hand */
		for (p = cg->first_proc;
		     p < (size_t)cg->first_proc + cg->nr_procs && p < s->nr_procs; p++) {
			rows[nr].cg = cg;
			rows[nr++].proc = &s->procs[p];
		}
		qsort_r(rows + first, nr - first, sizeof(*rows), compare_rows, m);
	}
	free(cg_rows);
	m->rows = rows;
	m->nr_rows = nr;
	return 0;
}

static const struct top_history *find_history(const struct top_model *m, __u64 cgroup_id)
{
	size_t lo = 0, hi = m->nr_hist;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->hist[mid].cgroup_id == cgroup_id)
			return &m->hist[mid];
		if (m->hist[mid].cgroup_id < cgroup_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void push_value(struct top_history *h, double v)
{
	if (h->nr == TOP_HISTORY_LEN) {
		memmove(h->values, h->values + 1, sizeof(h->values) - sizeof(h->values[0]));
		h->nr--;
	}
	h->values[h->nr++] = v;
}

/* Expanded ids of cgroups that are gone would otherwise accumulate forever. */
static void prune_expanded(struct top_model *m)
{
	size_t i, kept = 0;

	for (i = 0; i < m->nr_expanded; i++) {
		if (snapshot__find_cgroup(m->snap, m->expanded[i]))
			m->expanded[kept++] = m->expanded[i];
	}
	m->nr_expanded = kept;
}

int top_model__update(struct top_model *m, const struct snapshot *snap)
{
	struct top_history *hist;
	size_t i;

	hist = calloc(snap->nr_cgroups + 1, sizeof(*hist));
	if (!hist)
		return -ENOMEM;
	/* snapshot cgroups are sorted by id, and so is the history built from them */
	for (i = 0; i < snap->nr_cgroups; i++) {
		const struct cgroup_stat *cg = &snap->cgroups[i];
		const struct top_history *old = find_history(m, cg->id);

		if (old)
			hist[i] = *old;
		hist[i].cgroup_id = cg->id;
		push_value(&hist[i], (double)cg->mem.anon_rss_bytes);
	}
	free(m->hist);
	m->hist = hist;
	m->nr_hist = snap->nr_cgroups;
	m->snap = snap;
	prune_expanded(m);
	return rebuild_rows(m);
}

int top_model__set_sort(struct top_model *m, enum top_col col, bool reverse)
{
	if ((int)col < 0 || col >= TOP_COL_NR)
		return -EINVAL;
	m->sort_col = col;
	m->reverse = reverse;
	return rebuild_rows(m);
}

enum top_col top_model__sort_col(const struct top_model *m)
{
	return m->sort_col;
}

bool top_model__sort_reverse(const struct top_model *m)
{
	return m->reverse;
}

int top_model__set_filter(struct top_model *m, const char *substr)
{
	char *copy = NULL;

	if (substr && *substr && !(copy = strdup(substr)))
		return -ENOMEM;
	free(m->filter);
	m->filter = copy;
	return rebuild_rows(m);
}

const char *top_model__filter(const struct top_model *m)
{
	return m->filter ? m->filter : "";
}

int top_model__toggle_expand(struct top_model *m, __u64 cgroup_id)
{
	size_t i;

	for (i = 0; i < m->nr_expanded; i++) {
		if (m->expanded[i] == cgroup_id) {
			m->expanded[i] = m->expanded[--m->nr_expanded];
			return rebuild_rows(m);
		}
	}
	if (ARRAY_GROW(m->expanded, m->cap_expanded, m->nr_expanded + 1))
		return -ENOMEM;
	m->expanded[m->nr_expanded++] = cgroup_id;
	return rebuild_rows(m);
}

size_t top_model__rows(const struct top_model *m, const struct top_row **rows)
{
	*rows = m->rows;
	return m->nr_rows;
}

size_t top_model__history(const struct top_model *m, __u64 cgroup_id, const double **values)
{
	const struct top_history *h = find_history(m, cgroup_id);

	*values = h ? h->values : NULL;
	return h ? h->nr : 0;
}
