/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User-space addresses of live processes to "func+0xoff (module) file:line",
 * with elfutils' libdwfl; C++ and Rust names demangled, stripped Go named
 * from .gopclntab, JIT code from the process's perf map (docs/symbols.md).
 *
 * Files are opened once through util/observed_file.h (/proc/PID/map_files/
 * <range>, else the maps path inside the process's root with the device and
 * inode maps shows; never blocking, never following a symlink, a deleted
 * file never by name), so processes in other mount namespaces resolve, and
 * copied into memory: libelf and libdwfl read the copy (elf_memory, a
 * find_elf callback), no file of an observed process stays open or mapped,
 * so a truncation cannot SIGBUS memobs. No separate debug file is looked up
 * (.gnu_debuglink / .gnu_debugaltlink are hidden from libdw): their names
 * are the observed process's to choose. Each ELF is read once per build-id
 * and shared by every process and path mapping it (the DWARF of libc is read
 * once for all containers).
 *
 * The parsing runs in a helper process (symbolize_worker.h) with no
 * capabilities, its address space and CPU time limited: memobs opens each
 * file and passes the descriptor; libelf and libdwfl read the helper's copy
 * (symbolize_elf.h), so a parser bug costs the helper, not the daemon. Each
 * address waits opts.deadline_ms at most: past it, or when the helper dies,
 * the helper is killed and reaped, the address comes out as "module+0xoff (module)",
 * the file it was reading is not tried again, and the next request starts a
 * fresh helper (at most one start per second; until then, unnamed frames
 * without waiting). Both are counted (symbolizer_stats.timeouts,
 * worker_restarts). opts.in_process parses in memobs itself (tests).
 *
 * Bounded: the copies total at most opts.budget_bytes and opts.max_files
 * files; past either, the least recently used file is evicted (counted in
 * symbolizer_stats.evictions) and read again if needed. At most
 * opts.max_pids processes are held, the least recently used forgotten first. A file larger than
 * the budget is not read (frames in it come out unnamed, "module+0xoff (module)").
 * symbolizer__forget_pid() frees the files no other process maps. Per-process state is the list of
 * executable mappings, read on first use, re-read when an address falls
 * outside it, dropped when the pid is found reused (start time changed) or
 * by symbolizer__forget_pid(). A process that exited keeps resolving against
 * the mappings read before its exit until it is forgotten.
 *
 * Return addresses: every frame but the first of a stack is a return
 * address, the instruction after a call; its symbol and line are looked up
 * at addr - 1 so that they name the call (the displayed +0xoff stays that of
 * the address itself, as perf and gdb show it). symbolizer__resolve() treats
 * addrs[0] as an exact IP and addrs[1..] as return addresses;
 * symbolizer__resolve_one() lets the caller say.
 */
#ifndef MEMOBS_SYMBOLIZE_H
#define MEMOBS_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct symbolizer;

/* 256 MiB of ELF copies: libc + libstdc++ + a few large binaries with DWARF per node. */
#define SYMBOLIZER_BUDGET_BYTES (256ULL << 20)
#define SYMBOLIZER_MAX_FILES 512
/* processes whose mappings are held; exits are normally reported (forget_pid) long before */
#define SYMBOLIZER_MAX_PIDS 8192
/* the longest one address waits for the helper: a drain of the ring buffer stays short */
#define SYMBOLIZER_DEADLINE_MS 250
/* the longest a file's first read and parse waits (once per file) */
#define SYMBOLIZER_LOAD_DEADLINE_MS 3000

struct symbolizer_opts {
	size_t budget_bytes; /* 0: SYMBOLIZER_BUDGET_BYTES */
	size_t max_files;    /* 0: SYMBOLIZER_MAX_FILES */
	size_t max_pids;     /* 0: SYMBOLIZER_MAX_PIDS */
	int deadline_ms;     /* 0: SYMBOLIZER_DEADLINE_MS */
	bool in_process;     /* parse in this process, no helper (tests, fuzzing) */
	int test_hang_ms;    /* tests only: the helper sleeps this long on each lookup */
};

