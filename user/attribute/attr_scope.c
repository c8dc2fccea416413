// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The attribution tier's traced scope: the watched cgroups and pids, the
 * processes that join them, exec or exit (host-wide tracing: every process
 * not scanned yet), and what exits leave behind in userspace and BPF maps.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attribute/alloc_libs.h"
#include "attribute/attr_internal.h"
#include "attribute/symbolize.h"
#include "identity/cgroup.h"
#include "util/array.h"
#include "util/log.h"
#include "util/mountinfo.h"
#include "util/procfs.h"

/*
 * Bounds on the processes traced through watched cgroups: each costs a BPF
 * link per hooked function and a scan of its libraries, so a suspect with
 * 10,000 processes would make tens of thousands of links. Processes watched
 * by pid (attr__watch_pid) are not bounded: they were asked for by name.
 */
#define MAX_PIDS_PER_CGROUP 256
#define MAX_PIDS 1024

/* One walk of a watched cgroup: what it traced and what the bounds left out. */
struct walk_budget {
	unsigned int traced;
	unsigned int skipped;
};

/* ---- traced processes (pid-filtered) ---- */

static struct traced_pid *traced_get(struct attr *a, int pid)
{
	uint64_t v;

	return u64map_get(&a->traced, pid, &v) ? (struct traced_pid *)(uintptr_t)v : NULL;
}

static void untrace_pid(struct attr *a, struct traced_pid *tp, bool forget_samples);

/*
 * A scan that failed for want of fds or memory (not a process gone or out of
 * reach): counted each time, said once, since it recurs at every rescan.
 */
static void scan_failed(struct attr *a, const char *path, int err)
{
	a->attach_failures++;
	if (!a->warned_scan)
		p_warn("failed to read '%s': %s (its processes untraced, retried at each rescan; "
		       "counted in attach_failures, said once)",
		       path, strerror(-err));
	a->warned_scan = true;
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
	/* the layout before the probes: a first sample would find no frames to read */
	attr_python_scan(a, pid, false);
	err = attr_scan_and_attach(a, pid, tp);
	attr_attach_faults(a, pid, tp); /* a process without allocator files still faults (Go) */
	if (err == -EMFILE || err == -ENFILE || err == -ENOMEM) {
		char maps[64];

		/* forgotten, so that the next rescan tries it again */
		snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
		scan_failed(a, maps, err);
		untrace_pid(a, tp, false);
		return err;
	}
	if (out)
		*out = tp;
	return 0;
}

static void forget_samples_of(struct attr *a, int pid);

static void untrace_pid(struct attr *a, struct traced_pid *tp, bool forget_samples)
{
	__u32 key = tp->pid;

	a->fault_events -= tp->fault_events;
	link_vec__destroy(&tp->links);
	bpf_map_delete_elem(bpf_map__fd(a->skel->maps.memobs_attr_pids), &key);
	attr_python_forget(a, tp->pid);
	u64map_del(&a->traced, tp->pid);
	if (forget_samples)
		forget_samples_of(a, tp->pid);
	alloc_lib_set__free(tp->files);
	free(tp);
}

void attr_scope_free(struct attr *a)
{
	uint64_t k, v;
	size_t it;

	for (it = 0; u64map_next(&a->traced, &it, &k, &v);) {
		struct traced_pid *tp = (struct traced_pid *)(uintptr_t)v;

		link_vec__destroy(&tp->links);
		alloc_lib_set__free(tp->files);
		free(tp);
	}
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
	attr_mapped_forget_pid(a, pid);
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

/* A process of a watched cgroup: traced unless the bounds are reached (those traced stay). */
static void trace_member(struct attr *a, int pid, struct walk_budget *b)
{
	struct traced_pid *tp = traced_get(a, pid);

	if (tp) {
		tp->seen = true;
		b->traced++;
		return;
	}
	if (b->traced >= MAX_PIDS_PER_CGROUP || a->traced.len >= MAX_PIDS) {
		b->skipped++;
		return;
	}
	if (!trace_pid(a, pid, false, NULL))
		b->traced++;
}

/*
 * Every process of the cgroup at dir and its descendants: traced (on, within
 * budget b) or ids dropped.
 */
static void walk_cgroup(struct attr *a, const char *dir, bool on, int depth, struct walk_budget *b)
{
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	FILE *procs;
	DIR *d;
	int pid;

	if (depth > 32 || stat(dir, &st))
		return;
	/* mm hooks are scoped by cgroup: --trace-mm's tracepoints, and the fault events a
	 * traced process's children inherit before a rescan traces them */
	if ((a->opts.trace_mm && !a->opts.trace_mm_all) || a->opts.mm_escalation)
		watch_cgroup_ids(a, st.st_ino, on);
	if (on && a->opts.malloc && !a->opts.malloc_all) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		procs = fopen(path, "re");
		if (!procs && (errno == EMFILE || errno == ENFILE || errno == ENOMEM))
			scan_failed(a, path, -errno);
		while (procs && fscanf(procs, "%d", &pid) == 1)
			trace_member(a, pid, b);
		if (procs)
			fclose(procs);
	}
	/*
	 * The root cgroup's descendants are every other cgroup of the host: a
	 * suspect root (its own processes grew: the detector's figures of a
	 * cgroup are its own processes') is traced alone, never the whole node
	 */
	if (depth == 0 && !strcmp(dir, a->opts.mounts->cgroup2))
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
			walk_cgroup(a, path, on, depth + 1, b);
	}
	closedir(d);
}

