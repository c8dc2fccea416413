/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live screen of `memobs top` over the model (top_model.h): full-screen
 * ncurses, its keys, the rows as top_table.h lays them out in the columns that
 * fit. The screen never owns data: the caller feeds it a model and the header
 * figures on each frame.
 *
 * The terminal is restored on every way out: top_screen__close() on a normal
 * exit, an atexit() handler on exit() paths, and a handler for fatal signals
 * (SIGSEGV, SIGABRT...) that resets the terminal with async-signal-safe calls
 * only, then lets the signal take its course. SIGINT/SIGTERM are the caller's:
 * set a flag, leave the loop, close the view.
 */
#ifndef MEMOBS_TOP_SCREEN_H
#define MEMOBS_TOP_SCREEN_H

#include <stdbool.h>
#include <linux/types.h>
#include "top/top_model.h"

struct top_screen_opts {
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

struct top_screen;

/* Takes over the terminal. Returns 0 or -errno (reported). */
int top_screen__open(struct top_screen **out, const struct top_screen_opts *opts);
/* Gives the terminal back as it was; NULL-safe. */
void top_screen__close(struct top_screen *v);

void top_screen__draw(struct top_screen *v, struct top_model *m, const struct top_header *h);
/* The next pending key, or -1 when there is none (never waits). */
int top_screen__read_key(struct top_screen *v);
/* Applies one key to the view and the model (sort, filter, expand, pause...). */
enum top_action top_screen__handle_key(struct top_screen *v, struct top_model *m, int key);
/* Paused: the caller keeps the model as it is, new snapshots are not shown. */
bool top_screen__paused(const struct top_screen *v);

#endif /* MEMOBS_TOP_SCREEN_H */
