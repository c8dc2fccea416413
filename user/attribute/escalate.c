// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "attribute/attr.h"
#include "attribute/escalate.h"
#include "attribute/runtime.h"
#include "model/caller.h"
#include "model/growth.h"
#include "output/profile_dir.h"
#include "util/clock.h"
#include "util/log.h"

#define MAX_ESCALATIONS 64
/* profiles remembered by cgroup, for the OOM kills that follow them */
#define PROFILES_REMEMBERED 64
#define DEFAULT_TOP_SITES 5

struct escalation {
	struct leak_alert alert; /* a copy; path owned */
	__u64 deadline_ns;
	double traced_for_s;
	__u64 anon_at_start;
	/* filled when it is due */
	struct attr_site *sites;
	struct site_record *site_records; /* views of sites, for the record */
	size_t nr_sites;
	__u64 anon_growth_bytes;
	__u64 malloc_bytes;
	__u64 mapped_bytes; /* mmap and sbrk outside malloc, still mapped */
	__u64 arena_bytes;  /* the allocator's own mmap/sbrk */
	bool not_from_malloc;
	char *profile; /* its path, written when it concluded; NULL: none */
};

struct recent_profile {
	__u64 cgroup_id;
	__u64 ts_ms;
	char *path;
};

/* Sites handed to a pass's first leak lines (--malloc): valid until the next pass. */
struct sites_now {
	struct attr_site *sites;
	struct site_record *records;
	char *profile;
};

struct escalator {
	struct escalator_opts opts;
	struct attr *attr;
	struct escalation *active[MAX_ESCALATIONS];
	size_t nr_active;
	/* Concluded at the last finish_due: their records point into them until the next. */
	struct escalation *done[MAX_ESCALATIONS];
	struct record records[MAX_ESCALATIONS];
	size_t nr_done;
	struct sites_now now[MAX_ESCALATIONS];
	size_t nr_now;
	__u64 now_ts_ms;	      /* the snapshot they were made for */
	struct profile_dir *profiles; /* --profile-dir; NULL: none */
	__u64 episodes;		      /* profiles' episode numbers */
	struct recent_profile recent[PROFILES_REMEMBERED];
	size_t next_recent;
	char *profile_error; /* the last write error said, so that it is said once */
};

static void forget_sites_now(struct escalator *e);
static struct site_record *site_records_of(const struct escalator *e, struct attr_site *sites,
					   size_t nr);

int escalator__open(struct escalator **out, const struct escalator_opts *opts)
{
	struct attr_opts aopts = {
		.sample_bytes = opts->sample_bytes,
		.stack_bytes = opts->stack_bytes,
		.malloc = opts->malloc_all || opts->escalate,
		.malloc_all = opts->malloc_all,
		/*
		 * escalation adds no syscall tracepoint or fault tracepoint (those
		 * fire host-wide); its mm sources are the suspect's own probes
		 */
		.mm_escalation = opts->escalate && !opts->malloc_all,
		.trace_mm = opts->trace_mm_all,
		.trace_mm_all = opts->trace_mm_all,
		.mounts = opts->mounts,
		.features = opts->features,
		.cgroups = opts->cgroups,
	};
	struct escalator *e = calloc(1, sizeof(*e));
	int err;

	if (!e)
		return -ENOMEM;
	e->opts = *opts;
	if (!e->opts.top_sites)
		e->opts.top_sites = DEFAULT_TOP_SITES;
	err = attr__open(&e->attr, &aopts);
	if (err) {
		free(e);
		return err;
	}
	if (opts->profile_dir) {
		err = profile_dir__open(&e->profiles, opts->profile_dir, opts->profile_keep);
		if (err)
			p_warn("no profiles will be written: --profile-dir '%s': %s",
			       opts->profile_dir,
			       err == -EPERM   ? "another user's, or writable by others"
			       : err == -ELOOP ? "a symbolic link"
					       : strerror(-err));
	}
	*out = e;
	return 0;
}

