// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "model/agg.h"
#include "identity/cgroup.h"
#include "detect/detector.h"
#include "attribute/escalate.h"
#include "attribute/runtime.h"
#include "identity/memlimit.h"
#include "identity/container.h"
#include "collect/features.h"
#include "collect/loader.h"
#include "util/log.h"
#include "util/mountinfo.h"
#include "pipeline/pipeline.h"
#include "util/procfs.h"
#include "util/u64map.h"
#include "util/array.h"
#include "util/clock.h"

#define DEFAULT_RINGBUF_BYTES (256 * 1024)
/*
 * While the attribution tier traces, waits are cut in slices so that its
 * sampled allocations are drained often enough. Otherwise the wait lasts
 * to the next pass, in slices of a second at most: a wake-up costs ~50 us
 * (ten a second were a fifth of an idle node's pass, issue 15), and a
 * signal that lands between the stop flag's check and the wait (epoll_wait
 * cannot take a signal mask through libbpf) is seen within the slice.
 * Lifecycle records (OOM kills) wake the wait themselves.
 */
#define WAIT_SLICE_MS 100
#define IDLE_SLICE_MS 1000

struct pipeline {
	struct pipeline_opts opts;
	struct mounts mounts;
	struct features features;
	struct loader *loader;
	struct agg *agg;
	struct cgroup_resolver *cgroups;
	struct container_resolver *containers;
	struct snapshot *snap;	    /* the latest */
	struct snapshot *prev_snap; /* kept until the next call: events may borrow from it */
	struct u64map oom_kills;    /* cgroup id -> kills seen */
	struct memlimit_cache *limits;
	struct detector *detector;	/* NULL without --detect */
	struct escalator *escalator;	/* NULL: no attribution tier */
	struct runtime_cache *runtimes; /* leak lines' top processes; made at the first alert */
	__u64 next_pass_ns;
	__u64 interval_ns;
	/* The events of the current call of pipeline__next(), returned by it. */
	struct record *events;
	size_t nr_events;
	size_t events_cap;
	char **event_paths; /* owned copies of paths the events borrow */
	size_t nr_event_paths;
	size_t event_paths_cap;
	void (*while_waiting)(struct pipeline *p, const struct snapshot *last, void *ctx);
	void *while_waiting_ctx;
};

static void drop_events(struct pipeline *p)
{
	size_t i;

	for (i = 0; i < p->nr_event_paths; i++)
		free(p->event_paths[i]);
	p->nr_event_paths = 0;
	p->nr_events = 0;
}

/* A copy of path that lives as long as this call's events. */
static const char *event_path(struct pipeline *p, const char *path)
{
	char *copy;

	if (!path || ARRAY_GROW(p->event_paths, p->event_paths_cap, p->nr_event_paths + 1))
		return NULL;
	copy = strdup(path);
	if (copy)
		p->event_paths[p->nr_event_paths++] = copy;
	return copy;
}

/* A new event of this call, its common fields naming the cgroup (from the latest pass if there). */
static struct record *push_event(struct pipeline *p, enum record_type type, __u64 ts_ms,
				 __u64 cgroup_id)
{
	const struct cgroup_stat *known = p->snap ? snapshot__find_cgroup(p->snap, cgroup_id)
						  : NULL;
	struct record *r;

	if (ARRAY_GROW(p->events, p->events_cap, p->nr_events + 1))
		return NULL;
	r = &p->events[p->nr_events++];
	if (known)
		record__init(r, type, ts_ms, known);
	else
		record__init_gone(r, type, ts_ms, cgroup_id,
				  event_path(p, cgroup_resolver__path(p->cgroups, cgroup_id)));
	return r;
}

/* Before 6.8 the OOM hook knows only the victim's pid: find its cgroup. */
static __u64 cgroup_of_pid(struct pipeline *p, __u32 pid)
{
	size_t i;
	__u64 id = 0;

	for (i = 0; p->snap && i < p->snap->nr_procs; i++)
		if (p->snap->procs[i].pid == pid)
			return p->snap->procs[i].cgroup_id;
	if (cgroup_id_of_pid(p->mounts.cgroup2, (int)pid, &id))
		return 0;
	return id;
}

