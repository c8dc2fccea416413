// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include "attribute/alloc_libs.h"
#include "attribute/symbolize.h"
#include "util/array.h"
#include "util/log.h"
#include "util/observed_file.h"
#include "util/procfs.h"
#include "util/u64map.h"

#define BUILD_ID_MAX 64
#define LOADS_MAX 16
/* (dev, ino) -> file entries kept; past it, the failures are forgotten first */
#define ALIASES_MAX 4096

/* One ELF file, copied into memory once, shared by every mapping of it (by build-id). */
struct sym_file {
	__u8 build_id[BUILD_ID_MAX];
	size_t build_id_len; /* 0: none; then shared by device and inode only */
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
	__u64 last_use; /* symbolizer tick of the last lookup: LRU */
};

/* A (device, inode) as some maps line shows it, to the file behind it. */
struct sym_alias {
	__u64 dev, ino;
	struct sym_file *file; /* NULL: could not be opened, do not retry */
};

struct sym_mapping {
	__u64 start, end, offset;
	__u64 dev, ino;
	char *path;	    /* as maps shows it */
	const char *module; /* basename of path */
	bool deleted;	    /* maps says " (deleted)": the name is not the file's */
	bool loaded;	    /* file looked up (it may still be NULL) */
	struct sym_file *file;
};

struct sym_proc {
	int pid;
	__u64 start_time; /* clock ticks after boot: tells a reused pid */
	struct sym_mapping *maps;
	size_t nr_maps;
	__u64 last_use; /* symbolizer tick: the least recently used goes past max_pids */
};

struct symbolizer {
	struct symbolizer_opts opts;
	struct sym_file **files;
	size_t nr_files, cap_files;
	size_t image_bytes; /* sum of the files' image_len, at most opts.budget_bytes */
	struct sym_alias *aliases;
	size_t nr_aliases, cap_aliases;
	struct u64map procs; /* pid -> struct sym_proc * */
	size_t nr_procs;
	__u64 tick;
	__u64 evictions;
};

/* libdwfl gets the Elf built on our copy: it never opens, nor maps, a file. */
static int find_elf_in_memory(Dwfl_Module *mod, void **userdata, const char *modname,
			      Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct sym_file *f = *userdata;

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

struct symbolizer *symbolizer__new_opts(const struct symbolizer_opts *opts)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	elf_version(EV_CURRENT);
	u64map_init(&s->procs);
	if (opts)
		s->opts = *opts;
	if (!s->opts.budget_bytes)
		s->opts.budget_bytes = SYMBOLIZER_BUDGET_BYTES;
	if (!s->opts.max_files)
		s->opts.max_files = SYMBOLIZER_MAX_FILES;
	if (!s->opts.max_pids)
		s->opts.max_pids = SYMBOLIZER_MAX_PIDS;
	return s;
}

struct symbolizer *symbolizer__new(void)
{
	return symbolizer__new_opts(NULL);
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	out->files = s->nr_files;
	out->image_bytes = s->image_bytes;
	out->evictions = s->evictions;
	out->pids = s->nr_procs;
}

static void file_free(struct sym_file *f)
{
	if (!f)
		return;
	dwfl_end(f->dwfl);
	elf_end(f->elf); /* not handed to libdwfl */
	free(f->image);
	free(f);
}

/* Every reference to f goes: mappings look it up again on their next use. */
static void file_remove(struct symbolizer *s, size_t index)
{
	struct sym_file *f = s->files[index];
	uint64_t pid, value;
	size_t i = 0, j, k;

	while (u64map_next(&s->procs, &i, &pid, &value)) {
		struct sym_proc *p = (struct sym_proc *)(uintptr_t)value;

		for (j = 0; j < p->nr_maps; j++) {
			if (p->maps[j].file == f) {
				p->maps[j].file = NULL;
				p->maps[j].loaded = false;
			}
		}
	}
	for (j = k = 0; j < s->nr_aliases; j++)
		if (s->aliases[j].file != f)
			s->aliases[k++] = s->aliases[j];
	s->nr_aliases = k;
	s->image_bytes -= f->image_len;
	s->files[index] = s->files[--s->nr_files];
	file_free(f);
}

