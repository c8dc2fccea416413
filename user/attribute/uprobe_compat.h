/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Uprobe sessions without library support, in one place.
 *
 * Linux 6.13 (commit d920179b3d48, "bpf: Add support for uprobe multi
 * session attach") lets one BPF program run at a function's entry and, only
 * when the entry returned 0, at its return: calls that are not sampled pay
 * no return probe. libbpf exposes it from 1.5 (SEC("uprobe.session"),
 * bpf_program__attach_uprobe_multi); Debian bookworm ships libbpf 1.1.2 and
 * uapi headers from 6.1, which know neither uprobe_multi (6.6) nor sessions.
 * So the program is loaded as a plain "uprobe" with its expected attach type
 * set by hand, and the link is made with a raw BPF_LINK_CREATE whose attr
 * layout is copied here from include/uapi/linux/bpf.h. When the build moves
 * to libbpf >= 1.5 this header goes and bpf_program__attach_uprobe_multi()
 * with .session = true replaces uprobe_multi_link_create().
 *
 * The kernel is probed for the feature by the kfunc bpf_session_is_return in
 * its BTF (collect/features.c: uprobe_session).
 */
#ifndef MEMOBS_UPROBE_COMPAT_H
#define MEMOBS_UPROBE_COMPAT_H

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/types.h>

/* enum bpf_attach_type values (stable uapi) */
#define MEMOBS_BPF_TRACE_UPROBE_MULTI 48
#define MEMOBS_BPF_TRACE_UPROBE_SESSION 57

/* The head of union bpf_attr's link_create, uprobe_multi arm (uapi, Linux 6.6+). */
struct memobs_uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__aligned_u64 path;
	__aligned_u64 offsets; /* file offsets, as for a uprobe */
	__aligned_u64 ref_ctr_offsets;
	__aligned_u64 cookies; /* bpf_get_attach_cookie() per offset */
	__u32 cnt;
	__u32 multi_flags; /* BPF_F_UPROBE_MULTI_RETURN = 1 */
	__u32 pid;	   /* 0: every process; else only that process (no trap elsewhere) */
};

/*
 * Links a session program to cnt offsets of the file at path, for one
 * process (pid > 0) or all (pid 0). Returns the link fd (close() detaches)
 * or -errno.
 */
static inline int uprobe_multi_link_create(int prog_fd, __u32 attach_type, const char *path,
					   const __u64 *offsets, const __u64 *cookies, __u32 cnt,
					   __u32 pid)
{
	/* the kernel's union is larger than this head: pass a zeroed tail */
	union {
		struct memobs_uprobe_multi_attr head;
		char bytes[sizeof(union bpf_attr) > 160 ? sizeof(union bpf_attr) : 160];
	} attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.head.prog_fd = prog_fd;
	attr.head.attach_type = attach_type;
	attr.head.path = (__u64)(unsigned long)path;
	attr.head.offsets = (__u64)(unsigned long)offsets;
	attr.head.cookies = (__u64)(unsigned long)cookies;
	attr.head.cnt = cnt;
	attr.head.pid = pid;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

#endif /* MEMOBS_UPROBE_COMPAT_H */
