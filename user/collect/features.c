// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "collect/features.h"

/* The number of arguments a BTF tracepoint passes, or -1 when it does not exist. */
static int tp_btf_nr_args(const struct btf *btf, const char *tp)
{
	char name[128];
	const struct btf_type *t;
	int id;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id < 0)
		return -1;
	t = btf__type_by_id(btf, id); /* typedef -> pointer -> func proto */
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t))
		return -1;
	return btf_vlen(t) - 1; /* the first argument is the tracepoint's void *data */
}

/*
 * An escalation samples its suspect's page faults with a software perf event
 * per thread: one on memobs itself, disabled, says whether they open here
 * (CONFIG_PERF_EVENTS, perf_event_paranoid against the capabilities held).
 */
static bool probe_fault_event(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_PAGE_FAULTS,
		.disabled = 1,
	};
	int fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

void features__probe(struct features *f, const struct mounts *m)
{
	struct btf *btf;
	const char *env;

	memset(f, 0, sizeof(*f));
	f->cgroup2 = m->cgroup2[0] != '\0';
	f->tracefs = m->tracefs[0] != '\0';
	f->uprobes = access("/sys/bus/event_source/devices/uprobe/type", R_OK) == 0;
	f->fault_events = probe_fault_event();
	f->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	/* any answer but EPERM/ENOSYS means bpf() is usable */
	f->bpf_syscall = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_ARRAY, NULL) == 1;

	f->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	if (!f->btf)
		return;
	btf = btf__load_vmlinux_btf();
	if (!btf) {
		f->btf = false;
		return;
	}
	f->task_iter = btf__find_by_name_kind(btf, "bpf_iter__task", BTF_KIND_STRUCT) > 0;
	/* 6.8 turned mark_victim(int pid) into mark_victim(struct task_struct *, uid_t) */
	f->oom_tp_exists = tp_btf_nr_args(btf, "mark_victim") >= 1;
	f->oom_tp_task = tp_btf_nr_args(btf, "mark_victim") >= 2;
	f->uprobe_session = btf__find_by_name_kind(btf, "bpf_session_is_return", BTF_KIND_FUNC) > 0;
	/* 6.7 added BPF_TASK_ITER_ALL_PROCS with the task iterator kfuncs themselves */
	f->proc_walk = btf__find_by_name_kind(btf, "bpf_iter_task_new", BTF_KIND_FUNC) > 0 &&
		       btf__find_by_name_kind(btf, "bpf_task_acquire", BTF_KIND_FUNC) > 0 &&
		       btf__find_by_name_kind(btf, "bpf_rcu_read_lock", BTF_KIND_FUNC) > 0 &&
		       libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SYSCALL, NULL) == 1;
	/* a switch for tests and benchmarks: the older sampler on a kernel that has both */
	env = getenv("MEMOBS_SAMPLER");
	f->proc_walk_disabled = env && strcmp(env, "iter/task") == 0;
	btf__free(btf);
}
