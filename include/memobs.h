/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The wire format shared by the BPF programs and userspace.
 *
 * Fixed-width types only and no includes: the BPF side gets __u32/__u64 from
 * vmlinux.h, userspace from <linux/types.h>. Every record begins with a __u32
 * `type` (enum memobs_rec_type) so that one switch dispatches all of them.
 * Records are 8-byte aligned.
 */
#ifndef MEMOBS_H
#define MEMOBS_H

#define MEMOBS_COMM_LEN 16
/* Default capacity of the map of cgroups under watch by the attribution tier. */
#define MEMOBS_MAX_WATCHED_CGROUPS 4096

/* Values 2 and 3 were exec and exit records: retired, not reused. */
enum memobs_rec_type {
	MEMOBS_REC_TASK = 1, /* task iterator: one per user thread per pass */
	MEMOBS_REC_OOM = 4,  /* ring buffer: the OOM killer chose a victim */
};

/* Indices into the per-CPU stats array map (memobs_stats). */
enum memobs_stat {
	MEMOBS_STAT_EVENTS = 0,	       /* records submitted to the ring buffer */
	MEMOBS_STAT_RINGBUF_DROPS = 1, /* bpf_ringbuf_reserve() failed */
	MEMOBS_STAT_NR = 2,
};

/* memobs_task_rec.flags */
#define MEMOBS_TASK_LEADER 0x1 /* thread-group leader: the mm figures are valid */
/* the whole process (the process walk): faults summed over its threads, nr_threads set */
#define MEMOBS_TASK_PROCESS 0x2
/*
 * The process walk re-reads a process's costly parts only when a cheap figure
 * of it changed, and at least every few passes (docs/output.md): the live
 * threads' faults (but the leader's) are as of an earlier pass ...
 */
#define MEMOBS_TASK_FAULTS_CACHED 0x4
/* ... the per-CPU parts of the RSS counters are as last summed ... */
#define MEMOBS_TASK_RSS_CACHED 0x8
/* ... nothing the walk reads of the process changed since the last pass */
#define MEMOBS_TASK_UNCHANGED 0x10

/*
 * One user thread as seen by the task iterator (iter/task). Only the leader
 * carries the process-wide mm figures (they are shared by all threads); every
 * thread carries its own fault counts, and the leader's also include those of
 * threads that already exited (signal->{min,maj}_flt), so the sum over a
 * process's records is its fault total. The process walk writes one record
 * per process instead (MEMOBS_TASK_PROCESS), its faults already summed.
 */
struct memobs_task_rec {
	__u32 type; /* MEMOBS_REC_TASK */
	__u32 flags;
	__u32 pid; /* tgid */
	__u32 tid;
	__u64 cgroup_id;     /* cgroup v2 id (kernfs node id) */
	__u64 start_time_ns; /* leader's start time: tells a reused pid apart */
	__u64 min_flt;
	__u64 maj_flt;
	/*
	 * Resident and virtual sizes in pages: the page size is the kernel's,
	 * which userspace knows and BPF would have to be told.
	 */
	__u64 anon_rss_pages;
	__u64 file_rss_pages;
	__u64 shmem_rss_pages;
	__u64 swap_pages;
	__u64 data_vm_pages; /* private writable, non-stack: VmData */
	__u64 total_vm_pages;
	__u64 heap_bytes; /* brk - start_brk */
	char comm[MEMOBS_COMM_LEN];
	__u32 nr_threads; /* MEMOBS_TASK_PROCESS: live threads (signal->nr_threads); else 0 */
	__u32 pad;
};

/*
 * The always-on tier's ring-buffer record: an OOM kill (rare: one per
 * victim). Before Linux 6.8 the hook knows the pid only: cgroup_id and the
 * page counts are 0 then.
 */
struct memobs_event {
	__u32 type;	      /* MEMOBS_REC_OOM */
	__u32 pid;	      /* tgid of the victim */
	__u64 cgroup_id;      /* the victim's cgroup, not the current task's */
	__u64 ts_ns;	      /* bpf_ktime_get_ns() */
	__u64 anon_rss_pages; /* the victim's resident pages at the kill */
	__u64 file_rss_pages;
	__u64 shmem_rss_pages;
	char comm[MEMOBS_COMM_LEN];
};

