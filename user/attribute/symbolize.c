// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ~680 lines: the symbolizer's state in the daemon (pids, mappings, files, LRU budget) and its lookups; parsing is in symbolize_elf.c, the helper in symbolize_worker.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include "attribute/alloc_libs.h"
#include "attribute/perf_map.h"
#include "attribute/symbolize.h"
#include "attribute/symbolize_elf.h"
#include "attribute/symbolize_worker.h"
#include "attribute/cfi_cache.h"
#include "output/records.h"
#include "util/array.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/observed_file.h"
#include "util/procfs.h"
#include "util/u64map.h"

/* (dev, ino) -> file entries kept; past it, the failures are forgotten first */
#define ALIASES_MAX 4096
/* the first helper's start: fork and its drops, on a loaded node */
#define START_DEADLINE_MS 2000
/*
 * Perf maps (perf_map.h): a JIT appends to its map for as long as it runs,
 * so at most this prefix is read, this many entries kept, the maps of all
 * processes held within a budget (least recently used dropped first), and a
 * map re-read at most once a second, when an address misses it.
 */
#define PERF_MAP_MAX_BYTES (64ULL << 20)
#define PERF_MAP_MAX_ENTRIES (1u << 20)
#define PERF_MAPS_BUDGET_BYTES (128ULL << 20)
#define PERF_MAP_REREAD_MS 1000

/*
 * One ELF file, read and parsed once where the parsing runs (the helper, or
 * symbolize_elf in memobs), shared by every mapping of it (by build-id).
 */
struct sym_file {
	__u32 id;	  /* sym_elf's, in the helper or in memobs */
	size_t image_len; /* its copy's bytes */
	__u64 last_use;	  /* symbolizer tick of the last lookup: LRU */
	/* its GNU build-id in lowercase hex; "": none */
	char build_id[2 * SYM_ELF_BUILD_ID_MAX + 1];
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
	__u64 last_use;	     /* symbolizer tick: the least recently used goes past max_pids */
	struct perf_map jit; /* its perf map's entries, when it has one */
	bool jit_read;	     /* a read was tried (at jit_read_ms) */
	__u64 jit_read_ms;
	__u64 jit_offset;	/* the map's bytes parsed: the next read starts there */
	__u64 jit_dev, jit_ino; /* the file they were read from */
	char jit_module[32];	/* "perf-NSPID.map", as perf names the map's frames */
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
	size_t jit_bytes;	   /* perf_map__bytes() of every process's perf map */
	struct sym_elf *elf;	   /* in_process: the parsing, here */
	struct sym_worker *worker; /* else: the helper process */
	__u64 worker_gen;	   /* sym_worker__generation() the files belong to */
	struct cfi_cache cfi;	   /* unwind rules asked for, by file and pc */
};

struct symbolizer *symbolizer__new_opts(const struct symbolizer_opts *opts)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	struct sym_worker_opts worker_opts = {};
	int err;

	if (!s)
		return NULL;
	u64map_init(&s->procs);
	cfi_cache__init(&s->cfi, 0);
	if (opts)
		s->opts = *opts;
	if (!s->opts.budget_bytes)
		s->opts.budget_bytes = SYMBOLIZER_BUDGET_BYTES;
	if (!s->opts.max_files)
		s->opts.max_files = SYMBOLIZER_MAX_FILES;
	if (!s->opts.max_pids)
		s->opts.max_pids = SYMBOLIZER_MAX_PIDS;
	if (!s->opts.deadline_ms)
		s->opts.deadline_ms = SYMBOLIZER_DEADLINE_MS;
	if (s->opts.in_process) {
		s->elf = sym_elf__new();
	} else {
		worker_opts.budget_bytes = s->opts.budget_bytes;
		worker_opts.test_hang_ms = s->opts.test_hang_ms;
		s->worker = sym_worker__new(&worker_opts,
					    clock_mono_ns() + START_DEADLINE_MS * 1000000ULL);
		s->worker_gen = sym_worker__generation(s->worker);
	}
	if (!s->elf && !s->worker) {
		err = errno;
		free(s);
		errno = err;
		return NULL;
	}
	return s;
}

