// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CPython frames named (attribute/py_code.h): the line tables of each
 * version, hand-built and as real interpreters wrote them; str contents to
 * UTF-8; the resolver over memory recorded from real interpreters
 * (tests/unit/fixtures/python/, tools/py_fixtures.py), its lines checked
 * against CPython's own PyCode_Addr2Line, and over torn or hostile memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "attribute/py_code.h"
#include "fixtures/python/fixture.h"

/* ---- a process's memory: recorded regions, patches on top, failures on demand ---- */

#define PATCH_MAX 8
#define ALIAS_BASE 0x100000000ULL /* ALIAS_BASE + i * ALIAS_STRIDE reads as alias_of */
#define ALIAS_STRIDE 0x1000ULL
#define ALIAS_END (ALIAS_BASE + 2 * PY_CODE_CACHE_MAX * ALIAS_STRIDE)

struct mem {
	const struct py_fixture *fx;
	struct {
		__u64 addr;
		__u8 bytes[16];
		size_t len;
	} patch[PATCH_MAX];
	size_t npatch;
	int fail_after; /* reads that succeed before every read fails; -1: never */
	int reads;
	__u64 alias_of;
	__u32 forgotten;
};

static int mem_read(void *ctx, __u32 pid, __u64 start_time, __u64 addr, void *buf, size_t len)
{
	struct mem *m = ctx;
	size_t i;

	assert_int_equal(pid, 4242);
	assert_int_equal(start_time, 777);
	if (m->fail_after >= 0 && m->reads >= m->fail_after)
		return -EFAULT;
	m->reads++;
	if (m->alias_of && addr >= ALIAS_BASE && addr < ALIAS_END)
		addr = m->alias_of + (addr - ALIAS_BASE) % ALIAS_STRIDE;
	for (i = 0; i < m->fx->nregions; i++) {
		const struct py_fixture_region *r = &m->fx->regions[i];

		if (addr >= r->addr && addr - r->addr <= r->len &&
		    len <= r->len - (addr - r->addr)) {
			memcpy(buf, r->bytes + (addr - r->addr), len);
			break;
		}
	}
	if (i == m->fx->nregions)
		return -EFAULT;
	for (i = 0; i < m->npatch; i++) {
		__u64 p = m->patch[i].addr;
		size_t j;

		for (j = 0; j < m->patch[i].len; j++)
			if (p + j >= addr && p + j < addr + len)
				((__u8 *)buf)[p + j - addr] = m->patch[i].bytes[j];
	}
	return 0;
}

static void mem_forget(void *ctx, __u32 pid)
{
	((struct mem *)ctx)->forgotten = pid;
}

static void mem_patch(struct mem *m, __u64 addr, const void *bytes, size_t len)
{
	assert_true(m->npatch < PATCH_MAX && len <= 16);
	m->patch[m->npatch].addr = addr;
	memcpy(m->patch[m->npatch].bytes, bytes, len);
	m->patch[m->npatch].len = len;
	m->npatch++;
}

static void mem_init(struct mem *m, const struct py_fixture *fx)
{
	memset(m, 0, sizeof(*m));
	m->fx = fx;
	m->fail_after = -1;
}

static struct py_code_cache *cache_for(struct mem *m)
{
	struct py_reader r = { .read = mem_read, .forget = mem_forget, .ctx = m };
	struct py_code_cache *c = py_code_cache__new(&r);

	assert_non_null(c);
	return c;
}

static void layout_of(const struct py_fixture *fx, struct py_layout *l)
{
	if (fx->minor >= 13)
		assert_int_equal(py_layout__from_debug_offsets(fx->runtime, 1024, l, NULL), 0);
	else
		assert_int_equal(py_layout__for_version(fx->major, fx->minor, l), 0);
}

/* The frame's instruction field for byte offset off of the code, as BPF reads it. */
static __u64 instr_of(const struct py_layout *l, __u64 code, int off)
{
	if (l->bpf.frame_kind == MEMOBS_PY_FRAME_OBJECT)
		return l->line_kind == PY_LINES_LNOTAB ? (__u64)(__u32)off
						       : (__u64)(__u32)(off / 2);
	return code + l->code_adaptive + (__u64)(__s64)off;
}

static __u64 read_u64(struct mem *m, __u64 addr)
{
	__u64 v;

	assert_int_equal(mem_read(m, 4242, 777, addr, &v, sizeof(v)), 0);
	return v;
}

