// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The .gopclntab reader on tables this test builds in the layout of Go 1.18+
 * (gopclntab.h): names found, every offset of a hostile table bounded.
 * Real Go binaries (go 1.19, stripped and not) are read by tests/e2e/test_names.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "attribute/gopclntab.h"

#define TEXT 0x401000ULL

struct table {
	__u8 buf[1024];
	size_t len;
	size_t functab; /* pclnOffset */
	size_t names;	/* funcnameOffset */
	size_t pctab;	/* pctabOffset */
};

static void put32(__u8 *p, __u32 v)
{
	memcpy(p, &v, 4);
}

static void put_word(__u8 *p, __u64 v, unsigned ptr_size)
{
	if (ptr_size == 8)
		memcpy(p, &v, 8);
	else
		put32(p, (__u32)v);
}

static const char *const names[] = { "main.main", "main.leakyHandler", "runtime.goexit" };
static const __u32 entries[] = { 0, 0x40, 0x100 };
#define END_OFF 0x180

/*
 * Line tables (pctab): main.main is at line 10 for 0x10 bytes, then 12, in
 * file 0 of CU 0 ("/src/main.go"); main.leakyHandler at 20 for 0x80 bytes,
 * then 21, in file 0 of CU 1 ("/src/handler.go"); runtime.goexit has none.
 * Each table: (zig-zag value delta, pc delta) varint pairs, then a 0.
 */
static const __u8 pctab[] = {
	0,			       /* offset 0 means "no table" */
	22, 0x10, 4,	0x30, 0,       /* 1: main.main pcln: +11 -> 10, +2 -> 12 */
	2,  0x40, 0,		       /* 6: main.main pcfile: +1 -> 0 */
	42, 0x80, 0x01, 2,    0x40, 0, /* 9: leakyHandler pcln: +21 -> 20 (0x80 bytes), +1 -> 21 */
	2,  0xc0, 0x01, 0,	       /* 15: leakyHandler pcfile: +1 -> 0 */
};
static const __u32 pcln_of[] = { 1, 9, 0 }, pcfile_of[] = { 6, 15, 0 }, cu_of[] = { 0, 1, 0 };
static const char filetab[] = "/src/main.go\0/src/handler.go";

/* Three functions at TEXT + entries[i], named names[i], the last ending at END_OFF. */
static void build(struct table *t, __u32 magic, unsigned ptr_size, __u64 text_start)
{
	size_t hdr = 8 + 8 * ptr_size, pos, name_off[3], i, rec, files, cus, pcs;

	memset(t, 0, sizeof(*t));
	put32(t->buf, magic);
	t->buf[6] = 1; /* minLC */
	t->buf[7] = (__u8)ptr_size;
	t->names = pos = hdr;
	for (i = 0; i < 3; i++) {
		name_off[i] = pos - t->names;
		memcpy(t->buf + pos, names[i], strlen(names[i]) + 1);
		pos += strlen(names[i]) + 1;
	}
	files = pos;
	memcpy(t->buf + pos, filetab, sizeof(filetab));
	pos += sizeof(filetab);
	pos = (pos + 3) & ~3UL;
	cus = pos; /* CU 0: main.go; CU 1: handler.go */
	put32(t->buf + pos, 0);
	put32(t->buf + pos + 4, (__u32)strlen("/src/main.go") + 1);
	pos += 8;
	pcs = pos;
	memcpy(t->buf + pos, pctab, sizeof(pctab));
	pos += sizeof(pctab);
	pos = (pos + 7) & ~7UL;
	t->functab = pos;
	rec = 3 * 8 + 4; /* the _func records follow the functab */
	for (i = 0; i < 3; i++) {
		__u8 *f = t->buf + pos + rec + i * 40;

		put32(t->buf + pos + i * 8, entries[i]);
		put32(t->buf + pos + i * 8 + 4, (__u32)(rec + i * 40));
		put32(f, entries[i]);
		put32(f + 4, (__u32)name_off[i]);
		put32(f + 20, pcfile_of[i]);
		put32(f + 24, pcln_of[i]);
		put32(f + 32, cu_of[i]);
	}
	put32(t->buf + pos + 3 * 8, END_OFF);
	t->len = pos + rec + 3 * 40;
	put_word(t->buf + 8, 3, ptr_size);			   /* nfunc */
	put_word(t->buf + 8 + ptr_size, 2, ptr_size);		   /* nfiles */
	put_word(t->buf + 8 + 2 * ptr_size, text_start, ptr_size); /* textStart */
	put_word(t->buf + 8 + 3 * ptr_size, t->names, ptr_size);   /* funcnameOffset */
	put_word(t->buf + 8 + 4 * ptr_size, cus, ptr_size);	   /* cuOffset */
	put_word(t->buf + 8 + 5 * ptr_size, files, ptr_size);	   /* filetabOffset */
	put_word(t->buf + 8 + 6 * ptr_size, pcs, ptr_size);	   /* pctabOffset */
	put_word(t->buf + 8 + 7 * ptr_size, t->functab, ptr_size); /* pclnOffset */
	t->pctab = pcs;
}

