// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attribute/alloc_libs.h"
#include "attribute/attr.h"
#include "identity/cgroup.h"
#include "collect/features.h"
#include "util/log.h"
#include "util/mountinfo.h"
#include "attribute/probe_place.h"
#include "util/procfs.h"
#include "attribute/symbolize.h"
#include "util/u64map.h"
#include "attribute/uprobe_compat.h"
#include "memobs_attr.skel.h"

#define MAX_LIBS_PER_PID 16
#define MAX_HOOKS 40
#define TICK_MS 1000
#define EXEC_RESCANS 2 /* the loader maps libraries after the exec event: look twice */

/* The functions hooked. C++ operators only where the allocator implements them. */
static const struct hooked_fn {
	const char *name;
	enum memobs_alloc_fn fn;
	bool cxx;
} hooked_fns[] = {
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
};

/* A link either from libbpf (perf-event uprobes) or raw (uprobe_multi session). */
struct attr_link {
	struct bpf_link *link;
	int fd;
};

struct link_vec {
	struct attr_link *v;
	size_t len, cap;
};

/* Where to probe in one underlying file: computed once, shared by every process. */
struct file_probes {
	__u64 dev, ino;
	size_t nr;
	__u64 offsets[MAX_HOOKS];
	__u64 cookies[MAX_HOOKS];
};

struct traced_pid {
	int pid;
	__u64 start_time;	     /* a reused pid is another process */
	struct alloc_lib_set *files; /* attached for this process */
	struct link_vec links;
	bool explicit; /* watched by pid (attr__watch_pid), not via a cgroup */
	bool seen;     /* in a watched cgroup at this tick */
};

struct site {
	char **frames;
	size_t nr;
};

struct attr {
	struct attr_opts opts;
	struct memobs_attr *skel;
	struct ring_buffer *rb;
	struct symbolizer *sym;
	struct cgroup_resolver *cgroups;
	char cgroup2[PATH_MAX]; /* the cgroup2 mount */
	struct alloc_sites *samples;
	bool session;
	int nr_cpus;

	/* host-wide (malloc_all) */
	struct alloc_lib_set *global_files;
	struct link_vec global_links;
	struct u64map known_pids; /* pid -> start time: scanned already */

	/* targeted */
	struct u64map watched_cgroups; /* id -> 1 */
	struct u64map traced;	       /* pid -> struct traced_pid * */

	struct u64map pending_exec; /* pid -> scans still due */
	struct u64map sample_pids;  /* pid -> start time (0: not read yet): have samples */

	struct file_probes *files;
	size_t nr_files, cap_files;
	struct alloc_lib_set *failed_files; /* said once */

	struct u64map stack_site;   /* stack id -> site index */
	struct u64map stack_owner;  /* stack id -> pid whose addresses it holds */
	struct u64map site_by_hash; /* hash of the frames -> site index */
	struct site *sites;
	size_t nr_sites, cap_sites;

	__u64 attach_failures, probes_at_entry;
	__u64 last_tick_ms;
};

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* ---- links ---- */

static int link_vec_push(struct link_vec *lv, struct bpf_link *link, int fd)
{
	struct attr_link *bigger;

	if (lv->len == lv->cap) {
		size_t cap = lv->cap ? lv->cap * 2 : 16;

		bigger = realloc(lv->v, cap * sizeof(*bigger));
		if (!bigger)
			return -ENOMEM;
		lv->v = bigger;
		lv->cap = cap;
	}
	lv->v[lv->len].link = link;
	lv->v[lv->len].fd = fd;
	lv->len++;
	return 0;
}

static void link_vec_destroy(struct link_vec *lv)
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

static void compute_probes(struct attr *a, const struct alloc_lib *lib, struct file_probes *fp)
{
	__u64 func_offsets[MAX_HOOKS];
	size_t i, j;

	for (i = 0; i < sizeof(hooked_fns) / sizeof(hooked_fns[0]) && fp->nr < MAX_HOOKS; i++) {
		const struct hooked_fn *h = &hooked_fns[i];
		struct probe_site site;
		int err;

		if (h->cxx && !lib_has_cxx_operators(lib->kind))
			continue;
		err = probe_place__find(lib->host_path, h->name, &site);
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
	}
}

static const struct file_probes *probes_of(struct attr *a, const struct alloc_lib *lib)
{
	struct file_probes *fp;
	size_t i;

	for (i = 0; i < a->nr_files; i++)
		if (a->files[i].dev == lib->key_dev && a->files[i].ino == lib->key_ino)
			return &a->files[i];
	if (a->nr_files == a->cap_files) {
		size_t cap = a->cap_files ? a->cap_files * 2 : 8;
		struct file_probes *bigger = realloc(a->files, cap * sizeof(*bigger));

		if (!bigger)
			return NULL;
		a->files = bigger;
		a->cap_files = cap;
	}
	fp = &a->files[a->nr_files++];
	memset(fp, 0, sizeof(*fp));
	fp->dev = lib->key_dev;
	fp->ino = lib->key_ino;
	compute_probes(a, lib, fp);
	return fp;
}

