/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where to put an entry uprobe on an allocator function so that the kernel
 * emulates the probed instruction instead of single-stepping it out of line
 * (a trap of ~600 ns against ~12,000 ns: bench/RESULTS.md, "Allocation tracing").
 *
 * What arch/x86/kernel/uprobes.c (6.x) emulates, checked against the source:
 *   branch_setup_xol_ops(): jmp rel8 (eb), jmp rel32 (e9), call rel32 (e8),
 *     jcc rel8 (70-7f), jcc rel32 (0f 80-8f), nop (90); a 0x66 prefix makes
 *     the probe fail (-ENOTSUPP), other prefixes are kept.
 *   push_setup_xol_ops(): push reg (50-57), and 41 50-57 (push r8-r15).
 *   Kernels that carry insn_is_nop() (2025, with uprobe optimization) also
 *     emulate nopl (0f 1f /0) and optimize a 5-byte nop; older 6.x kernels
 *     single-step nopl, so nopl is not counted as emulated here.
 *   endbr64 (f3 0f 1e fa) is not a nop for the kernel: single-stepped.
 *
 * The rule: walk the straight-line prefix of the function (at most
 * PROBE_PLACE_MAX_INSNS instructions / PROBE_PLACE_MAX_BYTES bytes). An
 * instruction the kernel emulates is the site: every call reaches it, and
 * before it executes, the argument registers and rsp still hold their entry
 * values (so the BPF side reads args from regs and the return address from
 * *(u64 *)rsp as at the entry). Instructions that write none of the
 * function's argument registers nor rsp, write no memory and do not
 * branch (test, cmp, endbr64, mov to a scratch register) are walked over.
 * Anything else stops the walk: the probe goes at the entry (fallback).
 * Finally, a direct jump inside the function that lands in (entry, site]
 * would make the site fire without a call: then the entry is used too.
 */
#ifndef MEMOBS_PROBE_PLACE_H
#define MEMOBS_PROBE_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/*
 * jemalloc 5.3's free reaches its first jcc after 11 instructions (48 bytes)
 * of register arithmetic; shorter limits would leave it single-stepped.
 */
#define PROBE_PLACE_MAX_INSNS 16
#define PROBE_PLACE_MAX_BYTES 64
/* Arguments assumed for functions the table in probe_place.c does not know. */
#define PROBE_PLACE_ALL_ARGS 6
/* or'ed into nr_args: the arguments survive a syscall, the probe may follow one */
#define PROBE_PLACE_PAST_SYSCALL 0x100

struct probe_site {
	__u64 func_offset;	/* file offset of the function's entry (a uprobe at +0) */
	__u64 probe_offset;	/* file offset to place the probe at */
	__u32 skipped_bytes;	/* probe_offset - func_offset */
	bool at_entry_fallback; /* no safe emulated instruction found: probing the entry */
	bool entry_is_emulated; /* the instruction at +0 is emulated (no cost to fall back) */
	bool tail_jump;		/* the site is an unconditional jmp out: a tail call to
				  * another function (jemalloc's operator delete is
				  * `jmp free@plt`); hooking both counts twice */
	char reason[64];	/* why this site (for `memobs check` and debug output) */
};

/*
 * elf_path: a TRUSTED path (the host's own files, tests): read into memory
 * and searched there, as probe_place__find_mem. A file an observed process
 * controls goes through util/observed_file.h and probe_place__find_mem.
 * elf_path: a path readable by memobs (e.g. /proc/PID/root/usr/lib/x86_64-
 * linux-gnu/libc.so.6). func: symbol name, from .dynsym (the default version
 * of a versioned symbol) else .symtab; undefined symbols are ignored.
 * The number of arguments that must be preserved comes from a table of the
 * malloc family (malloc 1, calloc 2, posix_memalign 3, ...; others 6).
 * Returns 0, -ENOENT when the symbol is absent, -EOPNOTSUPP for an IFUNC
 * (the function that runs is chosen at load time: out->reason says so),
 * other -errno. On x86-64 only; other arches get the entry (fallback).
 */
int probe_place__find(const char *elf_path, const char *func, struct probe_site *out);
/*
 * The same on an ELF image in memory (a copy read with observed_file, never
 * a mapping): libelf may rewrite the image in place, so it is not const.
 * Every offset in it is checked against len: arbitrary bytes are safe.
 */
int probe_place__find_mem(void *image, size_t len, const char *func, struct probe_site *out);

/*
 * The rule on raw bytes, for unit tests. code: the function's bytes from its
 * entry (the whole body when known: it is scanned for jumps back into the
 * prologue; at least the first PROBE_PLACE_MAX_BYTES). Assumes 6 arguments.
 * Returns 0 (a site, possibly the entry fallback) or -EINVAL (empty code).
 */
int probe_place__choose(const __u8 *code, size_t len, __u64 func_offset, struct probe_site *out);
/* The same for a function with nr_args integer arguments (1..6). */
int probe_place__choose_args(const __u8 *code, size_t len, __u64 func_offset, int nr_args,
			     struct probe_site *out);

/* Arguments of a malloc-family function by name; PROBE_PLACE_ALL_ARGS if unknown. */
int probe_place__nr_args(const char *func);

/*
 * The symbol's file offset, as libbpf's uprobe attach by offset needs it
 * (st_value - p_vaddr + p_offset of the PT_LOAD holding it), and its size.
 * Same lookup rules and errors as probe_place__find.
 */
int elf_func_offset(const char *elf_path, const char *func, __u64 *offset, __u64 *size);
int elf_func_offset_mem(void *image, size_t len, const char *func, __u64 *offset, __u64 *size);

#endif /* MEMOBS_PROBE_PLACE_H */
