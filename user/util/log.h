/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* People read stderr: one helper per level, level checked before formatting. */
#ifndef MEMOBS_LOG_H
#define MEMOBS_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern enum log_level log_level;

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define p_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define p_warn(...)                                     \
	do {                                            \
		if (log_level >= LOG_WARN)              \
			log_msg(LOG_WARN, __VA_ARGS__); \
	} while (0)
#define p_info(...)                                     \
	do {                                            \
		if (log_level >= LOG_INFO)              \
			log_msg(LOG_INFO, __VA_ARGS__); \
	} while (0)
#define p_debug(...)                                     \
	do {                                             \
		if (log_level >= LOG_DEBUG)              \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif /* MEMOBS_LOG_H */
