// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <libiberty/demangle.h>
#undef ARRAY_SIZE /* libiberty.h's (via demangle.h): util/array.h has the house one */
#include "attribute/gopclntab.h"
#include "attribute/symbolize_elf.h"
#include "util/array.h"
#include "util/log.h"

#define BUILD_ID_MAX SYM_ELF_BUILD_ID_MAX
#define LOADS_MAX 16

/* One ELF image, shared by every mapping of it (by build-id). */
struct elf_image {
	__u32 id;
	__u8 build_id[BUILD_ID_MAX];
	size_t build_id_len; /* 0: none; then never shared */
	void *image;	     /* the file's bytes: libelf reads them, nothing is mapped */
	size_t image_len;
	Elf *elf; /* built on image, until libdwfl's find_elf takes it */
	Dwfl *dwfl;
	Dwfl_Module *mod;
	GElf_Addr bias; /* Dwfl address = ELF vaddr + bias */
	struct {
		__u64 offset, vaddr, filesz;
	} loads[LOADS_MAX];
	int nr_loads;
	bool has_symtab;     /* a .symtab: libdwfl names Go functions (and gives lines) */
	bool has_go;	     /* go: a .gopclntab that parsed */
	struct gopclntab go; /* points into image */
};

struct sym_elf {
	struct elf_image **images;
	size_t nr_images, cap_images;
	__u32 next_id;
	/* the last lookup's name when it is ours (demangled, or copied from Go's table) */
	char name[SYM_ELF_NAME_MAX + 1];
	size_t name_len;
	bool name_cut;		       /* the demangler's output did not fit */
	char src[SYM_ELF_SRC_MAX + 1]; /* a Go source file's basename, from .gopclntab */
};

/* libdwfl gets the Elf built on our copy: it never opens, nor maps, a file. */
static int find_elf_in_memory(Dwfl_Module *mod, void **userdata, const char *modname,
			      Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct elf_image *f = *userdata;

	(void)mod;
	(void)modname;
	(void)base;
	(void)file_name;
	if (f && f->elf) {
		*elfp = f->elf; /* libdwfl owns it now (elf_end at dwfl_end) */
		f->elf = NULL;
	}
	return -1;
}

/*
 * No separate debug file: its name (.gnu_debuglink, the directory of a
 * path under the process's control) would be opened, blocking, and mapped.
 */
static int find_no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			     Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			     GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	(void)mod;
	(void)userdata;
	(void)modname;
	(void)base;
	(void)file_name;
	(void)debuglink_file;
	(void)debuglink_crc;
	(void)debuginfo_file_name;
	return -1;
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = find_elf_in_memory,
	.find_debuginfo = find_no_debuginfo,
};

struct sym_elf *sym_elf__new(void)
{
	struct sym_elf *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	elf_version(EV_CURRENT);
	e->next_id = 1;
	return e;
}

static void image_free(struct elf_image *f)
{
	if (!f)
		return;
	dwfl_end(f->dwfl);
	elf_end(f->elf); /* not handed to libdwfl */
	free(f->image);
	free(f);
}

void sym_elf__free(struct sym_elf *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->nr_images; i++)
		image_free(e->images[i]);
	free(e->images);
	free(e);
}

static size_t read_build_id(Elf *elf, __u8 *build_id)
{
	const void *bits;
	ssize_t len = dwelf_elf_gnu_build_id(elf, &bits);

	if (len > 0 && len <= BUILD_ID_MAX)
		memcpy(build_id, bits, (size_t)len);
	else
		len = 0;
	return (size_t)len;
}

/*
 * libdw opens the files .gnu_debuglink and .gnu_debugaltlink name (blocking,
 * then mapped) when it finds those sections: in our copy, they get another name.
 */
static void hide_debug_links(Elf *elf)
{
	static const char *const hidden[] = { ".gnu_debuglink", ".gnu_debugaltlink" };
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	size_t shstrndx, i;
	char *name;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr))
			continue;
		name = (char *)elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!name)
			continue;
		for (i = 0; i < ARRAY_SIZE(hidden); i++)
			if (!strcmp(name, hidden[i]))
				name[1] = 'X'; /* ".Xnu_debuglink": unknown to libdw */
	}
}

