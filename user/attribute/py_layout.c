// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CPython's layouts: the per-version table and the 3.13 _Py_DebugOffsets parser (py_layout.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "attribute/py_layout.h"

_Static_assert(PY_CODE_HEAD_MAX <= 0xffff, "offsets are 16-bit");

/*
 * One row per minor version, printed by tools/py_offsets.sh from that
 * version's headers (docs/python.md: which builds were checked). Do not edit
 * a row by hand: regenerate it.
 */
static const struct py_layout table[] = {
	{
		/* tools/py_offsets.sh on 3.9.18 */
		.bpf = {
			.version = 0x0309,
			.frame_kind = MEMOBS_PY_FRAME_OBJECT,
			.entry_kind = MEMOBS_PY_ENTRY_EVERY,
			.runtime_interp_head = 32,
			.interp_threads_head = 8,
			.interp_next = 0,
			.tstate_next = 8,
			.tstate_thread_id = 176,
			.tstate_frame = 24,
			.cframe_current_frame = MEMOBS_PY_NO_OFFSET,
			.frame_back = 24,
			.frame_code = 32,
			.frame_instr = 104,
			.frame_entry = MEMOBS_PY_NO_OFFSET,
			.owner_cstack = 0,
		},
		.code_filename = 104,
		.code_name = 112,
		.code_qualname = MEMOBS_PY_NO_OFFSET,
		.code_firstlineno = 40,
		.code_linetable = 120,
		.line_kind = PY_LINES_LNOTAB,
		.code_adaptive = MEMOBS_PY_NO_OFFSET,
		.object_type = 8,
		.type_name = 24,
		.bytes_size = 16,
		.bytes_data = 32,
		.str_length = 16,
		.str_state = 32,
		.str_kind_shift = 2,
		.str_compact_bit = 5,
		.str_ascii_bit = 6,
		.str_ascii_data = 48,
		.str_compact_data = 72,
	},
	{
		/* tools/py_offsets.sh on 3.10.13 */
		.bpf = {
			.version = 0x030a,
			.frame_kind = MEMOBS_PY_FRAME_OBJECT,
			.entry_kind = MEMOBS_PY_ENTRY_EVERY,
			.runtime_interp_head = 32,
			.interp_threads_head = 8,
			.interp_next = 0,
			.tstate_next = 8,
			.tstate_thread_id = 176,
			.tstate_frame = 24,
			.cframe_current_frame = MEMOBS_PY_NO_OFFSET,
			.frame_back = 24,
			.frame_code = 32,
			.frame_instr = 96,
			.frame_entry = MEMOBS_PY_NO_OFFSET,
			.owner_cstack = 0,
		},
		.code_filename = 104,
		.code_name = 112,
		.code_qualname = MEMOBS_PY_NO_OFFSET,
		.code_firstlineno = 40,
		.code_linetable = 120,
		.line_kind = PY_LINES_PAIRS,
		.code_adaptive = MEMOBS_PY_NO_OFFSET,
		.object_type = 8,
		.type_name = 24,
		.bytes_size = 16,
		.bytes_data = 32,
		.str_length = 16,
		.str_state = 32,
		.str_kind_shift = 2,
		.str_compact_bit = 5,
		.str_ascii_bit = 6,
		.str_ascii_data = 48,
		.str_compact_data = 72,
	},
	{
		/* tools/py_offsets.sh on 3.11.7 */
		.bpf = {
			.version = 0x030b,
			.frame_kind = MEMOBS_PY_FRAME_INTERP,
			.entry_kind = MEMOBS_PY_ENTRY_FLAG,
			.runtime_interp_head = 40,
			.interp_threads_head = 16,
			.interp_next = 0,
			.tstate_next = 8,
			.tstate_thread_id = 152,
			.tstate_frame = 56,
			.cframe_current_frame = 8,
			.frame_code = 32,
			.frame_instr = 56,
			.frame_back = 48,
			.frame_entry = 68,
			.owner_cstack = 0,
		},
		.code_filename = 112,
		.code_name = 120,
		.code_qualname = 128,
		.code_firstlineno = 72,
		.code_linetable = 136,
		.line_kind = PY_LINES_LOCATIONS,
		.code_adaptive = 184,
		.object_type = 8,
		.type_name = 24,
		.bytes_size = 16,
		.bytes_data = 32,
		.str_length = 16,
		.str_state = 32,
		.str_kind_shift = 2,
		.str_compact_bit = 5,
		.str_ascii_bit = 6,
		.str_ascii_data = 48,
		.str_compact_data = 72,
	},
	{
		/* tools/py_offsets.sh on 3.12.1 */
		.bpf = {
			.version = 0x030c,
			.frame_kind = MEMOBS_PY_FRAME_INTERP,
			.entry_kind = MEMOBS_PY_ENTRY_SHIM,
			.runtime_interp_head = 40,
			.interp_threads_head = 72,
			.interp_next = 0,
			.tstate_next = 8,
			.tstate_thread_id = 136,
			.tstate_frame = 56,
			.cframe_current_frame = 0,
			.frame_code = 0,
			.frame_instr = 56,
			.frame_back = 8,
			.frame_entry = 70,
			.owner_cstack = 3,
		},
		.code_filename = 112,
		.code_name = 120,
		.code_qualname = 128,
		.code_firstlineno = 68,
		.code_linetable = 136,
		.line_kind = PY_LINES_LOCATIONS,
		.code_adaptive = 192,
		.object_type = 8,
		.type_name = 24,
		.bytes_size = 16,
		.bytes_data = 32,
		.str_length = 16,
		.str_state = 32,
		.str_kind_shift = 2,
		.str_compact_bit = 5,
		.str_ascii_bit = 6,
		.str_ascii_data = 40,
		.str_compact_data = 56,
	},
};

