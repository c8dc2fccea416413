// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "identity/container.h"
#include "output/folded.h"
#include "output/render.h"
#include "util/array.h"

static const char *const record_type_names[RECORD_TYPE_NR] = {
	[RECORD_SAMPLE] = "sample",
	[RECORD_OOM_KILL] = "oom_kill",
	[RECORD_LEAK] = "leak",
	[RECORD_STATS] = "stats",
	[RECORD_LEAK_SITE] = "leak_site",
	[RECORD_MM_SITE] = "mm_site",
	[RECORD_LEAKS_SUMMARY] = "leaks_summary",
};

/* The BPF counters of the attribution tier, by name; NULL: not reported. */
static const char *const attr_stat_names[MEMOBS_ATTR_STAT_NR] = {
	[MEMOBS_ATTR_STAT_SAMPLED] = "sampled",
	[MEMOBS_ATTR_STAT_LIVE_FULL] = "live_full",
	[MEMOBS_ATTR_STAT_STACKS_FULL] = "stacks_full",
	[MEMOBS_ATTR_STAT_INFLIGHT_FULL] = "inflight_full",
	[MEMOBS_ATTR_STAT_FREES] = "frees",
	[MEMOBS_ATTR_STAT_FAILED] = "failed",
	[MEMOBS_ATTR_STAT_RINGBUF_DROPS] = "ringbuf_drops",
	[MEMOBS_ATTR_STAT_MM_EVENTS] = "mm_events",
	[MEMOBS_ATTR_STAT_MM_FULL] = "mm_full",
	[MEMOBS_ATTR_STAT_USTACK_THROTTLED] = "stack_copies_throttled",
	[MEMOBS_ATTR_STAT_USTACK_COPIES] = "stack_copies",
	[MEMOBS_ATTR_STAT_USTACK_NS] = "stack_copy_ns",
	[MEMOBS_ATTR_STAT_PY_STACKS] = "python_stacks",
	[MEMOBS_ATTR_STAT_PY_TRUNCATED] = "python_stacks_truncated",
	[MEMOBS_ATTR_STAT_PY_TORN] = "python_stacks_torn",
	[MEMOBS_ATTR_STAT_PY_NO_THREAD] = "python_stacks_no_thread",
	[MEMOBS_ATTR_STAT_PY_NS] = "python_stack_ns",
};

const char *record_type__str(enum record_type type)
{
	if ((unsigned int)type < ARRAY_SIZE(record_type_names) && record_type_names[type])
		return record_type_names[type];
	return "unknown";
}

static void render_container(struct json *j, const struct container_id *c)
{
	if (!c) {
		json_null_field(j, "container");
		return;
	}
	json_key(j, "container");
	json_obj_begin(j);
	json_str_field(j, "id", c->id);
	json_str_field(j, "runtime", c->runtime);
	json_str_field(j, "pod_uid", c->pod_uid);
	json_str_field(j, "pod", c->pod);
	json_str_field(j, "namespace", c->namespace);
	json_str_field(j, "name", c->name);
	json_obj_end(j);
}

/* ts, type, cgroup {id, path}, container: the fields every line of `memobs run` begins with. */
static void render_common(struct json *j, const struct record *r)
{
	json_key(j, "ts");
	json_ts_ms(j, r->ts_ms);
	json_str_field(j, "type", record_type__str(r->type));
	if (!r->has_cgroup) {
		json_null_field(j, "cgroup");
		json_null_field(j, "container");
		return;
	}
	json_key(j, "cgroup");
	json_obj_begin(j);
	json_u64_field(j, "id", r->cgroup.id);
	json_str_field(j, "path", r->cgroup.path); /* null: removed before it could be named */
	json_obj_end(j);
	render_container(j, r->cgroup.container);
}

/* caller, then stack: every object with frames has both (null: only the allocator's frames). */
static void render_stack(struct json *j, const char *caller, const char *const *frames, size_t nr)
{
	size_t i;

	json_str_field(j, "caller", caller);
	json_key(j, "stack");
	json_arr_begin(j);
	for (i = 0; i < nr; i++)
		json_str(j, frames[i]);
	json_arr_end(j);
}

