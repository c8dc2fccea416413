// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "attribute/gopclntab.h"

/* header words after the 8 fixed bytes, in order */
enum {
	HDR_NFUNC,
	HDR_NFILES,
	HDR_TEXT_START,
	HDR_FUNCNAME_OFF,
	HDR_CU_OFF,
	HDR_FILETAB_OFF,
	HDR_PCTAB_OFF,
	HDR_PCLN_OFF,
	HDR_WORDS,
};

#define FUNCTAB_ENTRY 8 /* {entryOff u32, funcOff u32} */
#define FUNC_HEAD 8	/* _func's entryOff u32, nameOff i32: what the name needs */
/* _func's fields for lines, and the bytes up to the last of them */
#define FUNC_PCFILE 20
#define FUNC_PCLN 24
#define FUNC_CU_OFF 32
#define FUNC_LINES 36
/* steps of one value table walked at most: a function's run to hundreds, a hostile one's no further */
#define PCVALUE_MAX_STEPS 65536

/* Reads are unaligned-safe and in the host's byte order (Go writes the target's). */
static __u32 get_u32(const __u8 *p)
{
	__u32 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static __u64 get_word(const __u8 *p, unsigned ptr_size)
{
	__u64 v = 0;

	if (ptr_size == 8)
		memcpy(&v, p, 8);
	else
		v = get_u32(p);
	return v;
}

int gopclntab__parse(const void *data, size_t len, __u64 text_start_hint, struct gopclntab *t)
{
	const __u8 *d = data;
	__u64 w[HDR_WORDS], functab_len;
	unsigned ptr_size, min_lc, i;
	__u32 magic;

	memset(t, 0, sizeof(*t));
	if (!d || len < 8)
		return -ENOEXEC;
	magic = get_u32(d);
	ptr_size = d[7];
	min_lc = d[6];
	if ((magic != GOPCLNTAB_MAGIC_118 && magic != GOPCLNTAB_MAGIC_120) || d[4] || d[5] ||
	    (ptr_size != 4 && ptr_size != 8) || (min_lc != 1 && min_lc != 2 && min_lc != 4))
		return -ENOEXEC;
	if (len < 8 + (size_t)HDR_WORDS * ptr_size)
		return -ENOEXEC;
	for (i = 0; i < HDR_WORDS; i++)
		w[i] = get_word(d + 8 + i * ptr_size, ptr_size);
	if (w[HDR_NFUNC] > UINT32_MAX || w[HDR_FUNCNAME_OFF] >= len || w[HDR_PCLN_OFF] >= len)
		return -ENOEXEC;
	/* the functab and its trailing end offset must fit: nothing past it is trusted */
	functab_len = w[HDR_NFUNC] * FUNCTAB_ENTRY + 4;
	if (functab_len > len - w[HDR_PCLN_OFF])
		return -ENOEXEC;
	t->data = d;
	t->len = len;
	t->nfunc = (__u32)w[HDR_NFUNC];
	t->text_start = w[HDR_TEXT_START] ? w[HDR_TEXT_START] : text_start_hint;
	t->funcnames_off = (size_t)w[HDR_FUNCNAME_OFF];
	t->functab_off = (size_t)w[HDR_PCLN_OFF];
	/* only lines need these: out of bounds, they are none */
	t->cutab_off = w[HDR_CU_OFF] < len ? (size_t)w[HDR_CU_OFF] : len;
	t->filetab_off = w[HDR_FILETAB_OFF] < len ? (size_t)w[HDR_FILETAB_OFF] : len;
	t->pctab_off = w[HDR_PCTAB_OFF] < len ? (size_t)w[HDR_PCTAB_OFF] : len;
	t->min_lc = min_lc;
	return 0;
}

static __u32 entry_off(const struct gopclntab *t, __u32 i)
{
	return get_u32(t->data + t->functab_off + (size_t)i * FUNCTAB_ENTRY);
}

/* The index of the last function whose entry is at or below off; -1 when none. */
static long func_index(const struct gopclntab *t, __u32 off)
{
	__u32 lo = 0, hi = t->nfunc;

	while (lo < hi) {
		__u32 mid = lo + (hi - lo) / 2;

		if (entry_off(t, mid) <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

/* The string at data[base + off]: up to its NUL, which must lie within the table. */
static int string_at(const struct gopclntab *t, size_t base, __u64 off, const char **name,
		     size_t *name_len)
{
	const __u8 *start, *nul;
	size_t pos, room;

	if (base >= t->len || off >= t->len - base)
		return -ENOENT;
	pos = base + (size_t)off;
	start = t->data + pos;
	room = t->len - pos;
	if (room > GOPCLNTAB_NAME_MAX + 1)
		room = GOPCLNTAB_NAME_MAX + 1;
	nul = memchr(start, '\0', room);
	if (!nul && room <= GOPCLNTAB_NAME_MAX)
		return -ENOENT; /* runs off the end of the table */
	*name_len = nul ? (size_t)(nul - start) : GOPCLNTAB_NAME_MAX;
	if (!*name_len)
		return -ENOENT;
	*name = (const char *)start;
	return 0;
}

/*
 * The function covering pc: its entry's offset from textStart, and the
 * position of its _func record, which holds at least need bytes.
 */
static int find_func(const struct gopclntab *t, __u64 pc, size_t need, __u32 *entry, size_t *rec)
{
	__u64 off64, at;
	__u32 end;
	long i;

	if (!t->data || !t->nfunc || pc < t->text_start)
		return -ENOENT;
	off64 = pc - t->text_start;
	end = entry_off(t, t->nfunc); /* the trailing u32: the end of the last function */
	if (off64 >= end)
		return -ENOENT;
	i = func_index(t, (__u32)off64);
	if (i < 0)
		return -ENOENT;
	at = (__u64)t->functab_off +
	     get_u32(t->data + t->functab_off + (size_t)i * FUNCTAB_ENTRY + 4);
	if (at > t->len || t->len - at < need)
		return -ENOENT;
	*entry = entry_off(t, (__u32)i);
	*rec = (size_t)at;
	return 0;
}

int gopclntab__lookup(const struct gopclntab *t, __u64 pc, const char **name, size_t *name_len,
		      __u64 *func_off)
{
	__s32 name_off;
	__u32 entry;
	size_t rec;

	*name = NULL;
	*name_len = 0;
	*func_off = 0;
	if (find_func(t, pc, FUNC_HEAD, &entry, &rec))
		return -ENOENT;
	memcpy(&name_off, t->data + rec + 4, sizeof(name_off));
	if (name_off < 0 || string_at(t, t->funcnames_off, (__u64)name_off, name, name_len))
		return -ENOENT;
	*func_off = pc - t->text_start - entry;
	return 0;
}

/* An unsigned LEB128 varint of at most 5 bytes (a u32) at data[*pos, t->len). */
static bool read_varint(const struct gopclntab *t, size_t *pos, __u32 *v)
{
	__u32 value = 0;
	unsigned shift;

	for (shift = 0; shift < 35 && *pos < t->len; shift += 7) {
		__u8 b = t->data[(*pos)++];

		value |= (__u32)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = value;
			return true;
		}
	}
	return false;
}

/*
 * The value a pctab table at table_off holds at pc (runtime/symtab.go's
 * pcvalue): from -1 at the function's entry, a (value delta, pc delta) step
 * at a time until pc falls below the step's end. false when the table ends
 * first, leaves the buffer, or runs past PCVALUE_MAX_STEPS.
 */
static bool pc_value(const struct gopclntab *t, __u32 table_off, __u64 entry_pc, __u64 pc,
		     __s32 *value)
{
	__u64 at = (__u64)t->pctab_off + table_off, step_pc = entry_pc;
	__u32 value_delta, pc_delta;
	__u32 v = (__u32)-1; /* int32 arithmetic that wraps, as Go's does: kept unsigned */
	size_t pos;
	int steps;

	if (!table_off || at >= t->len)
		return false;
	pos = (size_t)at;
	for (steps = 0; steps < PCVALUE_MAX_STEPS; steps++) {
		if (!read_varint(t, &pos, &value_delta) || (!value_delta && step_pc != entry_pc))
			return false;
		v += -(value_delta & 1) ^ (value_delta >> 1); /* zig-zag */
		if (!read_varint(t, &pos, &pc_delta))
			return false;
		step_pc += (__u64)pc_delta * t->min_lc;
		if (pc < step_pc) {
			*value = (__s32)v;
			return true;
		}
	}
	return false;
}

int gopclntab__line(const struct gopclntab *t, __u64 pc, const char **file, size_t *file_len,
		    int *line)
{
	__u32 entry, pcfile, pcln, cu_off, file_off;
	__s32 file_no, line_no;
	__u64 cu_at;
	size_t rec;

	*file = NULL;
	*file_len = 0;
	*line = 0;
	if (find_func(t, pc, FUNC_LINES, &entry, &rec))
		return -ENOENT;
	pcfile = get_u32(t->data + rec + FUNC_PCFILE);
	pcln = get_u32(t->data + rec + FUNC_PCLN);
	cu_off = get_u32(t->data + rec + FUNC_CU_OFF);
	if (!pc_value(t, pcln, t->text_start + entry, pc, &line_no) || line_no <= 0 ||
	    !pc_value(t, pcfile, t->text_start + entry, pc, &file_no) || file_no < 0)
		return -ENOENT;
	/* cutab[cuOffset + file]: the file's offset in filetab */
	cu_at = (__u64)t->cutab_off + ((__u64)cu_off + (__u32)file_no) * 4;
	if (cu_at > t->len || t->len - cu_at < 4)
		return -ENOENT;
	file_off = get_u32(t->data + cu_at);
	if (file_off == UINT32_MAX || string_at(t, t->filetab_off, file_off, file, file_len))
		return -ENOENT;
	*line = line_no;
	return 0;
}
