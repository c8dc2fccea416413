// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `memobs run`: the daemon loop. Options in run_opts.c, the work in pipeline.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>
#include "collect/caps.h"
#include "cli/cmd.h"
#include "output/emit.h"
#include "util/log.h"
#include "output/metrics.h"
#include "output/metrics_http.h"
#include "pipeline/pipeline.h"
#include "cli/run_opts.h"
#include "output/snapsock.h"
#include "util/stop_signal.h"

/* SIGALRM is --duration; the stop cuts the ring-buffer wait short. */
static void install_signal_handlers(void)
{
	static const int stop_signals[] = { SIGINT, SIGTERM, SIGALRM };

	stop_signal__install(stop_signals, sizeof(stop_signals) / sizeof(stop_signals[0]));
	signal(SIGPIPE, SIG_IGN); /* a closed stdout becomes -EIO, reported once */
}

static int arm_duration(double duration_s)
{
	struct itimerval it = {};

	if (duration_s <= 0)
		return 0;
	it.it_value.tv_sec = (time_t)duration_s;
	it.it_value.tv_usec = (suseconds_t)((duration_s - (double)it.it_value.tv_sec) * 1e6);
	return setitimer(ITIMER_REAL, &it, NULL) ? -errno : 0;
}

struct run_ctx {
	struct json json;
	int output_err;
	struct snapsock_server *socket; /* NULL: none */
	struct metrics_server *metrics; /* NULL: none */
	__u64 start_time_s;
};

static void on_event(void *ctx, const struct pipeline_event *ev)
{
	struct run_ctx *rc = ctx;

	if (!rc->output_err)
		rc->output_err = emit_event(stdout, &rc->json, ev);
}

/*
 * Another daemon serving the socket is not fatal: its clients keep it, this
 * one runs without (two daemons on a node is the operator's call to make).
 */
static int open_socket(struct run_ctx *rc, const char *path)
{
	int err = snapsock_server__open(&rc->socket, path);

	if (err == -EADDRINUSE) {
		p_warn("another memobs serves '%s': running without a socket", path);
		rc->socket = NULL;
		return 0;
	}
	return err;
}

static void publish_metrics(struct run_ctx *rc, const struct snapshot *snap,
			    const struct pipeline_stats *st, unsigned int max_cgroups)
{
	struct metrics_self self = {
		.events = st->events,
		.ringbuf_drops = st->ringbuf_drops,
		.map_full = st->map_full,
		.attach_failures = st->attach_failures,
		.start_time_s = rc->start_time_s,
	};

	metrics_self__read_process(&self);
	metrics_server__publish_snapshot(rc->metrics, snap, &self, max_cgroups);
}

static int start_metrics(struct run_ctx *rc, const char *addr, double interval_s)
{
	int err = metrics_server__start(&rc->metrics, addr, interval_s);

	if (err)
		p_err("failed to listen on '%s' for --metrics: %s", addr, strerror(-err));
	return err;
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_loop(struct pipeline *p, const struct run_opts *o, struct run_ctx *rc)
{
	const struct snapshot *snap;
	struct pipeline_stats st;
	__u64 last_stats_ms = now_ms();
	int err;

	for (;;) {
		err = pipeline__next(p, &snap);
		if (err == -EINTR)
			return 0;
		if (err)
			return err;
		if (o->snapshots && !rc->output_err)
			rc->output_err = emit_samples(stdout, &rc->json, snap, o->malloc_all);
		pipeline__stats(p, &st);
		if (rc->socket)
			snapsock_server__publish(rc->socket, snap, &st);
		if (rc->metrics)
			publish_metrics(rc, snap, &st, o->metrics_max_cgroups);
		if (snap->ts_ms - last_stats_ms >= (__u64)(o->stats_every_s * 1000) &&
		    !rc->output_err) {
			pipeline__stats(p, &st);
			rc->output_err = emit_stats(stdout, &rc->json, snap->ts_ms, &st);
			last_stats_ms = snap->ts_ms;
		}
		if (rc->output_err) {
			p_err("failed to write to stdout: %s", strerror(-rc->output_err));
			return rc->output_err;
		}
	}
}

int cmd_run(int argc, char **argv)
{
	struct pipeline_opts popts = {};
	struct run_ctx rc = {};
	struct pipeline *p = NULL;
	struct pipeline_stats st;
	struct run_opts o;
	char msg[256];
	int err;

	err = run_opts__parse(argc, argv, &o, msg, sizeof(msg));
	if (err == RUN_PARSE_HELP) {
		run_opts__usage(stdout);
		return 0;
	}
	if (err) {
		p_err("run: %s (see 'memobs run --help')", msg);
		return 2;
	}
	log_level += o.verbosity;
	install_signal_handlers();
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc.start_time_s = now_ms() / 1000;
	json_init(&rc.json);

	popts.interval_s = o.interval_s;
	popts.window_s = o.window_s;
	popts.min_growth_bytes_per_s = o.min_growth_bytes_per_s;
	popts.detect = !o.no_detect;
	popts.ringbuf_bytes = o.ringbuf_bytes;
	popts.pods_dir = o.pods_dir;
	popts.malloc_all = o.malloc_all;
	popts.trace_mm_all = o.trace_mm_all;
	popts.escalate = !o.no_escalate;
	popts.escalate_for_s = o.escalate_for_s;
	popts.malloc_sample_bytes = o.malloc_sample_bytes;
	popts.stop = stop_signal__flag();
	popts.on_event = on_event;
	popts.ctx = &rc;
	err = cmd_check_privileges();
	if (!err)
		err = pipeline__open(&p, &popts);
	if (!err)
		err = arm_duration(o.duration_s);
	if (!err && o.socket_path)
		err = open_socket(&rc, o.socket_path);
	if (!err && o.metrics_addr)
		err = start_metrics(&rc, o.metrics_addr, o.interval_s);
	if (!err) {
		/* everything is attached: keep only what the loop and run-time attaches need */
		err = caps__drop_after_attach(true);
		if (err)
			p_err("failed to drop capabilities: %s", strerror(-err));
	}
	if (!err) {
		log_startup_line(p);
		err = run_loop(p, &o, &rc);
	}
	if (p && !rc.output_err) {
		pipeline__stats(p, &st);
		emit_stats(stdout, &rc.json, now_ms(), &st);
	}
	metrics_server__stop(rc.metrics);
	snapsock_server__close(rc.socket);
	pipeline__close(p);
	json_free(&rc.json);
	return err ? 1 : 0;
}
