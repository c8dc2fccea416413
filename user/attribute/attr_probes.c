// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The attribution tier's uprobes: where to probe in each allocator file
 * (computed once per underlying file), and the links that hook a file for
 * one process or for all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "attribute/alloc_libs.h"
#include "attribute/attr_internal.h"
#include "attribute/probe_place.h"
#include "attribute/uprobe_compat.h"
#include "util/array.h"
#include "util/log.h"
#include "util/observed_file.h"

#define MAX_LIBS_PER_PID 16

/* The functions hooked. C++ operators only where the allocator implements them. */
static const struct hooked_fn {
	const char *name;
	enum memobs_alloc_fn fn;
	bool cxx;
} hooked_fns[] = {
	/* the malloc family first: a file's first nr_alloc probes are theirs */
	{ "malloc", MEMOBS_FN_MALLOC, false },
	{ "calloc", MEMOBS_FN_CALLOC, false },
	{ "realloc", MEMOBS_FN_REALLOC, false },
	{ "reallocarray", MEMOBS_FN_REALLOCARRAY, false },
	{ "free", MEMOBS_FN_FREE, false },
	{ "posix_memalign", MEMOBS_FN_POSIX_MEMALIGN, false },
	{ "aligned_alloc", MEMOBS_FN_ALIGNED_ALLOC, false },
	{ "memalign", MEMOBS_FN_ALIGNED_ALLOC, false },
	{ "valloc", MEMOBS_FN_VALLOC, false },
	{ "pvalloc", MEMOBS_FN_VALLOC, false },
	/*
	 * jemalloc, tcmalloc and mimalloc inline their fast path into operator
	 * new/delete instead of calling malloc; libstdc++'s call malloc (not
	 * hooked there: that would count twice). Size or pointer is arg 0.
	 */
	{ "_Znwm", MEMOBS_FN_MALLOC, true },
	{ "_Znam", MEMOBS_FN_MALLOC, true },
	{ "_ZnwmRKSt9nothrow_t", MEMOBS_FN_MALLOC, true },
	{ "_ZnamRKSt9nothrow_t", MEMOBS_FN_MALLOC, true },
	{ "_ZnwmSt11align_val_t", MEMOBS_FN_MALLOC, true },
	{ "_ZnamSt11align_val_t", MEMOBS_FN_MALLOC, true },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", MEMOBS_FN_MALLOC, true },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", MEMOBS_FN_MALLOC, true },
	{ "_ZdlPv", MEMOBS_FN_FREE, true },
	{ "_ZdaPv", MEMOBS_FN_FREE, true },
	{ "_ZdlPvm", MEMOBS_FN_FREE, true },
	{ "_ZdaPvm", MEMOBS_FN_FREE, true },
	{ "_ZdlPvRKSt9nothrow_t", MEMOBS_FN_FREE, true },
	{ "_ZdaPvRKSt9nothrow_t", MEMOBS_FN_FREE, true },
	{ "_ZdlPvSt11align_val_t", MEMOBS_FN_FREE, true },
	{ "_ZdaPvSt11align_val_t", MEMOBS_FN_FREE, true },
	{ "_ZdlPvmSt11align_val_t", MEMOBS_FN_FREE, true },
	{ "_ZdaPvmSt11align_val_t", MEMOBS_FN_FREE, true },
	/*
	 * Then libc's mm wrappers, for escalations only (pid-filtered): memory
	 * mapped outside malloc. Runtimes that make the syscall themselves (Go)
	 * show their growth through the fault samples instead.
	 */
	{ "mmap", MEMOBS_FN_MMAP, false },
	{ "mmap64", MEMOBS_FN_MMAP, false },
	{ "munmap", MEMOBS_FN_MUNMAP, false },
	{ "sbrk", MEMOBS_FN_SBRK, false },
};

