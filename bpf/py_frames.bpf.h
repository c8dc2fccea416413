/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython frames of a sampled call (issue 16, docs/python.md): the calling
 * thread's Python frame chain, read where the sample is taken, while the
 * thread is stopped in the probe, so its own frames cannot change under the
 * read. Only processes userspace found to be CPython (memobs_attr_py_procs)
 * pay, and only at a sampled call: one hash lookup, then a read per thread
 * state searched and one MEMOBS_PY_FRAME_READ-byte read per frame.
 *
 * The thread state: the one in the interpreters' lists whose thread_id is
 * this thread's pthread_self(), which on x86-64 is the fs base (glibc and
 * musl both point fs at the thread's descriptor). Searching the lists works
 * the same on every version, GIL or not, sub-interpreters included; it is
 * bounded by MEMOBS_PY_MAX_THREADS steps, and what it found is remembered
 * per thread (memobs_attr_py_tstates), so a process of a thousand threads
 * pays the search once per thread, not per sample.
 */
#ifndef MEMOBS_PY_FRAMES_BPF_H
#define MEMOBS_PY_FRAMES_BPF_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "memobs.h"
#include "attr_stack.bpf.h"

/* tgid -> the interpreter's layout; userspace adds CPython processes as it traces them */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MEMOBS_ATTR_MAX_PIDS);
	__type(key, __u32);
	__type(value, struct memobs_py_layout);
} memobs_attr_py_procs SEC(".maps");

/* The record, the layout in force and one frame's bytes: too big for the BPF stack. */
struct py_scratch {
	struct memobs_pystack_rec rec;
	struct memobs_py_layout layout;
	__u64 self;    /* pthread_self() of the sampled thread */
	__u64 cursor;  /* the thread state, then the frame, the next step reads */
	__u64 interp;  /* the interpreter whose thread states the search is in */
	__u32 interps; /* interpreters searched so far */
	__u32 pad;
	__u64 found_ts; /* the thread state whose thread_id is self, running a frame */
	__u64 idle_ts;	/* ... one running none (another interpreter's, say): the fallback */
	__u8 frame[MEMOBS_PY_FRAME_READ];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_scratch);
} memobs_attr_py_scratch SEC(".maps");

/*
 * Thread id -> its thread state, as last found (0: none was, at checked_ns).
 * A hit is checked (its thread_id read again) before it is used; a miss
 * searches again, a "none" after PY_NO_TSTATE_RECHECK_NS: a C thread may
 * take a thread state later (PyGILState_Ensure). LRU: threads come and go.
 */
struct py_tstate_seen {
	__u64 tstate;
	__u64 checked_ns;
};

#define PY_NO_TSTATE_RECHECK_NS 1000000000ULL

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct py_tstate_seen);
} memobs_attr_py_tstates SEC(".maps");

static __always_inline struct py_scratch *py_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&memobs_attr_py_scratch, &zero);
}

static __always_inline __u64 py_read_ptr(__u64 addr)
{
	__u64 v = 0;

	if (!addr || bpf_probe_read_user(&v, sizeof(v), (void *)addr))
		return 0;
	return v;
}

/* A field of the frame just read; offsets past the read are refused by userspace, and here. */
static __always_inline __u64 py_frame_u64(const struct py_scratch *s, __u16 off)
{
	if (off > MEMOBS_PY_FRAME_READ - 8)
		return 0;
	return *(const __u64 *)(s->frame + off);
}

static __always_inline __s32 py_frame_s32(const struct py_scratch *s, __u16 off)
{
	if (off > MEMOBS_PY_FRAME_READ - 4)
		return 0;
	return *(const __s32 *)(s->frame + off);
}

static __always_inline __u8 py_frame_u8(const struct py_scratch *s, __u16 off)
{
	if (off > MEMOBS_PY_FRAME_READ - 1)
		return 0;
	return s->frame[off];
}

/*
 * A frame index checked below MEMOBS_PY_MAX_FRAMES (a power of two), masked
 * so that the verifier sees the bound: clang drops a check it can prove,
 * then indexes with a copy the verifier never saw tested.
 */
static __always_inline __u32 py_index(__u32 i)
{
	asm volatile("" : "+r"(i));
	return i & (MEMOBS_PY_MAX_FRAMES - 1);
}

