/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the two units of the attribution object (alloc_trace, mm_trace)
 * share: the stats counters and the deduplicated user stacks. alloc_trace
 * defines the maps (MEMOBS_ATTR_DEFINE_MAPS); mm_trace declares them extern
 * and the static linker (bpftool gen object) resolves them to one map.
 */
#ifndef MEMOBS_ATTR_STACK_BPF_H
#define MEMOBS_ATTR_STACK_BPF_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "memobs.h"

#ifndef E2BIG
#define E2BIG 7
#endif
#ifndef ENOMEM
#define ENOMEM 12
#endif

#ifdef MEMOBS_ATTR_DEFINE_MAPS
#define MEMOBS_ATTR_MAP
#else
#define MEMOBS_ATTR_MAP extern
#endif

MEMOBS_ATTR_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MEMOBS_ATTR_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} memobs_attr_stats SEC(".maps");

/* stack id (a hash of pid, start time and frames) -> frames; sized by userspace */
MEMOBS_ATTR_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MEMOBS_ATTR_MAX_STACKS);
	__type(key, __u64);
	__type(value, struct memobs_stack);
} memobs_attr_stacks SEC(".maps");

/* cgroup v2 id -> 1: the cgroups under watch; userspace adds and removes suspects (watch.bpf.h). */
MEMOBS_ATTR_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MEMOBS_MAX_WATCHED_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
} memobs_watched_cgroups SEC(".maps");

/* A stack is too big for the BPF stack (512 bytes): built here first. */
MEMOBS_ATTR_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct memobs_stack);
} memobs_attr_stack_scratch SEC(".maps");

static __always_inline void memobs_attr_add(enum memobs_attr_stat stat, __u64 n)
{
	__u32 key = stat;
	__u64 *value = bpf_map_lookup_elem(&memobs_attr_stats, &key);

	if (value)
		*value += n;
}

static __always_inline void memobs_attr_count(enum memobs_attr_stat stat)
{
	memobs_attr_add(stat, 1);
}

/*
 * The current user stack, stored once; returns its id, or 0 when it could
 * not be kept. ret_addr, when non-zero, replaces frame 0 (the probed
 * instruction, inside the hooked function): at an entry probe the direct
 * caller's return address sits at [rsp], and the frame-pointer walk, which
 * starts from the caller's rbp, would skip that caller. Kernels since 6.11
 * add [rsp] themselves when the probe sits on `push %rbp` or `endbr64`
 * (perf_callchain_user, is_uprobe_at_func_entry); then frame 1 already is
 * the caller and frame 0 is zeroed (userspace skips zero frames).
 */
static __always_inline __u64 memobs_attr_stack_id(void *ctx, __u64 ret_addr, __u32 pid,
						  __u64 start_time_ns)
{
	__u32 zero = 0, i;
	struct memobs_stack *st = bpf_map_lookup_elem(&memobs_attr_stack_scratch, &zero);
	__u64 hash = 0xcbf29ce484222325ULL ^ pid ^ (start_time_ns << 20);
	long bytes, err;

	if (!st)
		return 0;
	bytes = bpf_get_stack(ctx, st->ips, sizeof(st->ips), BPF_F_USER_STACK);
	if (bytes <= 0)
		return 0;
	st->nr = bytes / sizeof(__u64);
	st->pid = pid;
	if (ret_addr)
		st->ips[0] = (st->nr > 1 && st->ips[1] == ret_addr) ? 0 : ret_addr;
	for (i = 0; i < MEMOBS_ATTR_STACK_DEPTH; i++) {
		if (i >= st->nr)
			break;
		hash = (hash ^ st->ips[i]) * 0x100000001b3ULL;
	}
	hash |= 1; /* 0 means "no stack" */
	if (bpf_map_lookup_elem(&memobs_attr_stacks, &hash))
		return hash;
	err = bpf_map_update_elem(&memobs_attr_stacks, &hash, st, BPF_NOEXIST);
	if (err == -E2BIG || err == -ENOMEM) {
		memobs_attr_count(MEMOBS_ATTR_STAT_STACKS_FULL);
		return 0;
	}
	return hash; /* stored, or raced with another CPU storing the same stack */
}

#endif /* MEMOBS_ATTR_STACK_BPF_H */
