// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The runtime of a process from its maps and its executable's ELF, bounded (runtime.h). */
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "attribute/alloc_libs.h"
#include "attribute/elf_read.h"
#include "attribute/gopclntab.h"
#include "attribute/runtime.h"
#include "output/records.h"
#include "util/log.h"
#include "util/procfs.h"

_Static_assert(sizeof(((struct leak_record *)0)->hint) >= RUNTIME_HINT_MAX,
	       "a leak line holds every hint");
/* runtime.h documents the bounds of the ELF reads attribute/elf_read.c makes */
_Static_assert(RUNTIME_MAX_SECTIONS == ELF_READ_MAX_SECTIONS &&
		       RUNTIME_SHSTRTAB_MAX_BYTES == ELF_READ_SHSTRTAB_MAX_BYTES &&
		       RUNTIME_SYMTAB_MAX_BYTES == ELF_READ_SYMTAB_MAX_BYTES &&
		       RUNTIME_STRTAB_MAX_BYTES == ELF_READ_STRTAB_MAX_BYTES,
	       "one set of ELF bounds");

static const char go_buildinfo_magic[] = "\xff Go buildinf:";
/* .gopclntab magics before 1.18: Go 1.2-1.15, 1.16-1.17 */
#define GOPCLNTAB_MAGIC_12 0xfffffffbu
#define GOPCLNTAB_MAGIC_116 0xfffffffau

static const char *const kind_names[] = {
	[RUNTIME_UNKNOWN] = NULL, [RUNTIME_NATIVE] = "native", [RUNTIME_GO] = "go",
	[RUNTIME_JVM] = "jvm",	  [RUNTIME_NODE] = "node",     [RUNTIME_PYTHON] = "python",
};

const char *runtime_kind__str(enum runtime_kind kind)
{
	if ((unsigned int)kind < sizeof(kind_names) / sizeof(kind_names[0]))
		return kind_names[kind];
	return NULL;
}

