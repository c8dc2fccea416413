// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ~690 lines: allocator discovery in one process (maps, file identity through overlayfs, static executables that define malloc), one concern. */
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include "attribute/alloc_libs.h"
#include "attribute/probe_place.h"
#include "util/array.h"
#include "util/log.h"
#include "util/mountinfo.h"
#include "util/observed_file.h"

#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif
/* overlay on overlay on overlay: deeper than any container runtime nests */
#define OVERLAY_DEPTH_MAX 4
/*
 * Layer paths in the overlay's options are written in the mounter's mount
 * namespace: the host's for containerd, docker and cri-o. memobs runs there,
 * or in a container of its own with the host's pid namespace, where
 * /proc/1/root reaches the host's files. Each view is tried; the attribute
 * check keeps a same-named file of the wrong view from being accepted.
 */
static const struct host_view {
	const char *root;     /* prefix for a layer path */
	const char *proc_dir; /* whose mountinfo describes that view */
} host_views[] = {
	{ "", "/proc/self" },
	{ "/proc/1/root", "/proc/1" },
};

static const char *const kind_names[] = {
	[ALLOC_LIB_GLIBC] = "glibc",	   [ALLOC_LIB_MUSL] = "musl",
	[ALLOC_LIB_JEMALLOC] = "jemalloc", [ALLOC_LIB_TCMALLOC] = "tcmalloc",
	[ALLOC_LIB_MIMALLOC] = "mimalloc", [ALLOC_LIB_EXE] = "exe",
};

const char *alloc_lib_kind__str(enum alloc_lib_kind kind)
{
	if ((unsigned int)kind < ARRAY_SIZE(kind_names))
		return kind_names[kind];
	return "unknown";
}

/* maps escapes only the newline, as \012 (seq_file_path(m, file, "\n")). */
static void unescape_newlines(char *s)
{
	char *out = s;

	while (*s) {
		if (!strncmp(s, "\\012", 4)) {
			*out++ = '\n';
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

int maps_line__parse(const char *line, struct maps_entry *out)
{
	static const char deleted[] = " (deleted)";
	unsigned long long start, end, offset, inode;
	unsigned int major, minor;
	size_t len;
	int pos = 0;

	memset(out, 0, sizeof(*out));
	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu%n", &start, &end, out->perms, &offset,
		   &major, &minor, &inode, &pos) != 7 ||
	    end < start)
		return -EINVAL;
	out->start = start;
	out->end = end;
	out->offset = offset;
	out->dev_major = major;
	out->dev_minor = minor;
	out->inode = inode;
	line += pos;
	while (*line == ' ' || *line == '\t')
		line++;
	len = strcspn(line, "\n");
	if (len >= sizeof(out->path))
		return -ENAMETOOLONG;
	memcpy(out->path, line, len);
	out->path[len] = '\0';
	if (len > sizeof(deleted) - 1 && out->path[0] == '/' &&
	    !strcmp(out->path + len - (sizeof(deleted) - 1), deleted)) {
		out->path[len - (sizeof(deleted) - 1)] = '\0';
		out->deleted = true;
	}
	unescape_newlines(out->path);
	return 0;
}

int maps_each(int pid, size_t max_bytes, bool (*each)(const struct maps_entry *e, void *ctx),
	      void *ctx)
{
	struct maps_entry *e = malloc(sizeof(*e));
	char path[64], *line = NULL;
	size_t cap = 0, total = 0;
	ssize_t len;
	FILE *f;

	if (!e)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f) {
		free(e);
		return errno == ENOENT ? -ESRCH : -errno;
	}
	while (total < max_bytes && (len = getline(&line, &cap, f)) > 0) {
		total += (size_t)len;
		if (!maps_line__parse(line, e) && !each(e, ctx))
			break;
	}
	fclose(f);
	free(line);
	free(e);
	return total ? 0 : -ESRCH;
}