struct symbolizer *symbolizer__new(void)
{
	return symbolizer__new_opts(NULL);
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out)
{
	struct sym_worker_stats ws;

	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	out->files = s->nr_files;
	out->image_bytes = s->image_bytes;
	out->evictions = s->evictions;
	out->pids = s->nr_procs;
	sym_worker__stats(s->worker, &ws);
	out->timeouts = ws.timeouts;
	out->worker_restarts = ws.restarts;
	out->cfi_cache_bytes = cfi_cache__bytes(&s->cfi);
	out->cfi_cache_evictions = s->cfi.evictions;
}

int symbolizer__worker_pid(const struct symbolizer *s)
{
	return s ? sym_worker__pid(s->worker) : 0;
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
	if (s->elf)
		sym_elf__drop(s->elf, f->id);
	else if (s->worker_gen == sym_worker__generation(s->worker))
		sym_worker__drop(s->worker, f->id); /* a lost helper's ids name nothing */
	free(f);
}

/* The helper that parsed the files is gone: so are they. */
static void sync_worker(struct symbolizer *s)
{
	if (!s->worker || s->worker_gen == sym_worker__generation(s->worker))
		return;
	while (s->nr_files)
		file_remove(s, s->nr_files - 1);
	s->worker_gen = sym_worker__generation(s->worker);
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
	perf_map__free(&p->jit);
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
	s->jit_bytes -= perf_map__bytes(&p->jit);
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
		free(s->files[i]);
	free(s->files);
	free(s->aliases);
	sym_worker__free(s->worker);
	sym_elf__free(s->elf);
	cfi_cache__free(&s->cfi);
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

static struct sym_file *file_by_id(struct symbolizer *s, __u32 id)
{
	size_t i;

	for (i = 0; i < s->nr_files; i++)
		if (s->files[i]->id == id)
			return s->files[i];
	return NULL;
}

static void hex_of(char *out, const __u8 *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * len] = '\0';
}

