// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `memobs top`: the live view of every cgroup's memory. Snapshots come from
 * the daemon's socket when `memobs run` is there (one set of probes per
 * node), else from a collector run in-process on a thread that feeds the very
 * same frames through a socket pair: one code path for both sources.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "cli/cmd.h"
#include "output/render.h"
#include "util/json.h"
#include "util/log.h"
#include "cli/top_opts.h"
#include "pipeline/pipeline.h"
#include "output/snapsock_client.h"
#include "output/snapsock_server.h"
#include "output/snapsock_wire.h"
#include "util/array.h"
#include "util/clock.h"
#include "util/stop_signal.h"
#include "top/top_model.h"
#include "top/top_screen.h"
#include "top/top_table.h"

#define CONNECT_TIMEOUT_MS 1000
/* A frame whose first byte arrived must be whole within this. */
#define FRAME_TIMEOUT_MS 5000
/* No frame for this long (or 3 intervals, whichever is longer): the source is stuck. */
#define MIN_STALL_MS 10000
/* The in-process detector: as `memobs run` by default. */
#define INPROC_WINDOW_S 300.0
#define INPROC_MIN_GROWTH (32.0 * 1024)

/* ---- signals: a flag, and the loop leaves ---- */

static void install_signal_handlers(void)
{
	static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };

	stop_signal__install(stop_signals, ARRAY_SIZE(stop_signals));
	signal(SIGPIPE, SIG_IGN);
}

/* ---- the source of snapshots ---- */

struct source {
	struct snapsock_client *client;
	char desc[160];
	/* in-process only */
	struct pipeline *pipeline;
	pthread_t thread;
	bool thread_running;
	int writer_fd;
	volatile int stop;
};

/* The collector thread: each pass becomes a frame on the socket pair. */
static void *collector_thread(void *arg)
{
	struct source *src = arg;
	struct pipeline_pass pass;
	struct pipeline_stats st;
	size_t len;
	void *frame;
	int err;

	for (;;) {
		err = pipeline__next(src->pipeline, &pass);
		if (err == -EINTR && !src->stop)
			continue;
		if (err)
			break;
		if (!pass.snap)
			continue; /* events only: the view shows passes */
		pipeline__stats(src->pipeline, &st);
		err = snapsock__encode(pass.snap, &st, &frame, &len);
		if (err)
			break;
		err = snapsock__write_all(src->writer_fd, frame, len);
		free(frame);
		if (err)
			break;
	}
	/* the reader sees the end of the stream */
	shutdown(src->writer_fd, SHUT_WR);
	return NULL;
}

static int start_in_process(struct source *src, const struct top_opts *o)
{
	struct pipeline_opts popts = {};
	sigset_t all, old;
	int sv[2], err;

	err = cmd_check_privileges();
	if (err)
		return err;
	popts.interval_s = o->delay_s;
	popts.window_s = INPROC_WINDOW_S < 3 * o->delay_s ? 3 * o->delay_s : INPROC_WINDOW_S;
	popts.min_growth_bytes_per_s = INPROC_MIN_GROWTH;
	popts.detect = true;
	popts.stop = &src->stop;
	err = pipeline__open(&src->pipeline, &popts);
	if (err)
		return err;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		err = -errno;
		p_err("failed to create a socket pair: %s", strerror(errno));
		return err;
	}
	src->writer_fd = sv[1];
	err = snapsock_client__from_fd(&src->client, sv[0]);
	if (err) {
		close(sv[0]);
		return err;
	}
	/* signals are the main thread's: it owns the terminal */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = -pthread_create(&src->thread, NULL, collector_thread, src);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		p_err("failed to start the collector thread: %s", strerror(-err));
		return err;
	}
	src->thread_running = true;
	snprintf(src->desc, sizeof(src->desc), "in-process");
	return 0;
}

static void source_close(struct source *src)
{
	src->stop = 1;
	/* closing the reader's end fails the collector's write: it leaves */
	snapsock_client__close(src->client);
	src->client = NULL;
	if (src->thread_running)
		pthread_join(src->thread, NULL);
	if (src->writer_fd >= 0)
		close(src->writer_fd);
	pipeline__close(src->pipeline);
}

static int source_open(struct source *src, const struct top_opts *o)
{
	int err;

	memset(src, 0, sizeof(*src));
	src->writer_fd = -1;
	err = snapsock_client__connect(&src->client, o->socket_path, CONNECT_TIMEOUT_MS);
	if (!err) {
		snprintf(src->desc, sizeof(src->desc), "daemon %s", o->socket_path);
		return 0;
	}
	if (err == -EACCES || err == -EPERM) {
		p_err("failed to connect to '%s': %s (the socket is its owner's only: run as the daemon's user)",
		      o->socket_path, strerror(-err));
		return err;
	}
	if (err != -ENOENT && err != -ECONNREFUSED) {
		p_err("failed to connect to '%s': %s", o->socket_path, strerror(-err));
		return err;
	}
	p_info("no memobs daemon at '%s': collecting in-process", o->socket_path);
	err = start_in_process(src, o);
	if (err)
		source_close(src);
	return err;
}

