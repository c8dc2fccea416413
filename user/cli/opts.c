// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "attribute/attr.h"
#include "cli/opts.h"
#include "model/caller.h"
#include "util/array.h"
#include "util/log.h"

/* strtod that refuses empty input, hex, inf/nan and leading blanks. */
static int parse_decimal(const char *s, double *out, const char **rest)
{
	char *end;

	if (!s || !(isdigit((unsigned char)s[0]) || (s[0] == '.' && isdigit((unsigned char)s[1]))))
		return -EINVAL;
	if (strchr(s, 'x') || strchr(s, 'X'))
		return -EINVAL;
	errno = 0;
	*out = strtod(s, &end);
	if (errno || !isfinite(*out))
		return -EINVAL;
	*rest = end;
	return 0;
}

int parse_seconds(const char *s, double min_s, double max_s, double *out)
{
	const char *unit;
	double v, mult = 1;

	if (parse_decimal(s, &v, &unit))
		return -EINVAL;
	if (!strcmp(unit, "") || !strcmp(unit, "s"))
		mult = 1;
	else if (!strcmp(unit, "ms"))
		mult = 1e-3;
	else if (!strcmp(unit, "m"))
		mult = 60;
	else if (!strcmp(unit, "h"))
		mult = 3600;
	else
		return -EINVAL;
	v *= mult;
	if (!(v > 0) || v < min_s || v > max_s)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_u64(const char *s, __u64 min, __u64 max, __u64 *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_bytes(const char *s, __u64 *out)
{
	static const struct {
		const char *suffix;
		double mult;
	} units[] = {
		{ "", 1 },
		{ "B", 1 },
		{ "K", 1024.0 },
		{ "KiB", 1024.0 },
		{ "k", 1024.0 },
		{ "M", 1048576.0 },
		{ "MiB", 1048576.0 },
		{ "G", 1073741824.0 },
		{ "GiB", 1073741824.0 },
		{ "T", 1099511627776.0 },
		{ "TiB", 1099511627776.0 },
	};
	const char *unit;
	double v;
	size_t i;

	if (parse_decimal(s, &v, &unit))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(unit, units[i].suffix))
			continue;
		v *= units[i].mult;
		if (v > 9.0e18)
			return -EINVAL;
		*out = (__u64)llround(v);
		return 0;
	}
	return -EINVAL;
}

enum opts_result opts__fail(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
	return OPTS_USAGE_ERROR;
}

enum opts_result opts__bad_value(char *err, size_t err_size, const char *opt, const char *value,
				 const char *want)
{
	return opts__fail(err, err_size, "invalid value '%s' for --%s: expected %s", value, opt,
			  want);
}

enum opts_result opts__getopt_error(int c, int argc, char **argv, char *err, size_t err_size)
{
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
	char name[3] = { '-', (char)optopt, '\0' };

	/* a short option may sit in a bundle ("-vd"): name the letter itself */
	if (strncmp(arg, "--", 2) && optopt > 0 && optopt < 128 && isprint(optopt))
		arg = name;
	if (c == ':')
		return opts__fail(err, err_size, "option '%s' needs a value", arg);
	return opts__fail(err, err_size, "unknown option '%s'", arg);
}

#define MAX_SAMPLE_BYTES (1ULL << 40)

enum opts_result opts__sample_bytes(const char *arg, __u64 *out, char *err, size_t err_size)
{
	if (parse_bytes(arg, out) || !*out || *out > MAX_SAMPLE_BYTES)
		return opts__bad_value(err, err_size, "malloc-sample-bytes", arg,
				       "bytes from 1 to 1T (e.g. 512K, 4096, 1)");
	return OPTS_OK;
}

enum opts_result opts__stack_bytes(const char *arg, __u32 *out, char *err, size_t err_size)
{
	__u64 v;

	if (parse_bytes(arg, &v) || (v && (v < 256 || v > MEMOBS_USTACK_MAX)))
		return opts__bad_value(err, err_size, "stack-bytes", arg,
				       "0 (frame pointers only) or bytes from 256 to 16K");
	/* the attribution tier's "none" is its own value: 0 there means the default */
	*out = v ? (__u32)v : ATTR_FP_ONLY;
	return OPTS_OK;
}

/* Quoted in a message: a list of 64 globs would push the reason off the line. */
#define WRAPPERS_QUOTE_MAX 40

enum opts_result opts__wrappers(const char *arg, const char **out, char *err, size_t err_size)
{
	const char *more = strlen(arg) > WRAPPERS_QUOTE_MAX ? "..." : "";
	size_t which;

	switch (caller_wrappers__check(arg, &which)) {
	case 0:
		*out = arg;
		return OPTS_OK;
	case -E2BIG:
		return opts__fail(err, err_size,
				  "invalid value '%.*s%s' for --wrappers: %zu patterns, at most %d",
				  WRAPPERS_QUOTE_MAX, arg, more, which, CALLER_MAX_WRAPPERS);
	case -ENAMETOOLONG:
		return opts__fail(
			err, err_size,
			"invalid value '%.*s%s' for --wrappers: pattern %zu is longer than "
			"%d bytes",
			WRAPPERS_QUOTE_MAX, arg, more, which, CALLER_WRAPPER_MAX_LEN);
	default:
		return opts__fail(err, err_size,
				  "invalid value '%.*s%s' for --wrappers: pattern %zu is empty "
				  "(expected function globs separated by commas)",
				  WRAPPERS_QUOTE_MAX, arg, more, which);
	}
}

enum opts_result opts__common(int c, int argc, char **argv, int *verbosity, char *err,
			      size_t err_size)
{
	switch (c) {
	case 'v':
		(*verbosity)++;
		return OPTS_OK;
	case 'h':
		return OPTS_EXIT_OK;
	default:
		return opts__getopt_error(c, argc, argv, err, err_size);
	}
}

enum opts_result opts__no_operands(int argc, char **argv, char *err, size_t err_size)
{
	if (optind >= argc)
		return OPTS_OK;
	return opts__fail(err, err_size, "unexpected argument '%s'", argv[optind]);
}

int opts__exit_status(enum opts_result r, const char *cmd, const char *err,
		      void (*usage)(FILE *out))
{
	if (r == OPTS_EXIT_OK) {
		if (usage)
			usage(stdout);
		return 0;
	}
	if (cmd)
		fprintf(stderr, "memobs %s: %s (see 'memobs %s --help')\n", cmd, err, cmd);
	else
		fprintf(stderr, "memobs: %s (see 'memobs --help')\n", err);
	return OPTS_EXIT_USAGE;
}

void opts__add_verbosity(int n)
{
	while (n-- > 0 && log_level < LOG_DEBUG)
		log_level++;
}
