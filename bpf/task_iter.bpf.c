// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The always-on sampler, run by userspace once per interval, in one of two
 * forms:
 *  - memobs_walk_procs (Linux 6.7+): a syscall program that walks the
 *    processes with the open-coded task iterator (BPF_TASK_ITER_ALL_PROCS)
 *    and writes one record per process into memobs_procs; the other live
 *    threads of a process are visited, to sum their fault counts, only when
 *    a cheap figure of the process changed and every few passes (re-reading
 *    by change, docs/output.md);
 *  - memobs_iter_task: an iter/task program, one seq_file record per thread
 *    (the kernel calls the program once per thread), for older kernels.
 * Their cost grows with the number of processes (threads) alive, not with
 * what they do, so nothing is added to page faults, syscalls or allocations.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "memobs.h"
#include "task_mem.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Possible CPUs, set before load: the exact RSS sums their per-CPU parts. */
const volatile __u32 memobs_nr_cpus = 0;

/*
 * A one-element per-CPU array whose element addresses give each CPU's
 * per-CPU offset: bpf_map_lookup_percpu_elem() returns per_cpu_ptr(p, cpu)
 * and the array holds p itself (bpf_array.pptrs[0]).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} memobs_cpu_probe SEC(".maps");

__u64 memobs_cpu_offsets[MEMOBS_MAX_CPUS];
__u32 memobs_cpu_offsets_known; /* CPUs whose offsets are learnt (0: not yet) */

/* A pointer's value as a plain number: the verifier forbids arithmetic between pointer kinds. */
static __always_inline __u64 address_of(const void *const *slot)
{
	__u64 addr = 0;

	bpf_probe_read_kernel(&addr, sizeof(addr), slot);
	return addr;
}

static __always_inline __u32 learn_cpu_offsets(void)
{
	const void *map = &memobs_cpu_probe, *elem;
	__u64 pptr = 0, map_addr;
	__u32 zero = 0, cpu;

	if (memobs_cpu_offsets_known || !memobs_nr_cpus ||
	    !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_map_lookup_percpu_elem))
		return memobs_cpu_offsets_known;
	map_addr = address_of(&map);
	bpf_probe_read_kernel(
		&pptr, sizeof(pptr),
		(const void *)(map_addr + bpf_core_field_offset(struct bpf_array, pptrs)));
	for (cpu = 0; cpu < MEMOBS_MAX_CPUS && cpu < memobs_nr_cpus; cpu++) {
		elem = bpf_map_lookup_percpu_elem(&memobs_cpu_probe, &zero, cpu);
		if (!elem || !pptr)
			return 0;
		memobs_cpu_offsets[cpu] = address_of(&elem) - pptr;
	}
	memobs_cpu_offsets_known = cpu;
	return cpu;
}

/*
 * ctx->task is a trusted BTF pointer: fields are read with plain loads
 * (turned into fault-safe loads by the verifier), not one
 * bpf_probe_read_kernel() call per field as BPF_CORE_READ does; with tens of
 * fields per process that halves the cost of a pass. The accesses are CO-RE
 * relocated all the same (vmlinux.h types carry preserve_access_index).
 */
SEC("iter/task")
int memobs_iter_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct memobs_task_rec rec = {};
	struct memobs_mm_pages pages;
	struct mm_struct *mm;

	if (!task)
		return 0;
	/* Kernel threads and tasks past exit_mm() own no user memory. */
	mm = task->mm;
	if (!mm)
		return 0;

	rec.type = MEMOBS_REC_TASK;
	rec.pid = task->tgid;
	rec.tid = task->pid;
	rec.cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	rec.start_time_ns = task->group_leader->start_time;
	rec.min_flt = task->min_flt;
	rec.maj_flt = task->maj_flt;

	if (rec.pid == rec.tid) {
		rec.flags = MEMOBS_TASK_LEADER;
		/* Faults of threads that already exited were folded in here. */
		rec.min_flt += task->signal->min_flt;
		rec.maj_flt += task->signal->maj_flt;
		memobs_read_mm_pages(mm, &pages, memobs_cpu_offsets, learn_cpu_offsets());
		rec.anon_rss_pages = pages.anon;
		rec.file_rss_pages = pages.file;
		rec.shmem_rss_pages = pages.shmem;
		rec.swap_pages = pages.swap;
		rec.data_vm_pages = mm->data_vm;
		rec.total_vm_pages = mm->total_vm;
		rec.heap_bytes = mm->brk - mm->start_brk;
		__builtin_memcpy(rec.comm, task->comm, sizeof(rec.comm));
	}

	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}

