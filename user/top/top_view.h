/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The renderers of `memobs top` over the model (top_model.h): the full-screen
 * ncurses view with its keys, and the plain-text table of `--once` and of a
 * stdout that is not a terminal. The view never owns data: the caller feeds
 * it a model and the header figures on each frame.
 *
 * The terminal is restored on every way out: top_view__close() on a normal
 * exit, an atexit() handler on exit() paths, and a handler for fatal signals
 * (SIGSEGV, SIGABRT...) that resets the terminal with async-signal-safe calls
 * only, then lets the signal take its course. SIGINT/SIGTERM are the caller's:
 * set a flag, leave the loop, close the view.
 */
#ifndef MEMOBS_TOP_VIEW_H
#define MEMOBS_TOP_VIEW_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "top/top_model.h"

struct top_view_opts {
	bool no_color;
	int max_rows; /* -r: at most this many cgroup rows; 0: as many as fit */
};

/* The figures of the header that do not come from the snapshot. */
struct top_header {
	const char *source;  /* "daemon /run/memobs/memobs.sock" or "in-process" */
	double events_per_s; /* memobs's own BPF events; < 0: unknown yet */
	__u64 drops;	     /* ring-buffer drops + map-full, since the collector started */
};

enum top_action {
	TOP_ACT_NONE,	/* nothing visible changed */
	TOP_ACT_REDRAW, /* the screen must be drawn again */
	TOP_ACT_QUIT,
};

struct top_view;

/* Takes over the terminal. Returns 0 or -errno (reported). */
int top_view__open(struct top_view **out, const struct top_view_opts *opts);
/* Gives the terminal back as it was; NULL-safe. */
void top_view__close(struct top_view *v);

void top_view__draw(struct top_view *v, struct top_model *m, const struct top_header *h);
/* The next pending key, or -1 when there is none (never waits). */
int top_view__read_key(struct top_view *v);
/* Applies one key to the view and the model (sort, filter, expand, pause...). */
enum top_action top_view__handle_key(struct top_view *v, struct top_model *m, int key);
/* Paused: the caller keeps the model as it is, new snapshots are not shown. */
bool top_view__paused(const struct top_view *v);

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

#endif /* MEMOBS_TOP_VIEW_H */
