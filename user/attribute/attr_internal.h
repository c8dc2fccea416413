/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Private to user/attribute/attr*.c: the attr object and what its files
 * share. Nothing else includes this header; the API is attribute/attr.h.
 *
 *   attr.c         open/close, which BPF programs load, poll and the tick,
 *                  the ring-buffer dispatch, stats
 *   attr_probes.c  where to probe in each allocator file, and the uprobe links
 *   attr_scope.c   the traced scope: watched cgroups and pids, new processes,
 *                  execs and exits
 *   attr_sites.c   call sites: stacks resolved to frames, the top sites, mm sites
 *   attr_unwind.c  call sites of copied stacks: CFI unwinding, then as above
 *   attr_faults.c  page-fault sampling: a perf event per traced thread
 *   attr_source.c  the sources of samples: site ids, what the allocator maps itself
 *   attr_python.c  CPython processes: their layouts, Python frames on their stacks
 */
#ifndef MEMOBS_ATTR_INTERNAL_H
#define MEMOBS_ATTR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "attribute/attr.h"
#include "util/u64map.h"
#include "memobs_attr.skel.h"

#define ATTR_MAX_HOOKS 40
/* frames a CFI walk keeps (then a frame says it was truncated) */
#define ATTR_UNWIND_DEPTH 64
/* copied stacks unwound whose allocation record has not come yet (the next one takes the slot) */
#define ATTR_USTACK_PENDING 4096
/* distinct call sites held (frames symbolized); past it, one overflow site, counted */
#define ATTR_MAX_SITES 16384
/* sampled mappings remembered by range (attr_source.c); past it, their faults count */
#define ATTR_MAX_MAPPED_RANGES 8192
/* Python frame chains held until their sample's stack copy comes (the next one takes the slot) */
#define ATTR_PY_PENDING 64
/* page-fault perf events open at once (one per traced thread); past it, counted failures */
#define ATTR_MAX_FAULT_EVENTS 4096

struct alloc_lib;
struct alloc_lib_set;
struct symbolizer;

/* A link either from libbpf (perf-event uprobes) or raw (uprobe_multi session). */
struct attr_link {
	struct bpf_link *link;
	int fd;
};

struct link_vec {
	struct attr_link *v;
	size_t len, cap;
};

/* Where to probe in one underlying file: computed once, shared by every process. */
struct file_probes {
	__u64 dev, ino;
	size_t nr;
	size_t nr_alloc; /* the first ones, of the malloc family; the mm wrappers follow */
	__u64 offsets[ATTR_MAX_HOOKS];
	__u64 cookies[ATTR_MAX_HOOKS];
};

struct traced_pid {
	int pid;
	__u64 start_time;	     /* a reused pid is another process */
	struct alloc_lib_set *files; /* attached for this process */
	struct link_vec links;
	bool explicit;	    /* watched by pid (attr__watch_pid), not via a cgroup */
	__u32 fault_events; /* of them in links: page-fault perf events */
	bool seen;	    /* in a watched cgroup at this tick */
};

/* A sampled mapping alive (mmap, sbrk, arena), by range (attr_source.c). */
struct mapped_range {
	__u32 pid;
	__u64 start, end;
};

struct site {
	char **frames;
	struct frame_meta *meta; /* parallel to frames (output/records.h); NULL: none */
	size_t nr;
};

/* A copied stack's site, until its allocation record asks for it (attr_unwind.c). */
struct attr_ustack_pending {
	__u64 sample_id; /* 0: free */
	__u64 site;
};

/* A sample's Python frames, until its stack copy is unwound (attr_python.c). */
struct attr_pystack {
	__u64 sample_id; /* 0: free */
	__u32 pid;
	__u16 nr, flags; /* as memobs_pystack_rec has them */
	struct memobs_pyframe frames[MEMOBS_PY_MAX_FRAMES];
};

struct py_code_cache;
struct py_mem;

struct attr {
	struct attr_opts opts; /* the host context in it is the caller's */
	struct memobs_attr *skel;
	struct ring_buffer *rb;
	struct symbolizer *sym;
	struct alloc_sites *samples;
	bool session;
	int nr_cpus;

