/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Capabilities: checked at start (a failed start names the missing one) and
 * dropped once the BPF side is attached. Raw capget/capset, no libcap.
 *
 * What each is for:
 *   CAP_BPF          load programs, create maps, read them at run time (the
 *                    bpf() syscall is gated on it where unprivileged BPF is off);
 *   CAP_PERFMON      attach tracepoints and uprobes (perf events);
 *   CAP_SYS_ADMIN    stands for both on kernels before 5.8, which lack them;
 *   CAP_SYS_PTRACE   read other users' /proc/PID/maps and /proc/PID/root:
 *                    needed for allocation attribution, optional otherwise;
 *   CAP_DAC_READ_SEARCH  read files that the observed programs own
 *                    (binaries and their debug info, for symbols).
 * CAP_SYS_RESOURCE (RLIMIT_MEMLOCK) only matters before 5.11, where BPF
 * memory was not charged to the memory cgroup; it is not checked.
 */
#ifndef MEMOBS_CAPS_H
#define MEMOBS_CAPS_H

#include <stdbool.h>
#include <linux/types.h>

/* "CAP_BPF" for 39; "CAP_?" beyond the table. */
const char *caps__name(int cap);

/* The kernel's highest capability (/proc/sys/kernel/cap_last_cap), or -errno. */
int caps__last_cap(void);

/*
 * Pure: the first required capability missing from an effective set on a
 * kernel whose highest capability is last_cap, or NULL. Kernels without
 * CAP_BPF (last_cap < 39) need CAP_SYS_ADMIN instead of CAP_BPF and
 * CAP_PERFMON; CAP_SYS_ADMIN also stands for them on newer kernels.
 */
const char *caps__first_missing(__u64 effective, int last_cap);
/* Pure: the same for the optional ones (CAP_SYS_PTRACE), or NULL. */
const char *caps__first_missing_optional(__u64 effective);

/*
 * Checks this process's effective set. Returns 0, or -EPERM with *missing
 * naming the first required capability missing; -errno if capget fails.
 */
int caps__check(const char **missing);
/* The first optional capability missing (needed for attribution), or NULL. */
const char *caps__check_optional(void);

/*
 * Pure: the set kept after attaching. The loop still calls bpf() (the task
 * iterator's instance each pass, map reads): CAP_BPF, since kernels before
 * 6.5 refuse every bpf() command without it when unprivileged BPF is off
 * (the default); 6.5 and later check only map and program creation, and the
 * loop runs with no capability at all there. With the attribution tier
 * running (runtime_attach: escalation, --malloc, --trace-mm), also
 * CAP_PERFMON to attach uprobes, and CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH
 * to read the targets' maps and binaries; without it these three go, so no
 * capability backs the parsers of other programs' files. Pre-5.8 kernels:
 * CAP_SYS_ADMIN in place of CAP_BPF and CAP_PERFMON.
 */
__u64 caps__runtime_set(int last_cap, bool runtime_attach);

/*
 * After attaching: sets no_new_privs, clears the ambient set, drops every
 * other capability from the bounding set (when CAP_SETPCAP allows) and from
 * the permitted, effective and inheritable sets. Returns 0 or -errno.
 */
int caps__drop_after_attach(bool runtime_attach);

/* This process's effective set as a mask (bit n: capability n), or 0 on error. */
__u64 caps__effective(void);
/*
 * Gives up every capability for good (a process that parses hostile input):
 * no_new_privs, the ambient set cleared, the bounding set dropped where
 * CAP_SETPCAP allows, then empty sets, read back. Returns 0, -EPERM when any
 * capability is left, or -errno. Logs nothing: a forked child may call it.
 */
int caps__drop_all(void);

#endif /* MEMOBS_CAPS_H */
