// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `memobs leaks`: traces the named processes (pid-filtered probes: every
 * other process runs untouched) for a while, then prints the call sites
 * with the most sampled bytes still outstanding.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "attribute/attr.h"
#include "identity/cgroup.h"
#include "cli/cmd.h"
#include "util/fmt.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mountinfo.h"
#include "cli/opts.h"
#include "util/stop_signal.h"

struct leaks_opts {
	__u64 cgroup_id;
	const char *cgroup_arg;
	int pid;
	bool all;
	double duration_s;
	__u64 top;
	bool json;
	__u64 sample_bytes;
	bool trace_mm;
	bool no_session;
};

static void usage(FILE *out)
{
	fputs("usage: memobs leaks (--cgroup PATH|ID | --pid PID | --all) [--duration S] [--top N]\n"
	      "                    [--json] [--malloc-sample-bytes N] [--trace-mm] [--no-session]\n"
	      "Traces allocations of the named processes for S seconds (default 10; Ctrl-C ends\n"
	      "early), then prints the call sites with the most bytes outstanding. Allocations\n"
	      "are sampled every N bytes on average (default 512K; 1: every allocation): bytes\n"
	      "and counts are estimates.\n"
	      "  --cgroup PATH|ID   a cgroup v2 (path under the cgroup2 mount, or its id), with\n"
	      "                     its descendants; processes that start there are traced too\n"
	      "  --pid PID          one process\n"
	      "  --all              every process on the host (probes attached once per file)\n"
	      "  --top N            call sites to print (default 10)\n"
	      "  --json             JSON lines: one per site, then a summary\n"
	      "  --trace-mm         also count mmap/munmap/mremap/brk and page faults by call site\n"
	      "  --no-session       return probes on every call even where uprobe sessions exist\n",
	      out);
}

/* A cgroup given as an id, a path under the cgroup2 mount, or an absolute path. */
static int resolve_cgroup(const char *arg, __u64 *id)
{
	struct mounts *m = calloc(1, sizeof(*m));
	char dir[PATH_MAX * 2];
	char *end;
	int err;

	if (!m)
		return -ENOMEM;
	err = mounts__discover(m, "/proc/self/mountinfo");
	if (!err && !m->cgroup2[0])
		err = -ENOENT;
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
	free(m);
	return err;
}

static int parse_args(int argc, char **argv, struct leaks_opts *o)
{
	enum { OPT_SAMPLE = 256, OPT_TRACE_MM, OPT_NO_SESSION };
	static const struct option long_opts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "duration", required_argument, NULL, 'd' },
		{ "top", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "malloc-sample-bytes", required_argument, NULL, OPT_SAMPLE },
		{ "trace-mm", no_argument, NULL, OPT_TRACE_MM },
		{ "no-session", no_argument, NULL, OPT_NO_SESSION },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	__u64 v;
	int c, targets = 0;

	o->duration_s = 10;
	o->top = 10;
	o->sample_bytes = ATTR_DEFAULT_SAMPLE_BYTES;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->cgroup_arg = optarg;
			targets++;
			break;
		case 'p':
			if (parse_u64(optarg, 1, INT_MAX, &v)) {
				p_err("invalid --pid '%s': expected a process id", optarg);
				return 2;
			}
			o->pid = v;
			targets++;
			break;
		case 'a':
			o->all = true;
			targets++;
			break;
		case 'd':
			if (parse_seconds(optarg, 7 * 86400, &o->duration_s)) {
				p_err("invalid --duration '%s': expected seconds > 0 (e.g. 30, 2m)",
				      optarg);
				return 2;
			}
			break;
		case 'n':
			if (parse_u64(optarg, 1, 100000, &o->top)) {
				p_err("invalid --top '%s': expected a count from 1 to 100000",
				      optarg);
				return 2;
			}
			break;
		case 'j':
			o->json = true;
			break;
		case OPT_SAMPLE:
			if (parse_bytes(optarg, &o->sample_bytes) || !o->sample_bytes ||
			    o->sample_bytes > (1ULL << 40)) {
				p_err("invalid --malloc-sample-bytes '%s': expected bytes from 1 to 1T "
				      "(e.g. 1, 4096, 512K)",
				      optarg);
				return 2;
			}
			break;
		case OPT_TRACE_MM:
			o->trace_mm = true;
			break;
		case OPT_NO_SESSION:
			o->no_session = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		p_err("unexpected argument '%s' (see 'memobs leaks --help')", argv[optind]);
		return 2;
	}
	if (targets != 1) {
		p_err("%s one of --cgroup, --pid or --all (see 'memobs leaks --help')",
		      targets ? "expected only" : "expected");
		return 2;
	}
	if (o->cgroup_arg && resolve_cgroup(o->cgroup_arg, &o->cgroup_id)) {
		p_err("invalid --cgroup '%s': no such cgroup (a path under the cgroup2 mount, or an id)",
		      o->cgroup_arg);
		return 2;
	}
	return 0;
}

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool pid_alive(int pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return access(path, F_OK) == 0;
}

