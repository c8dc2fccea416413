// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `memobs check`: every kernel feature, hook and privilege memobs needs, ok or missing. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "collect/caps.h"
#include "cli/cmd.h"
#include "collect/features.h"
#include "collect/loader.h"
#include "cli/opts.h"
#include "util/log.h"
#include "util/mountinfo.h"
#include "model/agg.h"
#include "pipeline/pipeline.h"
#include "util/array.h"

int cmd_check_privileges(void)
{
	const char *missing = NULL, *optional;
	int err = caps__check(&missing);

	if (err == -EPERM) {
		p_err("missing capability %s (memobs needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN "
		      "on kernels before 5.8; run as root or grant it)",
		      missing);
		return err;
	}
	if (err) {
		p_err("failed to read this process's capabilities: %s", strerror(-err));
		return err;
	}
	optional = caps__check_optional();
	if (optional)
		p_warn("missing capability %s: allocation attribution cannot read other processes' "
		       "maps and files",
		       optional);
	return 0;
}

static void kernel_release(char *buf, size_t size)
{
	struct utsname u;

	if (uname(&u))
		snprintf(buf, size, "unknown");
	else
		snprintf(buf, size, "%s", u.release);
}

void log_startup_line(const struct pipeline *p)
{
	const struct features *f = pipeline__features(p);
	char release[128];

	kernel_release(release, sizeof(release));
	p_info("version %s started: kernel %s; sampler %s; oom %s; uprobe sessions %s",
	       MEMOBS_VERSION, release,
	       features__use_proc_walk(f) ? "process walk (bpf_iter_task, all processes)"
					  : "iter/task (one record per thread)",
	       f->oom_tp_task	  ? "tp_btf/mark_victim"
	       : f->oom_tp_exists ? "tracepoint/oom/mark_victim"
				  : "none",
	       f->uprobe_session ? "yes" : "no");
}

struct check_row {
	const char *name;
	bool ok;
	bool required; /* the always-on tier cannot run without it */
	const char *detail;
};

static bool print_rows(const struct check_row *rows, size_t n)
{
	bool core_ok = true;
	size_t i;

	for (i = 0; i < n; i++) {
		printf("%-8s %-22s %s\n",
		       rows[i].ok	  ? "ok"
		       : rows[i].required ? "MISSING"
					  : "absent",
		       rows[i].name, rows[i].detail);
		if (!rows[i].ok && rows[i].required)
			core_ok = false;
	}
	return core_ok;
}

/*
 * The real test: load and attach the always-on tier, run one pass of its
 * sampler, then detach it. *sampler: the sampler that loaded.
 */
static bool try_load(const struct features *f, const char **sampler)
{
	struct loader_opts opts = { .features = f, .ringbuf_bytes = 4096 * 64 };
	struct loader *l = NULL;
	struct agg *agg = agg__new(sysconf(_SC_PAGESIZE));
	int err = agg ? 0 : -ENOMEM;

	if (!err)
		err = loader__open(&l, &opts);
	if (!err) {
		*sampler = loader__sampler(l);
		agg__begin(agg, 0, 0);
		err = loader__run_iter(l, agg);
		if (err)
			p_err("failed to run the sampler '%s': %s", *sampler, strerror(-err));
	}
	loader__close(l);
	agg__free(agg);
	return err == 0;
}

static void check_usage(FILE *out)
{
	fputs("usage: memobs check [-v]\n"
	      "Prints each kernel feature, hook and privilege memobs needs, ok or missing with the\n"
	      "reason. Exits 1 if the always-on tier cannot run here.\n"
	      "  -v, --verbose  debug diagnostics on stderr, libbpf's included\n"
	      "  -h, --help     this text\n",
	      out);
}

static enum opts_result check_opts__parse(int argc, char **argv, int *verbosity, char *err,
					  size_t err_size)
{
	static const struct option long_options[] = {
		OPTS_COMMON_LONG_OPTIONS,
	};
	enum opts_result r;
	int c;

	*verbosity = 0;
	optind = 0; /* glibc: a full re-initialisation, so that parsing can be repeated */
	opterr = 0; /* our own messages */
	while ((c = getopt_long(argc, argv, ":vh", long_options, NULL)) != -1) {
		switch (c) {
		default:
			if ((r = opts__common(c, argc, argv, verbosity, err, err_size)))
				return r;
		}
	}
	return opts__no_operands(argc, argv, err, err_size);
}