/* ---- the process walk (open-coded task iterator) ---- */

extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task,
			     unsigned int flags) __weak __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __weak __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __weak __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __weak __ksym;
extern void bpf_task_release(struct task_struct *p) __weak __ksym;
extern void bpf_rcu_read_lock(void) __weak __ksym;
extern void bpf_rcu_read_unlock(void) __weak __ksym;

/*
 * One record per process, written by memobs_walk_procs and read by userspace
 * through mmap(); max_entries is set before load from the processes alive.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct memobs_task_rec);
} memobs_procs SEC(".maps");

/*
 * The last walk: records written, processes that did not fit in memobs_procs
 * (userspace falls back then). Counted in memory rather than in registers so
 * that the verifier sees an unknown index, not one state per value, and the
 * iterator loop converges.
 */
__u32 memobs_walk_nr;
__u64 memobs_walk_missed;

/*
 * RSS exactness (docs/output.md): a counter's per-CPU parts are summed only
 * while its global count is below this many pages, set by userspace to
 * 100 x the count's worst-case error (batch x CPUs), so that above it the
 * cheaper global count is within 1%. ~0: below any value.
 */
const volatile __u64 memobs_exact_below_pages = ~0ULL;
/*
 * Re-reading by change (docs/output.md): a process's live threads' faults
 * and its counters' per-CPU parts are re-read when a cheap figure of it
 * changed since the last pass, and at least every memobs_rescan_passes
 * passes (staggered by pid: (pass + pid) % N == 0), or more on a node of
 * many threads or CPUs (the budgets below); 1: every pass.
 */
const volatile __u32 memobs_rescan_passes = 1;
/*
 * Per-CPU loads a pass may spend on the per-CPU parts of processes that
 * changed (new processes are not counted against it): a process beyond it
 * keeps its last per-CPU parts and is re-read by the next pass with room,
 * or when due. The due re-reads are spread to cost about as much again: a
 * process's per-CPU parts are due every memobs_walk_rss_period passes, the
 * rescan period or more, so that the last pass's processes x 4 counters x
 * CPUs loads take at least that many budgets (docs/output.md). ~0: no limit.
 */
const volatile __u64 memobs_exact_budget_loads = ~0ULL;
/*
 * Thread visits a pass's due fault walks should take, about: a process's
 * other live threads are due every memobs_walk_thread_period passes, the
 * rescan period or more, so that the last pass's other threads take at
 * least that many budgets (a JVM- or Go-heavy node then pays per process,
 * not per thread). A process whose cheap figures changed is walked anyway.
 * 0: no limit.
 */
const volatile __u32 memobs_walk_thread_budget = 0;

/*
 * What the walk saw of a process at its last pass. The cheap figures tell
 * whether anything changed; the costly ones are reused while nothing did.
 */
struct memobs_proc_state {
	__s64 rss_count[4];  /* the counters' global counts (cheap) */
	__s64 rss_deltas[4]; /* their per-CPU parts, as last summed (costly) */
	__u64 total_vm;
	__u64 signal_flt;     /* faults of threads that exited (cheap) */
	__u64 leader_flt;     /* the leader thread's own (cheap) */
	__u64 others_min_flt; /* the other live threads', as last walked (costly) */
	__u64 others_maj_flt;
	__u32 nr_threads;
	__u32 seen;	 /* 0: just created */
	__u32 rss_owed;	 /* changed while the budget was spent: re-read at the next chance */
	__u32 rss_pass;	 /* the pass that last summed the per-CPU parts */
	__u32 walk_pass; /* the pass that last walked the other threads */
	__u32 pad;
};

/*
 * The states, kept in walk order: the walk meets processes in the task
 * list's order (creation order: a new process joins at the tail), so a
 * process's state of the last pass is found by a cursor, not by a lookup
 * per process (task local storage cost more than the rest of a quiet
 * process's reading, bench/RESULTS.md). Two halves of memobs_walk_cap
 * slots each, the last pass's and this pass's, alternating; max_entries is
 * set before load to 2 x memobs_walk_cap.
 */
