// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The number formats of `memobs top` (util/fmt.c) get figures off the
 * snapshot socket, any double at all: each must stay within its documented
 * width. The names (cgroup paths, labels) must come out free of control
 * characters and within their columns.
 */
#include <math.h>
#include "util/fmt.h"
#include "fuzz.h"

static double take_double(const uint8_t *data, size_t size)
{
	uint64_t bits = 0;
	double d;

	memcpy(&bits, data, size < 8 ? size : 8);
	memcpy(&d, &bits, sizeof(d));
	return d;
}

static void check_width(const char *s, size_t width, const char *what, double v)
{
	if (strlen(s) > width) {
		fprintf(stderr, "%s(%.17g) = \"%s\": %zu > %zu columns\n", what, v, s, strlen(s),
			width);
		abort();
	}
}

static void numbers(double v)
{
	char buf[64];

	check_width(fmt_rate(buf, sizeof(buf), v), FMT_RATE_WIDTH, "fmt_rate", v);
	check_width(fmt_count(buf, sizeof(buf), v), FMT_COUNT_WIDTH, "fmt_count", v);
	check_width(fmt_duration(buf, sizeof(buf), v), FMT_DURATION_WIDTH, "fmt_duration", v);
	if (isfinite(v) && v >= 0 && v < 0x1p64)
		check_width(fmt_size(buf, sizeof(buf), (__u64)v), FMT_SIZE_WIDTH, "fmt_size", v);
}

static void names(const char *s, size_t width, bool utf8)
{
	char buf[3 * 128 + 1];
	size_t cols = 0;

	fmt_cgroup_name(buf, sizeof(buf), s, NULL, width, utf8);
	for (const unsigned char *u = (const unsigned char *)buf; *u; u++) {
		FUZZ_ASSERT(*u >= 0x20 && *u != 0x7f);
		cols += (*u & 0xc0) != 0x80;
	}
	FUZZ_ASSERT(cols <= width || width < 3);
	fmt_sanitize(buf, sizeof(buf), s, width);
	FUZZ_ASSERT(strlen(buf) <= width);
	for (const unsigned char *u = (const unsigned char *)buf; *u; u++)
		FUZZ_ASSERT(*u >= 0x20 && *u < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	/* the first 8 bytes as a double's bits and as an integer's */
	numbers(take_double(data, size));
	if (size >= 8) {
		uint64_t u;

		memcpy(&u, data, 8);
		numbers((double)u);
		numbers(-(double)u);
	}
	s = fuzz_strdup(data + 1, size - 1);
	names(s, data[0] % 128, data[0] & 0x80);
	free(s);
	return 0;
}
