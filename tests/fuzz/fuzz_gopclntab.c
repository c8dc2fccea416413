// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A Go binary's .gopclntab (attribute/gopclntab.h): the observed binary's
 * bytes, read in the symbolizer's helper when no .symtab names its code.
 * The input is the section; the pcs looked up (names, then source lines)
 * are the table's own entries (as far as they parse) and values taken from
 * the input's tail. Nothing may read out of bounds, and a name or file name
 * must lie within the input.
 * Seeds (tests/fuzz/corpus/gopclntab/): small tables of each layout, as
 * tests/unit/test_gopclntab.c builds them.
 */
#include "attribute/gopclntab.h"
#include "fuzz.h"

static void look_up(const struct gopclntab *t, const uint8_t *copy, size_t size, __u64 pc)
{
	const char *name;
	size_t len;
	__u64 off;
	int line;

	if (gopclntab__lookup(t, pc, &name, &len, &off))
		return;
	FUZZ_ASSERT(len > 0 && len <= GOPCLNTAB_NAME_MAX);
	FUZZ_ASSERT((const uint8_t *)name >= copy && (const uint8_t *)name + len <= copy + size);
	FUZZ_ASSERT(off <= pc - t->text_start);
	if (gopclntab__line(t, pc, &name, &len, &line))
		return;
	FUZZ_ASSERT(len > 0 && len <= GOPCLNTAB_NAME_MAX && line > 0);
	FUZZ_ASSERT((const uint8_t *)name >= copy && (const uint8_t *)name + len <= copy + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: ASan sees a read one byte past the input */
	uint8_t *copy = malloc(size ? size : 1);
	struct gopclntab t;
	__u64 pc;
	size_t i;

	if (!copy)
		abort();
	memcpy(copy, data, size);
	if (!gopclntab__parse(copy, size, 0x401000, &t)) {
		FUZZ_ASSERT(t.functab_off < size && t.funcnames_off < size);
		for (i = 0; i < 4; i++) {
			pc = 0;
			if (size >= 32)
				memcpy(&pc, data + size - 32 + 8 * i, 8);
			look_up(&t, copy, size, pc);
			look_up(&t, copy, size, t.text_start + (pc & 0xffff));
		}
		for (i = 0; i < 64; i++)
			look_up(&t, copy, size, t.text_start + i * 0x10);
	}
	free(copy);
	return 0;
}