struct memobs_walk_slot {
	__u32 pid;
	__u32 pad;
	__u64 start_time_ns; /* with pid, names the process: a reused pid starts afresh */
	struct memobs_proc_state st;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct memobs_walk_slot);
} memobs_walk_slots SEC(".maps");

/* Slots a half: memobs_procs's max_entries, set before load. */
const volatile __u32 memobs_walk_cap = 1;

/* Passes run (the stagger of the rescans), and what the last one did. */
__u32 memobs_walk_pass;
__u64 memobs_walk_threads_walked; /* processes whose live threads were walked */
__u64 memobs_walk_rss_summed;	  /* processes whose per-CPU parts were summed */
__u64 memobs_walk_budget_left;
__u32 memobs_walk_rss_period;	 /* passes between due re-reads of the per-CPU parts */
__u64 memobs_walk_others;	 /* live threads besides the leaders, this pass */
__u32 memobs_walk_thread_period; /* passes between due walks of a process's threads */
__u64 memobs_walk_found; /* processes whose state the cursor did not find in place, found by start */
__u64 memobs_walk_lost;	 /* met, neither new nor found: read in full, as if new */
__u64 memobs_walk_started; /* when the last pass started (CLOCK_MONOTONIC, as start_time) */
/* The cursor into the last pass's half: in memory, so the iterator loop converges. */
__u32 memobs_walk_cursor;

/*
 * One counter's per-CPU deltas: a global function, verified once by itself
 * rather than for every path through the iterator loop that calls it.
 */
__noinline __s64 memobs_walk_deltas(__u64 counters, __u32 nr_cpus)
{
	return memobs_percpu_deltas((const __s32 *)counters, memobs_cpu_offsets, nr_cpus);
}

__u64 memobs_walk_counters_addr;

/* A counter's global count (before 6.2: the exact atomic; the walk needs 6.7 anyway). */
static __always_inline __s64 walk_count(struct mm_struct *mm, int member)
{
	if (bpf_core_type_exists(struct mm_rss_stat___pre62))
		return memobs_mm_counter(mm, member, NULL, 0);
	return mm->rss_stat[member].count;
}

/*
 * The current process's decisions, in memory rather than in registers: the
 * verifier then sees unknown values, not one state per combination, and the
 * iterator loop converges.
 */
struct memobs_walk_decision {
	__u32 changed; /* a cheap figure changed (or the process is due, or new) */
	__u32 moved;   /* a cheap figure changed */
	__u32 sum_rss; /* sum the per-CPU parts now */
};
static struct memobs_walk_decision memobs_walk_cur;

/*
 * A counter in pages: its global count plus its per-CPU parts, summed now
 * (memobs_walk_cur.sum_rss) or as last summed (st), for a count below the
 * exactness bound.
 */
static __always_inline __u64 walk_mm_counter(struct mm_struct *mm, int member, __s64 count,
					     struct memobs_proc_state *st, __u32 nr_cpus)
{
	__s64 deltas = 0;

	if (!bpf_core_type_exists(struct mm_rss_stat___pre62) && nr_cpus &&
	    (count < 0 || (__u64)count < memobs_exact_below_pages)) {
		if (*(volatile __u32 *)&memobs_walk_cur.sum_rss) {
			/*
			 * A global function takes scalars, not a BTF pointer: the
			 * pointer goes through memory (a volatile store and load, so
			 * that the compiler keeps them) and comes back as a number.
			 */
			*(volatile __u64 *)&memobs_walk_counters_addr =
				(__u64)mm->rss_stat[member].counters;
			deltas = memobs_walk_deltas(*(volatile __u64 *)&memobs_walk_counters_addr,
						    nr_cpus);
		} else {
			deltas = st->rss_deltas[member];
		}
	}
	st->rss_count[member] = count;
	st->rss_deltas[member] = deltas;
	count += deltas;
	return count < 0 ? 0 : count;
}

/*
 * The faults of a process's live threads, summed over them; the walk runs
 * under RCU: a thread exiting meanwhile may be counted in both
 * signal_struct's sum and here, or in neither, as with iter/task.
 */
