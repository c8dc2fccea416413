/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one convention of every command's options: option values (numbers,
 * durations, byte sizes), one parse result, and one form of a usage error:
 *   memobs CMD: WHAT WAS WRONG, NAMING THE VALUE (see 'memobs CMD --help')
 * on one line of stderr, exit status 2. The parsers are pure: they fill an
 * opts struct and an error buffer, and the command prints (opts__exit_status).
 */
#ifndef MEMOBS_OPTS_H
#define MEMOBS_OPTS_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

enum opts_result {
	OPTS_OK = 0,	  /* parsed: the command goes on */
	OPTS_EXIT_OK,	  /* --help: the usage goes to stdout, exit 0 */
	OPTS_USAGE_ERROR, /* bad input: the reason is in the error buffer, exit 2 */
};

/* The exit status of a usage error (bad input on the command line). */
#define OPTS_EXIT_USAGE 2

/* The shortest period any option accepts: below it a timer or a pass is all overhead. */
#define OPTS_MIN_SECONDS 0.01

/* Seconds as "1", "0.5", "30s", "250ms", "5m", "2h", from min_s to max_s. Returns 0 or -EINVAL. */
int parse_seconds(const char *s, double min_s, double max_s, double *out);
/* A whole number in [min, max]. Returns 0 or -EINVAL. */
int parse_u64(const char *s, __u64 min, __u64 max, __u64 *out);
/* Bytes as "4096", "32K", "32KiB", "1.5M", "2G", "1T" (powers of 1024). Returns 0 or -EINVAL. */
int parse_bytes(const char *s, __u64 *out);

/* Writes the reason of a usage error (one line, naming the value) into err. */
enum opts_result opts__fail(char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "invalid value 'VALUE' for --OPT: expected WANT" into err. */
enum opts_result opts__bad_value(char *err, size_t err_size, const char *opt, const char *value,
				 const char *want);
/*
 * The reason for what getopt_long() returned when it is neither an option of
 * the table nor 'h'/'v': ':' (a value is missing) or '?' (an unknown option).
 * opterr must be 0 and optstring start with ':'.
 */
enum opts_result opts__getopt_error(int c, int argc, char **argv, char *err, size_t err_size);
/* The long options every command takes (see opts__common), and the table's end. */
/* clang-format off */
#define OPTS_COMMON_LONG_OPTIONS				\
	{ "verbose", no_argument, NULL, 'v' },			\
	{ "help", no_argument, NULL, 'h' },			\
	{ NULL, 0, NULL, 0 }
/* clang-format on */

/* --malloc-sample-bytes (run, leaks): bytes from 1 to 1T. */
enum opts_result opts__sample_bytes(const char *arg, __u64 *out, char *err, size_t err_size);
/* --stack-bytes (run, leaks): 0 (frame pointers only) or 256 to MEMOBS_USTACK_MAX. */
enum opts_result opts__stack_bytes(const char *arg, __u32 *out, char *err, size_t err_size);
/*
 * --wrappers (run, leaks): function globs the caller of a site is not
 * (model/caller.h), checked; *out is arg, for caller_rule__new().
 */
enum opts_result opts__wrappers(const char *arg, const char **out, char *err, size_t err_size);
/*
 * The options every command shares, for the default case of its switch:
 * -v counts into *verbosity (OPTS_OK), -h asks for usage (OPTS_EXIT_OK),
 * anything else is getopt's error (OPTS_USAGE_ERROR, see opts__getopt_error).
 */
enum opts_result opts__common(int c, int argc, char **argv, int *verbosity, char *err,
			      size_t err_size);
/* After the loop, for a command that takes no operands: OPTS_OK, or "unexpected argument". */
enum opts_result opts__no_operands(int argc, char **argv, char *err, size_t err_size);

/*
 * What a command returns when its parse did not give OPTS_OK: for
 * OPTS_EXIT_OK, prints usage on stdout and gives 0; for OPTS_USAGE_ERROR,
 * prints "memobs CMD: ERR (see 'memobs CMD --help')" on stderr ("memobs: ERR
 * (see 'memobs --help')" when cmd is NULL) and gives OPTS_EXIT_USAGE.
 */
int opts__exit_status(enum opts_result r, const char *cmd, const char *err,
		      void (*usage)(FILE *out));
/* -v given n times, before or after the command name: each one raises the log level. */
void opts__add_verbosity(int n);

#endif /* MEMOBS_OPTS_H */