struct symbolizer_stats {
	__u64 files;		   /* ELF files held now */
	__u64 image_bytes;	   /* their copies' bytes */
	__u64 evictions;	   /* files (and processes) dropped to stay within the bounds */
	__u64 pids;		   /* processes whose mappings are held */
	__u64 timeouts;		   /* requests past the deadline (the helper was killed) */
	__u64 worker_restarts;	   /* helpers lost (timed out, died) and replaced on demand */
	__u64 cfi_cache_bytes;	   /* the unwind-rule cache (bounded: cfi_cache.h) */
	__u64 cfi_cache_evictions; /* rules dropped from it for another pc's */
};

/* NULL with errno set on failure. */
struct symbolizer *symbolizer__new(void);
struct symbolizer *symbolizer__new_opts(const struct symbolizer_opts *opts);
void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out);
void symbolizer__free(struct symbolizer *s);
/* The helper's pid, 0 when none runs or in_process: for tests. */
int symbolizer__worker_pid(const struct symbolizer *s);

/*
 * out[i] (malloc'd, the caller frees each) for addrs[i]:
 *   "leak_here+0x1a (leaker) leaker.c:42"   symbol, and line with debug info
 *   "ns::Cls::f(unsigned long)+0x1a (app)"  a C++ symbol, demangled
 *   "libfoo.so+0x1234 (libfoo.so)"          in a file, nothing names it: the
 *                                           ELF vaddr (the file offset when
 *                                           the file was not read), as perf
 *                                           and pprof place such a frame
 *   "JS:*work /app.js:3+0x1c (perf-7.map)"  in no file mapping: an entry of
 *                                           /tmp/perf-NSPID.map in the
 *                                           process's root (JIT code)
 *   "0x7f12345678"                          in no file mapping and no perf
 *                                           map entry: the bare address, as
 *                                           perf shows an unplaced address
 * Returns 0, -ESRCH when the process is gone and was never seen, -ENOMEM
 * (then no string is left allocated).
 */
int symbolizer__resolve(struct symbolizer *s, int pid, const __u64 *addrs, size_t n, char **out);
int symbolizer__resolve_one(struct symbolizer *s, int pid, __u64 addr, bool is_return_addr,
			    char **out);

struct frame_meta; /* output/records.h */

/*
 * symbolizer__resolve_one(), and in *meta (zeroed first) what the string
 * does not say: the path maps shows and the file offset of the address when
 * it lies in a file mapping, the file's GNU build-id (hex; read with the
 * file: none when the file could not be read, or its note is past 64 bytes),
 * and the symbol's mangled name when the string shows its demangling. Its
 * strings are malloc'd: frame_meta__clear() frees them. Returns as
 * symbolizer__resolve_one() does; on an error neither *out nor *meta holds
 * anything.
 */
int symbolizer__resolve_frame(struct symbolizer *s, int pid, __u64 addr, bool is_return_addr,
			      char **out, struct frame_meta *meta);
/* Frees what symbolizer__resolve_frame() put in m and zeroes it; NULL-safe. */
void frame_meta__clear(struct frame_meta *m);

/*
 * Drop per-pid state (the process exited), and the files only it mapped;
 * strings the caller holds stay valid.
 */
void symbolizer__forget_pid(struct symbolizer *s, int pid);

/*
 * The frames of an ELF image in memory (malloc'd; taken) as if it were
 * mapped from file offset 0, out[i] for file_offsets[i]: the same reading
 * of arbitrary bytes as a process's file gets, parsed in this process (no
 * helper), for the fuzz harness and tests. Returns 0 or -ENOMEM.
 */
int symbolizer__resolve_image(void *image, size_t len, const __u64 *file_offsets, size_t n,
			      char **out);

struct cfi_row;

/* One walk's state for symbolizer__cfi_row(): zeroed, pid set, before the first call. */
struct sym_walk {
	int pid;
	bool reread; /* the maps were re-read once for an address in none of them */
	int failed;  /* the process could not be read: every call fails so */
	void *proc;  /* the symbolizer's, valid for this walk */
};

/*
 * The unwind rule of the walk's process at pc (an exact address) for the
 * CFI unwinder (unwind.h), from the file mapped there, read and parsed as
 * for symbols and cached by file and pc (cfi_cache.h). -ENOENT: no file
 * mapping (JIT code) or no CFI there. No other symbolizer call may come
 * between the calls of one walk.
 */
int symbolizer__cfi_row(struct symbolizer *s, struct sym_walk *w, __u64 pc, struct cfi_row *row);

#endif /* MEMOBS_SYMBOLIZE_H */
