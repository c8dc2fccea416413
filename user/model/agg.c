// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/agg.h"
#include "util/array.h"
#include "util/u64map.h"

struct fault_mark {
	__u64 start_time_ns;
	__u64 faults_total;
};

struct agg {
	long page_size;
	bool seen_a_pass; /* the first pass sets the baselines: no faults "in" it */
	__u64 mono_ns, prev_mono_ns, ts_ms;

	struct proc_stat *procs; /* this pass */
	size_t nr_procs, cap_procs, cap_has_leader;
	struct u64map proc_index; /* pid -> index + 1 in procs, this pass */
	bool *has_leader;	  /* procs[i] got its leader record */

	/* pid -> index into prev_marks: fault totals at the previous pass */
	struct u64map prev_index, next_index;
	struct fault_mark *prev_marks, *next_marks;
	size_t nr_prev_marks;

	struct u64map cgroup_faults; /* cgroup id -> faults since memobs started */
};

struct agg *agg__new(long page_size)
{
	struct agg *agg = calloc(1, sizeof(*agg));

	if (!agg)
		return NULL;
	agg->page_size = page_size;
	u64map_init(&agg->proc_index);
	u64map_init(&agg->prev_index);
	u64map_init(&agg->next_index);
	u64map_init(&agg->cgroup_faults);
	return agg;
}

void agg__free(struct agg *agg)
{
	if (!agg)
		return;
	free(agg->procs);
	free(agg->has_leader);
	free(agg->prev_marks);
	free(agg->next_marks);
	u64map_free(&agg->proc_index);
	u64map_free(&agg->prev_index);
	u64map_free(&agg->next_index);
	u64map_free(&agg->cgroup_faults);
	free(agg);
}

void agg__begin(struct agg *agg, __u64 mono_ns, __u64 ts_ms)
{
	agg->nr_procs = 0;
	u64map_clear(&agg->proc_index);
	agg->mono_ns = mono_ns;
	agg->ts_ms = ts_ms;
}

/*
 * The process's slot in this pass. A whole-process record (the process
 * walk: one per process) takes a new one without the pid index, a hash
 * insert per process and pass saved; a thread's record (iter/task) finds
 * its process's by pid.
 */
static struct proc_stat *proc_slot(struct agg *agg, __u32 pid, bool whole, size_t *index)
{
	uint64_t slot;

	if (!whole && u64map_get(&agg->proc_index, pid, &slot)) {
		*index = slot - 1;
		return &agg->procs[slot - 1];
	}
	if (ARRAY_GROW(agg->procs, agg->cap_procs, agg->nr_procs + 1) ||
	    ARRAY_GROW(agg->has_leader, agg->cap_has_leader, agg->nr_procs + 1))
		return NULL;
	if (!whole && u64map_put(&agg->proc_index, pid, agg->nr_procs + 1))
		return NULL;
	*index = agg->nr_procs++;
	memset(&agg->procs[*index], 0, sizeof(agg->procs[0]));
	agg->procs[*index].pid = pid;
	agg->has_leader[*index] = false;
	return &agg->procs[*index];
}

