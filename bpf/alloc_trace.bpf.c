// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sampled allocations (attribution tier): malloc-family uprobes, and, for
 * the processes an escalation traces, libc's mmap/munmap/sbrk and the
 * processes' page faults (per-task perf software events), all sampled by
 * one Poisson-by-bytes rule into one record stream with a source each.
 *
 * Cost is traps, not BPF work (see bench/RESULTS.md, "Allocation tracing"): every
 * call of a hooked function in a traced process takes one entry trap; only
 * calls the sampler picks (and reallocs of a sampled block) take a return
 * trap as well when the kernel has uprobe sessions (6.13+): the session
 * program's entry returns 0 to ask for the return, 1 to skip it. Kernels
 * without sessions run memobs_alloc_entry/memobs_alloc_ret instead, with a
 * return probe on every call.
 *
 * One program serves every function: the attach cookie (enum memobs_alloc_fn)
 * says which arguments the call has.
 */
#define MEMOBS_ATTR_DEFINE_MAPS
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memobs.h"
#include "attr_stack.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load. Mean bytes between samples; <= 1 samples every allocation. */
const volatile __u64 memobs_sample_bytes = 512 * 1024;
/* Trace every process that maps a hooked file (--malloc host-wide): no pid filter. */
const volatile bool memobs_alloc_all_pids = false;
/* memobs itself: host-wide tracing must not trace the tracer (its drain allocates). */
const volatile __u32 memobs_self_tgid = 0;
/* Ring-buffer fill level (bytes) at which the consumer is woken. */
const volatile __u64 memobs_wakeup_bytes = 256 * 1024;
/*
 * Bytes of user stack a sampled call copies for the CFI unwinder (at most
 * MEMOBS_USTACK_MAX); 0: no copy, the frame-pointer walk of bpf_get_stack.
 */
const volatile __u32 memobs_stack_copy_bytes = 0;
/*
 * Bytes of stack copies one CPU may send per second: past it (host-wide
 * tracing at a fine sampling, a storm of small allocations) a sampled call
 * walks frame pointers instead, counted, so the ring and its consumer see a
 * bounded stream whatever the allocation rate.
 */
const volatile __u64 memobs_stack_budget_bytes = 4 << 20;
/*
 * Ring fill (bytes) past which no copy is sent: the allocation and free
 * records, which cannot be replaced, keep the rest of the ring however slow
 * the consumer's unwinding and symbolizing are.
 */
const volatile __u64 memobs_stack_ring_limit = 2 << 20;

/* Session kfuncs (Linux 6.13+); weak so that the object loads where they are absent. */
extern bool bpf_session_is_return(void) __ksym __weak;
extern __u64 *bpf_session_cookie(void) __ksym __weak;

/*
 * tgid -> 1: the processes under targeted trace. The uprobe links themselves
 * are pid-filtered by the kernel (no trap in any other process); this map
 * scopes the exec hook, which is not.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MEMOBS_ATTR_MAX_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} memobs_attr_pids SEC(".maps");

struct sampler {
	__s64 bytes_left; /* until the next sample point */
	__u64 armed;
};

/* Per CPU: a program is not migrated while it runs; a preempting call on the same
 * CPU may race, which only perturbs the random stream. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sampler);
} memobs_attr_sampler SEC(".maps");

/*
 * A call between its entry and its return, keyed by thread and the stack
 * pointer at entry: a hooked function that re-enters another one (or calls
 * mmap, traced in mm_trace's own map) gets a distinct key, so nothing
 * clobbers an in-flight call. LRU: a thread killed inside malloc leaves an
 * entry that must not pin a slot forever.
 */
struct inflight_key {
	__u32 tid;
	__u32 pad;
	__u64 sp;
};

struct inflight {
	__u64 size;
	__u64 arg_ptr; /* realloc: the old block; posix_memalign: memptr */
	__u64 stack_id;
	__u64 cgroup_id;
	__u32 fn;
	__u8 sampled;
	__u8 old_live; /* realloc of a sampled block */
	__u8 source;   /* enum memobs_alloc_source */
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MEMOBS_ATTR_MAX_INFLIGHT);
	__type(key, struct inflight_key);
	__type(value, struct inflight);
} memobs_attr_inflight SEC(".maps");

