// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Prints one row of user/attribute/py_layout.c's table: the offsets memobs
 * reads in a CPython process, as the interpreter's own headers lay them out.
 * Compiled against one version's headers, internal ones included
 * (-DPy_BUILD_CORE), by tools/py_offsets.sh; never built with memobs.
 * The str state bits are found by setting each bit-field in a zeroed
 * object, since offsetof() cannot name a bit-field.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <frameobject.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#if PY_VERSION_HEX >= 0x030b0000
#include "internal/pycore_frame.h"
#include "internal/pycore_code.h"
#endif

#define FRAME_READ 128 /* MEMOBS_PY_FRAME_READ */

static int failed;

static unsigned int field(const char *what, size_t off, size_t limit)
{
	if (off + 8 > limit) {
		fprintf(stderr, "py_offsets: %s at %zu: past %zu bytes\n", what, off, limit);
		failed = 1;
	}
	return (unsigned int)off;
}

/* The lowest bit the bit-field sets in the 4-byte state word, counted from the word's bit 0. */
static int state_bit(const unsigned char *obj, size_t state_off)
{
	unsigned int word;
	int bit;

	memcpy(&word, obj + state_off, sizeof(word));
	for (bit = 0; bit < 32; bit++)
		if (word & (1u << bit))
			return bit;
	return -1;
}