	/* host-wide (malloc_all) */
	struct alloc_lib_set *global_files;
	struct link_vec global_links;
	struct u64map known_pids; /* pid -> start time: scanned already */

	/* targeted */
	struct u64map watched_cgroups; /* id -> 1 */
	struct u64map traced;	       /* pid -> struct traced_pid * */

	struct u64map pending_exec; /* pid -> scans still due */
	struct u64map sample_pids;  /* pid -> start time (0: not read yet): have samples */

	struct file_probes *files;
	size_t nr_files, cap_files;
	struct alloc_lib_set *failed_files; /* said once */

	struct u64map stack_site;   /* stack id -> site index */
	struct u64map stack_owner;  /* stack id -> pid whose addresses it holds */
	struct u64map site_by_hash; /* hash of the frames -> site index */
	struct site *sites;
	size_t nr_sites, cap_sites;
	__u64 overflow_site;	/* its index + 1; 0: none yet */
	__u64 sites_overflowed; /* stacks given the overflow site */

	struct attr_ustack_pending *ustack_pending; /* ATTR_USTACK_PENDING slots */
	struct attr_unwind_stats unwind;

	struct u64map py_procs;		 /* pid -> struct py_proc * (attr_python.c) */
	struct py_code_cache *py_codes;	 /* code objects named; NULL: Python frames off */
	struct py_mem *py_mem;		 /* the processes' memory it reads */
	struct attr_pystack *py_pending; /* ATTR_PY_PENDING slots */
	struct attr_python_stats py;

	__u64 attach_failures, probes_at_entry;
	__u64 fault_events;	     /* page-fault perf events open now */
	__u64 mm_inside_malloc;	     /* mm samples made by the allocator's own mmap/sbrk */
	struct mapped_range *mapped; /* the sampled mappings alive */
	size_t nr_mapped, cap_mapped;
	__u64 mapped_untracked; /* mappings past ATTR_MAX_MAPPED_RANGES */
	__u64 faults_in_mapped; /* fault samples on a sampled mapping's page: not counted twice */
	bool warned_faults;	/* a fault event failed to open: said once */
	bool warned_scan;	/* a scan failed for want of fds or memory: said once */
	bool mounted_tracefs;	/* memobs mounted it: unmounted once the tracepoints are attached */
	__u64 last_tick_ms;
	__u32 drained_this_poll; /* records handled since attr__poll() began (the drain budget) */
	__u64 drain_deadline_ns; /* ... and the time it may take */
	bool drain_spent;	 /* the budget ran out in this poll */
};

/* attr_probes.c */
int link_vec__push(struct link_vec *lv, struct bpf_link *link, int fd);
void link_vec__destroy(struct link_vec *lv);
/*
 * Scans a process's allocator libraries and attaches what is new: to the
 * process alone (tp set) or host-wide, once per underlying file.
 */
int attr_scan_and_attach(struct attr *a, int pid, struct traced_pid *tp);

/* attr_faults.c */
/*
 * Opens a page-fault event on each thread of a traced process (inherited by
 * the threads and children it makes afterwards) into tp->links. A process
 * whose parent is traced has them already. Failures are counted and said once.
 */
void attr_attach_faults(struct attr *a, int pid, struct traced_pid *tp);

/* attr_source.c */
/* A sample's site id: the site's index and the sample's source (enum memobs_alloc_source). */
__u64 attr_site_id(__u64 index, __u32 source);
/* ... and back. */
__u64 attr_site_index(__u64 site_id);
enum memobs_alloc_source attr_site_source(__u64 site_id);
/* Narrows a filter to the samples of one source (ATTR_SOURCE_ARENA included), or to all but it. */
void attr_filter_source(struct alloc_filter *f, __u32 source, bool exclude);
/*
 * Whether a site's stack passes through a malloc-family entry point: an
 * mmap or sbrk the allocator makes for its own arenas, which the malloc
 * samples already stand for.
 */