/* The profile of a cgroup's sites now (every one, up to the file's bound): its path or NULL. */
static char *write_profile(struct escalator *e, __u64 cgroup_id, const char *path, __u64 ts_ms,
			   double traced_for_s)
{
	const struct alloc_filter filter = { .cgroup_id = cgroup_id };
	struct pprof_site_labels *labels = NULL;
	struct site_record *records = NULL;
	struct attr_site *sites = NULL;
	struct pprof_opts po = {
		.sample_bytes = attr__sample_bytes(e->attr),
		.time_ns = (ts_ms - (__u64)(traced_for_s * 1e3)) * 1000000ULL,
		.duration_ns = (__u64)(traced_for_s * 1e9),
	};
	char *written = NULL;
	size_t nr = 0, i;
	int err;

	if (!e->profiles)
		return NULL;
	err = attr__top_sites(e->attr, &filter, PROFILE_DIR_MAX_SITES, &sites, &nr);
	if (!err && !(records = site_records_of(e, sites, nr)))
		err = -ENOMEM;
	if (!err && !(labels = calloc(nr ? nr : 1, sizeof(*labels))))
		err = -ENOMEM;
	for (i = 0; !err && i < nr; i++)
		labels[i].cgroup = path;
	po.labels = labels;
	if (!err)
		err = profile_dir__write(e->profiles, ts_ms, path ? path : "cgroup", ++e->episodes,
					 records, nr, &po, &written);
	if (err && (!e->profile_error || strcmp(e->profile_error, strerror(-err)))) {
		/* a full or removed directory: said once per distinct error */
		p_warn("failed to write a profile in '%s': %s", e->opts.profile_dir,
		       strerror(-err));
		free(e->profile_error);
		e->profile_error = strdup(strerror(-err));
	}
	free(labels);
	free(records);
	free(sites);
	if (written) {
		struct recent_profile *r = &e->recent[e->next_recent++ % PROFILES_REMEMBERED];

		free(r->path);
		*r = (struct recent_profile){ .cgroup_id = cgroup_id,
					      .ts_ms = ts_ms,
					      .path = strdup(written) };
	}
	return written;
}

static const char *recent_profile(struct escalator *e, __u64 cgroup_id, __u64 since_ms)
{
	const struct recent_profile *best = NULL;
	size_t i;

	for (i = 0; i < PROFILES_REMEMBERED; i++) {
		const struct recent_profile *r = &e->recent[i];

		if (r->path && r->cgroup_id == cgroup_id && r->ts_ms >= since_ms &&
		    (!best || r->ts_ms > best->ts_ms))
			best = r;
	}
	return best ? best->path : NULL;
}

static bool escalating(const struct escalator *e, __u64 cgroup_id);

const char *escalator__oom_profile(struct escalator *e, __u64 cgroup_id, const char *path,
				   __u64 ts_ms, __u64 since_ms)
{
	char *now;

	if (!e || !e->profiles)
		return NULL;
	if (e->opts.malloc_all || escalating(e, cgroup_id)) {
		now = write_profile(e, cgroup_id, path, ts_ms, 0);
		free(now); /* remembered in recent[] */
		if (now)
			return recent_profile(e, cgroup_id, ts_ms);
	}
	return recent_profile(e, cgroup_id, since_ms);
}

static void escalation__free(struct escalation *esc)
{
	if (!esc)
		return;
	free((char *)esc->alert.path);
	free(esc->sites);
	free(esc->site_records);
	free(esc->profile);
	free(esc);
}

void escalator__close(struct escalator *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->nr_active; i++)
		escalation__free(e->active[i]);
	for (i = 0; i < e->nr_done; i++)
		escalation__free(e->done[i]);
	forget_sites_now(e);
	for (i = 0; i < PROFILES_REMEMBERED; i++)
		free(e->recent[i].path);
	free(e->profile_error);
	profile_dir__close(e->profiles);
	attr__close(e->attr);
	free(e);
}

int escalator__poll(struct escalator *e, int timeout_ms)
{
	return attr__poll(e->attr, timeout_ms);
}