/* Hooks every function of one file, for one process (pid > 0) or all (pid 0). */
static int attach_file(struct attr *a, const struct alloc_lib *lib, int pid, struct link_vec *out)
{
	const struct file_probes *fp = probes_of(a, lib);
	size_t i;
	int fd, err;

	if (!fp)
		return -ENOMEM;
	if (!fp->nr) {
		p_debug("nothing to hook in '%s'", lib->map_path);
		return 0;
	}
	if (a->session) {
		fd = uprobe_multi_link_create(bpf_program__fd(a->skel->progs.memobs_alloc_session),
					      MEMOBS_BPF_TRACE_UPROBE_SESSION, lib->host_path,
					      fp->offsets, fp->cookies, fp->nr, pid);
		if (fd < 0) {
			attach_failed(a, lib, "the malloc-family session probes", fd);
			return fd;
		}
		return link_vec_push(out, NULL, fd);
	}
	for (i = 0; i < fp->nr; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = fp->cookies[i]);
		struct bpf_link *link;

		link = bpf_program__attach_uprobe_opts(a->skel->progs.memobs_alloc_entry,
						       pid ? pid : -1, lib->host_path,
						       fp->offsets[i], &opts);
		if (!link) {
			attach_failed(a, lib, "a malloc-family uprobe", -errno);
			continue;
		}
		if ((err = link_vec_push(out, link, -1))) {
			bpf_link__destroy(link);
			return err;
		}
		if (fp->cookies[i] == MEMOBS_FN_FREE)
			continue;
		opts.retprobe = true;
		link = bpf_program__attach_uprobe_opts(a->skel->progs.memobs_alloc_ret,
						       pid ? pid : -1, lib->host_path,
						       fp->offsets[i], &opts);
		if (!link) {
			attach_failed(a, lib, "a malloc-family uretprobe", -errno);
			continue;
		}
		if ((err = link_vec_push(out, link, -1))) {
			bpf_link__destroy(link);
			return err;
		}
	}
	return 0;
}

/*
 * Scans a process's allocator libraries and attaches what is new: to the
 * process alone (tp set) or host-wide, once per underlying file.
 */
static int scan_and_attach(struct attr *a, int pid, struct traced_pid *tp)
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
	free(libs);
	return nr < 0 ? nr : 0;
}

/* ---- traced processes (pid-filtered) ---- */

static struct traced_pid *traced_get(struct attr *a, int pid)
{
	uint64_t v;

	return u64map_get(&a->traced, pid, &v) ? (struct traced_pid *)(uintptr_t)v : NULL;
}

static int trace_pid(struct attr *a, int pid, bool explicit, struct traced_pid **out)
{
	struct traced_pid *tp = traced_get(a, pid);
	__u32 key = pid;
	__u8 one = 1;
	int err;

	if (tp) {
		tp->explicit |= explicit;
		tp->seen = true;
		if (out)
			*out = tp;
		return 0;
	}
	tp = calloc(1, sizeof(*tp));
	if (!tp || !(tp->files = alloc_lib_set__new())) {
		free(tp);
		return -ENOMEM;
	}
	tp->pid = pid;
	tp->explicit = explicit;
	tp->seen = true;
	tp->start_time = proc_pid_start_time(pid);
	if (!tp->start_time) {
		alloc_lib_set__free(tp->files);
		free(tp);
		return -ESRCH;
	}
	if ((err = u64map_put(&a->traced, pid, (uintptr_t)tp))) {
		alloc_lib_set__free(tp->files);
		free(tp);
		return err;
	}
	/* the scope first: a probe installed before it would find the pid unknown */
	bpf_map_update_elem(bpf_map__fd(a->skel->maps.memobs_attr_pids), &key, &one, BPF_ANY);
	scan_and_attach(a, pid, tp);
	if (out)
		*out = tp;
	return 0;
}

static void forget_samples_of(struct attr *a, int pid);

static void untrace_pid(struct attr *a, struct traced_pid *tp, bool forget_samples)
{
	__u32 key = tp->pid;

	link_vec_destroy(&tp->links);
	bpf_map_delete_elem(bpf_map__fd(a->skel->maps.memobs_attr_pids), &key);
	u64map_del(&a->traced, tp->pid);
	if (forget_samples)
		forget_samples_of(a, tp->pid);
	alloc_lib_set__free(tp->files);
	free(tp);
}

/* ---- stacks and call sites ---- */

