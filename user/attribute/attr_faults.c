// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Page-fault sampling for the processes an escalation traces. A software
 * perf event (PERF_COUNT_SW_PAGE_FAULTS, period 1) on each of their threads
 * runs memobs_fault_sample (bpf/alloc_trace.bpf.c), which samples faults by
 * bytes like allocations. The events are per task: the faults of every other
 * process on the node run no program (the page_fault_user tracepoint would
 * run one for each, ~130 ns: ../shared/reference/costs.md). With inherit
 * set, the threads and children a traced thread makes later get their own
 * copy from the kernel, program included.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "attribute/attr_internal.h"
#include "util/log.h"
#include "util/procfs.h"

static int open_fault_event(int tid)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_PAGE_FAULTS,
		.sample_period = 1, /* the program samples by bytes itself */
		.inherit = 1,
		.exclude_hv = 1,
	};
	int fd = syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static void fault_attach_failed(struct attr *a, int tid, int err)
{
	a->attach_failures++;
	if (a->warned_faults)
		return;
	a->warned_faults = true;
	p_warn("page faults of thread %d not sampled: %s%s (counted in attach_failures, said once)",
	       tid, err == -E2BIG ? "too many fault events open" : strerror(-err),
	       err == -EACCES || err == -EPERM ? " (perf_event_open needs CAP_PERFMON)"
	       : err == -ENOENT || err == -EOPNOTSUPP
		       ? " (no software perf events: CONFIG_PERF_EVENTS)"
		       : "");
}

static int attach_thread(struct attr *a, int tid, struct traced_pid *tp)
{
	struct bpf_link *link;
	int fd, err;

	if (a->fault_events >= ATTR_MAX_FAULT_EVENTS)
		return -E2BIG;
	fd = open_fault_event(tid);
	if (fd < 0)
		return fd;
	link = bpf_program__attach_perf_event(a->skel->progs.memobs_fault_sample, fd);
	if (!link) {
		err = -errno;
		close(fd);
		return err;
	}
	/* the link owns the event's fd: destroying it closes both */
	if ((err = link_vec__push(&tp->links, link, -1))) {
		bpf_link__destroy(link);
		return err;
	}
	a->fault_events++;
	tp->fault_events++;
	return 0;
}

void attr_attach_faults(struct attr *a, int pid, struct traced_pid *tp)
{
	char dir[64];
	struct dirent *de;
	uint64_t parent_tp;
	int ppid, err;
	DIR *d;

	if (!a->opts.mm_escalation || tp->fault_events)
		return;
	/* a child of a traced process inherited its parent's events at fork */
	ppid = (int)proc_pid_stat_field(pid, 4);
	if (ppid > 0 && u64map_get(&a->traced, ppid, &parent_tp))
		return;
	snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
	d = opendir(dir);
	if (!d)
		return; /* gone: the exit is reaped at the next tick */
	while ((de = readdir(d))) {
		int tid = atoi(de->d_name);

		if (tid <= 0)
			continue;
		err = attach_thread(a, tid, tp);
		if (err && err != -ESRCH)
			fault_attach_failed(a, tid, err);
	}
	closedir(d);
}
