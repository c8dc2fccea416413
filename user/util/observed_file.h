/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one way memobs opens and reads a file an observed process controls
 * (issue 14: its files can become FIFOs, be truncated, or be swapped for
 * symlinks while memobs reads them).
 *
 * Opened once, never blocking, never by a path the process can re-point:
 *   1. /proc/PID/map_files/<start>-<end> when the mapping is known: the link
 *      reaches the mapped inode itself (deleted or not), no name is walked;
 *   2. else the path from maps, resolved inside the process's root
 *      (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS
 *      on an O_PATH fd of /proc/PID/root; without openat2, -ENOSYS, a walk
 *      of one component at a time with O_NOFOLLOW, ".." refused);
 *   3. when that name is not there and the identity is checked, the same
 *      name from memobs's own root (a chrooted process: maps renders paths
 *      from the reader's root).
 * Always O_RDONLY | O_NONBLOCK | O_NOFOLLOW (but for the map_files link) |
 * O_CLOEXEC: a FIFO opens without waiting for a writer, a leased file fails
 * with -EWOULDBLOCK instead of waiting for the lease break. Then fstat: the
 * file must be regular and, when asked, have the device and inode maps
 * shows. Every later step uses that fd: its bytes are copied into memory
 * with pread (never mmap: a truncation by the owner would SIGBUS memobs),
 * and libbpf attaches through "/proc/self/fd/N", which names the open file,
 * not a path.
 *
 * A file on FUSE (its device, from maps, is a FUSE mount's in the process's
 * mountinfo) is refused with -EREMOTE before any open: a FUSE daemon that
 * never answers would block open() or pread() whatever the flags. Only
 * checked when the identity is (check_identity: the device is known).
 */
#ifndef MEMOBS_OBSERVED_FILE_H
#define MEMOBS_OBSERVED_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/*
 * The largest copy read from an observed file. Shared objects with their
 * symbols and DWARF run to ~100-300 MiB (libLLVM, libxul with -g); 512 MiB
 * leaves room for those while keeping one hostile file (a sparse 1 TiB
 * "library") from making the daemon of the whole node allocate without bound.
 */
#define OBSERVED_FILE_MAX_BYTES (512ULL << 20)

struct observed_file {
	int fd; /* -1: closed */
	__u64 dev, ino;
	__u64 size;	    /* st_size at open */
	bool via_map_files; /* opened through /proc/PID/map_files */
};

struct observed_file_opts {
	int pid;
	const char *path;    /* as the process's maps names it ("/usr/lib/libc.so.6"); NULL:
			       * map_files only */
	__u64 start, end;    /* the mapping, for map_files; 0, 0: unknown */
	bool check_identity; /* the file must be dev:ino (makedev form) */
	__u64 dev, ino;
};

/* Returns 0 (out->fd open) or -errno: -EINVAL not a regular file, -ESTALE another
 * file than expected, -ELOOP a symlink, -ESRCH the process is gone, -EREMOTE on FUSE. */
int observed_file__open(const struct observed_file_opts *opts, struct observed_file *out);

/*
 * The same rules on path resolved beneath the directory fd root_fd (an
 * absolute path is taken from root_fd too); for tests and for files under a
 * root memobs holds open. expect_dev/ino checked when check_identity.
 */
int observed_file__openat(int root_fd, const char *path, bool check_identity, __u64 dev, __u64 ino,
			  struct observed_file *out);

/* The walk used without openat2 (-ENOSYS), on every kernel: for tests. Returns an fd or -errno. */
int observed_file__walk_beneath(int root_fd, const char *path);

/* Checks an fd opened elsewhere the same way (regular, identity) and fills out; takes fd. */
int observed_file__adopt(int fd, bool check_identity, __u64 dev, __u64 ino,
			 struct observed_file *out);

/*
 * Copies the file into a malloc'd buffer with pread: at most max bytes
 * (0: OBSERVED_FILE_MAX_BYTES), -EFBIG when larger. A file truncated while
 * read gives what was there (*len shorter than size). The caller frees *buf.
 */
int observed_file__read_all(const struct observed_file *f, __u64 max, void **buf, size_t *len);

/*
 * Exactly size bytes at offset of an open observed file, with pread (EINTR
 * retried): 0, -errno, or -EIO when the file ends first (truncated since).
 */
int observed_file__pread(int fd, void *buf, size_t size, __u64 offset);

/* "/proc/self/fd/N": how the open file is named to an API that wants a path. */
int observed_file__fd_path(const struct observed_file *f, char *buf, size_t size);

void observed_file__close(struct observed_file *f); /* NULL-safe, idempotent */

#endif /* MEMOBS_OBSERVED_FILE_H */