/* Least recently used first, until a file of len bytes fits. */
static void make_room(struct symbolizer *s, size_t len)
{
	size_t i, lru;

	while (s->nr_files &&
	       (s->nr_files >= s->opts.max_files || s->image_bytes + len > s->opts.budget_bytes)) {
		for (i = 1, lru = 0; i < s->nr_files; i++)
			if (s->files[i]->last_use < s->files[lru]->last_use)
				lru = i;
		p_debug("symbolizer: evicting a file of %zu bytes (budget %zu, %zu files)",
			s->files[lru]->image_len, s->opts.budget_bytes, s->nr_files);
		file_remove(s, lru);
		s->evictions++;
	}
}

static void proc_free(struct sym_proc *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nr_maps; i++)
		free(p->maps[i].path);
	free(p->maps);
	free(p);
}

static bool file_used_by_others(struct symbolizer *s, const struct sym_file *f)
{
	uint64_t pid, value;
	size_t i = 0, j;

	while (u64map_next(&s->procs, &i, &pid, &value)) {
		struct sym_proc *p = (struct sym_proc *)(uintptr_t)value;

		for (j = 0; j < p->nr_maps; j++)
			if (p->maps[j].file == f)
				return true;
	}
	return false;
}

void symbolizer__forget_pid(struct symbolizer *s, int pid)
{
	struct sym_proc *p;
	uint64_t value;
	size_t i, j;

	if (!s || pid <= 0 || !u64map_get(&s->procs, (uint64_t)pid, &value))
		return;
	p = (struct sym_proc *)(uintptr_t)value;
	u64map_del(&s->procs, (uint64_t)pid);
	s->nr_procs--;
	/* the files no other process maps go with it */
	for (i = 0; i < p->nr_maps; i++) {
		struct sym_file *f = p->maps[i].file;

		if (!f || file_used_by_others(s, f))
			continue;
		for (j = i + 1; j < p->nr_maps; j++)
			if (p->maps[j].file == f)
				p->maps[j].file = NULL;
		for (j = 0; j < s->nr_files && s->files[j] != f; j++)
			;
		if (j < s->nr_files)
			file_remove(s, j);
	}
	proc_free(p);
}

void symbolizer__free(struct symbolizer *s)
{
	uint64_t pid, value;
	size_t i = 0;

	if (!s)
		return;
	while (u64map_next(&s->procs, &i, &pid, &value))
		proc_free((struct sym_proc *)(uintptr_t)value);
	u64map_free(&s->procs);
	for (i = 0; i < s->nr_files; i++)
		file_free(s->files[i]);
	free(s->files);
	free(s->aliases);
	free(s);
}

static int read_maps(struct sym_proc *p)
{
	struct sym_mapping *maps = NULL;
	size_t nr = 0, cap = 0, line_cap = 0, i;
	struct maps_entry *e;
	char path[64], *line = NULL;
	const char *slash;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	e = malloc(sizeof(*e));
	if (!e) {
		fclose(f);
		return -ENOMEM;
	}
	while (getline(&line, &line_cap, f) > 0) {
		if (maps_line__parse(line, e) || e->perms[2] != 'x' || e->path[0] != '/')
			continue;
		if (ARRAY_GROW(maps, cap, nr + 1))
			break;
		memset(&maps[nr], 0, sizeof(maps[nr]));
		maps[nr].start = e->start;
		maps[nr].end = e->end;
		maps[nr].offset = e->offset;
		maps[nr].dev = makedev(e->dev_major, e->dev_minor);
		maps[nr].ino = e->inode;
		maps[nr].deleted = e->deleted;
		maps[nr].path = strdup(e->path);
		if (!maps[nr].path)
			break;
		slash = strrchr(maps[nr].path, '/');
		maps[nr].module = slash ? slash + 1 : maps[nr].path;
		nr++;
	}
	free(line);
	free(e);
	fclose(f);
	for (i = 0; i < p->nr_maps; i++)
		free(p->maps[i].path);
	free(p->maps);
	p->maps = maps;
	p->nr_maps = nr;
	return 0;
}

