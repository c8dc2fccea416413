/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The output contract: every JSON line memobs writes is one of these typed
 * records, produced by a stage (sampler, detector, escalator, `memobs leaks`)
 * and rendered by output/render.c alone, in one switch. docs/output.md lists
 * each record's fields; tests/unit/test_render.c checks the two agree.
 *
 * Records hold values, and borrow strings and the cgroup they name: what a
 * stage returns stays valid until that stage's next call.
 */
#ifndef MEMOBS_RECORDS_H
#define MEMOBS_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "memobs.h"
#include "model/alloc_sites.h"
#include "model/snapshot.h"

struct container_id; /* identity/container.h */

enum record_type {
	RECORD_SAMPLE,	      /* one cgroup in one pass: `run --snapshots`, `top --once --json` */
	RECORD_OOM_KILL,      /* the OOM killer chose a victim */
	RECORD_LEAK,	      /* a detector alert, or its escalation follow-up */
	RECORD_STATS,	      /* what was counted: drops, map-full, attach failures */
	RECORD_LEAK_SITE,     /* `memobs leaks`: one call site of sampled allocations */
	RECORD_MM_SITE,	      /* `memobs leaks --trace-mm`: one call site of raw mm growth */
	RECORD_LEAKS_SUMMARY, /* `memobs leaks`: the run's totals, last */
	RECORD_TYPE_NR,
};

/* The cgroup a record concerns, as every line names it. */
struct record_cgroup {
	__u64 id;
	const char *path;		      /* NULL: removed before it could be named */
	const struct container_id *container; /* NULL: not a container */
};

/*
 * What a frame string does not say, made with it by the symbolizer
 * (attribute/symbolize.h) and kept beside it: the file the frame lies in and
 * the symbol as that file names it. Every string comes from the observed
 * process's files and maps (hostile): bounded where it is made, sanitized
 * where it is written.
 */
struct frame_meta {
	/* the file's GNU build-id, lowercase hex (at most 128 digits); NULL: none, or the
	 * file could not be read */
	char *build_id;
	/* the symbol as the file names it (mangled, at most 4 KiB) when the frame shows its
	 * demangling; NULL: the frame's own name, or no symbol */
	char *raw_name;
	char *path;	   /* the file as the process's maps name it; NULL: no file mapping */
	__u64 file_offset; /* of the address in that file (when path is set) */
};

/* One call site: a stack and what is outstanding there (estimated from samples). */
struct site_record {
	const struct alloc_site *est; /* model/alloc_sites.h */
	const char *const *frames;    /* innermost first */
	size_t nr_frames;
	/* parallel to frames[] (nr_frames of them); NULL: none known (profiles use the strings) */
	const struct frame_meta *meta;
	/*
	 * The frame of frames[] outside the allocator and its wrappers
	 * (model/caller.h), filled by the producer; NULL: every frame is theirs
	 * ("caller": null). Profiles ignore it: they stay keyed by the stack.
	 */
	const char *caller;
	/* where its samples came from: "malloc", "mmap", "brk", "fault"; NULL: "malloc" */
	const char *source;
};

struct sample_record {
	const struct cgroup_stat *cg;
	double interval_s;  /* since the previous pass; 0: rates unknown */
	bool malloc_traced; /* malloc_outstanding_bytes means something */
};

struct oom_kill_record {
	__u32 pid;
	char comm[MEMOBS_COMM_LEN];
	__u64 anon_rss_bytes;
	__u64 file_rss_bytes;
	__u64 shmem_rss_bytes;
	__u64 oom_kills_total; /* in the victim's cgroup since memobs started */
	const char *profile; /* --profile-dir: the cgroup's last profile of the window; NULL: none */
};

enum leak_record_state {
	LEAK_RECORD_SUSPECTED = 0,
	LEAK_RECORD_CLEARED = 1,
};

struct leak_record {
	enum leak_record_state state;
	const char *metric;	   /* "anon_rss", "heap", "mmap", "malloc" */
	__u64 bytes;		   /* the metric now */
	double growth_bytes_per_s; /* Theil-Sen slope */
	double window_s;
	double confidence;	/* one-sided Mann-Kendall, 0..1 */
	__u64 limit_bytes;	/* 0: none (null) */
	double time_to_limit_s; /* < 0: unknown (null) */
	bool has_top_process;
	__u32 top_pid;
	char top_comm[MEMOBS_COMM_LEN];
	/*
	 * The top process's runtime (attribute/runtime.h): "native", "go", "jvm",
	 * "node", "python"; NULL: no top process, or nothing of it could be read.
	 */
	const char *runtime;
	/* What to run to see inside the runtime's heap (docs/detector.md); "": null */
	char hint[320];			 /* RUNTIME_HINT_MAX */
	const struct site_record *sites; /* [] on the first line of an episode */
	size_t nr_sites;
	/* The escalation follow-up only (escalated): what the probes saw. */
	bool escalated;
	double escalated_for_s;
	__u64 anon_growth_bytes;
	__u64 malloc_outstanding_bytes;
	bool not_from_malloc;
	__u64 mapped_bytes; /* anonymous mmap/sbrk outside malloc, still mapped (estimate) */
	__u64 arena_bytes;  /* ... made by the allocator for its arenas (estimate) */
	const char *growth_held_by; /* model/growth.h; NULL: nothing grew (null) */
	const char *profile;	    /* --profile-dir: the pprof written for it; NULL: none */
};