static __always_inline void sum_live_faults(struct task_struct *leader,
					    struct memobs_proc_state *sums)
{
	struct task_struct *ref, *t;
	struct bpf_iter_task it;

	/* the thread iterator takes a trusted task: a reference, not an RCU pointer */
	ref = bpf_task_acquire(leader);
	if (!ref)
		return;
	/* sums in memory, not in registers: the loop then converges in the verifier */
	if (!bpf_iter_task_new(&it, ref, BPF_TASK_ITER_PROC_THREADS))
		while ((t = bpf_iter_task_next(&it))) {
			sums->others_min_flt += t->min_flt;
			sums->others_maj_flt += t->maj_flt;
		}
	bpf_iter_task_destroy(&it);
	bpf_task_release(ref);
}

/*
 * Passes between a process's due re-reads of some costly figure: the
 * rescan period, or more when re-reading every process's once (round: its
 * cost over the last pass, in the budget's unit) would cost more than a
 * budget a pass, as on a many-CPU or many-thread node. Budget 0 or ~0: no
 * limit.
 */
static __u32 spread_period(__u64 round, __u64 budget)
{
	__u64 period;

	if (memobs_rescan_passes <= 1 || !budget || budget == ~0ULL)
		return memobs_rescan_passes ? memobs_rescan_passes : 1;
	period = (round + budget - 1) / budget;
	if (period < memobs_rescan_passes)
		period = memobs_rescan_passes;
	return period > 4096 ? 4096 : period;
}

/*
 * A costly figure is due: every pass (rescan 1), for a new process, by the
 * stagger ((pass + pid) % period == 0), or by age: the period follows the
 * processes or threads of the node, and one that changed between passes
 * must not leave a process unread for longer than the period.
 */
static __always_inline bool due_now(__u32 pass, __u32 pid, bool seen, __u32 last_pass, __u32 period)
{
	return memobs_rescan_passes <= 1 || !seen || (pass + pid) % period == 0 ||
	       pass - last_pass >= period;
}

/*
 * The slot of the last pass's half holding this process, searched by start
 * time (the half is in creation order, hence by start time, but for forks
 * that raced each other to the task list): its index, or -1. A global
 * function, verified once by itself.
 */
