// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `memobs leaks`: traces the named processes (pid-filtered probes: every
 * other process runs untouched) for a while, then prints the call sites
 * with the most sampled bytes still outstanding.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "attribute/attr.h"
#include "collect/features.h"
#include "identity/cgroup.h"
#include "cli/cmd.h"
#include "util/fmt.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mountinfo.h"
#include "cli/leaks_opts.h"
#include "model/caller.h"
#include "output/flamegraph.h"
#include "output/folded.h"
#include "output/pprof.h"
#include "output/render.h"
#include "util/array.h"
#include "util/clock.h"
#include "util/stop_signal.h"

/* A cgroup given as an id, a path under the cgroup2 mount, or an absolute path. */
static int resolve_cgroup(const struct mounts *m, const char *arg, __u64 *id)
{
	char dir[PATH_MAX * 2];
	char *end;
	int err;

	err = m->cgroup2[0] ? 0 : -ENOENT;
	if (!err) {
		if (arg[0] == '/' && !strncmp(arg, m->cgroup2, strlen(m->cgroup2)))
			snprintf(dir, sizeof(dir), "%s", arg);
		else
			snprintf(dir, sizeof(dir), "%s/%s", m->cgroup2,
				 arg[0] == '/' ? arg + 1 : arg);
		err = cgroup_id_of_dir(dir, id);
		if (err) {
			/* not a directory: a numeric id */
			*id = strtoull(arg, &end, 10);
			err = (*end || !*id || end == arg) ? -ENOENT : 0;
		}
	}
	return err;
}

static bool pid_alive(int pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return access(path, F_OK) == 0;
}

/* Bytes of a frame's text line (a long C++ symbol is cut there). */
#define FRAME_TEXT_MAX 1024

static double site_age_s(const struct attr_site *s, __u64 now)
{
	return now > s->est.oldest_ts_ns ? (now - s->est.oldest_ts_ns) / 1e9 : 0;
}

static void print_site_json(struct json *j, const struct attr_site *s, size_t rank, __u64 now,
			    const struct caller_rule *callers)
{
	struct record r;

	record__init(&r, RECORD_LEAK_SITE, clock_wall_ms(), NULL);
	r.leak_site.rank = rank;
	r.leak_site.site.est = &s->est;
	r.leak_site.site.frames = s->frames;
	r.leak_site.site.nr_frames = s->nr_frames;
	r.leak_site.site.meta = s->meta;
	r.leak_site.site.caller = caller_rule__frame(callers, s->frames, s->nr_frames);
	r.leak_site.site.source = attr_source__str(s->source);
	r.leak_site.age_s = site_age_s(s, now);
	render__line(stdout, j, &r);
}

/*
 * A frame as the terminal gets it: symbol names come from the target's ELF,
 * so control bytes (escape sequences) and non-ASCII become '?', as in top.
 */
static const char *frame_text(char *buf, size_t n, const char *frame)
{
	return fmt_sanitize(buf, n, frame ? frame : "?", n - 1);
}

/* What the first line of a site shows when every frame is the allocator's or a wrapper's. */
#define NO_CALLER_TEXT "(no caller: only allocator frames)"

/*
 * The caller first, on the line of the figures (what a reader looks for),
 * then the whole stack under it, indented, innermost first.
 */
static void print_frames_table(const char *caller, const char *const *frames, size_t nr, int indent)
{
	char frame[FRAME_TEXT_MAX];
	size_t i;

	printf("%s\n", caller ? frame_text(frame, sizeof(frame), caller) : NO_CALLER_TEXT);
	for (i = 0; i < nr; i++)
		printf("%*s%s\n", indent + 2, "", frame_text(frame, sizeof(frame), frames[i]));
}

static void print_site_table(const struct attr_site *s, __u64 now,
			     const struct caller_rule *callers, bool show_source)
{
	char bytes[16], allocs[16];
	int indent;

	fmt_size_double(bytes, sizeof(bytes), s->est.est_bytes + 0.5);
	fmt_count(allocs, sizeof(allocs), s->est.est_allocs);
	indent = printf("%9s %10s %8llu %7.1f  ", bytes, allocs, (unsigned long long)s->est.samples,
			site_age_s(s, now));
	if (show_source)
		indent += printf("%-7s ", attr_source__str(s->source));
	print_frames_table(caller_rule__frame(callers, s->frames, s->nr_frames), s->frames,
			   s->nr_frames, indent);
}