static __u64 hash_frames(char **frames, size_t nr)
{
	__u64 h = 0xcbf29ce484222325ULL;
	size_t i;
	const char *c;

	for (i = 0; i < nr; i++) {
		for (c = frames[i]; *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL; /* frame separator */
	}
	return h | 1;
}

static int add_site(struct attr *a, char **frames, size_t nr, __u64 *index)
{
	__u64 h = hash_frames(frames, nr);
	uint64_t found;
	size_t i;

	if (u64map_get(&a->site_by_hash, h, &found)) {
		for (i = 0; i < nr; i++)
			free(frames[i]);
		free(frames);
		*index = found;
		return 0;
	}
	if (a->nr_sites == a->cap_sites) {
		size_t cap = a->cap_sites ? a->cap_sites * 2 : 64;
		struct site *bigger = realloc(a->sites, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		a->sites = bigger;
		a->cap_sites = cap;
	}
	a->sites[a->nr_sites].frames = frames;
	a->sites[a->nr_sites].nr = nr;
	*index = a->nr_sites++;
	return u64map_put(&a->site_by_hash, h, *index);
}

/*
 * The site of a stack: its frames resolved now, while the process lives
 * (processes that exit keep what was resolved). ip_first: frame 0 is an
 * exact instruction (a fault), else every frame is a return address.
 */
static int site_of_stack(struct attr *a, __u64 stack_id, int pid, bool ip_first, __u64 *index)
{
	struct memobs_stack st;
	char **frames;
	size_t nr = 0, i;
	uint64_t found;
	int err;

	if (u64map_get(&a->stack_site, stack_id, &found)) {
		*index = found;
		return 0;
	}
	frames = calloc(MEMOBS_ATTR_STACK_DEPTH, sizeof(*frames));
	if (!frames)
		return -ENOMEM;
	if (!stack_id ||
	    bpf_map_lookup_elem(bpf_map__fd(a->skel->maps.memobs_attr_stacks), &stack_id, &st)) {
		frames[nr++] = strdup("[stack not kept]");
	} else {
		for (i = 0; i < st.nr && i < MEMOBS_ATTR_STACK_DEPTH; i++) {
			if (!st.ips[i])
				continue; /* the kernel added the caller itself: see attr_stack.bpf.h */
			if (symbolizer__resolve_one(a->sym, pid, st.ips[i], !(ip_first && i == 0),
						    &frames[nr])) {
				char hex[32];

				snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)st.ips[i]);
				frames[nr] = strdup(hex);
			}
			nr++;
		}
	}
	for (i = 0; i < nr; i++)
		if (!frames[i])
			frames[i] = strdup("?");
	if ((err = add_site(a, frames, nr, index)))
		return err;
	if (stack_id && (err = u64map_put(&a->stack_owner, stack_id, pid)))
		return err;
	return u64map_put(&a->stack_site, stack_id, *index);
}

/* ---- the ring buffer ---- */

static int handle_record(void *ctx, void *data, size_t size)
{
	struct attr *a = ctx;
	__u32 type;

	if (size < sizeof(type))
		return 0;
	memcpy(&type, data, sizeof(type));
	if (type == MEMOBS_REC_ALLOC && size >= sizeof(struct memobs_alloc_rec)) {
		const struct memobs_alloc_rec *rec = data;
		struct alloc_sample sample = {
			.pid = rec->pid,
			.cgroup_id = rec->cgroup_id,
			.addr = rec->addr,
			.size = rec->size,
			.ts_ns = rec->ts_ns,
		};
		uint64_t start;

		if (site_of_stack(a, rec->stack_id, rec->pid, false, &sample.site_id))
			return 0;
		alloc_sites__add(a->samples, &sample);
		if (!u64map_get(&a->sample_pids, rec->pid, &start))
			u64map_put(&a->sample_pids, rec->pid, 0);
	} else if (type == MEMOBS_REC_FREE && size >= sizeof(struct memobs_free_rec)) {
		const struct memobs_free_rec *rec = data;

		alloc_sites__remove(a->samples, rec->pid, rec->addr);
	} else if (type == MEMOBS_REC_ATTR_EXEC && size >= sizeof(struct memobs_attr_exec_rec)) {
		const struct memobs_attr_exec_rec *rec = data;

		u64map_put(&a->pending_exec, rec->pid, EXEC_RESCANS);
	}
	return 0; /* never stop the drain */
}

/* ---- exits ---- */

static void delete_live_entry(void *ctx, const struct alloc_sample *sample)
{
	struct attr *a = ctx;
	struct memobs_live_key key = { .pid = sample->pid, .addr = sample->addr };

	bpf_map_delete_elem(bpf_map__fd(a->skel->maps.memobs_attr_live), &key);
}

/*
 * Deletes the BPF entries of processes that are gone. Sampled blocks and
 * stacks are known here by pid, so only theirs are touched (a walk of a
 * 64K-entry map by syscalls would stall the drain for ~100 ms); mm sites,
 * a per-CPU map userspace does not mirror, are walked.
 */
