/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What `memobs top` shows, without the terminal: the rows of one snapshot,
 * sorted by a column, filtered by name, with expanded cgroups followed by
 * their processes, and the recent anon RSS of each cgroup for its sparkline.
 * Pure: no ncurses, no libbpf, so it is unit-tested on fixed snapshots.
 *
 * The model does not own the snapshot: the caller keeps the one last passed
 * to top_model__update() alive until the next update (or the model's end);
 * rows point into it.
 */
#ifndef MEMOBS_TOP_MODEL_H
#define MEMOBS_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "model/snapshot.h"

enum top_col {
	TOP_COL_NAME,
	TOP_COL_PROCS,
	TOP_COL_ANON,
	TOP_COL_GROWTH,
	TOP_COL_TREND, /* the sparkline; sorts as its latest value, anon RSS */
	TOP_COL_FAULTS,
	TOP_COL_HEAP_VM, /* virtual: brk - start_brk */
	TOP_COL_MMAP_VM, /* virtual: private writable mappings but the heap */
	TOP_COL_MALLOC,
	TOP_COL_LIMIT,
	TOP_COL_TTL,
	TOP_COL_STATE,
	TOP_COL_NR,
};

struct top_col_def {
	const char *key;   /* for -s KEY */
	const char *title; /* column header */
	int width;	   /* columns; 0: takes what the others leave (the name) */
	int priority;	   /* on a narrow screen, higher numbers are dropped first */
	int hotkey;	   /* sorts by this column */
	bool descending;   /* natural order: biggest first (reverse flips it) */
	const char *help;
	const char *old_key; /* what -s KEY named the column before; still accepted */
};

extern const struct top_col_def top_cols[TOP_COL_NR];

/* The column named key (e.g. "growth", or an old_key); -EINVAL when there is none. */
int top_col__parse(const char *key);

/* Samples kept per cgroup for the sparkline: wider than any trend column. */
#define TOP_HISTORY_LEN 32

struct top_row {
	const struct cgroup_stat *cg; /* the cgroup, or a process's cgroup */
	const struct proc_stat *proc; /* NULL: the row is the cgroup itself */
};

struct top_model;

struct top_model *top_model__new(void);
void top_model__free(struct top_model *m);

/*
 * Takes a new snapshot: appends each cgroup's anon RSS to its history (a
 * cgroup absent from the snapshot loses its history) and rebuilds the rows.
 * Returns 0 or -ENOMEM.
 */
int top_model__update(struct top_model *m, const struct snapshot *snap);
const struct snapshot *top_model__snapshot(const struct top_model *m);

int top_model__set_sort(struct top_model *m, enum top_col col, bool reverse);
enum top_col top_model__sort_col(const struct top_model *m);
bool top_model__sort_reverse(const struct top_model *m);

/* Shows only cgroups whose name or path holds substr (any case); NULL or "": all. */
int top_model__set_filter(struct top_model *m, const char *substr);
const char *top_model__filter(const struct top_model *m);

/* Shows or hides the processes of a cgroup under its row. */
int top_model__toggle_expand(struct top_model *m, __u64 cgroup_id);
bool top_model__is_expanded(const struct top_model *m, __u64 cgroup_id);

/* The visible rows, in order, valid until the next call that changes the model. */
size_t top_model__rows(const struct top_model *m, const struct top_row **rows);

/* Anon RSS of the cgroup over the last passes, oldest first; 0 values if unknown. */
size_t top_model__history(const struct top_model *m, __u64 cgroup_id, const double **values);

/*
 * The row's figure in a column, as it sorts: bytes, bytes/s, counts/s,
 * seconds; NAN where it is unknown or does not apply (a process has no
 * growth slope of its own).
 */
double top_model__value(const struct top_model *m, const struct top_row *row, enum top_col col);

/*
 * What names a cgroup's container for people ("pod/container", "name",
 * "runtime:id12"), or NULL when it is not a known container.
 */
const char *top_model__container_label(const struct cgroup_stat *cg, char *buf, size_t n);

#endif /* MEMOBS_TOP_MODEL_H */
