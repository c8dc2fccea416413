/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The text of `memobs top`, without a terminal: each cell as both renderers
 * show it, the column titles and the rows laid out in lines, and the
 * plain-text table of `--once` (and of a stdout that is not a terminal).
 * No ncurses here, so the table is unit-tested on fixed models; the live
 * screen (top_screen.h) puts these same lines on the terminal.
 *
 * Resident figures (ANON) sit beside virtual ones (HEAP_VM, MMAP_VM): the
 * titles of virtual sizes say so, as one reserved mapping can make them
 * terabytes while nothing of it is resident.
 */
#ifndef MEMOBS_TOP_TABLE_H
#define MEMOBS_TOP_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "top/top_model.h"

/* Whether the terminal's locale is UTF-8 (block-element sparklines) or not (ASCII). */
bool top_locale_is_utf8(void);

/*
 * The plain-text table: one header line, then a row per cgroup (and expanded
 * process), names not shortened; at most max_rows cgroups when > 0.
 * A suspected leak is marked "!" in the first column and "LEAK" in STATE.
 * Returns 0 or -EIO.
 */
int top_print_table(FILE *out, const struct top_model *m, int max_rows, bool utf8);

/* One cell, as both renderers show it; width is for the name and the sparkline. */
void top_format_cell(const struct top_model *m, const struct top_row *row, enum top_col col,
		     size_t width, bool utf8, char *buf, size_t n);

/*
 * The line of column titles: a marker column, then the visible columns, the
 * name in name_width columns. With arrows, the sort column's title carries
 * the sort direction (not for scripts, which read the titles).
 */
void top_format_titles(const struct top_model *m, const bool visible[TOP_COL_NR], size_t name_width,
		       bool arrows, bool utf8, char *line, size_t n);

/* The line of one row, under the titles of top_format_titles(); "!" marks a leak. */
void top_format_row(const struct top_model *m, const struct top_row *row,
		    const bool visible[TOP_COL_NR], size_t name_width, bool utf8, char *line,
		    size_t n);

/* A cgroup row whose cgroup is suspected of a leak (marked "!", LEAK in STATE). */
bool top_row_is_leak(const struct top_row *row);

/* Whether any cgroup has malloc figures (tracing on): MALLOC is shown only then. */
bool top_has_malloc(const struct top_model *m);

#endif /* MEMOBS_TOP_TABLE_H */
