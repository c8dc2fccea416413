// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The JSON writer (util/json.c) is handed what processes and containers
 * name themselves (comm, cgroup paths, labels, symbol names) and figures
 * from anywhere in the double range. The input is a little program of
 * writer calls with arbitrary bytes as keys and strings; whatever it
 * writes must parse as JSON, checked here by a strict RFC 8259 validator
 * written apart from the writer (its own UTF-8 check).
 */
#include <math.h>
#include "util/json.h"
#include "fuzz.h"

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t take_byte(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint64_t take_u64(struct input *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | take_byte(in);
	return v;
}

/* A string of up to 63 arbitrary bytes, NULs included, in buf (NUL-ended). */
static size_t take_str(struct input *in, char *buf, size_t n)
{
	size_t len = take_byte(in) % 64, i;

	if (len >= n)
		len = n - 1;
	for (i = 0; i < len; i++)
		buf[i] = (char)take_byte(in);
	buf[len] = '\0';
	return len;
}

/* The validator: p walks the text; each returns false on invalid JSON. */
static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

static bool is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

static bool valid_utf8_seq(const unsigned char **s)
{
	const unsigned char *u = *s;
	uint32_t cp;
	int len;

	if (u[0] < 0x80) {
		*s += 1;
		return true;
	}
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		len = 2, cp = u[0] & 0x1f;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		len = 3, cp = u[0] & 0x0f;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		len = 4, cp = u[0] & 0x07;
	else
		return false;
	for (int i = 1; i < len; i++) {
		if (!is_cont(u[i]))
			return false;
		cp = cp << 6 | (u[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return false;
	*s += len;
	return true;
}

static bool parse_string(const char **p)
{
	const unsigned char *s = (const unsigned char *)*p;

	if (*s++ != '"')
		return false;
	while (*s != '"') {
		if (*s < 0x20)
			return false; /* the NUL of the end included */
		if (*s == '\\') {
			s++;
			if (*s == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
						return false;
				s += 5;
			} else if (*s && strchr("\"\\/bfnrt", *s)) {
				s++;
			} else {
				return false;
			}
		} else if (!valid_utf8_seq(&s)) {
			return false;
		}
	}
	*p = (const char *)s + 1;
	return true;
}

static bool digits(const char **p)
{
	const char *start = *p;

	while (**p >= '0' && **p <= '9')
		(*p)++;
	return *p > start;
}

static bool parse_number(const char **p)
{
	if (**p == '-')
		(*p)++;
	if (**p == '0')
		(*p)++;
	else if (**p < '1' || **p > '9' || !digits(p))
		return false;
	if (**p == '.') {
		(*p)++;
		if (!digits(p))
			return false;
	}
	if (**p == 'e' || **p == 'E') {
		(*p)++;
		if (**p == '+' || **p == '-')
			(*p)++;
		if (!digits(p))
			return false;
	}
	return true;
}

static bool parse_value(const char **p, int depth);

static bool parse_container(const char **p, int depth, char close, bool keyed)
{
	(*p)++;
	skip_ws(p);
	if (**p == close) {
		(*p)++;
		return true;
	}
	for (;;) {
		skip_ws(p);
		if (keyed) {
			if (!parse_string(p))
				return false;
			skip_ws(p);
			if (*(*p)++ != ':')
				return false;
		}
		if (!parse_value(p, depth + 1))
			return false;
		skip_ws(p);
		if (**p == close) {
			(*p)++;
			return true;
		}
		if (*(*p)++ != ',')
			return false;
	}
}

static bool parse_word(const char **p, const char *w)
{
	size_t n = strlen(w);

	if (strncmp(*p, w, n))
		return false;
	*p += n;
	return true;
}

static bool parse_value(const char **p, int depth)
{
	if (depth > 64)
		return false;
	skip_ws(p);
	switch (**p) {
	case '{':
		return parse_container(p, depth, '}', true);
	case '[':
		return parse_container(p, depth, ']', false);
	case '"':
		return parse_string(p);
	case 't':
		return parse_word(p, "true");
	case 'f':
		return parse_word(p, "false");
	case 'n':
		return parse_word(p, "null");
	default:
		return parse_number(p);
	}
}

static bool valid_json(const char *text)
{
	const char *p = text;

	if (!parse_value(&p, 0))
		return false;
	skip_ws(&p);
	return *p == '\0';
}

/*
 * A double written alone must read back as itself, to the decimals asked
 * (a finite one as a number, a non-finite one as null).
 */
static void check_double(double v, int decimals)
{
	struct json j;
	double back, tolerance;
	char *end;

	json_init(&j);
	json_double(&j, v, decimals);
	if (!j.failed) {
		if (!isfinite(v)) {
			FUZZ_ASSERT(!strcmp(j.buf, "null"));
		} else {
			back = strtod(j.buf, &end);
			tolerance = 0.5 * pow(10, -decimals) + fabs(v) * 1e-15;
			if (*end || fabs(back - v) > tolerance) {
				fprintf(stderr, "json_double(%.17g, %d) wrote %s\n", v, decimals,
					j.buf);
				abort();
			}
		}
	}
	json_free(&j);
}

/*
 * One value: op, [key if in an object], a string, 8 bytes of figure, then a
 * byte of decimals where a double takes them. In an object, op & 0x10 picks
 * a *_field call, else json_key() and a plain value.
 */
static void write_value(struct json *j, struct input *in, uint8_t op, bool in_object)
{
	char key[64], str[64];
	uint64_t u;
	int decimals;
	size_t len;
	double d;

	if (in_object)
		take_str(in, key, sizeof(key));
	len = take_str(in, str, sizeof(str));
	u = take_u64(in);
	memcpy(&d, &u, sizeof(d)); /* every bit pattern: NaN, inf, subnormals, 1e308 */
	if (in_object && (op & 0x10)) {
		switch (op % 8) {
		case 0:
			json_str_field(j, key, (op & 0x20) ? NULL : str);
			break;
		case 1:
			json_strn_field(j, key, str, len / 2);
			break;
		case 2:
			json_u64_field(j, key, u);
			break;
		case 3:
			json_i64_field(j, key, (int64_t)u);
			break;
		case 4:
			decimals = take_byte(in) % 21;
			check_double(d, decimals);
			json_double_field(j, key, d, decimals);
			break;
		case 5:
			json_u64_field_or_null(j, key, u, op & 0x20);
			break;
		case 6:
			json_double_field_or_null(j, key, d, take_byte(in) % 21, op & 0x20);
			break;
		default:
			json_null_field(j, key);
			break;
		}
		return;
	}
	if (in_object)
		json_key(j, key);
	switch (op % 12) {
	case 0:
		json_str(j, str);
		break;
	case 1:
		json_strn(j, str, len / 2);
		break;
	case 2:
		json_u64(j, u);
		break;
	case 3:
		json_i64(j, (int64_t)u);
		break;
	case 4:
		decimals = take_byte(in) % 21;
		check_double(d, decimals);
		json_double(j, d, decimals);
		break;
	/* a figure as the code computes them: an integer scaled by a power of two */
	case 5:
		json_double(j, ldexp((double)(int64_t)u, (int8_t)take_byte(in)), take_byte(in) % 8);
		break;
	case 6:
		json_ts_ms(j, u);
		break;
	case 7:
		json_bool(j, op & 0x20);
		break;
	case 8:
		json_strn(j, NULL, 0);
		break;
	default:
		json_null(j);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct json j;
	struct input in = { data, size };
	bool is_obj[JSON_MAX_DEPTH + 4];
	int depth = 0, steps = 0;

	json_reset(&j);
	json_obj_begin(&j);
	is_obj[depth++] = true;
	while (in.left && steps++ < 256) {
		uint8_t op = take_byte(&in);

		if (op < 0x20 && depth < JSON_MAX_DEPTH + 3) {
			/* a container: in an object it needs its key first */
			if (is_obj[depth - 1]) {
				char key[64];

				take_str(&in, key, sizeof(key));
				json_key(&j, key);
			}
			if (op & 1)
				json_arr_begin(&j);
			else
				json_obj_begin(&j);
			is_obj[depth++] = !(op & 1);
		} else if (op < 0x30 && depth > 1) {
			if (is_obj[--depth])
				json_obj_end(&j);
			else
				json_arr_end(&j);
		} else {
			write_value(&j, &in, op, is_obj[depth - 1]);
		}
	}
	while (depth > 0) {
		if (is_obj[--depth])
			json_obj_end(&j);
		else
			json_arr_end(&j);
	}
	if (j.failed)
		return 0; /* too deep (or no memory): the writer says the output is void */
	FUZZ_ASSERT(j.depth == 0);
	if (getenv("FUZZ_PRINT"))
		fprintf(stderr, "%s\n", j.buf);
	if (!valid_json(j.buf)) {
		fprintf(stderr, "invalid JSON written: %s\n", j.buf);
		abort();
	}
	FUZZ_ASSERT(strlen(j.buf) == j.len);
	return 0;
}
