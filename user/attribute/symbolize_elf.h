/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The parsing half of the symbolizer: ELF images in memory read with libelf
 * and libdwfl, by id. It runs in the symbolizer's helper process
 * (symbolize_worker.h), or in memobs itself for the fuzz harness and when
 * symbolizer_opts.in_process asks. Every byte it reads is the observed
 * process's to choose. The caller bounds what is held (sym_elf__drop).
 *
 * Names: the symbol table's (libdwfl: .symtab, else .dynsym), C++ and Rust
 * ones demangled here with libiberty's demangler (cplus_demangle's,
 * DMGL_PARAMS | DMGL_ANSI, its recursion limit kept, through its callback
 * entry points: nothing allocated, the output cut at SYM_ELF_NAME_MAX), so
 * that a demangler bug on a hostile name is the helper's crash. Its
 * recursion limit also refuses mangled names past about 1 KiB (real ones
 * run to a few hundred bytes: node's longest is 483): those stay mangled, as
 * do names past SYM_ELF_DEMANGLE_MAX, checked first (the demangler's tables
 * live on the stack, sized by the name). A Go binary with no .symtab is
 * named from its .gopclntab (gopclntab.h), which also gives Go code its
 * source lines where DWARF gives none.
 */
#ifndef MEMOBS_SYMBOLIZE_ELF_H
#define MEMOBS_SYMBOLIZE_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct sym_elf;

/* mangled names past this length are not demangled (shown as they are) */
#define SYM_ELF_DEMANGLE_MAX 4096
/* the longest demangled or Go name made (cut there): what the helper's reply carries */
#define SYM_ELF_NAME_MAX 4096
/* the longest source basename taken from .gopclntab (cut there) */
#define SYM_ELF_SRC_MAX 1024
/* the longest GNU build-id kept: a longer note is refused (the file then has none) */
#define SYM_ELF_BUILD_ID_MAX 64

/* What one file offset resolves to; name NULL when no symbol covers it. */
struct sym_elf_frame {
	const char *name; /* the symbol, demangled when it is a C++ or Rust name */
	/*
	 * the symbol as the file names it (mangled) when name is its demangling;
	 * NULL when name is the file's own (C, Go, a name left mangled). At most
	 * SYM_ELF_DEMANGLE_MAX bytes: longer names are never demangled.
	 */
	const char *raw_name;
	__u64 sym_off;	 /* of the address from the symbol's start */
	const char *src; /* basename of the source file; NULL: no line */
	int line;
	bool has_vaddr; /* the offset lies in a PT_LOAD: vaddr is set */
	__u64 vaddr;	/* the address as the ELF's own vaddr (what perf and pprof show) */
};

struct sym_elf *sym_elf__new(void); /* NULL with errno set */
void sym_elf__free(struct sym_elf *e);

/*
 * Takes image (malloc'd, len bytes): *id names it from now on. An image
 * whose build-id is held already is freed and *id is the held one's, with
 * *existed set. -ENOEXEC when it is no ELF libdwfl can read, -ENOMEM.
 */
int sym_elf__load(struct sym_elf *e, void *image, size_t len, const char *module, __u32 *id,
		  bool *existed);
void sym_elf__drop(struct sym_elf *e, __u32 id); /* an unknown id is ignored */
/*
 * The GNU build-id of image id into out (SYM_ELF_BUILD_ID_MAX bytes): its
 * length, 0 when it has none (or one past the bound), -ENOENT for an unknown id.
 */
int sym_elf__build_id(const struct sym_elf *e, __u32 id, __u8 *out);

/*
 * The symbol and line at file_offset of image id (a return address looked
 * up at the call: one byte before). Strings valid until the next lookup or
 * until the image is dropped. -ENOENT for an unknown id.
 */
int sym_elf__lookup(struct sym_elf *e, __u32 id, __u64 file_offset, bool is_return_addr,
		    struct sym_elf_frame *out);

/* ---- for symbolize_cfi.c: the CFI of an image ---- */

struct Dwfl_Module;
struct cfi_row;

/* The libdwfl module of image id and the Dwfl address of file_offset: -ENOENT if none. */
int sym_elf__module_addr(struct sym_elf *e, __u32 id, __u64 file_offset, struct Dwfl_Module **mod,
			 __u64 *addr);
/*
 * The unwind rule of image id at file_offset (an exact pc), from .eh_frame,
 * else .debug_frame (symbolize_cfi.c): -ENOENT when neither covers it.
 */
int sym_elf__cfi_row(struct sym_elf *e, __u32 id, __u64 file_offset, struct cfi_row *out);

#endif /* MEMOBS_SYMBOLIZE_ELF_H */