/*
 * "build_ids": each module the site's stack touches, named as its frames
 * name it (output/folded.h parses them), to its file's GNU build-id in
 * lowercase hex, in the order first met; modules without one are absent
 * (no file, not readable, no note). Sites are keyed by their frame strings:
 * the build-ids are those the site's first stack was made with.
 */
static void render_build_ids(struct json *j, const struct site_record *s)
{
	char(*seen)[FRAME_MODULE_MAX] = NULL;
	struct frame_parts *f = NULL;
	size_t i, k, nr_seen = 0;

	json_key(j, "build_ids");
	json_obj_begin(j);
	if (s->meta && s->nr_frames) {
		seen = malloc(s->nr_frames * sizeof(*seen));
		f = malloc(sizeof(*f));
	}
	for (i = 0; seen && f && i < s->nr_frames; i++) {
		if (!s->meta[i].build_id)
			continue;
		frame__parse(s->frames[i], f);
		for (k = 0; k < nr_seen && strcmp(seen[k], f->module); k++)
			;
		if (!f->module[0] || k < nr_seen)
			continue;
		memcpy(seen[nr_seen++], f->module, sizeof(f->module));
		json_str_field(j, f->module, s->meta[i].build_id);
	}
	json_obj_end(j);
	free(seen);
	free(f);
}

static __u64 round_u64(double v)
{
	return v > 0 ? (__u64)(v + 0.5) : 0;
}

/* bytes and allocs outstanding at a site: one name for them in every record. */
static void render_site_figures(struct json *j, const struct site_record *s)
{
	json_str_field(j, "source", s->source ? s->source : "malloc");
	json_u64_field(j, "bytes", round_u64(s->est->est_bytes));
	json_u64_field(j, "allocs", round_u64(s->est->est_allocs));
}

static void render_sample(struct json *j, const struct sample_record *s)
{
	const struct cgroup_stat *cg = s->cg;

	json_u64_field(j, "anon_rss_bytes", cg->mem.anon_rss_bytes);
	json_u64_field(j, "file_rss_bytes", cg->mem.file_rss_bytes);
	json_u64_field(j, "shmem_rss_bytes", cg->mem.shmem_rss_bytes);
	json_u64_field(j, "swap_bytes", cg->mem.swap_bytes);
	json_u64_field(j, "heap_vm_bytes", cg->mem.heap_bytes);
	json_u64_field(j, "data_vm_bytes", cg->mem.data_vm_bytes);
	json_u64_field(j, "mmap_vm_bytes", cg->mem.mmap_bytes);
	json_u64_field(j, "page_faults", cg->mem.page_faults);
	json_double_field_or_null(j, "page_faults_per_s",
				  s->interval_s > 0 ? cg->mem.page_faults / s->interval_s : 0, 1,
				  s->interval_s > 0);
	json_u64_field(j, "nr_procs", cg->nr_procs);
	json_double_field(j, "growth_bytes_per_s", cg->growth_bytes_per_s, 1);
	json_u64_field_or_null(j, "limit_bytes", cg->limit_bytes, cg->limit_bytes != 0);
	json_double_field_or_null(j, "time_to_limit_s", cg->time_to_limit_s, 1,
				  cg->time_to_limit_s >= 0);
	json_str_field(j, "leak_state", cg->leak_state == LEAK_SUSPECTED ? "suspected" : "none");
	json_u64_field_or_null(j, "malloc_outstanding_bytes", cg->malloc_outstanding_bytes,
			       s->malloc_traced);
}

static void render_oom_kill(struct json *j, const struct oom_kill_record *o)
{
	json_u64_field(j, "pid", o->pid);
	json_strn_field(j, "comm", o->comm, sizeof(o->comm));
	json_u64_field(j, "anon_rss_bytes", o->anon_rss_bytes);
	json_u64_field(j, "file_rss_bytes", o->file_rss_bytes);
	json_u64_field(j, "shmem_rss_bytes", o->shmem_rss_bytes);
	json_u64_field(j, "oom_kills_total", o->oom_kills_total);
	json_str_field(j, "profile", o->profile);
}

