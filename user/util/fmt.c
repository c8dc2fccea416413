// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "util/fmt.h"

/*
 * v in [1, 1000 or 1024): three significant digits at most, so that the
 * figure plus a one-letter suffix fits five columns.
 */
static void put_scaled(char *buf, size_t n, double v, char suffix)
{
	if (v < 9.995)
		snprintf(buf, n, "%.2f%c", v, suffix);
	else if (v < 99.95)
		snprintf(buf, n, "%.1f%c", v, suffix);
	else
		snprintf(buf, n, "%.0f%c", v, suffix);
}

char *fmt_size(char *buf, size_t n, __u64 bytes)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int unit = -1;

	if (bytes == 0) {
		snprintf(buf, n, "0");
		return buf;
	}
	if (bytes < 1024) {
		snprintf(buf, n, "%lluB", (unsigned long long)bytes);
		return buf;
	}
	/* "%.0f" rounds 1023.5 up to "1024": that one goes to the next unit */
	while ((v >= 1023.5 || unit < 0) && unit < 5) {
		v /= 1024;
		unit++;
	}
	put_scaled(buf, n, v, units[unit]);
	return buf;
}

char *fmt_size_double(char *buf, size_t n, double bytes)
{
	if (isnan(bytes)) {
		snprintf(buf, n, "-");
		return buf;
	}
	/* a double of 2^64 or more (UINT64_MAX is one) has no __u64: saturate */
	if (bytes >= 0x1p64)
		return fmt_size(buf, n, ~0ULL);
	return fmt_size(buf, n, bytes > 0 ? (__u64)bytes : 0);
}

char *fmt_rate(char *buf, size_t n, double bytes_per_s)
{
	char size[16];
	double mag = fabs(bytes_per_s);

	if (!isfinite(bytes_per_s)) {
		snprintf(buf, n, "-");
		return buf;
	}
	if (mag < 0.5) {
		snprintf(buf, n, "0/s");
		return buf;
	}
	fmt_size_double(size, sizeof(size), mag + 0.5);
	snprintf(buf, n, "%c%s/s", bytes_per_s < 0 ? '-' : '+', size);
	return buf;
}

char *fmt_count(char *buf, size_t n, double count)
{
	static const char units[] = "kMGTPE";
	int unit = -1;

	if (!isfinite(count) || count < 0) {
		snprintf(buf, n, "-");
		return buf;
	}
	if (count < 999.5) {
		snprintf(buf, n, "%.0f", count);
		return buf;
	}
	while ((count >= 999.5 || unit < 0) && unit < 5) {
		count /= 1000;
		unit++;
	}
	/* past the largest unit: a bound, not 300 digits */
	if (count >= 999.5) {
		snprintf(buf, n, ">999E");
		return buf;
	}
	put_scaled(buf, n, count, units[unit]);
	return buf;
}

char *fmt_duration(char *buf, size_t n, double seconds)
{
	unsigned long long s, m, h, d;

	if (!isfinite(seconds) || seconds < 0) {
		snprintf(buf, n, "-");
		return buf;
	}
	if (seconds >= 100.0 * 86400) {
		snprintf(buf, n, ">99d");
		return buf;
	}
	s = (unsigned long long)seconds;
	m = s / 60;
	h = s / 3600;
	d = s / 86400;
	if (s < 60)
		snprintf(buf, n, "%llus", s);
	else if (m < 10 && s % 60)
		snprintf(buf, n, "%llum%02llus", m, s % 60);
	else if (h < 1)
		snprintf(buf, n, "%llum", m);
	else if (h < 10 && m % 60)
		snprintf(buf, n, "%lluh%02llum", h, m % 60);
	else if (d < 1)
		snprintf(buf, n, "%lluh", h);
	else if (d < 10 && h % 24)
		snprintf(buf, n, "%llud%lluh", d, h % 24);
	else
		snprintf(buf, n, "%llud", d);
	return buf;
}

/* A window whose spread is below this fraction of its top draws flat. */
#define SPARK_MIN_RANGE 0.002

char *fmt_sparkline(char *buf, size_t n, const double *values, size_t nr_values, size_t width,
		    bool utf8)
{
	static const char *const blocks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	static const char ascii[] = "_.-~=+*#";
	size_t first = nr_values > width ? nr_values - width : 0;
	size_t pad = nr_values < width ? width - nr_values : 0;
	double lo = INFINITY, hi = -INFINITY;
	size_t i, len = 0, cell = utf8 ? 3 : 1;

	if (!n)
		return buf;
	buf[0] = '\0';
	for (i = first; i < nr_values; i++) {
		if (!isfinite(values[i]))
			continue;
		lo = fmin(lo, values[i]);
		hi = fmax(hi, values[i]);
	}
	for (i = 0; i < pad && len + 1 < n; i++)
		buf[len++] = ' ';
	for (i = first; i < nr_values && len + cell < n; i++) {
		int level = 0;

		if (!isfinite(values[i])) {
			buf[len++] = ' ';
			continue;
		}
		/* page-sized jitter on a large, steady figure must not look like a saw */
		if (hi - lo > fabs(hi) * SPARK_MIN_RANGE)
			level = (int)lround((values[i] - lo) / (hi - lo) * 7);
		if (utf8) {
			memcpy(buf + len, blocks[level], 3);
			len += 3;
		} else {
			buf[len++] = ascii[level];
		}
	}
	buf[len] = '\0';
	return buf;
}

static char sanitized(char c)
{
	unsigned char u = (unsigned char)c;

	return u < 0x20 || u >= 0x7f ? '?' : c;
}

/* Appends up to len bytes of s, sanitized, keeping room for the NUL. */
static size_t put_sanitized(char *buf, size_t n, size_t at, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && at + 1 < n; i++)
		buf[at++] = sanitized(s[i]);
	buf[at] = '\0';
	return at;
}

static size_t put_ellipsis(char *buf, size_t n, size_t at, bool utf8)
{
	const char *e = utf8 ? "…" : "~";
	size_t len = strlen(e);

	if (at + len >= n)
		return at;
	memcpy(buf + at, e, len);
	at += len;
	buf[at] = '\0';
	return at;
}

char *fmt_sanitize(char *buf, size_t n, const char *s, size_t width)
{
	size_t len = strlen(s);

	if (!n)
		return buf;
	put_sanitized(buf, n, 0, s, len < width ? len : width);
	return buf;
}

/* The first '/' after which the tail fits in width - 1 columns (one for the ellipsis). */
static const char *fitting_tail(const char *path, size_t width)
{
	size_t len = strlen(path);
	const char *slash;

	for (slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		if ((size_t)(path + len - slash) + 1 <= width)
			return slash;
	}
	return NULL;
}

char *fmt_cgroup_name(char *buf, size_t n, const char *path, const char *container_label,
		      size_t width, bool utf8)
{
	const char *name = container_label && *container_label ? container_label : path;
	size_t len, head, at;
	const char *tail;

	if (!n)
		return buf;
	buf[0] = '\0';
	if (!name)
		name = "?";
	len = strlen(name);
	if (len <= width || width < 3)
		return fmt_sanitize(buf, n, name, width);
	if (name == path && (tail = fitting_tail(path, width))) {
		at = put_ellipsis(buf, n, 0, utf8);
		put_sanitized(buf, n, at, tail, strlen(tail));
		return buf;
	}
	/* one component longer than the column: keep both of its ends */
	head = (width - 1) / 2;
	at = put_sanitized(buf, n, 0, name, head);
	at = put_ellipsis(buf, n, at, utf8);
	put_sanitized(buf, n, at, name + len - (width - 1 - head), width - 1 - head);
	return buf;
}
