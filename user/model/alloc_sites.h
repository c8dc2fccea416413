/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The sampled allocations outstanding and their aggregation into call sites
 * (pure: no libbpf, unit-tested).
 *
 * Allocations are sampled by bytes as a Poisson process with a mean of
 * sample_bytes between sample points (tcmalloc, jemalloc and Go do the same):
 * one of size s is sampled with probability p = 1 - exp(-s / sample_bytes),
 * so each sample stands for 1/p allocations and s/p bytes. Sums of these
 * weights are unbiased estimates of what is outstanding; they are estimates,
 * and shown as such (est_*).
 */
#ifndef MEMOBS_ALLOC_SITES_H
#define MEMOBS_ALLOC_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct alloc_sample {
	__u32 pid;
	__u64 cgroup_id;
	__u64 addr;
	__u64 size;    /* bytes requested */
	__u64 ts_ns;   /* when it was made (CLOCK_MONOTONIC, as bpf_ktime_get_ns) */
	__u64 site_id; /* the call site (stack) it belongs to; chosen by the caller */
};

struct alloc_site {
	__u64 site_id;
	double est_bytes;    /* estimated bytes outstanding */
	double est_allocs;   /* estimated allocations outstanding */
	__u64 samples;	     /* sampled allocations outstanding */
	__u64 sampled_bytes; /* their bytes, unweighted */
	__u64 oldest_ts_ns;  /* the oldest sample's birth */
	__u32 pid;	     /* a process with samples here (the first met) */
	__u64 cgroup_id;     /* its cgroup */
};

/* Which samples count: 0 in a field means any. */
struct alloc_filter {
	__u64 cgroup_id;
	__u32 pid;
	/* samples whose site_id & site_mask is site_bits (a kind of site the caller encodes),
	 * or, with site_exclude, is not */
	__u64 site_mask;
	__u64 site_bits;
	bool site_exclude;
};

struct alloc_sites;

/* sample_bytes <= 1: every allocation is sampled (weight 1). NULL on ENOMEM. */
struct alloc_sites *alloc_sites__new(__u64 sample_bytes);
void alloc_sites__free(struct alloc_sites *s);

/* 1/p for an allocation of size bytes: how many allocations a sample stands for. */
double alloc_sites__weight(__u64 size, __u64 sample_bytes);

/* Remembers a sample; a sample at the same (pid, addr) is replaced. 0 or -ENOMEM. */
int alloc_sites__add(struct alloc_sites *s, const struct alloc_sample *a);
/* Forgets the sample at (pid, addr); false if there was none (an unsampled block). */
bool alloc_sites__remove(struct alloc_sites *s, __u32 pid, __u64 addr);
/*
 * Forgets every sample of a process (it exited: the kernel took its memory
 * back), calling each(ctx, sample) first for each when each is not NULL.
 */
size_t alloc_sites__remove_pid(struct alloc_sites *s, __u32 pid,
			       void (*each)(void *ctx, const struct alloc_sample *a), void *ctx);
size_t alloc_sites__len(const struct alloc_sites *s);

/* Estimated bytes outstanding over the samples that pass the filter (NULL: all). */
double alloc_sites__outstanding_bytes(const struct alloc_sites *s, const struct alloc_filter *f);

/*
 * The call sites of the samples that pass the filter, by estimated bytes,
 * largest first; at most n (0: all). *out is malloc'd (free() it), *nr its
 * length. Returns 0 or -ENOMEM.
 */
int alloc_sites__top(const struct alloc_sites *s, const struct alloc_filter *f, size_t n,
		     struct alloc_site **out, size_t *nr);

#endif /* MEMOBS_ALLOC_SITES_H */
