// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CPython processes: their interpreter image, version and layout; their memory (py_proc.h). */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include "attribute/alloc_libs.h"
#include "attribute/elf_read.h"
#include "attribute/py_proc.h"
#include "util/array.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/observed_file.h"
#include "util/procfs.h"
#include "util/u64map.h"

#define MAX_IMAGES 4	/* interpreter images looked at: libpythons, then the executable */
#define MAX_SEGMENTS 16 /* mappings of one image */

/* One file the process maps, as maps shows it. */
struct image {
	char path[4096];
	__u32 dev_major, dev_minor;
	__u64 inode;
	bool deleted;
	unsigned int nseg;
	struct {
		__u64 start, end, offset;
	} seg[MAX_SEGMENTS];
};

int py_proc__version_from_name(const char *base, unsigned int *major, unsigned int *minor)
{
	unsigned int ma, mi;
	int n = 0;

	if (!strncmp(base, "lib", 3))
		base += 3;
	if (strncmp(base, "python", 6))
		return -ENOENT;
	if (sscanf(base + 6, "%u.%u%n", &ma, &mi, &n) != 2 || n <= 0)
		return -ENOENT;
	/* what may follow: an ABI flag ("d", "m", "t"), ".so", a version, or nothing */
	base += 6 + n;
	while (*base >= 'a' && *base <= 'z' && *base != 's')
		base++;
	if (*base && strncmp(base, ".so", 3))
		return -ENOENT;
	*major = ma;
	*minor = mi;
	return 0;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool is_libpython(const char *base)
{
	return !fnmatch("libpython3.*.so", base, 0) || !fnmatch("libpython3.*.so.*", base, 0);
}

/* Adds a mapping to its image (a new one while there is room); the images' order is maps'. */
static void note_mapping(struct image *imgs, unsigned int *n, const struct maps_entry *e)
{
	struct image *img = NULL;
	unsigned int i;

	for (i = 0; i < *n; i++)
		if (imgs[i].inode == e->inode && imgs[i].dev_major == e->dev_major &&
		    imgs[i].dev_minor == e->dev_minor && !strcmp(imgs[i].path, e->path))
			img = &imgs[i];
	if (!img) {
		if (*n >= MAX_IMAGES)
			return;
		img = &imgs[(*n)++];
		memset(img, 0, sizeof(*img));
		snprintf(img->path, sizeof(img->path), "%s", e->path);
		img->dev_major = e->dev_major;
		img->dev_minor = e->dev_minor;
		img->inode = e->inode;
		img->deleted = e->deleted;
	}
	if (img->nseg < MAX_SEGMENTS) {
		img->seg[img->nseg].start = e->start;
		img->seg[img->nseg].end = e->end;
		img->seg[img->nseg].offset = e->offset;
		img->nseg++;
	}
}

struct images_walk {
	struct image *imgs, *exe;
	unsigned int *n, n_exe;
	const char *exe_path;
};

static bool note_image(const struct maps_entry *e, void *ctx)
{
	struct images_walk *w = ctx;

	if (e->path[0] != '/')
		return true;
	if (is_libpython(basename_of(e->path)))
		note_mapping(w->imgs, w->n, e);
	else if (w->exe_path[0] && !strcmp(e->path, w->exe_path))
		note_mapping(w->exe, &w->n_exe, e);
	return true;
}

/* The libpythons the process maps, then its executable (image *n_lib on). */
static int read_images(int pid, struct image *imgs, unsigned int *n, unsigned int *n_lib)
{
	struct images_walk w = { .imgs = imgs, .n = n };
	char *exe_path = malloc(4096);
	int err;

	w.exe = calloc(1, sizeof(*w.exe));
	if (!exe_path || !w.exe) {
		err = -ENOMEM;
		goto out;
	}
	if (proc_pid_exe_path(pid, exe_path, 4096))
		exe_path[0] = '\0';
	w.exe_path = exe_path;
	*n = 0;
	err = maps_each(pid, PY_PROC_MAPS_MAX_BYTES, note_image, &w);
	*n_lib = *n;
	if (!err && w.n_exe && *n < MAX_IMAGES)
		imgs[(*n)++] = *w.exe;
out:
	free(exe_path);
	free(w.exe);
	return err;
}

/* libpython3.X.so*, python, python3, python3.X[...]: a name CPython's images have */
static bool named_python(const char *base)
{
	return is_libpython(base) || !strncmp(base, "python", 6);
}

struct py_syms {
	__u64 runtime, version; /* st_value; 0: not defined */
};

static bool note_py_symbol(const char *name, const Elf64_Sym *sym, void *ctx)
{
	struct py_syms *s = ctx;

	if (ELF64_ST_TYPE(sym->st_info) != STT_OBJECT)
		return false;
	if (!strcmp(name, "_PyRuntime"))
		s->runtime = sym->st_value;
	else if (!strcmp(name, "Py_Version") && sym->st_size == 8)
		s->version = sym->st_value;
	return s->runtime && s->version;
}

/*
 * The load bias: the mapping of a PT_LOAD segment's first page, less that
 * page's address. ET_EXEC images are where their addresses say (0).
 */
static int load_bias(const struct elf_read *elf, const struct image *img, __u64 *bias)
{
	Elf64_Phdr *ph;
	unsigned int n, i, s;
	int err;

	if (elf->eh.e_type == ET_EXEC) {
		*bias = 0;
		return 0;
	}
	if (elf->eh.e_type != ET_DYN)
		return -ENOEXEC;
	err = elf_read__phdrs(elf, &ph, &n);
	if (err)
		return err;
	err = -ENOENT;
	for (i = 0; i < n && err; i++) {
		__u64 off_pg = ph[i].p_offset & ~0xfffULL, vaddr_pg = ph[i].p_vaddr & ~0xfffULL;

		if (ph[i].p_type != PT_LOAD)
			continue;
		for (s = 0; s < img->nseg; s++) {
			if (img->seg[s].offset == off_pg && img->seg[s].start >= vaddr_pg) {
				*bias = img->seg[s].start - vaddr_pg;
				err = 0;
				break;
			}
		}
	}
	free(ph);
	return err;
}

/* Reads exactly len bytes of pid's memory through a fresh /proc/PID/mem descriptor. */
static int read_mem_once(int pid, __u64 addr, void *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = pread(fd, buf, len, (off_t)addr);
	if (n < 0)
		err = errno == EIO ? -EFAULT : -errno;
	else if ((size_t)n != len)
		err = n ? -EFAULT : -ESRCH;
	close(fd);
	return err;
}

/* Whether [addr, addr + len) lies in the image's own mappings (not FUSE: detection checked). */
static bool image_covers(const struct image *img, __u64 addr, size_t len)
{
	unsigned int i;

	for (i = 0; i < img->nseg; i++)
		if (addr >= img->seg[i].start && addr < img->seg[i].end &&
		    len <= img->seg[i].end - addr)
			return true;
	return false;
}

/*
 * Reads exactly len bytes of pid's memory at addr, which must lie in the
 * image's mappings: the symbol values are the process's to choose, and a
 * read of another file's mapping (FUSE) could wait for ever.
 */
static int read_image_mem(int pid, const struct image *img, __u64 addr, void *buf, size_t len)
{
	if (!image_covers(img, addr, len))
		return -EFAULT;
	return read_mem_once(pid, addr, buf, len);
}

/* Where an image's symbols are, when it defines _PyRuntime: 0, -ENOENT (it does not), -errno. */
static int image_symbols(int pid, const struct image *img, struct py_syms *syms, __u64 *bias)
{
	struct observed_file_opts opts = {
		.pid = pid,
		.path = img->deleted ? NULL : img->path,
		.start = img->seg[0].start,
		.end = img->seg[0].end,
		.check_identity = true,
		.dev = makedev(img->dev_major, img->dev_minor),
		.ino = img->inode,
	};
	struct observed_file f = { .fd = -1 };
	struct elf_read elf = { .fd = -1 };
	int err, idx;

	memset(syms, 0, sizeof(*syms));
	err = observed_file__open(&opts, &f);
	if (err)
		return err;
	err = elf_read__open(f.fd, &elf);
	if (err)
		goto out;
	idx = elf_read__find_section(&elf, SHT_DYNSYM);
	if (idx >= 0)
		elf_read__symbols(&elf, (unsigned int)idx, note_py_symbol, syms);
	/*
	 * CPython exports _PyRuntime (extension modules use it): .dynsym says.
	 * The full .symtab, megabytes in a large program, is read only for an
	 * image named as CPython's: host-wide, every process's executable is
	 * looked at once.
	 */
	if ((!syms->runtime || !syms->version) && named_python(basename_of(img->path))) {
		idx = elf_read__find_section(&elf, SHT_SYMTAB);
		if (idx >= 0)
			elf_read__symbols(&elf, (unsigned int)idx, note_py_symbol, syms);
	}
	err = syms->runtime ? load_bias(&elf, img, bias) : -ENOENT;
out:
	elf_read__close(&elf);
	observed_file__close(&f);
	return err;
}

/* The layout of the image whose symbols are known. */
static int image_layout(int pid, const struct image *img, const struct py_syms *syms, __u64 bias,
			struct py_layout *out, char *why, size_t why_len)
{
	const char *base = basename_of(img->path);
	unsigned int major = 0, minor = 0;
	__u8 *dbg;
	__u64 hex = 0, dbg_hex = 0;
	int err;

	if (syms->version) {
		err = read_image_mem(pid, img, bias + syms->version, &hex, sizeof(hex));
		if (err) {
			snprintf(why, why_len, "Py_Version of %s not read: %s", base,
				 strerror(-err));
			return err;
		}
		major = (hex >> 24) & 0xff;
		minor = (hex >> 16) & 0xff;
	} else if (py_proc__version_from_name(base, &major, &minor) || (major == 3 && minor > 10)) {
		/* 3.11 and later define Py_Version: a name alone is no version of theirs */
		snprintf(why, why_len, "CPython version unknown (%s)", base);
		return -EPROTONOSUPPORT;
	}
	if (major != 3 || minor < 9 || minor > 13) {
		snprintf(why, why_len, "CPython %u.%u layout unknown", major, minor);
		return -EPROTONOSUPPORT;
	}
	if (minor < 13) {
		err = py_layout__for_version(major, minor, out);
	} else {
		dbg = malloc(PY_DEBUG_OFFSETS_READ);
		if (!dbg)
			return -ENOMEM;
		err = read_image_mem(pid, img, bias + syms->runtime, dbg, PY_DEBUG_OFFSETS_READ);
		if (err) {
			free(dbg);
			snprintf(why, why_len, "_PyRuntime of %s not read: %s", base,
				 strerror(-err));
			return err;
		}
		err = py_layout__from_debug_offsets(dbg, PY_DEBUG_OFFSETS_READ, out, &dbg_hex);
		free(dbg);
		if (!err && (dbg_hex >> 16) != (hex >> 16))
			err = -EPROTONOSUPPORT; /* the two disagree: neither is trusted */
	}
	if (err) {
		snprintf(why, why_len, "CPython %u.%u layout unknown", major, minor);
		return -EPROTONOSUPPORT;
	}
	out->bpf.runtime_addr = bias + syms->runtime;
	return 0;
}

int py_proc__detect(int pid, struct py_layout *out, char *why, size_t why_len)
{
	struct image *imgs;
	unsigned int n = 0, n_lib = 0, i;
	struct py_syms syms;
	__u64 bias = 0;
	int err;

	if (why_len)
		why[0] = '\0';
	if (pid <= 0)
		return -ESRCH;
	imgs = calloc(MAX_IMAGES, sizeof(*imgs));
	if (!imgs)
		return -ENOMEM;
	err = read_images(pid, imgs, &n, &n_lib);
	if (err) {
		snprintf(why, why_len, "maps not read: %s", strerror(-err));
		goto out;
	}
	err = -ENOENT;
	for (i = 0; i < n; i++) {
		const char *base = basename_of(imgs[i].path);

		err = image_symbols(pid, &imgs[i], &syms, &bias);
		if (err == -ENOENT && i < n_lib) {
			/* a libpython without _PyRuntime is CPython we cannot read */
			snprintf(why, why_len, "no _PyRuntime symbol in %s", base);
			err = -EPROTONOSUPPORT;
			continue;
		}
		if (err == -ENOENT)
			continue;
		if (err) {
			snprintf(why, why_len, "%s not read: %s", base, strerror(-err));
			continue;
		}
		err = image_layout(pid, &imgs[i], &syms, bias, out, why, why_len);
		out->image_dev = makedev(imgs[i].dev_major, imgs[i].dev_minor);
		out->image_ino = imgs[i].inode;
		break;
	}
	if (err == -ENOENT && why_len)
		snprintf(why, why_len, "not CPython");
out:
	free(imgs);
	return err;
}

/* ---- /proc/PID/mem ---- */

/* A range of a process's memory a read may touch: anonymous, or of the interpreter image. */
struct py_mem_range {
	__u64 start, end;
};

/*
 * What is known of one process whose memory is read, kept until it is
 * forgotten (it exited): its image and the ranges maps allowed. Apart from
 * the descriptors, which are fewer than the processes and recycled.
 */
struct py_mem_proc {
	__u64 start_time;
	__u64 image_dev, image_ino;  /* 0, 0: not set, no file mapping is read */
	struct py_mem_range *ranges; /* from maps: anonymous and the image's mappings */
	size_t nr_ranges;
	__u64 ranges_ns; /* when maps was last read for them; 0: never */
};

struct py_mem_fd {
	__u32 pid; /* 0: free */
	__u64 start_time;
	__u64 used;
	int fd;
};

struct py_mem {
	struct py_mem_fd fds[PY_MEM_MAX_FDS];
	struct u64map procs; /* pid -> struct py_mem_proc * */
	__u64 clock;
};

struct py_mem *py_mem__new(void)
{
	struct py_mem *m = calloc(1, sizeof(struct py_mem));

	if (m)
		u64map_init(&m->procs);
	return m;
}

static struct py_mem_proc *proc_of(struct py_mem *m, __u32 pid)
{
	uint64_t v;

	return u64map_get(&m->procs, pid, &v) ? (struct py_mem_proc *)(uintptr_t)v : NULL;
}

static void proc_free(struct py_mem_proc *p)
{
	if (p)
		free(p->ranges);
	free(p);
}

void py_mem__forget(struct py_mem *m, __u32 pid)
{
	size_t i;

	if (!m || !pid)
		return;
	for (i = 0; i < PY_MEM_MAX_FDS; i++)
		if (m->fds[i].pid == pid) {
			close(m->fds[i].fd);
			memset(&m->fds[i], 0, sizeof(m->fds[i]));
		}
	proc_free(proc_of(m, pid));
	u64map_del(&m->procs, pid);
}

void py_mem__free(struct py_mem *m)
{
	uint64_t pid, v;
	size_t i;

	if (!m)
		return;
	for (i = 0; i < PY_MEM_MAX_FDS; i++)
		if (m->fds[i].pid)
			close(m->fds[i].fd);
	for (i = 0; u64map_next(&m->procs, &i, &pid, &v);)
		proc_free((struct py_mem_proc *)(uintptr_t)v);
	u64map_free(&m->procs);
	free(m);
}

/* pid's state; made (with no image) on first use, anew when the pid is another process's. */
static struct py_mem_proc *proc_get(struct py_mem *m, __u32 pid, __u64 start_time)
{
	struct py_mem_proc *p = proc_of(m, pid);

	if (p && (!start_time || p->start_time == start_time))
		return p;
	if (p) {
		py_mem__forget(m, pid); /* the pid is another process's now */
		p = NULL;
	}
	if (m->procs.len >= PY_MEM_MAX_PROCS || !(p = calloc(1, sizeof(*p))))
		return NULL;
	p->start_time = start_time;
	if (u64map_put(&m->procs, pid, (uintptr_t)p)) {
		free(p);
		return NULL;
	}
	return p;
}

/* pid's descriptor: kept, or opened in place of the least recently used. */
static int mem_fd(struct py_mem *m, __u32 pid, __u64 start_time)
{
	struct py_mem_fd *slot = NULL, *lru = NULL;
	char path[64];
	size_t i;
	int fd;

	m->clock++;
	for (i = 0; i < PY_MEM_MAX_FDS; i++) {
		struct py_mem_fd *e = &m->fds[i];

		if (e->pid == pid) {
			slot = e;
			break;
		}
		if (!lru || (lru->pid && (!e->pid || e->used < lru->used)))
			lru = e;
	}
	if (slot && (!start_time || slot->start_time == start_time)) {
		slot->used = m->clock;
		return slot->fd;
	}
	if (slot) {
		close(slot->fd);
		memset(slot, 0, sizeof(*slot));
		lru = slot;
	}
	snprintf(path, sizeof(path), "/proc/%u/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	/* opened after the start time is known: the same process, or a read would lie */
	if (start_time && proc_pid_start_time((int)pid) != start_time) {
		close(fd);
		return -ESRCH;
	}
	if (lru->pid)
		close(lru->fd);
	*lru = (struct py_mem_fd){
		.pid = pid, .start_time = start_time, .used = m->clock, .fd = fd
	};
	return fd;
}

/* A mapping a read may touch: anonymous memory, or the interpreter image's. */
static bool readable_mapping(const struct py_mem_proc *p, const struct maps_entry *me)
{
	if (me->perms[0] != 'r')
		return false;
	if (!me->path[0] || !strcmp(me->path, "[heap]") || !strncmp(me->path, "[anon:", 6) ||
	    !strcmp(me->path, "[stack]"))
		return true;
	return p->image_ino && me->inode == p->image_ino &&
	       makedev(me->dev_major, me->dev_minor) == p->image_dev;
}

struct ranges_walk {
	const struct py_mem_proc *p;
	struct py_mem_range *r;
	size_t nr, cap;
	int err;
};

static bool note_range(const struct maps_entry *me, void *ctx)
{
	struct ranges_walk *w = ctx;

	if (!readable_mapping(w->p, me))
		return true;
	if (w->nr && w->r[w->nr - 1].end == me->start) {
		w->r[w->nr - 1].end = me->end; /* adjacent: one range */
		return true;
	}
	if (w->nr >= PY_MEM_MAX_RANGES || ARRAY_GROW(w->r, w->cap, w->nr + 1)) {
		w->err = w->nr >= PY_MEM_MAX_RANGES ? 0 : -ENOMEM;
		return false;
	}
	w->r[w->nr++] = (struct py_mem_range){ me->start, me->end };
	return true;
}

/* The process's readable ranges, from maps anew. */
static int load_ranges(__u32 pid, struct py_mem_proc *p)
{
	struct ranges_walk w = { .p = p };
	int err = maps_each((int)pid, PY_PROC_MAPS_MAX_BYTES, note_range, &w);

	if (!err)
		err = w.err;
	if (err) {
		free(w.r);
		return err;
	}
	free(p->ranges);
	p->ranges = w.r;
	p->nr_ranges = w.nr;
	p->ranges_ns = clock_mono_ns();
	return 0;
}

static bool in_ranges(const struct py_mem_proc *p, __u64 addr, size_t len)
{
	size_t lo = 0, hi = p->nr_ranges;

	/* maps is sorted by address, and so are the ranges */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->ranges[mid].end <= addr)
			lo = mid + 1;
		else if (p->ranges[mid].start > addr)
			hi = mid;
		else
			return len <= p->ranges[mid].end - addr;
	}
	return false;
}