/* ---- line tables ---- */

static void test_lnotab(void **state)
{
	/* line 10 at 0, +2 lines at byte 6, -1 at 20 (3.8+: signed), a 255-byte jump */
	static const __u8 t[] = { 6, 2, 14, (__u8)-1, 255, 0, 1, 5 };

	(void)state;
	assert_int_equal(py_lines__lnotab(t, sizeof(t), 10, -1), 10);
	assert_int_equal(py_lines__lnotab(t, sizeof(t), 10, 0), 10);
	assert_int_equal(py_lines__lnotab(t, sizeof(t), 10, 5), 10);
	assert_int_equal(py_lines__lnotab(t, sizeof(t), 10, 6), 12);
	assert_int_equal(py_lines__lnotab(t, sizeof(t), 10, 20), 11);
	assert_int_equal(py_lines__lnotab(t, sizeof(t), 10, 275), 11);
	assert_int_equal(py_lines__lnotab(t, sizeof(t), 10, 276), 16);
	/* an odd last byte is not read */
	assert_int_equal(py_lines__lnotab(t, 3, 10, 100), 12);
	assert_int_equal(py_lines__lnotab(NULL, 0, 7, 100), 7);
	/* a line gone below 1 is none */
	assert_int_equal(py_lines__lnotab((const __u8[]){ 0, 0x80 }, 2, 1, 0), 0);
}

static void test_pairs(void **state)
{
	/* 3.10: 4 bytes at +1 (11), 6 bytes no line, 2 bytes at +3 (14), a 0-length +1 then 2 */
	static const __u8 t[] = { 4, 1, 6, 0x80, 2, 3, 0, 1, 2, 0 };

	(void)state;
	assert_int_equal(py_lines__pairs(t, sizeof(t), 10, -2), 10);
	assert_int_equal(py_lines__pairs(t, sizeof(t), 10, 0), 11);
	assert_int_equal(py_lines__pairs(t, sizeof(t), 10, 3), 11);
	assert_int_equal(py_lines__pairs(t, sizeof(t), 10, 4), 0);
	assert_int_equal(py_lines__pairs(t, sizeof(t), 10, 9), 0);
	assert_int_equal(py_lines__pairs(t, sizeof(t), 10, 10), 14);
	assert_int_equal(py_lines__pairs(t, sizeof(t), 10, 12), 15);
	assert_int_equal(py_lines__pairs(t, sizeof(t), 10, 14), 0); /* past the table */
	assert_int_equal(py_lines__pairs(t, 1, 10, 0), 0);
}

static void test_locations(void **state)
{
	static const __u8 t[] = {
		0x80 | (13 << 3) | 0, 0x04,		   /* no columns, +2 (12), 1 unit */
		0x80 | (0 << 3) | 1,  0x05,		   /* short form, same line, 2 units */
		0x80 | (11 << 3) | 0, 3,    9,		   /* one line +1 (13) */
		0x80 | (15 << 3) | 2,			   /* none, 3 units */
		0x80 | (14 << 3) | 0, 0x43, 0x01, 1, 2, 3, /* long: svarint 0x43 0x01 = 67 -> -33 */
		0x80 | (12 << 3) | 7, 1,    2,		   /* one line +2, 8 units */
	};

	(void)state;
	assert_int_equal(py_lines__locations(t, sizeof(t), 10, -2), 10);
	assert_int_equal(py_lines__locations(t, sizeof(t), 10, 0), 12);
	assert_int_equal(py_lines__locations(t, sizeof(t), 10, 2), 12);
	assert_int_equal(py_lines__locations(t, sizeof(t), 10, 5), 12);
	assert_int_equal(py_lines__locations(t, sizeof(t), 10, 6), 13);
	assert_int_equal(py_lines__locations(t, sizeof(t), 10, 8), 0);
	assert_int_equal(py_lines__locations(t, sizeof(t), 10, 12), 0);
	/* -33 from 13 is below 1: none; from a first line of 100 (103) it is 70 */
	assert_int_equal(py_lines__locations(t, sizeof(t), 10, 14), 0);
	assert_int_equal(py_lines__locations(t, sizeof(t), 100, 14), 70);
	assert_int_equal(py_lines__locations(t, sizeof(t), 100, 16), 72);
	assert_int_equal(py_lines__locations(t, sizeof(t), 100, 30), 72);
	assert_int_equal(py_lines__locations(t, sizeof(t), 100, 32), 0);
	/* a varint cut by the table's end, one that never ends, a table not at an entry */
	assert_int_equal(py_lines__locations(t, 1, 10, 0), 0);
	assert_int_equal(py_lines__locations((const __u8[]){ 0x80 | (13 << 3), 0x40, 0x40, 0x40,
							     0x40, 0x40, 0x40 },
					     7, 10, 0),
			 0);
	assert_int_equal(py_lines__locations((const __u8[]){ 0x05, 0x80 }, 2, 10, 0), 0);
	assert_int_equal(py_lines__line(PY_LINES_LOCATIONS, t, sizeof(t), 10, 6), 13);
	assert_int_equal(py_lines__line(PY_LINES_PAIRS, (const __u8[]){ 4, 1 }, 2, 10, 0), 11);
	assert_int_equal(py_lines__line(PY_LINES_LNOTAB, (const __u8[]){ 4, 1 }, 2, 10, 4), 11);
}