/*
 * ---- Attribution tier (bpf/alloc_trace.bpf.c, bpf/mm_trace.bpf.c -> memobs_attr.bpf.o) ----
 *
 * Malloc-family uprobes sample allocations by bytes (a Poisson process with
 * a mean interval of sample_bytes): a sampled allocation is remembered by
 * address in a bounded map, and its birth and its death cross the ring
 * buffer as MEMOBS_REC_ALLOC / MEMOBS_REC_FREE. Stacks are deduplicated in a
 * map keyed by a hash of the frames, so a record carries only the stack id.
 */
#define MEMOBS_ATTR_STACK_DEPTH 32     /* user frames kept per stack */
#define MEMOBS_ATTR_MAX_PIDS 16384     /* processes traced at once (pid filter) */
#define MEMOBS_ATTR_MAX_LIVE 65536     /* sampled allocations outstanding (default) */
#define MEMOBS_ATTR_MAX_STACKS 16384   /* distinct stacks (default) */
#define MEMOBS_ATTR_MAX_INFLIGHT 16384 /* calls between entry and return probe */
#define MEMOBS_ATTR_MAX_MM_SITES 16384 /* (cgroup, stack, kind) of mmap/brk/fault sites */

/* Records of the attribution tier: values continue the memobs_rec_type space at 16. */
enum memobs_attr_rec_type {
	MEMOBS_REC_ALLOC = 16,	   /* struct memobs_alloc_rec: a sampled allocation was made */
	MEMOBS_REC_FREE = 17,	   /* struct memobs_free_rec: a sampled allocation was freed */
	MEMOBS_REC_ATTR_EXEC = 18, /* struct memobs_attr_exec_rec: a traced process exec'd */
	MEMOBS_REC_USTACK = 19,	   /* struct memobs_ustack_rec: registers and stack of a sample */
	MEMOBS_REC_PYSTACK = 20,   /* struct memobs_pystack_rec: a sample's CPython frames */
};

/*
 * The functions hooked, as the attach cookie: it tells the one BPF program
 * which arguments the call has. C++ operators take the semantics of the C
 * function they implement (new = MALLOC, delete = FREE).
 */
enum memobs_alloc_fn {
	MEMOBS_FN_MALLOC = 0,	      /* (size) */
	MEMOBS_FN_CALLOC = 1,	      /* (nmemb, size) */
	MEMOBS_FN_REALLOC = 2,	      /* (ptr, size) */
	MEMOBS_FN_REALLOCARRAY = 3,   /* (ptr, nmemb, size) */
	MEMOBS_FN_FREE = 4,	      /* (ptr) */
	MEMOBS_FN_POSIX_MEMALIGN = 5, /* (void **memptr, align, size) -> 0 */
	MEMOBS_FN_ALIGNED_ALLOC = 6,  /* (align, size); memalign too */
	MEMOBS_FN_VALLOC = 7,	      /* (size); pvalloc too */
	/*
	 * Memory mapped outside malloc (escalation only, pid-filtered links):
	 * libc's own wrappers, so a suspect's neighbours carry no probe.
	 */
	MEMOBS_FN_MMAP = 8,   /* (addr, len, prot, flags, fd, off): anonymous only */
	MEMOBS_FN_MUNMAP = 9, /* (addr, len): forgets a sampled mapping that starts at addr */
	MEMOBS_FN_SBRK = 10,  /* (increment) -> the old break */
	MEMOBS_FN_NR = 11,
};

/*
 * Where a sampled block came from (memobs_alloc_rec.source): the malloc
 * family, an anonymous mmap, the break (sbrk), or the first touch of a page
 * (a user page fault, sampled by bytes: one page each).
 */
enum memobs_alloc_source {
	MEMOBS_SRC_MALLOC = 0,
	MEMOBS_SRC_MMAP = 1,
	MEMOBS_SRC_BRK = 2,
	MEMOBS_SRC_FAULT = 3,
	MEMOBS_SRC_NR = 4,
};