/* ---- frames ---- */

struct frame {
	struct snapshot *snap;
	void *labels;
	struct pipeline_stats stats;
};

static void frame_release(struct frame *f)
{
	snapshot__free(f->snap);
	free(f->labels);
	memset(f, 0, sizeof(*f));
}

static int stall_ms(const struct frame *last, const struct top_opts *o)
{
	double interval_s = last->snap ? last->snap->interval_s : o->delay_s;
	double ms = 3 * 1000 * (interval_s > o->delay_s ? interval_s : o->delay_s);

	return ms > MIN_STALL_MS ? (int)fmin(ms, 1e9) : MIN_STALL_MS;
}

/* Receives a frame; a signal returns -EINTR with the partial frame kept. */
static int receive(struct source *src, struct frame *f, int timeout_ms)
{
	int err = snapsock_client__recv(src->client, &f->snap, &f->stats, timeout_ms);

	if (!err)
		f->labels = snapsock_client__take_labels(src->client);
	return err;
}

static void report_source_error(const struct source *src, int err)
{
	const char *why = src->client ? snapsock_client__error(src->client) : strerror(-err);

	if (src->pipeline)
		p_err("the in-process collector stopped: %s", why);
	else if (err == -EPROTO)
		p_err("'%s' answered garbage: %s", src->desc + strlen("daemon "), why);
	else if (err == -ETIMEDOUT)
		p_err("'%s' sent no snapshot in time: %s (is the daemon stuck?)",
		      src->desc + strlen("daemon "), why);
	else
		p_err("failed to read a snapshot from %s: %s", src->desc, why);
}

/* ---- plain output: --once, --json, or a stdout that is no terminal ---- */

/* One sample line per cgroup, as `memobs run --snapshots` writes them. */
static int print_json(const struct top_model *m, struct json *j, int max_rows)
{
	const struct snapshot *s = top_model__snapshot(m);
	const struct top_row *rows;
	size_t nr = top_model__rows(m, &rows), i;
	struct record r;
	int shown = 0, err;

	for (i = 0; i < nr; i++) {
		const struct cgroup_stat *cg = rows[i].cg;

		if (rows[i].proc)
			continue;
		if (max_rows > 0 && shown++ >= max_rows)
			break;
		record__init(&r, RECORD_SAMPLE, s->ts_ms, cg);
		r.sample.cg = cg;
		r.sample.interval_s = s->interval_s;
		/* the daemon traces allocations for some cgroups only: 0 means none seen */
		r.sample.malloc_traced = cg->malloc_outstanding_bytes != 0;
		err = render__line(stdout, j, &r);
		if (err)
			return err;
	}
	return 0;
}

static int run_plain(struct source *src, struct top_model *m, const struct top_opts *o)
{
	struct frame cur = {}, next = {};
	struct json j;
	__u64 frames = 0;
	int err = 0, timeout_ms;
	bool utf8 = top_locale_is_utf8();

	json_init(&j);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!*stop_signal__flag() && (!o->iterations || frames < o->iterations)) {
		timeout_ms = stall_ms(&cur, o);
		err = receive(src, &next, timeout_ms);
		if (err == -EINTR)
			continue;
		if (err) {
			report_source_error(src, err);
			break;
		}
		err = top_model__update(m, next.snap);
		frame_release(&cur);
		cur = next;
		memset(&next, 0, sizeof(next));
		if (err)
			break;
		frames++;
		err = o->json ? print_json(m, &j, o->max_rows)
			      : top_print_table(stdout, m, o->max_rows, utf8);
		if (!o->json && !err && (!o->iterations || frames < o->iterations))
			err = fputc('\n', stdout) == EOF ? -EIO : 0;
		if (err) {
			p_err("failed to write to stdout: %s", strerror(-err));
			break;
		}
	}
	frame_release(&cur);
	json_free(&j);
	return err;
}

/* ---- the live view ---- */

struct live {
	struct top_screen *view;
	struct top_model *model;
	struct frame shown;
	struct pipeline_stats prev_stats;
	bool have_prev_stats;
	struct top_header header;
};