static void sweep_bpf_maps(struct attr *a, const struct u64map *dead)
{
	struct memobs_mm_key mm_key, next_mm;
	uint64_t stack_id, pid, *gone;
	size_t it, i, nr_gone = 0;
	void *prev;
	int fd;

	fd = bpf_map__fd(a->skel->maps.memobs_attr_stacks);
	gone = calloc(a->stack_owner.len ? a->stack_owner.len : 1, sizeof(*gone));
	for (it = 0; gone && u64map_next(&a->stack_owner, &it, &stack_id, &pid);)
		if (u64map_get(dead, pid, NULL))
			gone[nr_gone++] = stack_id;
	for (i = 0; i < nr_gone; i++) {
		bpf_map_delete_elem(fd, &gone[i]);
		u64map_del(&a->stack_owner, gone[i]);
	}
	free(gone);
	if (!a->opts.trace_mm)
		return;
	fd = bpf_map__fd(a->skel->maps.memobs_attr_mm_sites);
	for (prev = NULL; !bpf_map_get_next_key(fd, prev, &next_mm); prev = &mm_key) {
		if (prev && u64map_get(dead, mm_key.pid, NULL))
			bpf_map_delete_elem(fd, &mm_key);
		mm_key = next_mm;
	}
	if (prev && u64map_get(dead, mm_key.pid, NULL))
		bpf_map_delete_elem(fd, &mm_key);
}

static void forget_samples_of(struct attr *a, int pid)
{
	alloc_sites__remove_pid(a->samples, pid, delete_live_entry, a);
	u64map_del(&a->sample_pids, pid);
}

/* Processes that exited: their memory went back to the kernel, so did their samples. */
static void reap_exited(struct attr *a)
{
	struct u64map dead;
	uint64_t pid, v;
	size_t it;

	u64map_init(&dead);
	for (it = 0; u64map_next(&a->traced, &it, &pid, &v);) {
		struct traced_pid *tp = (struct traced_pid *)(uintptr_t)v;

		if (proc_pid_start_time(pid) != tp->start_time)
			u64map_put(&dead, pid, 1);
	}
	for (it = 0; u64map_next(&a->sample_pids, &it, &pid, &v);) {
		__u64 start = proc_pid_start_time(pid);

		if (!start || (v && v != start))
			u64map_put(&dead, pid, 1);
		else if (!v)
			a->sample_pids.values[it - 1] = start; /* first seen alive: remember it */
	}
	if (!dead.len) {
		u64map_free(&dead);
		return;
	}
	for (it = 0; u64map_next(&dead, &it, &pid, &v);) {
		struct traced_pid *tp = traced_get(a, pid);

		if (tp)
			untrace_pid(a, tp, !a->opts.keep_exited);
		if (!a->opts.keep_exited)
			forget_samples_of(a, pid);
		else
			u64map_del(&a->sample_pids, pid);
		u64map_del(&a->pending_exec, pid);
		symbolizer__forget_pid(a->sym, pid);
	}
	sweep_bpf_maps(a, &dead);
	u64map_free(&dead);
}

/* ---- watched cgroups ---- */

static void watch_cgroup_ids(struct attr *a, __u64 id, bool on)
{
	__u8 one = 1;
	int fd = bpf_map__fd(a->skel->maps.memobs_watched_cgroups);

	if (on)
		bpf_map_update_elem(fd, &id, &one, BPF_ANY);
	else
		bpf_map_delete_elem(fd, &id);
}

/* Every process of the cgroup at dir and its descendants: traced (on) or ids dropped. */
static void walk_cgroup(struct attr *a, const char *dir, bool on, int depth)
{
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	FILE *procs;
	DIR *d;
	int pid;

	if (depth > 32 || stat(dir, &st))
		return;
	if (a->opts.trace_mm && !a->opts.trace_mm_all)
		watch_cgroup_ids(a, st.st_ino, on);
	if (on && a->opts.malloc && !a->opts.malloc_all) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		procs = fopen(path, "re");
		while (procs && fscanf(procs, "%d", &pid) == 1)
			trace_pid(a, pid, false, NULL);
		if (procs)
			fclose(procs);
	}
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
			walk_cgroup(a, path, on, depth + 1);
	}
	closedir(d);
}

static int cgroup_dir(struct attr *a, __u64 id, char *out, size_t size)
{
	const char *rel = cgroup_resolver__path(a->cgroups, id);

	if (!rel) {
		cgroup_resolver__rescan(a->cgroups);
		rel = cgroup_resolver__path(a->cgroups, id);
	}
	if (!rel)
		return -ENOENT;
	snprintf(out, size, "%s%s", a->cgroup2, strcmp(rel, "/") ? rel : "");
	return 0;
}

static void rescan_cgroups(struct attr *a)
{
	char dir[PATH_MAX];
	uint64_t id, v;
	size_t it;

	for (it = 0; u64map_next(&a->traced, &it, &id, &v);)
		((struct traced_pid *)(uintptr_t)v)->seen = false;
	for (it = 0; u64map_next(&a->watched_cgroups, &it, &id, &v);)
		if (!cgroup_dir(a, id, dir, sizeof(dir)))
			walk_cgroup(a, dir, true, 0);
	/* processes that left the watched cgroups (and were not watched by pid) */
	for (;;) {
		struct traced_pid *gone = NULL;

		for (it = 0; !gone && u64map_next(&a->traced, &it, &id, &v);) {
			struct traced_pid *tp = (struct traced_pid *)(uintptr_t)v;

			if (!tp->seen && !tp->explicit)
				gone = tp;
		}
		if (!gone)
			break;
		untrace_pid(a, gone, true);
	}
}