static void print_site_json(struct json *j, const struct attr_site *s, size_t rank, __u64 now)
{
	size_t i;

	json_reset(j);
	json_obj_begin(j);
	json_key(j, "type");
	json_str(j, "leak_site");
	json_key(j, "rank");
	json_u64(j, rank);
	json_key(j, "pid");
	json_u64(j, s->est.pid);
	json_key(j, "cgroup_id");
	json_u64(j, s->est.cgroup_id);
	json_key(j, "est_bytes");
	json_u64(j, (__u64)(s->est.est_bytes + 0.5));
	json_key(j, "est_allocs");
	json_u64(j, (__u64)(s->est.est_allocs + 0.5));
	json_key(j, "samples");
	json_u64(j, s->est.samples);
	json_key(j, "sampled_bytes");
	json_u64(j, s->est.sampled_bytes);
	json_key(j, "age_s");
	json_double(j, now > s->est.oldest_ts_ns ? (now - s->est.oldest_ts_ns) / 1e9 : 0, 1);
	json_key(j, "stack");
	json_arr_begin(j);
	for (i = 0; i < s->nr_frames; i++)
		json_str(j, s->frames[i]);
	json_arr_end(j);
	json_obj_end(j);
	json_write_line(j, stdout);
}

static void print_site_table(const struct attr_site *s, __u64 now)
{
	char bytes[16], allocs[16];
	size_t i;

	fmt_size(bytes, sizeof(bytes), (__u64)(s->est.est_bytes + 0.5));
	fmt_count(allocs, sizeof(allocs), s->est.est_allocs);
	printf("%9s %10s %8llu %7.1f  %s\n", bytes, allocs, (unsigned long long)s->est.samples,
	       now > s->est.oldest_ts_ns ? (now - s->est.oldest_ts_ns) / 1e9 : 0.0,
	       s->nr_frames ? s->frames[0] : "?");
	for (i = 1; i < s->nr_frames; i++)
		printf("%38s  %s\n", "", s->frames[i]);
}

static void print_mm_sites(struct attr *a, const struct alloc_filter *f, const struct leaks_opts *o,
			   struct json *j)
{
	struct attr_mm_site *mm = NULL;
	size_t nr = 0, i, k;
	char bytes[16];

	if (attr__top_mm_sites(a, f, o->top, &mm, &nr))
		return;
	if (!o->json && nr)
		printf("\n%9s %10s %-12s %s\n", "BYTES", "COUNT", "KIND", "STACK");
	for (i = 0; i < nr; i++) {
		if (o->json) {
			json_reset(j);
			json_obj_begin(j);
			json_key(j, "type");
			json_str(j, "mm_site");
			json_key(j, "kind");
			json_str(j, attr_mm_kind__str(mm[i].kind));
			json_key(j, "pid");
			json_u64(j, mm[i].pid);
			json_key(j, "cgroup_id");
			json_u64(j, mm[i].cgroup_id);
			json_key(j, "count");
			json_u64(j, mm[i].count);
			json_key(j, "bytes");
			json_u64(j, mm[i].bytes);
			json_key(j, "stack");
			json_arr_begin(j);
			for (k = 0; k < mm[i].nr_frames; k++)
				json_str(j, mm[i].frames[k]);
			json_arr_end(j);
			json_obj_end(j);
			json_write_line(j, stdout);
			continue;
		}
		fmt_size(bytes, sizeof(bytes), mm[i].bytes);
		printf("%9s %10llu %-12s %s\n", bytes, (unsigned long long)mm[i].count,
		       attr_mm_kind__str(mm[i].kind), mm[i].nr_frames ? mm[i].frames[0] : "?");
		for (k = 1; k < mm[i].nr_frames; k++)
			printf("%34s %s\n", "", mm[i].frames[k]);
	}
	free(mm);
}