/* A new frame: memobs's own rate from the counters, the model unless paused. */
static int take_frame(struct live *l, struct frame *f)
{
	double interval_s = f->snap->interval_s;
	int err;

	if (l->have_prev_stats && interval_s > 0 && f->stats.events >= l->prev_stats.events)
		l->header.events_per_s = (f->stats.events - l->prev_stats.events) / interval_s;
	l->header.drops = f->stats.ringbuf_drops + f->stats.map_full;
	l->prev_stats = f->stats;
	l->have_prev_stats = true;
	if (top_screen__paused(l->view)) {
		frame_release(f);
		return 0;
	}
	err = top_model__update(l->model, f->snap);
	if (err) {
		frame_release(f);
		return err;
	}
	/* the model now points into the new frame: the old one can go */
	frame_release(&l->shown);
	l->shown = *f;
	memset(f, 0, sizeof(*f));
	return 0;
}

static int live_keys(struct live *l, bool *dirty)
{
	int key;

	while ((key = top_screen__read_key(l->view)) >= 0) {
		switch (top_screen__handle_key(l->view, l->model, key)) {
		case TOP_ACT_QUIT:
			return 1;
		case TOP_ACT_REDRAW:
			*dirty = true;
			break;
		case TOP_ACT_NONE:
			break;
		}
	}
	return 0;
}

static int run_live(struct source *src, struct top_model *m, const struct top_opts *o)
{
	struct top_screen_opts vopts = { .no_color = o->no_color, .max_rows = o->max_rows };
	struct live l = { .model = m };
	__u64 frames = 0, last_frame_ms = clock_mono_ms(), last_draw_ms = 0;
	struct frame f = {};
	bool stalled = false, poll_failed = false;
	int err;

	enum log_level saved_level = log_level;

	err = top_screen__open(&l.view, &vopts);
	if (err)
		return err;
	/* chatter on stderr would scribble over the screen; errors still show */
	if (log_level > LOG_ERROR)
		log_level = LOG_ERROR;
	l.header.source = src->desc;
	l.header.events_per_s = -1;
	top_screen__draw(l.view, m, &l.header);
	while (!*stop_signal__flag()) {
		struct pollfd fds[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = snapsock_client__fd(src->client), .events = POLLIN },
		};
		bool dirty = false;

		if (poll(fds, 2, 1000) < 0 && errno != EINTR) {
			err = -errno;
			poll_failed = true;
			break;
		}
		/* also after EINTR: a resize arrives as a key once SIGWINCH was handled */
		if (live_keys(&l, &dirty))
			break;
		if (fds[1].revents) {
			err = receive(src, &f, FRAME_TIMEOUT_MS);
			if (err == -EINTR)
				continue;
			if (err)
				break;
			err = take_frame(&l, &f);
			if (err)
				break;
			last_frame_ms = clock_mono_ms();
			dirty = true;
			frames++;
		} else if (clock_mono_ms() - last_frame_ms > (__u64)stall_ms(&l.shown, o)) {
			stalled = true;
			err = -ETIMEDOUT;
			break;
		}
		/* the clock in the header moves even between frames */
		if (clock_mono_ms() - last_draw_ms >= 1000)
			dirty = true;
		if (dirty) {
			top_screen__draw(l.view, m, &l.header);
			last_draw_ms = clock_mono_ms();
		}
		if (o->iterations && frames >= o->iterations)
			break;
	}
	top_screen__close(l.view);
	log_level = saved_level;
	if (err && err != -ENOMEM) {
		if (poll_failed)
			p_err("failed to wait for input: %s", strerror(-err));
		else if (stalled)
			p_err("%s sent no snapshot for %d s (is the daemon stuck?)", src->desc,
			      stall_ms(&l.shown, o) / 1000);
		else
			report_source_error(src, err);
	}
	frame_release(&l.shown);
	return err;
}

int cmd_top(int argc, char **argv)
{
	struct top_model *model = NULL;
	struct source src;
	struct top_opts o;
	char msg[256];
	bool live;
	int err;

	err = top_opts__parse(argc, argv, &o, msg, sizeof(msg));
	if (err != OPTS_OK)
		return opts__exit_status(err, "top", msg, top_opts__usage);
	opts__add_verbosity(o.verbosity);
	/* the character set only: numbers in JSON keep their decimal point */
	setlocale(LC_CTYPE, "");
	live = !o.once && !o.json && isatty(STDOUT_FILENO);
	install_signal_handlers();
	model = top_model__new();
	if (!model)
		return 1;
	top_model__set_sort(model, o.sort, o.reverse);
	err = source_open(&src, &o);
	if (err) {
		top_model__free(model);
		return 1;
	}
	err = live ? run_live(&src, model, &o) : run_plain(&src, model, &o);
	source_close(&src);
	top_model__free(model);
	return err ? 1 : 0;
}
