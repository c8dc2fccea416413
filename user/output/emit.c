// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "identity/container.h"
#include "output/emit.h"

static void write_container(struct json *j, const struct cgroup_stat *cg)
{
	json_key(j, "container");
	container_id__write_json(cg->container, j); /* null: not a container */
}

void emit_common(struct json *j, const char *type, __u64 ts_ms, const struct cgroup_stat *cg)
{
	json_obj_begin(j);
	json_key(j, "ts");
	json_ts_ms(j, ts_ms);
	json_key(j, "type");
	json_str(j, type);
	json_key(j, "cgroup");
	if (!cg) {
		json_null(j);
		return;
	}
	json_obj_begin(j);
	json_key(j, "id");
	json_u64(j, cg->id);
	json_key(j, "path");
	json_str(j, cg->path); /* null: removed before it could be named */
	json_obj_end(j);
	write_container(j, cg);
}

void emit_sample_fields(struct json *j, const struct cgroup_stat *cg)
{
	json_key(j, "anon_rss_bytes");
	json_u64(j, cg->anon_rss_bytes);
	json_key(j, "file_rss_bytes");
	json_u64(j, cg->file_rss_bytes);
	json_key(j, "shmem_rss_bytes");
	json_u64(j, cg->shmem_rss_bytes);
	json_key(j, "swap_bytes");
	json_u64(j, cg->swap_bytes);
	json_key(j, "heap_bytes");
	json_u64(j, cg->heap_bytes);
	json_key(j, "data_vm_bytes");
	json_u64(j, cg->data_vm_bytes);
	json_key(j, "mmap_bytes");
	json_u64(j, cg->mmap_bytes);
	json_key(j, "page_faults");
	json_u64(j, cg->page_faults);
	json_key(j, "nr_procs");
	json_u64(j, cg->nr_procs);
}

int emit_samples(FILE *out, struct json *j, const struct snapshot *snap, bool with_malloc)
{
	size_t i;
	int err;

	for (i = 0; i < snap->nr_cgroups; i++) {
		const struct cgroup_stat *cg = &snap->cgroups[i];

		json_reset(j);
		emit_common(j, "sample", snap->ts_ms, cg);
		emit_sample_fields(j, cg);
		if (with_malloc) {
			json_key(j, "malloc_outstanding_bytes");
			json_u64(j, cg->malloc_outstanding_bytes);
		}
		json_obj_end(j);
		err = json_write_line(j, out);
		if (err)
			return err;
	}
	return 0;
}

static const char *event_type_name(enum pipeline_event_type type)
{
	switch (type) {
	case PIPELINE_EV_OOM_KILL:
		return "oom_kill";
	case PIPELINE_EV_LEAK:
		return "leak";
	}
	return "unknown";
}

int emit_event(FILE *out, struct json *j, const struct pipeline_event *ev)
{
	json_reset(j);
	emit_common(j, event_type_name(ev->type), ev->ts_ms, ev->cgroup);
	if (ev->write_fields)
		ev->write_fields(ev, j);
	json_obj_end(j);
	return json_write_line(j, out);
}

int emit_stats(FILE *out, struct json *j, __u64 ts_ms, const struct pipeline_stats *st)
{
	json_reset(j);
	emit_common(j, "stats", ts_ms, NULL);
	json_key(j, "events");
	json_u64(j, st->events);
	json_key(j, "ringbuf_drops");
	json_u64(j, st->ringbuf_drops);
	json_key(j, "map_full");
	json_u64(j, st->map_full);
	json_key(j, "attach_failures");
	json_u64(j, st->attach_failures);
	json_obj_end(j);
	return json_write_line(j, out);
}
