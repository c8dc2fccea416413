// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A stand-in for the malloc-family probes, for bench/ringbuf_bench: the
 * uprobes cannot fire 1 M times a second on a small VM (each trap costs
 * ~0.6 us plus the program), but a syscall tracepoint can. Each getppid()
 * of the bench process writes what a sampled malloc+free pair writes: one
 * allocation record with a real user stack stored the way the probes store
 * it, and one free record, into memobs's own ring buffer, stack map and
 * stats (the maps are reused from the loaded attribution object by fd).
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#define MEMOBS_ATTR_DEFINE_MAPS
#include "attr_stack.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load. */
const volatile __u32 bench_tgid = 0;
const volatile __u64 wakeup_bytes = 1024 * 1024;
/* Allocations outstanding at any time: the free record trails by this many. */
#define OUTSTANDING 1024
#define BLOCK_SIZE 64

__u64 pairs_made = 0; /* one producer thread: no race */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* replaced by memobs's map */
} memobs_attr_events SEC(".maps");

/* The same wake-up policy as alloc_trace.bpf.c: only once a quarter is full. */
static __always_inline __u64 wakeup_flags(void)
{
	return bpf_ringbuf_query(&memobs_attr_events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
		       ? BPF_RB_FORCE_WAKEUP
		       : BPF_RB_NO_WAKEUP;
}

static __always_inline void emit_alloc(void *ctx, __u32 tgid, __u64 addr)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct memobs_alloc_rec *rec;

	rec = bpf_ringbuf_reserve(&memobs_attr_events, sizeof(*rec), 0);
	if (!rec) {
		memobs_attr_count(MEMOBS_ATTR_STAT_RINGBUF_DROPS);
		return;
	}
	memobs_attr_count(MEMOBS_ATTR_STAT_SAMPLED);
	rec->type = MEMOBS_REC_ALLOC;
	rec->pid = tgid;
	rec->cgroup_id = bpf_get_current_cgroup_id();
	rec->addr = addr;
	rec->size = BLOCK_SIZE;
	rec->ts_ns = bpf_ktime_get_ns();
	rec->stack_id =
		memobs_attr_stack_id(ctx, 0, tgid, BPF_CORE_READ(task, group_leader, start_time));
	bpf_ringbuf_submit(rec, wakeup_flags());
}

static __always_inline void emit_free(__u32 tgid, __u64 addr)
{
	struct memobs_free_rec *rec;

	rec = bpf_ringbuf_reserve(&memobs_attr_events, sizeof(*rec), 0);
	if (!rec) {
		memobs_attr_count(MEMOBS_ATTR_STAT_RINGBUF_DROPS);
		return;
	}
	memobs_attr_count(MEMOBS_ATTR_STAT_FREES);
	rec->type = MEMOBS_REC_FREE;
	rec->pid = tgid;
	rec->addr = addr;
	rec->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(rec, wakeup_flags());
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int memobs_bench_produce(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 n;

	if (tgid != bench_tgid)
		return 0;
	n = pairs_made++;
	emit_alloc(ctx, tgid, 0x10000000ULL + (n % (2 * OUTSTANDING)) * BLOCK_SIZE);
	emit_free(tgid, 0x10000000ULL + ((n + OUTSTANDING) % (2 * OUTSTANDING)) * BLOCK_SIZE);
	return 0;
}