/* Per-CPU counters of the attribution tier (memobs_attr_stats). */
enum memobs_attr_stat {
	MEMOBS_ATTR_STAT_CALLS = 0,	    /* reserved: calls are not counted on the hot path */
	MEMOBS_ATTR_STAT_SAMPLED = 1,	    /* allocations chosen by the sampler */
	MEMOBS_ATTR_STAT_LIVE_FULL = 2,	    /* sampled allocation lost: live map full */
	MEMOBS_ATTR_STAT_STACKS_FULL = 3,   /* stack not kept: stack map full */
	MEMOBS_ATTR_STAT_INFLIGHT_FULL = 4, /* call lost between entry and return */
	MEMOBS_ATTR_STAT_FREES = 5,	    /* frees of sampled allocations seen */
	MEMOBS_ATTR_STAT_FAILED = 6,	    /* sampled calls that returned NULL/error */
	MEMOBS_ATTR_STAT_RINGBUF_DROPS = 7, /* bpf_ringbuf_reserve() failed */
	MEMOBS_ATTR_STAT_MM_EVENTS = 8,	    /* mmap/munmap/mremap/brk/fault hits counted */
	MEMOBS_ATTR_STAT_MM_FULL = 9,	    /* mm site map full */
	MEMOBS_ATTR_STAT_USTACK_THROTTLED = 10, /* sampled calls past the stack-copy budget:
						  * frame pointers instead */
	MEMOBS_ATTR_STAT_USTACK_COPIES = 11,	/* stack copies sent */
	MEMOBS_ATTR_STAT_USTACK_NS = 12,	/* ns the probes spent making them (copy, send) */
	MEMOBS_ATTR_STAT_MM_CALLS = 13, /* mmap/munmap/sbrk calls of traced processes seen */
	MEMOBS_ATTR_STAT_FAULTS = 14,	/* page faults of traced processes seen */
	/* mm hooks that fired in a process outside the traced scope: 0 by construction
	 * (pid-filtered uprobes, per-task perf events); counted to prove it */
	MEMOBS_ATTR_STAT_OUT_OF_SCOPE = 15,
	MEMOBS_ATTR_STAT_PY_STACKS = 16,    /* Python frame chains sent (MEMOBS_REC_PYSTACK) */
	MEMOBS_ATTR_STAT_PY_TRUNCATED = 17, /* ... cut at MEMOBS_PY_MAX_FRAMES */
	MEMOBS_ATTR_STAT_PY_TORN = 18,	    /* ... cut where a read failed (a frame changing) */
	MEMOBS_ATTR_STAT_PY_NO_THREAD = 19, /* ... of a thread with no thread state found */
	MEMOBS_ATTR_STAT_PY_NS = 20,	    /* ns the probes spent reading them */
	MEMOBS_ATTR_STAT_NR = 21,
};

/* A sampled allocation: address and size as the allocator returned them. */
struct memobs_alloc_rec {
	__u32 type; /* MEMOBS_REC_ALLOC */
	__u32 pid;  /* tgid */
	__u64 cgroup_id;
	__u64 addr;
	__u64 size;	/* bytes requested */
	__u64 ts_ns;	/* bpf_ktime_get_ns() at the return */
	__u64 stack_id; /* key of memobs_attr_stacks; 0 when the stack was not kept */
	__u32 source;	/* enum memobs_alloc_source */
	__u32 pad;
};

/*
 * CFI unwinding (docs/unwinding.md): at a sampled call the entry probe copies
 * the registers CFI rules use and the top of the user stack (from rsp up to
 * memobs_stack_copy_bytes, page by page, stopping at the first page that
 * cannot be read); userspace unwinds the copy with the modules' .eh_frame.
 * The record precedes the allocation's, whose stack_id is its sample_id.
 */
#define MEMOBS_USTACK_MAX 16384		      /* the largest copy: a verifier-bounded constant */
#define MEMOBS_USTACK_SAMPLE_BIT (1ULL << 63) /* set in a sample_id, never in a stack hash */

/* memobs_ustack_rec.regs: what the x86-64 CFI of compiled code refers to */
enum memobs_ureg {
	MEMOBS_UREG_IP = 0,
	MEMOBS_UREG_SP = 1,
	MEMOBS_UREG_BP = 2,
	MEMOBS_UREG_BX = 3,
	MEMOBS_UREG_R12 = 4,
	MEMOBS_UREG_R13 = 5,
	MEMOBS_UREG_R14 = 6,
	MEMOBS_UREG_R15 = 7,
	MEMOBS_UREG_NR = 8,
};