int agg__add_task(struct agg *agg, const struct memobs_task_rec *rec)
{
	__u64 page = agg->page_size;
	struct proc_stat *p;
	size_t index;

	p = proc_slot(agg, rec->pid, rec->flags & MEMOBS_TASK_PROCESS, &index);
	if (!p)
		return -ENOMEM;
	/* one record per thread (iter/task), or one for the whole process (the process walk) */
	p->nr_threads += rec->flags & MEMOBS_TASK_PROCESS ? rec->nr_threads : 1;
	p->faults_total += rec->min_flt + rec->maj_flt;
	if (!(rec->flags & MEMOBS_TASK_LEADER))
		return 0;

	agg->has_leader[index] = true;
	p->cgroup_id = rec->cgroup_id;
	p->start_time_ns = rec->start_time_ns;
	memcpy(p->comm, rec->comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = '\0';
	p->mem.anon_rss_bytes = rec->anon_rss_pages * page;
	p->mem.file_rss_bytes = rec->file_rss_pages * page;
	p->mem.shmem_rss_bytes = rec->shmem_rss_pages * page;
	p->mem.swap_bytes = rec->swap_pages * page;
	p->mem.heap_bytes = rec->heap_bytes;
	p->mem.data_vm_bytes = rec->data_vm_pages * page;
	p->total_vm_bytes = rec->total_vm_pages * page;
	/* VmData counts the heap too; what is left are private writable mappings */
	p->mem.mmap_bytes = p->mem.data_vm_bytes > p->mem.heap_bytes
				    ? p->mem.data_vm_bytes - p->mem.heap_bytes
				    : 0;
	return 0;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct proc_stat *x = a, *y = b;

	if (x->cgroup_id != y->cgroup_id)
		return x->cgroup_id < y->cgroup_id ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Faults during the interval, and the marks for the next pass. */
static int account_faults(struct agg *agg, struct proc_stat *procs, size_t n)
{
	struct fault_mark *marks = realloc(agg->next_marks, (n ? n : 1) * sizeof(*marks));
	uint64_t prev;
	size_t i;

	if (!marks)
		return -ENOMEM;
	agg->next_marks = marks;
	u64map_clear(&agg->next_index);
	for (i = 0; i < n; i++) {
		struct proc_stat *p = &procs[i];
		const struct fault_mark *m = NULL;

		if (u64map_get(&agg->prev_index, p->pid, &prev))
			m = &agg->prev_marks[prev];
		if (m && m->start_time_ns == p->start_time_ns)
			p->mem.page_faults = p->faults_total > m->faults_total
						     ? p->faults_total - m->faults_total
						     : 0;
		else
			/* born during the interval (or a reused pid): all its faults are new */
			p->mem.page_faults = agg->seen_a_pass ? p->faults_total : 0;
		marks[i].start_time_ns = p->start_time_ns;
		marks[i].faults_total = p->faults_total;
		if (u64map_put(&agg->next_index, p->pid, i))
			return -ENOMEM;
	}
	/* swap: this pass's marks become the previous ones */
	agg->next_marks = agg->prev_marks;
	agg->prev_marks = marks;
	{
		struct u64map tmp = agg->prev_index;

		agg->prev_index = agg->next_index;
		agg->next_index = tmp;
	}
	agg->nr_prev_marks = n;
	return 0;
}

static void add_proc_to_cgroup(struct cgroup_stat *cg, const struct proc_stat *p)
{
	cg->nr_procs++;
	mem_figures__add(&cg->mem, &p->mem);
}

static int build_cgroups(struct agg *agg, struct snapshot *snap)
{
	struct u64map seen;
	size_t i, n = 0;
	uint64_t total;

	snap->cgroups = calloc(snap->nr_procs ? snap->nr_procs : 1, sizeof(*snap->cgroups));
	if (!snap->cgroups)
		return -ENOMEM;
	for (i = 0; i < snap->nr_procs; i++) {
		const struct proc_stat *p = &snap->procs[i];

		if (!n || snap->cgroups[n - 1].id != p->cgroup_id) {
			snap->cgroups[n].id = p->cgroup_id;
			snap->cgroups[n].first_proc = i;
			snap->cgroups[n].time_to_limit_s = -1;
			n++;
		}
		add_proc_to_cgroup(&snap->cgroups[n - 1], p);
	}
	snap->nr_cgroups = n;

	/* running fault totals, for cgroups alive now only: vanished ones are dropped */
	u64map_init(&seen);
	for (i = 0; i < n; i++) {
		struct cgroup_stat *cg = &snap->cgroups[i];

		total = 0;
		u64map_get(&agg->cgroup_faults, cg->id, &total);
		cg->page_faults_total = total + cg->mem.page_faults;
		if (u64map_put(&seen, cg->id, cg->page_faults_total)) {
			u64map_free(&seen);
			return -ENOMEM;
		}
	}
	u64map_free(&agg->cgroup_faults);
	agg->cgroup_faults = seen;
	return 0;
}

int agg__end(struct agg *agg, struct snapshot **out)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	size_t i, n = 0;
	int err;

	if (!snap)
		return -ENOMEM;
	snap->mono_ns = agg->mono_ns;
	snap->ts_ms = agg->ts_ms;
	snap->interval_s = agg->seen_a_pass ? (agg->mono_ns - agg->prev_mono_ns) / 1e9 : 0;

	/*
	 * A process whose leader record is missing (the main thread exited
	 * while others run on, or the pass raced with its exit) has no mm
	 * figures: leave it out rather than report zeros.
	 */
	snap->procs = malloc((agg->nr_procs ? agg->nr_procs : 1) * sizeof(*snap->procs));
	if (!snap->procs) {
		free(snap);
		return -ENOMEM;
	}
	for (i = 0; i < agg->nr_procs; i++)
		if (agg->has_leader[i])
			snap->procs[n++] = agg->procs[i];
	snap->nr_procs = n;
	qsort(snap->procs, n, sizeof(*snap->procs), cmp_proc);

	err = account_faults(agg, snap->procs, n);
	if (!err)
		err = build_cgroups(agg, snap);
	if (err) {
		snapshot__free(snap);
		return err;
	}
	agg->seen_a_pass = true;
	agg->prev_mono_ns = agg->mono_ns;
	*out = snap;
	return 0;
}