/* The sampled allocations outstanding; bounded (sized by userspace), full is counted. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MEMOBS_ATTR_MAX_LIVE);
	__type(key, struct memobs_live_key);
	__type(value, struct memobs_live_val);
} memobs_attr_live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} memobs_attr_events SEC(".maps");

/* log2(1 + (i + 0.5) / 256) in 16.16 fixed point: the mantissa part of log2. */
static const __u32 log2_frac[256] = {
	184,   552,   919,   1284,  1648,  2010,  2371,	 2730,	3088,  3445,  3801,  4155,  4507,
	4859,  5209,  5558,  5906,  6252,  6597,  6941,	 7283,	7625,  7965,  8304,  8641,  8978,
	9313,  9647,  9980,  10312, 10642, 10972, 11300, 11627, 11953, 12278, 12602, 12925, 13246,
	13567, 13886, 14205, 14522, 14838, 15153, 15467, 15781, 16093, 16404, 16714, 17023, 17331,
	17637, 17943, 18248, 18552, 18856, 19158, 19459, 19759, 20058, 20356, 20654, 20950, 21245,
	21540, 21834, 22126, 22418, 22709, 22999, 23288, 23577, 23864, 24150, 24436, 24721, 25005,
	25288, 25570, 25852, 26132, 26412, 26691, 26969, 27246, 27523, 27798, 28073, 28347, 28620,
	28893, 29164, 29435, 29706, 29975, 30244, 30511, 30778, 31045, 31310, 31575, 31839, 32103,
	32365, 32627, 32888, 33149, 33409, 33668, 33926, 34184, 34441, 34697, 34952, 35207, 35461,
	35715, 35968, 36220, 36471, 36722, 36972, 37222, 37470, 37719, 37966, 38213, 38459, 38705,
	38950, 39194, 39438, 39681, 39923, 40165, 40406, 40647, 40887, 41126, 41365, 41603, 41841,
	42077, 42314, 42550, 42785, 43019, 43253, 43487, 43720, 43952, 44184, 44415, 44646, 44876,
	45105, 45334, 45562, 45790, 46018, 46244, 46471, 46696, 46921, 47146, 47370, 47593, 47816,
	48039, 48261, 48482, 48703, 48924, 49143, 49363, 49582, 49800, 50018, 50235, 50452, 50668,
	50884, 51100, 51315, 51529, 51743, 51956, 52169, 52382, 52594, 52805, 53016, 53227, 53437,
	53647, 53856, 54064, 54273, 54481, 54688, 54895, 55101, 55307, 55513, 55718, 55922, 56127,
	56330, 56534, 56737, 56939, 57141, 57343, 57544, 57745, 57945, 58145, 58344, 58543, 58742,
	58940, 59138, 59335, 59532, 59729, 59925, 60121, 60316, 60511, 60706, 60900, 61094, 61287,
	61480, 61672, 61865, 62056, 62248, 62439, 62629, 62820, 63010, 63199, 63388, 63577, 63765,
	63953, 64141, 64328, 64515, 64701, 64887, 65073, 65259, 65444
};

/*
 * Bytes until the next sample point: exponential with mean memobs_sample_bytes,
 * -ln(U) * mean with U uniform in (0, 1], computed as ln2 * (32 - log2(r)) for
 * r a random u32 (no floating point in BPF).
 */
static __always_inline __s64 draw_interval(void)
{
	__u32 r = bpf_get_prandom_u32() | 1, norm = r;
	__u64 log2_fix, neg_ln_fix;
	__u32 k = 0;

	if (norm < (1U << 16)) {
		norm <<= 16;
	} else {
		k += 16;
	}
	if (norm < (1U << 24)) {
		norm <<= 8;
	} else {
		k += 8;
	}
	if (norm < (1U << 28)) {
		norm <<= 4;
	} else {
		k += 4;
	}
	if (norm < (1U << 30)) {
		norm <<= 2;
	} else {
		k += 2;
	}
	if (norm < (1U << 31)) {
		norm <<= 1;
	} else {
		k += 1;
	}
	/* k = floor(log2 r); norm has its leading one at bit 31 */
	log2_fix = ((__u64)k << 16) + log2_frac[(norm >> 23) & 0xff];
	neg_ln_fix = (((32ULL << 16) - log2_fix) * 45426) >> 16; /* 45426 = ln2 * 2^16 */
	return (__s64)((memobs_sample_bytes * neg_ln_fix) >> 16) + 1;
}

