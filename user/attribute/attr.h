/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The attribution tier's lifecycle: loads memobs_attr.bpf.o, attaches the
 * sampled malloc-family uprobes once per underlying file (host-wide) or per
 * traced process (pid-filtered links: other processes carry no trap), picks
 * up new processes and execs within a second, drains the sampled
 * allocations into call sites, and detaches everything on close.
 *
 * Single-threaded: every call from the thread that owns the object. Call
 * attr__poll() at least every 100 ms while tracing at high sample rates,
 * and at least once per second otherwise.
 *
 * The host context (mounts, kernel features, the cgroup resolver) is the
 * caller's: attr reads it and never builds a second copy.
 */
#ifndef MEMOBS_ATTR_H
#define MEMOBS_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "model/alloc_sites.h"
#include "memobs.h"

#define ATTR_DEFAULT_SAMPLE_BYTES (512 * 1024)
#define ATTR_DEFAULT_STACK_BYTES 16384
#define ATTR_FP_ONLY (~0U)

struct attr;
struct bpf_object;
struct cgroup_resolver;
struct features;
struct frame_meta; /* output/records.h */
struct mounts;

struct attr_opts {
	__u64 sample_bytes; /* mean bytes between samples; 0: default; 1: every allocation */
	bool malloc;	    /* hook the malloc family */
	bool malloc_all;    /* ... in every process (--malloc), else only those watched */
	bool trace_mm;	    /* mmap/munmap/mremap/brk and page-fault hooks */
	bool trace_mm_all;  /* ... for every cgroup (--trace-mm), else only those watched */
	/*
	 * Processes traced by cgroup or pid (not host-wide) also get sampled
	 * anonymous mmap/sbrk calls (libc's wrappers, pid-filtered uprobes) and
	 * page faults (per-task perf events): sites of every source.
	 */
	bool mm_escalation;
	bool no_session;     /* use entry+return probes even where sessions exist */
	bool keep_exited;    /* keep the samples of processes that exit (a report at
				 * the end of `memobs leaks` shows what was outstanding) */
	__u32 ringbuf_bytes; /* 0: 4 MiB */
	__u32 max_live;	     /* sampled allocations outstanding; 0: MEMOBS_ATTR_MAX_LIVE */
	/* bytes of stack a sampled call copies for the CFI unwinder (at most
	 * MEMOBS_USTACK_MAX); 0: ATTR_DEFAULT_STACK_BYTES; ATTR_FP_ONLY: no copy,
	 * frame pointers only */
	__u32 stack_bytes;
	/* the caller's, not owned: they must outlive the attr object */
	const struct mounts *mounts;	 /* required (util/mountinfo.h) */
	const struct features *features; /* required (collect/features.h), probed on mounts */
	struct cgroup_resolver *cgroups; /* on the cgroup2 mount; NULL: no cgroup can be watched */
};

/* A call site of sampled allocations outstanding. */
struct attr_site {
	struct alloc_site est;
	enum memobs_alloc_source source; /* where its samples came from */
	const char *const *frames;	 /* innermost first, "func+0xoff (module) file:line";
				    * owned by the attr object, valid until attr__close() */
	/* parallel to frames: build-id, mangled name, mapped path, file offset
	 * (the symbolizer's); owned likewise; NULL: none */
	const struct frame_meta *meta;
	size_t nr_frames;
};

/* A call site of raw address-space growth (trace_mm). */
struct attr_mm_site {
	__u64 cgroup_id;
	__u32 pid; /* a process with counts here (the first met) */
	enum memobs_mm_kind kind;
	__u64 count;
	__u64 bytes;
	const char *const *frames;
	size_t nr_frames;
};

/* How copied stacks unwound (attr_unwind.c). */
struct attr_unwind_stats {
	__u64 walks;		   /* stacks unwound */
	__u64 truncated;	   /* ... that ended before the outermost frame */
	__u64 cfi_frames;	   /* steps made with a CFI rule */
	__u64 fp_frames;	   /* ... with the frame-pointer chain (or [rsp] at the first) */
	__u64 pending_overwritten; /* a copied stack whose allocation record never came */
	__u64 stack_cache_resets;  /* the stack -> site shortcut emptied at its bound */
};

