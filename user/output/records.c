// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "detect/detector.h"
#include "output/records.h"

void record__init(struct record *r, enum record_type type, __u64 ts_ms,
		  const struct cgroup_stat *cg)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->ts_ms = ts_ms;
	if (!cg)
		return;
	r->has_cgroup = true;
	r->cgroup.id = cg->id;
	r->cgroup.path = cg->path;
	r->cgroup.container = cg->container;
}

void record__init_gone(struct record *r, enum record_type type, __u64 ts_ms, __u64 cgroup_id,
		       const char *path)
{
	record__init(r, type, ts_ms, NULL);
	r->has_cgroup = true;
	r->cgroup.id = cgroup_id;
	r->cgroup.path = path;
}

void leak_record__from_alert(struct leak_record *l, const struct leak_alert *a)
{
	memset(l, 0, sizeof(*l));
	l->state = a->state == LEAK_ALERT_SUSPECTED ? LEAK_RECORD_SUSPECTED : LEAK_RECORD_CLEARED;
	l->metric = leak_metric__str(a->metric);
	l->bytes = a->bytes;
	l->growth_bytes_per_s = a->growth_bytes_per_s;
	l->window_s = a->window_s;
	l->confidence = a->confidence;
	l->limit_bytes = a->limit_bytes;
	l->time_to_limit_s = a->time_to_limit_s;
	l->has_top_process = a->has_top_process;
	l->top_pid = a->top_pid;
	memcpy(l->top_comm, a->top_comm, sizeof(l->top_comm));
	l->top_comm[sizeof(l->top_comm) - 1] = '\0';
}