/*
 * Poisson sampling by bytes, as tcmalloc does: an allocation of size s is
 * sampled when a sample point falls in its s bytes, with probability
 * 1 - exp(-s / mean); userspace weighs each sample by the inverse.
 */
static __always_inline bool sample_allocation(__u64 size)
{
	__u32 zero = 0;
	struct sampler *s;

	if (memobs_sample_bytes <= 1)
		return true;
	s = bpf_map_lookup_elem(&memobs_attr_sampler, &zero);
	if (!s)
		return false;
	if (!s->armed) {
		s->bytes_left = draw_interval();
		s->armed = 1;
	}
	if (s->bytes_left > (__s64)size) {
		s->bytes_left -= size;
		return false;
	}
	s->bytes_left = draw_interval(); /* memoryless: the rest of this one is dropped */
	return true;
}

/* The sampled call's registers and stack (memobs_ustack_rec), built here: too big for the stack. */
struct ustack_scratch {
	__u64 seq;	    /* this CPU's samples so far: the sample ids */
	__u64 window_ns;    /* start of the budget's current second */
	__u64 window_bytes; /* copies sent in it */
	/* a memobs_ustack_rec, then its stack; + a page: the verifier's bound on the last read */
	__u8 buf[sizeof(struct memobs_ustack_rec) + MEMOBS_USTACK_MAX + 4096];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ustack_scratch);
} memobs_attr_ustack_scratch SEC(".maps");

static __always_inline __u64 ringbuf_flags(void)
{
	return bpf_ringbuf_query(&memobs_attr_events, BPF_RB_AVAIL_DATA) >= memobs_wakeup_bytes
		       ? BPF_RB_FORCE_WAKEUP
		       : BPF_RB_NO_WAKEUP;
}

/* The Python frames of a sample (needs the ring above) */
#include "py_frames.bpf.h"

/*
 * Copies the registers and the top of the user stack of a sampled call into
 * the ring (MEMOBS_REC_USTACK); returns the sample id the allocation record
 * will carry as its stack id, 0 when nothing could be sent. The copy goes
 * page by page from rsp and stops at the first page that cannot be read
 * (the top of the stack's mapping), so the frames nearest the stack's top
 * (main's, start_thread's) are kept when the whole stack is smaller than
 * the copy. Only sampled calls pay: a few microseconds for 16 KiB.
 */
/* The registers a copy carries, read from whichever pt_regs the hook has (loads differ by pointer kind). */
#define USTACK_REGS_OF(r)                                                   \
	{                                                                   \
		[MEMOBS_UREG_IP] = (r)->ip, [MEMOBS_UREG_SP] = (r)->sp,     \
		[MEMOBS_UREG_BP] = (r)->bp, [MEMOBS_UREG_BX] = (r)->bx,     \
		[MEMOBS_UREG_R12] = (r)->r12, [MEMOBS_UREG_R13] = (r)->r13, \
		[MEMOBS_UREG_R14] = (r)->r14, [MEMOBS_UREG_R15] = (r)->r15  \
	}

