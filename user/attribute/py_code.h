/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython frames named in Python (issue 16, docs/python.md): a frame's
 * (code object address, instruction) as BPF sends it (struct memobs_pyframe)
 * becomes "function (file.py:line)", from the code object read out of the
 * process's memory.
 *
 * Everything read is the process's to choose, and may be torn (the object
 * freed while it is read): a code object is one whose type's tp_name is
 * "code", its names are compact str objects (type "str"), its line table a
 * bytes object (type "bytes"); every length is bounded before it is read, a
 * cached object is checked again at each use (its head re-read and compared)
 * and any mismatch is an error, counted, never a wrong name.
 *
 * The decoders below are pure (tests, fuzzing): line tables of each version
 * and str contents to UTF-8.
 */
#ifndef MEMOBS_PY_CODE_H
#define MEMOBS_PY_CODE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "attribute/py_layout.h"

#define PY_NAME_MAX 256			/* bytes of a function name, NUL included */
#define PY_FILE_MAX 1024		/* bytes of a file name, NUL included */
#define PY_LINETABLE_MAX (64U << 10)	/* a longer line table is not kept: line 0 */
#define PY_CODE_CACHE_MAX 16384		/* code objects kept, all processes */
#define PY_CODE_CACHE_BYTES (32U << 20) /* their names and line tables, all processes */

/*
 * The line of the instruction at byte offset off of the code (CPython's
 * PyCode_Addr2Line addrq: 3.9's f_lasti, 3.10's 2 * f_lasti, 3.11+'s code
 * units * 2), or 0 when the table has none for it. A negative offset (a
 * frame not started) is the first line, as CPython says. Every read stays
 * within len whatever the bytes hold; a table that does not parse gives 0.
 */
int py_lines__lnotab(const __u8 *table, size_t len, int first_line, __s64 off);	   /* 3.9 */
int py_lines__pairs(const __u8 *table, size_t len, int first_line, __s64 off);	   /* 3.10 */
int py_lines__locations(const __u8 *table, size_t len, int first_line, __s64 off); /* 3.11+ */
int py_lines__line(enum py_line_kind kind, const __u8 *table, size_t len, int first_line,
		   __s64 off);

/*
 * A str's characters (kind 1: latin-1 or ASCII when ascii, 2: UCS-2,
 * 4: UCS-4; data holds at least nchars * kind bytes) as UTF-8 into out,
 * NUL-terminated. What does not fit in size is cut at a character and ends
 * in "...". NUL and surrogates become U+FFFD. Returns the bytes written, or
 * -EBADMSG (a byte past 0x7f in an ASCII str, a code point past U+10FFFF, an
 * unknown kind) or -EINVAL (size < 4).
 */
int py_str__to_utf8(unsigned int kind, bool ascii, const void *data, size_t nchars, char *out,
		    size_t size);

/* What a str object's head says (pure): a compact str's kind, length and data offset. */
struct py_str_head {
	unsigned int kind; /* 1, 2, 4 */
	bool ascii;
	__u64 length;	   /* code points */
	__u32 data_offset; /* from the object's start */
};

/*
 * Parses the first len bytes of a str object (at least l->str_ascii_data).
 * Returns 0, or -EBADMSG: not compact (a legacy str, whose data is elsewhere),
 * an unknown kind, an ASCII str of a kind other than 1, a negative length.
 */
int py_str__parse_head(const struct py_layout *l, const void *head, size_t len,
		       struct py_str_head *out);

/*
 * How the resolver reads a process's memory: exactly len bytes at addr, 0 or
 * -errno (-EFAULT: not mapped; -ESRCH: gone, or another process than
 * start_time says). forget (may be NULL) drops what ctx keeps for pid.
 */
struct py_reader {
	int (*read)(void *ctx, __u32 pid, __u64 start_time, __u64 addr, void *buf, size_t len);
	void (*forget)(void *ctx, __u32 pid);
	void *ctx;
};

/* A named frame. */
struct py_frame {
	char function[PY_NAME_MAX]; /* co_qualname (3.11+), else co_name */
	char file[PY_FILE_MAX];	    /* co_filename */
	int line;		    /* 0: the table has no line for the instruction */
	int first_line;		    /* co_firstlineno */
};

/* Counters, cumulative (py_code_cache__stats). */
struct py_code_stats {
	__u64 lookups;	       /* frames asked for */
	__u64 hits;	       /* named from the cache (the object checked again) */
	__u64 resolved;	       /* code objects read and cached */
	__u64 read_errors;     /* a read of the process failed: freed, unmapped, gone */
	__u64 not_code;	       /* no code object at the address (its type is not "code") */
	__u64 bad_objects;     /* a name or table malformed or of the wrong type */
	__u64 stale;	       /* a cached object changed under its address: read again */
	__u64 bad_instr;       /* an instruction outside its code: line 0 */
	__u64 tables_too_long; /* a line table past PY_LINETABLE_MAX: line 0 */
	__u64 evictions;       /* entries dropped to stay within the bounds */
	__u64 entries, bytes;  /* kept now */
};

struct py_code_cache;

/* NULL with errno set. The reader is copied. */
struct py_code_cache *py_code_cache__new(const struct py_reader *reader);
void py_code_cache__free(struct py_code_cache *c); /* NULL-safe */

/*
 * Names one frame of process pid (started at start_time, /proc/PID/stat's
 * field 22) whose layout is l: code is memobs_pyframe.code (MEMOBS_PY_ENTRY
 * ignored), instr memobs_pyframe.instr as l->bpf.frame_kind says (3.9 and
 * 3.10: the low 32 bits, f_lasti). Returns 0 (out filled; out->line 0 when
 * the instruction has no line), -EFAULT or -ESRCH (a read failed), -EINVAL
 * (not a code object), -EBADMSG (its fields malformed), -ENOMEM.
 */
int py_code_cache__frame(struct py_code_cache *c, __u32 pid, __u64 start_time,
			 const struct py_layout *l, __u64 code, __u64 instr, struct py_frame *out);

/* Drops every entry of pid (it exited or exec'd) and the reader's state of it. */
void py_code_cache__forget_pid(struct py_code_cache *c, __u32 pid);

void py_code_cache__stats(const struct py_code_cache *c, struct py_code_stats *out);

#endif /* MEMOBS_PY_CODE_H */
