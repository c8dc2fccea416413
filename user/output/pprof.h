/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A gzipped pprof profile (github.com/google/pprof proto/profile.proto; our
 * subset in proto/profile.proto) of the sampled allocations outstanding, the
 * format `go tool pprof`, Pyroscope, Parca and speedscope open.
 *
 * Named as Go's heap profiles are, so that tools pick the right view by
 * default: sample types alloc_objects/count, alloc_space/bytes,
 * inuse_objects/count, inuse_space/bytes (inuse_space last and the default),
 * period_type space/bytes, period the mean sampling interval in bytes.
 * memobs knows only what is outstanding (a freed sample is forgotten), so
 * alloc_* equal inuse_*: allocations made during the trace and still live at
 * its end, not everything allocated. Values are the estimates
 * (model/alloc_sites.h), rounded.
 *
 * One Location per distinct frame string (and build-id), with one Line
 * (function, file, line) parsed by output/folded.h; one Mapping per module
 * and build-id, named by the path the process maps (else the module's
 * basename) and carrying the file's GNU build-id (lowercase hex, what
 * `go tool pprof` shows and re-symbolizes by) when the site's frame_meta
 * (output/records.h) knows it. A Function's name is the demangled name the
 * frame shows, its system_name the symbol as the file names it (mangled).
 * Labels: pid, comm (when known), cgroup (its path, when known) and cgroup_id.
 */
#ifndef MEMOBS_PPROF_H
#define MEMOBS_PPROF_H

#include <stddef.h>
#include <linux/types.h>
#include "output/records.h"

/* What the caller knows of a site's process beyond its record. */
struct pprof_site_labels {
	const char *comm;   /* NULL: unknown (no label) */
	const char *cgroup; /* the cgroup's path; NULL: unknown (cgroup_id only) */
};

struct pprof_opts {
	__u64 sample_bytes; /* the sampling interval: Profile.period */
	__u64 time_ns;	    /* when tracing began, ns since the epoch; 0: unknown */
	__u64 duration_ns;
	const struct pprof_site_labels *labels; /* NULL, or one per site */
};

/* The serialized Profile, not compressed, in *buf (malloc'd; free() it). 0 or -ENOMEM. */
int pprof__encode(const struct site_record *sites, size_t nr, const struct pprof_opts *opts,
		  __u8 **buf, size_t *len);

/* The gzipped Profile to path (created or truncated). 0 or -errno. */
int pprof__write(const char *path, const struct site_record *sites, size_t nr,
		 const struct pprof_opts *opts);
/* ... to an open file, which it takes (closed on return). 0 or -errno. */
int pprof__write_fd(int fd, const struct site_record *sites, size_t nr,
		    const struct pprof_opts *opts);

#endif /* MEMOBS_PPROF_H */