bool escalator__tracing(const struct escalator *e)
{
	return e->nr_active || e->opts.malloc_all || e->opts.trace_mm_all;
}

static bool escalating(const struct escalator *e, __u64 cgroup_id)
{
	size_t i;

	for (i = 0; i < e->nr_active; i++)
		if (e->active[i]->alert.cgroup_id == cgroup_id)
			return true;
	return false;
}

/* Host-wide tracing sees every cgroup; an escalation, its suspect until it ends. */
void escalator__annotate(struct escalator *e, struct snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->nr_cgroups; i++) {
		struct cgroup_stat *cg = &snap->cgroups[i];

		if (!e->opts.malloc_all && !escalating(e, cg->id))
			continue;
		cg->malloc_outstanding_bytes = attr__cgroup_outstanding_bytes(e->attr, cg->id);
		cg->malloc_traced = true;
	}
}

/*
 * The episode was cleared while its escalation ran: the escalation ends with
 * it, without a follow-up line (the story of that episode ended at `cleared`).
 * Another metric's episode of the same cgroup, still suspected, does not end it.
 */
static void end_escalation(struct escalator *e, const struct leak_alert *cleared)
{
	__u64 cgroup_id = cleared->cgroup_id;
	size_t i;

	for (i = 0; i < e->nr_active; i++) {
		struct escalation *esc = e->active[i];

		if (esc->alert.cgroup_id != cgroup_id || esc->alert.metric != cleared->metric)
			continue;
		p_info("escalation of cgroup '%s' ended: its episode was cleared",
		       esc->alert.path ? esc->alert.path : "?");
		attr__unwatch_cgroup(e->attr, cgroup_id);
		escalation__free(esc);
		e->active[i] = e->active[--e->nr_active];
		return;
	}
}

void escalator__on_alert(struct escalator *e, const struct snapshot *snap,
			 const struct leak_alert *alert)
{
	const struct cgroup_stat *cg = snapshot__find_cgroup(snap, alert->cgroup_id);
	struct escalation *esc;
	int err;

	if (alert->state == LEAK_ALERT_CLEARED) {
		end_escalation(e, alert);
		return;
	}
	/* host-wide tracing already sees everything; one escalation per cgroup at a time */
	if (!e->opts.escalate || e->opts.malloc_all || alert->state != LEAK_ALERT_SUSPECTED ||
	    escalating(e, alert->cgroup_id))
		return;
	if (e->nr_active == MAX_ESCALATIONS) {
		p_warn("not escalating cgroup %llu: %d escalations already run",
		       (unsigned long long)alert->cgroup_id, MAX_ESCALATIONS);
		return;
	}
	esc = calloc(1, sizeof(*esc));
	if (!esc)
		return;
	esc->alert = *alert;
	esc->alert.path = alert->path ? strdup(alert->path) : NULL;
	esc->deadline_ns = clock_mono_ns() + (__u64)(e->opts.escalate_for_s * 1e9);
	esc->traced_for_s = e->opts.escalate_for_s;
	esc->anon_at_start = cg ? cg->mem.anon_rss_bytes : 0;
	err = attr__watch_cgroup(e->attr, alert->cgroup_id);
	if (err) {
		p_warn("failed to trace the allocations of cgroup '%s': %s",
		       alert->path ? alert->path : "?", strerror(-err));
		escalation__free(esc);
		return;
	}
	p_info("escalating: tracing the allocations of cgroup '%s' for %g s",
	       alert->path ? alert->path : "?", e->opts.escalate_for_s);
	e->active[e->nr_active++] = esc;
}

static void forget_sites_now(struct escalator *e)
{
	size_t i;

	for (i = 0; i < e->nr_now; i++) {
		free(e->now[i].sites);
		free(e->now[i].records);
		free(e->now[i].profile);
	}
	e->nr_now = 0;
}