static bool is_mm_fn(enum memobs_alloc_fn fn)
{
	return fn == MEMOBS_FN_MMAP || fn == MEMOBS_FN_MUNMAP || fn == MEMOBS_FN_SBRK;
}

/* ---- links ---- */

int link_vec__push(struct link_vec *lv, struct bpf_link *link, int fd)
{
	int err = ARRAY_GROW(lv->v, lv->cap, lv->len + 1);

	if (err)
		return err;
	lv->v[lv->len].link = link;
	lv->v[lv->len].fd = fd;
	lv->len++;
	return 0;
}

void link_vec__destroy(struct link_vec *lv)
{
	size_t i;

	for (i = 0; i < lv->len; i++) {
		if (lv->v[i].link)
			bpf_link__destroy(lv->v[i].link);
		else if (lv->v[i].fd >= 0)
			close(lv->v[i].fd);
	}
	free(lv->v);
	memset(lv, 0, sizeof(*lv));
}

/* Counted every time, said once per file with the reason. */
static void attach_failed(struct attr *a, const struct alloc_lib *lib, const char *what, int err)
{
	a->attach_failures++;
	if (alloc_lib_set__add(a->failed_files, lib))
		p_warn("failed to attach %s to '%s': %s%s", what, lib->map_path, strerror(-err),
		       err == -EINVAL ? " (no uprobe support for this file?)" : "");
}

/* ---- probe sites per file ---- */

static bool lib_has_cxx_operators(enum alloc_lib_kind kind)
{
	return kind == ALLOC_LIB_JEMALLOC || kind == ALLOC_LIB_TCMALLOC ||
	       kind == ALLOC_LIB_MIMALLOC;
}

/* From the bytes of the scan's own fd, copied once: never a path, never a mapping. */
static void compute_probes(struct attr *a, const struct alloc_lib *lib, struct file_probes *fp)
{
	__u64 func_offsets[ATTR_MAX_HOOKS];
	size_t i, j, len;
	void *image;
	int err;

	err = observed_file__read_all(&lib->file, 0, &image, &len);
	if (err) {
		p_debug("not hooking '%s': cannot read it: %s", lib->map_path, strerror(-err));
		return;
	}
	for (i = 0; i < ARRAY_SIZE(hooked_fns) && fp->nr < ATTR_MAX_HOOKS; i++) {
		const struct hooked_fn *h = &hooked_fns[i];
		struct probe_site site;

		if (h->cxx && !lib_has_cxx_operators(lib->kind))
			continue;
		err = probe_place__find_mem(image, len, h->name, &site);
		if (err == -ENOENT)
			continue;
		if (err) {
			p_debug("not hooking '%s' in '%s': %s %s", h->name, lib->map_path,
				strerror(-err), site.reason);
			continue;
		}
		/* a tail jump into another hooked function (jemalloc's delete -> free) counts there */
		if (site.tail_jump)
			continue;
		/* aliases (tcmalloc: free == operator delete) must not be hooked twice */
		for (j = 0; j < fp->nr && func_offsets[j] != site.func_offset; j++)
			;
		if (j < fp->nr)
			continue;
		if (site.at_entry_fallback && !site.entry_is_emulated) {
			a->probes_at_entry++;
			p_info("probing '%s' in '%s' at its entry, single-stepped (slow): %s",
			       h->name, lib->map_path, site.reason);
		}
		func_offsets[fp->nr] = site.func_offset;
		fp->offsets[fp->nr] = site.probe_offset;
		fp->cookies[fp->nr] = h->fn;
		fp->nr++;
		if (!is_mm_fn(h->fn))
			fp->nr_alloc = fp->nr;
	}
	free(image);
}

