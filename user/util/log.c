// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include "util/log.h"

enum log_level log_level = LOG_INFO; /* the one default: -v raises it to debug */

static const char *const level_prefix[] = {
	[LOG_ERROR] = "memobs: error: ",
	[LOG_WARN] = "memobs: warning: ",
	[LOG_INFO] = "memobs: ",
	[LOG_DEBUG] = "memobs: debug: ",
};

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	fputs(level_prefix[level], stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
