// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "model/agg.h"
#include "identity/cgroup.h"
#include "detect/detector.h"
#include "attribute/escalate.h"
#include "identity/memlimit.h"
#include "identity/container.h"
#include "collect/features.h"
#include "util/json.h"
#include "collect/loader.h"
#include "util/log.h"
#include "util/mountinfo.h"
#include "pipeline/pipeline.h"
#include "util/procfs.h"
#include "util/u64map.h"

#define DEFAULT_RINGBUF_BYTES (256 * 1024)
/*
 * Waits are cut in slices so that a signal that lands just before one is
 * seen soon, and so that sampled allocations are drained often enough.
 */
#define WAIT_SLICE_MS 100

struct pipeline {
	struct pipeline_opts opts;
	struct mounts mounts;
	struct features features;
	struct loader *loader;
	struct agg *agg;
	struct cgroup_resolver *cgroups;
	struct container_resolver *containers;
	struct snapshot *snap;	 /* the latest */
	struct u64map oom_kills; /* cgroup id -> kills seen */
	struct memlimit_cache *limits;
	struct detector *detector;   /* NULL without --detect */
	struct escalator *escalator; /* NULL: no attribution tier */
	__u64 next_pass_ns;
	__u64 interval_ns;
};

static __u64 clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The cgroup an event names, as a cgroup_stat from the latest pass if it is there. */
static void event_cgroup(struct pipeline *p, __u64 cgroup_id, struct cgroup_stat *out)
{
	const struct cgroup_stat *known = p->snap ? snapshot__find_cgroup(p->snap, cgroup_id)
						  : NULL;

	if (known) {
		*out = *known;
		return;
	}
	memset(out, 0, sizeof(*out));
	out->id = cgroup_id;
	out->time_to_limit_s = -1;
	out->path = (char *)cgroup_resolver__path(p->cgroups, cgroup_id);
}

/* Before 6.8 the OOM hook knows only the victim's pid: find its cgroup. */
static __u64 cgroup_of_pid(struct pipeline *p, __u32 pid)
{
	char path[64], *text, cg_path[4096], abs_path[PATH_MAX + 4096];
	size_t i;
	__u64 id = 0;

	for (i = 0; p->snap && i < p->snap->nr_procs; i++)
		if (p->snap->procs[i].pid == pid)
			return p->snap->procs[i].cgroup_id;
	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	if (read_small_file(path, &text))
		return 0;
	if (!pid_cgroup__parse_v2(text, cg_path, sizeof(cg_path))) {
		snprintf(abs_path, sizeof(abs_path), "%s%s", p->mounts.cgroup2, cg_path);
		cgroup_id_of_dir(abs_path, &id);
	}
	free(text);
	return id;
}

struct oom_kill_data {
	__u32 pid;
	char comm[MEMOBS_COMM_LEN];
	__u64 anon_rss_bytes;
	__u64 file_rss_bytes;
	__u64 shmem_rss_bytes;
};

static void write_oom_fields(const struct pipeline_event *ev, struct json *j);

static int on_lifecycle_event(void *ctx, const struct memobs_event *rec)
{
	struct pipeline *p = ctx;
	struct oom_kill_data oom;
	struct pipeline_event ev;
	struct cgroup_stat cg;
	long page = sysconf(_SC_PAGESIZE);
	__u64 cgroup_id = rec->cgroup_id;
	uint64_t kills = 0;

	if (rec->type != MEMOBS_REC_OOM)
		return 0; /* exec and exit are folded into the next pass */
	if (!cgroup_id)
		cgroup_id = cgroup_of_pid(p, rec->pid);
	u64map_get(&p->oom_kills, cgroup_id, &kills);
	u64map_put(&p->oom_kills, cgroup_id, kills + 1);

	memset(&oom, 0, sizeof(oom));
	oom.pid = rec->pid;
	memcpy(oom.comm, rec->comm, sizeof(oom.comm));
	oom.comm[sizeof(oom.comm) - 1] = '\0';
	oom.anon_rss_bytes = rec->anon_rss_pages * page;
	oom.file_rss_bytes = rec->file_rss_pages * page;
	oom.shmem_rss_bytes = rec->shmem_rss_pages * page;

	event_cgroup(p, cgroup_id, &cg);
	cg.oom_kills_total = kills + 1;
	memset(&ev, 0, sizeof(ev));
	ev.type = PIPELINE_EV_OOM_KILL;
	ev.ts_ms = clock_ns(CLOCK_REALTIME) / 1000000;
	ev.cgroup = &cg;
	ev.write_fields = write_oom_fields;
	ev.data = &oom;
	if (p->opts.on_event)
		p->opts.on_event(p->opts.ctx, &ev);
	return 0;
}