static void expect_name(const struct gopclntab *g, __u64 pc, const char *name, __u64 off)
{
	const char *got;
	size_t len;
	__u64 func_off;

	assert_int_equal(gopclntab__lookup(g, pc, &got, &len, &func_off), 0);
	assert_int_equal(len, strlen(name));
	assert_memory_equal(got, name, len);
	assert_int_equal(func_off, off);
}

static void expect_none(const struct gopclntab *g, __u64 pc)
{
	const char *got;
	size_t len;
	__u64 func_off;

	assert_int_equal(gopclntab__lookup(g, pc, &got, &len, &func_off), -ENOENT);
}

static void test_names_of_each_layout(void **state)
{
	static const __u32 magics[] = { GOPCLNTAB_MAGIC_118, GOPCLNTAB_MAGIC_120 };
	static const unsigned ptr_sizes[] = { 8, 4 };
	struct gopclntab g;
	struct table t;
	size_t m, p;

	(void)state;
	for (m = 0; m < 2; m++) {
		for (p = 0; p < 2; p++) {
			build(&t, magics[m], ptr_sizes[p], TEXT);
			assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), 0);
			assert_int_equal(g.nfunc, 3);
			expect_name(&g, TEXT, "main.main", 0);
			expect_name(&g, TEXT + 0x3f, "main.main", 0x3f);
			expect_name(&g, TEXT + 0x41, "main.leakyHandler", 1);
			expect_name(&g, TEXT + 0x17f, "runtime.goexit", 0x7f);
			expect_none(&g, TEXT + END_OFF); /* past the last function */
			expect_none(&g, TEXT - 1);
			expect_none(&g, 0);
			expect_none(&g, ~0ULL);
		}
	}
}

static void expect_line(const struct gopclntab *g, __u64 pc, const char *file, int line)
{
	const char *got;
	size_t len;
	int got_line;

	assert_int_equal(gopclntab__line(g, pc, &got, &len, &got_line), 0);
	assert_int_equal(len, strlen(file));
	assert_memory_equal(got, file, len);
	assert_int_equal(got_line, line);
}

static void expect_no_line(const struct gopclntab *g, __u64 pc)
{
	const char *got;
	size_t len;
	int line;

	assert_int_equal(gopclntab__line(g, pc, &got, &len, &line), -ENOENT);
}

/* Lines as Go's runtime decodes them (pcvalue): each step's value holds below its end. */
static void test_lines(void **state)
{
	struct gopclntab g;
	struct table t;

	(void)state;
	build(&t, GOPCLNTAB_MAGIC_120, 8, TEXT);
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), 0);
	expect_line(&g, TEXT, "/src/main.go", 10);
	expect_line(&g, TEXT + 0xf, "/src/main.go", 10);
	expect_line(&g, TEXT + 0x10, "/src/main.go", 12);
	expect_line(&g, TEXT + 0x3f, "/src/main.go", 12);
	expect_line(&g, TEXT + 0x40, "/src/handler.go", 20);
	expect_line(&g, TEXT + 0xbf, "/src/handler.go", 20); /* a two-byte pc delta */
	expect_line(&g, TEXT + 0xc0, "/src/handler.go", 21);
	expect_no_line(&g, TEXT + 0x100); /* runtime.goexit: no tables */
	expect_no_line(&g, TEXT + END_OFF);
}

/* Tables that leave the buffer, never end, or name a file that is not there. */
static void test_hostile_lines(void **state)
{
	struct gopclntab g;
	struct table t;

	(void)state;
	/* the pctab offset past the end: no lines, names still */
	build(&t, GOPCLNTAB_MAGIC_120, 8, TEXT);
	put_word(t.buf + 8 + 6 * 8, ~0ULL, 8);
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), 0);
	expect_no_line(&g, TEXT);
	expect_name(&g, TEXT, "main.main", 0);
	/* main.main's pcln table past the buffer */
	build(&t, GOPCLNTAB_MAGIC_120, 8, TEXT);
	put32(t.buf + t.functab + 28 + 24, 0x7ffffff0);
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), 0);
	expect_no_line(&g, TEXT);
	/* varints longer than a u32's five bytes */
	build(&t, GOPCLNTAB_MAGIC_120, 8, TEXT);
	memset(t.buf + t.pctab + 1, 0x81, sizeof(pctab) - 1);
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), 0);
	expect_no_line(&g, TEXT + 0x20);
	/* a pc past every step: the table ends first */
	build(&t, GOPCLNTAB_MAGIC_120, 8, TEXT);
	t.buf[t.pctab + 3] = 0; /* main.main's pcln: line 10 for 0x10 bytes, then its end */
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), 0);
	expect_line(&g, TEXT + 0xf, "/src/main.go", 10);
	expect_no_line(&g, TEXT + 0x10);
	/* a file number past cutab, and a cutab entry of ~0 */
	build(&t, GOPCLNTAB_MAGIC_120, 8, TEXT);
	put32(t.buf + t.functab + 28 + 40 + 32, 0x3fffffff);
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), 0);
	expect_no_line(&g, TEXT + 0x40);
	expect_line(&g, TEXT, "/src/main.go", 10);
	build(&t, GOPCLNTAB_MAGIC_120, 8, TEXT);
	put32(t.buf + t.pctab - 8, UINT32_MAX); /* CU 0's file 0 */
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), 0);
	expect_no_line(&g, TEXT);
}