/* ---- str ---- */

static void test_str_to_utf8(void **state)
{
	static const __u16 ucs2[] = { 0x444, 0x443, 0x43d, 0x43a };	   /* функ */
	static const __u32 ucs4[] = { 'a', 0x1f600, 0xd800, 0, 0x10ffff }; /* a😀, surrogate, NUL */
	static const __u32 bad4[] = { 'a', 0x110000 };
	char out[64];

	(void)state;
	assert_int_equal(py_str__to_utf8(1, true, "grow", 4, out, sizeof(out)), 4);
	assert_string_equal(out, "grow");
	assert_int_equal(py_str__to_utf8(1, false, "\xfc\xef", 2, out, sizeof(out)), 4);
	assert_string_equal(out, "üï");
	assert_int_equal(py_str__to_utf8(2, false, ucs2, 4, out, sizeof(out)), 8);
	assert_string_equal(out, "функ");
	assert_int_equal(py_str__to_utf8(4, false, ucs4, 5, out, sizeof(out)), 15);
	assert_string_equal(out, "a😀\xef\xbf\xbd\xef\xbf\xbd\xf4\x8f\xbf\xbf");
	assert_int_equal(py_str__to_utf8(1, true, "", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* cut at a character, "..." added */
	assert_int_equal(py_str__to_utf8(1, true, "abcdefghij", 10, out, 10), 9);
	assert_string_equal(out, "abcdef...");
	assert_int_equal(py_str__to_utf8(1, true, "abcdefghi", 9, out, 10), 9);
	assert_string_equal(out, "abcdefghi");
	assert_int_equal(py_str__to_utf8(2, false, ucs2, 4, out, 8), 7);
	assert_string_equal(out, "фу...");
	assert_int_equal(py_str__to_utf8(2, false, ucs2, 4, out, 7), 5);
	assert_string_equal(out, "ф...");
	assert_int_equal(py_str__to_utf8(4, false, ucs4, 2, out, 5), 4);
	assert_string_equal(out, "a...");
	/* refused */
	assert_int_equal(py_str__to_utf8(1, true, "\x80", 1, out, sizeof(out)), -EBADMSG);
	assert_int_equal(py_str__to_utf8(4, false, bad4, 2, out, sizeof(out)), -EBADMSG);
	assert_int_equal(py_str__to_utf8(3, false, "abc", 1, out, sizeof(out)), -EBADMSG);
	assert_int_equal(py_str__to_utf8(2, true, ucs2, 1, out, sizeof(out)), -EBADMSG);
	assert_int_equal(py_str__to_utf8(1, true, "a", 1, out, 3), -EINVAL);
}

static void test_str_head(void **state)
{
	struct py_layout l;
	struct py_str_head h;
	__u8 head[64] = { 0 };
	__u64 len = 5;
	__u32 st;

	(void)state;
	assert_int_equal(py_layout__for_version(3, 12, &l), 0);
	memcpy(head + l.str_length, &len, 8);
	st = (1u << l.str_kind_shift) | (1u << l.str_compact_bit) | (1u << l.str_ascii_bit);
	memcpy(head + l.str_state, &st, 4);
	assert_int_equal(py_str__parse_head(&l, head, sizeof(head), &h), 0);
	assert_true(h.kind == 1 && h.ascii && h.length == 5 && h.data_offset == 40);
	st = (2u << l.str_kind_shift) | (1u << l.str_compact_bit);
	memcpy(head + l.str_state, &st, 4);
	assert_int_equal(py_str__parse_head(&l, head, sizeof(head), &h), 0);
	assert_true(h.kind == 2 && !h.ascii && h.data_offset == 56);
	/* a legacy (not compact) str, an unknown kind, ASCII of kind 4, a negative length */
	st = 1u << l.str_kind_shift;
	memcpy(head + l.str_state, &st, 4);
	assert_int_equal(py_str__parse_head(&l, head, sizeof(head), &h), -EBADMSG);
	st = (3u << l.str_kind_shift) | (1u << l.str_compact_bit);
	memcpy(head + l.str_state, &st, 4);
	assert_int_equal(py_str__parse_head(&l, head, sizeof(head), &h), -EBADMSG);
	st = (4u << l.str_kind_shift) | (1u << l.str_compact_bit) | (1u << l.str_ascii_bit);
	memcpy(head + l.str_state, &st, 4);
	assert_int_equal(py_str__parse_head(&l, head, sizeof(head), &h), -EBADMSG);
	st = (1u << l.str_kind_shift) | (1u << l.str_compact_bit);
	memcpy(head + l.str_state, &st, 4);
	len = (__u64)-1;
	memcpy(head + l.str_length, &len, 8);
	assert_int_equal(py_str__parse_head(&l, head, sizeof(head), &h), -EBADMSG);
	assert_int_equal(py_str__parse_head(&l, head, 20, &h), -EBADMSG);
}

/* ---- the resolver on recorded memory ---- */

static void test_recorded_frames(void **state)
{
	size_t v, i, j;

	(void)state;
	for (v = 0; v < sizeof(py_fixtures) / sizeof(py_fixtures[0]); v++) {
		const struct py_fixture *fx = py_fixtures[v];
		struct py_code_stats st;
		struct py_code_cache *c;
		struct py_layout l;
		struct mem m;

		mem_init(&m, fx);
		layout_of(fx, &l);
		c = cache_for(&m);
		for (i = 0; i < fx->ncodes; i++) {
			const struct py_fixture_code *code = &fx->codes[i];

			for (j = 0; j < code->nlines; j++) {
				struct py_frame f;
				__u64 instr = instr_of(&l, code->addr, code->lines[j].off);

				/* the entry bit is BPF's, not the address's */
				assert_int_equal(py_code_cache__frame(c, 4242, 777, &l,
								      code->addr | (j & 1), instr,
								      &f),
						 0);
				assert_string_equal(f.function, code->function);
				assert_string_equal(f.file, code->file);
				assert_int_equal(f.first_line, code->first_line);
				if (f.line != code->lines[j].line)
					fail_msg("CPython %u.%u %s+%d: line %d, CPython says %d",
						 fx->major, fx->minor, code->function,
						 code->lines[j].off, f.line, code->lines[j].line);
			}
			/* a frame not started: its first line */
			if (l.bpf.frame_kind == MEMOBS_PY_FRAME_INTERP) {
				struct py_frame f;

				assert_int_equal(
					py_code_cache__frame(c, 4242, 777, &l, code->addr,
							     code->addr + l.code_adaptive - 2, &f),
					0);
				assert_int_equal(f.line, code->first_line);
			}
		}
		py_code_cache__stats(c, &st);
		assert_int_equal(st.resolved, fx->ncodes);
		assert_int_equal(st.entries, fx->ncodes);
		assert_int_equal(
			st.read_errors + st.not_code + st.bad_objects + st.stale + st.bad_instr, 0);
		assert_true(st.hits > 0 && st.hits + st.resolved == st.lookups);
		py_code_cache__forget_pid(c, 4242);
		py_code_cache__stats(c, &st);
		assert_int_equal(st.entries, 0);
		assert_int_equal(st.bytes, 0);
		assert_int_equal(m.forgotten, 4242);
		py_code_cache__free(c);
	}
}

/* The recorded memory of 3.12, with the layout, for the hostile cases. */
struct hostile {
	struct mem m;
	struct py_layout l;
	struct py_code_cache *c;
	const struct py_fixture_code *code;
	struct py_frame f;
};

static void hostile_init(struct hostile *h, const struct py_fixture *fx)
{
	mem_init(&h->m, fx);
	layout_of(fx, &h->l);
	h->c = cache_for(&h->m);
	h->code = &fx->codes[0];
}

static int hostile_frame(struct hostile *h, __u64 code, __u64 instr)
{
	return py_code_cache__frame(h->c, 4242, 777, &h->l, code, instr, &h->f);
}

static void test_hostile_memory(void **state)
{
	static const char cide[] = "cide";
	struct py_code_stats st;
	struct hostile h;
	__u64 addr, v;
	__u32 st32;

	(void)state;
	/* not mapped */
	hostile_init(&h, &py312);
	assert_int_equal(hostile_frame(&h, 0x1000, 0), -EFAULT);
	assert_int_equal(hostile_frame(&h, 0, 0), -EFAULT);
	assert_int_equal(hostile_frame(&h, (__u64)-8, 0), -EFAULT);
	py_code_cache__stats(h.c, &st);
	assert_int_equal(st.read_errors, 3);
	assert_int_equal(st.entries, 0);

	/* the type is not "code": a bytes object's */
	addr = read_u64(&h.m, h.code->addr + h.l.code_linetable);
	v = read_u64(&h.m, addr + h.l.object_type);
	mem_patch(&h.m, h.code->addr + h.l.object_type, &v, 8);
	assert_int_equal(hostile_frame(&h, h.code->addr, 0), -EINVAL);
	h.m.npatch = 0;
	/* its tp_name bytes say otherwise */
	v = read_u64(&h.m, read_u64(&h.m, h.code->addr + h.l.object_type) + h.l.type_name);
	mem_patch(&h.m, v, cide, 4);
	assert_int_equal(hostile_frame(&h, h.code->addr, h.code->addr + h.l.code_adaptive),
			 -EINVAL);
	py_code_cache__stats(h.c, &st);
	assert_int_equal(st.not_code, 2);
	py_code_cache__free(h.c);

	/* torn: every read from the n-th on fails, for each n until it succeeds */
	for (int n = 0;; n++) {
		int err;

		hostile_init(&h, &py312);
		h.m.fail_after = n;
		err = hostile_frame(&h, h.code->addr, h.code->addr + h.l.code_adaptive);
		py_code_cache__stats(h.c, &st);
		py_code_cache__free(h.c);
		if (!err)
			break;
		assert_int_equal(err, -EFAULT);
		assert_int_equal(st.entries, 0);
		assert_int_equal(st.read_errors, 1);
		assert_true(n < 64);
	}

	/* the file name a legacy str: not compact */
	hostile_init(&h, &py312);
	addr = read_u64(&h.m, h.code->addr + h.l.code_filename);
	assert_int_equal(mem_read(&h.m, 4242, 777, addr + h.l.str_state, &st32, 4), 0);
	st32 &= ~(1u << h.l.str_compact_bit);
	mem_patch(&h.m, addr + h.l.str_state, &st32, 4);
	assert_int_equal(hostile_frame(&h, h.code->addr, 0), -EBADMSG);
	py_code_cache__stats(h.c, &st);
	assert_int_equal(st.bad_objects, 1);
	py_code_cache__free(h.c);

	/* a name claiming 2^40 characters: cut to what was read, else an error */
	hostile_init(&h, &py312);
	addr = read_u64(&h.m, h.code->addr + h.l.code_qualname);
	v = 1ULL << 40;
	mem_patch(&h.m, addr + h.l.str_length, &v, 8);
	assert_int_equal(hostile_frame(&h, h.code->addr, 0), -EFAULT);
	py_code_cache__free(h.c);

	/* a line table of negative size; one past PY_LINETABLE_MAX: named, line 0 */
	hostile_init(&h, &py312);
	addr = read_u64(&h.m, h.code->addr + h.l.code_linetable);
	v = (__u64)-5;
	mem_patch(&h.m, addr + h.l.bytes_size, &v, 8);
	assert_int_equal(hostile_frame(&h, h.code->addr, 0), -EBADMSG);
	h.m.npatch = 0;
	v = PY_LINETABLE_MAX + 1;
	mem_patch(&h.m, addr + h.l.bytes_size, &v, 8);
	assert_int_equal(hostile_frame(&h, h.code->addr, h.code->addr + h.l.code_adaptive), 0);
	assert_string_equal(h.f.function, h.code->function);
	assert_int_equal(h.f.line, 0);
	py_code_cache__stats(h.c, &st);
	assert_int_equal(st.tables_too_long, 1);
	py_code_cache__free(h.c);

	/* instructions outside the code: named, line 0, counted */
	hostile_init(&h, &py312);
	assert_int_equal(hostile_frame(&h, h.code->addr, h.code->addr), 0);
	assert_int_equal(h.f.line, 0);
	assert_int_equal(hostile_frame(&h, h.code->addr, h.code->addr + h.l.code_adaptive + 1), 0);
	assert_int_equal(
		hostile_frame(&h, h.code->addr, h.code->addr + h.l.code_adaptive + 2000000), 0);
	assert_int_equal(hostile_frame(&h, h.code->addr, (__u64)-1), 0);
	py_code_cache__stats(h.c, &st);
	assert_int_equal(st.bad_instr, 4);
	py_code_cache__free(h.c);

	/* 3.9's f_lasti below -1 */
	hostile_init(&h, &py39);
	assert_int_equal(hostile_frame(&h, h.code->addr, (__u32)-5), 0);
	assert_int_equal(h.f.line, 0);
	assert_int_equal(hostile_frame(&h, h.code->addr, 0xffffffff00000000ULL), 0);
	assert_int_equal(h.f.line, h.code->lines[0].line); /* the high half is not f_lasti's */
	py_code_cache__stats(h.c, &st);
	assert_int_equal(st.bad_instr, 1);
	py_code_cache__free(h.c);
}

static void test_stale_entry(void **state)
{
	struct py_code_stats st;
	struct hostile h;
	__u64 other;

	(void)state;
	hostile_init(&h, &py311);
	assert_int_equal(hostile_frame(&h, h.code->addr, 0), 0);
	assert_int_equal(hostile_frame(&h, h.code->addr, 0), 0);
	/* the object freed and another one there: its name pointer now another code's */
	other = read_u64(&h.m, h.code[1].addr + h.l.code_qualname);
	mem_patch(&h.m, h.code->addr + h.l.code_qualname, &other, 8);
	assert_int_equal(hostile_frame(&h, h.code->addr, 0), 0);
	assert_string_equal(h.f.function, h.code[1].function);
	py_code_cache__stats(h.c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.stale, 1);
	assert_int_equal(st.resolved, 2);
	assert_int_equal(st.entries, 1);
	/* then its type goes: an error, never the old name */
	other = 0x10;
	mem_patch(&h.m, h.code->addr + h.l.object_type, &other, 8);
	assert_int_equal(hostile_frame(&h, h.code->addr, 0), -EFAULT);
	py_code_cache__free(h.c);
}

static void test_cache_bounds(void **state)
{
	struct py_code_stats st;
	struct hostile h;
	__u64 i;

	(void)state;
	hostile_init(&h, &py313);
	/* the same object seen at PY_CODE_CACHE_MAX + 10 addresses */
	h.m.alias_of = h.code->addr;
	for (i = 0; i < PY_CODE_CACHE_MAX + 10; i++) {
		__u64 code = ALIAS_BASE + i * ALIAS_STRIDE;

		assert_int_equal(hostile_frame(&h, code, 0), 0);
		assert_string_equal(h.f.function, h.code->function);
	}
	py_code_cache__stats(h.c, &st);
	assert_int_equal(st.entries, PY_CODE_CACHE_MAX);
	assert_int_equal(st.evictions, 10);
	assert_true(st.bytes <= PY_CODE_CACHE_BYTES);
	/* the oldest went first: the newest is still there */
	assert_int_equal(hostile_frame(&h, ALIAS_BASE + (PY_CODE_CACHE_MAX + 9) * ALIAS_STRIDE, 0),
			 0);
	py_code_cache__stats(h.c, &st);
	assert_int_equal(st.hits, 1);
	/* another process's entries stay when one is forgotten */
	py_code_cache__forget_pid(h.c, 4243);
	py_code_cache__stats(h.c, &st);
	assert_int_equal(st.entries, PY_CODE_CACHE_MAX);
	py_code_cache__forget_pid(h.c, 4242);
	py_code_cache__stats(h.c, &st);
	assert_int_equal(st.entries, 0);
	py_code_cache__free(h.c);
	py_code_cache__free(NULL);
	assert_null(py_code_cache__new(&(struct py_reader){ 0 }));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lnotab),	       cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_locations),      cmocka_unit_test(test_str_to_utf8),
		cmocka_unit_test(test_str_head),       cmocka_unit_test(test_recorded_frames),
		cmocka_unit_test(test_hostile_memory), cmocka_unit_test(test_stale_entry),
		cmocka_unit_test(test_cache_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