/*
 * Whether [addr, addr + len) lies in anonymous memory or the interpreter
 * image: a read of any other file's mapping would fault its pages in from
 * that file, which a hostile process can put on FUSE and never answer.
 * Ranges go stale as the process maps memory: a miss reads maps again, at
 * most every PY_MEM_RANGES_MS.
 */
static bool may_read(__u32 pid, struct py_mem_proc *p, __u64 addr, size_t len)
{
	if (p->ranges && in_ranges(p, addr, len))
		return true;
	if (p->ranges_ns && clock_mono_ns() - p->ranges_ns < PY_MEM_RANGES_MS * 1000000ULL)
		return false;
	return !load_ranges(pid, p) && in_ranges(p, addr, len);
}

void py_mem__set_image(struct py_mem *m, __u32 pid, __u64 start_time, __u64 dev, __u64 ino)
{
	struct py_mem_proc *p = proc_get(m, pid, start_time);

	if (!p)
		return;
	p->image_dev = dev;
	p->image_ino = ino;
	p->ranges_ns = 0; /* the image's mappings count from now */
}

int py_mem__read(struct py_mem *m, __u32 pid, __u64 start_time, __u64 addr, void *buf, size_t len)
{
	struct py_mem_proc *p;
	ssize_t n;
	int fd;

	if (!pid || addr > (__u64)INT64_MAX || len > (size_t)INT64_MAX - addr)
		return -EFAULT;
	if (!(p = proc_get(m, pid, start_time)))
		return -ENOMEM;
	fd = mem_fd(m, pid, start_time);
	if (fd < 0)
		return fd;
	if (!may_read(pid, p, addr, len))
		return -EFAULT;
	n = pread(fd, buf, len, (off_t)addr);
	if (n < 0)
		return errno == EIO ? -EFAULT : -errno;
	if ((size_t)n != len) {
		if (!n) /* the process's memory is gone: exited */
			py_mem__forget(m, pid);
		return n ? -EFAULT : -ESRCH;
	}
	return 0;
}

static int reader_read(void *ctx, __u32 pid, __u64 start_time, __u64 addr, void *buf, size_t len)
{
	return py_mem__read(ctx, pid, start_time, addr, buf, len);
}

static void reader_forget(void *ctx, __u32 pid)
{
	py_mem__forget(ctx, pid);
}

struct py_reader py_mem__reader(struct py_mem *m)
{
	return (struct py_reader){ .read = reader_read, .forget = reader_forget, .ctx = m };
}