bool attr_mm_inside_malloc(struct attr *a, __u64 index);
/* The sampled mappings alive: remembered (non-mapping sources are ignored), forgotten, looked up. */
void attr_mapped_add(struct attr *a, __u32 pid, __u64 addr, __u64 len, __u32 source);
void attr_mapped_remove(struct attr *a, __u32 pid, __u64 addr);
void attr_mapped_forget_pid(struct attr *a, __u32 pid);
bool attr_mapped_covers(const struct attr *a, __u32 pid, __u64 addr);

/* attr_scope.c */
/* Host-wide: processes not scanned yet (forks that exec'd before we saw them, dlopen). */
void attr_rescan_host(struct attr *a);
/* Once a second: exits reaped, then new processes, cgroup members and execs picked up. */
void attr_scope_tick(struct attr *a);
/* Detaches and frees every traced process. */
void attr_scope_free(struct attr *a);

/* attr_sites.c */
/*
 * The site of a stack: its frames resolved now, while the process lives
 * (processes that exit keep what was resolved). ip_first: frame 0 is an
 * exact instruction (a fault), else every frame is a return address.
 */
int attr_site_of_stack(struct attr *a, __u64 stack_id, int pid, bool ip_first, __u64 *index);
/* Resolves the stacks of new mm sites while their processes live. */
void attr_resolve_mm_stacks(struct attr *a);
void attr_sites_free(struct attr *a);

/*
 * The site of frames (taken: malloc'd strings in a malloc'd array) and their
 * meta (taken: a malloc'd array of nr, or NULL), shared by equal frame lists:
 * the first list's meta is kept.
 */
int attr_site_of_frames(struct attr *a, char **frames, struct frame_meta *meta, size_t nr,
			__u64 *index);

/* attr_unwind.c */
/* A copied stack (MEMOBS_REC_USTACK): unwound, symbolized, its site kept for its sample id. */
void attr_handle_ustack(struct attr *a, const struct memobs_ustack_rec *rec, size_t size);
/* The site of a sampled call's copied stack ("[stack not kept]" when none came). */
int attr_site_of_sample(struct attr *a, __u64 sample_id, __u64 *index);

/* attr_python.c */
int attr_python_init(struct attr *a); /* 0 or -ENOMEM */
void attr_python_free(struct attr *a);
/*
 * Finds whether a traced process is CPython and, when its layout is known,
 * has BPF read its frames; one that is not known is said once. Done once
 * per process, and again after an exec (again).
 */
void attr_python_scan(struct attr *a, int pid, bool again);
void attr_python_forget(struct attr *a, int pid); /* the process is gone or untraced */
void attr_python_reap(struct attr *a);		  /* forgets those that exited */
void attr_python_stats(const struct attr *a, struct attr_python_stats *out);
/* A sample's Python frames (MEMOBS_REC_PYSTACK), held for its stack copy. */
void attr_handle_pystack(struct attr *a, const struct memobs_pystack_rec *rec, size_t size);
/* The Python frames held for a sample of pid (taken: valid until the next record), or NULL. */
const struct attr_pystack *attr_python_take(struct attr *a, __u64 sample_id, __u32 pid);
/* A stack hash h extended by the Python frames (py NULL: h as a stack hash). */
__u64 attr_python_hash(__u64 h, const struct attr_pystack *py);
/*
 * The native frames (*frames, *meta: nr of them, malloc'd, taken) with the
 * Python frames put in place of the eval-loop frames that ran them (one
 * slot left free after them). Returns 0 (nothing done when pid is not
 * CPython), 1 when the Python frames were cut here for a reason another
 * sample may not meet (a read failed, the read budget spent: the stack is
 * not worth remembering), or -ENOMEM (the lists as they were).
 */
int attr_python_merge(struct attr *a, int pid, const struct attr_pystack *py, char ***frames,
		      struct frame_meta **meta, size_t *nr);

/* A sample id's slot in a table of nr (the sample ids of attr_unwind.c and attr_python.c). */
static inline size_t attr_pending_slot(__u64 sample_id, size_t nr)
{
	return (size_t)(((sample_id >> 12) ^ (sample_id & 0xfff) * 0x9e3779b9ULL) % nr);
}

/* Drains what the ring holds now, within the per-poll budget (attr.c). */
void attr_drain_some(struct attr *a);

#endif /* MEMOBS_ATTR_INTERNAL_H */