/* Past max_pids (exits the caller never reported), the least recently used process goes. */
static void forget_lru_proc(struct symbolizer *s)
{
	uint64_t pid, value, lru_pid = 0, lru_use = UINT64_MAX;
	size_t i = 0;

	while (u64map_next(&s->procs, &i, &pid, &value)) {
		struct sym_proc *p = (struct sym_proc *)(uintptr_t)value;

		if (p->last_use < lru_use) {
			lru_use = p->last_use;
			lru_pid = pid;
		}
	}
	if (lru_pid) {
		symbolizer__forget_pid(s, (int)lru_pid);
		s->evictions++;
	}
}

static struct sym_proc *get_proc(struct symbolizer *s, int pid, int *err)
{
	struct sym_proc *p = NULL;
	__u64 start_time = proc_pid_start_time(pid);
	uint64_t value;

	if (u64map_get(&s->procs, (uint64_t)pid, &value)) {
		p = (struct sym_proc *)(uintptr_t)value;
		/* gone: keep what was read before the exit */
		if (!start_time || start_time == p->start_time) {
			p->last_use = ++s->tick;
			return p;
		}
		symbolizer__forget_pid(s, pid);
	}
	if (!start_time) {
		*err = -ESRCH;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	p->pid = pid;
	p->start_time = start_time;
	p->last_use = ++s->tick;
	*err = read_maps(p);
	if (!*err) {
		while (s->nr_procs && s->nr_procs >= s->opts.max_pids)
			forget_lru_proc(s);
		*err = u64map_put(&s->procs, (uint64_t)pid, (uint64_t)(uintptr_t)p);
	}
	if (*err) {
		proc_free(p);
		return NULL;
	}
	s->nr_procs++;
	return p;
}

static struct sym_mapping *find_mapping(struct sym_proc *p, __u64 addr)
{
	size_t lo = 0, hi = p->nr_maps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < p->maps[mid].start)
			hi = mid;
		else if (addr >= p->maps[mid].end)
			lo = mid + 1;
		else
			return &p->maps[mid];
	}
	return NULL;
}

/*
 * The mapped file, opened once without blocking (util/observed_file.h):
 * map_files, else the name inside the process's root with the identity maps
 * shows; a deleted file's name is never opened.
 */
