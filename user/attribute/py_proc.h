/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which processes are CPython, and where their interpreter keeps its state
 * (issue 16, docs/python.md).
 *
 * The interpreter image is the libpython3.X.so* the process maps, else its
 * executable when that defines _PyRuntime (a statically linked interpreter:
 * Debian's python3.11, the official python images, pyenv's default builds
 * link libpython). Its ELF symbols _PyRuntime and Py_Version (3.11+: the
 * hex version, as data) are read through util/observed_file.h with
 * attribute/elf_read.h's bounds, placed with the load bias of the mapping
 * (0 for ET_EXEC), and the version read out of the process's memory
 * (/proc/PID/mem); without Py_Version (3.9, 3.10) the file's name says it.
 * 3.9 to 3.12 take attribute/py_layout.c's table, 3.13 its own
 * _Py_DebugOffsets, read from _PyRuntime; anything else is refused.
 */
#ifndef MEMOBS_PY_PROC_H
#define MEMOBS_PY_PROC_H

#include <stddef.h>
#include <linux/types.h>
#include "attribute/py_code.h"
#include "attribute/py_layout.h"

#define PY_PROC_MAPS_MAX_BYTES (4U << 20) /* of /proc/PID/maps read */
#define PY_PROC_WHY_MAX 128		  /* a refusal's reason fits */

/*
 * Detects CPython in pid. Returns 0 (out filled, out->bpf.runtime_addr
 * set), -ENOENT (not CPython: no libpython mapped, no _PyRuntime in the
 * executable), -EPROTONOSUPPORT (CPython, layout unknown: why says which,
 * "CPython 3.14 layout unknown", "CPython version unknown (libpython3.99.so)",
 * shown as "python frames unavailable: <why>"), or another -errno (-ESRCH
 * gone, -EACCES its memory not readable, -EIO a read failed; why says what).
 */
int py_proc__detect(int pid, struct py_layout *out, char *why, size_t why_len);

/*
 * The version a libpython or python executable's file name says (pure):
 * "libpython3.10.so.1.0", "libpython3.9d.so", "python3.9" -> 3, 10 / 9.
 * Returns 0 or -ENOENT when the name says none.
 */
int py_proc__version_from_name(const char *basename, unsigned int *major, unsigned int *minor);

/* The real reader of process memory: /proc/PID/mem, one fd per process kept. */
#define PY_MEM_MAX_FDS 64	/* processes whose mem stays open; least recently used closed */
#define PY_MEM_MAX_PROCS 16384	/* processes whose image and ranges are kept (traced at most) */
#define PY_MEM_MAX_RANGES 65536 /* readable ranges kept per process (maps has at most 65530) */
#define PY_MEM_RANGES_MS 1000	/* a read outside them reads maps again at most this often */

struct py_mem;

struct py_mem *py_mem__new(void);    /* NULL with errno set */
void py_mem__free(struct py_mem *m); /* NULL-safe: closes every fd */
/*
 * Exactly len bytes at addr of pid, which must have started at start_time
 * (0: not checked); 0 or -errno (-EFAULT: not mapped, or not anonymous
 * memory nor the image py_mem__set_image() named; -ESRCH: gone or
 * another process, -EACCES: not allowed). pread on /proc/PID/mem: no ptrace
 * stop, nothing mapped into memobs.
 */
int py_mem__read(struct py_mem *m, __u32 pid, __u64 start_time, __u64 addr, void *buf, size_t len);
void py_mem__forget(struct py_mem *m, __u32 pid); /* closes pid's fd */
/*
 * The interpreter image of pid (py_layout's image_dev, image_ino): besides
 * anonymous memory, the only file whose mappings are read. Every other
 * address is -EFAULT without a read: a page of another file would be read
 * from that file, which a hostile process can put on FUSE and never answer.
 */
void py_mem__set_image(struct py_mem *m, __u32 pid, __u64 start_time, __u64 dev, __u64 ino);
/* The reader interface of py_code.h over m (which must outlive it). */
struct py_reader py_mem__reader(struct py_mem *m);

#endif /* MEMOBS_PY_PROC_H */
