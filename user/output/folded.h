/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Folded stacks ("frame;frame;frame bytes", one stack per line, root first),
 * the input of flamegraph.pl, inferno and speedscope, and the parser of
 * memobs's frame strings that the profile writers (folded, pprof, SVG) share.
 *
 * A frame string is what attribute/symbolize.c makes of an address:
 *   "func+0xoff (module) file:line"   (file:line when debug info exists)
 *   "0xaddr (module)"                 (no symbol)
 * Names come from the observed process's ELF: they are hostile input, and
 * come out of the parser sanitized (control bytes and non-ASCII as '?').
 */
#ifndef MEMOBS_FOLDED_H
#define MEMOBS_FOLDED_H

#include <stdio.h>
#include <linux/types.h>
#include "output/records.h"

#define FRAME_FUNC_MAX 512
#define FRAME_MODULE_MAX 256
#define FRAME_FILE_MAX 256

struct frame_parts {
	char func[FRAME_FUNC_MAX];     /* the symbol; "[module]" without one; never empty */
	char module[FRAME_MODULE_MAX]; /* the file's basename; "" unknown */
	char file[FRAME_FILE_MAX];     /* the source file's basename; "" unknown */
	int line;		       /* 0: unknown */
	__u64 offset;		       /* func+offset */
	__u64 addr;		       /* the address, when there was no symbol; else 0 */
};

/* Splits a frame string (NULL: "?") into its parts. Never fails: what does not parse is func. */
void frame__parse(const char *frame, struct frame_parts *p);

/* A site's estimated bytes outstanding as the profiles count them: rounded to a whole byte. */
__u64 site__bytes(const struct site_record *s);

/*
 * Writes one line per distinct stack: function names root first, separated by
 * ';' (a ';' inside a name becomes ':'), a space, the estimated bytes
 * outstanding there. Sites whose stacks differ only in offsets are summed;
 * sites of 0 bytes are left out. Returns 0 or -errno.
 */
int folded__write(FILE *out, const struct site_record *sites, size_t nr);

#endif /* MEMOBS_FOLDED_H */