static void read_loads(struct elf_image *f)
{
	GElf_Phdr phdr;
	size_t nr_phdrs, i;
	Elf *elf = dwfl_module_getelf(f->mod, &f->bias);

	if (!elf || elf_getphdrnum(elf, &nr_phdrs))
		return;
	for (i = 0; i < nr_phdrs && f->nr_loads < LOADS_MAX; i++) {
		if (!gelf_getphdr(elf, (int)i, &phdr) || phdr.p_type != PT_LOAD)
			continue;
		f->loads[f->nr_loads].offset = phdr.p_offset;
		f->loads[f->nr_loads].vaddr = phdr.p_vaddr;
		f->loads[f->nr_loads].filesz = phdr.p_filesz;
		f->nr_loads++;
	}
}

/* The section's bytes within the image: NULL when its header points outside. */
static const __u8 *section_bytes(const struct elf_image *f, const GElf_Shdr *shdr)
{
	if (shdr->sh_type == SHT_NOBITS || shdr->sh_offset > f->image_len ||
	    shdr->sh_size > f->image_len - shdr->sh_offset)
		return NULL;
	return (const __u8 *)f->image + shdr->sh_offset;
}

/*
 * What Go needs: whether a .symtab is there (then libdwfl names Go code,
 * with lines from DWARF), else the .gopclntab, read in place from the copy.
 */
static void read_go_table(struct elf_image *f, Elf *elf)
{
	const __u8 *pcln = NULL;
	__u64 text_addr = 0;
	size_t shstrndx, pcln_len = 0;
	Elf_Scn *scn = NULL;
	const char *name;
	GElf_Shdr shdr;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr))
			continue;
		if (shdr.sh_type == SHT_SYMTAB)
			f->has_symtab = true;
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!name)
			continue;
		if (!strcmp(name, ".text"))
			text_addr = shdr.sh_addr;
		else if (!strcmp(name, ".gopclntab") && (pcln = section_bytes(f, &shdr)))
			pcln_len = shdr.sh_size;
	}
	if (pcln && !gopclntab__parse(pcln, pcln_len, text_addr, &f->go))
		f->has_go = true;
}

/* The address range libdwfl places the module at: its own vaddrs (bias 0). */
static int module_range(Elf *elf, __u64 *low, __u64 *high)
{
	GElf_Phdr phdr;
	size_t nr_phdrs, i;
	bool first = true;

	if (elf_getphdrnum(elf, &nr_phdrs))
		return -ENOEXEC;
	for (i = 0; i < nr_phdrs; i++) {
		if (!gelf_getphdr(elf, (int)i, &phdr) || phdr.p_type != PT_LOAD)
			continue;
		if (phdr.p_vaddr + phdr.p_memsz < phdr.p_vaddr)
			return -ENOEXEC;
		if (first) {
			/* as libdwfl computes the module's first address */
			*low = phdr.p_vaddr & -phdr.p_align;
			*high = phdr.p_vaddr + phdr.p_memsz;
			first = false;
		} else if (phdr.p_vaddr + phdr.p_memsz > *high) {
			*high = phdr.p_vaddr + phdr.p_memsz;
		}
	}
	return first || *high <= *low ? -ENOEXEC : 0;
}

static struct elf_image *image_by_build_id(struct sym_elf *e, const __u8 *id, size_t len)
{
	size_t i;

	for (i = 0; len && i < e->nr_images; i++)
		if (e->images[i]->build_id_len == len && !memcmp(e->images[i]->build_id, id, len))
			return e->images[i];
	return NULL;
}

static struct elf_image *image_by_id(const struct sym_elf *e, __u32 id, size_t *index)
{
	size_t i;

	for (i = 0; i < e->nr_images; i++) {
		if (e->images[i]->id == id) {
			if (index)
				*index = i;
			return e->images[i];
		}
	}
	return NULL;
}