int cmd_check(int argc, char **argv)
{
	struct mounts m;
	struct features f;
	char tracefs_detail[PATH_MAX + 64], cgroup_detail[PATH_MAX + 64];
	char caps_detail[128], ptrace_detail[128];
	const char *missing_cap = NULL, *optional_cap;
	const char *sampler = NULL;
	bool core_ok, loaded;
	int err, caps_err, verbosity;
	char msg[256];

	err = check_opts__parse(argc, argv, &verbosity, msg, sizeof(msg));
	if (err != OPTS_OK)
		return opts__exit_status(err, "check", msg, check_usage);
	opts__add_verbosity(verbosity);
	err = mounts__discover(&m, "/proc/self/mountinfo");
	if (err) {
		p_err("failed to read '/proc/self/mountinfo': %s", strerror(-err));
		return 1;
	}
	features__probe(&f, &m);
	caps_err = caps__check(&missing_cap);
	snprintf(caps_detail, sizeof(caps_detail), "%s",
		 caps_err ? (missing_cap ? missing_cap : "capget failed")
			  : "CAP_BPF, CAP_PERFMON (or CAP_SYS_ADMIN) in the effective set");
	optional_cap = caps__check_optional();
	snprintf(ptrace_detail, sizeof(ptrace_detail), "%s",
		 optional_cap ? "missing: allocation attribution cannot read other processes' maps"
			      : "read other processes' maps and files (attribution tier)");
	snprintf(cgroup_detail, sizeof(cgroup_detail), "%s (memory controller on %s)",
		 m.cgroup2[0] ? m.cgroup2 : "not mounted",
		 m.memcg_on_v2	 ? "v2"
		 : m.memcg_v1[0] ? "v1"
				 : "neither");
	snprintf(
		tracefs_detail, sizeof(tracefs_detail), "%s",
		m.tracefs[0]
			? m.tracefs
			: "not mounted: needed by --trace-mm's syscall tracepoints (memobs mounts it then)");

	{
		const struct check_row rows[] = {
			{ "capabilities", caps_err == 0, true, caps_detail },
			{ "CAP_SYS_PTRACE", optional_cap == NULL, false, ptrace_detail },
			{ "bpf()", f.bpf_syscall, true,
			  f.bpf_syscall
				  ? "bpf() usable"
				  : "bpf() refused: needs CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN" },
			{ "btf", f.btf, true, "/sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)" },
			{ "ringbuf", f.ringbuf, true, "BPF_MAP_TYPE_RINGBUF (Linux 5.8+)" },
			{ "iter/task", f.task_iter, true,
			  "BPF task iterator: the always-on sampler where the process walk is absent, "
			  "one record per thread" },
			{ "process walk", f.proc_walk, false,
			  f.proc_walk_disabled
				  ? "bpf_iter_task_new(BPF_TASK_ITER_ALL_PROCS) (6.7+): not used, "
				    "MEMOBS_SAMPLER=iter/task is set"
				  : "bpf_iter_task_new(BPF_TASK_ITER_ALL_PROCS) in a syscall program "
				    "(6.7+): one record per process" },
			{ "cgroup2", f.cgroup2, true, cgroup_detail },
			{ "oom:mark_victim", f.oom_tp_exists, false,
			  f.oom_tp_task ? "tp_btf (passes the victim task, 6.8+)"
					: "classic tracepoint (needs tracefs)" },
			{ "tracefs", f.tracefs, false, tracefs_detail },
			{ "uprobes", f.uprobes, false,
			  "uprobe PMU: allocation tracing (attribution tier)" },
			{ "uprobe sessions", f.uprobe_session, false,
			  "kfunc bpf_session_is_return (6.13+): return probes only on sampled calls" },
			{ "page-fault events", f.fault_events, false,
			  "software perf event per thread: an escalation's fault samples (its mmap "
			  "and sbrk samples are uprobes; neither needs tracefs)" },
		};

		core_ok = print_rows(rows, ARRAY_SIZE(rows));
	}
	loaded = core_ok && try_load(&f, &sampler);
	printf("%-8s %-22s %s\n", loaded ? "ok" : "MISSING", "load+attach",
	       loaded ? "the always-on tier loads, attaches and samples here"
		      : "the always-on tier did not load (see the messages above)");
	if (loaded)
		printf("%-8s %-22s %s\n", "ok", "sampler in use",
		       strcmp(sampler, "iter/task") ? "process walk (one record per process)"
						    : "iter/task (one record per thread)");
	return loaded ? 0 : 1;
}