/* Python frames of CPython processes (attr_python.c, docs/python.md). */
struct attr_python_stats {
	__u64 processes;	    /* CPython processes whose frames are read now */
	__u64 layout_unknown;	    /* CPython processes of a layout not known (said once each) */
	__u64 frames;		    /* Python frames put on stacks */
	__u64 truncated;	    /* Python stacks cut here: a code object unreadable */
	__u64 pending_overwritten;  /* Python frames whose stack copy never came */
	__u64 code_reads;	    /* code objects read from processes (cache misses) */
	__u64 code_read_failures;   /* ... that were gone, torn or not code objects */
	__u64 code_evictions;	    /* code objects dropped from the bounded cache */
	__u64 code_reads_throttled; /* frames left unnamed: their process's read budget spent */
};

struct attr_stats {
	__u64 bpf[MEMOBS_ATTR_STAT_NR]; /* enum memobs_attr_stat */
	__u64 attach_failures;
	__u64 files_attached;	      /* host-wide: distinct underlying files hooked */
	__u64 links;		      /* BPF links held now */
	__u64 pids_traced;	      /* processes with pid-filtered links now */
	__u64 probes_at_entry;	      /* functions probed at the entry (no emulated site found) */
	__u64 symbol_cache_evictions; /* ELF files dropped by the symbolizer's bounds */
	__u64 symbol_timeouts;	      /* lookups past the deadline, or a helper lost */
	struct attr_unwind_stats unwind;
	struct attr_python_stats python;
	__u64 sites;		   /* distinct call sites held (at most 16384) */
	__u64 sites_overflowed;	   /* stacks past that bound, given one overflow site */
	__u64 cfi_cache_bytes;	   /* the unwind-rule cache now (bounded) */
	__u64 cfi_cache_evictions; /* rules dropped from it for another pc's */
	__u64 fault_events;	   /* per-thread page-fault perf events open now */
	__u64 mm_inside_malloc;	   /* mm samples made by the allocator itself (not counted twice) */
	bool session;		   /* uprobe sessions in use */
};

/* Loads and attaches what opts asks for. Returns 0 or -errno (already reported). */
int attr__open(struct attr **out, const struct attr_opts *opts);
/* Detaches every link and unloads; NULL-safe. */
void attr__close(struct attr *a);

/* Traces the processes of a cgroup and its descendants (cgroup v2 id), now and as they come. */
int attr__watch_cgroup(struct attr *a, __u64 cgroup_id);
/* Stops: detaches their links and forgets their samples. */
int attr__unwatch_cgroup(struct attr *a, __u64 cgroup_id);
/* Traces one process. -ESRCH when it does not exist. */
int attr__watch_pid(struct attr *a, int pid);

/*
 * Drains the ring buffer, waiting up to timeout_ms for data; once a second
 * also rescans for new processes, execs and exits. Returns records handled
 * or -errno (-EINTR when a signal arrived).
 */
int attr__poll(struct attr *a, int timeout_ms);

/*
 * The call sites with the most estimated bytes outstanding among the
 * samples passing f (NULL: all), at most n. *out is malloc'd (free()).
 */
int attr__top_sites(struct attr *a, const struct alloc_filter *f, size_t n, struct attr_site **out,
		    size_t *nr);
/* Estimated bytes outstanding in sampled malloc-family allocations of a cgroup (0: all cgroups). */
__u64 attr__cgroup_outstanding_bytes(struct attr *a, __u64 cgroup_id);
/*
 * ... of one source (enum memobs_alloc_source), or ATTR_SOURCE_ARENA: what
 * the allocator itself mapped (mmap/sbrk inside malloc) and still holds, kept
 * apart from the sources sites are shown for, to tell retention from a leak.
 */
#define ATTR_SOURCE_ARENA MEMOBS_SRC_NR
__u64 attr__cgroup_source_bytes(struct attr *a, __u64 cgroup_id, __u32 source);
/* mm sites by bytes (faults: by count), filtered like samples. *out is malloc'd. */
int attr__top_mm_sites(struct attr *a, const struct alloc_filter *f, size_t n,
		       struct attr_mm_site **out, size_t *nr);

__u64 attr__attach_failures(const struct attr *a);
void attr__stats(struct attr *a, struct attr_stats *out);
__u64 attr__sample_bytes(const struct attr *a);
/* The loaded BPF object: for benchmarks that feed its maps from a stand-in producer. */
struct bpf_object *attr__bpf_object(const struct attr *a);

const char *attr_mm_kind__str(enum memobs_mm_kind kind);
/* "malloc", "mmap", "brk", "fault" */
const char *attr_source__str(enum memobs_alloc_source source);

#endif /* MEMOBS_ATTR_H */