static void print_mm_sites(struct attr *a, const struct alloc_filter *f, const struct leaks_opts *o,
			   const struct caller_rule *callers, struct json *j)
{
	struct attr_mm_site *mm = NULL;
	size_t nr = 0, i;
	const char *caller;
	char bytes[16];
	int indent;

	if (attr__top_mm_sites(a, f, o->top, &mm, &nr))
		return;
	if (!o->json && nr)
		printf("\n%9s %10s %-12s %s\n", "BYTES", "COUNT", "KIND", "CALLER, then its STACK");
	for (i = 0; i < nr; i++) {
		caller = caller_rule__frame(callers, mm[i].frames, mm[i].nr_frames);
		if (o->json) {
			struct record r;

			record__init(&r, RECORD_MM_SITE, clock_wall_ms(), NULL);
			r.mm_site.kind = attr_mm_kind__str(mm[i].kind);
			r.mm_site.pid = mm[i].pid;
			r.mm_site.cgroup_id = mm[i].cgroup_id;
			r.mm_site.count = mm[i].count;
			r.mm_site.bytes = mm[i].bytes;
			r.mm_site.frames = mm[i].frames;
			r.mm_site.nr_frames = mm[i].nr_frames;
			r.mm_site.caller = caller;
			render__line(stdout, j, &r);
			continue;
		}
		fmt_size(bytes, sizeof(bytes), mm[i].bytes);
		indent = printf("%9s %10llu %-12s ", bytes, (unsigned long long)mm[i].count,
				attr_mm_kind__str(mm[i].kind));
		print_frames_table(caller, mm[i].frames, mm[i].nr_frames, indent);
	}
	free(mm);
}

/* The process's name, from /proc; false if it is gone. */
static bool read_comm(__u32 pid, char comm[MEMOBS_COMM_LEN])
{
	char path[32];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(comm, 1, MEMOBS_COMM_LEN - 1, f);
	fclose(f);
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return n > 0;
}

/* Writes one profile file; a failure is reported and makes the run fail. */
static int write_profile(const char *path, const char *what, int err)
{
	if (err)
		p_err("failed to write the %s '%s': %s", what, path, strerror(-err));
	return err;
}

static int write_text_profile(const char *path, const struct site_record *recs, size_t nr,
			      const struct leaks_opts *o, bool svg)
{
	struct flamegraph_opts fo = {};
	char title[256];
	FILE *f;
	int err;

	f = fopen(path, "we");
	if (!f)
		return write_profile(path, svg ? "flame graph" : "folded stacks", -errno);
	if (svg) {
		if (o->pid)
			snprintf(title, sizeof(title), "memobs leaks --pid %d", o->pid);
		else
			snprintf(title, sizeof(title), "memobs leaks %s%s",
				 o->cgroup_arg ? "--cgroup " : "--all",
				 o->cgroup_arg ? o->cgroup_arg : "");
		fo.title = title;
		err = flamegraph__write(f, recs, nr, &fo);
	} else {
		err = folded__write(f, recs, nr);
	}
	if (fclose(f) && !err)
		err = -errno;
	return write_profile(path, svg ? "flame graph" : "folded stacks", err);
}

/*
 * --pprof, --folded, --svg: every site (not only --top's), so that a
 * profile's total is what was outstanding. 0, or -EIO if a file failed
 * (each failure reported).
 */
static int write_profiles(struct attr *a, const struct alloc_filter *f, const struct leaks_opts *o,
			  struct cgroup_resolver *cgroups, double elapsed_s)
{
	struct pprof_opts po = {};
	struct pprof_site_labels *labels = NULL;
	char(*comms)[MEMOBS_COMM_LEN] = NULL;
	struct site_record *recs = NULL;
	struct attr_site *sites = NULL;
	size_t nr = 0, i;
	int err = 0;

	if (!o->pprof_path && !o->folded_path && !o->svg_path)
		return 0;
	if (attr__top_sites(a, f, 0, &sites, &nr) || !(recs = calloc(nr ? nr : 1, sizeof(*recs))) ||
	    !(labels = calloc(nr ? nr : 1, sizeof(*labels))) ||
	    !(comms = calloc(nr ? nr : 1, sizeof(*comms)))) {
		p_err("failed to write the profiles: out of memory");
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr; i++) {
		recs[i].est = &sites[i].est;
		recs[i].frames = sites[i].frames;
		recs[i].nr_frames = sites[i].nr_frames;
		recs[i].meta = sites[i].meta;
		recs[i].source = attr_source__str(sites[i].source);
		labels[i].comm = read_comm(sites[i].est.pid, comms[i]) ? comms[i] : NULL;
		labels[i].cgroup = cgroups ? cgroup_resolver__path(cgroups, sites[i].est.cgroup_id)
					   : NULL;
	}
	if (o->pprof_path) {
		po.sample_bytes = attr__sample_bytes(a);
		po.duration_ns = (__u64)(elapsed_s * 1e9);
		po.time_ns = clock_wall_ms() * 1000000ULL - po.duration_ns;
		po.labels = labels;
		err |= write_profile(o->pprof_path, "pprof profile",
				     pprof__write(o->pprof_path, recs, nr, &po));
	}
	if (o->folded_path)
		err |= write_text_profile(o->folded_path, recs, nr, o, false);
	if (o->svg_path)
		err |= write_text_profile(o->svg_path, recs, nr, o, true);
out:
	free(comms);
	free(labels);
	free(recs);
	free(sites);
	return err ? -EIO : 0;
}

