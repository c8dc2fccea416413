/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Discovery of the allocator libraries processes use, from /proc/PID/maps,
 * and the identity of the file a uprobe on them attaches to.
 *
 * The identity is the UNDERLYING file: the kernel registers a uprobe on
 * d_real_inode() of the path, so two containers that share an image layer
 * through overlayfs share one uprobe target. Neither /proc/PID/maps nor a
 * stat through the overlay tells (measured on 6.18: maps shows the overlay
 * device, 00:27 and 00:29 for two mounts of one lower file, with the real
 * inode number; stat of /proc/PID/map_files/<range> follows to the overlay
 * file too, st_dev 39 and 41). So for a file on overlayfs the layer that
 * holds it is found from the overlay's superblock options in
 * /proc/PID/mountinfo (the mount whose device is the file's st_dev and whose
 * mount point holds the path; upperdir first, then each lowerdir in order).
 * Layer paths are in the mounter's (the host's) namespace: they are read in
 * memobs's own view, then through /proc/1/root (memobs in a container with
 * hostPID). The topmost layer holding the name decides; it is accepted only
 * if it is a regular file whose size, mode and mtime equal the overlay
 * file's (overlayfs passes them through), so a whiteout or a same-named file
 * of the wrong view is refused. Layers on overlayfs themselves (nested
 * containers) are resolved again in that view. When no layer verifies, the
 * overlay's own identity is used and key_is_real says so.
 */
#ifndef MEMOBS_ALLOC_LIBS_H
#define MEMOBS_ALLOC_LIBS_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "util/observed_file.h"

enum alloc_lib_kind {
	ALLOC_LIB_GLIBC,
	ALLOC_LIB_MUSL,
	ALLOC_LIB_JEMALLOC,
	ALLOC_LIB_TCMALLOC,
	ALLOC_LIB_MIMALLOC,
	ALLOC_LIB_EXE, /* malloc defined in the executable (static, or interposed) */
};

struct alloc_lib {
	struct observed_file file; /* opened once by the scan: identity, probe offsets
				    * and the attach all use this fd (issue 14) */
	char host_path[PATH_MAX];  /* for messages only, never re-opened: the real layer
				   * file for overlayfs, else /proc/PID/map_files/<range> */
	char map_path[PATH_MAX];   /* as /proc/PID/maps shows it, " (deleted)" stripped */
	enum alloc_lib_kind kind;
	__u64 key_dev, key_ino; /* identity of the UNDERLYING file (makedev form) */
	bool key_is_real;	/* false: on overlayfs but no layer verified; the key is
				   * the overlay's and may duplicate another mount's */
};

/* One line of /proc/PID/maps. */
struct maps_entry {
	__u64 start, end, offset;
	__u32 dev_major, dev_minor;
	__u64 inode;
	char perms[5];	     /* "r-xp" */
	bool deleted;	     /* the path ended in " (deleted)" (stripped from path) */
	char path[PATH_MAX]; /* "" for anonymous mappings; "[heap]" etc. kept as is */
};

/* Parses one /proc/PID/maps line (pure). Returns 0 or -EINVAL. */
int maps_line__parse(const char *line, struct maps_entry *out);
/*
 * Calls each(entry, ctx) for each line of pid's maps that parses, up to
 * max_bytes of them, until it returns false. 0, -ESRCH (gone: maps empty
 * or absent), -ENOMEM, -errno.
 */
int maps_each(int pid, size_t max_bytes, bool (*each)(const struct maps_entry *e, void *ctx),
	      void *ctx);

/* Allocator kind of a library from its file name (pure); false if none. */
bool alloc_lib__classify(const char *path, enum alloc_lib_kind *kind);
const char *alloc_lib_kind__str(enum alloc_lib_kind kind);

/*
 * Scans one process: the allocator libraries it maps (executable mappings
 * only), each file once, each opened (out[i].file). Fills up to max, returns
 * the count or -errno (-ESRCH when the process is gone). The caller closes
 * the files with alloc_libs__release().
 */
int alloc_libs__scan_pid(int pid, struct alloc_lib *out, int max);
void alloc_libs__release(struct alloc_lib *libs, int n);

/* One line per library found ("pid kind key=dev:ino real=0|1 host=... map=...") for debugging. */
int alloc_libs__debug_dump(int pid, FILE *out);

/* A set of files already attached, keyed by (key_dev, key_ino). */
struct alloc_lib_set;
struct alloc_lib_set *alloc_lib_set__new(void);
void alloc_lib_set__free(struct alloc_lib_set *s);
/* True if added, false if already there (or out of memory: errno is then ENOMEM). */
bool alloc_lib_set__add(struct alloc_lib_set *s, const struct alloc_lib *lib);
bool alloc_lib_set__contains(const struct alloc_lib_set *s, const struct alloc_lib *lib);
size_t alloc_lib_set__len(const struct alloc_lib_set *s);

#endif /* MEMOBS_ALLOC_LIBS_H */
