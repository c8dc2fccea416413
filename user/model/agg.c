// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Aggregation by change. The processes of the last pass are kept, sorted
 * by cgroup then pid (the snapshot's order), with each cgroup's sums. A
 * pass matches each process to its entry by walking the last pass's
 * arrival order with a cursor (the samplers meet processes in the same
 * order from pass to pass: the kernel's task list, or pids), so matching
 * needs no hash in the common case. A process whose figures did not change
 * then costs one comparison; a changed one moves its cgroup's sums by the
 * difference; only births, exits and moves between cgroups re-sort, by one
 * merge of the few newcomers into the kept order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/agg.h"
#include "util/array.h"
#include "util/u64map.h"

/* How far the cursor looks ahead for a process before asking the index: past exits */
#define MATCH_LOOKAHEAD 8
/* arrival.entry of a process born this pass: an index into births, not entries */
#define ENTRY_BORN 0x80000000u
#define ENTRY_NONE 0xffffffffu

/* One process of the last pass, in the order the sampler met it. */
struct arrival {
	__u32 pid;
	__u32 entry; /* its index into entries */
	__u64 start_time_ns;
};

/* A process met with no entry in its cgroup: born, or moved between cgroups. */
struct birth {
	struct proc_stat p;
	__u32 index; /* in the order met: its arrival's ENTRY_BORN | index */
};

/* One cgroup, kept across passes: the sums over its processes' entries. */
struct agg_cgroup {
	__u64 id;
	__u32 nr_procs;
	struct mem_figures mem;
	__u64 page_faults_total; /* since memobs started, while the cgroup has processes */
};

struct agg {
	long page_size;
	bool seen_a_pass;    /* prev_mono_ns holds the last pass's time */
	bool have_baselines; /* the kept entries hold fault counts to diff against */
	__u64 mono_ns, prev_mono_ns, ts_ms;
	__u32 pass;
	struct agg_work work;

	/* this pass's records, one proc_stat per process, in arrival order */
	struct proc_stat *procs;
	size_t nr_procs, cap_procs, cap_has_leader;
	struct u64map proc_index; /* pid -> index + 1 in procs (iter/task's thread records) */
	bool *has_leader;	  /* procs[i] got its leader record */

	/* kept across passes: the processes, sorted by cgroup then pid */
	struct proc_stat *entries, *next_entries;
	__u32 *entry_pass; /* the pass that last met entries[i] */
	size_t nr_entries, cap_entries, cap_next_entries, cap_entry_pass;
	__u32 *remap; /* entries' old index -> new, during a re-sort */
	size_t cap_remap;

	/* the last pass's arrival order, and this pass's as it is met */
	struct arrival *order, *next_order;
	size_t nr_order, nr_next_order, cap_order, cap_next_order;
	struct u64map order_index; /* pid -> index into order, built when the cursor fails */
	bool order_indexed;

	struct birth *births; /* met this pass with no entry in its cgroup */
	size_t nr_births, cap_births;
	struct u64map birth_index; /* pids of this pass's births: a duplicate record counts once */
	__u32 *birth_entry;	   /* births' index after the merge -> index into entries */
	size_t cap_birth_entry;

	struct agg_cgroup *cgroups, *next_cgroups; /* sorted by id */
	size_t nr_cgroups, cap_cgroups, cap_next_cgroups;
	struct agg_cgroup *fresh_cgroups; /* new this pass, in id order, merged in at once */
	size_t cap_fresh_cgroups;
};

struct agg *agg__new(long page_size)
{
	struct agg *agg = calloc(1, sizeof(*agg));

	if (!agg)
		return NULL;
	agg->page_size = page_size;
	u64map_init(&agg->proc_index);
	u64map_init(&agg->order_index);
	u64map_init(&agg->birth_index);
	return agg;
}

void agg__free(struct agg *agg)
{
	if (!agg)
		return;
	free(agg->procs);
	free(agg->has_leader);
	free(agg->entries);
	free(agg->next_entries);
	free(agg->entry_pass);
	free(agg->remap);
	free(agg->order);
	free(agg->next_order);
	free(agg->births);
	free(agg->birth_entry);
	free(agg->cgroups);
	free(agg->next_cgroups);
	free(agg->fresh_cgroups);
	u64map_free(&agg->proc_index);
	u64map_free(&agg->order_index);
	u64map_free(&agg->birth_index);
	free(agg);
}

void agg__begin(struct agg *agg, __u64 mono_ns, __u64 ts_ms)
{
	agg->nr_procs = 0;
	if (agg->proc_index.len)
		u64map_clear(&agg->proc_index);
	agg->mono_ns = mono_ns;
	agg->ts_ms = ts_ms;
}

/*
 * The process's slot in this pass. A whole-process record (the process
 * walk: one per process) takes a new one without the pid index; a thread's
 * record (iter/task) finds its process's by pid.
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

static struct agg_cgroup *cgroup_find(struct agg *agg, __u64 id, size_t *at)
{
	size_t lo = 0, hi = agg->nr_cgroups;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (agg->cgroups[mid].id == id) {
			*at = mid;
			return &agg->cgroups[mid];
		}
		if (agg->cgroups[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return NULL;
}

/*
 * The entry of the last pass that is this process (same pid, same start),
 * or ENTRY_NONE, in *entry. Returns 0, or -ENOMEM building the index.
 */
static int match_entry(struct agg *agg, const struct proc_stat *p, size_t *cursor, __u32 *entry)
{
	const struct arrival *a;
	uint64_t at;
	size_t d;

	*entry = ENTRY_NONE;
	for (d = 0; d < MATCH_LOOKAHEAD && *cursor + d < agg->nr_order; d++) {
		a = &agg->order[*cursor + d];
		if (a->pid == p->pid && a->start_time_ns == p->start_time_ns) {
			*cursor += d + 1;
			*entry = a->entry;
			return 0;
		}
	}
	/* out of the order the cursor knows (a pid reused early in the walk): the index */
	if (!agg->order_indexed) {
		u64map_clear(&agg->order_index);
		for (d = 0; d < agg->nr_order; d++)
			if (u64map_put(&agg->order_index, agg->order[d].pid, d))
				return -ENOMEM;
		agg->order_indexed = true;
	}
	if (!u64map_get(&agg->order_index, p->pid, &at))
		return 0;
	a = &agg->order[at];
	if (a->start_time_ns != p->start_time_ns)
		return 0;
	/* the walk goes on from here: the cursor follows it, as after a lookahead hit */
	*cursor = at + 1;
	*entry = a->entry;
	return 0;
}

/* Faults since the entry's pass: the counters only grow, but a thread's exit can race the walk. */
static __u64 faults_since(const struct proc_stat *was, const struct proc_stat *now)
{
	return now->faults_total > was->faults_total ? now->faults_total - was->faults_total : 0;
}

/* A process met again in its cgroup: one comparison if nothing moved, a delta if something did. */
static int update_entry(struct agg *agg, __u32 e, struct proc_stat *p)
{
	struct proc_stat *was = &agg->entries[e];
	struct agg_cgroup *cg;
	size_t at;

	p->mem.page_faults = faults_since(was, p);
	if (!memcmp(was, p, sizeof(*p))) {
		agg->work.unchanged++;
		return 0;
	}
	cg = cgroup_find(agg, was->cgroup_id, &at);
	if (!cg)
		return -EINVAL; /* the kept sums lost an entry's cgroup: a bug, not input */
	mem_figures__sub(&cg->mem, &was->mem);
	mem_figures__add(&cg->mem, &p->mem);
	*was = *p;
	agg->work.updated++;
	return 0;
}

static int push_arrival(struct agg *agg, const struct proc_stat *p, __u32 entry)
{
	struct arrival *a;

	if (ARRAY_GROW(agg->next_order, agg->cap_next_order, agg->nr_next_order + 1))
		return -ENOMEM;
	a = &agg->next_order[agg->nr_next_order++];
	a->pid = p->pid;
	a->start_time_ns = p->start_time_ns;
	a->entry = entry;
	return 0;
}

/*
 * A process moved between cgroups: its old entry leaves its cgroup's sums
 * now, marked met (a second record of it this pass is then skipped) and
 * dead (pid 0: the re-sort drops it).
 */
static int leave_cgroup(struct agg *agg, __u32 e)
{
	struct proc_stat *was = &agg->entries[e];
	struct agg_cgroup *cg;
	size_t at;

	cg = cgroup_find(agg, was->cgroup_id, &at);
	if (!cg)
		return -EINVAL; /* the kept sums lost an entry's cgroup: a bug, not input */
	mem_figures__sub(&cg->mem, &was->mem);
	cg->nr_procs--;
	agg->entry_pass[e] = agg->pass;
	was->pid = 0;
	agg->work.gone++;
	return 0;
}

/* A process with no entry in its cgroup: it joins at the next re-sort. */
static int add_birth(struct agg *agg, struct proc_stat *p, __u32 was)
{
	int err;

	/* the same new process twice in one pass (a walk racing exec or a move): the first stands */
	if (u64map_get(&agg->birth_index, p->pid, NULL))
		return 0;
	if (ARRAY_GROW(agg->births, agg->cap_births, agg->nr_births + 1))
		return -ENOMEM;
	err = u64map_put(&agg->birth_index, p->pid, agg->nr_births);
	if (err)
		return err;
	if (was != ENTRY_NONE) { /* moved between cgroups: the faults since, as for any process */
		p->mem.page_faults = faults_since(&agg->entries[was], p);
		err = leave_cgroup(agg, was);
		if (err)
			return err;
	} else { /* born during the interval (or a reused pid): all its faults are new */
		p->mem.page_faults = agg->have_baselines ? p->faults_total : 0;
	}
	agg->births[agg->nr_births].p = *p;
	agg->births[agg->nr_births].index = (__u32)agg->nr_births;
	agg->work.born++;
	return push_arrival(agg, p, ENTRY_BORN | (__u32)agg->nr_births++);
}

/* Matches this pass's processes to the kept entries; returns how many entries were met. */
static int match_pass(struct agg *agg, size_t *met)
{
	size_t i, cursor = 0;
	int err;

	agg->nr_next_order = 0;
	agg->nr_births = 0;
	if (agg->birth_index.len)
		u64map_clear(&agg->birth_index);
	agg->order_indexed = false;
	*met = 0;
	for (i = 0; i < agg->nr_procs; i++) {
		struct proc_stat *p = &agg->procs[i];
		__u32 e;

		/* no leader record (the main thread exited, or the pass raced it): no mm figures */
		if (!agg->has_leader[i])
			continue;
		err = match_entry(agg, p, &cursor, &e);
		if (err)
			return err;
		if (e != ENTRY_NONE && agg->entry_pass[e] == agg->pass)
			continue; /* the same process twice in one pass: the first stands */
		if (e != ENTRY_NONE && agg->entries[e].cgroup_id == p->cgroup_id) {
			agg->entry_pass[e] = agg->pass;
			(*met)++;
			err = update_entry(agg, e, p);
			if (!err)
				err = push_arrival(agg, p, e);
		} else {
			err = add_birth(agg, p, e);
		}
		if (err)
			return err;
	}
	return 0;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct proc_stat *x = a, *y = b;

	if (x->cgroup_id != y->cgroup_id)
		return x->cgroup_id < y->cgroup_id ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_birth(const void *a, const void *b)
{
	return cmp_proc(&((const struct birth *)a)->p, &((const struct birth *)b)->p);
}

/*
 * Exits and births move their cgroups' sums. Births come sorted: the
 * cgroups new to this pass are met in id order and merged in at once; a
 * cgroup left without processes goes.
 */
static int resum_cgroups(struct agg *agg)
{
	size_t i, at, n = 0, o = 0, fresh = 0;
	struct agg_cgroup *merged, *cg;

	for (i = 0; i < agg->nr_entries; i++) {
		const struct proc_stat *p = &agg->entries[i];

		if (agg->entry_pass[i] == agg->pass)
			continue;
		cg = cgroup_find(agg, p->cgroup_id, &at);
		if (!cg)
			return -EINVAL; /* the kept sums lost an entry's cgroup: a bug, not input */
		mem_figures__sub(&cg->mem, &p->mem);
		cg->nr_procs--;
		agg->work.gone++;
	}
	for (i = 0; i < agg->nr_births; i++) {
		const struct proc_stat *p = &agg->births[i].p;

		cg = cgroup_find(agg, p->cgroup_id, &at);
		if (!cg) {
			if (!fresh || agg->fresh_cgroups[fresh - 1].id != p->cgroup_id) {
				if (ARRAY_GROW(agg->fresh_cgroups, agg->cap_fresh_cgroups,
					       fresh + 1))
					return -ENOMEM;
				memset(&agg->fresh_cgroups[fresh], 0, sizeof(*cg));
				agg->fresh_cgroups[fresh++].id = p->cgroup_id;
			}
			cg = &agg->fresh_cgroups[fresh - 1];
		}
		mem_figures__add(&cg->mem, &p->mem);
		cg->nr_procs++;
	}
	if (ARRAY_GROW(agg->next_cgroups, agg->cap_next_cgroups, agg->nr_cgroups + fresh + 1))
		return -ENOMEM;
	merged = agg->next_cgroups;
	for (i = 0; i < agg->nr_cgroups || o < fresh;) {
		if (o < fresh &&
		    (i == agg->nr_cgroups || agg->fresh_cgroups[o].id < agg->cgroups[i].id))
			cg = &agg->fresh_cgroups[o++];
		else
			cg = &agg->cgroups[i++];
		if (cg->nr_procs)
			merged[n++] = *cg;
	}
	agg->next_cgroups = agg->cgroups;
	agg->cgroups = merged;
	at = agg->cap_cgroups;
	agg->cap_cgroups = agg->cap_next_cgroups;
	agg->cap_next_cgroups = at;
	agg->nr_cgroups = n;
	return 0;
}

/*
 * The kept entries less the exits, merged with the (sorted) births, and
 * the arrival order pointed at the new indices.
 */
static int resort_entries(struct agg *agg)
{
	size_t n = agg->nr_entries + agg->nr_births, i = 0, b = 0, w = 0, k;
	struct proc_stat *swap;

	if (ARRAY_GROW(agg->next_entries, agg->cap_next_entries, n ? n : 1) ||
	    ARRAY_GROW(agg->entry_pass, agg->cap_entry_pass, n ? n : 1) ||
	    ARRAY_GROW(agg->remap, agg->cap_remap, agg->nr_entries ? agg->nr_entries : 1) ||
	    ARRAY_GROW(agg->birth_entry, agg->cap_birth_entry, agg->nr_births ? agg->nr_births : 1))
		return -ENOMEM;
	while (i < agg->nr_entries || b < agg->nr_births) {
		/* exited, or moved (pid 0): a moved one's birth stands for it */
		if (i < agg->nr_entries &&
		    (agg->entry_pass[i] != agg->pass || !agg->entries[i].pid)) {
			agg->remap[i++] = ENTRY_NONE;
			continue;
		}
		if (b < agg->nr_births &&
		    (i == agg->nr_entries || cmp_proc(&agg->births[b].p, &agg->entries[i]) < 0)) {
			agg->birth_entry[agg->births[b].index] = (__u32)w;
			agg->next_entries[w++] = agg->births[b++].p;
		} else {
			agg->remap[i] = (__u32)w;
			agg->next_entries[w++] = agg->entries[i++];
		}
	}
	swap = agg->entries;
	agg->entries = agg->next_entries;
	agg->next_entries = swap;
	i = agg->cap_entries;
	agg->cap_entries = agg->cap_next_entries;
	agg->cap_next_entries = i;
	agg->nr_entries = w;
	for (k = 0; k < w; k++)
		agg->entry_pass[k] = agg->pass;
	for (k = 0; k < agg->nr_next_order; k++) {
		__u32 *e = &agg->next_order[k].entry;

		*e = *e & ENTRY_BORN ? agg->birth_entry[*e & ~ENTRY_BORN] : agg->remap[*e];
	}
	agg->work.resorted = true;
	return 0;
}

/* The snapshot: the kept entries and cgroups as they stand after this pass. */
static struct snapshot *new_snapshot(struct agg *agg)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	size_t i, first = 0;

	if (!snap)
		return NULL;
	snap->mono_ns = agg->mono_ns;
	snap->ts_ms = agg->ts_ms;
	snap->interval_s = agg->seen_a_pass ? (agg->mono_ns - agg->prev_mono_ns) / 1e9 : 0;
	snap->procs = malloc((agg->nr_entries ? agg->nr_entries : 1) * sizeof(*snap->procs));
	snap->cgroups = calloc(agg->nr_cgroups ? agg->nr_cgroups : 1, sizeof(*snap->cgroups));
	if (!snap->procs || !snap->cgroups) {
		snapshot__free(snap);
		return NULL;
	}
	memcpy(snap->procs, agg->entries, agg->nr_entries * sizeof(*snap->procs));
	snap->nr_procs = agg->nr_entries;
	for (i = 0; i < agg->nr_cgroups; i++) {
		const struct agg_cgroup *cg = &agg->cgroups[i];
		struct cgroup_stat *out = &snap->cgroups[i];

		out->id = cg->id;
		out->nr_procs = cg->nr_procs;
		out->first_proc = (__u32)first;
		out->mem = cg->mem;
		out->page_faults_total = cg->page_faults_total;
		out->time_to_limit_s = -1;
		first += cg->nr_procs;
	}
	snap->nr_cgroups = agg->nr_cgroups;
	return snap;
}

/*
 * Forgets the kept processes after a failed pass (their sums are
 * half-moved): the next pass meets every process as new and sets its
 * fault baselines, as the first did. The cgroups keep their running fault
 * totals, emptied, and their processes sum into them again.
 */
static void forget_kept(struct agg *agg)
{
	size_t i;

	agg->nr_entries = 0;
	agg->nr_order = 0;
	for (i = 0; i < agg->nr_cgroups; i++) {
		agg->cgroups[i].nr_procs = 0;
		memset(&agg->cgroups[i].mem, 0, sizeof(agg->cgroups[i].mem));
	}
	agg->have_baselines = false;
}

/* This pass's arrival order becomes the one the next pass's cursor walks. */
static void keep_order(struct agg *agg)
{
	struct arrival *swap = agg->order;
	size_t cap = agg->cap_order;

	agg->order = agg->next_order;
	agg->nr_order = agg->nr_next_order;
	agg->cap_order = agg->cap_next_order;
	agg->next_order = swap;
	agg->cap_next_order = cap;
}

int agg__end(struct agg *agg, struct snapshot **out)
{
	struct snapshot *snap;
	size_t met, i;
	int err;

	agg->pass++;
	memset(&agg->work, 0, sizeof(agg->work));
	err = match_pass(agg, &met);
	if (!err && (met < agg->nr_entries || agg->nr_births)) {
		qsort(agg->births, agg->nr_births, sizeof(agg->births[0]), cmp_birth);
		err = resum_cgroups(agg);
		if (!err)
			err = resort_entries(agg);
	}
	if (err) {
		/* the kept state is half-moved: start again from the next pass's records */
		forget_kept(agg);
		return err;
	}
	keep_order(agg);
	/* running fault totals, for cgroups with processes now: an emptied one starts again */
	for (i = 0; i < agg->nr_cgroups; i++)
		agg->cgroups[i].page_faults_total += agg->cgroups[i].mem.page_faults;
	snap = new_snapshot(agg);
	/* the kept state has moved to this pass, whether or not its snapshot could be made */
	agg->seen_a_pass = true;
	agg->have_baselines = true;
	agg->prev_mono_ns = agg->mono_ns;
	if (!snap)
		return -ENOMEM;
	*out = snap;
	return 0;
}

void agg__work(const struct agg *agg, struct agg_work *out)
{
	*out = agg->work;
}