/* Takes image and elf. */
static int image_new(struct sym_elf *e, void *image, size_t len, Elf *elf, const char *module,
		     const __u8 *build_id, size_t build_id_len, __u32 *id)
{
	struct elf_image *f = calloc(1, sizeof(*f));
	__u64 low = 0, high = 0;
	void **userdata;

	if (!f || module_range(elf, &low, &high)) {
		elf_end(elf);
		free(image);
		free(f);
		return f ? -ENOEXEC : -ENOMEM;
	}
	f->image = image;
	f->image_len = len;
	f->elf = elf;
	memcpy(f->build_id, build_id, build_id_len);
	f->build_id_len = build_id_len;
	if (ARRAY_GROW(e->images, e->cap_images, e->nr_images + 1)) {
		image_free(f);
		return -ENOMEM;
	}
	f->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!f->dwfl) {
		image_free(f);
		return -ENOMEM;
	}
	dwfl_report_begin(f->dwfl);
	/* placed at its own p_vaddr: Dwfl addresses are the ELF's vaddrs */
	f->mod = dwfl_report_module(f->dwfl, module, low, high);
	if (f->mod) {
		dwfl_module_info(f->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
		*userdata = f;
	}
	dwfl_report_end(f->dwfl, NULL, NULL);
	if (f->mod)
		read_loads(f);
	if (f->mod && f->nr_loads)
		read_go_table(f, dwfl_module_getelf(f->mod, &f->bias));
	/* libdwfl sorts the symbol table on first use: now, under the load's longer deadline */
	if (f->mod && f->nr_loads)
		dwfl_module_getsymtab(f->mod);
	if (!f->mod || !f->nr_loads) {
		p_debug("cannot read '%s' for symbols: %s", module, dwfl_errmsg(-1));
		image_free(f);
		return -ENOEXEC;
	}
	f->id = e->next_id++;
	if (!e->next_id)
		e->next_id = 1;
	e->images[e->nr_images++] = f;
	*id = f->id;
	return 0;
}

int sym_elf__load(struct sym_elf *e, void *image, size_t len, const char *module, __u32 *id,
		  bool *existed)
{
	__u8 build_id[BUILD_ID_MAX];
	struct elf_image *f;
	size_t build_id_len;
	Elf *elf;

	*existed = false;
	elf = len ? elf_memory(image, len) : NULL;
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		free(image);
		return -ENOEXEC;
	}
	hide_debug_links(elf);
	build_id_len = read_build_id(elf, build_id);
	f = image_by_build_id(e, build_id, build_id_len);
	if (f) {
		elf_end(elf);
		free(image);
		*id = f->id;
		*existed = true;
		return 0;
	}
	return image_new(e, image, len, elf, module, build_id, build_id_len, id);
}

int sym_elf__build_id(const struct sym_elf *e, __u32 id, __u8 *out)
{
	const struct elf_image *f = e ? image_by_id(e, id, NULL) : NULL;

	if (!f)
		return -ENOENT;
	memcpy(out, f->build_id, f->build_id_len);
	return (int)f->build_id_len;
}

void sym_elf__drop(struct sym_elf *e, __u32 id)
{
	struct elf_image *f;
	size_t index;

	f = e ? image_by_id(e, id, &index) : NULL;
	if (!f)
		return;
	e->images[index] = e->images[--e->nr_images];
	image_free(f);
}

/* The ELF vaddr of a file offset, through the PT_LOAD holding it. */
static bool offset_to_vaddr(const struct elf_image *f, __u64 offset, __u64 *vaddr)
{
	int i;

	for (i = 0; i < f->nr_loads; i++) {
		if (offset >= f->loads[i].offset &&
		    offset < f->loads[i].offset + f->loads[i].filesz) {
			*vaddr = offset - f->loads[i].offset + f->loads[i].vaddr;
			return true;
		}
	}
	return false;
}

/* The demangler's output, appended to e->name up to its size (the rest is cut). */
static void demangled_put(const char *s, size_t len, void *opaque)
{
	struct sym_elf *e = opaque;
	size_t room = SYM_ELF_NAME_MAX - e->name_len;

	if (len > room) {
		len = room;
		e->name_cut = true;
	}
	memcpy(e->name + e->name_len, s, len);
	e->name_len += len;
}

/*
 * C++ ("_Z") and Rust ("_R", and legacy "_ZN...17h<hash>E") names,
 * demangled; other names (C, Go) as they are. libiberty's callback entry
 * points (what cplus_demangle() runs, DMGL_PARAMS | DMGL_ANSI, its
 * recursion limit on) write into e->name: nothing is allocated (no
 * xmalloc, which exits on failure), and the output, which a hostile name can
 * make far longer than itself, stops at SYM_ELF_NAME_MAX. Rust first, as
 * cplus_demangle() does: legacy Rust names are valid C++ ones too.
 */
