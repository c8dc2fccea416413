// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "collect/libbpf_log.h"
#include "util/log.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf is chatty and its warnings repeat what we report ourselves. */
	if (log_level < LOG_DEBUG)
		return 0;
	(void)level;
	/* libbpf's own format strings begin with "libbpf: " */
	return vfprintf(stderr, fmt, ap);
}

void libbpf_log__install(void)
{
	libbpf_set_print(libbpf_print);
}