static int open_mapped_file(int pid, const struct sym_mapping *m, struct observed_file *file)
{
	struct observed_file_opts opts = {
		.pid = pid,
		.path = m->deleted ? NULL : m->path,
		.start = m->start,
		.end = m->end,
		.check_identity = true,
		.dev = m->dev,
		.ino = m->ino,
	};

	return observed_file__open(&opts, file);
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

static void read_loads(struct sym_file *f)
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

static struct sym_file *file_by_build_id(struct symbolizer *s, const __u8 *id, size_t len)
{
	size_t i;

	for (i = 0; len && i < s->nr_files; i++)
		if (s->files[i]->build_id_len == len && !memcmp(s->files[i]->build_id, id, len))
			return s->files[i];
	return NULL;
}

/* Takes image and elf. */
static struct sym_file *file_new(struct symbolizer *s, void *image, size_t len, Elf *elf,
				 const char *module, const __u8 *id, size_t id_len)
{
	struct sym_file *f = calloc(1, sizeof(*f));
	__u64 low = 0, high = 0;
	void **userdata;

	if (!f || module_range(elf, &low, &high)) {
		elf_end(elf);
		free(image);
		free(f);
		return NULL;
	}
	f->image = image;
	f->image_len = len;
	f->elf = elf;
	memcpy(f->build_id, id, id_len);
	f->build_id_len = id_len;
	make_room(s, len);
	if (ARRAY_GROW(s->files, s->cap_files, s->nr_files + 1))
		goto err;
	f->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!f->dwfl)
		goto err;
	dwfl_report_begin(f->dwfl);
	/* placed at its own p_vaddr: Dwfl addresses are the ELF's vaddrs */
	f->mod = dwfl_report_module(f->dwfl, module, low, high);
	if (f->mod) {
		dwfl_module_info(f->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
		*userdata = f;
	}
	dwfl_report_end(f->dwfl, NULL, NULL);
	if (!f->mod) {
		p_debug("cannot read '%s' for symbols: %s", module, dwfl_errmsg(-1));
		goto err;
	}
	read_loads(f);
	if (!f->nr_loads) {
		p_debug("cannot read '%s' for symbols: %s", module, dwfl_errmsg(-1));
		goto err;
	}
	f->last_use = s->tick;
	s->image_bytes += len;
	s->files[s->nr_files++] = f;
	return f;
err:
	file_free(f);
	return NULL;
}

static struct sym_alias *find_alias(struct symbolizer *s, __u64 dev, __u64 ino)
{
	size_t i;

	for (i = 0; i < s->nr_aliases; i++)
		if (s->aliases[i].dev == dev && s->aliases[i].ino == ino)
			return &s->aliases[i];
	return NULL;
}

static void add_alias(struct symbolizer *s, __u64 dev, __u64 ino, struct sym_file *f)
{
	size_t i, k;

	if (s->nr_aliases >= ALIASES_MAX) {
		/* forget the failures (they are retried), keep the files' */
		for (i = k = 0; i < s->nr_aliases; i++)
			if (s->aliases[i].file)
				s->aliases[k++] = s->aliases[i];
		s->nr_aliases = k;
		if (s->nr_aliases >= ALIASES_MAX)
			return;
	}
	if (ARRAY_GROW(s->aliases, s->cap_aliases, s->nr_aliases + 1))
		return;
	s->aliases[s->nr_aliases++] = (struct sym_alias){ .dev = dev, .ino = ino, .file = f };
}

/* Takes image; NULL when it is no ELF libdwfl can read. */
static struct sym_file *load_image(struct symbolizer *s, void *image, size_t len,
				   const char *module)
{
	__u8 build_id[BUILD_ID_MAX];
	struct sym_file *f;
	size_t id_len;
	Elf *elf;

	elf = len ? elf_memory(image, len) : NULL;
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		free(image);
		return NULL;
	}
	hide_debug_links(elf);
	id_len = read_build_id(elf, build_id);
	f = file_by_build_id(s, build_id, id_len);
	if (f) {
		elf_end(elf);
		free(image);
		return f;
	}
	return file_new(s, image, len, elf, module, build_id, id_len);
}

static struct sym_file *load_file(struct symbolizer *s, int pid, struct sym_mapping *m)
{
	struct observed_file file;
	struct sym_alias *alias;
	struct sym_file *f;
	size_t len;
	__u64 cap;
	void *image;
	int err;

	alias = find_alias(s, m->dev, m->ino);
	if (alias)
		return alias->file;
	err = open_mapped_file(pid, m, &file);
	if (err) {
		p_debug("pid %d: not reading '%s' for symbols: %s", pid, m->path, strerror(-err));
		return NULL; /* not cached as missing: another pid may reach it */
	}
	cap = s->opts.budget_bytes < OBSERVED_FILE_MAX_BYTES ? s->opts.budget_bytes
							     : OBSERVED_FILE_MAX_BYTES;
	err = observed_file__read_all(&file, cap, &image, &len);
	observed_file__close(&file);
	if (err) {
		p_debug("pid %d: not reading '%s' for symbols: %s", pid, m->path, strerror(-err));
		add_alias(s, m->dev, m->ino, NULL);
		return NULL;
	}
	f = load_image(s, image, len, m->module);
	add_alias(s, m->dev, m->ino, f);
	return f;
}

/* The ELF vaddr of a file offset, through the PT_LOAD holding it. */
static bool offset_to_vaddr(const struct sym_file *f, __u64 offset, __u64 *vaddr)
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

