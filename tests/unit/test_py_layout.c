// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CPython layouts (attribute/py_layout.h): the table's rows for 3.9-3.12,
 * the 3.13 _Py_DebugOffsets parse of _PyRuntime's bytes recorded from a
 * real 3.13.0 (tests/unit/fixtures/python/), and what is refused.
 * Live interpreters are walked in docs/python.md's check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "attribute/py_layout.h"
#include "fixtures/python/fixture.h"

static void test_table_rows(void **state)
{
	static const unsigned int minors[] = { 9, 10, 11, 12 };
	struct py_layout l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(minors) / sizeof(minors[0]); i++) {
		assert_int_equal(py_layout__for_version(3, minors[i], &l), 0);
		assert_int_equal(l.bpf.version, 0x300 | minors[i]);
		assert_int_equal(l.bpf.runtime_addr, 0);
		assert_int_equal(py_layout__check(&l), 0);
		assert_true(l.bpf.frame_back + 8 <= MEMOBS_PY_FRAME_READ);
		assert_true(l.bpf.frame_code + 8 <= MEMOBS_PY_FRAME_READ);
		assert_true(l.bpf.frame_instr + 8 <= MEMOBS_PY_FRAME_READ);
		assert_true(l.bpf.frame_entry == MEMOBS_PY_NO_OFFSET ||
			    l.bpf.frame_entry + 8 <= MEMOBS_PY_FRAME_READ);
		/* PyObject and PyTypeObject heads are the same in every version */
		assert_int_equal(l.object_type, 8);
		assert_int_equal(l.type_name, 24);
	}
	/* per version, what changed (tools/py_offsets.sh's rows) */
	assert_int_equal(py_layout__for_version(3, 9, &l), 0);
	assert_int_equal(l.bpf.frame_kind, MEMOBS_PY_FRAME_OBJECT);
	assert_int_equal(l.bpf.entry_kind, MEMOBS_PY_ENTRY_EVERY);
	assert_int_equal(l.line_kind, PY_LINES_LNOTAB);
	assert_int_equal(l.bpf.cframe_current_frame, MEMOBS_PY_NO_OFFSET);
	assert_int_equal(l.code_qualname, MEMOBS_PY_NO_OFFSET);
	assert_int_equal(l.bpf.frame_instr, 104);
	assert_int_equal(py_layout__for_version(3, 10, &l), 0);
	assert_int_equal(l.line_kind, PY_LINES_PAIRS);
	assert_int_equal(l.bpf.frame_instr, 96);
	assert_int_equal(py_layout__for_version(3, 11, &l), 0);
	assert_int_equal(l.bpf.frame_kind, MEMOBS_PY_FRAME_INTERP);
	assert_int_equal(l.bpf.entry_kind, MEMOBS_PY_ENTRY_FLAG);
	assert_int_equal(l.bpf.cframe_current_frame, 8);
	assert_int_equal(l.bpf.frame_entry, 68);
	assert_int_equal(l.code_adaptive, 184);
	assert_int_equal(l.str_ascii_data, 48); /* wstr still there */
	assert_int_equal(py_layout__for_version(3, 12, &l), 0);
	assert_int_equal(l.bpf.entry_kind, MEMOBS_PY_ENTRY_SHIM);
	assert_int_equal(l.bpf.owner_cstack, 3);
	assert_int_equal(l.bpf.cframe_current_frame, 0);
	assert_int_equal(l.str_ascii_data, 40); /* 3.12 removed wstr */
	assert_int_equal(l.str_compact_data, 56);
}

static void test_table_refuses(void **state)
{
	static const unsigned int versions[][2] = { { 3, 8 }, { 3, 13 },  { 3, 14 },
						    { 2, 7 }, { 4, 0 },	  { 3, 99 },
						    { 0, 0 }, { 259, 9 }, { 3, 265 } };
	struct py_layout l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		assert_int_equal(py_layout__for_version(versions[i][0], versions[i][1], &l),
				 -EPROTONOSUPPORT);
}