static __always_inline __u64 emit_ustack(const __u64 regs[MEMOBS_UREG_NR], __u32 tgid, __u32 flags)
{
	__u32 zero = 0, want = memobs_stack_copy_bytes, off = 0, chunk, i;
	struct ustack_scratch *s = bpf_map_lookup_elem(&memobs_attr_ustack_scratch, &zero);
	__u64 sp = regs[MEMOBS_UREG_SP], total, now;
	struct memobs_ustack_rec *rec;
	__u8 *stack;

	if (!s)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - s->window_ns >= 1000000000ULL) {
		s->window_ns = now;
		s->window_bytes = 0;
	}
	if (s->window_bytes + want > memobs_stack_budget_bytes ||
	    bpf_ringbuf_query(&memobs_attr_events, BPF_RB_AVAIL_DATA) > memobs_stack_ring_limit) {
		memobs_attr_count(MEMOBS_ATTR_STAT_USTACK_THROTTLED);
		return 0;
	}
	rec = (void *)s->buf;
	stack = s->buf + sizeof(*rec);
	s->seq++;
	rec->type = MEMOBS_REC_USTACK;
	rec->pid = tgid;
	rec->sample_id = MEMOBS_USTACK_SAMPLE_BIT | (s->seq << 12) |
			 (bpf_get_smp_processor_id() & 0xfff);
	for (i = 0; i < MEMOBS_UREG_NR; i++)
		rec->regs[i] = regs[i];
	rec->flags = flags;
	chunk = 4096 - (sp & 4095);
	for (i = 0; i < MEMOBS_USTACK_MAX / 4096 + 1; i++) {
		if (off >= want)
			break;
		if (chunk > want - off)
			chunk = want - off;
		/*
		 * an unsigned bound the verifier keeps: clang, which knows chunk <= 4096,
		 * would drop the mask and pass its signed view of want - off instead
		 */
		asm volatile("" : "+r"(chunk));
		chunk &= 8191;
		if (off > MEMOBS_USTACK_MAX || chunk == 0 || chunk > 4096)
			break;
		if (bpf_probe_read_user(stack + off, chunk, (void *)(sp + off)))
			break;
		off += chunk;
		chunk = 4096;
	}
	if (off > MEMOBS_USTACK_MAX)
		off = MEMOBS_USTACK_MAX;
	rec->stack_len = off;
	total = sizeof(*rec) + off;
	/* before the copy, so that userspace holds them when it unwinds the copy */
	emit_pystack(tgid, rec->sample_id);
	if (bpf_ringbuf_output(&memobs_attr_events, rec, total, ringbuf_flags())) {
		/* not a lost sample: it walks frame pointers instead */
		memobs_attr_count(MEMOBS_ATTR_STAT_USTACK_THROTTLED);
		return 0;
	}
	s->window_bytes += total;
	/* what a copy costs, measured where it is paid (a sampled call only) */
	memobs_attr_count(MEMOBS_ATTR_STAT_USTACK_COPIES);
	memobs_attr_add(MEMOBS_ATTR_STAT_USTACK_NS, bpf_ktime_get_ns() - now);
	return rec->sample_id;
}

/* Forgets a block if it was sampled; frees of unsampled blocks cost one hash miss. */
static __always_inline void free_block(__u32 tgid, __u64 addr)
{
	struct memobs_live_key key = { .pid = tgid, .addr = addr };
	struct memobs_free_rec *rec;

	/* a lookup is lock-free; a delete takes the bucket lock even for a miss */
	if (!addr || !bpf_map_lookup_elem(&memobs_attr_live, &key) ||
	    bpf_map_delete_elem(&memobs_attr_live, &key))
		return;
	memobs_attr_count(MEMOBS_ATTR_STAT_FREES);
	rec = bpf_ringbuf_reserve(&memobs_attr_events, sizeof(*rec), 0);
	if (!rec) {
		memobs_attr_count(MEMOBS_ATTR_STAT_RINGBUF_DROPS);
		return;
	}
	rec->type = MEMOBS_REC_FREE;
	rec->pid = tgid;
	rec->addr = addr;
	rec->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(rec, ringbuf_flags());
}

static __always_inline bool block_is_live(__u32 tgid, __u64 addr)
{
	struct memobs_live_key key = { .pid = tgid, .addr = addr };

	return addr && bpf_map_lookup_elem(&memobs_attr_live, &key);
}

/* n * size, or 0 when it overflows (the call fails: not an allocation). */
static __always_inline __u64 array_bytes(__u64 n, __u64 size)
{
	__u64 limit;

	if (!((n | size) >> 32))
		return n * size; /* both below 2^32: the product fits */
	limit = ~0ULL;
	asm volatile("" : "+r"(limit)); /* keeps clang from a 128-bit multiply BPF lacks */
	if (n && size > limit / n)
		return 0;
	return n * size;
}

#define MAP_ANONYMOUS 0x20
#define PAGE_SIZE 4096
#define MAP_FAILED (~0ULL) /* mmap's and sbrk's (void *)-1 */