/* Views of sites for a record, each with its caller; NULL when out of memory. */
static struct site_record *site_records_of(const struct escalator *e, struct attr_site *sites,
					   size_t nr)
{
	struct site_record *r = calloc(nr ? nr : 1, sizeof(*r));
	size_t i;

	for (i = 0; r && i < nr; i++) {
		r[i].est = &sites[i].est;
		r[i].frames = sites[i].frames;
		r[i].nr_frames = sites[i].nr_frames;
		r[i].meta = sites[i].meta;
		r[i].caller =
			caller_rule__frame(e->opts.callers, sites[i].frames, sites[i].nr_frames);
		r[i].source = attr_source__str(sites[i].source);
	}
	return r;
}

size_t escalator__sites_now(struct escalator *e, const struct snapshot *snap, __u64 cgroup_id,
			    const char *path, const struct site_record **out, const char **profile)
{
	const struct alloc_filter filter = { .cgroup_id = cgroup_id };
	struct sites_now *n;
	size_t nr = 0;

	*out = NULL;
	*profile = NULL;
	if (!e->opts.malloc_all)
		return 0;
	if (e->now_ts_ms != snap->ts_ms) {
		forget_sites_now(e); /* the last pass's lines are written by now */
		e->now_ts_ms = snap->ts_ms;
	}
	if (e->nr_now == MAX_ESCALATIONS)
		return 0;
	n = &e->now[e->nr_now];
	if (attr__top_sites(e->attr, &filter, e->opts.top_sites, &n->sites, &nr))
		return 0;
	n->records = site_records_of(e, n->sites, nr);
	if (!n->records) {
		free(n->sites);
		return 0;
	}
	/* what the host-wide samples say so far: a profile of them, like an escalation's */
	n->profile = write_profile(e, cgroup_id, path, snap->ts_ms, 0);
	e->nr_now++;
	*out = n->records;
	*profile = n->profile;
	return nr;
}

/* What the probes saw, and whether the growth was malloc's at all. */
static void conclude(struct escalator *e, struct escalation *esc, const struct snapshot *snap)
{
	const struct alloc_filter filter = { .cgroup_id = esc->alert.cgroup_id };
	const struct cgroup_stat *cg = snapshot__find_cgroup(snap, esc->alert.cgroup_id);
	__u64 anon_now = cg ? cg->mem.anon_rss_bytes : esc->anon_at_start;

	if (attr__top_sites(e->attr, &filter, e->opts.top_sites, &esc->sites, &esc->nr_sites))
		esc->nr_sites = 0;
	esc->malloc_bytes = attr__cgroup_outstanding_bytes(e->attr, esc->alert.cgroup_id);
	esc->mapped_bytes =
		attr__cgroup_source_bytes(e->attr, esc->alert.cgroup_id, MEMOBS_SRC_MMAP) +
		attr__cgroup_source_bytes(e->attr, esc->alert.cgroup_id, MEMOBS_SRC_BRK);
	esc->arena_bytes =
		attr__cgroup_source_bytes(e->attr, esc->alert.cgroup_id, ATTR_SOURCE_ARENA);
	esc->anon_growth_bytes = anon_now > esc->anon_at_start ? anon_now - esc->anon_at_start : 0;
	esc->not_from_malloc = esc->anon_growth_bytes > 0 &&
			       esc->malloc_bytes < GROWTH_MALLOC_SHARE * esc->anon_growth_bytes;
	if (cg)
		esc->alert.bytes = cg->mem.anon_rss_bytes;
	esc->site_records = site_records_of(e, esc->sites, esc->nr_sites);
	if (!esc->site_records)
		esc->nr_sites = 0;
	esc->profile = write_profile(e, esc->alert.cgroup_id, esc->alert.path, snap->ts_ms,
				     esc->traced_for_s);
}

/* The follow-up leak line of the episode: the alert, now with what the probes saw. */
static void escalation__record(const struct escalation *esc, const struct snapshot *snap,
			       struct record *r)
{
	const struct cgroup_stat *cg = snapshot__find_cgroup(snap, esc->alert.cgroup_id);
	struct leak_record *l = &r->leak;
	struct growth_figures growth = {
		.anon_growth = esc->anon_growth_bytes,
		.malloc_bytes = esc->malloc_bytes,
		.arena_bytes = esc->arena_bytes,
		.mapped_bytes = esc->mapped_bytes,
	};

