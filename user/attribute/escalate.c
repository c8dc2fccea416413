// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "attribute/attr.h"
#include "attribute/escalate.h"
#include "util/clock.h"
#include "util/log.h"

#define MAX_ESCALATIONS 64
#define DEFAULT_TOP_SITES 5
/*
 * Below this share of the anonymous growth, the growth is not malloc's: the
 * allocator keeps freed memory (retention), or something maps memory itself.
 */
#define NOT_FROM_MALLOC_SHARE 0.2

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
	bool not_from_malloc;
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
};

int escalator__open(struct escalator **out, const struct escalator_opts *opts)
{
	struct attr_opts aopts = {
		.sample_bytes = opts->sample_bytes,
		.malloc = opts->malloc_all || opts->escalate,
		.malloc_all = opts->malloc_all,
		/* escalation adds no syscall or fault hooks: those fire host-wide */
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
	*out = e;
	return 0;
}

static void escalation__free(struct escalation *esc)
{
	if (!esc)
		return;
	free((char *)esc->alert.path);
	free(esc->sites);
	free(esc->site_records);
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
	attr__close(e->attr);
	free(e);
}

int escalator__poll(struct escalator *e, int timeout_ms)
{
	return attr__poll(e->attr, timeout_ms);
}

void escalator__annotate(struct escalator *e, struct snapshot *snap)
{
	size_t i;

	if (!e->opts.malloc_all)
		return;
	for (i = 0; i < snap->nr_cgroups; i++)
		snap->cgroups[i].malloc_outstanding_bytes =
			attr__cgroup_outstanding_bytes(e->attr, snap->cgroups[i].id);
}

static bool escalating(const struct escalator *e, __u64 cgroup_id)
{
	size_t i;

	for (i = 0; i < e->nr_active; i++)
		if (e->active[i]->alert.cgroup_id == cgroup_id)
			return true;
	return false;
}

void escalator__on_alert(struct escalator *e, const struct snapshot *snap,
			 const struct leak_alert *alert)
{
	const struct cgroup_stat *cg = snapshot__find_cgroup(snap, alert->cgroup_id);
	struct escalation *esc;
	int err;

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

/* What the probes saw, and whether the growth was malloc's at all. */
static void conclude(struct escalator *e, struct escalation *esc, const struct snapshot *snap)
{
	const struct alloc_filter filter = { .cgroup_id = esc->alert.cgroup_id };
	const struct cgroup_stat *cg = snapshot__find_cgroup(snap, esc->alert.cgroup_id);
	__u64 anon_now = cg ? cg->mem.anon_rss_bytes : esc->anon_at_start;

	if (attr__top_sites(e->attr, &filter, e->opts.top_sites, &esc->sites, &esc->nr_sites))
		esc->nr_sites = 0;
	esc->malloc_bytes = attr__cgroup_outstanding_bytes(e->attr, esc->alert.cgroup_id);
	esc->anon_growth_bytes = anon_now > esc->anon_at_start ? anon_now - esc->anon_at_start : 0;
	esc->not_from_malloc = esc->anon_growth_bytes > 0 &&
			       esc->malloc_bytes < NOT_FROM_MALLOC_SHARE * esc->anon_growth_bytes;
	if (cg)
		esc->alert.bytes = cg->mem.anon_rss_bytes;
	esc->site_records = calloc(esc->nr_sites ? esc->nr_sites : 1, sizeof(*esc->site_records));
	if (!esc->site_records)
		esc->nr_sites = 0;
	for (size_t i = 0; i < esc->nr_sites; i++) {
		esc->site_records[i].est = &esc->sites[i].est;
		esc->site_records[i].frames = esc->sites[i].frames;
		esc->site_records[i].nr_frames = esc->sites[i].nr_frames;
	}
}

/* The follow-up leak line of the episode: the alert, now with what the probes saw. */
static void escalation__record(const struct escalation *esc, const struct snapshot *snap,
			       struct record *r)
{
	const struct cgroup_stat *cg = snapshot__find_cgroup(snap, esc->alert.cgroup_id);
	struct leak_record *l = &r->leak;

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
}