/* Returns 0, or -ENAMETOOLONG (dst then holds ""). */
static int copy_path(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size) {
		dst[0] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

bool alloc_lib__classify(const char *path, enum alloc_lib_kind *kind)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (!strcmp(base, "libc.so.6") || (has_prefix(base, "libc-2.") && strstr(base, ".so")))
		*kind = ALLOC_LIB_GLIBC;
	else if (has_prefix(base, "ld-musl-") || has_prefix(base, "libc.musl-") ||
		 !strcmp(base, "libc.so")) /* glibc's libc.so is a linker script, never mapped */
		*kind = ALLOC_LIB_MUSL;
	else if (has_prefix(base, "libjemalloc") && strstr(base, ".so"))
		*kind = ALLOC_LIB_JEMALLOC;
	else if (has_prefix(base, "libtcmalloc") && strstr(base, ".so"))
		*kind = ALLOC_LIB_TCMALLOC;
	else if (has_prefix(base, "libmimalloc") && strstr(base, ".so"))
		*kind = ALLOC_LIB_MIMALLOC;
	else
		return false;
	return true;
}

#define LAYERS_MAX 128

struct overlay_layers {
	char *opts;		       /* a copy of the super options that layer[] points into */
	const char *layer[LAYERS_MAX]; /* upper first, then the lowers in order */
	int count;
};

static void add_layers(struct overlay_layers *l, char *value)
{
	char *save = NULL, *dir;

	/* layers are ':'-separated; a ':' inside a name is escaped (\072) */
	for (dir = strtok_r(value, ":", &save); dir && l->count < LAYERS_MAX;
	     dir = strtok_r(NULL, ":", &save)) {
		mountinfo__unescape(dir);
		l->layer[l->count++] = dir;
	}
}

/* upperdir=U,lowerdir=A:B (or lowerdir+=A,lowerdir+=B, datadir+=D since 6.8) */
static int overlay_layers__parse(const char *super_opts, struct overlay_layers *l)
{
	char *save = NULL, *opt, *upper = NULL;
	char *lowers[LAYERS_MAX];
	int nr_lowers = 0, i;

	memset(l, 0, sizeof(*l));
	l->opts = strdup(super_opts);
	if (!l->opts)
		return -ENOMEM;
	for (opt = strtok_r(l->opts, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		if (has_prefix(opt, "upperdir="))
			upper = opt + strlen("upperdir=");
		else if (has_prefix(opt, "lowerdir=") && nr_lowers < LAYERS_MAX)
			lowers[nr_lowers++] = opt + strlen("lowerdir=");
		else if (has_prefix(opt, "lowerdir+=") && nr_lowers < LAYERS_MAX)
			lowers[nr_lowers++] = opt + strlen("lowerdir+=");
		else if (has_prefix(opt, "datadir+=") && nr_lowers < LAYERS_MAX)
			lowers[nr_lowers++] = opt + strlen("datadir+=");
	}
	if (upper)
		add_layers(l, upper);
	for (i = 0; i < nr_lowers; i++)
		add_layers(l, lowers[i]);
	return l->count ? 0 : -ENOENT;
}

static void overlay_layers__free(struct overlay_layers *l)
{
	free(l->opts);
	l->opts = NULL;
}

struct overlay_mount {
	char mount_point[PATH_MAX];
	char root[PATH_MAX];
	char *super_opts; /* malloc'd */
};

/* True when dir is path or a parent directory of it. */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return path[0] == '/';
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

/* The overlay mount of device dev under which path lies, in ns_pid's mount namespace. */
static int find_overlay_mount(const char *proc_dir, const char *path, dev_t dev,
			      struct overlay_mount *out)
{
	char mountinfo[64], *line = NULL;
	struct mountinfo_entry e;
	unsigned int major, minor;
	size_t cap = 0, best_len = 0;
	FILE *f;

	snprintf(mountinfo, sizeof(mountinfo), "%s/mountinfo", proc_dir);
	f = fopen(mountinfo, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	out->super_opts = NULL;
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%*d %*d %u:%u", &major, &minor) != 2 ||
		    makedev(major, minor) != dev)
			continue;
		if (mountinfo__parse_line(line, &e) || strcmp(e.fstype, "overlay"))
			continue;
		if (!path_under(path, e.mount_point) || strlen(e.mount_point) < best_len)
			continue;
		best_len = strlen(e.mount_point);
		snprintf(out->mount_point, sizeof(out->mount_point), "%s", e.mount_point);
		snprintf(out->root, sizeof(out->root), "%s", e.root);
		free(out->super_opts);
		out->super_opts = strdup(e.super_opts);
	}
	free(line);
	fclose(f);
	if (!best_len)
		return -ENOENT;
	return out->super_opts ? 0 : -ENOMEM;
}

