// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CPython frames named (attribute/py_code.h) from bytes a process controls:
 * the line tables of each version, str contents to UTF-8, and the resolver
 * over a hostile process memory. The input's first byte picks the layout
 * (3.9 to 3.12 from the table); the rest is the memory, at MEM_BASE, whose
 * first bytes are the code object (so every pointer the resolver follows is
 * the input's to choose), and whose last 16 the decoders' own parameters.
 * Nothing may read out of the input, and a name must be a NUL-terminated
 * string within its bound.
 * Seeds (tests/fuzz/corpus/pycode/): hand-made code objects of each layout.
 */
#include "attribute/py_code.h"
#include <errno.h>
#include "fuzz.h"

#define MEM_BASE 0x10000ULL

struct mem {
	const uint8_t *data;
	size_t size;
};

static int mem_read(void *ctx, __u32 pid, __u64 start_time, __u64 addr, void *buf, size_t len)
{
	const struct mem *m = ctx;

	(void)pid;
	(void)start_time;
	if (addr < MEM_BASE || addr - MEM_BASE > m->size || len > m->size - (addr - MEM_BASE))
		return -EFAULT;
	memcpy(buf, m->data + (addr - MEM_BASE), len);
	return 0;
}

static void check_frame(const struct py_frame *f)
{
	FUZZ_ASSERT(memchr(f->function, '\0', sizeof(f->function)));
	FUZZ_ASSERT(memchr(f->file, '\0', sizeof(f->file)));
	FUZZ_ASSERT(f->line >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned int minors[] = { 9, 10, 11, 12 };
	struct py_code_cache *c;
	struct py_layout l;
	struct py_frame f;
	struct mem m;
	uint8_t *copy;
	char out[64];
	__u64 p[2] = { 0, 0 };
	size_t n;
	int i;

	if (size < 1)
		return 0;
	/* an exact-size copy: ASan sees a read one byte past the input */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		abort();
	memcpy(copy, data + 1, size - 1);
	n = size - 1;
	if (n >= 16)
		memcpy(p, data + size - 16, 16);
	for (i = 0; i < 3; i++)
		FUZZ_ASSERT(py_lines__line((enum py_line_kind)i, copy, n, (int)(p[0] & 0xffff),
					   (__s64)(p[1] % 0x20000) - 4) >= 0);
	for (i = 1; i <= 4; i *= 2) {
		int r = py_str__to_utf8((unsigned int)i, data[0] & 1, copy, n / (size_t)i, out,
					sizeof(out));

		FUZZ_ASSERT(r < 0 || ((size_t)r < sizeof(out) && strlen(out) == (size_t)r));
	}
	FUZZ_ASSERT(py_layout__for_version(3, minors[data[0] % 4], &l) == 0);
	m = (struct mem){ .data = copy, .size = n };
	c = py_code_cache__new(&(struct py_reader){ .read = mem_read, .ctx = &m });
	if (!c)
		abort();
	for (i = 0; i < 4; i++) {
		__u64 code = MEM_BASE + (i ? (p[0] >> (16 * i)) % (n + 1) : 0);

		if (!py_code_cache__frame(c, 1, 1, &l, code, p[1] + (__u64)i * 2, &f))
			check_frame(&f);
	}
	py_code_cache__free(c);
	free(copy);
	return 0;
}