/* A PIE's header may hold an unrelocated 0: .text's address stands in. */
static void test_text_start_hint(void **state)
{
	struct gopclntab g;
	struct table t;

	(void)state;
	build(&t, GOPCLNTAB_MAGIC_118, 8, 0);
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0x500000, &g), 0);
	expect_name(&g, 0x500044, "main.leakyHandler", 4);
	/* the header's own value, when set, wins over the hint */
	build(&t, GOPCLNTAB_MAGIC_118, 8, TEXT);
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0x500000, &g), 0);
	expect_name(&g, TEXT + 0x44, "main.leakyHandler", 4);
}

static void test_refuses_what_is_no_table(void **state)
{
	struct gopclntab g;
	struct table t;

	(void)state;
	assert_int_equal(gopclntab__parse(NULL, 0, 0, &g), -ENOEXEC);
	build(&t, 0xfffffffb, 8, TEXT); /* Go 1.16's layout: not read */
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), -ENOEXEC);
	build(&t, GOPCLNTAB_MAGIC_118, 8, TEXT);
	t.buf[7] = 3; /* pointer size */
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), -ENOEXEC);
	build(&t, GOPCLNTAB_MAGIC_118, 8, TEXT);
	t.buf[4] = 1; /* padding */
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), -ENOEXEC);
	/* more functions than the buffer holds */
	build(&t, GOPCLNTAB_MAGIC_118, 8, TEXT);
	put_word(t.buf + 8, 1000, 8);
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), -ENOEXEC);
	put_word(t.buf + 8, ~0ULL, 8);
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), -ENOEXEC);
	/* a table offset past the end */
	build(&t, GOPCLNTAB_MAGIC_118, 8, TEXT);
	put_word(t.buf + 8 + 7 * 8, t.len, 8);
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), -ENOEXEC);
	build(&t, GOPCLNTAB_MAGIC_118, 8, TEXT);
	put_word(t.buf + 8 + 3 * 8, ~0ULL - 2, 8);
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), -ENOEXEC);
}

/* Records that point outside the table: no name, no read past the buffer. */
static void test_bad_records(void **state)
{
	struct gopclntab g;
	struct table t;

	(void)state;
	build(&t, GOPCLNTAB_MAGIC_118, 8, TEXT);
	put32(t.buf + t.functab + 4, 0xfffffff0); /* funcOff of the first function */
	put32(t.buf + t.functab + 8 + 4, (__u32)(t.len - t.functab - 4)); /* 4 bytes left */
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), 0);
	expect_none(&g, TEXT);
	expect_none(&g, TEXT + 0x40);
	expect_name(&g, TEXT + 0x100, "runtime.goexit", 0);

	/* nameOff negative, past the end, and a name with no NUL before the end */
	build(&t, GOPCLNTAB_MAGIC_118, 8, TEXT);
	put32(t.buf + t.functab + 28 + 4, 0x80000000u);
	put32(t.buf + t.functab + 28 + 40 + 4, (__u32)t.len);
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), 0);
	expect_none(&g, TEXT);
	expect_none(&g, TEXT + 0x40);
	build(&t, GOPCLNTAB_MAGIC_118, 8, TEXT);
	memset(t.buf + t.len - 8, 'x', 8);
	put32(t.buf + t.functab + 28 + 80 + 4, (__u32)(t.len - 8 - t.names));
	t.buf[t.len - 1] = 'y';
	assert_int_equal(gopclntab__parse(t.buf, t.len, 0, &g), 0);
	expect_none(&g, TEXT + 0x100);
}

/* Every prefix of a good table: refused, or read within its bytes (ASan: fuzz_gopclntab). */
static void test_every_truncation(void **state)
{
	struct gopclntab g;
	struct table t;
	const char *name;
	size_t len, n;
	__u64 off;
	__u8 *copy;

	(void)state;
	build(&t, GOPCLNTAB_MAGIC_120, 8, TEXT);
	for (n = 0; n <= t.len; n++) {
		copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, t.buf, n);
		if (!gopclntab__parse(copy, n, 0, &g)) {
			assert_true(n >= t.functab + 3 * 8 + 4);
			if (!gopclntab__lookup(&g, TEXT + 0x100, &name, &len, &off))
				assert_true((const __u8 *)name + len <= copy + n);
		}
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_of_each_layout),
		cmocka_unit_test(test_text_start_hint),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_hostile_lines),
		cmocka_unit_test(test_refuses_what_is_no_table),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_every_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