static int cgroup_dir(struct attr *a, __u64 id, char *out, size_t size)
{
	const char *rel = cgroup_resolver__path(a->opts.cgroups, id);
	int err = 0;

	if (!rel) {
		err = cgroup_resolver__rescan(a->opts.cgroups);
		rel = cgroup_resolver__path(a->opts.cgroups, id);
	}
	/* a walk that failed (EMFILE) is the reason, not the cgroup's absence */
	if (!rel)
		return err ? err : -ENOENT;
	snprintf(out, size, "%s%s", a->opts.mounts->cgroup2, strcmp(rel, "/") ? rel : "");
	return 0;
}

static void rescan_cgroups(struct attr *a)
{
	struct traced_pid **gone = NULL;
	size_t it, i, nr_gone = 0, cap_gone = 0;
	char dir[PATH_MAX];
	uint64_t id, v;

	for (it = 0; u64map_next(&a->traced, &it, &id, &v);)
		((struct traced_pid *)(uintptr_t)v)->seen = false;
	for (it = 0; u64map_next(&a->watched_cgroups, &it, &id, &v);) {
		struct walk_budget b = {};

		if (!cgroup_dir(a, id, dir, sizeof(dir)))
			walk_cgroup(a, dir, true, 0, &b);
	}
	/*
	 * Processes that left the watched cgroups (and were not watched by pid):
	 * gathered first, untraced after, since a deletion moves entries under
	 * the iterator. Out of memory: the next rescan finds them again.
	 */
	for (it = 0; u64map_next(&a->traced, &it, &id, &v);) {
		struct traced_pid *tp = (struct traced_pid *)(uintptr_t)v;

		if (!tp->seen && !tp->explicit && !ARRAY_GROW(gone, cap_gone, nr_gone + 1))
			gone[nr_gone++] = tp;
	}
	for (i = 0; i < nr_gone; i++)
		untrace_pid(a, gone[i], true);
	free(gone);
}

/* ---- new processes and execs ---- */

void attr_rescan_host(struct attr *a)
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
		attr_python_scan(a, p, false);
		attr_scan_and_attach(a, p, NULL);
	}
	closedir(d);
	/* forget the pids that are gone: seen becomes the known set */
	for (it = 0; u64map_next(&seen, &it, &pid, &start);)
		seen.values[it - 1] = 1;
	u64map_free(&a->known_pids);
	a->known_pids = seen;
}

/*
 * One pass over the execs still to rescan; those done are deleted after it
 * (a deletion shifts entries back under the iterator: restarting the walk
 * after each one was quadratic under an exec storm). Out of memory, an
 * entry stays for the next tick.
 */
static void rescan_execs(struct attr *a)
{
	size_t it, i, nr_done = 0, cap_done = 0;
	uint64_t pid, left, *done = NULL;

	for (it = 0; u64map_next(&a->pending_exec, &it, &pid, &left);) {
		struct traced_pid *tp = traced_get(a, pid);

		if (tp || a->opts.malloc_all) {
			attr_python_scan(a, pid, true);
			attr_scan_and_attach(a, pid, tp);
		}
		if (left > 1)
			a->pending_exec.values[it - 1] = left - 1;
		else if (!ARRAY_GROW(done, cap_done, nr_done + 1))
			done[nr_done++] = pid;
	}
	for (i = 0; i < nr_done; i++)
		u64map_del(&a->pending_exec, done[i]);
	free(done);
}

void attr_scope_tick(struct attr *a)
{
	reap_exited(a);
	attr_python_reap(a); /* host-wide CPython processes are in neither of its maps */
	if (a->opts.malloc && a->opts.malloc_all)
		attr_rescan_host(a);
	if (a->watched_cgroups.len)
		rescan_cgroups(a);
	rescan_execs(a);
}

/* ---- the API ---- */

int attr__watch_cgroup(struct attr *a, __u64 cgroup_id)
{
	struct walk_budget b = {};
	char dir[PATH_MAX];
	int err;

	if (!a->opts.cgroups)
		return -ENOENT;
	if ((err = cgroup_dir(a, cgroup_id, dir, sizeof(dir))))
		return err;
	if ((err = u64map_put(&a->watched_cgroups, cgroup_id, 1)))
		return err;
	walk_cgroup(a, dir, true, 0, &b);
	/* said once, when the cgroup is watched; later rescans apply the same bounds quietly */
	if (b.skipped)
		p_warn("tracing %u processes of cgroup '%s', not %u more (at most %d per cgroup, "
		       "%d in all)",
		       b.traced, cgroup_resolver__path(a->opts.cgroups, cgroup_id) ?: "?",
		       b.skipped, MAX_PIDS_PER_CGROUP, MAX_PIDS);
	return 0;
}

int attr__unwatch_cgroup(struct attr *a, __u64 cgroup_id)
{
	char dir[PATH_MAX];

	if (!u64map_del(&a->watched_cgroups, cgroup_id))
		return -ENOENT;
	if (!cgroup_dir(a, cgroup_id, dir, sizeof(dir)))
		walk_cgroup(a, dir, false, 0, NULL);
	else if ((a->opts.trace_mm && !a->opts.trace_mm_all) || a->opts.mm_escalation)
		watch_cgroup_ids(a, cgroup_id, false);
	/* the next rescan untraces the processes no other watched cgroup holds */
	rescan_cgroups(a);
	return 0;
}

/* The mm hooks are scoped by cgroup: watching a process watches its cgroup there. */
static void watch_cgroup_of_pid(struct attr *a, int pid)
{
	__u64 id;

	if (!cgroup_id_of_pid(a->opts.mounts->cgroup2, pid, &id))
		watch_cgroup_ids(a, id, true);
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