/*
 * An mm hook (mmap/munmap/sbrk uprobe, page-fault event) fired: is it in
 * scope? Its links are pid-filtered and its events per task, so a process
 * outside the traced scope never gets here; one that does (a neighbour) is
 * counted, which is how a test proves that none did. A child of a traced
 * process inherits its fault events before userspace traces it: its
 * cgroup, watched, keeps it in scope.
 */
static __always_inline bool mm_hook_in_scope(__u32 tgid)
{
	__u64 cgroup_id;

	if (bpf_map_lookup_elem(&memobs_attr_pids, &tgid))
		return true;
	cgroup_id = bpf_get_current_cgroup_id();
	if (bpf_map_lookup_elem(&memobs_watched_cgroups, &cgroup_id))
		return true;
	memobs_attr_count(MEMOBS_ATTR_STAT_OUT_OF_SCOPE);
	return false;
}

/*
 * The entry of a hooked call. Returns 0 when the return must be seen (the
 * call was sampled, or it reallocs a sampled block), 1 otherwise; *entry_sp
 * gets the in-flight key's stack pointer.
 */
static __always_inline int alloc_enter(struct pt_regs *ctx, __u64 *entry_sp)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct inflight call = {};
	struct inflight_key key = {};
	__u64 old = 0;

	/*
	 * Scope: host-wide links fire in every process but memobs's own; targeted
	 * links carry the kernel's pid filter (the breakpoint is installed in that
	 * process alone), so a pid-map lookup here would be ~20 ns per call spent
	 * on an answer the kernel already gave. Calls are not counted either: this
	 * is the hottest path memobs has (costs.md: the floor is the traps).
	 */
	if (memobs_alloc_all_pids && tgid == memobs_self_tgid)
		return 1;
	call.fn = bpf_get_attach_cookie(ctx);
	switch (call.fn) {
	case MEMOBS_FN_FREE:
		free_block(tgid, PT_REGS_PARM1(ctx));
		return 1;
	case MEMOBS_FN_MALLOC:
	case MEMOBS_FN_VALLOC:
		call.size = PT_REGS_PARM1(ctx);
		break;
	case MEMOBS_FN_CALLOC:
		call.size = array_bytes(PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx));
		break;
	case MEMOBS_FN_ALIGNED_ALLOC:
		call.size = PT_REGS_PARM2(ctx);
		break;
	case MEMOBS_FN_POSIX_MEMALIGN:
		call.arg_ptr = PT_REGS_PARM1(ctx);
		call.size = PT_REGS_PARM3(ctx);
		break;
	case MEMOBS_FN_REALLOC:
		old = PT_REGS_PARM1(ctx);
		call.size = PT_REGS_PARM2(ctx);
		break;
	case MEMOBS_FN_REALLOCARRAY:
		old = PT_REGS_PARM1(ctx);
		call.size = array_bytes(PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx));
		break;
	case MEMOBS_FN_MMAP:
	case MEMOBS_FN_MUNMAP:
	case MEMOBS_FN_SBRK:
		/* rare calls (a trap each is nothing next to the syscall): counted */
		if (!mm_hook_in_scope(tgid))
			return 1;
		memobs_attr_count(MEMOBS_ATTR_STAT_MM_CALLS);
		if (call.fn == MEMOBS_FN_MUNMAP) {
			free_block(tgid, PT_REGS_PARM1(ctx));
			return 1;
		}
		if (call.fn == MEMOBS_FN_MMAP) {
			/* file mappings are page cache, not the anonymous growth looked for */
			if (!(PT_REGS_PARM4(ctx) & MAP_ANONYMOUS))
				return 1;
			call.size = PT_REGS_PARM2(ctx);
			call.source = MEMOBS_SRC_MMAP;
		} else {
			if ((long)PT_REGS_PARM1(ctx) <= 0)
				return 1; /* a query or a shrink */
			call.size = PT_REGS_PARM1(ctx);
			call.source = MEMOBS_SRC_BRK;
		}
		break;
	default:
		return 1;
	}
	call.arg_ptr = old ? old : call.arg_ptr;
	call.old_live = block_is_live(tgid, old);
	call.sampled = call.size && sample_allocation(call.size);
	if (!call.sampled && !call.old_live)
		return 1;

	key.tid = (__u32)pid_tgid;
	key.sp = PT_REGS_SP(ctx);
	if (call.sampled) {
		struct task_struct *task = bpf_get_current_task_btf();
		__u64 ret_addr = 0;

		memobs_attr_count(MEMOBS_ATTR_STAT_SAMPLED);
		if (memobs_stack_copy_bytes) {
			__u64 regs[MEMOBS_UREG_NR] = USTACK_REGS_OF(ctx);

			call.stack_id = emit_ustack(regs, tgid, 0);
		}
		/* no copy (off, over budget, the ring full): the frame-pointer walk */
		if (!call.stack_id) {
			/* probe_place guarantees rsp is untouched up to the probe: [rsp] is the return */
			bpf_probe_read_user(&ret_addr, sizeof(ret_addr), (void *)key.sp);
			call.stack_id = memobs_attr_stack_id(
				ctx, ret_addr, tgid, BPF_CORE_READ(task, group_leader, start_time));
		}
		call.cgroup_id = bpf_get_current_cgroup_id();
	}
	if (bpf_map_update_elem(&memobs_attr_inflight, &key, &call, BPF_ANY)) {
		memobs_attr_count(MEMOBS_ATTR_STAT_INFLIGHT_FULL);
		return 1;
	}
	*entry_sp = key.sp;
	return 0;
}