static void print_summary(struct attr *a, const struct leaks_opts *o, double elapsed_s,
			  size_t nr_sites, bool target_exited, struct json *j)
{
	struct leaks_summary_record *sum;
	struct attr_stats st;
	struct record r;
	__u64 outstanding;
	char size[16];

	attr__stats(a, &st);
	/* only the named processes are traced: every sample is theirs */
	outstanding = attr__cgroup_outstanding_bytes(a, 0);
	if (!o->json) {
		fprintf(stderr,
			"memobs leaks: %.1f s, ~%s outstanding in %zu site(s) shown; %llu sampled, "
			"%llu drops, %llu attach failures%s\n",
			elapsed_s, fmt_size(size, sizeof(size), outstanding), nr_sites,
			(unsigned long long)st.bpf[MEMOBS_ATTR_STAT_SAMPLED],
			(unsigned long long)st.bpf[MEMOBS_ATTR_STAT_RINGBUF_DROPS],
			(unsigned long long)st.attach_failures,
			target_exited ? " (the process exited: what it held at exit)" : "");
		return;
	}
	record__init(&r, RECORD_LEAKS_SUMMARY, clock_wall_ms(), NULL);
	sum = &r.leaks_summary;
	sum->duration_s = elapsed_s;
	sum->sample_bytes = attr__sample_bytes(a);
	sum->malloc_outstanding_bytes = outstanding;
	sum->nr_sites = nr_sites;
	sum->target_exited = target_exited;
	sum->session = st.session;
	sum->attach_failures = st.attach_failures;
	sum->files_attached = st.files_attached;
	sum->links = st.links;
	sum->pids_traced = st.pids_traced;
	sum->probes_at_entry = st.probes_at_entry;
	sum->symbol_cache_evictions = st.symbol_cache_evictions;
	sum->symbol_timeouts = st.symbol_timeouts;
	memcpy(sum->bpf, st.bpf, sizeof(sum->bpf));
	sum->sites_held = st.sites;
	sum->sites_overflowed = st.sites_overflowed;
	sum->unwind = (struct unwind_figures){
		.stacks = st.unwind.walks,
		.truncated = st.unwind.truncated,
		.cfi_frames = st.unwind.cfi_frames,
		.fp_frames = st.unwind.fp_frames,
		.cfi_cache_bytes = st.cfi_cache_bytes,
		.cfi_cache_evictions = st.cfi_cache_evictions,
	};
	sum->python = (struct python_figures){
		.processes = st.python.processes,
		.layout_unknown = st.python.layout_unknown,
		.frames = st.python.frames,
		.truncated = st.python.truncated,
		.code_reads = st.python.code_reads,
		.code_read_failures = st.python.code_read_failures,
		.code_evictions = st.python.code_evictions,
		.code_reads_throttled = st.python.code_reads_throttled,
		.pending_overwritten = st.python.pending_overwritten,
	};
	render__line(stdout, j, &r);
}

/*
 * What the run found: the top sites, each with its caller, the mm sites,
 * the summary, then the profiles. Returns 0 or -errno (reported).
 */
static int print_report(struct attr *a, const struct alloc_filter *filter,
			const struct leaks_opts *o, struct cgroup_resolver *cgroups, __u64 now,
			double elapsed_s, bool target_exited)
{
	struct caller_rule *callers = NULL;
	struct attr_site *sites = NULL;
	size_t nr = 0, i;
	struct json j;
	int err;

	/* --wrappers was checked when parsed: only memory can fail here */
	err = caller_rule__new(&callers, o->wrappers);
	if (err) {
		p_err("failed to build the caller rule: %s", strerror(-err));
		return err;
	}
	json_init(&j);
	if (attr__top_sites(a, filter, o->top, &sites, &nr)) {
		p_err("failed to aggregate the call sites: out of memory");
		nr = 0;
	}
	if (!o->json && nr)
		printf("%9s %10s %8s %7s  %s%s\n", "EST_BYTES", "EST_ALLOCS", "SAMPLES", "AGE_S",
		       o->all_sources ? "SOURCE  " : "",
		       "CALLER, then its STACK (estimated from sampled allocations)");
	for (i = 0; i < nr; i++) {
		if (o->json)
			print_site_json(&j, &sites[i], i + 1, now, callers);
		else
			print_site_table(&sites[i], now, callers, o->all_sources);
	}
	if (o->trace_mm)
		print_mm_sites(a, filter, o, callers, &j);
	print_summary(a, o, elapsed_s, nr, target_exited, &j);
	fflush(stdout);
	err = write_profiles(a, filter, o, cgroups, elapsed_s);
	free(sites);
	json_free(&j);
	caller_rule__free(callers);
	return err;
}

