/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's profiles (memobs run --profile-dir DIR, docs/profiles.md):
 * a gzipped pprof per escalation (and per alert with --malloc), named
 * <rfc3339>-<cgroup-or-container>-<episode>.pb.gz, at most `keep` of them in
 * the directory, the oldest removed first; each holds at most
 * PROFILE_DIR_MAX_SITES sites, so the directory stays under keep times a
 * few hundred KiB.
 *
 * The directory is memobs's: it must be a directory (not a link to one),
 * owned by memobs's user and writable by nobody else, or it is refused. It
 * is held open, and every file is made beneath that fd (O_EXCL, O_NOFOLLOW,
 * mode 0600), written under a temporary name and renamed, so that a reader
 * never sees half a profile.
 */
#ifndef MEMOBS_PROFILE_DIR_H
#define MEMOBS_PROFILE_DIR_H

#include <stddef.h>
#include <linux/types.h>
#include "output/pprof.h"
#include "output/records.h"

#define PROFILE_DIR_DEFAULT_KEEP 20
#define PROFILE_DIR_MAX_KEEP 10000
#define PROFILE_DIR_MAX_SITES 1000

struct profile_dir;

/* 0, -ENOTDIR, -ELOOP (a symlink), -EPERM (another owner, or writable by others), -errno. */
int profile_dir__open(struct profile_dir **out, const char *path, unsigned int keep);
void profile_dir__close(struct profile_dir *d); /* NULL-safe */

/*
 * Writes the profile of who (a cgroup path or container name: anything but
 * [A-Za-z0-9._-] becomes '_') for episode, made at ts_ms, then removes the
 * oldest profiles past keep. *written: its path (malloc'd). 0 or -errno.
 */
int profile_dir__write(struct profile_dir *d, __u64 ts_ms, const char *who, __u64 episode,
		       const struct site_record *sites, size_t nr, const struct pprof_opts *opts,
		       char **written);

/* The name a profile gets (for tests): 0 or -ENAMETOOLONG. */
int profile_dir__name(__u64 ts_ms, const char *who, __u64 episode, char *buf, size_t size);

#endif /* MEMOBS_PROFILE_DIR_H */