/* A lifecycle record from the ring buffer: an OOM kill becomes an event of this call. */
static void handle_lifecycle(struct pipeline *p, const struct memobs_event *rec)
{
	struct oom_kill_record *oom;
	struct record *r;
	long page = sysconf(_SC_PAGESIZE);
	__u64 cgroup_id = rec->cgroup_id;
	uint64_t kills = 0;

	if (rec->type != MEMOBS_REC_OOM)
		return; /* the OOM kill is the only record: skip one from a future version */
	if (!cgroup_id)
		cgroup_id = cgroup_of_pid(p, rec->pid);
	u64map_get(&p->oom_kills, cgroup_id, &kills);
	u64map_put(&p->oom_kills, cgroup_id, kills + 1);

	r = push_event(p, RECORD_OOM_KILL, clock_wall_ms(), cgroup_id);
	if (!r) {
		p_warn("out of memory: an OOM kill in cgroup %llu is not reported",
		       (unsigned long long)cgroup_id);
		return;
	}
	oom = &r->oom_kill;
	oom->pid = rec->pid;
	memcpy(oom->comm, rec->comm, sizeof(oom->comm));
	oom->comm[sizeof(oom->comm) - 1] = '\0';
	oom->anon_rss_bytes = rec->anon_rss_pages * page;
	oom->file_rss_bytes = rec->file_rss_pages * page;
	oom->shmem_rss_bytes = rec->shmem_rss_pages * page;
	oom->oom_kills_total = kills + 1;
	/* what filled the cgroup: a profile of the window before the kill, if any */
	oom->profile = escalator__oom_profile(p->escalator, cgroup_id,
					      r->has_cgroup ? r->cgroup.path : NULL, r->ts_ms,
					      r->ts_ms - (__u64)(p->opts.window_s * 1e3));
}

/* Drains the lifecycle ring buffer for up to timeout_ms. Returns records seen or -errno. */
static int drain_lifecycle(struct pipeline *p, int timeout_ms)
{
	const struct memobs_event *recs;
	int i, n = loader__poll(p->loader, timeout_ms, &recs);

	for (i = 0; i < n; i++)
		handle_lifecycle(p, &recs[i]);
	return n;
}

/* Cgroups of the previous pass that are gone: their cached identities go too. */
static void forget_vanished(struct pipeline *p, const struct snapshot *now)
{
	size_t i;

	for (i = 0; p->snap && i < p->snap->nr_cgroups; i++) {
		__u64 id = p->snap->cgroups[i].id;

		/* OOM kill counts stay: a cgroup emptied by the OOM killer still exists */
		if (!snapshot__find_cgroup(now, id))
			container_resolver__forget(p->containers, id);
	}
}

/* Runs the detector over the new pass: its alerts become leak events, suspects escalate. */
static void detect_leaks(struct pipeline *p, struct snapshot *snap)
{
	const struct leak_alert *alerts;
	size_t nr, i;
	int err = detector__update(p->detector, snap, &alerts, &nr);

	if (err) {
		p_warn("leak detector: %s", strerror(-err));
		return;
	}
	for (i = 0; i < nr; i++) {
		const struct cgroup_stat *known = snapshot__find_cgroup(snap, alerts[i].cgroup_id);
		struct record *r;

		if (ARRAY_GROW(p->events, p->events_cap, p->nr_events + 1)) {
			p_warn("out of memory: a leak alert is not reported");
			return;
		}
		r = &p->events[p->nr_events++];
		if (known)
			record__init(r, RECORD_LEAK, snap->ts_ms, known);
		else /* cleared because it went away: only the alert still knows it */
			record__init_gone(r, RECORD_LEAK, snap->ts_ms, alerts[i].cgroup_id,
					  alerts[i].path);
		leak_record__from_alert(&r->leak, &alerts[i]);
		if (alerts[i].has_top_process) {
			enum runtime_kind kind;

			if (!p->runtimes)
				p->runtimes = runtime_cache__new();
			kind = p->runtimes
				       ? runtime_cache__lookup(p->runtimes, (int)alerts[i].top_pid)
				       : runtime__detect((int)alerts[i].top_pid);
			r->leak.runtime = runtime_kind__str(kind);
			/* a cleared line says the growth stopped: nothing to act on */
			if (alerts[i].state == LEAK_ALERT_SUSPECTED)
				runtime__hint(kind, alerts[i].top_pid, false, false, r->leak.hint,
					      sizeof(r->leak.hint));
		}
		if (p->escalator && alerts[i].state == LEAK_ALERT_SUSPECTED)
			r->leak.nr_sites = escalator__sites_now(p->escalator, snap,
								alerts[i].cgroup_id, alerts[i].path,
								&r->leak.sites, &r->leak.profile);
		if (p->escalator)
			escalator__on_alert(p->escalator, snap, &alerts[i]);
	}
}

/* The follow-up leak lines of escalations whose time is up. */
static void finish_escalations(struct pipeline *p, const struct snapshot *snap)
{
	const struct record *done;
	size_t nr = escalator__finish_due(p->escalator, snap, &done);

	if (!nr)
		return;
	if (ARRAY_GROW(p->events, p->events_cap, p->nr_events + nr)) {
		p_warn("out of memory: %zu escalation reports are lost", nr);
		return;
	}
	memcpy(&p->events[p->nr_events], done, nr * sizeof(*done));
	p->nr_events += nr;
}

