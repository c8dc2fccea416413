// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An observed process's ELF and DWARF (issue 14): its files are any bytes it
 * likes. The input is read as an ELF from memory, as memobs reads a mapped
 * file once copied: probe placement (symbol lookup, file offsets, the
 * prologue walk) and symbolization (libelf's and libdwfl's symbol tables,
 * libdw's line tables), at offsets taken from the input's own tail. Nothing
 * may crash, read out of bounds, or open a file (no debuglink, no altlink).
 * Built by `make fuzz-build` like every tests/fuzz/fuzz_*.c.
 */
#include <errno.h>
#include "attribute/probe_place.h"
#include "attribute/symbolize.h"
#include "fuzz.h"

static void place(const uint8_t *data, size_t size, const char *func)
{
	struct probe_site site;
	__u64 offset, func_size;
	void *image = malloc(size ? size : 1);
	int err;

	if (!image)
		abort();
	memcpy(image, data, size);
	err = probe_place__find_mem(image, size, func, &site);
	if (!err) {
		FUZZ_ASSERT(site.func_offset < size);
		FUZZ_ASSERT(site.probe_offset >= site.func_offset);
		FUZZ_ASSERT(site.probe_offset - site.func_offset == site.skipped_bytes);
		FUZZ_ASSERT(strnlen(site.reason, sizeof(site.reason)) < sizeof(site.reason));
	}
	memcpy(image, data, size); /* libelf may have rewritten it */
	err = elf_func_offset_mem(image, size, func, &offset, &func_size);
	FUZZ_ASSERT(err <= 0);
	free(image);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	__u64 offsets[4];
	char *out[4];
	void *image;
	size_t i;

	place(data, size, "malloc");
	place(data, size, "free");
	/* addresses to look up: the input's last 32 bytes, wrapped into the file */
	for (i = 0; i < 4; i++) {
		offsets[i] = 0;
		if (size >= 32)
			memcpy(&offsets[i], data + size - 32 + 8 * i, 8);
		if (size)
			offsets[i] %= size;
	}
	image = malloc(size ? size : 1);
	if (!image)
		abort();
	memcpy(image, data, size);
	if (symbolizer__resolve_image(image, size, offsets, 4, out) == 0) {
		for (i = 0; i < 4; i++) {
			FUZZ_ASSERT(out[i] != NULL);
			free(out[i]);
		}
	}
	return 0;
}