static __always_inline void emit_alloc(__u32 tgid, const struct inflight *call, __u64 addr)
{
	struct memobs_live_key key = { .pid = tgid, .addr = addr };
	struct memobs_live_val val = {
		.size = call->size,
		.ts_ns = bpf_ktime_get_ns(),
		.stack_id = call->stack_id,
		.cgroup_id = call->cgroup_id,
	};
	struct memobs_alloc_rec *rec;
	long err;

	/* not remembered means its free would go unseen: then it is not reported either */
	err = bpf_map_update_elem(&memobs_attr_live, &key, &val, BPF_ANY);
	if (err) {
		memobs_attr_count(MEMOBS_ATTR_STAT_LIVE_FULL);
		return;
	}
	rec = bpf_ringbuf_reserve(&memobs_attr_events, sizeof(*rec), 0);
	if (!rec) {
		/* the consumer never learns of it: drop it from the live map too */
		bpf_map_delete_elem(&memobs_attr_live, &key);
		memobs_attr_count(MEMOBS_ATTR_STAT_RINGBUF_DROPS);
		return;
	}
	rec->type = MEMOBS_REC_ALLOC;
	rec->pid = tgid;
	rec->cgroup_id = val.cgroup_id;
	rec->addr = addr;
	rec->size = val.size;
	rec->ts_ns = val.ts_ns;
	rec->stack_id = val.stack_id;
	rec->source = call->source;
	rec->pad = 0;
	bpf_ringbuf_submit(rec, ringbuf_flags());
}

/* The return of a call whose entry asked for it; entry_sp is the in-flight key. */
static __always_inline int alloc_return(struct pt_regs *ctx, __u64 entry_sp)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct inflight_key key = { .tid = (__u32)pid_tgid, .sp = entry_sp };
	struct inflight *found, call;
	__u64 ret = PT_REGS_RC(ctx), addr = ret;

	found = bpf_map_lookup_elem(&memobs_attr_inflight, &key);
	if (!found)
		return 0;
	call = *found;
	bpf_map_delete_elem(&memobs_attr_inflight, &key);

	if (call.fn == MEMOBS_FN_POSIX_MEMALIGN) {
		addr = 0;
		if ((int)ret == 0)
			bpf_probe_read_user(&addr, sizeof(addr), (void *)call.arg_ptr);
	}
	/*
	 * realloc: a NULL result for a non-zero size is a failure that leaves the
	 * old block alive; a NULL result for size 0 (glibc) or any non-NULL
	 * result means the old block is gone.
	 */
	if (call.old_live && (addr || !call.size))
		free_block(tgid, call.arg_ptr);
	if (!call.sampled)
		return 0;
	if (!addr ||
	    ((call.fn == MEMOBS_FN_MMAP || call.fn == MEMOBS_FN_SBRK) && addr == MAP_FAILED)) {
		memobs_attr_count(MEMOBS_ATTR_STAT_FAILED);
		return 0;
	}
	emit_alloc(tgid, &call, addr);
	return 0;
}

