// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CPython code objects read out of a process, bounded and checked (py_code.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "attribute/py_code.h"
#include "util/u64map.h"

/* ---- line tables ---- */

static int line_or_none(long line)
{
	return line > 0 && line <= INT_MAX ? (int)line : 0;
}

/* 3.9 (Objects/lnotab_notes.txt): (bytecode delta, signed line delta) pairs. */
int py_lines__lnotab(const __u8 *table, size_t len, int first_line, __s64 off)
{
	long line = first_line;
	__s64 addr = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		addr += table[i];
		if (addr > off)
			break;
		line += (__s8)table[i + 1];
	}
	return line_or_none(line);
}

/* 3.10: (byte length, signed line delta) pairs, -128 meaning no line for the range. */
int py_lines__pairs(const __u8 *table, size_t len, int first_line, __s64 off)
{
	long line = first_line;
	__s64 start, end = 0;
	size_t i;

	if (off < 0)
		return line_or_none(first_line);
	for (i = 0; i + 1 < len; i += 2) {
		__s8 ldelta = (__s8)table[i + 1];

		start = end;
		end += table[i];
		if (ldelta != -128)
			line += ldelta;
		if (start <= off && off < end)
			return ldelta == -128 ? 0 : line_or_none(line);
	}
	return 0;
}

/* A location table varint (6 bits a byte, bit 6 continues) from table[*i]; false past len. */
static bool scan_varint(const __u8 *table, size_t len, size_t *i, __u32 *out)
{
	__u32 val, shift = 0;
	__u8 b;

	if (*i >= len)
		return false;
	b = table[(*i)++];
	val = b & 63;
	while (b & 64) {
		shift += 6;
		if (*i >= len || shift > 24)
			return false;
		b = table[(*i)++];
		val |= (__u32)(b & 63) << shift;
	}
	*out = val;
	return true;
}

/*
 * 3.11+ (Objects/locations.md): entries of 1 to 8 code units, each starting
 * with a byte of bit 7 set, code in bits 3-6: 15 no location, 14 long form
 * and 13 no columns (a signed varint line delta follows), 10-12 one line
 * (delta code - 10), 0-9 the same line.
 */
int py_lines__locations(const __u8 *table, size_t len, int first_line, __s64 off)
{
	long line = first_line;
	__s64 start, end = 0;
	size_t i = 0;

	if (off < 0)
		return line_or_none(first_line);
	while (i < len) {
		__u8 b = table[i];
		unsigned int code = (b >> 3) & 15;
		long delta = 0;
		size_t j = i + 1;
		__u32 uval;

		if (!(b & 0x80))
			return 0; /* not at an entry: the table does not parse */
		if (code == 13 || code == 14) {
			if (!scan_varint(table, len, &j, &uval))
				return 0;
			delta = uval & 1 ? -(long)(uval >> 1) : (long)(uval >> 1);
		} else if (code >= 10 && code <= 12) {
			delta = code - 10;
		}
		line += delta;
		if (line < INT_MIN || line > INT_MAX)
			return 0;
		start = end;
		end += ((b & 7) + 1) * 2;
		if (start <= off && off < end)
			return code == 15 ? 0 : line_or_none(line);
		/* the next entry: the next byte with bit 7 set, as CPython skips */
		for (i++; i < len && !(table[i] & 0x80); i++)
			;
	}
	return 0;
}

int py_lines__line(enum py_line_kind kind, const __u8 *table, size_t len, int first_line, __s64 off)
{
	switch (kind) {
	case PY_LINES_LNOTAB:
		return py_lines__lnotab(table, len, first_line, off);
	case PY_LINES_PAIRS:
		return py_lines__pairs(table, len, first_line, off);
	case PY_LINES_LOCATIONS:
		return py_lines__locations(table, len, first_line, off);
	}
	return 0;
}

/* ---- str ---- */

