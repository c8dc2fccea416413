// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Bounded ELF64 reads of an observed file, with pread only (elf_read.h). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "attribute/elf_read.h"
#include "util/observed_file.h"

static bool in_file(__u64 offset, __u64 size, __u64 file_size)
{
	return offset <= file_size && size <= file_size - offset;
}

int elf_read__open(int fd, struct elf_read *out)
{
	Elf64_Ehdr *eh = &out->eh;
	struct stat st;
	int err;

	memset(out, 0, sizeof(*out));
	out->fd = fd;
	if (fstat(fd, &st))
		return -errno;
	out->size = (__u64)st.st_size;
	if (out->size < sizeof(*eh))
		return -ENOEXEC;
	err = observed_file__pread(fd, eh, sizeof(*eh), 0);
	if (err)
		return err;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != (__BYTE_ORDER == __LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB) ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) || !eh->e_shnum ||
	    eh->e_shnum > ELF_READ_MAX_SECTIONS || eh->e_shstrndx >= eh->e_shnum ||
	    !in_file(eh->e_shoff, (__u64)eh->e_shnum * sizeof(Elf64_Shdr), out->size))
		return -ENOEXEC;
	out->shdr = malloc(eh->e_shnum * sizeof(*out->shdr));
	if (!out->shdr)
		return -ENOMEM;
	err = observed_file__pread(fd, out->shdr, eh->e_shnum * sizeof(*out->shdr), eh->e_shoff);
	if (err)
		goto fail;
	out->shnames =
		elf_read__section(out, &out->shdr[eh->e_shstrndx], ELF_READ_SHSTRTAB_MAX_BYTES);
	if (!out->shnames) {
		err = -ENOEXEC;
		goto fail;
	}
	return 0;
fail:
	elf_read__close(out);
	return err;
}

void elf_read__close(struct elf_read *e)
{
	if (!e)
		return;
	free(e->shdr);
	free(e->shnames);
	e->shdr = NULL;
	e->shnames = NULL;
}

const char *elf_read__section_name(const struct elf_read *e, unsigned int idx)
{
	if (idx >= e->eh.e_shnum || e->shdr[idx].sh_name >= e->shdr[e->eh.e_shstrndx].sh_size)
		return "";
	return e->shnames + e->shdr[idx].sh_name;
}

bool elf_read__section_starts_with(const struct elf_read *e, const Elf64_Shdr *sh, void *buf,
				   size_t len)
{
	return sh->sh_type != SHT_NOBITS && sh->sh_size >= len &&
	       in_file(sh->sh_offset, len, e->size) &&
	       !observed_file__pread(e->fd, buf, len, sh->sh_offset);
}

char *elf_read__section(const struct elf_read *e, const Elf64_Shdr *sh, __u64 max)
{
	char *buf;

	if (sh->sh_type == SHT_NOBITS || sh->sh_size > max ||
	    !in_file(sh->sh_offset, sh->sh_size, e->size))
		return NULL;
	buf = malloc(sh->sh_size + 1);
	if (!buf)
		return NULL;
	if (observed_file__pread(e->fd, buf, sh->sh_size, sh->sh_offset)) {
		free(buf);
		return NULL;
	}
	buf[sh->sh_size] = '\0';
	return buf;
}

int elf_read__find_section(const struct elf_read *e, __u32 type)
{
	unsigned int i;

	for (i = 0; i < e->eh.e_shnum; i++)
		if (e->shdr[i].sh_type == type)
			return (int)i;
	return -1;
}

int elf_read__symbols(const struct elf_read *e, unsigned int idx,
		      bool (*fn)(const char *name, const Elf64_Sym *sym, void *ctx), void *ctx)
{
	const Elf64_Shdr *sym, *str;
	Elf64_Sym *syms = NULL;
	char *names = NULL;
	size_t n, i;

	if (idx >= e->eh.e_shnum)
		return -ENOEXEC;
	sym = &e->shdr[idx];
	if (sym->sh_link >= e->eh.e_shnum || sym->sh_entsize != sizeof(Elf64_Sym))
		return -ENOEXEC;
	str = &e->shdr[sym->sh_link];
	if (str->sh_type != SHT_STRTAB)
		return -ENOEXEC;
	if (sym->sh_size > ELF_READ_SYMTAB_MAX_BYTES || str->sh_size > ELF_READ_STRTAB_MAX_BYTES)
		return -E2BIG;
	syms = (Elf64_Sym *)elf_read__section(e, sym, ELF_READ_SYMTAB_MAX_BYTES);
	names = elf_read__section(e, str, ELF_READ_STRTAB_MAX_BYTES);
	if (!syms || !names) {
		free(syms);
		free(names);
		return -EIO;
	}
	n = sym->sh_size / sizeof(Elf64_Sym);
	for (i = 0; i < n; i++) {
		if (syms[i].st_shndx == SHN_UNDEF || syms[i].st_name >= str->sh_size)
			continue;
		/* NUL-terminated: names[sh_size] is */
		if (fn(names + syms[i].st_name, &syms[i], ctx))
			break;
	}
	free(syms);
	free(names);
	return 0;
}

int elf_read__phdrs(const struct elf_read *e, Elf64_Phdr **out, unsigned int *n)
{
	const Elf64_Ehdr *eh = &e->eh;
	Elf64_Phdr *ph;
	int err;

	*out = NULL;
	*n = 0;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum ||
	    eh->e_phnum > ELF_READ_MAX_PHDRS ||
	    !in_file(eh->e_phoff, (__u64)eh->e_phnum * sizeof(Elf64_Phdr), e->size))
		return -ENOEXEC;
	ph = malloc(eh->e_phnum * sizeof(*ph));
	if (!ph)
		return -ENOMEM;
	err = observed_file__pread(e->fd, ph, eh->e_phnum * sizeof(*ph), eh->e_phoff);
	if (err) {
		free(ph);
		return err;
	}
	*out = ph;
	*n = eh->e_phnum;
	return 0;
}