static void print_summary(struct attr *a, const struct leaks_opts *o, double elapsed_s,
			  size_t nr_sites, bool target_exited, struct json *j)
{
	static const char *const stat_names[MEMOBS_ATTR_STAT_NR] = {
		"reserved", "sampled", "live_full",	"stacks_full", "inflight_full",
		"frees",    "failed",  "ringbuf_drops", "mm_events",   "mm_full",
	};
	struct attr_stats st;
	__u64 outstanding;
	char size[16];
	int i;

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
	json_reset(j);
	json_obj_begin(j);
	json_key(j, "type");
	json_str(j, "leaks_summary");
	json_key(j, "duration_s");
	json_double(j, elapsed_s, 1);
	json_key(j, "sample_bytes");
	json_u64(j, attr__sample_bytes(a));
	json_key(j, "est_outstanding_bytes");
	json_u64(j, outstanding);
	json_key(j, "sites");
	json_u64(j, nr_sites);
	json_key(j, "target_exited");
	json_bool(j, target_exited);
	json_key(j, "session");
	json_bool(j, st.session);
	json_key(j, "attach_failures");
	json_u64(j, st.attach_failures);
	json_key(j, "files_attached");
	json_u64(j, st.files_attached);
	json_key(j, "links");
	json_u64(j, st.links);
	json_key(j, "pids_traced");
	json_u64(j, st.pids_traced);
	json_key(j, "probes_at_entry");
	json_u64(j, st.probes_at_entry);
	json_key(j, "bpf");
	json_obj_begin(j);
	for (i = 0; i < MEMOBS_ATTR_STAT_NR; i++) {
		if (i == MEMOBS_ATTR_STAT_CALLS)
			continue;
		json_key(j, stat_names[i]);
		json_u64(j, st.bpf[i]);
	}
	json_obj_end(j);
	json_obj_end(j);
	json_write_line(j, stdout);
}

int cmd_leaks(int argc, char **argv)
{
	static const int stop_signals[] = { SIGINT, SIGTERM };
	struct leaks_opts o = {};
	struct attr_opts ao = {};
	struct alloc_filter filter = {};
	struct attr_site *sites = NULL;
	struct attr *a = NULL;
	struct json j;
	__u64 start, deadline, now;
	bool target_exited = false;
	size_t nr = 0, i;
	int err;

	err = parse_args(argc, argv, &o);
	if (err)
		return err < 0 ? 0 : err;
	if (o.pid && !pid_alive(o.pid)) {
		p_err("invalid --pid '%d': no such process", o.pid);
		return 2;
	}
	if (cmd_check_privileges())
		return 1;

	ao.sample_bytes = o.sample_bytes;
	ao.malloc = true;
	ao.malloc_all = o.all;
	ao.trace_mm = o.trace_mm;
	ao.trace_mm_all = o.trace_mm && o.all;
	ao.no_session = o.no_session;
	ao.keep_exited = true;
	if ((err = attr__open(&a, &ao)))
		return 1;
	stop_signal__install(stop_signals, sizeof(stop_signals) / sizeof(stop_signals[0]));

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
		return 1;
	}
	p_info("tracing for %.1f s (sampling every %llu bytes on average)", o.duration_s,
	       (unsigned long long)o.sample_bytes);

	start = monotonic_ns();
	deadline = start + (__u64)(o.duration_s * 1e9);
	while (!*stop_signal__flag() && (now = monotonic_ns()) < deadline) {
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
	now = monotonic_ns();

	json_init(&j);
	if (attr__top_sites(a, &filter, o.top, &sites, &nr)) {
		p_err("failed to aggregate the call sites: out of memory");
		nr = 0;
	}
	if (!o.json && nr)
		printf("%9s %10s %8s %7s  %s\n", "EST_BYTES", "EST_ALLOCS", "SAMPLES", "AGE_S",
		       "STACK (estimated from sampled allocations)");
	for (i = 0; i < nr; i++) {
		if (o.json)
			print_site_json(&j, &sites[i], i + 1, now);
		else
			print_site_table(&sites[i], now);
	}
	if (o.trace_mm)
		print_mm_sites(a, &filter, &o, &j);
	print_summary(a, &o, (now - start) / 1e9, nr, target_exited, &j);
	fflush(stdout);
	free(sites);
	json_free(&j);
	attr__close(a);
	return 0;
}
