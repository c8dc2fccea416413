// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "attribute/attr.h"
#include "attribute/escalate.h"
#include "util/json.h"
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
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int escalator__open(struct escalator **out, const struct escalator_opts *opts)
{
	struct attr_opts aopts = {
		.sample_bytes = opts->sample_bytes,
		.malloc = opts->malloc_all || opts->escalate,
		.malloc_all = opts->malloc_all,
		/* escalation adds no syscall or fault hooks: those fire host-wide */
		.trace_mm = opts->trace_mm_all,
		.trace_mm_all = opts->trace_mm_all,
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
	free(esc);
}

void escalator__close(struct escalator *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->nr_active; i++)
		escalation__free(e->active[i]);
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
	esc->deadline_ns = mono_ns() + (__u64)(e->opts.escalate_for_s * 1e9);
	esc->traced_for_s = e->opts.escalate_for_s;
	esc->anon_at_start = cg ? cg->anon_rss_bytes : 0;
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

static void write_sites(const struct leak_alert *a, struct json *j)
{
	const struct escalation *esc = a->sites;
	size_t i, f;

	json_arr_begin(j);
	for (i = 0; i < esc->nr_sites; i++) {
		const struct attr_site *s = &esc->sites[i];

		json_obj_begin(j);
		json_key(j, "bytes");
		json_u64(j, (__u64)(s->est.est_bytes + 0.5));
		json_key(j, "allocs");
		json_u64(j, (__u64)(s->est.est_allocs + 0.5));
		json_key(j, "stack");
		json_arr_begin(j);
		for (f = 0; f < s->nr_frames; f++)
			json_str(j, s->frames[f]);
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void write_escalated_leak(const struct pipeline_event *ev, struct json *j)
{
	const struct escalation *esc = ev->data;

	leak_alert__write_json(&esc->alert, j);
	json_key(j, "escalated_for_s");
	json_double(j, esc->traced_for_s, 1);
	json_key(j, "anon_growth_bytes");
	json_u64(j, esc->anon_growth_bytes);
	json_key(j, "malloc_outstanding_bytes");
	json_u64(j, esc->malloc_bytes);
	json_key(j, "not_from_malloc");
	json_bool(j, esc->not_from_malloc);
}

/* What the probes saw, and whether the growth was malloc's at all. */
static void conclude(struct escalator *e, struct escalation *esc, const struct snapshot *snap)
{
	const struct alloc_filter filter = { .cgroup_id = esc->alert.cgroup_id };
	const struct cgroup_stat *cg = snapshot__find_cgroup(snap, esc->alert.cgroup_id);
	__u64 anon_now = cg ? cg->anon_rss_bytes : esc->anon_at_start;

	if (attr__top_sites(e->attr, &filter, e->opts.top_sites, &esc->sites, &esc->nr_sites))
		esc->nr_sites = 0;
	esc->malloc_bytes = attr__cgroup_outstanding_bytes(e->attr, esc->alert.cgroup_id);
	esc->anon_growth_bytes = anon_now > esc->anon_at_start ? anon_now - esc->anon_at_start : 0;
	esc->not_from_malloc = esc->anon_growth_bytes > 0 &&
			       esc->malloc_bytes < NOT_FROM_MALLOC_SHARE * esc->anon_growth_bytes;
	esc->alert.sites = esc;
	esc->alert.write_sites = write_sites;
	if (cg)
		esc->alert.bytes = cg->anon_rss_bytes;
}

void escalator__finish_due(struct escalator *e, const struct snapshot *snap,
			   void (*emit)(void *ctx, const struct pipeline_event *ev), void *ctx)
{
	__u64 now = mono_ns();
	size_t i = 0;

	while (i < e->nr_active) {
		struct escalation *esc = e->active[i];
		struct cgroup_stat gone = { .id = esc->alert.cgroup_id, .time_to_limit_s = -1 };
		const struct cgroup_stat *cg;
		struct pipeline_event ev = {};

		if (now < esc->deadline_ns) {
			i++;
			continue;
		}
		conclude(e, esc, snap);
		cg = snapshot__find_cgroup(snap, esc->alert.cgroup_id);
		if (!cg) {
			gone.path = (char *)esc->alert.path;
			cg = &gone;
		}
		ev.type = PIPELINE_EV_LEAK;
		ev.ts_ms = snap->ts_ms;
		ev.cgroup = cg;
		ev.write_fields = write_escalated_leak;
		ev.data = esc;
		if (emit)
			emit(ctx, &ev);
		attr__unwatch_cgroup(e->attr, esc->alert.cgroup_id);
		escalation__free(esc);
		e->active[i] = e->active[--e->nr_active];
	}
}

__u64 escalator__attach_failures(const struct escalator *e)
{
	return attr__attach_failures(e->attr);
}
