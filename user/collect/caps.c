// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "collect/caps.h"
#include "util/array.h"
#include "util/log.h"
#include "util/procfs.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define BIT(cap) (1ULL << (cap))

static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

const char *caps__name(int cap)
{
	if (cap < 0 || cap >= (int)ARRAY_SIZE(cap_names))
		return "CAP_?";
	return cap_names[cap];
}

int caps__last_cap(void)
{
	char *text = NULL;
	int err, last;

	err = read_small_file("/proc/sys/kernel/cap_last_cap", &text);
	if (err)
		return err;
	last = atoi(text);
	free(text);
	return last > 0 && last < 64 ? last : -EINVAL;
}

static bool kernel_has_cap_bpf(int last_cap)
{
	return last_cap >= CAP_BPF;
}

const char *caps__first_missing(__u64 effective, int last_cap)
{
	bool sys_admin = effective & BIT(CAP_SYS_ADMIN);

	if (!kernel_has_cap_bpf(last_cap)) {
		if (!sys_admin)
			return "CAP_SYS_ADMIN";
	} else if (!sys_admin) {
		if (!(effective & BIT(CAP_BPF)))
			return "CAP_BPF";
		if (!(effective & BIT(CAP_PERFMON)))
			return "CAP_PERFMON";
	}
	if (!(effective & BIT(CAP_DAC_READ_SEARCH)))
		return "CAP_DAC_READ_SEARCH";
	return NULL;
}

const char *caps__first_missing_optional(__u64 effective)
{
	return effective & BIT(CAP_SYS_PTRACE) ? NULL : "CAP_SYS_PTRACE";
}

struct capsets {
	__u64 effective, permitted, inheritable;
};

static int caps_get(struct capsets *out)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	out->effective = data[0].effective | (__u64)data[1].effective << 32;
	out->permitted = data[0].permitted | (__u64)data[1].permitted << 32;
	out->inheritable = data[0].inheritable | (__u64)data[1].inheritable << 32;
	return 0;
}

static int caps_set(const struct capsets *in)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {
		{ (__u32)in->effective, (__u32)in->permitted, (__u32)in->inheritable },
		{ in->effective >> 32, in->permitted >> 32, in->inheritable >> 32 },
	};

	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

int caps__drop_all(void)
{
	struct capsets none = {}, left;
	int cap, last_cap = caps__last_cap(), err;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* needs CAP_SETPCAP: best effort (no_new_privs and an empty permitted set hold anyway) */
	for (cap = 0; cap <= (last_cap < 0 ? 63 : last_cap); cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			break;
	if ((err = caps_set(&none)) || (err = caps_get(&left)))
		return err;
	return left.effective | left.permitted ? -EPERM : 0;
}

__u64 caps__effective(void)
{
	struct capsets sets;

	return caps_get(&sets) ? 0 : sets.effective;
}

int caps__check(const char **missing)
{
	struct capsets sets;
	int err, last_cap;

	*missing = NULL;
	err = caps_get(&sets);
	if (err)
		return err;
	last_cap = caps__last_cap();
	/* no /proc: assume a kernel with CAP_BPF, the stricter check */
	*missing = caps__first_missing(sets.effective, last_cap < 0 ? CAP_BPF : last_cap);
	return *missing ? -EPERM : 0;
}

const char *caps__check_optional(void)
{
	struct capsets sets;

	if (caps_get(&sets))
		return "CAP_SYS_PTRACE";
	return caps__first_missing_optional(sets.effective);
}

__u64 caps__runtime_set(int last_cap, bool runtime_attach)
{
	bool modern = kernel_has_cap_bpf(last_cap);
	__u64 keep = modern ? BIT(CAP_BPF) : BIT(CAP_SYS_ADMIN);

	if (runtime_attach) {
		keep |= modern ? BIT(CAP_PERFMON) : 0;
		keep |= BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH);
	}
	return keep;
}

int caps__drop_after_attach(bool runtime_attach)
{
	struct capsets sets, kept;
	int last_cap, cap, err;
	__u64 keep;

	last_cap = caps__last_cap();
	if (last_cap < 0)
		last_cap = CAP_BPF;
	keep = caps__runtime_set(last_cap, runtime_attach);
	err = caps_get(&sets);
	if (err)
		return err;

	/* without it, a root execve could gain back what is dropped below */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	/* the bounding set needs CAP_SETPCAP, which a DaemonSet does not grant: best effort */
	if (sets.effective & BIT(CAP_SETPCAP)) {
		for (cap = 0; cap <= last_cap; cap++) {
			if (keep & BIT(cap))
				continue;
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
				return -errno;
		}
	} else {
		p_debug("bounding set left as is: no CAP_SETPCAP (no_new_privs holds it)");
	}

	kept.permitted = sets.permitted & keep;
	kept.effective = kept.permitted;
	kept.inheritable = 0;
	return caps_set(&kept);
}
