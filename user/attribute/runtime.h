/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The language runtime of a leak's top process (issue 12): whether its heap
 * is malloc's or a runtime's own (Go, the JVM, V8, CPython), and what a
 * developer runs next to see inside it. docs/detector.md ("Runtime") holds
 * the rules.
 *
 * Evidence, never a guess:
 *   go      the executable has a .go.buildinfo section with Go's magic, a
 *           .gopclntab with a pclntab magic, or defines runtime.main or
 *           runtime.mallocgc
 *   jvm     the process maps libjvm.so
 *   node    the process maps libnode.so*, or the executable defines V8
 *           symbols (v8::) and either node's own (node::) or is named node
 *           or nodejs
 *   python  the process maps libpython3.*.so*, or the executable defines
 *           Py_Initialize or _PyEval_EvalFrameDefault (a CPython interpreter)
 *   native  maps and the executable's ELF were read and nothing matched
 *   unknown (null) otherwise: gone, its executable refused (FUSE, not a
 *           regular file, not ELF64) or a symbol table past its bound
 * When several match, the first in that order wins: a Go executable's heap
 * is Go's whatever it loads; libjvm.so is only mapped by a JVM (launcher or
 * embedder), whose reserved heap then dominates.
 *
 * The process controls every byte read here. /proc/PID/maps is read up to
 * RUNTIME_MAPS_MAX_BYTES; the executable is opened once through
 * util/observed_file.h (map_files, non-blocking, no symlink, a regular file
 * with the inode maps names, FUSE refused before any open) and read with
 * bounded preads, never mapped: its ELF header, up to RUNTIME_MAX_SECTIONS
 * section headers, the section names (RUNTIME_SHSTRTAB_MAX_BYTES), the first
 * bytes of .go.buildinfo and .gopclntab (their magic), and only when those
 * say nothing, .dynsym then .symtab, each up to RUNTIME_SYMTAB_MAX_BYTES of
 * symbols and RUNTIME_STRTAB_MAX_BYTES of names (a larger table is skipped).
 */
#ifndef MEMOBS_RUNTIME_H
#define MEMOBS_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "util/observed_file.h"

#define RUNTIME_MAPS_MAX_BYTES (4U << 20)
#define RUNTIME_MAX_SECTIONS 4096
#define RUNTIME_SHSTRTAB_MAX_BYTES (64U << 10)
#define RUNTIME_SYMTAB_MAX_BYTES (8U << 20)
#define RUNTIME_STRTAB_MAX_BYTES (16U << 20)
/* verdicts cached, by (pid, start time, executable); the least recently used goes first */
#define RUNTIME_CACHE_MAX 256
/* a hint's longest text, its pid filled in */
#define RUNTIME_HINT_MAX 320

enum runtime_kind {
	RUNTIME_UNKNOWN = 0, /* nothing could be read: "runtime": null */
	RUNTIME_NATIVE,
	RUNTIME_GO,
	RUNTIME_JVM,
	RUNTIME_NODE,
	RUNTIME_PYTHON,
};

/* What was found: the classifier's only input. */
struct runtime_evidence {
	bool maps_read;	     /* /proc/PID/maps was read (up to its bound) */
	bool exe_read;	     /* the executable's ELF headers were read */
	bool exe_named_node; /* its basename is "node" or "nodejs" */
	bool maps_libjvm, maps_libnode, maps_libpython;
	bool go_buildinfo;    /* .go.buildinfo, starting with "\xff Go buildinf:" */
	bool go_pclntab;      /* .gopclntab, starting with a pclntab magic */
	bool go_symbols;      /* runtime.main or runtime.mallocgc defined */
	bool v8_symbols;      /* a v8:: symbol (_ZN2v8...) defined */
	bool node_symbols;    /* a node:: symbol (_ZN4node...) defined */
	bool python_symbols;  /* Py_Initialize or _PyEval_EvalFrameDefault defined */
	bool symbols_skipped; /* a symbol table past its bound or unreadable: not scanned */
};

/* The verdict of the evidence (pure). */
enum runtime_kind runtime__classify(const struct runtime_evidence *ev);
/* "native", "go", "jvm", "node", "python"; NULL for RUNTIME_UNKNOWN. */
const char *runtime_kind__str(enum runtime_kind kind);

/* The mapped file's part of the evidence, from its path as maps shows it (pure). */
void runtime__note_mapping(const char *path, struct runtime_evidence *ev);

/*
 * The executable's part, read from f with the bounds above (never the whole
 * file). Sets exe_read when the ELF headers were read; returns 0 or -errno
 * (-ENOEXEC: not an ELF64 of this byte order, or headers out of the file).
 */
int runtime__read_elf(const struct observed_file *f, struct runtime_evidence *ev);

/*
 * Reads a live process's evidence (maps, then its executable) and classifies
 * it. Returns the verdict; RUNTIME_UNKNOWN when the process is gone or
 * nothing of it could be read. Never waits on the process's files.
 */
enum runtime_kind runtime__detect(int pid);

/*
 * What to run to see inside the runtime's heap, pid filled in, into buf
 * (size >= RUNTIME_HINT_MAX fits every hint); "" when there is none to give.
 * First line of an episode (escalated false): a hint for every runtime but
 * native and unknown. Escalated line: for go, jvm and node only when
 * not_from_malloc (else the malloc sites are the answer: cgo, JNI, a native
 * addon); for python always (pymalloc's arenas are mmap'd, its large objects
 * malloc'd: tracemalloc sees both).
 */
void runtime__hint(enum runtime_kind kind, __u32 pid, bool escalated, bool not_from_malloc,
		   char *buf, size_t size);

/* Verdicts kept per process, bounded (RUNTIME_CACHE_MAX). */
struct runtime_cache;

struct runtime_cache *runtime_cache__new(void);	   /* NULL with errno set */
void runtime_cache__free(struct runtime_cache *c); /* NULL-safe */
/*
 * The verdict for pid: cached while the process's start time and its
 * executable's link are the same (a pid reused, or an exec, detects again).
 */
enum runtime_kind runtime_cache__lookup(struct runtime_cache *c, int pid);
/* Entries dropped to stay within RUNTIME_CACHE_MAX. */
__u64 runtime_cache__evictions(const struct runtime_cache *c);

#endif /* MEMOBS_RUNTIME_H */