/*
 * The loops run under bpf_loop(): each body is verified once, where an
 * unrolled walk of 80 frames would pass the verifier's budget.
 */
/*
 * The frame a thread state runs, 0 when idle. A thread has a thread state
 * in each interpreter it has entered (sub-interpreters: same thread_id), and
 * only the one it runs in has a frame.
 */
static __always_inline __u64 py_tstate_frame(const struct memobs_py_layout *l, __u64 ts)
{
	__u64 frame = py_read_ptr(ts + l->tstate_frame);

	if (l->cframe_current_frame != MEMOBS_PY_NO_OFFSET)
		frame = py_read_ptr(frame ? frame + l->cframe_current_frame : 0);
	return frame;
}

static long py_thread_step(__u64 i, void *ctx)
{
	struct py_scratch *s = py_scratch();
	__u64 ts;

	if (!s)
		return 1;
	/* this interpreter's threads are done: the next interpreter's (sub-interpreters) */
	if (!(ts = s->cursor)) {
		if (!s->interp || ++s->interps >= MEMOBS_PY_MAX_INTERPRETERS)
			return 1;
		s->interp = py_read_ptr(s->interp + s->layout.interp_next);
		s->cursor = py_read_ptr(s->interp ? s->interp + s->layout.interp_threads_head : 0);
		return 0; /* one read step per iteration: the bound counts them */
	}
	if (py_read_ptr(ts + s->layout.tstate_thread_id) == s->self) {
		if (py_tstate_frame(&s->layout, ts)) {
			s->found_ts = ts;
			return 1;
		}
		if (!s->idle_ts)
			s->idle_ts = ts;
	}
	s->cursor = py_read_ptr(ts + s->layout.tstate_next);
	return 0;
}

/*
 * One frame, from s->cursor outward. A C-stack shim frame (3.12+) is not a
 * Python function: it marks the frame before it as the first of its eval
 * call, and is skipped.
 */
static long py_frame_step(__u64 i, void *ctx)
{
	struct py_scratch *s = py_scratch();
	const struct memobs_py_layout *l;
	__u64 frame, code, instr;
	__u32 nr;
	bool entry;

	if (!s || !(frame = s->cursor))
		return 1;
	l = &s->layout;
	nr = s->rec.nr;
	if (bpf_probe_read_user(s->frame, sizeof(s->frame), (void *)frame)) {
		s->rec.flags |= MEMOBS_PYSTACK_TORN;
		return 1;
	}
	code = py_frame_u64(s, l->frame_code);
	if (l->frame_kind == MEMOBS_PY_FRAME_OBJECT)
		instr = (__u64)(__s64)py_frame_s32(s, l->frame_instr);
	else
		instr = py_frame_u64(s, l->frame_instr);
	if (l->entry_kind == MEMOBS_PY_ENTRY_SHIM &&
	    py_frame_u8(s, l->frame_entry) == l->owner_cstack) {
		if (nr > 0 && nr <= MEMOBS_PY_MAX_FRAMES)
			s->rec.frames[py_index(nr - 1)].code |= MEMOBS_PY_ENTRY;
		s->cursor = py_frame_u64(s, l->frame_back);
		return 0;
	}
	if (nr >= MEMOBS_PY_MAX_FRAMES) {
		s->rec.flags |= MEMOBS_PYSTACK_TRUNCATED;
		return 1;
	}
	entry = l->entry_kind == MEMOBS_PY_ENTRY_EVERY ||
		(l->entry_kind == MEMOBS_PY_ENTRY_FLAG && py_frame_u8(s, l->frame_entry));
	s->rec.frames[py_index(nr)].code = code | (entry ? MEMOBS_PY_ENTRY : 0);
	s->rec.frames[py_index(nr)].instr = instr;
	s->rec.nr = nr + 1;
	s->cursor = py_frame_u64(s, l->frame_back);
	return 0;
}

/*
 * The sampled thread's thread state: the one seen last for this thread when
 * it still says so, else searched for (every interpreter's list, newest
 * threads first, MEMOBS_PY_MAX_THREADS steps) and remembered. 0: none.
 */