/*
 * Uprobe session (BPF_TRACE_UPROBE_SESSION, attached by a raw uprobe_multi
 * link: libbpf 1.1 knows neither; see user/attribute/uprobe_compat.h). The section
 * name is plain "uprobe" so that libbpf 1.1 accepts it; userspace sets the
 * expected attach type before load.
 */
SEC("uprobe")
int memobs_alloc_session(struct pt_regs *ctx)
{
	__u64 *cookie = bpf_session_cookie();
	__u64 entry_sp = 0;
	int ret;

	if (bpf_session_is_return())
		return alloc_return(ctx, *cookie);
	ret = alloc_enter(ctx, &entry_sp);
	*cookie = entry_sp;
	return ret;
}

/* Without sessions: entry and return probes on every call. */
SEC("uprobe")
int memobs_alloc_entry(struct pt_regs *ctx)
{
	__u64 entry_sp;

	alloc_enter(ctx, &entry_sp);
	return 0;
}

/* After the return, rsp is one slot above the entry's (the return address was popped). */
SEC("uretprobe")
int memobs_alloc_ret(struct pt_regs *ctx)
{
	return alloc_return(ctx, PT_REGS_SP(ctx) - 8);
}

/*
 * A user page fault of a traced thread: a per-task perf software event
 * (PERF_COUNT_SW_PAGE_FAULTS, period 1, inherited by the threads and
 * children it makes) runs this, so the faults of every other process on
 * the node run no program at all (a tracepoint with an early exit would cost
 * each of them ~130 ns: costs.md). A fault is a page's first touch or a
 * copy-on-write: one page of growth, sampled by bytes like an allocation,
 * at the page's address so that an munmap there forgets it.
 */
SEC("perf_event")
int memobs_fault_sample(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct inflight call = { .size = PAGE_SIZE, .source = MEMOBS_SRC_FAULT, .sampled = 1 };
	struct task_struct *task;

	if (!mm_hook_in_scope(tgid))
		return 0;
	memobs_attr_count(MEMOBS_ATTR_STAT_FAULTS);
	if (!sample_allocation(PAGE_SIZE))
		return 0;
	memobs_attr_count(MEMOBS_ATTR_STAT_SAMPLED);
	task = bpf_get_current_task_btf();
	/*
	 * The user's registers: at a fault in user mode the exception saved them
	 * where a syscall does (the top of the kernel stack); at one in the
	 * kernel (copy_to_user) they are the syscall's.
	 */
	if (memobs_stack_copy_bytes) {
		struct pt_regs *user = (struct pt_regs *)bpf_task_pt_regs(task);
		__u64 regs[MEMOBS_UREG_NR] = USTACK_REGS_OF(user);

		call.stack_id = emit_ustack(regs, tgid, MEMOBS_USTACK_AT_PC);
	}
	if (!call.stack_id)
		call.stack_id = memobs_attr_stack_id(ctx, 0, tgid,
						     BPF_CORE_READ(task, group_leader, start_time));
	call.cgroup_id = bpf_get_current_cgroup_id();
	emit_alloc(tgid, &call, ctx->addr & ~(__u64)(PAGE_SIZE - 1));
	return 0;
}

/*
 * A traced process that execs maps new libraries: userspace scans it again.
 * The dynamic loader maps them after this point, so userspace waits a tick.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(memobs_attr_exec, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct memobs_attr_exec_rec *rec;

	if (!memobs_alloc_all_pids && !bpf_map_lookup_elem(&memobs_attr_pids, &tgid))
		return 0;
	rec = bpf_ringbuf_reserve(&memobs_attr_events, sizeof(*rec), 0);
	if (!rec) {
		memobs_attr_count(MEMOBS_ATTR_STAT_RINGBUF_DROPS);
		return 0;
	}
	rec->type = MEMOBS_REC_ATTR_EXEC;
	rec->pid = tgid;
	rec->cgroup_id = bpf_get_current_cgroup_id();
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	return 0;
}
