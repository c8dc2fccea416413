// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli/opts.h"

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

int parse_seconds(const char *s, double max_s, double *out)
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
	if (!(v > 0) || v > max_s)
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
	};
	const char *unit;
	double v;
	size_t i;

	if (parse_decimal(s, &v, &unit))
		return -EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
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
