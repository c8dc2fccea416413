/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Human-readable figures for people's screens (`memobs top`): sizes, rates,
 * counts, durations, sparklines and cgroup names. Every function writes at
 * most n bytes (NUL included) into buf and returns buf, so that calls nest in
 * printf arguments. Outputs are short and bounded so that columns stay fixed:
 * the widths below are the longest each can produce.
 */
#ifndef MEMOBS_FMT_H
#define MEMOBS_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Binary units, one-letter suffix: "0", "512B", "1.23K", "12.3M", "1023G". Width <= 5. */
#define FMT_SIZE_WIDTH 5
char *fmt_size(char *buf, size_t n, __u64 bytes);

/*
 * The same for a size held as a double (an estimate, a figure from a u64 off
 * the socket): saturates at "16.0E" (no undefined cast past UINT64_MAX),
 * "0" below 0, "-" for NaN. Width <= 5.
 */
char *fmt_size_double(char *buf, size_t n, double bytes);

/*
 * A signed rate in bytes per second: "+1.2M/s", "-340K/s", "0/s"; "-" if not
 * finite; saturates at "+16.0E/s". Width <= 8.
 */
#define FMT_RATE_WIDTH 8
char *fmt_rate(char *buf, size_t n, double bytes_per_s);

/*
 * A count (or count per second), decimal suffixes: "0", "999", "1.2k",
 * "45.6M"; ">999E" past the largest unit. Width <= 5.
 */
#define FMT_COUNT_WIDTH 5
char *fmt_count(char *buf, size_t n, double count);

/*
 * A duration, two units at most: "45s", "12m", "3h10m", "2d4h", ">99d";
 * "-" when unknown (negative or not finite). Width <= 5.
 */
#define FMT_DURATION_WIDTH 5
char *fmt_duration(char *buf, size_t n, double seconds);

/*
 * A sparkline of the last `width` values (older values are dropped; fewer
 * values are right-aligned after spaces), scaled between the window's min and
 * max (a spread under 0.2% of the max draws flat: noise, not a trend). UTF-8 block elements, or an ASCII ramp where the terminal's locale is
 * not UTF-8. n must hold width * 3 + 1 bytes for UTF-8 (width + 1 for ASCII).
 */
char *fmt_sparkline(char *buf, size_t n, const double *values, size_t nr_values, size_t width,
		    bool utf8);

/*
 * A cgroup's display name in at most `width` columns: the container label
 * when one is known (e.g. "pod/container"), else the cgroup path. What does
 * not fit is cut in the middle, keeping the last path components, which name
 * the workload: "/kubepods.slice/.../cri-containerd-ab12.scope" ->
 * "…/cri-containerd-ab12.scope". Bytes a terminal would interpret (control
 * characters) or that could misalign the columns (non-ASCII) become '?'.
 * In ASCII mode the ellipsis is "~". n must hold width * 3 + 1 bytes.
 */
char *fmt_cgroup_name(char *buf, size_t n, const char *path, const char *container_label,
		      size_t width, bool utf8);

/* Copies s into buf with the same sanitizing, cut at width columns (no ellipsis). */
char *fmt_sanitize(char *buf, size_t n, const char *s, size_t width);

#endif /* MEMOBS_FMT_H */