static const char *demangle(struct sym_elf *e, const char *name)
{
	static const int options = DMGL_PARAMS | DMGL_ANSI;

	if (name[0] != '_' || (name[1] != 'Z' && name[1] != 'R') ||
	    strnlen(name, SYM_ELF_DEMANGLE_MAX + 1) > SYM_ELF_DEMANGLE_MAX)
		return name;
	e->name_len = 0;
	e->name_cut = false;
	if (!rust_demangle_callback(name, options, demangled_put, e)) {
		e->name_len = 0;
		e->name_cut = false;
		if (name[1] != 'Z' || !cplus_demangle_v3_callback(name, options, demangled_put, e))
			return name;
	}
	if (!e->name_len)
		return name;
	if (e->name_cut) /* said, not hidden: a reader sees the name goes on */
		memcpy(e->name + e->name_len - 3, "...", 3);
	e->name[e->name_len] = '\0';
	return e->name;
}

/* The Go source line of lookup from .gopclntab, its file's basename copied into e->src. */
static void go_line(struct sym_elf *e, const struct elf_image *f, __u64 lookup,
		    struct sym_elf_frame *out)
{
	const char *file, *base;
	size_t len;
	int line;

	if (!f->has_go || gopclntab__line(&f->go, lookup, &file, &len, &line))
		return;
	base = memrchr(file, '/', len);
	if (base) {
		len -= (size_t)(base + 1 - file);
		file = base + 1;
	}
	if (!len)
		return;
	if (len > SYM_ELF_SRC_MAX)
		len = SYM_ELF_SRC_MAX;
	memcpy(e->src, file, len);
	e->src[len] = '\0';
	out->src = e->src;
	out->line = line;
}

/* A Go function from .gopclntab, copied NUL-terminated into e->name, and its line. */
static bool go_lookup(struct sym_elf *e, const struct elf_image *f, __u64 vaddr, __u64 lookup,
		      struct sym_elf_frame *out)
{
	const char *name;
	size_t len;
	__u64 off;

	if (!f->has_go || gopclntab__lookup(&f->go, lookup, &name, &len, &off))
		return false;
	if (len > SYM_ELF_NAME_MAX)
		len = SYM_ELF_NAME_MAX;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	out->name = e->name;
	out->sym_off = off + (vaddr - lookup);
	go_line(e, f, lookup, out);
	return true;
}

int sym_elf__lookup(struct sym_elf *e, __u32 id, __u64 file_offset, bool is_return_addr,
		    struct sym_elf_frame *out)
{
	struct elf_image *f = image_by_id(e, id, NULL);
	__u64 vaddr, dwfl_addr, lookup;
	GElf_Off sym_off = 0;
	const char *src, *name;
	Dwfl_Line *line;
	GElf_Sym sym;

	memset(out, 0, sizeof(*out));
	if (!f)
		return -ENOENT;
	if (!offset_to_vaddr(f, file_offset, &vaddr))
		return 0;
	out->has_vaddr = true;
	out->vaddr = vaddr;
	dwfl_addr = vaddr + f->bias;
	/* a return address follows its call: look the call up */
	lookup = is_return_addr && dwfl_addr ? dwfl_addr - 1 : dwfl_addr;
	/* stripped Go: .dynsym (cgo's few symbols) would misname Go code */
	if (!f->has_symtab && go_lookup(e, f, vaddr, lookup - f->bias, out))
		return 0;
	name = dwfl_module_addrinfo(f->mod, lookup, &sym_off, &sym, NULL, NULL, NULL);
	if (!name) {
		go_lookup(e, f, vaddr, lookup - f->bias, out);
		return 0;
	}
	out->name = demangle(e, name);
	if (out->name != name)
		out->raw_name = name; /* demangle() took it: at most SYM_ELF_DEMANGLE_MAX bytes */
	out->sym_off = sym_off + (dwfl_addr - lookup);
	line = dwfl_module_getsrc(f->mod, lookup);
	src = line ? dwfl_lineinfo(line, NULL, &out->line, NULL, NULL, NULL) : NULL;
	if (src && out->line > 0) {
		const char *base = strrchr(src, '/');

		out->src = base ? base + 1 : src;
	} else {
		out->line = 0;
		go_line(e, f, lookup - f->bias, out); /* Go's DWARF said nothing: its own table */
	}
	return 0;
}

int sym_elf__module_addr(struct sym_elf *e, __u32 id, __u64 file_offset, struct Dwfl_Module **mod,
			 __u64 *addr)
{
	struct elf_image *f = image_by_id(e, id, NULL);
	__u64 vaddr;

	if (!f || !offset_to_vaddr(f, file_offset, &vaddr))
		return -ENOENT;
	*mod = f->mod;
	*addr = vaddr + f->bias;
	return 0;
}
