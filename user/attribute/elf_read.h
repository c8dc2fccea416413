/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Bounded reads of an observed process's ELF64 file (its executable, its
 * libpython) in memobs itself: headers, section and program headers, one
 * section's bytes, a symbol table's defined symbols. Every read is a pread
 * of the file opened through util/observed_file.h (never mapped), every
 * count and size checked against the file and the bounds below first. For
 * the few facts memobs needs before the symbolizer's helper is involved
 * (attribute/runtime.c: which runtime; attribute/py_proc.c: where CPython's
 * _PyRuntime is); whole symbol tables and DWARF are parsed in the helper.
 */
#ifndef MEMOBS_ELF_READ_H
#define MEMOBS_ELF_READ_H

#include <elf.h>
#include <stdbool.h>
#include <linux/types.h>

#define ELF_READ_MAX_SECTIONS 4096
#define ELF_READ_MAX_PHDRS 256
#define ELF_READ_SHSTRTAB_MAX_BYTES (64U << 10)
#define ELF_READ_SYMTAB_MAX_BYTES (8U << 20)
#define ELF_READ_STRTAB_MAX_BYTES (16U << 20)

struct elf_read {
	int fd; /* not owned */
	__u64 size;
	Elf64_Ehdr eh;
	Elf64_Shdr *shdr; /* eh.e_shnum of them */
	char *shnames;	  /* .shstrtab, NUL-terminated */
};

/*
 * Reads the ELF header, the section headers and their names from fd.
 * Returns 0 or -errno: -ENOEXEC when it is not an ELF64 of this byte order
 * or its headers lie outside the file or past the bounds.
 */
int elf_read__open(int fd, struct elf_read *out);
void elf_read__close(struct elf_read *e); /* NULL-safe, idempotent; fd stays open */

/* A section's name ("" when out of the names), by index. */
const char *elf_read__section_name(const struct elf_read *e, unsigned int idx);

/* A section's first len bytes, when it has them in the file (not NOBITS). */
bool elf_read__section_starts_with(const struct elf_read *e, const Elf64_Shdr *sh, void *buf,
				   size_t len);

/* A section's bytes into a new buffer (NUL-terminated), up to max; NULL: out of bounds or error. */
char *elf_read__section(const struct elf_read *e, const Elf64_Shdr *sh, __u64 max);

/*
 * Calls fn for each defined symbol (st_shndx not SHN_UNDEF) of the symbol
 * table at section index idx, name NUL-terminated within the table's
 * strings, until fn returns true. Returns 0, or -E2BIG / -ENOEXEC / -EIO
 * when the table (or its strings) is past its bound or cannot be read: then
 * nothing was called.
 */
int elf_read__symbols(const struct elf_read *e, unsigned int idx,
		      bool (*fn)(const char *name, const Elf64_Sym *sym, void *ctx), void *ctx);

/* The first section of that type (SHT_DYNSYM, SHT_SYMTAB), or -1. */
int elf_read__find_section(const struct elf_read *e, __u32 type);

/*
 * The program headers into a new array (*n of them, at most
 * ELF_READ_MAX_PHDRS); the caller frees it. 0 or -errno (-ENOEXEC: out of
 * the file or past the bound).
 */
int elf_read__phdrs(const struct elf_read *e, Elf64_Phdr **out, unsigned int *n);

#endif /* MEMOBS_ELF_READ_H */
