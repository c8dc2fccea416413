/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The parsing half of the symbolizer: ELF images in memory read with libelf
 * and libdwfl, by id. It runs in the symbolizer's helper process
 * (symbolize_worker.h), or in memobs itself for the fuzz harness and when
 * symbolizer_opts.in_process asks. Every byte it reads is the observed
 * process's to choose. The caller bounds what is held (sym_elf__drop).
 */
#ifndef MEMOBS_SYMBOLIZE_ELF_H
#define MEMOBS_SYMBOLIZE_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct sym_elf;

/* What one file offset resolves to; name NULL when no symbol covers it. */
struct sym_elf_frame {
	const char *name; /* the symbol (not demangled) */
	__u64 sym_off;	  /* of the address from the symbol's start */
	const char *src;  /* basename of the source file; NULL: no line */
	int line;
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
 * The symbol and line at file_offset of image id (a return address looked
 * up at the call: one byte before). Strings valid until the image is
 * dropped. -ENOENT for an unknown id.
 */
int sym_elf__lookup(struct sym_elf *e, __u32 id, __u64 file_offset, bool is_return_addr,
		    struct sym_elf_frame *out);

#endif /* MEMOBS_SYMBOLIZE_ELF_H */
