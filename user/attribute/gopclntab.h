/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Function names of a Go binary from its .gopclntab, for binaries stripped
 * of .symtab (`go build -ldflags=-s`, `strip`): the runtime keeps this table
 * for tracebacks, so it survives every strip.
 *
 * Layouts read: Go 1.18 and 1.19 (header magic 0xfffffff0) and Go 1.20 and
 * later (0xfffffff1); the part read here did not change between them:
 *
 *   header  magic u32, pad u8 u8, minLC u8, ptrSize u8, then ptrSize-wide
 *           words: nfunc, nfiles, textStart, funcnameOffset, cuOffset,
 *           filetabOffset, pctabOffset, pclnOffset (offsets from the header)
 *   functab at pclnOffset: nfunc pairs {entryOff u32, funcOff u32}, sorted
 *           by entryOff, then one u32, the end of the last function; entry
 *           offsets are from textStart, funcOff from pclnOffset
 *   _func   at pclnOffset + funcOff: entryOff u32, nameOff i32 (into
 *           funcnametab, a NUL-terminated name), args i32, deferreturn u32,
 *           pcsp u32, pcfile u32, pcln u32 (offsets into pctab), npcdata
 *           u32, cuOffset u32 (into cutab), ...
 *   pctab   value tables: from the entry, pairs of varints (value delta,
 *           zig-zag; pc delta, in minLC units) until a zero value delta
 *   cutab   u32 per file of a compilation unit: its offset in filetab
 *   filetab NUL-terminated file names
 *
 * Pure and bounded: the bytes are the observed binary's to choose, so every
 * offset and count is checked against the buffer before it is used, and a
 * table that does not add up is refused (-ENOEXEC) rather than half-read.
 * Nothing is copied: a table points into the caller's buffer. A value table
 * is walked at most until it leaves the buffer (each step reads two bytes
 * at least).
 */
#ifndef MEMOBS_GOPCLNTAB_H
#define MEMOBS_GOPCLNTAB_H

#include <stddef.h>
#include <linux/types.h>

#define GOPCLNTAB_MAGIC_118 0xfffffff0u
#define GOPCLNTAB_MAGIC_120 0xfffffff1u
/* the longest name returned; Go's own are far shorter (generic instantiations run to ~1 KiB) */
#define GOPCLNTAB_NAME_MAX 4096

struct gopclntab {
	const __u8 *data; /* the section's bytes (not owned) */
	size_t len;
	__u32 nfunc;
	__u64 text_start;     /* the vaddr function entry offsets count from */
	size_t funcnames_off; /* funcnametab, within data */
	size_t functab_off;   /* pclnOffset: functab and the _func records, within data */
	size_t cutab_off, filetab_off, pctab_off; /* within data, or len: none */
	unsigned min_lc;			  /* pc deltas count in these units */
};

/*
 * Checks the table in data[0, len) and fills t. text_start_hint is the vaddr
 * of the binary's .text (0: none): the header's own textStart is used when
 * it is set, else the hint (a PIE's header may hold an unrelocated 0).
 * -ENOEXEC when it is no table of a known layout, or does not fit in len.
 */
int gopclntab__parse(const void *data, size_t len, __u64 text_start_hint, struct gopclntab *t);

/*
 * The function covering vaddr pc: *name points into the table (not
 * NUL-terminated: *name_len bytes, at most GOPCLNTAB_NAME_MAX), *func_off
 * is pc minus its entry. -ENOENT when no function covers pc or its record
 * is out of bounds.
 */
int gopclntab__lookup(const struct gopclntab *t, __u64 pc, const char **name, size_t *name_len,
		      __u64 *func_off);

/*
 * The source file and line of pc, as Go's runtime finds them (pcvalue over
 * the function's pcfile and pcln tables): *file points into the table
 * (*file_len bytes, not NUL-terminated, at most GOPCLNTAB_NAME_MAX).
 * -ENOENT when no function covers pc or its tables do not say.
 */
int gopclntab__line(const struct gopclntab *t, __u64 pc, const char **file, size_t *file_len,
		    int *line);

#endif /* MEMOBS_GOPCLNTAB_H */