/* The parsed image id of len bytes (existed: one held already): its entry. */
static struct sym_file *file_add(struct symbolizer *s, __u32 id, bool existed, size_t len,
				 const __u8 *build_id, size_t build_id_len)
{
	struct sym_file *f = existed ? file_by_id(s, id) : NULL;

	if (f)
		return f;
	make_room(s, len);
	f = calloc(1, sizeof(*f));
	if (!f || ARRAY_GROW(s->files, s->cap_files, s->nr_files + 1)) {
		free(f);
		if (s->elf)
			sym_elf__drop(s->elf, id);
		else
			sym_worker__drop(s->worker, id);
		return NULL;
	}
	f->id = id;
	f->image_len = len;
	f->last_use = s->tick;
	if (build_id_len <= SYM_ELF_BUILD_ID_MAX)
		hex_of(f->build_id, build_id, build_id_len);
	s->image_bytes += len;
	s->files[s->nr_files++] = f;
	return f;
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

/* The helper timed out or died on this request: the file is not tried again. */
static bool worker_lost_on(int err)
{
	return err == -ETIMEDOUT || err == -EPIPE;
}

/*
 * A file's first parse (node's 100 MB binary, its 200,000 symbols sorted)
 * takes longer than one address may: the load waits this long, once per file.
 */
static __u64 load_deadline(__u64 deadline_ns)
{
	__u64 load = clock_mono_ns() + SYMBOLIZER_LOAD_DEADLINE_MS * 1000000ULL;

	return load > deadline_ns ? load : deadline_ns;
}

/* Reads and parses the file; -EAGAIN: no helper now, try again later. */
static int load_file(struct symbolizer *s, int pid, struct sym_mapping *m, __u64 deadline_ns,
		     struct sym_file **out)
{
	struct sym_worker_image loaded = {};
	struct observed_file file;
	struct sym_alias *alias;
	void *image;
	__u32 id = 0;
	__u64 cap;
	int err, n;

	*out = NULL;
	alias = find_alias(s, m->dev, m->ino);
	if (alias) {
		*out = alias->file;
		return 0;
	}
	err = open_mapped_file(pid, m, &file);
	if (err) {
		p_debug("pid %d: not reading '%s' for symbols: %s", pid, m->path, strerror(-err));
		return 0; /* not cached as missing: another pid may reach it */
	}
	cap = s->opts.budget_bytes < OBSERVED_FILE_MAX_BYTES ? s->opts.budget_bytes
							     : OBSERVED_FILE_MAX_BYTES;
	if (file.size > cap) {
		err = -EFBIG;
	} else if (s->elf) {
		err = observed_file__read_all(&file, cap, &image, &loaded.len);
		if (!err)
			err = sym_elf__load(s->elf, image, loaded.len, m->module, &id,
					    &loaded.existed);
		if (!err && (n = sym_elf__build_id(s->elf, id, loaded.build_id)) > 0)
			loaded.build_id_len = (size_t)n;
	} else {
		err = sym_worker__load(s->worker, file.fd, cap, m->module,
				       load_deadline(deadline_ns), &id, &loaded);
	}
	observed_file__close(&file);
	if (err == -EAGAIN)
		return err;
	sync_worker(s);
	if (err) {
		p_debug("pid %d: not reading '%s' for symbols: %s", pid, m->path, strerror(-err));
		add_alias(s, m->dev, m->ino, NULL);
		return 0;
	}
	*out = file_add(s, id, loaded.existed, loaded.len, loaded.build_id, loaded.build_id_len);
	add_alias(s, m->dev, m->ino, *out);
	return 0;
}

/*
 * name NULL: nothing names the address, and it comes out as its place in
 * the module, "module+0xOFF (module)", OFF the ELF vaddr (the file offset
 * when the file could not be read): what perf and pprof show, the same in
 * every process that maps the file (an absolute address differs by ASLR).
 */
static int format_result(__u64 module_off, const char *module, const char *name, __u64 sym_off,
			 const char *src, int line, char **out)
{
	int n;

	if (!name)
		n = asprintf(out, "%s+0x%llx (%s)", module, (unsigned long long)module_off, module);
	else if (!src || line <= 0)
		n = asprintf(out, "%s+0x%llx (%s)", name, (unsigned long long)sym_off, module);
	else
		n = asprintf(out, "%s+0x%llx (%s) %s:%d", name, (unsigned long long)sym_off, module,
			     src, line);
	return n < 0 ? -ENOMEM : 0;
}

/*
 * What the frame string does not say (meta NULL: not wanted): the mapping's
 * path and the file offset, the file's build-id, the mangled name. The path
 * is maps's (at most a line of it), the name bounded by the helper's reply.
 */
static int frame_meta_of(const struct sym_mapping *m, __u64 offset, const char *raw_name,
			 struct frame_meta *meta)
{
	if (!meta)
		return 0;
	meta->file_offset = offset;
	meta->path = strdup(m->path);
	if (m->file && m->file->build_id[0])
		meta->build_id = strdup(m->file->build_id);
	if (raw_name)
		meta->raw_name = strndup(raw_name, SYM_ELF_DEMANGLE_MAX);
	if (!meta->path || (m->file && m->file->build_id[0] && !meta->build_id) ||
	    (raw_name && !meta->raw_name)) {
		frame_meta__clear(meta);
		return -ENOMEM;
	}
	return 0;
}

static int format_frame(struct symbolizer *s, struct sym_mapping *m, __u64 addr,
			bool is_return_addr, __u64 deadline_ns, char **out, struct frame_meta *meta)
{
	struct sym_file *f = m->file;
	__u64 offset = addr - m->start + m->offset;
	struct sym_worker_frame wf = {};
	struct sym_elf_frame frame;
	int err = 0;

	if (f && s->elf) {
		if (!sym_elf__lookup(s->elf, f->id, offset, is_return_addr, &frame)) {
			err = frame_meta_of(m, offset, frame.raw_name, meta);
			return err ? err
				   : format_result(frame.has_vaddr ? frame.vaddr : offset,
						   m->module, frame.name, frame.sym_off, frame.src,
						   frame.line, out);
		}
	} else if (f) {
		err = sym_worker__lookup(s->worker, f->id, offset, is_return_addr, deadline_ns,
					 &wf);
		if (worker_lost_on(err)) {
			sync_worker(s);
			add_alias(s, m->dev, m->ino, NULL);
			m->loaded = true; /* m->file is NULL now */
		}
	}
	err = frame_meta_of(m, offset, wf.raw_name, meta);
	if (!err)
		err = format_result(wf.has_vaddr ? wf.vaddr : offset, m->module, wf.name,
				    wf.sym_off, wf.src, wf.line, out);
	free(wf.name);
	free(wf.src);
	free(wf.raw_name);
	return err;
}

/* The pid the process knows itself by, which its perf map is named after. */
static int own_nspid(int pid)
{
	char path[64], *text;
	int nspid = pid;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (!read_small_file(path, &text)) {
		if (perf_map__nspid(text, &nspid))
			nspid = pid;
		free(text);
	}
	return nspid;
}

/* The bytes [offset, end) of a file that may still grow (or shrink while read). */
static int read_range(const struct observed_file *f, __u64 offset, __u64 end, char **buf,
		      size_t *len)
{
	size_t want = (size_t)(end - offset), got = 0;
	ssize_t n;

	*buf = malloc(want ? want : 1);
	if (!*buf)
		return -ENOMEM;
	while (got < want) {
		n = pread(f->fd, *buf + got, want - got, (off_t)(offset + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* an error or a truncation: what was read */
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

static void jit_drop(struct symbolizer *s, struct sym_proc *p)
{
	s->jit_bytes -= perf_map__bytes(&p->jit);
	perf_map__free(&p->jit);
	p->jit_offset = 0;
}

/* Within the budget: the least recently used other processes' maps go first. */
static void jit_make_room(struct symbolizer *s, const struct sym_proc *keep)
{
	uint64_t pid, value;
	struct sym_proc *lru;
	size_t i;

	while (s->jit_bytes > PERF_MAPS_BUDGET_BYTES) {
		lru = NULL;
		i = 0;
		while (u64map_next(&s->procs, &i, &pid, &value)) {
			struct sym_proc *p = (struct sym_proc *)(uintptr_t)value;

			if (p != keep && p->jit.nr && (!lru || p->last_use < lru->last_use))
				lru = p;
		}
		if (!lru)
			return;
		jit_drop(s, lru);
		lru->jit_read = false; /* read again when needed */
		s->evictions++;
	}
}

/*
 * Reads on in /tmp/perf-NSPID.map inside the process's root, through
 * util/observed_file.h (never blocking, no symlink followed): from where the
 * last read stopped, for a JIT only appends (the whole map again when the
 * file was replaced or truncated), up to its first PERF_MAP_MAX_BYTES. A map
 * that cannot be opened keeps what was read.
 */
static void jit_read(struct symbolizer *s, struct sym_proc *p)
{
	struct observed_file_opts opts = { .pid = p->pid };
	struct observed_file file;
	size_t len = 0, consumed = 0;
	__u64 end, before;
	char path[64], *text;
	int nspid, err;

	p->jit_read = true;
	p->jit_read_ms = clock_mono_ms();
	nspid = own_nspid(p->pid);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", nspid);
	opts.path = path;
	if (observed_file__open(&opts, &file))
		return;
	if (file.dev != p->jit_dev || file.ino != p->jit_ino || file.size < p->jit_offset)
		jit_drop(s, p);
	p->jit_dev = file.dev;
	p->jit_ino = file.ino;
	end = file.size < PERF_MAP_MAX_BYTES ? file.size : PERF_MAP_MAX_BYTES;
	err = end > p->jit_offset ? read_range(&file, p->jit_offset, end, &text, &len) : -ENODATA;
	observed_file__close(&file);
	if (err)
		return;
	before = perf_map__bytes(&p->jit);
	err = perf_map__append(&p->jit, text, len, PERF_MAP_MAX_ENTRIES, &consumed);
	free(text);
	if (err)
		return;
	p->jit_offset += consumed;
	s->jit_bytes += perf_map__bytes(&p->jit) - before;
	snprintf(p->jit_module, sizeof(p->jit_module), "perf-%d.map", nspid);
	p_debug("pid %d: perf map '%s': %zu entries, %llu lines skipped, %llu bytes read%s", p->pid,
		path, p->jit.nr, (unsigned long long)p->jit.skipped,
		(unsigned long long)p->jit_offset,
		file.size > PERF_MAP_MAX_BYTES ? " (the first 64 MiB only)" : "");
	jit_make_room(s, p);
}

/*
 * An address in no file mapping: JIT code named by the process's perf map,
 * "name+0xoff (perf-NSPID.map)" as perf shows it; else, as perf shows an
 * address it cannot place, the bare "0xADDR".
 */
static int format_unmapped(struct symbolizer *s, struct sym_proc *p, __u64 addr,
			   bool is_return_addr, char **out)
{
	__u64 lookup = is_return_addr && addr ? addr - 1 : addr;
	const struct perf_map_entry *e = perf_map__find(&p->jit, lookup);
	int n;

	if (!e && (!p->jit_read || clock_mono_ms() - p->jit_read_ms >= PERF_MAP_REREAD_MS)) {
		jit_read(s, p);
		e = perf_map__find(&p->jit, lookup);
	}
	if (e)
		n = asprintf(out, "%s+0x%llx (%s)", perf_map__name(&p->jit, e),
			     (unsigned long long)(addr - e->start), p->jit_module);
	else
		n = asprintf(out, "0x%llx", (unsigned long long)addr);
	return n < 0 ? -ENOMEM : 0;
}

/* How long one address (its symbol, or its unwind rule) may wait for the helper. */
static __u64 lookup_deadline(const struct symbolizer *s)
{
	return clock_mono_ns() + (__u64)s->opts.deadline_ms * 1000000ULL;
}

/* A helper to ask, if one can run now (-EAGAIN: none for now; the callers fall back). */
static void ensure_worker(struct symbolizer *s, __u64 deadline_ns)
{
	if (!s->worker)
		return;
	sym_worker__ensure(s->worker, deadline_ns);
	sync_worker(s);
}

/*
 * The mapping of addr with its file looked up (m->file NULL when it cannot
 * be read), or NULL when addr is in none. An address in no mapping re-reads
 * the maps once per *reread (dlopen()ed since they were read). A load waits
 * its own, longer deadline: *deadline_ns then starts again for the lookup.
 */
static struct sym_mapping *mapping_loaded(struct symbolizer *s, struct sym_proc *p, __u64 addr,
					  bool *reread, __u64 *deadline_ns)
{
	struct sym_mapping *m = find_mapping(p, addr);

	if (!m && !*reread && proc_pid_start_time(p->pid) == p->start_time) {
		*reread = true;
		if (!read_maps(p))
			m = find_mapping(p, addr);
	}
	if (!m)
		return NULL;
	if (!m->loaded && !load_file(s, p->pid, m, *deadline_ns, &m->file)) {
		m->loaded = true;
		*deadline_ns = lookup_deadline(s);
	}
	if (m->file)
		m->file->last_use = ++s->tick;
	return m;
}

static int resolve_in(struct symbolizer *s, struct sym_proc *p, __u64 addr, bool is_return_addr,
		      bool *reread, char **out, struct frame_meta *meta)
{
	__u64 deadline_ns = lookup_deadline(s);
	struct sym_mapping *m;

	ensure_worker(s, deadline_ns);
	m = mapping_loaded(s, p, addr, reread, &deadline_ns);
	if (!m)
		return format_unmapped(s, p, addr, is_return_addr, out);
	return format_frame(s, m, addr, is_return_addr, deadline_ns, out, meta);
}

void frame_meta__clear(struct frame_meta *m)
{
	if (!m)
		return;
	free(m->build_id);
	free(m->raw_name);
	free(m->path);
	memset(m, 0, sizeof(*m));
}

int symbolizer__resolve_frame(struct symbolizer *s, int pid, __u64 addr, bool is_return_addr,
			      char **out, struct frame_meta *meta)
{
	struct sym_proc *p;
	bool reread = false;
	int err = 0;

	*out = NULL;
	if (meta)
		memset(meta, 0, sizeof(*meta));
	p = get_proc(s, pid, &err);
	if (!p)
		return err;
	err = resolve_in(s, p, addr, is_return_addr, &reread, out, meta);
	if (err) {
		free(*out);
		*out = NULL;
		frame_meta__clear(meta);
	}
	return err;
}

int symbolizer__resolve_one(struct symbolizer *s, int pid, __u64 addr, bool is_return_addr,
			    char **out)
{
	return symbolizer__resolve_frame(s, pid, addr, is_return_addr, out, NULL);
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
		err = resolve_in(s, p, addrs[i], i > 0, &reread, &out[i], NULL);
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
	struct sym_elf *elf = sym_elf__new();
	struct sym_elf_frame frame;
	bool loaded = false, existed;
	size_t i, j;
	__u32 id = 0;
	int err = 0;

	for (i = 0; i < n; i++)
		out[i] = NULL;
	if (!elf) {
		free(image);
		return -ENOMEM;
	}
	loaded = !sym_elf__load(elf, image, len, "image", &id, &existed);
	for (i = 0; i < n && !err; i++) {
		if (!loaded || sym_elf__lookup(elf, id, file_offsets[i], false, &frame))
			memset(&frame, 0, sizeof(frame));
		err = format_result(frame.has_vaddr ? frame.vaddr : file_offsets[i], "image",
				    frame.name, frame.sym_off, frame.src, frame.line, &out[i]);
	}
	if (err)
		for (j = 0; j < n; j++) {
			free(out[j]);
			out[j] = NULL;
		}
	sym_elf__free(elf);
	return err;
}

/* ---- unwind rules (unwind.h) ---- */

static int fetch_cfi_row(struct symbolizer *s, struct sym_mapping *m, __u64 offset,
			 __u64 deadline_ns, struct cfi_row *row)
{
	int err;

	if (s->elf)
		return sym_elf__cfi_row(s->elf, m->file->id, offset, row);
	err = sym_worker__cfi(s->worker, m->file->id, offset, deadline_ns, row);
	if (worker_lost_on(err) || err == -EPROTO) {
		/* as for a symbol: the file that cost the helper is not asked again */
		sync_worker(s);
		add_alias(s, m->dev, m->ino, NULL);
		m->file = NULL;
		m->loaded = true;
	}
	return err;
}

int symbolizer__cfi_row(struct symbolizer *s, struct sym_walk *w, __u64 pc, struct cfi_row *row)
{
	__u64 deadline_ns = lookup_deadline(s);
	struct sym_mapping *m;
	struct sym_proc *p;
	__u64 offset;
	bool none;
	int err = 0;

	/* once per walk: a /proc read and a waitpid per frame would cost more than the walk */
	if (!w->proc) {
		if (w->failed)
			return w->failed;
		p = get_proc(s, w->pid, &err);
		if (!p)
			return w->failed = err ? err : -ESRCH;
		ensure_worker(s, deadline_ns);
		w->proc = p;
	}
	m = mapping_loaded(s, w->proc, pc, &w->reread, &deadline_ns);
	/* JIT code, gone, or a file that cannot be read: the caller follows frame pointers */
	if (!m || !m->file)
		return -ENOENT;
	offset = pc - m->start + m->offset;
	if (cfi_cache__get(&s->cfi, s->worker_gen, m->file->id, offset, row, &none))
		return none ? -ENOENT : 0;
	err = fetch_cfi_row(s, m, offset, deadline_ns, row);
	if (!err || err == -ENOENT)
		cfi_cache__put(&s->cfi, s->worker_gen, m->file->id, offset, err ? NULL : row);
	return err;
}