/* _Py_DebugOffsets of 3.13 (Include/internal/pycore_runtime.h), every field a u64. */
struct debug_offsets_313 {
	char cookie[8];
	__u64 version;
	__u64 free_threaded;
	struct {
		__u64 size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		__u64 size, id, next, threads_head, gc, imports_modules, sysdict, builtins,
			ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder;
	} interpreter_state;
	struct {
		__u64 size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct {
		__u64 size, previous, executable, instr_ptr, localsplus, owner;
	} interpreter_frame;
	struct {
		__u64 size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive;
	} code_object;
	struct {
		__u64 size, ob_type;
	} pyobject;
	struct {
		__u64 size, tp_name, tp_repr, tp_flags;
	} type_object;
	struct {
		__u64 size, ob_item, ob_size;
	} tuple_object, list_object;
	struct {
		__u64 size, ma_keys, ma_values;
	} dict_object;
	struct {
		__u64 size, ob_fval;
	} float_object;
	struct {
		__u64 size, lv_tag, ob_digit;
	} long_object;
	struct {
		__u64 size, ob_size, ob_sval;
	} bytes_object;
	struct {
		__u64 size, state, length, asciiobject_size;
	} unicode_object;
	struct {
		__u64 size, collecting;
	} gc;
};

_Static_assert(sizeof(struct debug_offsets_313) == 584, "3.13.0's _Py_DebugOffsets");
_Static_assert(sizeof(struct debug_offsets_313) <= PY_DEBUG_OFFSETS_READ, "read enough");

static const char debug_cookie[8] = "xdebugpy";

/*
 * The limits every reader assumes: BPF reads a frame in one MEMOBS_PY_FRAME_READ
 * read and the thread state, interpreter and runtime fields as u64s at any
 * 16-bit offset; the resolver reads a code object's head in PY_CODE_HEAD_MAX.
 */
static int frame_field_ok(__u16 off)
{
	return off == MEMOBS_PY_NO_OFFSET || off + 8 <= MEMOBS_PY_FRAME_READ;
}

static int head_field_ok(__u16 off)
{
	return off + 8 <= PY_CODE_HEAD_MAX;
}

int py_layout__check(const struct py_layout *l)
{
	const struct memobs_py_layout *b = &l->bpf;

	if (b->runtime_interp_head == MEMOBS_PY_NO_OFFSET ||
	    b->interp_threads_head == MEMOBS_PY_NO_OFFSET ||
	    b->tstate_next == MEMOBS_PY_NO_OFFSET || b->tstate_thread_id == MEMOBS_PY_NO_OFFSET ||
	    b->tstate_frame == MEMOBS_PY_NO_OFFSET)
		return -EPROTONOSUPPORT;
	if (!frame_field_ok(b->frame_back) || !frame_field_ok(b->frame_code) ||
	    !frame_field_ok(b->frame_instr) || !frame_field_ok(b->frame_entry) ||
	    b->frame_back == MEMOBS_PY_NO_OFFSET || b->frame_code == MEMOBS_PY_NO_OFFSET ||
	    b->frame_instr == MEMOBS_PY_NO_OFFSET)
		return -EPROTONOSUPPORT;
	if (b->frame_kind == MEMOBS_PY_FRAME_INTERP && !head_field_ok(l->code_adaptive))
		return -EPROTONOSUPPORT;
	if (!head_field_ok(l->code_filename) || !head_field_ok(l->code_name) ||
	    !head_field_ok(l->code_firstlineno) || !head_field_ok(l->code_linetable) ||
	    !head_field_ok(l->object_type) ||
	    (l->code_qualname != MEMOBS_PY_NO_OFFSET && !head_field_ok(l->code_qualname)))
		return -EPROTONOSUPPORT;
	/* str and bytes heads are read PY_CODE_HEAD_MAX at most too, type objects 8 bytes */
	if (!head_field_ok(l->str_length) || !head_field_ok(l->str_state) ||
	    l->str_ascii_data > PY_CODE_HEAD_MAX || l->str_compact_data > PY_CODE_HEAD_MAX ||
	    !head_field_ok(l->bytes_size) || l->bytes_data > PY_CODE_HEAD_MAX ||
	    l->type_name == MEMOBS_PY_NO_OFFSET)
		return -EPROTONOSUPPORT;
	if (l->str_kind_shift > 29 || l->str_compact_bit > 31 || l->str_ascii_bit > 31 ||
	    l->line_kind > PY_LINES_LOCATIONS)
		return -EPROTONOSUPPORT;
	return 0;
}

int py_layout__for_version(unsigned int major, unsigned int minor, struct py_layout *out)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].bpf.version == ((major << 8) | minor) && major < 256 && minor < 256) {
			*out = table[i];
			return 0;
		}
	}
	return -EPROTONOSUPPORT;
}