static const struct file_probes *probes_of(struct attr *a, const struct alloc_lib *lib)
{
	struct file_probes *fp;
	size_t i;

	for (i = 0; i < a->nr_files; i++)
		if (a->files[i].dev == lib->key_dev && a->files[i].ino == lib->key_ino)
			return &a->files[i];
	if (ARRAY_GROW(a->files, a->cap_files, a->nr_files + 1))
		return NULL;
	fp = &a->files[a->nr_files++];
	memset(fp, 0, sizeof(*fp));
	fp->dev = lib->key_dev;
	fp->ino = lib->key_ino;
	compute_probes(a, lib, fp);
	return fp;
}

/* ---- attaching ---- */

/* Hooks every function of one file, for one process (pid > 0) or all (pid 0). */
static int attach_file(struct attr *a, const struct alloc_lib *lib, int pid, struct link_vec *out)
{
	const struct file_probes *fp = probes_of(a, lib);
	char path[32];
	size_t i, nr;
	int fd, err;

	if (!fp)
		return -ENOMEM;
	/* host-wide tracing hooks the malloc family alone: mmap stays free for every process */
	nr = pid && a->opts.mm_escalation ? fp->nr : fp->nr_alloc;
	/* the scan's fd, not a path the process could re-point since */
	err = observed_file__fd_path(&lib->file, path, sizeof(path));
	if (err)
		return err;
	if (!nr) {
		p_debug("nothing to hook in '%s'", lib->map_path);
		return 0;
	}
	if (a->session) {
		fd = uprobe_multi_link_create(bpf_program__fd(a->skel->progs.memobs_alloc_session),
					      MEMOBS_BPF_TRACE_UPROBE_SESSION, path, fp->offsets,
					      fp->cookies, nr, pid);
		if (fd < 0) {
			attach_failed(a, lib, "the malloc-family session probes", fd);
			return fd;
		}
		return link_vec__push(out, NULL, fd);
	}
	for (i = 0; i < nr; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = fp->cookies[i]);
		struct bpf_link *link;

		link = bpf_program__attach_uprobe_opts(a->skel->progs.memobs_alloc_entry,
						       pid ? pid : -1, path, fp->offsets[i], &opts);
		if (!link) {
			attach_failed(a, lib, "a malloc-family uprobe", -errno);
			continue;
		}
		if ((err = link_vec__push(out, link, -1))) {
			bpf_link__destroy(link);
			return err;
		}
		if (fp->cookies[i] == MEMOBS_FN_FREE || fp->cookies[i] == MEMOBS_FN_MUNMAP)
			continue;
		opts.retprobe = true;
		link = bpf_program__attach_uprobe_opts(a->skel->progs.memobs_alloc_ret,
						       pid ? pid : -1, path, fp->offsets[i], &opts);
		if (!link) {
			attach_failed(a, lib, "a malloc-family uretprobe", -errno);
			continue;
		}
		if ((err = link_vec__push(out, link, -1))) {
			bpf_link__destroy(link);
			return err;
		}
	}
	return 0;
}

int attr_scan_and_attach(struct attr *a, int pid, struct traced_pid *tp)
{
	struct alloc_lib *libs = calloc(MAX_LIBS_PER_PID, sizeof(*libs));
	int nr, i;

	if (!libs)
		return -ENOMEM;
	nr = alloc_libs__scan_pid(pid, libs, MAX_LIBS_PER_PID);
	for (i = 0; i < nr; i++) {
		if (tp) {
			if (alloc_lib_set__add(tp->files, &libs[i]))
				attach_file(a, &libs[i], pid, &tp->links);
		} else if (alloc_lib_set__add(a->global_files, &libs[i])) {
			p_debug("hooking '%s' (%s, file %llu:%llu) for every process",
				libs[i].map_path, alloc_lib_kind__str(libs[i].kind),
				(unsigned long long)libs[i].key_dev,
				(unsigned long long)libs[i].key_ino);
			attach_file(a, &libs[i], 0, &a->global_links);
		}
	}
	if (nr > 0)
		alloc_libs__release(libs, nr);
	free(libs);
	return nr < 0 ? nr : 0;
}