enum runtime_kind runtime__classify(const struct runtime_evidence *ev)
{
	if (ev->go_buildinfo || ev->go_pclntab || ev->go_symbols)
		return RUNTIME_GO;
	if (ev->maps_libjvm)
		return RUNTIME_JVM;
	if (ev->maps_libnode || (ev->v8_symbols && (ev->node_symbols || ev->exe_named_node)))
		return RUNTIME_NODE;
	if (ev->maps_libpython || ev->python_symbols)
		return RUNTIME_PYTHON;
	/*
	 * Native only when both were read and nothing matched: an executable not
	 * read (refused, on FUSE, not ELF64) or a symbol table past its bound is
	 * no evidence.
	 */
	return ev->maps_read && ev->exe_read && !ev->symbols_skipped ? RUNTIME_NATIVE
								     : RUNTIME_UNKNOWN;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

void runtime__note_mapping(const char *path, struct runtime_evidence *ev)
{
	const char *base = basename_of(path);

	if (!strcmp(base, "libjvm.so"))
		ev->maps_libjvm = true;
	else if (!strncmp(base, "libnode.so", 10) && (!base[10] || base[10] == '.'))
		ev->maps_libnode = true;
	/* libpython3.11.so.1.0, libpython3.12d.so: CPython 3's shared library */
	else if (!fnmatch("libpython3.*.so", base, 0) || !fnmatch("libpython3.*.so.*", base, 0))
		ev->maps_libpython = true;
}

static bool pclntab_magic(__u32 magic)
{
	return magic == GOPCLNTAB_MAGIC_120 || magic == GOPCLNTAB_MAGIC_118 ||
	       magic == GOPCLNTAB_MAGIC_116 || magic == GOPCLNTAB_MAGIC_12;
}

/* The defined symbols of one table that are evidence. */
static bool note_symbol(const char *name, const Elf64_Sym *sym, void *ctx)
{
	struct runtime_evidence *ev = ctx;

	(void)sym;
	if (name[0] == '_' && !strncmp(name, "_ZN2v8", 6))
		ev->v8_symbols = true;
	else if (name[0] == '_' && !strncmp(name, "_ZN4node", 8))
		ev->node_symbols = true;
	else if (!strcmp(name, "runtime.main") || !strcmp(name, "runtime.mallocgc"))
		ev->go_symbols = true;
	else if (!strcmp(name, "Py_Initialize") || !strcmp(name, "_PyEval_EvalFrameDefault"))
		ev->python_symbols = true;
	return false;
}

/* One table scanned; a table past its bound or unreadable is no evidence, and says so. */
static void scan_symbols(const struct elf_read *elf, int idx, struct runtime_evidence *ev)
{
	if (elf_read__symbols(elf, (unsigned int)idx, note_symbol, ev))
		ev->symbols_skipped = true;
}

/* The symbols already make a verdict: the second table need not be read. */
static bool symbols_say(const struct runtime_evidence *ev)
{
	return ev->go_symbols || ev->python_symbols ||
	       (ev->v8_symbols && (ev->node_symbols || ev->exe_named_node));
}

int runtime__read_elf(const struct observed_file *f, struct runtime_evidence *ev)
{
	struct elf_read elf;
	char magic[sizeof(go_buildinfo_magic) - 1];
	__u32 pcln;
	int err, i, dynsym = -1, symtab = -1;

	err = elf_read__open(f->fd, &elf);
	if (err)
		return err;
	ev->exe_read = true;
	for (i = 0; i < elf.eh.e_shnum; i++) {
		const Elf64_Shdr *sh = &elf.shdr[i];
		const char *name = elf_read__section_name(&elf, (unsigned int)i);

		if (sh->sh_type == SHT_DYNSYM && dynsym < 0)
			dynsym = i;
		else if (sh->sh_type == SHT_SYMTAB && symtab < 0)
			symtab = i;
		if (!strcmp(name, ".go.buildinfo") &&
		    elf_read__section_starts_with(&elf, sh, magic, sizeof(magic)))
			ev->go_buildinfo = !memcmp(magic, go_buildinfo_magic, sizeof(magic));
		else if (!strcmp(name, ".gopclntab") &&
			 elf_read__section_starts_with(&elf, sh, &pcln, sizeof(pcln)))
			ev->go_pclntab = pclntab_magic(le32toh(pcln)) ||
					 pclntab_magic(be32toh(pcln));
	}
	/* the section names said it: no symbol scan */
	if (ev->go_buildinfo || ev->go_pclntab)
		goto out;
	if (dynsym >= 0)
		scan_symbols(&elf, dynsym, ev);
	if (symtab >= 0 && !symbols_say(ev))
		scan_symbols(&elf, symtab, ev);
out:
	elf_read__close(&elf);
	return 0;
}

/* The mapping of the executable, as maps has it. */
struct exe_mapping {
	bool found;
	struct maps_entry e;
};

struct maps_walk {
	const char *exe_path;
	struct exe_mapping *exe;
	struct runtime_evidence *ev;
};

static bool note_evidence(const struct maps_entry *e, void *ctx)
{
	struct maps_walk *w = ctx;

	if (e->path[0] != '/')
		return true;
	runtime__note_mapping(e->path, w->ev);
	if (!w->exe->found && w->exe_path[0] && !strcmp(e->path, w->exe_path)) {
		w->exe->found = true;
		w->exe->e = *e;
	}
	return true;
}

/* maps, line by line up to its bound: the libraries' evidence, and where the executable is. */
static int read_maps(int pid, const char *exe_path, struct exe_mapping *exe,
		     struct runtime_evidence *ev)
{
	struct maps_walk w = { .exe_path = exe_path, .exe = exe, .ev = ev };
	int err = maps_each(pid, RUNTIME_MAPS_MAX_BYTES, note_evidence, &w);

	ev->maps_read = !err;
	return err;
}

static enum runtime_kind detect(int pid, const char *exe_path)
{
	struct runtime_evidence ev = {};
	struct exe_mapping *exe = calloc(1, sizeof(*exe));
	struct observed_file f = { .fd = -1 };
	enum runtime_kind kind;
	int err;

	if (!exe)
		return RUNTIME_UNKNOWN;
	err = read_maps(pid, exe_path, exe, &ev);
	if (err) {
		free(exe);
		return RUNTIME_UNKNOWN; /* gone, or a kernel thread */
	}
	if (exe_path[0]) {
		const char *base = basename_of(exe_path);

		ev.exe_named_node = !strcmp(base, "node") || !strcmp(base, "nodejs");
	}
	if (exe->found) {
		struct observed_file_opts opts = {
			.pid = pid,
			.path = exe->e.deleted ? NULL : exe->e.path,
			.start = exe->e.start,
			.end = exe->e.end,
			.check_identity = true,
			.dev = makedev(exe->e.dev_major, exe->e.dev_minor),
			.ino = exe->e.inode,
		};

		err = observed_file__open(&opts, &f);
		if (!err)
			err = runtime__read_elf(&f, &ev);
		if (err)
			p_debug("pid %d: runtime: executable '%s' not read: %s", pid, exe_path,
				strerror(-err));
		observed_file__close(&f);
	}
	kind = runtime__classify(&ev);
	free(exe);
	return kind;
}

enum runtime_kind runtime__detect(int pid)
{
	char exe_path[4096];