static void render_leak(struct json *j, const struct leak_record *l)
{
	size_t i;

	json_str_field(j, "state", l->state == LEAK_RECORD_SUSPECTED ? "suspected" : "cleared");
	json_str_field(j, "metric", l->metric);
	json_u64_field(j, "bytes", l->bytes);
	json_double_field(j, "growth_bytes_per_s", l->growth_bytes_per_s, 1);
	json_double_field(j, "window_s", l->window_s, 1);
	json_double_field(j, "confidence", l->confidence, 4);
	json_u64_field_or_null(j, "limit_bytes", l->limit_bytes, l->limit_bytes != 0);
	json_double_field_or_null(j, "time_to_limit_s", l->time_to_limit_s, 1,
				  l->time_to_limit_s >= 0);
	if (l->has_top_process) {
		json_key(j, "top_process");
		json_obj_begin(j);
		json_u64_field(j, "pid", l->top_pid);
		json_strn_field(j, "comm", l->top_comm, sizeof(l->top_comm));
		json_obj_end(j);
	} else {
		json_null_field(j, "top_process");
	}
	json_str_field(j, "runtime", l->runtime);
	json_str_field(j, "hint", l->hint[0] ? l->hint : NULL);
	json_key(j, "sites");
	json_arr_begin(j);
	for (i = 0; i < l->nr_sites; i++) {
		json_obj_begin(j);
		render_site_figures(j, &l->sites[i]);
		render_stack(j, l->sites[i].caller, l->sites[i].frames, l->sites[i].nr_frames);
		render_build_ids(j, &l->sites[i]);
		json_obj_end(j);
	}
	json_arr_end(j);
	if (l->profile && !l->escalated)
		json_str_field(j, "profile", l->profile); /* a first line, with --malloc */
	if (!l->escalated)
		return;
	json_double_field(j, "escalated_for_s", l->escalated_for_s, 1);
	json_u64_field(j, "anon_growth_bytes", l->anon_growth_bytes);
	json_u64_field(j, "malloc_outstanding_bytes", l->malloc_outstanding_bytes);
	json_bool_field(j, "not_from_malloc", l->not_from_malloc);
	json_u64_field(j, "mapped_bytes", l->mapped_bytes);
	json_u64_field(j, "arena_bytes", l->arena_bytes);
	json_str_field(j, "growth_held_by", l->growth_held_by);
	json_str_field(j, "profile", l->profile);
}

static void render_stats(struct json *j, const struct pipeline_stats *s)
{
	json_u64_field(j, "events", s->events);
	json_u64_field(j, "ringbuf_drops", s->ringbuf_drops);
	json_u64_field(j, "map_full", s->map_full);
	json_u64_field(j, "attach_failures", s->attach_failures);
	json_u64_field(j, "symbol_cache_evictions", s->symbol_cache_evictions);
	json_u64_field(j, "symbol_timeouts", s->symbol_timeouts);
	json_u64_field(j, "mm_hook_hits", s->mm_hook_hits);
	json_u64_field(j, "mm_hook_hits_out_of_scope", s->mm_hook_hits_out_of_scope);
	json_u64_field(j, "python_frames", s->python_frames);
	json_u64_field(j, "python_stacks_truncated", s->python_stacks_truncated);
	json_u64_field(j, "python_layout_unknown", s->python_layout_unknown);
}

/* The records of `memobs leaks` name their process and cgroup by id. */
static void render_leak_site(struct json *j, const struct leak_site_record *l)
{
	const struct alloc_site *est = l->site.est;

	json_u64_field(j, "rank", l->rank);
	json_u64_field(j, "pid", est->pid);
	json_u64_field(j, "cgroup_id", est->cgroup_id);
	render_site_figures(j, &l->site);
	json_u64_field(j, "samples", est->samples);
	json_u64_field(j, "sampled_bytes", est->sampled_bytes);
	json_double_field(j, "age_s", l->age_s, 1);
	render_stack(j, l->site.caller, l->site.frames, l->site.nr_frames);
	render_build_ids(j, &l->site);
}

static void render_mm_site(struct json *j, const struct mm_site_record *m)
{
	json_str_field(j, "kind", m->kind);
	json_u64_field(j, "pid", m->pid);
	json_u64_field(j, "cgroup_id", m->cgroup_id);
	json_u64_field(j, "count", m->count);
	json_u64_field(j, "bytes", m->bytes);
	render_stack(j, m->caller, m->frames, m->nr_frames);
}