/* One pass of the sampler: a new snapshot with paths and annotations. */
static int sample(struct pipeline *p)
{
	struct snapshot *snap;
	struct meminfo mi;
	size_t i;
	int err;

	agg__begin(p->agg, clock_mono_ns(), clock_wall_ms());
	err = loader__run_iter(p->loader, p->agg);
	if (err) {
		p_err("failed to run the task iterator: %s", strerror(-err));
		return err;
	}
	err = agg__end(p->agg, &snap);
	if (err)
		return err;
	for (i = 0; i < snap->nr_cgroups; i++) {
		struct cgroup_stat *cg = &snap->cgroups[i];
		const char *path = cgroup_resolver__path(p->cgroups, cg->id);
		uint64_t kills = 0;

		/* a cgroup removed before it could be named keeps its id only */
		cg->path = path ? strdup(path) : NULL;
		if (cg->path)
			cg->container = container_resolver__lookup(p->containers, cg->id, cg->path);
		u64map_get(&p->oom_kills, cg->id, &kills);
		cg->oom_kills_total = kills;
	}
	if (!p->opts.no_host_memory && !meminfo__read("/proc", &mi)) {
		snap->host_mem_total_bytes = mi.mem_total_bytes;
		snap->host_mem_available_bytes = mi.mem_available_bytes;
	}
	if (p->limits && memlimit_cache__annotate(p->limits, snap))
		p_warn("out of memory reading memory limits");
	if (p->escalator)
		escalator__annotate(p->escalator, snap);
	if (p->detector)
		detect_leaks(p, snap);
	if (p->escalator)
		finish_escalations(p, snap);
	forget_vanished(p, snap);
	snapshot__free(p->prev_snap);
	p->prev_snap = p->snap;
	p->snap = snap;
	return 0;
}

/*
 * Asked for by name (--malloc, --trace-mm), the attribution tier must work;
 * escalation, on by default, degrades to alerts without call sites.
 */
static int open_attribution(struct pipeline *p)
{
	const struct pipeline_opts *o = &p->opts;
	struct escalator_opts eopts = {
		.malloc_all = o->malloc_all,
		.trace_mm_all = o->trace_mm_all,
		.escalate = o->escalate && o->detect,
		.escalate_for_s = o->escalate_for_s,
		.sample_bytes = o->malloc_sample_bytes,
		.stack_bytes = o->stack_bytes,
		.callers = o->callers,
		.profile_dir = o->profile_dir,
		.profile_keep = o->profile_keep,
		.mounts = &p->mounts,
		.features = &p->features,
		.cgroups = p->cgroups,
	};
	int err;

	if (!eopts.malloc_all && !eopts.trace_mm_all && !eopts.escalate)
		return 0;
	if (!eopts.malloc_all && !eopts.trace_mm_all && !p->features.uprobes) {
		p_warn("no uprobe support in this kernel: leak alerts will carry no call sites");
		return 0;
	}
	err = escalator__open(&p->escalator, &eopts);
	if (err && (eopts.malloc_all || eopts.trace_mm_all))
		return err;
	if (err)
		p_warn("allocation tracing unavailable: leak alerts will carry no call sites");
	return 0;
}

int pipeline__open(struct pipeline **out, const struct pipeline_opts *opts)
{
	struct loader_opts lopts = {};
	struct pipeline *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->opts = *opts;
	p->interval_ns = (__u64)(opts->interval_s * 1e9);
	u64map_init(&p->oom_kills);
	err = mounts__discover(&p->mounts, "/proc/self/mountinfo");
	if (err) {
		p_err("failed to read '/proc/self/mountinfo': %s", strerror(-err));
		goto fail;
	}
	if (!p->mounts.cgroup2[0]) {
		p_err("no cgroup2 filesystem is mounted (needed to name cgroups)");
		err = -ENOENT;
		goto fail;
	}
	features__probe(&p->features, &p->mounts);
	p->limits = memlimit_cache__new(&p->mounts, "/proc", 10);
	if (opts->detect) {
		struct detector_opts dopts;

		detector_opts__default(&dopts);
		dopts.window_s = opts->window_s;
		dopts.interval_s = opts->interval_s;
		dopts.min_growth_bytes_per_s = opts->min_growth_bytes_per_s;
		dopts.malloc_metric = opts->malloc_all;
		p->detector = detector__new(&dopts);
		if (!p->detector) {
			err = -errno;
			p_err("failed to start the leak detector: %s", strerror(-err));
			goto fail;
		}
	}
	if (!p->features.btf) {
		p_err("kernel BTF '/sys/kernel/btf/vmlinux' is missing (kernel built without CONFIG_DEBUG_INFO_BTF?)");
		err = -ENOENT;
		goto fail;
	}
	p->agg = agg__new(sysconf(_SC_PAGESIZE));
	p->cgroups = cgroup_resolver__new(p->mounts.cgroup2);
	{
		struct container_resolver_opts copts = {
			.pods_log_dir = opts->pods_dir,
			.cgroup2_mount = p->mounts.cgroup2,
		};

		p->containers = container_resolver__new(&copts);
	}
	if (!p->agg || !p->cgroups || !p->containers) {
		err = -ENOMEM;
		goto fail;
	}
	cgroup_resolver__rescan(p->cgroups);

	lopts.features = &p->features;
	lopts.ringbuf_bytes = opts->ringbuf_bytes ? opts->ringbuf_bytes : DEFAULT_RINGBUF_BYTES;
	err = loader__open(&p->loader, &lopts);
	if (err)
		goto fail;
	err = open_attribution(p);
	if (err)
		goto fail;

	/* the seeding pass: every process alive now is known from the first interval */
	err = sample(p);
	if (err)
		goto fail;
	p->next_pass_ns = p->snap->mono_ns + p->interval_ns;
	*out = p;
	return 0;
fail:
	pipeline__close(p);
	return err;
}