/* Host-wide: processes not scanned yet (forks that exec'd before we saw them, dlopen). */
static void rescan_host(struct attr *a)
{
	struct u64map seen;
	struct dirent *e;
	uint64_t pid, start;
	size_t it;
	DIR *d = opendir("/proc");

	if (!d)
		return;
	u64map_init(&seen);
	while ((e = readdir(d))) {
		char *end;
		long p = strtol(e->d_name, &end, 10);

		if (*end || p <= 0)
			continue;
		u64map_put(&seen, p, 1);
		if (u64map_get(&a->known_pids, p, &start))
			continue;
		u64map_put(&a->known_pids, p, 1);
		scan_and_attach(a, p, NULL);
	}
	closedir(d);
	/* forget the pids that are gone: seen becomes the known set */
	for (it = 0; u64map_next(&seen, &it, &pid, &start);)
		seen.values[it - 1] = 1;
	u64map_free(&a->known_pids);
	a->known_pids = seen;
}

static void rescan_execs(struct attr *a)
{
	uint64_t pid, left;
	size_t it;

	for (it = 0; u64map_next(&a->pending_exec, &it, &pid, &left);) {
		struct traced_pid *tp = traced_get(a, pid);

		if (tp || a->opts.malloc_all)
			scan_and_attach(a, pid, tp);
		if (left > 1) {
			a->pending_exec.values[it - 1] = left - 1;
		} else {
			u64map_del(&a->pending_exec, pid);
			it = 0;
		}
	}
}

/* Resolves the stacks of new mm sites while their processes live. */
static void resolve_mm_stacks(struct attr *a)
{
	struct memobs_mm_key key, next;
	void *prev = NULL;
	__u64 index;
	int fd = bpf_map__fd(a->skel->maps.memobs_attr_mm_sites);

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		site_of_stack(a, key.stack_id, key.pid, key.kind == MEMOBS_MM_FAULT, &index);
	}
}

static void tick(struct attr *a)
{
	reap_exited(a);
	if (a->opts.malloc && a->opts.malloc_all)
		rescan_host(a);
	if (a->watched_cgroups.len)
		rescan_cgroups(a);
	rescan_execs(a);
	if (a->opts.trace_mm)
		resolve_mm_stacks(a);
	a->last_tick_ms = now_ms();
}

/* ---- open / close ---- */

/* Classic tracepoints need tracefs: mount it where the kernel expects it. */
static int ensure_tracefs(const struct mounts *m)
{
	if (m->tracefs[0] || !access("/sys/kernel/tracing/events", F_OK))
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) && errno != EBUSY)
		return -errno;
	p_info("mounted tracefs at /sys/kernel/tracing (syscall tracepoints need it)");
	return 0;
}

static int choose_programs(struct attr *a, const struct features *f, const struct mounts *m)
{
	struct memobs_attr *skel = a->skel;
	struct bpf_program *prog;
	int err;

	a->session = a->opts.malloc && f->uprobe_session && !a->opts.no_session;
	bpf_program__set_autoload(skel->progs.memobs_alloc_session, a->session);
	bpf_program__set_autoload(skel->progs.memobs_alloc_entry, a->opts.malloc && !a->session);
	bpf_program__set_autoload(skel->progs.memobs_alloc_ret, a->opts.malloc && !a->session);
	bpf_program__set_autoload(skel->progs.memobs_attr_exec, a->opts.malloc);
	if (a->session)
		bpf_program__set_expected_attach_type(
			skel->progs.memobs_alloc_session,
			(enum bpf_attach_type)MEMOBS_BPF_TRACE_UPROBE_SESSION);
	else if (a->opts.malloc)
		p_info("uprobe sessions %s: return probes on every hooked call (slower)",
		       a->opts.no_session ? "turned off" : "absent (Linux < 6.13)");
	if (a->opts.malloc && !f->uprobes) {
		p_err("the kernel has no uprobes (CONFIG_UPROBE_EVENTS): cannot trace allocations");
		return -EOPNOTSUPP;
	}

	bpf_object__for_each_program(prog, skel->obj) {
		const char *sec = bpf_program__section_name(prog);

		if (!strncmp(sec, "tracepoint/", 11) || !strncmp(sec, "tp_btf/page_fault", 17))
			bpf_program__set_autoload(prog, a->opts.trace_mm);
	}
	if (a->opts.trace_mm && (err = ensure_tracefs(m))) {
		p_warn("mmap/munmap/mremap/brk not traced: tracefs is not mounted and mounting it "
		       "failed: %s",
		       strerror(-err));
		bpf_object__for_each_program(prog, skel->obj)
			if (!strncmp(bpf_program__section_name(prog), "tracepoint/", 11))
				bpf_program__set_autoload(prog, false);
	}
	return 0;
}