static int on_task(void *ctx, const struct memobs_task_rec *rec)
{
	return agg__add_task(ctx, rec);
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

static void write_leak_fields(const struct pipeline_event *ev, struct json *j)
{
	leak_alert__write_json(ev->data, j);
}

/* Runs the detector over the new pass and reports its alerts as events. */
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
		struct pipeline_event ev;
		struct cgroup_stat gone;

		if (!known) {
			/* cleared because it went away: only the alert still knows it */
			memset(&gone, 0, sizeof(gone));
			gone.id = alerts[i].cgroup_id;
			gone.path = (char *)alerts[i].path;
			gone.time_to_limit_s = -1;
			known = &gone;
		}
		memset(&ev, 0, sizeof(ev));
		ev.type = PIPELINE_EV_LEAK;
		ev.ts_ms = snap->ts_ms;
		ev.cgroup = known;
		ev.write_fields = write_leak_fields;
		ev.data = &alerts[i];
		if (p->opts.on_event)
			p->opts.on_event(p->opts.ctx, &ev);
		if (p->escalator)
			escalator__on_alert(p->escalator, snap, &alerts[i]);
	}
}

/* One pass of the sampler: a new snapshot with paths and annotations. */
static int sample(struct pipeline *p)
{
	struct snapshot *snap;
	struct meminfo mi;
	size_t i;
	int err;

	agg__begin(p->agg, clock_ns(CLOCK_MONOTONIC), clock_ns(CLOCK_REALTIME) / 1000000);
	err = loader__run_iter(p->loader, on_task, p->agg);
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
	if (!meminfo__read("/proc", &mi)) {
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
		escalator__finish_due(p->escalator, snap, p->opts.on_event, p->opts.ctx);
	forget_vanished(p, snap);
	snapshot__free(p->snap);
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
	lopts.on_event = on_lifecycle_event;
	lopts.ctx = p;
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

int pipeline__next(struct pipeline *p, const struct snapshot **snap)
{
	__u64 now;
	int err, wait_ms;

	for (;;) {
		if (p->opts.stop && *p->opts.stop)
			return -EINTR;
		now = clock_ns(CLOCK_MONOTONIC);
		if (now >= p->next_pass_ns)
			break;
		wait_ms = (int)((p->next_pass_ns - now + 999999) / 1000000);
		err = loader__poll(p->loader, wait_ms < WAIT_SLICE_MS ? wait_ms : WAIT_SLICE_MS);
		if (err >= 0 && p->escalator)
			err = escalator__poll(p->escalator, 0);
		if (err == -EINTR)
			return -EINTR;
		if (err < 0) {
			p_err("failed to poll the ring buffer: %s", strerror(-err));
			return err;
		}
	}
	/* a late pass (stopped process, overloaded host) skips ticks rather than bursting */
	while (p->next_pass_ns <= now)
		p->next_pass_ns += p->interval_ns;
	/* events submitted without wakeup are drained on the tick, before the pass */
	loader__poll(p->loader, 0);
	err = sample(p);
	if (err)
		return err;
	*snap = p->snap;
	return 0;
}

void pipeline__stats(struct pipeline *p, struct pipeline_stats *out)
{
	__u64 counters[MEMOBS_STAT_NR] = {};

	loader__read_stats(p->loader, counters);
	out->events = counters[MEMOBS_STAT_EVENTS];
	out->ringbuf_drops = counters[MEMOBS_STAT_RINGBUF_DROPS];
	out->map_full = counters[MEMOBS_STAT_MAP_FULL];
	out->attach_failures = loader__attach_failures(p->loader);
	if (p->escalator)
		out->attach_failures += escalator__attach_failures(p->escalator);
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
	loader__close(p->loader);
	detector__free(p->detector);
	memlimit_cache__free(p->limits);
	agg__free(p->agg);
	cgroup_resolver__free(p->cgroups);
	container_resolver__free(p->containers);
	snapshot__free(p->snap);
	u64map_free(&p->oom_kills);
	free(p);
}

static void write_oom_fields(const struct pipeline_event *ev, struct json *j)
{
	const struct oom_kill_data *oom = ev->data;

	json_key(j, "pid");
	json_u64(j, oom->pid);
	json_key(j, "comm");
	json_strn(j, oom->comm, sizeof(oom->comm));
	json_key(j, "anon_rss_bytes");
	json_u64(j, oom->anon_rss_bytes);
	json_key(j, "file_rss_bytes");
	json_u64(j, oom->file_rss_bytes);
	json_key(j, "shmem_rss_bytes");
	json_u64(j, oom->shmem_rss_bytes);
	json_key(j, "oom_kills_total");
	json_u64(j, ev->cgroup->oom_kills_total);
}
