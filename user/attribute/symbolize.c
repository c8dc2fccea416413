// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include "attribute/alloc_libs.h"
#include "attribute/symbolize.h"
#include "util/array.h"
#include "util/log.h"
#include "util/procfs.h"
#include "util/u64map.h"

#define BUILD_ID_MAX 64
#define LOADS_MAX 16

/* One ELF file, opened once, shared by every mapping of it (by build-id). */
struct sym_file {
	__u8 build_id[BUILD_ID_MAX];
	size_t build_id_len; /* 0: none; then shared by device and inode only */
	Dwfl *dwfl;
	Dwfl_Module *mod;
	GElf_Addr bias; /* Dwfl address = ELF vaddr + bias */
	struct {
		__u64 offset, vaddr, filesz;
	} loads[LOADS_MAX];
	int nr_loads;
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
	bool loaded;	    /* file looked up (it may still be NULL) */
	struct sym_file *file;
};

struct sym_proc {
	int pid;
	__u64 start_time; /* clock ticks after boot: tells a reused pid */
	struct sym_mapping *maps;
	size_t nr_maps;
};

struct symbolizer {
	struct sym_file **files;
	size_t nr_files, cap_files;
	struct sym_alias *aliases;
	size_t nr_aliases, cap_aliases;
	struct u64map procs; /* pid -> struct sym_proc * */
};

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

struct symbolizer *symbolizer__new(void)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	elf_version(EV_CURRENT);
	u64map_init(&s->procs);
	return s;
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

void symbolizer__forget_pid(struct symbolizer *s, int pid)
{
	uint64_t value;

	if (!s || pid <= 0 || !u64map_get(&s->procs, (uint64_t)pid, &value))
		return;
	proc_free((struct sym_proc *)(uintptr_t)value);
	u64map_del(&s->procs, (uint64_t)pid);
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
	for (i = 0; i < s->nr_files; i++) {
		dwfl_end(s->files[i]->dwfl);
		free(s->files[i]);
	}
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

static struct sym_proc *get_proc(struct symbolizer *s, int pid, int *err)
{
	struct sym_proc *p = NULL;
	__u64 start_time = proc_pid_start_time(pid);
	uint64_t value;

	if (u64map_get(&s->procs, (uint64_t)pid, &value)) {
		p = (struct sym_proc *)(uintptr_t)value;
		/* gone: keep what was read before the exit */
		if (!start_time || start_time == p->start_time)
			return p;
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
	*err = read_maps(p);
	if (!*err)
		*err = u64map_put(&s->procs, (uint64_t)pid, (uint64_t)(uintptr_t)p);
	if (*err) {
		proc_free(p);
		return NULL;
	}
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

/* The mapped file, from this process's own view of it. */
static int open_mapped_file(int pid, const struct sym_mapping *m, char *path, size_t size)
{
	struct stat st;
	int fd;

	snprintf(path, size, "/proc/%d/root%s", pid, m->path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (!fstat(fd, &st) && st.st_dev == m->dev && st.st_ino == m->ino)
			return fd;
		close(fd);
	}
	/* deleted, replaced, or behind a root we cannot name: the mapping itself */
	snprintf(path, size, "/proc/%d/map_files/%llx-%llx", pid, (unsigned long long)m->start,
		 (unsigned long long)m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

static size_t read_build_id(int fd, __u8 *build_id)
{
	const void *bits;
	ssize_t len = 0;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);

	if (elf)
		len = dwelf_elf_gnu_build_id(elf, &bits);
	if (len > 0 && len <= BUILD_ID_MAX)
		memcpy(build_id, bits, (size_t)len);
	else
		len = 0;
	elf_end(elf);
	return (size_t)len;
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

static struct sym_file *file_by_build_id(struct symbolizer *s, const __u8 *id, size_t len)
{
	size_t i;

	for (i = 0; len && i < s->nr_files; i++)
		if (s->files[i]->build_id_len == len && !memcmp(s->files[i]->build_id, id, len))
			return s->files[i];
	return NULL;
}

/* Takes fd. */
static struct sym_file *file_new(struct symbolizer *s, int fd, const char *path, const char *module,
				 const __u8 *id, size_t id_len)
{
	struct sym_file *f = calloc(1, sizeof(*f));

	if (!f || ARRAY_GROW(s->files, s->cap_files, s->nr_files + 1))
		goto err_fd;
	memcpy(f->build_id, id, id_len);
	f->build_id_len = id_len;
	f->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!f->dwfl)
		goto err_fd;
	dwfl_report_begin(f->dwfl);
	/* placed at its own p_vaddr: Dwfl addresses are the ELF's vaddrs */
	f->mod = dwfl_report_elf(f->dwfl, module, path, fd, 0, true);
	dwfl_report_end(f->dwfl, NULL, NULL);
	if (!f->mod) {
		p_debug("cannot read '%s' for symbols: %s", path, dwfl_errmsg(-1));
		dwfl_end(f->dwfl);
		goto err_fd;
	}
	read_loads(f);
	s->files[s->nr_files++] = f;
	return f;
err_fd:
	close(fd);
	free(f);
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
	if (ARRAY_GROW(s->aliases, s->cap_aliases, s->nr_aliases + 1))
		return;
	s->aliases[s->nr_aliases++] = (struct sym_alias){ .dev = dev, .ino = ino, .file = f };
}

static struct sym_file *load_file(struct symbolizer *s, int pid, struct sym_mapping *m)
{
	__u8 build_id[BUILD_ID_MAX];
	struct sym_alias *alias;
	struct sym_file *f;
	char path[PATH_MAX + 64];
	size_t id_len;
	int fd;

	alias = find_alias(s, m->dev, m->ino);
	if (alias)
		return alias->file;
	fd = open_mapped_file(pid, m, path, sizeof(path));
	if (fd < 0)
		return NULL; /* not cached as missing: another pid may reach it */
	id_len = read_build_id(fd, build_id);
	f = file_by_build_id(s, build_id, id_len);
	if (f)
		close(fd);
	else
		f = file_new(s, fd, path, m->module, build_id, id_len);
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