/* overlayfs passes the real file's size, mode and times through. */
static bool same_content_attrs(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_mode == b->st_mode &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static bool on_overlayfs(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && (unsigned long)sfs.f_type == OVERLAYFS_SUPER_MAGIC;
}

/*
 * path (as proc_dir's mount namespace names it) is a file on overlayfs whose
 * stat through the overlay is ovl_st: find the layer file behind it.
 */
static int resolve_overlay(const char *proc_dir, const char *path, const struct stat *ovl_st,
			   int depth, char *host_path, size_t host_path_size, struct stat *real_st)
{
	char rel[PATH_MAX], layer_path[PATH_MAX], candidate[PATH_MAX + 32];
	struct overlay_layers layers;
	struct overlay_mount mnt;
	const struct host_view *view;
	struct stat st;
	const char *suffix;
	size_t v;
	int err, i;

	if (depth >= OVERLAY_DEPTH_MAX)
		return -ELOOP;
	err = find_overlay_mount(proc_dir, path, ovl_st->st_dev, &mnt);
	if (err)
		return err;
	suffix = path + (strcmp(mnt.mount_point, "/") ? strlen(mnt.mount_point) : 0);
	snprintf(rel, sizeof(rel), "%s%s", strcmp(mnt.root, "/") ? mnt.root : "", suffix);
	err = overlay_layers__parse(mnt.super_opts, &layers);
	free(mnt.super_opts);
	if (err)
		return err;
	err = -ENOENT;
	for (v = 0; v < ARRAY_SIZE(host_views) && err; v++) {
		view = &host_views[v];
		for (i = 0; i < layers.count; i++) {
			snprintf(layer_path, sizeof(layer_path), "%s%s", layers.layer[i], rel);
			snprintf(candidate, sizeof(candidate), "%s%s", view->root, layer_path);
			if (lstat(candidate, &st))
				continue;
			/* the topmost layer holding the name decides, even a whiteout */
			if (!S_ISREG(st.st_mode) || !same_content_attrs(&st, ovl_st)) {
				err = -ESTALE;
				break;
			}
			if (on_overlayfs(candidate)) {
				err = resolve_overlay(view->proc_dir, layer_path, &st, depth + 1,
						      host_path, host_path_size, real_st);
				break;
			}
			err = copy_path(host_path, host_path_size, candidate);
			*real_st = st;
			break;
		}
	}
	overlay_layers__free(&layers);
	return err;
}

/*
 * maps names a file from the reader's root (or, out of reach, from the root
 * of the process's mount namespace); mountinfo and /proc/PID/root from the
 * process's root. They differ for a process that chroot()ed without
 * pivot_root: strip the root directory then.
 */
static const char *path_in_process_root(int pid, const char *path, char *root, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/root", pid);
	n = readlink(link, root, size - 1);
	if (n <= 1)
		return path;
	root[n] = '\0';
	if (!path_under(path, root) || !path[n])
		return path;
	return path + n;
}

/*
 * Opens the file mapped at e in pid, once (util/observed_file.h: map_files,
 * else the path inside the process's root, never blocking, never following
 * a symlink), and fills its identity from that fd. host_path names what was
 * opened (or the verified layer file on overlayfs), for messages and the
 * debug dump only: nothing re-resolves it.
 */
static int identify(int pid, const struct maps_entry *e, struct alloc_lib *lib)
{
	char real_path[PATH_MAX], proc_dir[32], root[PATH_MAX];
	const char *path = path_in_process_root(pid, e->path, root, sizeof(root));
	struct observed_file_opts opts = {
		.pid = pid,
		.path = e->deleted ? NULL : path, /* a deleted file's name is someone else's */
		.start = e->start,
		.end = e->end,
		.check_identity = true,
		.dev = makedev(e->dev_major, e->dev_minor),
		.ino = e->inode,
	};
	struct stat st, real_st;
	struct statfs sfs;
	int err;

	err = observed_file__open(&opts, &lib->file);
	if (err)
		return err;
	if (fstat(lib->file.fd, &st)) {
		err = -errno;
		observed_file__close(&lib->file);
		return err;
	}
	copy_path(lib->map_path, sizeof(lib->map_path), e->path);
	lib->key_dev = st.st_dev;
	lib->key_ino = st.st_ino;
	lib->key_is_real = true;
	if (lib->file.via_map_files)
		snprintf(lib->host_path, sizeof(lib->host_path), "/proc/%d/map_files/%llx-%llx",
			 pid, (unsigned long long)e->start, (unsigned long long)e->end);
	else if (snprintf(real_path, sizeof(real_path), "/proc/%d/root", pid) > 0)
		snprintf(lib->host_path, sizeof(lib->host_path), "%.*s%s", 32, real_path, path);
	if (fstatfs(lib->file.fd, &sfs) || (unsigned long)sfs.f_type != OVERLAYFS_SUPER_MAGIC)
		return 0;
	snprintf(proc_dir, sizeof(proc_dir), "/proc/%d", pid);
	err = resolve_overlay(proc_dir, path, &st, 0, real_path, sizeof(real_path), &real_st);
	if (err) {
		p_debug("pid %d: no overlay layer verified for '%s': %d", pid, e->path, err);
		lib->key_is_real = false;
		return 0;
	}
	copy_path(lib->host_path, sizeof(lib->host_path), real_path);
	lib->key_dev = real_st.st_dev;
	lib->key_ino = real_st.st_ino;
	return 0;
}

struct exe_id {
	char path[PATH_MAX];
	struct stat st;
	bool valid;
};

static void read_exe(int pid, struct exe_id *exe)
{
	char link[64];
	ssize_t n;

	struct statx stx;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	exe->valid = false;
	n = readlink(link, exe->path, sizeof(exe->path) - 1);
	/*
	 * The attributes the kernel has cached, not asked of the filesystem: a
	 * stat of an executable on FUSE would wait for its daemon, which may never
	 * answer (AT_STATX_DONT_SYNC: FUSE answers from its cache).
	 */
	if (n <= 0 || statx(AT_FDCWD, link, AT_STATX_DONT_SYNC, STATX_INO, &stx))
		return; /* a kernel thread, or gone */
	memset(&exe->st, 0, sizeof(exe->st));
	exe->st.st_ino = stx.stx_ino;
	exe->st.st_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	exe->path[n] = '\0';
	if (n > 10 && !strcmp(exe->path + n - 10, " (deleted)"))
		exe->path[n - 10] = '\0';
	exe->valid = true;
}

static bool is_exe(const struct exe_id *exe, const struct maps_entry *e)
{
	if (!exe->valid)
		return false;
	if (!strcmp(exe->path, e->path))
		return true;
	return e->inode == exe->st.st_ino && makedev(e->dev_major, e->dev_minor) == exe->st.st_dev;
}

static bool in_file(__u64 offset, __u64 size, __u64 file_size)
{
	return offset <= file_size && size <= file_size - offset;
}

/*
 * Every process's executable is a candidate: reading each whole (a Go or
 * Java binary is 100 MiB and more) on every scan would cost more than the
 * scan. Only the section headers and the symbol and string tables are read,
 * at their offsets, into anonymous memory that is otherwise never touched
 * (MAP_NORESERVE: untouched pages cost nothing). It is memory, not the
 * file: a truncation cannot fault it. ELF64 of this byte order only; the
 * caller reads the whole file otherwise. Returns 0 or -errno; munmap(*image, *len).
 */
static int read_symbol_tables(const struct observed_file *file, void **image, size_t *len)
{
	Elf64_Ehdr *ehdr;
	Elf64_Shdr *shdr;
	struct stat st;
	__u64 size, total = 0;
	char *mem;
	int err, i;

	if (fstat(file->fd, &st))
		return -errno;
	size = (__u64)st.st_size;
	if (size < sizeof(Elf64_Ehdr) || size > SIZE_MAX)
		return -ENOEXEC;
	mem = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	ehdr = (Elf64_Ehdr *)mem;
	err = observed_file__pread(file->fd, ehdr, sizeof(*ehdr), 0);
	if (err)
		goto err;
	err = -ENOTSUP;
	if (memcmp(ehdr->e_ident, ELFMAG, SELFMAG) || ehdr->e_ident[EI_CLASS] != ELFCLASS64 ||
	    ehdr->e_ident[EI_DATA] !=
		    (__BYTE_ORDER == __LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB) ||
	    ehdr->e_shentsize != sizeof(Elf64_Shdr) || !ehdr->e_shnum ||
	    !in_file(ehdr->e_shoff, (__u64)ehdr->e_shnum * sizeof(Elf64_Shdr), size) ||
	    ehdr->e_shoff % 8)
		goto err;
	shdr = (Elf64_Shdr *)(mem + ehdr->e_shoff);
	err = observed_file__pread(file->fd, shdr, ehdr->e_shnum * sizeof(Elf64_Shdr),
				   ehdr->e_shoff);
	if (err)
		goto err;
	for (i = 0; i < ehdr->e_shnum; i++) {
		if (shdr[i].sh_type != SHT_SYMTAB && shdr[i].sh_type != SHT_DYNSYM &&
		    shdr[i].sh_type != SHT_STRTAB && shdr[i].sh_type != SHT_GNU_versym)
			continue;
		/* out of the file: left as zeros, libelf refuses it */
		if (!in_file(shdr[i].sh_offset, shdr[i].sh_size, size))
			continue;
		total += shdr[i].sh_size;
		err = -EFBIG;
		if (total > OBSERVED_FILE_MAX_BYTES)
			goto err;
		err = observed_file__pread(file->fd, mem + shdr[i].sh_offset, shdr[i].sh_size,
					   shdr[i].sh_offset);
		/* the section headers are ours now: a table cut since reads as what arrived */
		if (err && err != -EIO)
			goto err;
	}
	*image = mem;
	*len = (size_t)size;
	return 0;
err:
	munmap(mem, (size_t)size);
	return err;
}

static bool defines_malloc(const struct observed_file *file)
{
	__u64 offset;
	size_t len;
	void *image;
	bool found;

	if (!read_symbol_tables(file, &image, &len)) {
		found = elf_func_offset_mem(image, len, "malloc", &offset, NULL) == 0;
		munmap(image, len);
		return found;
	}
	if (observed_file__read_all(file, 0, &image, &len))
		return false;
	found = elf_func_offset_mem(image, len, "malloc", &offset, NULL) == 0;
	free(image);
	return found;
}

static bool seen(const struct maps_entry *seen_maps, int nr_seen, const struct maps_entry *e)
{
	int i;

	for (i = 0; i < nr_seen; i++)
		if (seen_maps[i].inode == e->inode && seen_maps[i].dev_major == e->dev_major &&
		    seen_maps[i].dev_minor == e->dev_minor)
			return true;
	return false;
}

#define FILES_PER_PID_MAX 64

int alloc_libs__scan_pid(int pid, struct alloc_lib *out, int max)
{
	struct maps_entry e, *done;
	enum alloc_lib_kind kind;
	char path[64], *line = NULL;
	struct exe_id exe;
	int count = 0, nr_done = 0, err = 0;
	size_t cap = 0;
	bool exe_candidate;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	done = calloc(FILES_PER_PID_MAX, sizeof(*done));
	if (!done) {
		fclose(f);
		return -ENOMEM;
	}
	read_exe(pid, &exe);
	while (count < max && getline(&line, &cap, f) > 0) {
		if (maps_line__parse(line, &e) || e.perms[2] != 'x' || e.path[0] != '/')
			continue;
		exe_candidate = is_exe(&exe, &e);
		if (!alloc_lib__classify(e.path, &kind) && !exe_candidate)
			continue;
		if (seen(done, nr_done, &e))
			continue;
		if (nr_done < FILES_PER_PID_MAX)
			done[nr_done++] = e;
		memset(&out[count], 0, sizeof(out[count]));
		out[count].file.fd = -1;
		err = identify(pid, &e, &out[count]);
		/* gone, or out of a resource: the caller counts it and retries at its next scan */
		if (err == -ESRCH || err == -EMFILE || err == -ENFILE || err == -ENOMEM)
			break;
		if (err) {
			p_debug("pid %d: not reading '%s': %s", pid, e.path, strerror(-err));
			continue;
		}
		if (!alloc_lib__classify(e.path, &kind)) {
			if (!defines_malloc(&out[count].file)) {
				observed_file__close(&out[count].file);
				continue;
			}
			kind = ALLOC_LIB_EXE;
		}
		out[count].kind = kind;
		count++;
	}
	free(line);
	free(done);
	fclose(f);
	if (err == -ESRCH || err == -EMFILE || err == -ENFILE || err == -ENOMEM) {
		alloc_libs__release(out, count);
		return err;
	}
	return count;
}

void alloc_libs__release(struct alloc_lib *libs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		observed_file__close(&libs[i].file);
}

int alloc_libs__debug_dump(int pid, FILE *out)
{
	struct alloc_lib *libs;
	int n, i;

	libs = calloc(FILES_PER_PID_MAX, sizeof(*libs));
	if (!libs)
		return -ENOMEM;
	n = alloc_libs__scan_pid(pid, libs, FILES_PER_PID_MAX);
	for (i = 0; i < n; i++)
		fprintf(out, "pid=%d kind=%s key=%llu:%llu real=%d host=%s map=%s\n", pid,
			alloc_lib_kind__str(libs[i].kind), (unsigned long long)libs[i].key_dev,
			(unsigned long long)libs[i].key_ino, libs[i].key_is_real, libs[i].host_path,
			libs[i].map_path);
	alloc_libs__release(libs, n);
	free(libs);
	return n < 0 ? n : 0;
}

struct file_key {
	__u64 dev, ino;
};

struct alloc_lib_set {
	struct file_key *keys;
	size_t len, cap;
};

struct alloc_lib_set *alloc_lib_set__new(void)
{
	return calloc(1, sizeof(struct alloc_lib_set));
}

void alloc_lib_set__free(struct alloc_lib_set *s)
{
	if (!s)
		return;
	free(s->keys);
	free(s);
}

/* Linear: a host holds tens to a few hundred distinct allocator files. */
bool alloc_lib_set__contains(const struct alloc_lib_set *s, const struct alloc_lib *lib)
{
	size_t i;

	for (i = 0; i < s->len; i++)
		if (s->keys[i].dev == lib->key_dev && s->keys[i].ino == lib->key_ino)
			return true;
	return false;
}

bool alloc_lib_set__add(struct alloc_lib_set *s, const struct alloc_lib *lib)
{
	if (alloc_lib_set__contains(s, lib))
		return false;
	if (ARRAY_GROW(s->keys, s->cap, s->len + 1)) {
		errno = ENOMEM;
		return false;
	}
	s->keys[s->len].dev = lib->key_dev;
	s->keys[s->len].ino = lib->key_ino;
	s->len++;
	return true;
}

size_t alloc_lib_set__len(const struct alloc_lib_set *s)
{
	return s ? s->len : 0;
}