/* What the BPF side and the attach code counted (pipeline__stats()). */
struct pipeline_stats {
	__u64 events;	     /* records the BPF side submitted */
	__u64 ringbuf_drops; /* lost: the ring buffer was full */
	__u64 map_full;	     /* map updates refused */
	__u64 attach_failures;
	__u64 symbol_cache_evictions; /* ELF files the symbolizer dropped to stay in its bounds */
	__u64 symbol_timeouts; /* frames left unnamed: the parsing helper timed out or died */
	/* escalations' mm hooks (mmap/munmap/sbrk probes, fault events) that fired in a
	 * traced process, and in any other (0 by construction: the proof) */
	__u64 mm_hook_hits;
	__u64 mm_hook_hits_out_of_scope;
	__u64 python_frames;	       /* Python frames put on escalated stacks (python.md) */
	__u64 python_stacks_truncated; /* ... stacks of them cut: torn, unreadable, too deep */
	__u64 python_layout_unknown;   /* CPython processes of an unknown layout: native only */
};

struct leak_site_record {
	__u32 rank; /* 1: the most bytes outstanding */
	struct site_record site;
	double age_s; /* of the oldest sample outstanding there */
};

struct mm_site_record {
	const char *kind; /* "mmap", "brk", "fault", ... */
	__u32 pid;
	__u64 cgroup_id;
	__u64 count;
	__u64 bytes;
	const char *const *frames;
	size_t nr_frames;
	const char *caller; /* as in struct site_record */
};

/* How the copied stacks unwound (attribute/attr_unwind.c, docs/unwinding.md). */
struct unwind_figures {
	__u64 stacks;		   /* copied stacks unwound */
	__u64 truncated;	   /* ... that ended before the outermost frame */
	__u64 cfi_frames;	   /* steps made with a CFI rule */
	__u64 fp_frames;	   /* ... with the frame-pointer chain */
	__u64 cfi_cache_bytes;	   /* the rule cache now (bounded) */
	__u64 cfi_cache_evictions; /* rules dropped from it for another pc's */
};

/* Python frames of CPython processes (attribute/attr_python.c, docs/python.md). */
struct python_figures {
	__u64 processes;	    /* CPython processes whose frames are read now */
	__u64 layout_unknown;	    /* CPython processes of an unknown layout: native stacks */
	__u64 frames;		    /* Python frames put on stacks */
	__u64 truncated;	    /* Python stacks cut in userspace (a code object unreadable) */
	__u64 pending_overwritten;  /* Python frames whose stack copy never came */
	__u64 code_reads_throttled; /* frames left unnamed: their process's read budget spent */
	__u64 code_reads;	    /* code objects read from the processes */
	__u64 code_read_failures;   /* ... gone, torn, or not code objects */
	__u64 code_evictions;	    /* dropped from the bounded cache */
};

struct leaks_summary_record {
	double duration_s;
	__u64 sample_bytes;
	__u64 malloc_outstanding_bytes;
	__u64 nr_sites;
	bool target_exited;
	bool session;
	__u64 attach_failures;
	__u64 files_attached;
	__u64 links;
	__u64 pids_traced;
	__u64 probes_at_entry;
	__u64 symbol_cache_evictions;
	__u64 symbol_timeouts;
	__u64 bpf[MEMOBS_ATTR_STAT_NR]; /* enum memobs_attr_stat */
	struct unwind_figures unwind;
	struct python_figures python;
	__u64 sites_held;	/* distinct call sites held (bounded) */
	__u64 sites_overflowed; /* stacks past the bound, given one overflow site */
};

struct record {
	enum record_type type;
	__u64 ts_ms;	 /* wall clock, ms since the epoch */
	bool has_cgroup; /* false: "cgroup": null (stats) */
	struct record_cgroup cgroup;
	union {
		struct sample_record sample;
		struct oom_kill_record oom_kill;
		struct leak_record leak;
		struct pipeline_stats stats;
		struct leak_site_record leak_site;
		struct mm_site_record mm_site;
		struct leaks_summary_record leaks_summary;
	};
};

struct leak_alert; /* detect/detector.h */

/* The common fields of a record about cg (NULL: none); the rest zeroed. */
void record__init(struct record *r, enum record_type type, __u64 ts_ms,
		  const struct cgroup_stat *cg);
/*
 * The common fields of a record about a cgroup that is in no snapshot (gone,
 * or not sampled yet): its id and whatever path the caller still knows.
 */
void record__init_gone(struct record *r, enum record_type type, __u64 ts_ms, __u64 cgroup_id,
		       const char *path);
/* A leak record with the fields of a detector alert (no sites, not escalated). */
void leak_record__from_alert(struct leak_record *l, const struct leak_alert *a);

#endif /* MEMOBS_RECORDS_H */