	if (pid <= 0)
		return RUNTIME_UNKNOWN;
	if (proc_pid_exe_path(pid, exe_path, sizeof(exe_path)))
		exe_path[0] = '\0'; /* maps alone, then */
	return detect(pid, exe_path);
}

void runtime__hint(enum runtime_kind kind, __u32 pid, bool escalated, bool not_from_malloc,
		   char *buf, size_t size)
{
	if (!size)
		return;
	buf[0] = '\0';
	if (escalated && !not_from_malloc && kind != RUNTIME_PYTHON)
		return; /* malloc's growth: the sites are the answer */
	switch (kind) {
	case RUNTIME_GO:
		snprintf(
			buf, size,
			"Go heap: profile it with `go tool pprof http://HOST:PORT/debug/pprof/heap` "
			"(import _ \"net/http/pprof\" and serve HTTP), or write one with "
			"runtime/pprof.WriteHeapProfile");
		break;
	case RUNTIME_JVM:
		snprintf(
			buf, size,
			"Java heap: `jcmd %u GC.class_histogram` shows the classes that grow; "
			"`jcmd %u GC.heap_dump /tmp/heap-%u.hprof` dumps the heap for a heap analyzer",
			pid, pid, pid);
		break;
	case RUNTIME_NODE:
		snprintf(
			buf, size,
			"V8 heap: start node with --heapsnapshot-signal=SIGUSR2 and take snapshots "
			"with `kill -USR2 %u`, or start it with --inspect and compare heap snapshots "
			"in Chrome DevTools",
			pid);
		break;
	case RUNTIME_PYTHON:
		snprintf(buf, size,
			 "Python heap: run it with `python3 -X tracemalloc=25` and compare "
			 "tracemalloc.take_snapshot() taken over time (snapshot.compare_to)");
		break;
	default:
		break;
	}
}

struct runtime_cache_entry {
	int pid; /* 0: free */
	__u64 start_time;
	__u64 exe_hash; /* FNV-1a of the executable's link: an exec changes it */
	__u64 used;	/* the cache's clock when last looked up */
	enum runtime_kind kind;
};

struct runtime_cache {
	struct runtime_cache_entry entries[RUNTIME_CACHE_MAX];
	__u64 clock;
	__u64 evictions;
};

struct runtime_cache *runtime_cache__new(void)
{
	return calloc(1, sizeof(struct runtime_cache));
}

void runtime_cache__free(struct runtime_cache *c)
{
	free(c);
}

static __u64 fnv1a(const char *s)
{
	__u64 h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

/* Linear: 256 entries, looked up once per leak line. */
enum runtime_kind runtime_cache__lookup(struct runtime_cache *c, int pid)
{
	struct runtime_cache_entry *slot = NULL, *lru = NULL;
	enum runtime_kind kind;
	char exe_path[4096];
	__u64 start, hash;
	size_t i;

	if (pid <= 0)
		return RUNTIME_UNKNOWN;
	start = proc_pid_start_time(pid);
	if (!start)
		return RUNTIME_UNKNOWN; /* gone */
	if (proc_pid_exe_path(pid, exe_path, sizeof(exe_path)))
		exe_path[0] = '\0';
	hash = fnv1a(exe_path);
	c->clock++;
	for (i = 0; i < RUNTIME_CACHE_MAX; i++) {
		struct runtime_cache_entry *e = &c->entries[i];

		if (e->pid == pid) {
			slot = e;
			break;
		}
		if (!e->pid) {
			if (!lru || lru->pid)
				lru = e;
		} else if (!lru || (lru->pid && e->used < lru->used)) {
			lru = e;
		}
	}
	if (slot && slot->start_time == start && slot->exe_hash == hash) {
		slot->used = c->clock;
		return slot->kind;
	}
	kind = detect(pid, exe_path);
	if (kind == RUNTIME_UNKNOWN) {
		/* no verdict to keep: gone, or its files refused; asked again next time */
		if (slot)
			slot->pid = 0;
		return kind;
	}
	if (!slot) {
		slot = lru;
		if (slot->pid)
			c->evictions++;
	}
	*slot = (struct runtime_cache_entry){
		.pid = pid, .start_time = start, .exe_hash = hash, .used = c->clock, .kind = kind
	};
	return kind;
}

__u64 runtime_cache__evictions(const struct runtime_cache *c)
{
	return c ? c->evictions : 0;
}