/* memobs_ustack_rec.flags: the ip is the sampled instruction (a fault), not a probed entry */
#define MEMOBS_USTACK_AT_PC 0x1

struct memobs_ustack_rec {
	__u32 type; /* MEMOBS_REC_USTACK */
	__u32 pid;
	__u64 sample_id; /* the memobs_alloc_rec.stack_id of the same call */
	__u64 regs[MEMOBS_UREG_NR];
	__u32 stack_len; /* bytes of stack that follow, copied from regs[MEMOBS_UREG_SP] */
	__u32 flags;	 /* MEMOBS_USTACK_* */
	__u8 stack[];
};

/* A sampled allocation was freed (or moved by realloc). */
struct memobs_free_rec {
	__u32 type; /* MEMOBS_REC_FREE */
	__u32 pid;
	__u64 addr;
	__u64 ts_ns;
};

/* A traced process (or any, when host-wide) called execve: its libraries change. */
struct memobs_attr_exec_rec {
	__u32 type; /* MEMOBS_REC_ATTR_EXEC */
	__u32 pid;
	__u64 cgroup_id;
};

/* memobs_attr_live: the sampled allocations outstanding. */
struct memobs_live_key {
	__u32 pid;
	__u32 pad;
	__u64 addr;
};

struct memobs_live_val {
	__u64 size;
	__u64 ts_ns;
	__u64 stack_id;
	__u64 cgroup_id;
};

/*
 * memobs_attr_stacks value: user frames, innermost first. ips[0] is the
 * direct caller of the hooked function (the return address read at the
 * probe), the rest come from the frame-pointer walk.
 */
struct memobs_stack {
	__u32 nr;  /* frames used in ips */
	__u32 pid; /* the process whose addresses these are */
	__u64 ips[MEMOBS_ATTR_STACK_DEPTH];
};

/* What an mm site counts (mm_trace): raw address-space growth and first touches. */
enum memobs_mm_kind {
	MEMOBS_MM_MMAP_ANON = 0,   /* bytes mapped anonymous (private or shared) */
	MEMOBS_MM_MMAP_FILE = 1,   /* bytes mapped from a file */
	MEMOBS_MM_MUNMAP = 2,	   /* bytes unmapped */
	MEMOBS_MM_MREMAP_GROW = 3, /* bytes added by mremap (new_len - old_len > 0) */
	MEMOBS_MM_BRK_GROW = 4,	   /* bytes the heap grew by through brk */
	MEMOBS_MM_FAULT = 5,	   /* user page faults (bytes: one page each) */
	MEMOBS_MM_NR = 6,
};

/* memobs_attr_mm_sites (per-CPU hash): key and value. */
struct memobs_mm_key {
	__u64 cgroup_id;
	__u64 stack_id;
	__u32 pid;
	__u32 kind; /* enum memobs_mm_kind */
};

struct memobs_mm_val {
	__u64 count;
	__u64 bytes;
};

/*
 * ---- CPython frames (issue 16, docs/python.md) ----
 *
 * A sampled call of a CPython process (memobs_attr_py_procs has its layout)
 * also reads the calling thread's Python frame chain: the thread state whose
 * thread_id is the thread's pthread_self() (its fs base on x86-64), then
 * frame by frame outward, one bounded read of each. The record, sent just
 * before the same sample's MEMOBS_REC_USTACK, carries each frame's code
 * object address and instruction (raw); userspace reads the code objects
 * and interleaves the frames with the native stack's eval-loop frames.
 */
#define MEMOBS_PY_MAX_FRAMES 64 /* Python frames kept per sample (innermost); a power of 2 */
/* thread states searched for the current thread's, over every interpreter */
#define MEMOBS_PY_MAX_THREADS 1024
#define MEMOBS_PY_MAX_INTERPRETERS \
	16			 /* interpreters searched (the main one and sub-interpreters) */