/* A u64 offset of the debug offsets as a 16-bit one, or MEMOBS_PY_NO_OFFSET when it is past. */
static __u16 off16(__u64 v)
{
	return v < MEMOBS_PY_NO_OFFSET ? (__u16)v : MEMOBS_PY_NO_OFFSET;
}

int py_layout__from_debug_offsets(const void *buf, size_t len, struct py_layout *out,
				  __u64 *hexversion)
{
	struct debug_offsets_313 d;
	struct py_layout l;

	if (len < sizeof(debug_cookie) + sizeof(__u64) || memcmp(buf, debug_cookie, 8))
		return -EINVAL;
	memcpy(&d.version, (const char *)buf + 8, sizeof(d.version));
	if (hexversion)
		*hexversion = d.version;
	/* PY_VERSION_HEX: 0x030d00f0 is 3.13.0 final; every 3.13.x shares the struct */
	if ((d.version >> 16) != 0x030d || len < sizeof(d))
		return -EPROTONOSUPPORT;
	memcpy(&d, buf, sizeof(d));
	/* Py_GIL_DISABLED: other object headers and str state bits than the table's */
	if (d.free_threaded)
		return -EPROTONOSUPPORT;
	/*
	 * What the debug offsets do not say comes from 3.13.0's headers
	 * (tools/py_offsets.sh): the frame kind, the shim owner value, the str
	 * state's bits and the compact non-ASCII header (PyASCIIObject, then
	 * utf8_length and utf8: two words).
	 */
	l = (struct py_layout){
		.bpf = {
			.version = 0x030d,
			.frame_kind = MEMOBS_PY_FRAME_INTERP,
			.entry_kind = MEMOBS_PY_ENTRY_SHIM,
			.runtime_interp_head = off16(d.runtime_state.interpreters_head),
			.interp_threads_head = off16(d.interpreter_state.threads_head),
			.interp_next = off16(d.interpreter_state.next),
			.tstate_next = off16(d.thread_state.next),
			.tstate_thread_id = off16(d.thread_state.thread_id),
			.tstate_frame = off16(d.thread_state.current_frame),
			.cframe_current_frame = MEMOBS_PY_NO_OFFSET,
			.frame_back = off16(d.interpreter_frame.previous),
			.frame_code = off16(d.interpreter_frame.executable),
			.frame_instr = off16(d.interpreter_frame.instr_ptr),
			.frame_entry = off16(d.interpreter_frame.owner),
			.owner_cstack = 3, /* FRAME_OWNED_BY_CSTACK */
		},
		.code_filename = off16(d.code_object.filename),
		.code_name = off16(d.code_object.name),
		.code_qualname = off16(d.code_object.qualname),
		.code_firstlineno = off16(d.code_object.firstlineno),
		.code_linetable = off16(d.code_object.linetable),
		.code_adaptive = off16(d.code_object.co_code_adaptive),
		.line_kind = PY_LINES_LOCATIONS,
		.str_kind_shift = 2,
		.str_compact_bit = 5,
		.str_ascii_bit = 6,
		.object_type = off16(d.pyobject.ob_type),
		.type_name = off16(d.type_object.tp_name),
		.bytes_size = off16(d.bytes_object.ob_size),
		.bytes_data = off16(d.bytes_object.ob_sval),
		.str_length = off16(d.unicode_object.length),
		.str_state = off16(d.unicode_object.state),
		.str_ascii_data = off16(d.unicode_object.asciiobject_size),
		.str_compact_data = off16(d.unicode_object.asciiobject_size + 16),
	};
	if (d.interpreter_frame.owner == MEMOBS_PY_NO_OFFSET ||
	    d.unicode_object.asciiobject_size > PY_CODE_HEAD_MAX)
		return -EPROTONOSUPPORT;
	if (py_layout__check(&l))
		return -EPROTONOSUPPORT;
	*out = l;
	return 0;
}
