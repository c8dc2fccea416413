// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "util/json_read.h"

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

/* The code point of the 4 hex digits at s, or -1 (a NUL ends the digits early). */
static int hex4(const char *s)
{
	int cp = 0, i, c;

	for (i = 0; i < 4; i++) {
		c = tolower((unsigned char)s[i]);
		if (!isxdigit(c))
			return -1;
		cp = cp << 4 | (c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return cp;
}

static void put_utf8(char *out, size_t *n, unsigned int cp)
{
	if (cp < 0x80) {
		out[(*n)++] = cp;
	} else if (cp < 0x800) {
		out[(*n)++] = 0xc0 | cp >> 6;
		out[(*n)++] = 0x80 | (cp & 0x3f);
	} else {
		out[(*n)++] = 0xe0 | cp >> 12;
		out[(*n)++] = 0x80 | (cp >> 6 & 0x3f);
		out[(*n)++] = 0x80 | (cp & 0x3f);
	}
}

/* At a '"': advances past the string; when out is set, stores a malloc'd unescaped copy. */
static int scan_string(const char **p, char **out)
{
	const char *s = *p + 1;
	char *buf = NULL;
	size_t n = 0;
	int cp;

	if (out) {
		const char *q = s;

		while (*q && *q != '"')
			q += q[0] == '\\' && q[1] ? 2 : 1;
		/* an escape never unescapes into more bytes than it takes */
		buf = malloc(q - s + 1);
		if (!buf)
			return -ENOMEM;
	}
	while (*s != '"') {
		char ch = *s;

		if (!ch)
			goto bad;
		s++;
		if (ch == '\\') {
			ch = *s++;
			switch (ch) {
			case 'b':
				ch = '\b';
				break;
			case 'f':
				ch = '\f';
				break;
			case 'n':
				ch = '\n';
				break;
			case 'r':
				ch = '\r';
				break;
			case 't':
				ch = '\t';
				break;
			case '"':
			case '\\':
			case '/':
				break;
			case 'u':
				cp = hex4(s);
				if (cp < 0)
					goto bad;
				s += 4;
				if (buf)
					/* a lone surrogate half is not text: U+FFFD */
					put_utf8(buf, &n,
						 cp >= 0xd800 && cp < 0xe000 ? 0xfffd : cp);
				continue;
			default:
				goto bad;
			}
		}
		if (buf)
			buf[n++] = ch;
	}
	*p = s + 1;
	if (out) {
		buf[n] = '\0';
		*out = buf;
	}
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

static int skip_value(const char **p, int depth);

static int skip_container(const char **p, int depth, char close, bool keyed)
{
	int err;

	if (depth > JSON_READ_MAX_DEPTH)
		return -EINVAL;
	(*p)++;
	skip_ws(p);
	if (**p == close) {
		(*p)++;
		return 0;
	}
	for (;;) {
		if (keyed) {
			skip_ws(p);
			if (**p != '"' || scan_string(p, NULL))
				return -EINVAL;
			skip_ws(p);
			if (*(*p)++ != ':')
				return -EINVAL;
		}
		err = skip_value(p, depth + 1);
		if (err)
			return err;
		skip_ws(p);
		if (**p == ',') {
			(*p)++;
			continue;
		}
		if (**p != close)
			return -EINVAL;
		(*p)++;
		return 0;
	}
}

static int skip_value(const char **p, int depth)
{
	skip_ws(p);
	switch (**p) {
	case '"':
		return scan_string(p, NULL);
	case '{':
		return skip_container(p, depth, '}', true);
	case '[':
		return skip_container(p, depth, ']', false);
	case '\0':
		return -EINVAL;
	default: /* number, true, false, null */
		while (**p && !strchr(",}] \t\r\n", **p))
			(*p)++;
		return 0;
	}
}

static char *lookup_in_object(const char **p, const char *const *keys, int nr_keys, int depth)
{
	char *key, *found = NULL;
	bool match;

	skip_ws(p);
	if (**p != '{' || depth > JSON_READ_MAX_DEPTH)
		return NULL;
	(*p)++;
	skip_ws(p);
	if (**p == '}')
		return NULL;
	for (;;) {
		skip_ws(p);
		if (**p != '"' || scan_string(p, &key))
			return NULL;
		match = !strcmp(key, keys[0]);
		free(key);
		skip_ws(p);
		if (*(*p)++ != ':')
			return NULL;
		skip_ws(p);
		if (match && nr_keys == 1 && **p == '"')
			return scan_string(p, &found) ? NULL : found;
		if (match && nr_keys > 1 && **p == '{')
			return lookup_in_object(p, keys + 1, nr_keys - 1, depth + 1);
		if (skip_value(p, depth + 1))
			return NULL;
		skip_ws(p);
		if (**p != ',')
			return NULL;
		(*p)++;
	}
}

char *json_lookup_string(const char *doc, const char *const *keys, int nr_keys)
{
	const char *p = doc;

	if (!doc || nr_keys < 1)
		return NULL;
	return lookup_in_object(&p, keys, nr_keys, 0);
}
