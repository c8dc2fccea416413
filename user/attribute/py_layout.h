/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where CPython keeps what memobs reads (issue 16, docs/python.md): the
 * frame chain's offsets for BPF (struct memobs_py_layout) and what userspace
 * needs to name a frame (code objects, str, bytes, type objects).
 *
 * 3.9 to 3.12 come from a static table, made by tools/py_offsets.sh from
 * each version's own headers. From 3.13 on the interpreter describes itself:
 * _PyRuntime starts with _Py_DebugOffsets ("xdebugpy", its version, then
 * the offsets), read out of the process and parsed here; 3.13 is the only
 * version whose _Py_DebugOffsets layout is known. Any other version (before
 * 3.9, 3.14 and later, a free-threaded build) is refused, never guessed.
 */
#ifndef MEMOBS_PY_LAYOUT_H
#define MEMOBS_PY_LAYOUT_H

#include <stddef.h>
#include <linux/types.h>
#include "memobs.h"

/* How a code object's line table is written (attribute/py_code.h decodes each). */
enum py_line_kind {
	PY_LINES_LNOTAB = 0,	/* 3.9: co_lnotab, (byte delta, signed line delta) pairs */
	PY_LINES_PAIRS = 1,	/* 3.10: co_linetable, pairs with -128 for no line */
	PY_LINES_LOCATIONS = 2, /* 3.11+: co_linetable, the location table */
};

/* The most bytes of a code object's head the resolver reads at once: every code_* + 8 within. */
#define PY_CODE_HEAD_MAX 256
/* The bytes of _PyRuntime parsed as _Py_DebugOffsets (3.13.0's is 584: room for its patches). */
#define PY_DEBUG_OFFSETS_READ 1024

struct py_layout {
	struct memobs_py_layout bpf; /* what goes to memobs_attr_py_procs (runtime_addr set by
				      * the caller: py_proc.h) */
	__u16 code_filename;	     /* PyCodeObject.co_filename (str) */
	__u16 code_name;	     /* .co_name (str) */
	__u16 code_qualname;	     /* .co_qualname (str, 3.11+); MEMOBS_PY_NO_OFFSET: none */
	__u16 code_firstlineno;	     /* .co_firstlineno (int) */
	__u16 code_linetable;	     /* .co_lnotab (3.9), .co_linetable (bytes) */
	__u16 code_adaptive;	     /* .co_code_adaptive: the instructions (3.11+); or NO_OFFSET */
	__u8 line_kind;		     /* enum py_line_kind */
	__u8 str_kind_shift;	     /* PyASCIIObject.state: bit of the 3-bit kind */
	__u8 str_compact_bit;	     /* ... the compact bit */
	__u8 str_ascii_bit;	     /* ... the ascii bit */
	__u16 object_type;	     /* PyObject.ob_type */
	__u16 type_name;	     /* PyTypeObject.tp_name (char *) */
	__u16 bytes_size;	     /* PyVarObject.ob_size of a bytes object */
	__u16 bytes_data;	     /* PyBytesObject.ob_sval */
	__u16 str_length;	     /* PyASCIIObject.length (code points) */
	__u16 str_state;	     /* PyASCIIObject.state (a 32-bit word) */
	__u16 str_ascii_data;	     /* sizeof(PyASCIIObject): a compact ASCII str's data */
	__u16 str_compact_data;	     /* sizeof(PyCompactUnicodeObject): a compact non-ASCII's */
	/*
	 * The interpreter image detection read (py_proc.h, set with runtime_addr):
	 * the one file whose mappings frames are read from (py_mem__set_image).
	 */
	__u64 image_dev, image_ino;
};

/*
 * The table's layout of CPython major.minor (3.9 to 3.12). Returns 0, or
 * -EPROTONOSUPPORT when the version is not in the table (3.13 and later
 * describe themselves: py_layout__from_debug_offsets()).
 */
int py_layout__for_version(unsigned int major, unsigned int minor, struct py_layout *out);

/*
 * The layout from the first len bytes of a process's _PyRuntime (at least
 * the debug offsets' size; PY_DEBUG_OFFSETS_READ is enough). Returns 0,
 * -EINVAL when the bytes do not start with the cookie "xdebugpy", or
 * -EPROTONOSUPPORT when they are of a version other than 3.13, of a
 * free-threaded build, or hold offsets past memobs's bounds (a frame field
 * past MEMOBS_PY_FRAME_READ, a code field past PY_CODE_HEAD_MAX). *hexversion
 * (may be NULL) gets the version the bytes claim, when the cookie is there.
 */
int py_layout__from_debug_offsets(const void *buf, size_t len, struct py_layout *out,
				  __u64 *hexversion);

/* Whether every offset is within the bounds the readers assume (the checks above). */
int py_layout__check(const struct py_layout *l);

#endif /* MEMOBS_PY_LAYOUT_H */