static size_t utf8_encode(__u32 cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int py_str__to_utf8(unsigned int kind, bool ascii, const void *data, size_t nchars, char *out,
		    size_t size)
{
	const __u8 *p = data;
	size_t i, n = 0;

	if (size < 4)
		return -EINVAL;
	if (kind != 1 && kind != 2 && kind != 4)
		return -EBADMSG;
	if (ascii && kind != 1)
		return -EBADMSG;
	for (i = 0; i < nchars; i++) {
		char enc[4];
		size_t elen;
		__u32 cp;

		if (kind == 1) {
			cp = p[i];
		} else if (kind == 2) {
			__u16 u;

			memcpy(&u, p + 2 * i, 2);
			cp = u;
		} else {
			memcpy(&cp, p + 4 * i, 4);
		}
		if ((ascii && cp > 0x7f) || cp > 0x10ffff)
			return -EBADMSG;
		if (!cp || (cp >= 0xd800 && cp <= 0xdfff))
			cp = 0xfffd;
		elen = utf8_encode(cp, enc);
		/* room for this one, the NUL, and "..." if more would follow */
		if (n + elen + 1 > size) {
			/* cut: back off to a character boundary where "..." and the NUL fit */
			while (n + 4 > size) {
				do
					n--;
				while (n && ((__u8)out[n] & 0xc0) == 0x80);
			}
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		memcpy(out + n, enc, elen);
		n += elen;
	}
	out[n] = '\0';
	return (int)n;
}

static __u64 get_u64(const void *buf, size_t off)
{
	__u64 v;

	memcpy(&v, (const __u8 *)buf + off, sizeof(v));
	return v;
}

static __u32 get_u32(const void *buf, size_t off)
{
	__u32 v;

	memcpy(&v, (const __u8 *)buf + off, sizeof(v));
	return v;
}

int py_str__parse_head(const struct py_layout *l, const void *head, size_t len,
		       struct py_str_head *out)
{
	__u32 state;
	__s64 length;

	if (len < l->str_ascii_data || len < (size_t)l->str_state + 4 ||
	    len < (size_t)l->str_length + 8)
		return -EBADMSG;
	state = get_u32(head, l->str_state);
	length = (__s64)get_u64(head, l->str_length);
	if (!(state & (1u << l->str_compact_bit)) || length < 0)
		return -EBADMSG;
	out->kind = (state >> l->str_kind_shift) & 7;
	out->ascii = state & (1u << l->str_ascii_bit);
	out->length = (__u64)length;
	if ((out->kind != 1 && out->kind != 2 && out->kind != 4) || (out->ascii && out->kind != 1))
		return -EBADMSG;
	out->data_offset = out->ascii ? l->str_ascii_data : l->str_compact_data;
	return 0;
}

/* ---- the resolver ---- */

struct py_code_entry {
	__u32 pid; /* 0: free */
	__u64 start_time, code;
	__u64 hash;	  /* the index key */
	__s32 prev, next; /* LRU list, most recent first; -1 ends */
	/* the head's fields as read: the object is the same while they are */
	__u64 type, filename, name, qualname, linetable;
	__s64 nunits; /* 3.11+: the code's length in code units (ob_size) */
	int first_line;
	char *function, *file; /* NUL-terminated, malloc'd */
	__u8 *table;
	__u32 table_len;
	bool table_kept; /* false: past PY_LINETABLE_MAX */
	size_t bytes;	 /* what the entry holds in memory */
};

struct py_code_cache {
	struct py_reader reader;
	struct py_code_entry *entries; /* PY_CODE_CACHE_MAX */
	struct u64map index;	       /* hash -> entry index */
	__s32 head, tail, free_list;   /* free entries chained through next */
	struct py_code_stats stats;
};

struct py_code_cache *py_code_cache__new(const struct py_reader *reader)
{
	struct py_code_cache *c;
	__s32 i;

	if (!reader || !reader->read) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->entries = calloc(PY_CODE_CACHE_MAX, sizeof(*c->entries));
	if (!c->entries) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->reader = *reader;
	u64map_init(&c->index);
	c->head = c->tail = -1;
	for (i = 0; i < PY_CODE_CACHE_MAX; i++)
		c->entries[i].next = i + 1 < PY_CODE_CACHE_MAX ? i + 1 : -1;
	c->free_list = 0;
	return c;
}

static void entry_release(struct py_code_entry *e)
{
	free(e->function);
	free(e->file);
	free(e->table);
	e->function = e->file = NULL;
	e->table = NULL;
	e->pid = 0;
}

void py_code_cache__free(struct py_code_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < PY_CODE_CACHE_MAX; i++)
		entry_release(&c->entries[i]);
	free(c->entries);
	u64map_free(&c->index);
	free(c);
}

static __u64 key_hash(__u32 pid, __u64 start_time, __u64 code)
{
	__u64 h = u64_mix(u64_mix(code) ^ ((__u64)pid << 32) ^ start_time);

	return h ? h : 1;
}

static void lru_unlink(struct py_code_cache *c, __s32 i)
{
	struct py_code_entry *e = &c->entries[i];

	if (e->prev >= 0)
		c->entries[e->prev].next = e->next;
	else
		c->head = e->next;
	if (e->next >= 0)
		c->entries[e->next].prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = -1;
}

static void lru_push_front(struct py_code_cache *c, __s32 i)
{
	struct py_code_entry *e = &c->entries[i];

	e->prev = -1;
	e->next = c->head;
	if (c->head >= 0)
		c->entries[c->head].prev = i;
	c->head = i;
	if (c->tail < 0)
		c->tail = i;
}

static void entry_drop(struct py_code_cache *c, __s32 i)
{
	struct py_code_entry *e = &c->entries[i];
	uint64_t idx;

	if (u64map_get(&c->index, e->hash, &idx) && idx == (__u64)i)
		u64map_del(&c->index, e->hash);
	lru_unlink(c, i);
	c->stats.entries--;
	c->stats.bytes -= e->bytes;
	entry_release(e);
	e->next = c->free_list;
	c->free_list = i;
}

static int mem_read(struct py_code_cache *c, __u32 pid, __u64 start_time, __u64 addr, void *buf,
		    size_t len)
{
	int err;

	if (!addr || addr + len < addr)
		return -EFAULT;
	err = c->reader.read(c->reader.ctx, pid, start_time, addr, buf, len);
	return err > 0 ? -EIO : err;
}

/* The object at addr has a type named name (its ob_type's tp_name). */
static int check_type(struct py_code_cache *c, __u32 pid, __u64 start_time,
		      const struct py_layout *l, __u64 type, const char *name)
{
	char got[8];
	size_t n = strlen(name) + 1;
	__u64 tp_name;
	int err;

	err = mem_read(c, pid, start_time, type + l->type_name, &tp_name, sizeof(tp_name));
	if (err)
		return err;
	err = mem_read(c, pid, start_time, tp_name, got, n);
	if (err)
		return err;
	return memcmp(got, name, n) ? -EINVAL : 0;
}

/* Reads the str object at addr into a malloc'd UTF-8 string of at most size bytes. */
static int read_str(struct py_code_cache *c, __u32 pid, __u64 start_time, const struct py_layout *l,
		    __u64 addr, size_t size, char **out)
{
	__u8 head[PY_CODE_HEAD_MAX], data[4 * PY_FILE_MAX];
	struct py_str_head h;
	char text[PY_FILE_MAX];
	size_t nchars;
	int err, n;

	if (size > PY_FILE_MAX)
		size = PY_FILE_MAX;
	err = mem_read(c, pid, start_time, addr, head, l->str_ascii_data);
	if (err)
		return err;
	err = check_type(c, pid, start_time, l, get_u64(head, l->object_type), "str");
	if (err)
		return err == -EINVAL ? -EBADMSG : err;
	err = py_str__parse_head(l, head, l->str_ascii_data, &h);
	if (err)
		return err;
	/* one more than fits tells the encoder to cut */
	nchars = h.length < size ? h.length : size;
	if (nchars) {
		err = mem_read(c, pid, start_time, addr + h.data_offset, data, nchars * h.kind);
		if (err)
			return err;
	}
	n = py_str__to_utf8(h.kind, h.ascii, data, nchars, text, size);
	if (n < 0)
		return n;
	*out = strdup(text);
	return *out ? 0 : -ENOMEM;
}

/* A bytes object's contents, up to PY_LINETABLE_MAX (-E2BIG past it). */
static int read_bytes(struct py_code_cache *c, __u32 pid, __u64 start_time,
		      const struct py_layout *l, __u64 addr, __u8 **out, __u32 *out_len)
{
	__u8 head[PY_CODE_HEAD_MAX];
	size_t head_len = l->bytes_data;
	__s64 size;
	int err;

	err = mem_read(c, pid, start_time, addr, head, head_len);
	if (err)
		return err;
	err = check_type(c, pid, start_time, l, get_u64(head, l->object_type), "bytes");
	if (err)
		return err == -EINVAL ? -EBADMSG : err;
	size = (__s64)get_u64(head, l->bytes_size);
	if (size < 0)
		return -EBADMSG;
	if (size > PY_LINETABLE_MAX)
		return -E2BIG;
	*out = malloc(size ? (size_t)size : 1);
	if (!*out)
		return -ENOMEM;
	err = size ? mem_read(c, pid, start_time, addr + l->bytes_data, *out, (size_t)size) : 0;
	if (err) {
		free(*out);
		*out = NULL;
		return err;
	}
	*out_len = (__u32)size;
	return 0;
}

/* The code object's head: the bytes that hold every field read, one read. */
static size_t code_head_len(const struct py_layout *l)
{
	__u16 offs[] = { l->object_type,      l->bytes_size,	 l->code_filename, l->code_name,
			 l->code_firstlineno, l->code_linetable, l->code_qualname };
	size_t i, len = 0;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		if (offs[i] != MEMOBS_PY_NO_OFFSET && offs[i] + 8U > len)
			len = offs[i] + 8U;
	return len;
}

struct code_head {
	__u64 type, filename, name, qualname, linetable;
	__s64 nunits;
	int first_line;
};

static void parse_code_head(const struct py_layout *l, const __u8 *head, struct code_head *h)
{
	h->type = get_u64(head, l->object_type);
	h->filename = get_u64(head, l->code_filename);
	h->name = get_u64(head, l->code_name);
	h->qualname = l->code_qualname != MEMOBS_PY_NO_OFFSET ? get_u64(head, l->code_qualname) : 0;
	h->linetable = get_u64(head, l->code_linetable);
	h->nunits = (__s64)get_u64(head, l->bytes_size); /* PyVarObject.ob_size */
	h->first_line = (int)get_u32(head, l->code_firstlineno);
}

static bool same_head(const struct py_code_entry *e, const struct code_head *h)
{
	return e->type == h->type && e->filename == h->filename && e->name == h->name &&
	       e->qualname == h->qualname && e->linetable == h->linetable &&
	       e->first_line == h->first_line && e->nunits == h->nunits;
}

static __s32 entry_alloc(struct py_code_cache *c)
{
	__s32 i;

	if (c->free_list < 0) {
		entry_drop(c, c->tail);
		c->stats.evictions++;
	}
	i = c->free_list;
	c->free_list = c->entries[i].next;
	return i;
}

/* Reads the code object at code whose head is h into a new entry. */
static int resolve(struct py_code_cache *c, __u32 pid, __u64 start_time, const struct py_layout *l,
		   __u64 code, const struct code_head *h, __s32 *out_idx)
{
	struct py_code_entry tmp = {};
	__s32 i;
	int err;

	err = check_type(c, pid, start_time, l, h->type, "code");
	if (err)
		return err;
	if (h->first_line < 0 || (l->bpf.frame_kind == MEMOBS_PY_FRAME_INTERP && h->nunits <= 0))
		return -EBADMSG;
	err = read_str(c, pid, start_time, l, h->qualname ? h->qualname : h->name, PY_NAME_MAX,
		       &tmp.function);
	if (!err)
		err = read_str(c, pid, start_time, l, h->filename, PY_FILE_MAX, &tmp.file);
	if (!err) {
		err = read_bytes(c, pid, start_time, l, h->linetable, &tmp.table, &tmp.table_len);
		tmp.table_kept = !err;
		if (err == -E2BIG) {
			c->stats.tables_too_long++;
			err = 0;
		}
	}
	if (err) {
		entry_release(&tmp);
		return err;
	}
	tmp.bytes = sizeof(tmp) + strlen(tmp.function) + strlen(tmp.file) + tmp.table_len;
	while (c->stats.bytes + tmp.bytes > PY_CODE_CACHE_BYTES && c->tail >= 0) {
		entry_drop(c, c->tail);
		c->stats.evictions++;
	}
	i = entry_alloc(c);
	tmp.pid = pid;
	tmp.start_time = start_time;
	tmp.code = code;
	tmp.hash = key_hash(pid, start_time, code);
	tmp.type = h->type;
	tmp.filename = h->filename;
	tmp.name = h->name;
	tmp.qualname = h->qualname;
	tmp.linetable = h->linetable;
	tmp.nunits = h->nunits;
	tmp.first_line = h->first_line;
	c->entries[i] = tmp;
	/* a hash shared with another key (or the same key's old entry): that one goes */
	{
		uint64_t old;

		if (u64map_get(&c->index, tmp.hash, &old))
			entry_drop(c, (__s32)old);
	}
	if (u64map_put(&c->index, tmp.hash, (__u64)i)) {
		entry_release(&c->entries[i]);
		c->entries[i].next = c->free_list;
		c->free_list = i;
		return -ENOMEM;
	}
	lru_push_front(c, i);
	c->stats.entries++;
	c->stats.bytes += tmp.bytes;
	c->stats.resolved++;
	*out_idx = i;
	return 0;
}

static void count_error(struct py_code_cache *c, int err)
{
	if (err == -EINVAL)
		c->stats.not_code++;
	else if (err == -EBADMSG)
		c->stats.bad_objects++;
	else if (err != -ENOMEM)
		c->stats.read_errors++;
}

/* The instruction's byte offset in the code, as the line tables count; false: outside it. */
static bool instr_offset(const struct py_layout *l, const struct py_code_entry *e, __u64 code,
			 __u64 instr, __s64 *off)
{
	if (l->bpf.frame_kind == MEMOBS_PY_FRAME_OBJECT) {
		__s32 lasti = (__s32)(__u32)instr;

		if (lasti < -1)
			return false;
		*off = l->line_kind == PY_LINES_LNOTAB ? lasti : (__s64)lasti * 2;
		return true;
	}
	/* 3.11, 3.12: prev_instr is one unit before the code until the first runs */
	if (instr + 2 < code + l->code_adaptive || (instr - code - l->code_adaptive) % 2)
		return false;
	*off = (__s64)(instr - code - l->code_adaptive);
	return *off < e->nunits * 2;
}

int py_code_cache__frame(struct py_code_cache *c, __u32 pid, __u64 start_time,
			 const struct py_layout *l, __u64 code, __u64 instr, struct py_frame *out)
{
	__u8 head[PY_CODE_HEAD_MAX];
	struct py_code_entry *e;
	struct code_head h;
	uint64_t idx;
	__s32 i = -1;
	__s64 off;
	size_t len = code_head_len(l);
	int err;

	c->stats.lookups++;
	code &= ~MEMOBS_PY_ENTRY;
	if (!pid || len > sizeof(head) || len < 8) {
		c->stats.bad_objects++;
		return -EBADMSG;
	}
	err = mem_read(c, pid, start_time, code, head, len);
	if (err) {
		count_error(c, err);
		return err;
	}
	parse_code_head(l, head, &h);
	if (u64map_get(&c->index, key_hash(pid, start_time, code), &idx)) {
		e = &c->entries[idx];
		if (e->pid == pid && e->start_time == start_time && e->code == code &&
		    same_head(e, &h)) {
			i = (__s32)idx;
			c->stats.hits++;
			lru_unlink(c, i);
			lru_push_front(c, i);
		} else if (e->pid == pid && e->start_time == start_time && e->code == code) {
			c->stats.stale++;
			entry_drop(c, (__s32)idx);
		}
	}
	if (i < 0) {
		err = resolve(c, pid, start_time, l, code, &h, &i);
		if (err) {
			count_error(c, err);
			return err;
		}
	}
	e = &c->entries[i];
	snprintf(out->function, sizeof(out->function), "%s", e->function);
	snprintf(out->file, sizeof(out->file), "%s", e->file);
	out->first_line = e->first_line;
	out->line = 0;
	if (!instr_offset(l, e, code, instr, &off))
		c->stats.bad_instr++;
	else if (e->table_kept)
		out->line =
			py_lines__line(l->line_kind, e->table, e->table_len, e->first_line, off);
	return 0;
}

void py_code_cache__forget_pid(struct py_code_cache *c, __u32 pid)
{
	__s32 i;

	if (!c || !pid)
		return;
	for (i = 0; i < PY_CODE_CACHE_MAX; i++)
		if (c->entries[i].pid == pid)
			entry_drop(c, i);
	if (c->reader.forget)
		c->reader.forget(c->reader.ctx, pid);
}

void py_code_cache__stats(const struct py_code_cache *c, struct py_code_stats *out)
{
	if (c)
		*out = c->stats;
	else
		memset(out, 0, sizeof(*out));
}
