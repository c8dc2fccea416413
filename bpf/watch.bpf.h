/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The scope of the attribution tier: every hook of that tier asks first
 * whether the current task belongs to a cgroup under watch (or whether
 * tracing is host-wide) and returns at once otherwise.
 */
#ifndef MEMOBS_WATCH_BPF_H
#define MEMOBS_WATCH_BPF_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "memobs.h"
#include "attr_stack.bpf.h" /* memobs_watched_cgroups */

/* Set before load: trace every cgroup (--malloc / --trace-mm host-wide). */
const volatile bool memobs_watch_all = false;

static __always_inline bool memobs_current_watched(void)
{
	__u64 cgroup_id;

	if (memobs_watch_all)
		return true;
	cgroup_id = bpf_get_current_cgroup_id();
	return bpf_map_lookup_elem(&memobs_watched_cgroups, &cgroup_id) != NULL;
}

#endif /* MEMOBS_WATCH_BPF_H */