static int attach_static_programs(struct attr *a)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, a->skel->obj) {
		const char *sec = bpf_program__section_name(prog);
		struct bpf_link *link;

		if (!bpf_program__autoload(prog) || !strncmp(sec, "uprobe", 6) ||
		    !strncmp(sec, "uretprobe", 9))
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			a->attach_failures++;
			p_warn("failed to attach '%s': %s", sec, strerror(errno));
			continue;
		}
		if (link_vec_push(&a->global_links, link, -1)) {
			bpf_link__destroy(link);
			return -ENOMEM;
		}
	}
	return 0;
}

int attr__open(struct attr **out, const struct attr_opts *opts)
{
	struct attr *a = calloc(1, sizeof(*a));
	struct features f;
	struct mounts *m = calloc(1, sizeof(*m));
	__u32 ringbuf_bytes;
	int err;

	if (!a || !m) {
		err = -ENOMEM;
		goto fail;
	}
	a->opts = *opts;
	if (!a->opts.sample_bytes)
		a->opts.sample_bytes = ATTR_DEFAULT_SAMPLE_BYTES;
	/* sampling every few bytes makes a record per call: ~1 M/s per traced thread */
	ringbuf_bytes = a->opts.ringbuf_bytes	      ? a->opts.ringbuf_bytes
			: a->opts.sample_bytes < 4096 ? 16 << 20
						      : 4 << 20;
	a->nr_cpus = libbpf_num_possible_cpus();
	u64map_init(&a->known_pids);
	u64map_init(&a->watched_cgroups);
	u64map_init(&a->traced);
	u64map_init(&a->pending_exec);
	u64map_init(&a->sample_pids);
	u64map_init(&a->stack_site);
	u64map_init(&a->stack_owner);
	u64map_init(&a->site_by_hash);
	a->samples = alloc_sites__new(a->opts.sample_bytes);
	a->global_files = alloc_lib_set__new();
	a->failed_files = alloc_lib_set__new();
	if (!a->samples || !a->global_files || !a->failed_files || a->nr_cpus <= 0) {
		err = -ENOMEM;
		goto fail;
	}
	a->sym = symbolizer__new();
	if (!a->sym) {
		err = -errno;
		p_err("failed to start the symbolizer: %s", strerror(-err));
		goto fail;
	}
	if ((err = mounts__discover(m, "/proc/self/mountinfo"))) {
		p_err("failed to read '/proc/self/mountinfo': %s", strerror(-err));
		goto fail;
	}
	features__probe(&f, m);
	if (m->cgroup2[0]) {
		snprintf(a->cgroup2, sizeof(a->cgroup2), "%s", m->cgroup2);
		a->cgroups = cgroup_resolver__new(m->cgroup2);
	}

	a->skel = memobs_attr__open();
	if (!a->skel) {
		err = -errno;
		p_err("failed to open the attribution BPF object: %s", strerror(-err));
		goto fail;
	}
	if ((err = choose_programs(a, &f, m)))
		goto fail;
	a->skel->rodata->memobs_sample_bytes = a->opts.sample_bytes;
	a->skel->rodata->memobs_alloc_all_pids = a->opts.malloc_all;
	a->skel->rodata->memobs_self_tgid = getpid();
	a->skel->rodata->memobs_watch_all = a->opts.trace_mm_all;
	a->skel->rodata->memobs_wakeup_bytes = ringbuf_bytes / 4;
	bpf_map__set_max_entries(a->skel->maps.memobs_attr_events, ringbuf_bytes);
	if (a->opts.max_live)
		bpf_map__set_max_entries(a->skel->maps.memobs_attr_live, a->opts.max_live);
	err = memobs_attr__load(a->skel);
	if (err) {
		p_err("failed to load the attribution BPF programs: %s (-v for the verifier log)",
		      strerror(-err));
		goto fail;
	}
	if ((err = attach_static_programs(a)))
		goto fail;
	a->rb = ring_buffer__new(bpf_map__fd(a->skel->maps.memobs_attr_events), handle_record, a,
				 NULL);
	if (!a->rb) {
		err = -errno;
		p_err("failed to open the attribution ring buffer: %s", strerror(-err));
		goto fail;
	}
	if (a->opts.malloc && a->opts.malloc_all)
		rescan_host(a);
	a->last_tick_ms = now_ms();
	free(m);
	*out = a;
	return 0;
fail:
	free(m);
	attr__close(a);
	return err;
}

