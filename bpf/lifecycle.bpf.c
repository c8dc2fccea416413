// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The always-on tier's one event: the OOM killer chose a victim. The rare,
 * urgent thing a once-per-interval sampler cannot see: a BTF tracepoint (no
 * tracefs needed) where the kernel passes the victim, else the classic one.
 * Processes that start and exit are the sampler's: the next pass sees them.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memobs.h"
#include "stats.bpf.h"
#include "task_mem.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Size set by userspace before load (bpf_map__set_max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} memobs_events SEC(".maps");

/*
 * mark_victim runs in the context of the task that triggered the OOM killer,
 * which may sit in another cgroup: attribute the kill to the victim's task.
 * Since Linux 6.8 (commit 72ba14deb40a, "mm: add uid to mark_victim
 * tracepoint") the tracepoint passes the task; before, only its pid.
 */
SEC("tp_btf/mark_victim")
int BPF_PROG(memobs_oom_victim, struct task_struct *victim)
{
	struct mm_struct *mm = victim->mm; /* a BTF pointer: plain loads below */
	struct memobs_mm_pages pages;
	struct memobs_event *ev;

	ev = bpf_ringbuf_reserve(&memobs_events, sizeof(*ev), 0);
	if (!ev) {
		memobs_count(MEMOBS_STAT_RINGBUF_DROPS);
		return 0;
	}
	ev->type = MEMOBS_REC_OOM;
	ev->pid = BPF_CORE_READ(victim, tgid);
	ev->cgroup_id = memobs_task_cgroup_id(victim);
	ev->ts_ns = bpf_ktime_get_ns();
	ev->anon_rss_pages = 0;
	ev->file_rss_pages = 0;
	ev->shmem_rss_pages = 0;
	BPF_CORE_READ_STR_INTO(&ev->comm, victim, comm);
	if (mm) {
		/* a victim is large: the global counts are close enough */
		memobs_read_mm_pages(mm, &pages, NULL, 0);
		ev->anon_rss_pages = pages.anon;
		ev->file_rss_pages = pages.file;
		ev->shmem_rss_pages = pages.shmem;
	}
	/* a kill is news: wake the consumer now rather than at its next tick */
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	memobs_count(MEMOBS_STAT_EVENTS);
	return 0;
}

/* The pre-6.8 form: the victim is known by pid only; userspace finds its cgroup. */
struct mark_victim_pid_args {
	__u64 unused;
	int pid;
};

SEC("tracepoint/oom/mark_victim")
int memobs_oom_victim_pid(struct mark_victim_pid_args *ctx)
{
	struct memobs_event *ev;

	ev = bpf_ringbuf_reserve(&memobs_events, sizeof(*ev), 0);
	if (!ev) {
		memobs_count(MEMOBS_STAT_RINGBUF_DROPS);
		return 0;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->type = MEMOBS_REC_OOM;
	ev->pid = ctx->pid;
	ev->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	memobs_count(MEMOBS_STAT_EVENTS);
	return 0;
}
