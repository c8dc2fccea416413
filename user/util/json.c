// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "util/json.h"

void json_init(struct json *j)
{
	memset(j, 0, sizeof(*j));
}

void json_reset(struct json *j)
{
	j->len = 0;
	j->depth = 0;
	j->failed = false;
	memset(j->need_comma, 0, sizeof(j->need_comma));
}

void json_free(struct json *j)
{
	free(j->buf);
	json_init(j);
}

static void put(struct json *j, const char *s, size_t n)
{
	if (j->failed)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 256;
		char *buf;

		while (j->len + n + 1 > cap)
			cap *= 2;
		buf = realloc(j->buf, cap);
		if (!buf) {
			j->failed = true;
			return;
		}
		j->buf = buf;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void puts_(struct json *j, const char *s)
{
	put(j, s, strlen(s));
}

/* Before a value: a comma unless it is the first in its container. */
static void before_value(struct json *j)
{
	if (j->depth > 0 && j->need_comma[j->depth - 1])
		put(j, ",", 1);
	if (j->depth > 0)
		j->need_comma[j->depth - 1] = true;
}

static void open_(struct json *j, char c)
{
	before_value(j);
	put(j, &c, 1);
	if (j->depth >= JSON_MAX_DEPTH) {
		j->failed = true;
		return;
	}
	j->need_comma[j->depth++] = false;
}

static void close_(struct json *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	put(j, &c, 1);
}

void json_obj_begin(struct json *j)
{
	open_(j, '{');
}

void json_obj_end(struct json *j)
{
	close_(j, '}');
}

void json_arr_begin(struct json *j)
{
	open_(j, '[');
}

void json_arr_end(struct json *j)
{
	close_(j, ']');
}

size_t json_utf8_seq_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF are invalid */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static void put_escaped(struct json *j, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, seq;
	char esc[8];

	put(j, "\"", 1);
	while (i < n && s[i]) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(j, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(j, esc, 6);
			i++;
		} else if ((seq = json_utf8_seq_len(s + i, n - i)) > 0) {
			/* a NUL inside a multi-byte sequence is impossible: bytes are >= 0x80 */
			put(j, (const char *)s + i, seq);
			i += seq;
		} else {
			puts_(j, "\\ufffd");
			i++;
		}
	}
	put(j, "\"", 1);
}

void json_key(struct json *j, const char *key)
{
	before_value(j);
	put_escaped(j, key, strlen(key));
	put(j, ":", 1);
	/* the value that follows must not be preceded by a comma */
	if (j->depth > 0)
		j->need_comma[j->depth - 1] = false;
}

/* After a key, the value completes the member: the next key needs a comma. */
static void after_member_value(struct json *j)
{
	if (j->depth > 0)
		j->need_comma[j->depth - 1] = true;
}

void json_str(struct json *j, const char *s)
{
	json_strn(j, s, s ? strlen(s) : 0);
}

void json_strn(struct json *j, const char *s, size_t len)
{
	before_value(j);
	if (!s)
		puts_(j, "null");
	else
		put_escaped(j, s, len);
	after_member_value(j);
}

void json_u64(struct json *j, uint64_t v)
{
	char num[24];

	before_value(j);
	snprintf(num, sizeof(num), "%" PRIu64, v);
	puts_(j, num);
	after_member_value(j);
}

void json_i64(struct json *j, int64_t v)
{
	char num[24];

	before_value(j);
	snprintf(num, sizeof(num), "%" PRId64, v);
	puts_(j, num);
	after_member_value(j);
}

/* Fixed notation below this magnitude (where JavaScript's own switches), exponents from it. */
#define JSON_FIXED_MAX 1e21
#define JSON_DECIMALS_MAX 20

void json_double(struct json *j, double v, int decimals)
{
	/* fixed: sign, 21 digits, point, 20 decimals; exponent form: at most 24 */
	char num[64];

	before_value(j);
	if (!isfinite(v)) {
		puts_(j, "null");
	} else if (fabs(v) < JSON_FIXED_MAX) {
		if (decimals < 0)
			decimals = 0;
		else if (decimals > JSON_DECIMALS_MAX)
			decimals = JSON_DECIMALS_MAX;
		snprintf(num, sizeof(num), "%.*f", decimals, v);
		puts_(j, num);
	} else {
		/* "%.*f" of 1e300 is 300 digits: "%.17g" is exact and valid JSON ("1e+300") */
		snprintf(num, sizeof(num), "%.17g", v);
		puts_(j, num);
	}
	after_member_value(j);
}

void json_bool(struct json *j, bool v)
{
	before_value(j);
	puts_(j, v ? "true" : "false");
	after_member_value(j);
}

void json_null(struct json *j)
{
	before_value(j);
	puts_(j, "null");
	after_member_value(j);
}

void json_ts_ms(struct json *j, uint64_t ms)
{
	char ts[80];
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ms % 1000));
	json_str(j, ts);
}

int json_write_line(struct json *j, FILE *f)
{
	if (j->failed || j->depth != 0)
		return -EINVAL;
	if (fwrite(j->buf, 1, j->len, f) != j->len || fputc('\n', f) == EOF || fflush(f))
		return -EIO;
	return 0;
}

void json_u64_field(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_u64(j, v);
}

void json_i64_field(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_i64(j, v);
}

void json_double_field(struct json *j, const char *key, double v, int decimals)
{
	json_key(j, key);
	json_double(j, v, decimals);
}

void json_str_field(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	if (s)
		json_str(j, s);
	else
		json_null(j);
}

void json_strn_field(struct json *j, const char *key, const char *s, size_t len)
{
	json_key(j, key);
	json_strn(j, s, len);
}

void json_bool_field(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

void json_null_field(struct json *j, const char *key)
{
	json_key(j, key);
	json_null(j);
}

void json_u64_field_or_null(struct json *j, const char *key, uint64_t v, bool known)
{
	json_key(j, key);
	if (known)
		json_u64(j, v);
	else
		json_null(j);
}

void json_double_field_or_null(struct json *j, const char *key, double v, int decimals, bool known)
{
	json_key(j, key);
	if (known)
		json_double(j, v, decimals);
	else
		json_null(j);
}