static int format_frame(struct sym_file *f, const struct sym_mapping *m, __u64 addr,
			bool is_return_addr, char **out)
{
	const char *name = NULL, *src = NULL, *base;
	GElf_Off sym_off = 0;
	GElf_Sym sym;
	Dwfl_Line *line;
	__u64 vaddr, dwfl_addr, lookup;
	int lineno = 0, n;

	if (f && offset_to_vaddr(f, addr - m->start + m->offset, &vaddr)) {
		dwfl_addr = vaddr + f->bias;
		/* a return address follows its call: look the call up */
		lookup = is_return_addr && dwfl_addr ? dwfl_addr - 1 : dwfl_addr;
		name = dwfl_module_addrinfo(f->mod, lookup, &sym_off, &sym, NULL, NULL, NULL);
		sym_off += dwfl_addr - lookup;
		line = dwfl_module_getsrc(f->mod, lookup);
		if (line)
			src = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
	}
	if (!name)
		n = asprintf(out, "0x%llx (%s)", (unsigned long long)addr, m->module);
	else if (!src || lineno <= 0)
		n = asprintf(out, "%s+0x%llx (%s)", name, (unsigned long long)sym_off, m->module);
	else {
		base = strrchr(src, '/');
		n = asprintf(out, "%s+0x%llx (%s) %s:%d", name, (unsigned long long)sym_off,
			     m->module, base ? base + 1 : src, lineno);
	}
	return n < 0 ? -ENOMEM : 0;
}

static int resolve_in(struct symbolizer *s, struct sym_proc *p, __u64 addr, bool is_return_addr,
		      bool *reread, char **out)
{
	struct sym_mapping *m = find_mapping(p, addr);

	/* dlopen()ed since the maps were read: read them once more per call */
	if (!m && !*reread && proc_pid_start_time(p->pid) == p->start_time) {
		*reread = true;
		if (!read_maps(p))
			m = find_mapping(p, addr);
	}
	if (!m) {
		*out = strdup("[unknown]");
		return *out ? 0 : -ENOMEM;
	}
	if (!m->loaded) {
		m->file = load_file(s, p->pid, m);
		m->loaded = true;
	}
	if (m->file)
		m->file->last_use = ++s->tick;
	return format_frame(m->file, m, addr, is_return_addr, out);
}

int symbolizer__resolve_one(struct symbolizer *s, int pid, __u64 addr, bool is_return_addr,
			    char **out)
{
	struct sym_proc *p;
	bool reread = false;
	int err = 0;

	*out = NULL;
	p = get_proc(s, pid, &err);
	if (!p)
		return err;
	return resolve_in(s, p, addr, is_return_addr, &reread, out);
}

int symbolizer__resolve(struct symbolizer *s, int pid, const __u64 *addrs, size_t n, char **out)
{
	struct sym_proc *p;
	bool reread = false;
	size_t i, j;
	int err = 0;

	for (i = 0; i < n; i++)
		out[i] = NULL;
	p = get_proc(s, pid, &err);
	if (!p)
		return err;
	for (i = 0; i < n; i++) {
		err = resolve_in(s, p, addrs[i], i > 0, &reread, &out[i]);
		if (err) {
			for (j = 0; j < i; j++) {
				free(out[j]);
				out[j] = NULL;
			}
			return err;
		}
	}
	return 0;
}

int symbolizer__resolve_image(void *image, size_t len, const __u64 *file_offsets, size_t n,
			      char **out)
{
	struct sym_mapping m = { .start = 0, .end = len, .module = "image" };
	struct symbolizer *s = symbolizer__new();
	struct sym_file *f;
	size_t i, j;
	int err = 0;

	for (i = 0; i < n; i++)
		out[i] = NULL;
	if (!s) {
		free(image);
		return -ENOMEM;
	}
	f = load_image(s, image, len, m.module);
	for (i = 0; i < n && !err; i++)
		err = format_frame(f, &m, file_offsets[i], false, &out[i]);
	if (err)
		for (j = 0; j < n; j++) {
			free(out[j]);
			out[j] = NULL;
		}
	symbolizer__free(s);
	return err;
}