int pipeline__next(struct pipeline *p, struct pipeline_pass *out)
{
	__u64 now;
	int err, wait_ms, slice_ms;

	memset(out, 0, sizeof(*out));
	/* what the last call returned is done with */
	drop_events(p);
	snapshot__free(p->prev_snap);
	p->prev_snap = NULL;
	for (;;) {
		if (p->opts.stop && *p->opts.stop)
			return -EINTR;
		now = clock_mono_ns();
		if (now >= p->next_pass_ns)
			break;
		wait_ms = (int)((p->next_pass_ns - now + 999999) / 1000000);
		slice_ms = p->escalator && escalator__tracing(p->escalator) ? WAIT_SLICE_MS
									    : IDLE_SLICE_MS;
		err = drain_lifecycle(p, wait_ms < slice_ms ? wait_ms : slice_ms);
		if (err >= 0 && p->escalator)
			err = escalator__poll(p->escalator, 0);
		/*
		 * A signal cut the wait short: only the stop flag ends the run. SIGSTOP
		 * and SIGCONT (a debugger, job control) interrupt epoll_wait too.
		 */
		if (err == -EINTR)
			continue;
		if (err < 0) {
			p_err("failed to poll the ring buffer: %s", strerror(-err));
			return err;
		}
		if (p->nr_events) {
			/* an OOM kill: reported now, not at the next pass */
			out->events = p->events;
			out->nr_events = p->nr_events;
			return 0;
		}
		if (p->while_waiting)
			p->while_waiting(p, p->snap, p->while_waiting_ctx);
	}
	/* a late pass (stopped process, overloaded host) skips ticks rather than bursting */
	while (p->next_pass_ns <= now)
		p->next_pass_ns += p->interval_ns;
	/* events submitted without wakeup are drained on the tick, before the pass */
	drain_lifecycle(p, 0);
	err = sample(p);
	if (err)
		return err;
	out->snap = p->snap;
	out->events = p->events;
	out->nr_events = p->nr_events;
	return 0;
}

void pipeline__stats(struct pipeline *p, struct pipeline_stats *out)
{
	__u64 counters[MEMOBS_STAT_NR] = {};

	memset(out, 0, sizeof(*out)); /* the escalator adds to what it counts */
	loader__read_stats(p->loader, counters);
	out->events = counters[MEMOBS_STAT_EVENTS];
	out->ringbuf_drops = counters[MEMOBS_STAT_RINGBUF_DROPS];
	out->map_full = 0; /* no always-on BPF program updates a map: only attribution's can fill */
	out->attach_failures = loader__attach_failures(p->loader);
	if (p->escalator)
		escalator__add_stats(p->escalator, out);
}

void pipeline__while_waiting(struct pipeline *p,
			     void (*cb)(struct pipeline *p, const struct snapshot *last, void *ctx),
			     void *ctx)
{
	p->while_waiting = cb;
	p->while_waiting_ctx = ctx;
}

const struct features *pipeline__features(const struct pipeline *p)
{
	return &p->features;
}

void pipeline__close(struct pipeline *p)
{
	if (!p)
		return;
	escalator__close(p->escalator);
	runtime_cache__free(p->runtimes);
	loader__close(p->loader);
	detector__free(p->detector);
	memlimit_cache__free(p->limits);
	agg__free(p->agg);
	cgroup_resolver__free(p->cgroups);
	container_resolver__free(p->containers);
	snapshot__free(p->snap);
	snapshot__free(p->prev_snap);
	u64map_free(&p->oom_kills);
	drop_events(p);
	free(p->events);
	free(p->event_paths);
	free(p);
}