static __always_inline __u64 py_thread_state(struct py_scratch *s, __u32 tid)
{
	const struct memobs_py_layout *l = &s->layout;
	struct py_tstate_seen *seen = bpf_map_lookup_elem(&memobs_attr_py_tstates, &tid);
	struct py_tstate_seen now = { .checked_ns = bpf_ktime_get_ns() };

	if (seen && seen->tstate && py_read_ptr(seen->tstate + l->tstate_thread_id) == s->self &&
	    py_tstate_frame(l, seen->tstate))
		return seen->tstate;
	if (seen && !seen->tstate && now.checked_ns - seen->checked_ns < PY_NO_TSTATE_RECHECK_NS)
		return 0;
	s->interp = py_read_ptr(l->runtime_addr + l->runtime_interp_head);
	s->interps = 0;
	s->cursor = py_read_ptr(s->interp ? s->interp + l->interp_threads_head : 0);
	s->found_ts = 0;
	s->idle_ts = 0;
	bpf_loop(MEMOBS_PY_MAX_THREADS, py_thread_step, NULL, 0);
	now.tstate = s->found_ts ? s->found_ts : s->idle_ts;
	bpf_map_update_elem(&memobs_attr_py_tstates, &tid, &now, BPF_ANY);
	return now.tstate;
}

/* The current thread's first frame into s->cursor; false when its thread state was not found. */
static __always_inline bool py_first_frame(struct py_scratch *s, __u32 tid)
{
	const struct memobs_py_layout *l = &s->layout;
	__u64 ts;

#ifdef __TARGET_ARCH_x86
	s->self = BPF_CORE_READ(bpf_get_current_task_btf(), thread.fsbase);
#else
	s->self = 0; /* x86-64 only: the thread pointer register differs elsewhere */
#endif
	ts = py_thread_state(s, tid);
	if (!ts)
		return false;
	s->cursor = py_tstate_frame(l, ts);
	return true;
}

/*
 * Sends the Python frames of a sample of a CPython process (nothing for any
 * other process), just before the sample's stack copy; sample_id ties them.
 */
static __always_inline void emit_pystack(__u32 tgid, __u64 sample_id)
{
	const struct memobs_py_layout *l = bpf_map_lookup_elem(&memobs_attr_py_procs, &tgid);
	struct py_scratch *s;
	__u64 now;
	__u32 size;

	if (!l || !(s = py_scratch()))
		return;
	now = bpf_ktime_get_ns();
	s->layout = *l;
	s->rec.type = MEMOBS_REC_PYSTACK;
	s->rec.pid = tgid;
	s->rec.sample_id = sample_id;
	s->rec.nr = 0;
	s->rec.flags = 0;
	if (!py_first_frame(s, (__u32)bpf_get_current_pid_tgid())) {
		s->rec.flags = MEMOBS_PYSTACK_NO_THREAD;
		memobs_attr_count(MEMOBS_ATTR_STAT_PY_NO_THREAD);
	} else {
		/* spare iterations for the shims between the kept frames */
		bpf_loop(MEMOBS_PY_MAX_FRAMES + 16, py_frame_step, NULL, 0);
		if (s->cursor && !(s->rec.flags & MEMOBS_PYSTACK_TORN))
			s->rec.flags |= MEMOBS_PYSTACK_TRUNCATED;
		if (s->rec.flags & MEMOBS_PYSTACK_TRUNCATED)
			memobs_attr_count(MEMOBS_ATTR_STAT_PY_TRUNCATED);
		if (s->rec.flags & MEMOBS_PYSTACK_TORN)
			memobs_attr_count(MEMOBS_ATTR_STAT_PY_TORN);
	}
	size = s->rec.nr;
	if (size > MEMOBS_PY_MAX_FRAMES)
		size = MEMOBS_PY_MAX_FRAMES;
	size = offsetof(struct memobs_pystack_rec, frames) + size * sizeof(struct memobs_pyframe);
	if (bpf_ringbuf_output(&memobs_attr_events, &s->rec, size, 0)) {
		memobs_attr_count(MEMOBS_ATTR_STAT_RINGBUF_DROPS);
		return;
	}
	memobs_attr_count(MEMOBS_ATTR_STAT_PY_STACKS);
	memobs_attr_add(MEMOBS_ATTR_STAT_PY_NS, bpf_ktime_get_ns() - now);
}

#endif /* MEMOBS_PY_FRAMES_BPF_H */