static void render_leaks_summary(struct json *j, const struct leaks_summary_record *s)
{
	size_t i;

	json_double_field(j, "duration_s", s->duration_s, 1);
	json_u64_field(j, "sample_bytes", s->sample_bytes);
	json_u64_field(j, "malloc_outstanding_bytes", s->malloc_outstanding_bytes);
	json_u64_field(j, "nr_sites", s->nr_sites);
	json_bool_field(j, "target_exited", s->target_exited);
	json_bool_field(j, "session", s->session);
	json_u64_field(j, "attach_failures", s->attach_failures);
	json_u64_field(j, "files_attached", s->files_attached);
	json_u64_field(j, "links", s->links);
	json_u64_field(j, "pids_traced", s->pids_traced);
	json_u64_field(j, "probes_at_entry", s->probes_at_entry);
	json_u64_field(j, "symbol_cache_evictions", s->symbol_cache_evictions);
	json_u64_field(j, "symbol_timeouts", s->symbol_timeouts);
	json_u64_field(j, "sites_held", s->sites_held);
	json_u64_field(j, "sites_overflowed", s->sites_overflowed);
	json_key(j, "unwind");
	json_obj_begin(j);
	json_u64_field(j, "stacks", s->unwind.stacks);
	json_u64_field(j, "truncated", s->unwind.truncated);
	json_u64_field(j, "cfi_frames", s->unwind.cfi_frames);
	json_u64_field(j, "fp_frames", s->unwind.fp_frames);
	json_u64_field(j, "cfi_cache_bytes", s->unwind.cfi_cache_bytes);
	json_u64_field(j, "cfi_cache_evictions", s->unwind.cfi_cache_evictions);
	json_obj_end(j);
	json_key(j, "python");
	json_obj_begin(j);
	json_u64_field(j, "processes", s->python.processes);
	json_u64_field(j, "layout_unknown", s->python.layout_unknown);
	json_u64_field(j, "frames", s->python.frames);
	json_u64_field(j, "truncated", s->python.truncated);
	json_u64_field(j, "code_reads", s->python.code_reads);
	json_u64_field(j, "code_read_failures", s->python.code_read_failures);
	json_u64_field(j, "code_evictions", s->python.code_evictions);
	json_u64_field(j, "code_reads_throttled", s->python.code_reads_throttled);
	json_u64_field(j, "pending_overwritten", s->python.pending_overwritten);
	json_obj_end(j);
	json_key(j, "bpf");
	json_obj_begin(j);
	for (i = 0; i < ARRAY_SIZE(attr_stat_names); i++)
		if (attr_stat_names[i])
			json_u64_field(j, attr_stat_names[i], s->bpf[i]);
	json_obj_end(j);
}

void render__record(struct json *j, const struct record *r)
{
	json_reset(j);
	json_obj_begin(j);
	switch (r->type) {
	case RECORD_SAMPLE:
	case RECORD_OOM_KILL:
	case RECORD_LEAK:
	case RECORD_STATS:
		render_common(j, r);
		break;
	default:
		/* `memobs leaks` lines: the type first, the process and cgroup by id */
		json_str_field(j, "type", record_type__str(r->type));
		break;
	}
	switch (r->type) {
	case RECORD_SAMPLE:
		render_sample(j, &r->sample);
		break;
	case RECORD_OOM_KILL:
		render_oom_kill(j, &r->oom_kill);
		break;
	case RECORD_LEAK:
		render_leak(j, &r->leak);
		break;
	case RECORD_STATS:
		render_stats(j, &r->stats);
		break;
	case RECORD_LEAK_SITE:
		render_leak_site(j, &r->leak_site);
		break;
	case RECORD_MM_SITE:
		render_mm_site(j, &r->mm_site);
		break;
	case RECORD_LEAKS_SUMMARY:
		render_leaks_summary(j, &r->leaks_summary);
		break;
	case RECORD_TYPE_NR:
		break;
	}
	json_obj_end(j);
}

int render__line(FILE *out, struct json *j, const struct record *r)
{
	render__record(j, r);
	return json_write_line(j, out);
}