__noinline int memobs_walk_find(__u32 base, __u32 n, __u64 start, __u32 pid)
{
	const struct memobs_walk_slot *slot;
	__u32 lo = 0, hi = n, mid, key, i;

	for (i = 0; i < 32 && lo < hi; i++) {
		mid = lo + (hi - lo) / 2;
		key = base + mid;
		slot = bpf_map_lookup_elem(&memobs_walk_slots, &key);
		if (!slot)
			return -1;
		if (slot->start_time_ns < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= n)
		return -1;
	key = base + lo;
	slot = bpf_map_lookup_elem(&memobs_walk_slots, &key);
	if (!slot || slot->pid != pid || slot->start_time_ns != start)
		return -1;
	return lo;
}

/* The last pass's slot at this index of its half, if it holds this process. */
static __always_inline struct memobs_walk_slot *slot_if(__u32 base, __u32 at, __u32 n, __u32 pid,
							__u64 start)
{
	struct memobs_walk_slot *slot;
	__u32 key = base + at;

	if (at >= n)
		return NULL;
	slot = bpf_map_lookup_elem(&memobs_walk_slots, &key);
	if (!slot || slot->pid != pid || slot->start_time_ns != start)
		return NULL;
	return slot;
}

/*
 * The last pass's slot of this process: where the cursor stands, one
 * further (a process before it exited), or searched (more exited, or the
 * order changed); the cursor then goes on from it. NULL: a new process.
 */
static __always_inline struct memobs_walk_slot *last_slot(__u32 base, __u32 n, __u32 pid,
							  __u64 start)
{
	struct memobs_walk_slot *slot;
	__u32 at = *(volatile __u32 *)&memobs_walk_cursor;
	int found;

	slot = slot_if(base, at, n, pid, start);
	if (!slot) {
		at++;
		slot = slot_if(base, at, n, pid, start);
	}
	if (!slot) {
		found = memobs_walk_find(base, n, start, pid);
		if (found < 0)
			return NULL;
		at = found;
		slot = slot_if(base, at, n, pid, start);
		if (!slot)
			return NULL;
		memobs_walk_found++;
	}
	*(volatile __u32 *)&memobs_walk_cursor = at + 1;
	return slot;
}

/*
 * Run with BPF_PROG_TEST_RUN. Returns 0 and the count in memobs_walk_nr, or
 * -1 when the iterator could not start (userspace then runs iter/task).
 */
SEC("syscall")
int memobs_walk_procs(void *ctx)
{
	struct task_struct *task;
	struct bpf_iter_task it;
	__u32 nr_cpus, pass, last_nr, walk_period, last_base, base;
	__u64 last_started;
	int err;

	last_nr = memobs_walk_nr;
	memobs_walk_nr = 0;
	memobs_walk_missed = 0;
	memobs_walk_threads_walked = 0;
	memobs_walk_rss_summed = 0;
	memobs_walk_budget_left = memobs_exact_budget_loads;
	pass = memobs_walk_pass++;
	/* the halves alternate: the last pass's is read, this pass's written */
	base = (pass & 1) * memobs_walk_cap;
	last_base = memobs_walk_cap - base;
	if (last_nr > memobs_walk_cap)
		last_nr = memobs_walk_cap;
	memobs_walk_found = 0;
	memobs_walk_lost = 0;
	memobs_walk_cursor = 0;
	last_started = memobs_walk_started;
	memobs_walk_started = bpf_ktime_get_ns();
	nr_cpus = learn_cpu_offsets();
	/* per-CPU parts: 4 counters x CPUs loads a process; thread walks: a visit a thread */
	memobs_walk_rss_period =
		spread_period((__u64)last_nr * 4 * nr_cpus, memobs_exact_budget_loads);
	walk_period = spread_period(memobs_walk_others, memobs_walk_thread_budget);
	memobs_walk_thread_period = walk_period;
	memobs_walk_others = 0;
	/* a syscall program is sleepable: the iterator wants an RCU read-side section */
	bpf_rcu_read_lock();
	err = bpf_iter_task_new(&it, NULL, BPF_TASK_ITER_ALL_PROCS);
	while (!err && (task = bpf_iter_task_next(&it))) {
		struct memobs_walk_slot *slot, *was;
		struct memobs_proc_state *st;
		struct memobs_task_rec *rec;
		struct signal_struct *sig;
		struct mm_struct *mm;
		__u32 idx = memobs_walk_nr, nr_threads, key;
		__u64 signal_flt, leader_flt, cost;
		__s64 anon, file, shmem, swap;
		bool due;
		long others;

		/* kernel threads, init_task, and a leader past exit_mm() (as iter/task) */
		mm = task->mm;
		if (!mm)
			continue;
		rec = bpf_map_lookup_elem(&memobs_procs, &idx);
		if (!rec) {
			memobs_walk_missed++;
			continue;
		}
		sig = task->signal;
		rec->type = MEMOBS_REC_TASK;
		rec->flags = MEMOBS_TASK_LEADER | MEMOBS_TASK_PROCESS;
		rec->pid = task->tgid;
		rec->tid = task->pid;
		rec->cgroup_id = task->cgroups->dfl_cgrp->kn->id;
		rec->start_time_ns = task->start_time;
		nr_threads = sig->nr_threads;
		rec->nr_threads = nr_threads;
		/* the cheap figures: this task_struct, its signal_struct and mm */
		rec->min_flt = sig->min_flt + task->min_flt;
		rec->maj_flt = sig->maj_flt + task->maj_flt;
		signal_flt = sig->min_flt + sig->maj_flt;
		leader_flt = task->min_flt + task->maj_flt;
		anon = walk_count(mm, MM_ANONPAGES);
		file = walk_count(mm, MM_FILEPAGES);
		shmem = walk_count(mm, MM_SHMEMPAGES);
		swap = walk_count(mm, MM_SWAPENTS);

		/* this process's slot of this pass, from its slot of the last (or new) */
		key = base + idx;
		slot = bpf_map_lookup_elem(&memobs_walk_slots, &key);
		if (!slot) { /* cannot be (twice memobs_procs's slots): as a full array */
			memobs_walk_missed++;
			continue;
		}
		was = last_slot(last_base, last_nr, rec->pid, rec->start_time_ns);
		if (was) {
			slot->st = was->st;
		} else {
			__builtin_memset(&slot->st, 0, sizeof(slot->st));
			/* not new (started before the last pass), yet not found: counted */
			if (rec->start_time_ns < last_started)
				memobs_walk_lost++;
		}
		slot->pid = rec->pid;
		slot->start_time_ns = rec->start_time_ns;
		st = &slot->st;
		due = due_now(pass, rec->pid, st->seen, st->walk_pass, walk_period);
		memobs_walk_cur.moved =
			st->total_vm != mm->total_vm || st->signal_flt != signal_flt ||
			st->leader_flt != leader_flt || st->nr_threads != nr_threads ||
			st->rss_count[0] != file || st->rss_count[1] != anon ||
			st->rss_count[2] != swap || st->rss_count[3] != shmem;
		memobs_walk_cur.changed = due || *(volatile __u32 *)&memobs_walk_cur.moved;
		if (!*(volatile __u32 *)&memobs_walk_cur.changed)
			rec->flags |= MEMOBS_TASK_UNCHANGED;

		/* re-read now (a single thread needs no walk): the age of its walk starts again */
		if (*(volatile __u32 *)&memobs_walk_cur.changed)
			st->walk_pass = pass;
		/* signal->nr_threads counts the live threads; one needs no walk */
		if (nr_threads <= 1) {
			st->others_min_flt = 0;
			st->others_maj_flt = 0;
		} else if (*(volatile __u32 *)&memobs_walk_cur.changed) {
			st->others_min_flt = 0;
			st->others_maj_flt = 0;
			sum_live_faults(task, st);
			/*
			 * The walk counted the leader too: take off what it shows now.
			 * Faults it took during the walk are then left out until the
			 * next walk (never counted twice).
			 */
			others = st->others_min_flt - task->min_flt;
			st->others_min_flt = others < 0 ? 0 : others;
			others = st->others_maj_flt - task->maj_flt;
			st->others_maj_flt = others < 0 ? 0 : others;
			memobs_walk_threads_walked++;
		} else {
			rec->flags |= MEMOBS_TASK_FAULTS_CACHED;
		}
		rec->min_flt += st->others_min_flt;
		rec->maj_flt += st->others_maj_flt;

		/* the per-CPU parts: when due, else when changed and the budget allows */
		cost = 4 * nr_cpus;
		due = due_now(pass, rec->pid, st->seen, st->rss_pass, memobs_walk_rss_period);
		memobs_walk_cur.sum_rss = due;
		if (!due && (*(volatile __u32 *)&memobs_walk_cur.moved || st->rss_owed)) {
			if (memobs_walk_budget_left >= cost) {
				memobs_walk_budget_left -= cost;
				memobs_walk_cur.sum_rss = 1;
			}
			st->rss_owed = !memobs_walk_cur.sum_rss;
		}
		if (*(volatile __u32 *)&memobs_walk_cur.sum_rss) {
			st->rss_owed = 0;
			st->rss_pass = pass;
			memobs_walk_rss_summed++;
		} else {
			rec->flags |= MEMOBS_TASK_RSS_CACHED;
		}
		rec->anon_rss_pages = walk_mm_counter(mm, MM_ANONPAGES, anon, st, nr_cpus);
		rec->file_rss_pages = walk_mm_counter(mm, MM_FILEPAGES, file, st, nr_cpus);
		rec->shmem_rss_pages = walk_mm_counter(mm, MM_SHMEMPAGES, shmem, st, nr_cpus);
		rec->swap_pages = walk_mm_counter(mm, MM_SWAPENTS, swap, st, nr_cpus);
		rec->data_vm_pages = mm->data_vm;
		rec->total_vm_pages = mm->total_vm;
		rec->heap_bytes = mm->brk - mm->start_brk;
		__builtin_memcpy(rec->comm, task->comm, sizeof(rec->comm));
		st->total_vm = mm->total_vm;
		st->signal_flt = signal_flt;
		st->leader_flt = leader_flt;
		st->nr_threads = nr_threads;
		st->seen = 1;
		if (nr_threads > 1)
			memobs_walk_others += nr_threads - 1;
		memobs_walk_nr = idx + 1;
	}
	bpf_iter_task_destroy(&it);
	bpf_rcu_read_unlock();
	return err ? -1 : 0;
}