/* The 3.13 row of tools/py_offsets.sh, from 3.13.0's headers: what the debug offsets must say. */
static void assert_313(const struct py_layout *l)
{
	assert_int_equal(l->bpf.version, 0x030d);
	assert_int_equal(l->bpf.frame_kind, MEMOBS_PY_FRAME_INTERP);
	assert_int_equal(l->bpf.entry_kind, MEMOBS_PY_ENTRY_SHIM);
	assert_int_equal(l->bpf.runtime_interp_head, 632);
	assert_int_equal(l->bpf.interp_threads_head, 7344);
	assert_int_equal(l->bpf.tstate_next, 8);
	assert_int_equal(l->bpf.tstate_thread_id, 152);
	assert_int_equal(l->bpf.tstate_frame, 72);
	assert_int_equal(l->bpf.cframe_current_frame, MEMOBS_PY_NO_OFFSET);
	assert_int_equal(l->bpf.frame_back, 8);
	assert_int_equal(l->bpf.frame_code, 0);
	assert_int_equal(l->bpf.frame_instr, 56);
	assert_int_equal(l->bpf.frame_entry, 70);
	assert_int_equal(l->bpf.owner_cstack, 3);
	assert_int_equal(l->code_filename, 112);
	assert_int_equal(l->code_name, 120);
	assert_int_equal(l->code_qualname, 128);
	assert_int_equal(l->code_firstlineno, 68);
	assert_int_equal(l->code_linetable, 136);
	assert_int_equal(l->code_adaptive, 200);
	assert_int_equal(l->line_kind, PY_LINES_LOCATIONS);
	assert_int_equal(l->object_type, 8);
	assert_int_equal(l->type_name, 24);
	assert_int_equal(l->bytes_size, 16);
	assert_int_equal(l->bytes_data, 32);
	assert_int_equal(l->str_length, 16);
	assert_int_equal(l->str_state, 32);
	assert_int_equal(l->str_kind_shift, 2);
	assert_int_equal(l->str_compact_bit, 5);
	assert_int_equal(l->str_ascii_bit, 6);
	assert_int_equal(l->str_ascii_data, 40);
	assert_int_equal(l->str_compact_data, 56);
}

static void test_debug_offsets_313(void **state)
{
	struct py_layout l;
	__u64 hex = 0;

	(void)state;
	assert_int_equal(py_layout__from_debug_offsets(py313.runtime, 1024, &l, &hex), 0);
	assert_int_equal(hex, py313.hexversion);
	assert_313(&l);
	assert_int_equal(l.bpf.runtime_addr, 0);
	assert_int_equal(py_layout__check(&l), 0);
	/* hexversion may be NULL */
	assert_int_equal(py_layout__from_debug_offsets(py313.runtime, 1024, &l, NULL), 0);
}

static void test_debug_offsets_refused(void **state)
{
	char buf[1024];
	struct py_layout l;
	__u64 hex = 0, v, big = 200;

	(void)state;
	/* 3.12 has no debug offsets: no cookie */
	assert_int_equal(py_layout__from_debug_offsets(py312.runtime, 1024, &l, &hex), -EINVAL);
	assert_int_equal(py_layout__from_debug_offsets(py313.runtime, 15, &l, &hex), -EINVAL);
	/* the cookie, too short for the offsets */
	assert_int_equal(py_layout__from_debug_offsets(py313.runtime, 100, &l, &hex),
			 -EPROTONOSUPPORT);
	/* 3.14 (its struct differs), 3.12 claiming a cookie */
	memcpy(buf, py313.runtime, sizeof(buf));
	v = 0x030e00a1;
	memcpy(buf + 8, &v, 8);
	assert_int_equal(py_layout__from_debug_offsets(buf, sizeof(buf), &l, &hex),
			 -EPROTONOSUPPORT);
	assert_int_equal(hex, 0x030e00a1);
	v = 0x030c01f0;
	memcpy(buf + 8, &v, 8);
	assert_int_equal(py_layout__from_debug_offsets(buf, sizeof(buf), &l, &hex),
			 -EPROTONOSUPPORT);
	/* a free-threaded build */
	memcpy(buf, py313.runtime, sizeof(buf));
	v = 1;
	memcpy(buf + 16, &v, 8);
	assert_int_equal(py_layout__from_debug_offsets(buf, sizeof(buf), &l, &hex),
			 -EPROTONOSUPPORT);
	/* an offset past the bounds: the frame's previous at 200 (interpreter_frame at 224) */
	memcpy(buf, py313.runtime, sizeof(buf));
	memcpy(buf + 232, &big, 8);
	assert_int_equal(py_layout__from_debug_offsets(buf, sizeof(buf), &l, &hex),
			 -EPROTONOSUPPORT);
	/* the code's filename far out (code_object at 272) */
	memcpy(buf, py313.runtime, sizeof(buf));
	big = 1ULL << 40;
	memcpy(buf + 280, &big, 8);
	assert_int_equal(py_layout__from_debug_offsets(buf, sizeof(buf), &l, &hex),
			 -EPROTONOSUPPORT);
	/* thread state next unknown */
	memcpy(buf, py313.runtime, sizeof(buf));
	memcpy(buf + 168, &big, 8);
	assert_int_equal(py_layout__from_debug_offsets(buf, sizeof(buf), &l, &hex),
			 -EPROTONOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_rows),
		cmocka_unit_test(test_table_refuses),
		cmocka_unit_test(test_debug_offsets_313),
		cmocka_unit_test(test_debug_offsets_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