int cmd_leaks(int argc, char **argv)
{
	static const int stop_signals[] = { SIGINT, SIGTERM };
	struct leaks_opts o;
	char msg[256];
	struct attr_opts ao = {};
	struct mounts mounts;
	struct features features;
	struct cgroup_resolver *cgroups = NULL;
	int mounts_err;
	struct alloc_filter filter = {};
	struct attr *a = NULL;
	__u64 start, deadline, now;
	bool target_exited = false;
	int err;

	err = leaks_opts__parse(argc, argv, &o, msg, sizeof(msg));
	if (err != OPTS_OK)
		return opts__exit_status(err, "leaks", msg, leaks_opts__usage);
	opts__add_verbosity(o.verbosity);
	/* the host context, built once: for --cgroup and for the attribution tier */
	mounts_err = mounts__discover(&mounts, "/proc/self/mountinfo");
	if (o.cgroup_arg && (mounts_err || resolve_cgroup(&mounts, o.cgroup_arg, &o.cgroup_id))) {
		opts__fail(msg, sizeof(msg),
			   "invalid value '%s' for --cgroup: no such cgroup (a path under the "
			   "cgroup2 mount, or an id)",
			   o.cgroup_arg);
		return opts__exit_status(OPTS_USAGE_ERROR, "leaks", msg, NULL);
	}
	if (o.pid && !pid_alive(o.pid)) {
		opts__fail(msg, sizeof(msg), "invalid value '%d' for --pid: no such process",
			   o.pid);
		return opts__exit_status(OPTS_USAGE_ERROR, "leaks", msg, NULL);
	}
	if (cmd_check_privileges())
		return 1;

	ao.sample_bytes = o.sample_bytes;
	ao.stack_bytes = o.stack_bytes;
	ao.malloc = true;
	ao.malloc_all = o.all;
	ao.trace_mm = o.trace_mm;
	ao.trace_mm_all = o.trace_mm && o.all;
	ao.mm_escalation = o.all_sources;
	ao.no_session = o.no_session;
	ao.keep_exited = true;
	if (mounts_err) {
		p_err("failed to read '/proc/self/mountinfo': %s", strerror(-mounts_err));
		return 1;
	}
	features__probe(&features, &mounts);
	if (mounts.cgroup2[0])
		cgroups = cgroup_resolver__new(mounts.cgroup2);
	ao.mounts = &mounts;
	ao.features = &features;
	ao.cgroups = cgroups;
	if ((err = attr__open(&a, &ao))) {
		cgroup_resolver__free(cgroups);
		return 1;
	}
	stop_signal__install(stop_signals, ARRAY_SIZE(stop_signals));

	if (o.pid) {
		filter.pid = o.pid;
		err = attr__watch_pid(a, o.pid);
	} else if (o.cgroup_arg) {
		err = attr__watch_cgroup(a, o.cgroup_id);
	}
	if (err) {
		p_err("failed to trace %s: %s", o.pid ? "the process" : "the cgroup",
		      strerror(-err));
		attr__close(a);
		cgroup_resolver__free(cgroups);
		return 1;
	}
	p_info("tracing for %.1f s (sampling every %llu bytes on average)", o.duration_s,
	       (unsigned long long)o.sample_bytes);

	start = clock_mono_ns();
	deadline = start + (__u64)(o.duration_s * 1e9);
	while (!*stop_signal__flag() && (now = clock_mono_ns()) < deadline) {
		int wait_ms = (deadline - now) / 1000000;

		if (o.pid && !pid_alive(o.pid)) {
			target_exited = true;
			break;
		}
		err = attr__poll(a, wait_ms < 100 ? wait_ms : 100);
		if (err < 0 && err != -EINTR) {
			p_err("failed to read the attribution ring buffer: %s", strerror(-err));
			break;
		}
	}
	attr__poll(a, 0);
	now = clock_mono_ns();
	err = print_report(a, &filter, &o, cgroups, now, (now - start) / 1e9, target_exited);
	attr__close(a);
	cgroup_resolver__free(cgroups);
	return err ? 1 : 0;
}
