// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "collect/caps.h"

#define BIT(cap) (1ULL << (cap))
#define CAP_DAC_READ_SEARCH 2
#define CAP_SETPCAP 8
#define CAP_SYS_PTRACE 19
#define CAP_SYS_ADMIN 21
#define CAP_PERFMON 38
#define CAP_BPF 39
#define KERNEL_5_8 40 /* cap_last_cap of a kernel with CAP_BPF */
#define KERNEL_5_4 37

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(caps__name(0), "CAP_CHOWN");
	assert_string_equal(caps__name(CAP_SYS_PTRACE), "CAP_SYS_PTRACE");
	assert_string_equal(caps__name(CAP_SYS_ADMIN), "CAP_SYS_ADMIN");
	assert_string_equal(caps__name(CAP_PERFMON), "CAP_PERFMON");
	assert_string_equal(caps__name(CAP_BPF), "CAP_BPF");
	assert_string_equal(caps__name(40), "CAP_CHECKPOINT_RESTORE");
	assert_string_equal(caps__name(41), "CAP_?");
	assert_string_equal(caps__name(-1), "CAP_?");
}

struct missing_case {
	__u64 effective;
	int last_cap;
	const char *missing;
};

static void test_first_missing(void **state)
{
	const __u64 daemonset = BIT(CAP_BPF) | BIT(CAP_PERFMON) | BIT(CAP_SYS_PTRACE) |
				BIT(CAP_DAC_READ_SEARCH);
	const struct missing_case cases[] = {
		{ daemonset, KERNEL_5_8, NULL },
		{ daemonset & ~BIT(CAP_BPF), KERNEL_5_8, "CAP_BPF" },
		{ daemonset & ~BIT(CAP_PERFMON), KERNEL_5_8, "CAP_PERFMON" },
		{ daemonset & ~BIT(CAP_DAC_READ_SEARCH), KERNEL_5_8, "CAP_DAC_READ_SEARCH" },
		{ 0, KERNEL_5_8, "CAP_BPF" },
		/* the privileged fallback: CAP_SYS_ADMIN stands for CAP_BPF and CAP_PERFMON */
		{ BIT(CAP_SYS_ADMIN) | BIT(CAP_DAC_READ_SEARCH), KERNEL_5_8, NULL },
		/* kernels before 5.8 know no CAP_BPF: CAP_SYS_ADMIN is required */
		{ daemonset, KERNEL_5_4, "CAP_SYS_ADMIN" },
		{ BIT(CAP_SYS_ADMIN) | BIT(CAP_DAC_READ_SEARCH), KERNEL_5_4, NULL },
		{ ~0ULL, KERNEL_5_8, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = caps__first_missing(cases[i].effective, cases[i].last_cap);

		if (cases[i].missing)
			assert_string_equal(got, cases[i].missing);
		else
			assert_null(got);
	}
	assert_string_equal(caps__first_missing_optional(daemonset & ~BIT(CAP_SYS_PTRACE)),
			    "CAP_SYS_PTRACE");
	assert_null(caps__first_missing_optional(daemonset));
}

static void test_runtime_set(void **state)
{
	(void)state;
	assert_int_equal(caps__runtime_set(KERNEL_5_8, false), BIT(CAP_BPF));
	assert_int_equal(caps__runtime_set(KERNEL_5_8, true), BIT(CAP_BPF) | BIT(CAP_PERFMON) |
								      BIT(CAP_SYS_PTRACE) |
								      BIT(CAP_DAC_READ_SEARCH));
	assert_int_equal(caps__runtime_set(KERNEL_5_4, false), BIT(CAP_SYS_ADMIN));
	assert_int_equal(caps__runtime_set(KERNEL_5_4, true),
			 BIT(CAP_SYS_ADMIN) | BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH));
}

/* A child drops for real; the parent's capabilities are untouched. */
static void drop_in_child(bool runtime_attach)
{
	int last_cap = caps__last_cap(), status;
	__u64 before = caps__effective(), keep;
	pid_t pid;

	assert_true(last_cap > 0);
	keep = caps__runtime_set(last_cap, runtime_attach);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (caps__drop_after_attach(runtime_attach))
			_exit(2);
		if (caps__effective() != (before & keep))
			_exit(3);
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			_exit(4);
		/* where the bounding set could be cleared, it was */
		if ((before & BIT(CAP_SETPCAP)) &&
		    prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0)
			_exit(5);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(caps__effective(), before);
}

static void test_drop(void **state)
{
	(void)state;
	drop_in_child(false);
	drop_in_child(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_first_missing),
		cmocka_unit_test(test_runtime_set),
		cmocka_unit_test(test_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
