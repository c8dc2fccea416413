// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Raw address-space growth and first touches, for leaks that bypass malloc
 * (runtimes with their own allocators): mmap, munmap, mremap and brk through
 * their syscall tracepoints (classic: tracefs must be mounted), user page
 * faults through the BTF tracepoint. Only tasks of watched cgroups (or every
 * task with memobs_watch_all) are counted, aggregated per CPU by (cgroup,
 * pid, stack, kind): nothing crosses the ring buffer.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memobs.h"
#include "attr_stack.bpf.h"
#include "watch.bpf.h"

#define MAP_ANONYMOUS 0x20
#define PAGE_SIZE 4096

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MEMOBS_ATTR_MAX_MM_SITES);
	__type(key, struct memobs_mm_key);
	__type(value, struct memobs_mm_val);
} memobs_attr_mm_sites SEC(".maps");

/*
 * A syscall between its enter and exit, by thread: its own map, so an
 * allocation whose malloc calls mmap inside never shares a record with the
 * uprobe side (alloc_trace keys its calls by thread and stack pointer).
 */
struct mm_call {
	__u64 len;
	__u64 old_brk;
	__u32 kind;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MEMOBS_ATTR_MAX_INFLIGHT);
	__type(key, __u32);
	__type(value, struct mm_call);
} memobs_attr_mm_calls SEC(".maps");

static __always_inline void count_site(void *ctx, __u32 kind, __u64 bytes, __u64 ret_addr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct memobs_mm_key key = {
		.cgroup_id = bpf_get_current_cgroup_id(),
		.pid = bpf_get_current_pid_tgid() >> 32,
		.kind = kind,
	};
	struct memobs_mm_val zero = {}, *val;
	long err;

	key.stack_id = memobs_attr_stack_id(ctx, ret_addr, key.pid,
					    BPF_CORE_READ(task, group_leader, start_time));
	val = bpf_map_lookup_elem(&memobs_attr_mm_sites, &key);
	if (!val) {
		err = bpf_map_update_elem(&memobs_attr_mm_sites, &key, &zero, BPF_NOEXIST);
		if (err == -E2BIG || err == -ENOMEM) {
			memobs_attr_count(MEMOBS_ATTR_STAT_MM_FULL);
			return;
		}
		val = bpf_map_lookup_elem(&memobs_attr_mm_sites, &key);
		if (!val)
			return;
	}
	val->count += 1;
	val->bytes += bytes;
	memobs_attr_count(MEMOBS_ATTR_STAT_MM_EVENTS);
}

/*
 * The caller of the libc syscall wrapper: the wrappers (mmap64, munmap, brk)
 * are leaves that leave rsp alone, so [rsp] is their return address. Where a
 * runtime issues the syscall inline, this frame is whatever the stack holds:
 * the frames after it still come from the frame-pointer walk.
 */
static __always_inline __u64 wrapper_return_address(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u64 sp = BPF_CORE_READ(regs, sp), ret_addr = 0;

	bpf_probe_read_user(&ret_addr, sizeof(ret_addr), (void *)sp);
	return ret_addr;
}

static __always_inline int enter(__u32 kind, __u64 len)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mm_call call = { .kind = kind, .len = len };

	if (!memobs_current_watched())
		return 0;
	if (kind == MEMOBS_MM_BRK_GROW) {
		struct task_struct *task = bpf_get_current_task_btf();

		call.old_brk = BPF_CORE_READ(task, mm, brk);
	}
	bpf_map_update_elem(&memobs_attr_mm_calls, &tid, &call, BPF_ANY);
	return 0;
}

static __always_inline int leave(void *ctx, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mm_call *found, call;
	__u64 bytes;

	found = bpf_map_lookup_elem(&memobs_attr_mm_calls, &tid);
	if (!found)
		return 0;
	call = *found;
	bpf_map_delete_elem(&memobs_attr_mm_calls, &tid);
	if (ret < 0 && ret > -4096)
		return 0; /* -errno: nothing changed */
	switch (call.kind) {
	case MEMOBS_MM_BRK_GROW:
		if ((__u64)ret <= call.old_brk)
			return 0;
		bytes = (__u64)ret - call.old_brk;
		break;
	case MEMOBS_MM_MREMAP_GROW:
		bytes = call.len; /* new_len - old_len, computed at the enter */
		break;
	default:
		bytes = call.len;
	}
	if (bytes)
		count_site(ctx, call.kind, bytes, wrapper_return_address());
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int memobs_mm_enter_mmap(struct trace_event_raw_sys_enter *ctx)
{
	__u32 kind = ctx->args[3] & MAP_ANONYMOUS ? MEMOBS_MM_MMAP_ANON : MEMOBS_MM_MMAP_FILE;

	return enter(kind, ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int memobs_mm_exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_munmap")
int memobs_mm_enter_munmap(struct trace_event_raw_sys_enter *ctx)
{
	return enter(MEMOBS_MM_MUNMAP, ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_munmap")
int memobs_mm_exit_munmap(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_mremap")
int memobs_mm_enter_mremap(struct trace_event_raw_sys_enter *ctx)
{
	__u64 old_len = ctx->args[1], new_len = ctx->args[2];

	if (new_len <= old_len)
		return 0;
	return enter(MEMOBS_MM_MREMAP_GROW, new_len - old_len);
}

SEC("tracepoint/syscalls/sys_exit_mremap")
int memobs_mm_exit_mremap(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_brk")
int memobs_mm_enter_brk(struct trace_event_raw_sys_enter *ctx)
{
	return enter(MEMOBS_MM_BRK_GROW, 0);
}

SEC("tracepoint/syscalls/sys_exit_brk")
int memobs_mm_exit_brk(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx, ctx->ret);
}

/* The faulting instruction is the site: frame 0 stays the user ip. */
SEC("tp_btf/page_fault_user")
int BPF_PROG(memobs_mm_fault, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	if (!memobs_current_watched())
		return 0;
	count_site(ctx, MEMOBS_MM_FAULT, PAGE_SIZE, 0);
	return 0;
}
