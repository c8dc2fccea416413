/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small JSON writer into a growing buffer. Strings are escaped so that the
 * output is valid JSON whatever they hold: quotes, backslashes, control
 * characters, and invalid UTF-8 (each bad byte becomes U+FFFD).
 * Commas are placed by the writer: callers only open, name and write.
 */
#ifndef MEMOBS_JSON_H
#define MEMOBS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	char *buf;
	size_t len;
	size_t cap;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool failed; /* out of memory or nesting too deep: the output is void */
};

void json_init(struct json *j);
void json_reset(struct json *j); /* empty the buffer, keep its memory */
void json_free(struct json *j);

void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);
/* At most len bytes of s, stopping at a NUL (for fixed-size comm fields). */
void json_strn(struct json *j, const char *s, size_t len);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
/*
 * Non-finite values become null: JSON has no NaN. Fixed notation with
 * `decimals` (0..20) below 1e21 in magnitude, "%.17g" (1e+300) from there:
 * every finite double is a valid JSON number that reads back as itself.
 */
void json_double(struct json *j, double v, int decimals);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* RFC 3339 UTC with milliseconds: "2026-11-23T14:58:46.123Z". */
void json_ts_ms(struct json *j, uint64_t ms_since_epoch);

/*
 * A member's name and value in one call (bpftool's jsonw_*_field style):
 * every renderer of output/render.c writes its fields through these.
 */
void json_u64_field(struct json *j, const char *key, uint64_t v);
void json_i64_field(struct json *j, const char *key, int64_t v);
void json_double_field(struct json *j, const char *key, double v, int decimals);
void json_str_field(struct json *j, const char *key, const char *s); /* NULL: null */
void json_strn_field(struct json *j, const char *key, const char *s, size_t len);
void json_bool_field(struct json *j, const char *key, bool v);
void json_null_field(struct json *j, const char *key);
/* The nullable variants: null when !known. */
void json_u64_field_or_null(struct json *j, const char *key, uint64_t v, bool known);
void json_double_field_or_null(struct json *j, const char *key, double v, int decimals, bool known);

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid:
 * overlong forms, surrogates and values past U+10FFFF are invalid.
 */
size_t json_utf8_seq_len(const unsigned char *s, size_t n);

/* Writes the buffer and a newline to f and flushes it: one JSON line. */
int json_write_line(struct json *j, FILE *f);

#endif /* MEMOBS_JSON_H */