void attr__close(struct attr *a)
{
	uint64_t k, v;
	size_t it, i, j;

	if (!a)
		return;
	/* links first: no probe may fire into a half-freed object */
	for (it = 0; u64map_next(&a->traced, &it, &k, &v);) {
		struct traced_pid *tp = (struct traced_pid *)(uintptr_t)v;

		link_vec_destroy(&tp->links);
		alloc_lib_set__free(tp->files);
		free(tp);
	}
	link_vec_destroy(&a->global_links);
	ring_buffer__free(a->rb);
	memobs_attr__destroy(a->skel);
	for (i = 0; i < a->nr_sites; i++) {
		for (j = 0; j < a->sites[i].nr; j++)
			free(a->sites[i].frames[j]);
		free(a->sites[i].frames);
	}
	free(a->sites);
	free(a->files);
	u64map_free(&a->known_pids);
	u64map_free(&a->watched_cgroups);
	u64map_free(&a->traced);
	u64map_free(&a->pending_exec);
	u64map_free(&a->sample_pids);
	u64map_free(&a->stack_site);
	u64map_free(&a->stack_owner);
	u64map_free(&a->site_by_hash);
	alloc_sites__free(a->samples);
	alloc_lib_set__free(a->global_files);
	alloc_lib_set__free(a->failed_files);
	symbolizer__free(a->sym);
	cgroup_resolver__free(a->cgroups);
	free(a);
}

/* ---- scope ---- */

int attr__watch_cgroup(struct attr *a, __u64 cgroup_id)
{
	char dir[PATH_MAX];
	int err;

	if (!a->cgroups)
		return -ENOENT;
	if ((err = cgroup_dir(a, cgroup_id, dir, sizeof(dir))))
		return err;
	if ((err = u64map_put(&a->watched_cgroups, cgroup_id, 1)))
		return err;
	walk_cgroup(a, dir, true, 0);
	return 0;
}

int attr__unwatch_cgroup(struct attr *a, __u64 cgroup_id)
{
	char dir[PATH_MAX];

	if (!u64map_del(&a->watched_cgroups, cgroup_id))
		return -ENOENT;
	if (!cgroup_dir(a, cgroup_id, dir, sizeof(dir)))
		walk_cgroup(a, dir, false, 0);
	else if (a->opts.trace_mm && !a->opts.trace_mm_all)
		watch_cgroup_ids(a, cgroup_id, false);
	/* the next rescan untraces the processes no other watched cgroup holds */
	rescan_cgroups(a);
	return 0;
}

/* The mm hooks are scoped by cgroup: watching a process watches its cgroup there. */
static void watch_cgroup_of_pid(struct attr *a, int pid)
{
	char path[64], rel[PATH_MAX], dir[PATH_MAX * 2], *text = NULL;
	__u64 id;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (!a->cgroup2[0] || read_small_file(path, &text))
		return;
	if (!pid_cgroup__parse_v2(text, rel, sizeof(rel))) {
		snprintf(dir, sizeof(dir), "%s%s", a->cgroup2, strcmp(rel, "/") ? rel : "");
		if (!cgroup_id_of_dir(dir, &id))
			watch_cgroup_ids(a, id, true);
	}
	free(text);
}

int attr__watch_pid(struct attr *a, int pid)
{
	if (pid <= 0)
		return -EINVAL;
	if (a->opts.trace_mm && !a->opts.trace_mm_all)
		watch_cgroup_of_pid(a, pid);
	if (!a->opts.malloc || a->opts.malloc_all)
		return 0;
	return trace_pid(a, pid, true, NULL);
}

int attr__unwatch_pid(struct attr *a, int pid)
{
	struct traced_pid *tp = traced_get(a, pid);

	if (!tp)
		return -ENOENT;
	untrace_pid(a, tp, true);
	return 0;
}

int attr__poll(struct attr *a, int timeout_ms)
{
	int drained = 0, n;

	if (now_ms() - a->last_tick_ms >= TICK_MS) {
		/* records below the wake-up mark wake nobody: the tick drains them,
		 * before it reaps the processes that exited */
		drained = ring_buffer__consume(a->rb);
		if (drained < 0)
			return drained;
		tick(a);
	}
	n = ring_buffer__poll(a->rb, timeout_ms);
	return n < 0 ? n : drained + n;
}

int attr__fd(const struct attr *a)
{
	return ring_buffer__epoll_fd(a->rb);
}

/* ---- results ---- */

int attr__top_sites(struct attr *a, const struct alloc_filter *f, size_t n, struct attr_site **out,
		    size_t *nr)
{
	struct alloc_site *top;
	struct attr_site *sites;
	size_t i;
	int err;

	ring_buffer__consume(a->rb);
	if ((err = alloc_sites__top(a->samples, f, n, &top, nr)))
		return err;
	sites = calloc(*nr ? *nr : 1, sizeof(*sites));
	if (!sites) {
		free(top);
		return -ENOMEM;
	}
	for (i = 0; i < *nr; i++) {
		sites[i].est = top[i];
		if (top[i].site_id < a->nr_sites) {
			sites[i].frames = (const char *const *)a->sites[top[i].site_id].frames;
			sites[i].nr_frames = a->sites[top[i].site_id].nr;
		}
	}
	free(top);
	*out = sites;
	return 0;
}

__u64 attr__cgroup_outstanding_bytes(struct attr *a, __u64 cgroup_id)
{
	struct alloc_filter f = { .cgroup_id = cgroup_id };

	ring_buffer__consume(a->rb);
	return (__u64)(alloc_sites__outstanding_bytes(a->samples, &f) + 0.5);
}

