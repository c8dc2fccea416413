// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `memobs run`: the daemon loop. Options in run_opts.c, the work in pipeline.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include "collect/caps.h"
#include "collect/features.h"
#include "cli/cmd.h"
#include "output/render.h"
#include "util/log.h"
#include "output/metrics.h"
#include "output/metrics_http.h"
#include "pipeline/pipeline.h"
#include "cli/run_opts.h"
#include "model/caller.h"
#include "output/snapsock_server.h"
#include "util/array.h"
#include "util/clock.h"
#include "util/procfs.h"
#include "util/stop_signal.h"

/* SIGALRM is --duration; the stop cuts the ring-buffer wait short. */
/*
 * Whether the attribution tier can run after the capability drop: --malloc
 * and --trace-mm attach and symbolize at run time, escalation (detector on,
 * not --no-escalate, a kernel with uprobes) attaches to suspects. Without
 * it, nothing reads other processes' memory maps or binaries.
 */
static bool attribution_at_run_time(const struct run_opts *o, const struct pipeline *p)
{
	if (o->malloc_all || o->trace_mm_all)
		return true;
	return !o->no_escalate && !o->no_detect && pipeline__features(p)->uprobes;
}

static void install_signal_handlers(void)
{
	static const int stop_signals[] = { SIGINT, SIGTERM, SIGALRM };

	stop_signal__install(stop_signals, ARRAY_SIZE(stop_signals));
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

/* The pass's oom_kill and leak lines, then (with --snapshots) a sample line per cgroup. */
static int write_pass(struct run_ctx *rc, const struct pipeline_pass *pass, bool snapshots,
		      bool malloc_traced)
{
	struct record r;
	size_t i;
	int err = 0;

	for (i = 0; i < pass->nr_events && !err; i++)
		err = render__line(stdout, &rc->json, &pass->events[i]);
	for (i = 0; snapshots && pass->snap && i < pass->snap->nr_cgroups && !err; i++) {
		const struct cgroup_stat *cg = &pass->snap->cgroups[i];

		record__init(&r, RECORD_SAMPLE, pass->snap->ts_ms, cg);
		r.sample.cg = cg;
		r.sample.interval_s = pass->snap->interval_s;
		r.sample.malloc_traced = malloc_traced;
		err = render__line(stdout, &rc->json, &r);
	}
	return err;
}

static int write_stats(struct run_ctx *rc, __u64 ts_ms, const struct pipeline_stats *st)
{
	struct record r;

	record__init(&r, RECORD_STATS, ts_ms, NULL);
	r.stats = *st;
	return render__line(stdout, &rc->json, &r);
}

static bool top_listens(const struct run_ctx *rc)
{
	return rc->socket && snapsock_server__nr_clients(rc->socket);
}

/*
 * A frame for top, with the host's memory: only top's header shows it, so
 * the passes leave it out (pipeline_opts.no_host_memory) and it is read here.
 */
static void publish_frame(struct run_ctx *rc, const struct snapshot *snap,
			  const struct pipeline_stats *st)
{
	struct snapshot frame = *snap; /* shallow: the encoder only reads it */
	struct meminfo mi;

	if (!meminfo__read("/proc", &mi)) {
		frame.host_mem_total_bytes = mi.mem_total_bytes;
		frame.host_mem_available_bytes = mi.mem_available_bytes;
	}
	if (snapsock_server__publish(rc->socket, &frame, st))
		p_warn("out of memory encoding a frame for memobs top");
}

/* While waiting for a pass: a top that connected since gets the last pass's frame now. */
static void serve_new_client(struct pipeline *p, const struct snapshot *last, void *ctx)
{
	struct run_ctx *rc = ctx;
	struct pipeline_stats st;

	if (!last || !rc->socket || !snapsock_server__wants_frame(rc->socket))
		return;
	pipeline__stats(p, &st);
	publish_frame(rc, last, &st);
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

static void listen_error(const char *addr, const char *opt, int err)
{
	p_err("failed to listen on '%s' for --%s: %s%s", addr, opt, strerror(-err),
	      err == -EADDRINUSE ? " (another process has the port?)" : "");
}

/* --metrics and --health: one server, its listeners where told. */
static int start_metrics(struct run_ctx *rc, const struct run_opts *o)
{
	int err = metrics_server__start(&rc->metrics, o->metrics_addr, o->interval_s);

	if (err) {
		listen_error(o->metrics_addr, "metrics", err);
		return err;
	}
	if (o->health_addr) {
		err = metrics_server__start_health(rc->metrics, o->health_addr);
		if (err)
			listen_error(o->health_addr, "health", err);
	}
	return err;
}

static int run_loop(struct pipeline *p, const struct run_opts *o, struct run_ctx *rc)
{
	struct pipeline_pass pass;
	const struct snapshot *snap;
	struct pipeline_stats st;
	__u64 last_stats_ms = clock_wall_ms();
	bool stats_due, listens;
	int err;

	for (;;) {
		err = pipeline__next(p, &pass);
		if (err == -EINTR)
			return 0;
		if (err)
			return err;
		if (!rc->output_err)
			rc->output_err = write_pass(rc, &pass, o->snapshots, o->malloc_all);
		snap = pass.snap;
		if (!snap)
			goto check_output; /* events only: the pass comes later */
		stats_due = snap->ts_ms - last_stats_ms >= (__u64)(o->stats_every_s * 1000);
		listens = top_listens(rc);
		/* BPF's counters (a map read per CPU): read when something shows them */
		if (rc->metrics || stats_due || listens)
			pipeline__stats(p, &st);
		if (listens)
			publish_frame(rc, snap, &st);
		else if (rc->socket) /* no client: no frame, and none kept for later */
			snapsock_server__publish(rc->socket, NULL, NULL);
		if (rc->metrics)
			publish_metrics(rc, snap, &st, o->metrics_max_cgroups);
		if (stats_due && !rc->output_err) {
			rc->output_err = write_stats(rc, snap->ts_ms, &st);
			last_stats_ms = snap->ts_ms;
		}
	check_output:
		if (rc->output_err) {
			p_err("failed to write to stdout: %s", strerror(-rc->output_err));
			return rc->output_err;
		}
	}
}

int cmd_run(int argc, char **argv)
{
	struct pipeline_opts popts = {};
	struct caller_rule *callers = NULL;
	struct run_ctx rc = {};
	struct pipeline *p = NULL;
	struct pipeline_stats st;
	struct run_opts o;
	char msg[256];
	int err;

	err = run_opts__parse(argc, argv, &o, msg, sizeof(msg));
	if (err != OPTS_OK)
		return opts__exit_status(err, "run", msg, run_opts__usage);
	opts__add_verbosity(o.verbosity);
	install_signal_handlers();
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc.start_time_s = clock_wall_ms() / 1000;
	json_init(&rc.json);

	popts.interval_s = o.interval_s;
	popts.no_host_memory = true; /* read for top's frames only (publish_frame) */
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
	popts.stack_bytes = o.stack_bytes;
	popts.profile_dir = o.profile_dir;
	popts.profile_keep = o.profile_keep;
	popts.stop = stop_signal__flag();
	/* --wrappers was checked when parsed: only memory can fail here */
	err = caller_rule__new(&callers, o.wrappers);
	if (err)
		p_err("failed to build the caller rule: %s", strerror(-err));
	popts.callers = callers;
	if (!err)
		err = cmd_check_privileges();
	if (!err)
		err = pipeline__open(&p, &popts);
	if (!err)
		err = arm_duration(o.duration_s);
	if (!err && o.socket_path)
		err = open_socket(&rc, o.socket_path);
	if (!err)
		pipeline__while_waiting(p, serve_new_client, &rc);
	if (!err && (o.metrics_addr || o.health_addr))
		err = start_metrics(&rc, &o);
	if (!err) {
		/* everything is attached: keep only what the loop and run-time attaches need */
		err = caps__drop_after_attach(attribution_at_run_time(&o, p));
		if (err)
			p_err("failed to drop capabilities: %s", strerror(-err));
	}
	if (!err) {
		log_startup_line(p);
		err = run_loop(p, &o, &rc);
	}
	if (p && !rc.output_err) {
		pipeline__stats(p, &st);
		write_stats(&rc, clock_wall_ms(), &st);
	}
	metrics_server__stop(rc.metrics);
	snapsock_server__close(rc.socket);
	pipeline__close(p);
	caller_rule__free(callers);
	json_free(&rc.json);
	return err ? 1 : 0;
}
