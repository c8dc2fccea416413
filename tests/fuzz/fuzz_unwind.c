// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The CFI unwinder (user/attribute/unwind.c) on what a hostile process
 * controls: its stack bytes and registers, and the rules a compromised
 * symbolizer helper could send (checked by cfi_row__valid before use).
 * Input: 8 registers (rip rsp rbp rbx r12-r15), a count of rows, that many
 * (pc, struct cfi_row) pairs as raw bytes, then the stack copy. A row with
 * pc 0 answers for every pc, so that long walks happen.
 */
#include "attribute/unwind.h"
#include <errno.h>
#include "fuzz.h"

#define MAX_ROWS 4

struct table {
	__u64 pc[MAX_ROWS];
	struct cfi_row row[MAX_ROWS];
	size_t nr;
};

static int row_of(void *ctx, __u64 pc, struct cfi_row *row)
{
	const struct table *t = ctx;
	size_t i;

	for (i = 0; i < t->nr; i++) {
		if (t->pc[i] == pc || !t->pc[i]) {
			*row = t->row[i];
			return 0;
		}
	}
	return -ENOENT;
}

static size_t take(const uint8_t **data, size_t *size, void *out, size_t n)
{
	size_t got = *size < n ? *size : n;

	memset(out, 0, n);
	memcpy(out, *data, got);
	*data += got;
	*size -= got;
	return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int reg_of[8] = { 16, 7, 6, 3, 12, 13, 14, 15 };
	struct unwind_regs regs = { 0 };
	struct unwind_result u;
	struct unwind_mem mem;
	struct table t = { 0 };
	__u64 v[8];
	uint8_t nr = 0;
	size_t i;

	take(&data, &size, v, sizeof(v));
	for (i = 0; i < 8; i++) {
		regs.r[reg_of[i]] = v[i];
		regs.valid |= 1U << reg_of[i];
	}
	take(&data, &size, &nr, 1);
	for (t.nr = 0; t.nr < nr % (MAX_ROWS + 1); t.nr++) {
		take(&data, &size, &t.pc[t.nr], sizeof(t.pc[t.nr]));
		take(&data, &size, &t.row[t.nr], sizeof(t.row[t.nr]));
	}
	/* the copy starts at rsp, as the probe makes it */
	mem = (struct unwind_mem){ .base = v[1], .data = data, .len = size };
	unwind_walk(&regs, &mem, UNWIND_MAX_FRAMES, row_of, &t, &u);
	FUZZ_ASSERT(u.nr <= UNWIND_MAX_FRAMES);
	FUZZ_ASSERT(u.end <= UNWIND_END_BAD);
	FUZZ_ASSERT(unwind_end__str(u.end)[0] != '?');
	return 0;
}