static int mm_by_bytes_desc(const void *x, const void *y)
{
	const struct attr_mm_site *p = x, *q = y;

	if (p->bytes != q->bytes)
		return p->bytes < q->bytes ? 1 : -1;
	return p->count < q->count ? 1 : p->count > q->count ? -1 : 0;
}

int attr__top_mm_sites(struct attr *a, const struct alloc_filter *f, size_t n,
		       struct attr_mm_site **out, size_t *nr)
{
	struct memobs_mm_val *values = NULL;
	struct attr_mm_site *sites = NULL;
	struct memobs_mm_key key, next;
	struct u64map index; /* (site, kind, cgroup) hash -> position */
	size_t nr_sites = 0, cap = 0;
	void *prev = NULL;
	int fd, cpu, err = 0;

	*out = NULL;
	*nr = 0;
	if (!a->opts.trace_mm)
		return 0;
	fd = bpf_map__fd(a->skel->maps.memobs_attr_mm_sites);
	values = calloc(a->nr_cpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	u64map_init(&index);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct attr_mm_site *site;
		__u64 site_index, h;
		uint64_t pos;

		key = next;
		prev = &key;
		if (f && ((f->pid && f->pid != key.pid) ||
			  (f->cgroup_id && f->cgroup_id != key.cgroup_id)))
			continue;
		if (bpf_map_lookup_elem(fd, &key, values))
			continue;
		if (site_of_stack(a, key.stack_id, key.pid, key.kind == MEMOBS_MM_FAULT,
				  &site_index))
			continue;
		h = ((site_index + 1) * 0x9e3779b97f4a7c15ULL) ^ ((__u64)key.kind << 56) ^
		    key.cgroup_id;
		h |= 1;
		if (u64map_get(&index, h, &pos)) {
			site = &sites[pos];
		} else {
			if (nr_sites == cap) {
				struct attr_mm_site *bigger;

				cap = cap ? cap * 2 : 32;
				bigger = realloc(sites, cap * sizeof(*bigger));
				if (!bigger) {
					err = -ENOMEM;
					goto out;
				}
				sites = bigger;
			}
			u64map_put(&index, h, nr_sites);
			site = &sites[nr_sites++];
			memset(site, 0, sizeof(*site));
			site->cgroup_id = key.cgroup_id;
			site->pid = key.pid;
			site->kind = key.kind;
			site->frames = (const char *const *)a->sites[site_index].frames;
			site->nr_frames = a->sites[site_index].nr;
		}
		for (cpu = 0; cpu < a->nr_cpus; cpu++) {
			site->count += values[cpu].count;
			site->bytes += values[cpu].bytes;
		}
	}
	if (nr_sites)
		qsort(sites, nr_sites, sizeof(*sites), mm_by_bytes_desc);
	if (n && nr_sites > n)
		nr_sites = n;
out:
	u64map_free(&index);
	free(values);
	if (err) {
		free(sites);
		return err;
	}
	*out = sites;
	*nr = nr_sites;
	return 0;
}

__u64 attr__attach_failures(const struct attr *a)
{
	return a->attach_failures;
}

__u64 attr__sample_bytes(const struct attr *a)
{
	return a->opts.sample_bytes;
}

struct bpf_object *attr__bpf_object(const struct attr *a)
{
	return a->skel->obj;
}

void attr__stats(struct attr *a, struct attr_stats *out)
{
	__u64 *values = calloc(a->nr_cpus, sizeof(*values));
	uint64_t k, v;
	size_t it;
	__u32 key;
	int cpu, fd = bpf_map__fd(a->skel->maps.memobs_attr_stats);

	memset(out, 0, sizeof(*out));
	for (key = 0; values && key < MEMOBS_ATTR_STAT_NR; key++) {
		if (bpf_map_lookup_elem(fd, &key, values))
			continue;
		for (cpu = 0; cpu < a->nr_cpus; cpu++)
			out->bpf[key] += values[cpu];
	}
	free(values);
	out->attach_failures = a->attach_failures;
	out->files_attached = alloc_lib_set__len(a->global_files);
	out->links = a->global_links.len;
	for (it = 0; u64map_next(&a->traced, &it, &k, &v);)
		out->links += ((struct traced_pid *)(uintptr_t)v)->links.len;
	out->pids_traced = a->traced.len;
	out->probes_at_entry = a->probes_at_entry;
	out->session = a->session;
}

const char *attr_mm_kind__str(enum memobs_mm_kind kind)
{
	static const char *const names[MEMOBS_MM_NR] = {
		[MEMOBS_MM_MMAP_ANON] = "mmap_anon", [MEMOBS_MM_MMAP_FILE] = "mmap_file",
		[MEMOBS_MM_MUNMAP] = "munmap",	     [MEMOBS_MM_MREMAP_GROW] = "mremap_grow",
		[MEMOBS_MM_BRK_GROW] = "brk_grow",   [MEMOBS_MM_FAULT] = "page_fault",
	};

	return (unsigned)kind < MEMOBS_MM_NR ? names[kind] : "unknown";
}
