/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * An SVG flame graph of the bytes outstanding by stack: the root at the
 * bottom, each frame as wide as the bytes under it, one
 * <g><title>function (module) N bytes (P%)</title><rect/><text/></g> per
 * frame, so that a browser shows the numbers on hover with no script at all.
 * Colours say the module's kind: user code (warm), libc and the allocators
 * (blue), other libraries and unknown modules (green). Frame names are
 * sanitized by folded.h's parser and XML-escaped.
 */
#ifndef MEMOBS_FLAMEGRAPH_H
#define MEMOBS_FLAMEGRAPH_H

#include <stdio.h>
#include "output/records.h"

struct flamegraph_opts {
	const char *title; /* NULL: "memobs: bytes outstanding by stack" */
};

/* Frames narrower than this many pixels (of 1200) are left out, with what is above them. */
#define FLAMEGRAPH_MIN_WIDTH_PX 0.1

/* Writes the SVG of the sites (as folded__write() counts them). Returns 0 or -errno. */
int flamegraph__write(FILE *out, const struct site_record *sites, size_t nr,
		      const struct flamegraph_opts *opts);

#endif /* MEMOBS_FLAMEGRAPH_H */