#define MEMOBS_PY_FRAME_READ 128 /* bytes of a frame read at once: every offset + 8 within */
#define MEMOBS_PY_NO_OFFSET 0xffff

/* memobs_py_layout.frame_kind: what a frame is and what its instruction field holds */
enum memobs_py_frame_kind {
	MEMOBS_PY_FRAME_OBJECT = 0, /* 3.9, 3.10: PyFrameObject; instr: f_lasti (an int) */
	MEMOBS_PY_FRAME_INTERP = 1, /* 3.11+: _PyInterpreterFrame; instr: an instruction pointer */
};

/* memobs_py_layout.entry_kind: how the first Python frame of one C-level eval call is told */
enum memobs_py_entry_kind {
	MEMOBS_PY_ENTRY_EVERY = 0, /* 3.9, 3.10: every frame is its own eval call */
	MEMOBS_PY_ENTRY_FLAG = 1,  /* 3.11: the frame's is_entry byte */
	MEMOBS_PY_ENTRY_SHIM = 2,  /* 3.12+: the next frame out is a C-stack shim (owner byte) */
};

/*
 * memobs_attr_py_procs value (tgid -> layout), byte offsets from userspace's
 * per-version table (user/attribute/py_layout.c) or, from 3.13 on, the
 * process's own _Py_DebugOffsets.
 */
struct memobs_py_layout {
	__u64 runtime_addr;	    /* &_PyRuntime in the process */
	__u16 version;		    /* (major << 8) | minor */
	__u8 frame_kind;	    /* enum memobs_py_frame_kind */
	__u8 entry_kind;	    /* enum memobs_py_entry_kind */
	__u16 runtime_interp_head;  /* _PyRuntime.interpreters.head */
	__u16 interp_threads_head;  /* PyInterpreterState: tstate_head (3.9, 3.10), threads.head */
	__u16 tstate_next;	    /* PyThreadState.next */
	__u16 tstate_thread_id;	    /* PyThreadState.thread_id: pthread_self() of its thread */
	__u16 tstate_frame;	    /* .frame (3.9, 3.10), .cframe (3.11, 3.12), .current_frame */
	__u16 cframe_current_frame; /* _PyCFrame.current_frame; MEMOBS_PY_NO_OFFSET: no cframe */
	__u16 frame_back;	    /* f_back, previous */
	__u16 frame_code;	    /* f_code, f_executable (3.13) */
	__u16 frame_instr;	    /* f_lasti, prev_instr (3.11, 3.12), instr_ptr (3.13) */
	__u16 frame_entry;	    /* is_entry (3.11), owner (3.12+); MEMOBS_PY_NO_OFFSET: none */
	__u8 owner_cstack;	    /* the owner value of a shim frame (FRAME_OWNED_BY_CSTACK) */
	__u8 pad1;
	__u16 interp_next; /* PyInterpreterState.next: sub-interpreters' threads too */
	__u8 pad[4];
};

/*
 * memobs_pyframe.code bit 0: the frame its C-level eval call was entered with
 * (the outermost of that call's frames; innermost first, the last of them)
 */
#define MEMOBS_PY_ENTRY 0x1ULL

struct memobs_pyframe {
	__u64 code;  /* the code object's address | MEMOBS_PY_ENTRY */
	__u64 instr; /* as the layout's frame_kind says */
};

/* memobs_pystack_rec.flags */
#define MEMOBS_PYSTACK_TRUNCATED 0x1 /* more frames than MEMOBS_PY_MAX_FRAMES */
#define MEMOBS_PYSTACK_NO_THREAD 0x2 /* no thread state of this thread (nr is 0) */
#define MEMOBS_PYSTACK_TORN 0x4	     /* a read failed mid-chain: the frames before it kept */

struct memobs_pystack_rec {
	__u32 type; /* MEMOBS_REC_PYSTACK */
	__u32 pid;
	__u64 sample_id; /* the memobs_ustack_rec.sample_id of the same call */
	__u16 nr;	 /* frames that follow, innermost first */
	__u16 flags;	 /* MEMOBS_PYSTACK_* */
	__u32 pad;
	struct memobs_pyframe frames[MEMOBS_PY_MAX_FRAMES];
};

#endif /* MEMOBS_H */