	if (cg)
		record__init(r, RECORD_LEAK, snap->ts_ms, cg);
	else /* gone while traced: only the alert still knows its name */
		record__init_gone(r, RECORD_LEAK, snap->ts_ms, esc->alert.cgroup_id,
				  esc->alert.path);
	leak_record__from_alert(l, &esc->alert);
	l->sites = esc->site_records;
	l->nr_sites = esc->nr_sites;
	l->escalated = true;
	l->escalated_for_s = esc->traced_for_s;
	l->anon_growth_bytes = esc->anon_growth_bytes;
	l->malloc_outstanding_bytes = esc->malloc_bytes;
	l->not_from_malloc = esc->not_from_malloc;
	l->profile = esc->profile;
	if (l->has_top_process) {
		/* once per episode: read afresh, the verdict of the process as it is now */
		enum runtime_kind kind = runtime__detect((int)l->top_pid);

		l->runtime = runtime_kind__str(kind);
		runtime__hint(kind, l->top_pid, true, l->not_from_malloc, l->hint, sizeof(l->hint));
		growth.managed_runtime = kind != RUNTIME_NATIVE && kind != RUNTIME_UNKNOWN;
	}
	l->mapped_bytes = esc->mapped_bytes;
	l->arena_bytes = esc->arena_bytes;
	l->growth_held_by = growth__held_by(&growth);
}

size_t escalator__finish_due(struct escalator *e, const struct snapshot *snap,
			     const struct record **records)
{
	__u64 now = clock_mono_ns();
	size_t i = 0;

	/* the records of the last call are done with */
	for (i = 0; i < e->nr_done; i++)
		escalation__free(e->done[i]);
	e->nr_done = 0;
	i = 0;
	while (i < e->nr_active) {
		struct escalation *esc = e->active[i];

		if (now < esc->deadline_ns) {
			i++;
			continue;
		}
		conclude(e, esc, snap);
		escalation__record(esc, snap, &e->records[e->nr_done]);
		e->done[e->nr_done++] = esc;
		attr__unwatch_cgroup(e->attr, esc->alert.cgroup_id);
		e->active[i] = e->active[--e->nr_active];
	}
	*records = e->records;
	return e->nr_done;
}

void escalator__add_stats(struct escalator *e, struct pipeline_stats *st)
{
	struct attr_stats as;

	attr__stats(e->attr, &as);
	st->ringbuf_drops += as.bpf[MEMOBS_ATTR_STAT_RINGBUF_DROPS];
	st->map_full += as.bpf[MEMOBS_ATTR_STAT_LIVE_FULL] + as.bpf[MEMOBS_ATTR_STAT_STACKS_FULL] +
			as.bpf[MEMOBS_ATTR_STAT_INFLIGHT_FULL] + as.bpf[MEMOBS_ATTR_STAT_MM_FULL];
	st->attach_failures += as.attach_failures;
	st->symbol_cache_evictions += as.symbol_cache_evictions;
	st->symbol_timeouts += as.symbol_timeouts;
	st->mm_hook_hits += as.bpf[MEMOBS_ATTR_STAT_MM_CALLS] + as.bpf[MEMOBS_ATTR_STAT_FAULTS];
	st->mm_hook_hits_out_of_scope += as.bpf[MEMOBS_ATTR_STAT_OUT_OF_SCOPE];
	st->python_frames += as.python.frames;
	/* cut in BPF (past the bound, a read torn), or here (a code object unreadable) */
	st->python_stacks_truncated += as.bpf[MEMOBS_ATTR_STAT_PY_TRUNCATED] +
				       as.bpf[MEMOBS_ATTR_STAT_PY_TORN] + as.python.truncated;
	st->python_layout_unknown += as.python.layout_unknown;
}