int main(void)
{
	PyASCIIObject a;
	size_t state_off = offsetof(PyASCIIObject, state);
	int kind_shift, compact_bit, ascii_bit;

	memset(&a, 0, sizeof(a));
	a.state.kind = 1;
	kind_shift = state_bit((const unsigned char *)&a, state_off);
	memset(&a, 0, sizeof(a));
	a.state.compact = 1;
	compact_bit = state_bit((const unsigned char *)&a, state_off);
	memset(&a, 0, sizeof(a));
	a.state.ascii = 1;
	ascii_bit = state_bit((const unsigned char *)&a, state_off);

	printf("\t{\n\t\t/* %s */\n", PY_VERSION);
	printf("\t\t.bpf = {\n");
	printf("\t\t\t.version = 0x%04x,\n", (PY_MAJOR_VERSION << 8) | PY_MINOR_VERSION);
#if PY_VERSION_HEX < 0x030b0000
	printf("\t\t\t.frame_kind = MEMOBS_PY_FRAME_OBJECT,\n");
	printf("\t\t\t.entry_kind = MEMOBS_PY_ENTRY_EVERY,\n");
#elif PY_VERSION_HEX < 0x030c0000
	printf("\t\t\t.frame_kind = MEMOBS_PY_FRAME_INTERP,\n");
	printf("\t\t\t.entry_kind = MEMOBS_PY_ENTRY_FLAG,\n");
#else
	printf("\t\t\t.frame_kind = MEMOBS_PY_FRAME_INTERP,\n");
	printf("\t\t\t.entry_kind = MEMOBS_PY_ENTRY_SHIM,\n");
#endif
	printf("\t\t\t.runtime_interp_head = %zu,\n", offsetof(_PyRuntimeState, interpreters.head));
#if PY_VERSION_HEX < 0x030b0000
	printf("\t\t\t.interp_threads_head = %zu,\n", offsetof(PyInterpreterState, tstate_head));
#else
	printf("\t\t\t.interp_threads_head = %zu,\n", offsetof(PyInterpreterState, threads.head));
#endif
	printf("\t\t\t.interp_next = %zu,\n", offsetof(PyInterpreterState, next));
	printf("\t\t\t.tstate_next = %zu,\n", offsetof(PyThreadState, next));
	printf("\t\t\t.tstate_thread_id = %zu,\n", offsetof(PyThreadState, thread_id));
#if PY_VERSION_HEX < 0x030b0000
	printf("\t\t\t.tstate_frame = %zu,\n", offsetof(PyThreadState, frame));
	printf("\t\t\t.cframe_current_frame = MEMOBS_PY_NO_OFFSET,\n");
	printf("\t\t\t.frame_back = %u,\n",
	       field("f_back", offsetof(PyFrameObject, f_back), FRAME_READ));
	printf("\t\t\t.frame_code = %u,\n",
	       field("f_code", offsetof(PyFrameObject, f_code), FRAME_READ));
	printf("\t\t\t.frame_instr = %u,\n",
	       field("f_lasti", offsetof(PyFrameObject, f_lasti), FRAME_READ));
	printf("\t\t\t.frame_entry = MEMOBS_PY_NO_OFFSET,\n");
	printf("\t\t\t.owner_cstack = 0,\n");
#else
#if PY_VERSION_HEX < 0x030d0000
	printf("\t\t\t.tstate_frame = %zu,\n", offsetof(PyThreadState, cframe));
	printf("\t\t\t.cframe_current_frame = %zu,\n", offsetof(_PyCFrame, current_frame));
	printf("\t\t\t.frame_code = %u,\n",
	       field("f_code", offsetof(_PyInterpreterFrame, f_code), FRAME_READ));
	printf("\t\t\t.frame_instr = %u,\n",
	       field("prev_instr", offsetof(_PyInterpreterFrame, prev_instr), FRAME_READ));
#else
	printf("\t\t\t.tstate_frame = %zu,\n", offsetof(PyThreadState, current_frame));
	printf("\t\t\t.cframe_current_frame = MEMOBS_PY_NO_OFFSET,\n");
	printf("\t\t\t.frame_code = %u,\n",
	       field("f_executable", offsetof(_PyInterpreterFrame, f_executable), FRAME_READ));
	printf("\t\t\t.frame_instr = %u,\n",
	       field("instr_ptr", offsetof(_PyInterpreterFrame, instr_ptr), FRAME_READ));
#endif
	printf("\t\t\t.frame_back = %u,\n",
	       field("previous", offsetof(_PyInterpreterFrame, previous), FRAME_READ));
#if PY_VERSION_HEX < 0x030c0000
	printf("\t\t\t.frame_entry = %u,\n",
	       field("is_entry", offsetof(_PyInterpreterFrame, is_entry), FRAME_READ));
	printf("\t\t\t.owner_cstack = 0,\n");
#else
	printf("\t\t\t.frame_entry = %u,\n",
	       field("owner", offsetof(_PyInterpreterFrame, owner), FRAME_READ));
	printf("\t\t\t.owner_cstack = %d,\n", FRAME_OWNED_BY_CSTACK);
#endif
#endif
	printf("\t\t},\n");
	printf("\t\t.code_filename = %zu,\n", offsetof(PyCodeObject, co_filename));
	printf("\t\t.code_name = %zu,\n", offsetof(PyCodeObject, co_name));
#if PY_VERSION_HEX >= 0x030b0000
	printf("\t\t.code_qualname = %zu,\n", offsetof(PyCodeObject, co_qualname));
#else
	printf("\t\t.code_qualname = MEMOBS_PY_NO_OFFSET,\n");
#endif
	printf("\t\t.code_firstlineno = %zu,\n", offsetof(PyCodeObject, co_firstlineno));
#if PY_VERSION_HEX < 0x030a0000
	printf("\t\t.code_linetable = %zu,\n", offsetof(PyCodeObject, co_lnotab));
	printf("\t\t.line_kind = PY_LINES_LNOTAB,\n");
#elif PY_VERSION_HEX < 0x030b0000
	printf("\t\t.code_linetable = %zu,\n", offsetof(PyCodeObject, co_linetable));
	printf("\t\t.line_kind = PY_LINES_PAIRS,\n");
#else
	printf("\t\t.code_linetable = %zu,\n", offsetof(PyCodeObject, co_linetable));
	printf("\t\t.line_kind = PY_LINES_LOCATIONS,\n");
#endif
#if PY_VERSION_HEX >= 0x030b0000
	printf("\t\t.code_adaptive = %zu,\n", offsetof(PyCodeObject, co_code_adaptive));
#else
	printf("\t\t.code_adaptive = MEMOBS_PY_NO_OFFSET,\n");
#endif
	printf("\t\t.object_type = %zu,\n", offsetof(PyObject, ob_type));
	printf("\t\t.type_name = %zu,\n", offsetof(PyTypeObject, tp_name));
	printf("\t\t.bytes_size = %zu,\n", offsetof(PyVarObject, ob_size));
	printf("\t\t.bytes_data = %zu,\n", offsetof(PyBytesObject, ob_sval));
	printf("\t\t.str_length = %zu,\n", offsetof(PyASCIIObject, length));
	printf("\t\t.str_state = %zu,\n", state_off);
	printf("\t\t.str_kind_shift = %d,\n", kind_shift);
	printf("\t\t.str_compact_bit = %d,\n", compact_bit);
	printf("\t\t.str_ascii_bit = %d,\n", ascii_bit);
	printf("\t\t.str_ascii_data = %zu,\n", sizeof(PyASCIIObject));
	printf("\t\t.str_compact_data = %zu,\n", sizeof(PyCompactUnicodeObject));
	printf("\t},\n");
	return failed;
}
