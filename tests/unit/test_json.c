// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util/json.h"

static void test_hostile_strings_are_escaped(void **state)
{
	struct json j;

	(void)state;
	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "s");
	json_str(&j, "q\"b\\n\n\t\x01\x7f");
	json_obj_end(&j);
	assert_string_equal(j.buf, "{\"s\":\"q\\\"b\\\\n\\u000a\\u0009\\u0001\\u007f\"}");
	json_free(&j);
}

static void test_invalid_utf8_becomes_replacement(void **state)
{
	struct json j;

	(void)state;
	json_init(&j);
	/* a lone continuation byte, a truncated 3-byte sequence, an overlong '/', a surrogate */
	json_str(&j, "a\x80"
		     "b\xe2\x82"
		     "c\xc0\xaf"
		     "d\xed\xa0\x80"
		     "e");
	assert_string_equal(j.buf,
			    "\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffdd\\ufffd\\ufffd\\ufffde\"");
	json_reset(&j);
	/* valid multi-byte text passes unchanged */
	json_str(&j, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3");
	assert_string_equal(j.buf, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3\"");
	json_free(&j);
}

static void test_strn_stops_at_length_and_nul(void **state)
{
	char comm[4] = { 'a', 'b', 'c', 'd' }; /* not NUL-terminated */
	struct json j;

	(void)state;
	json_init(&j);
	json_strn(&j, comm, sizeof(comm));
	assert_string_equal(j.buf, "\"abcd\"");
	json_reset(&j);
	json_strn(&j, "ab\0cd", 5);
	assert_string_equal(j.buf, "\"ab\"");
	json_free(&j);
}

static void test_commas_and_nesting(void **state)
{
	struct json j;

	(void)state;
	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "a");
	json_u64(&j, 18446744073709551615ULL);
	json_key(&j, "o");
	json_obj_begin(&j);
	json_key(&j, "n");
	json_null(&j);
	json_obj_end(&j);
	json_key(&j, "arr");
	json_arr_begin(&j);
	json_i64(&j, -3);
	json_bool(&j, true);
	json_double(&j, NAN, 2);
	json_double(&j, 1.5, 1);
	json_arr_end(&j);
	json_obj_end(&j);
	assert_string_equal(
		j.buf,
		"{\"a\":18446744073709551615,\"o\":{\"n\":null},\"arr\":[-3,true,null,1.5]}");
	assert_int_equal(j.depth, 0);
	json_free(&j);
}

static void test_timestamp_rfc3339_ms(void **state)
{
	struct json j;

	(void)state;
	json_init(&j);
	json_ts_ms(&j, 1795446000123ULL);
	assert_string_equal(j.buf, "\"2026-11-23T15:00:00.123Z\"");
	json_free(&j);
}

static void test_unbalanced_line_is_refused(void **state)
{
	struct json j;
	FILE *f = tmpfile();

	(void)state;
	json_init(&j);
	json_obj_begin(&j);
	assert_int_not_equal(json_write_line(&j, f), 0);
	json_obj_end(&j);
	assert_int_equal(json_write_line(&j, f), 0);
	fclose(f);
	json_free(&j);
}

/* The text json_double() writes for v (a number or null), parsed back. */
static const char *write_double(struct json *j, double v, int decimals)
{
	json_reset(j);
	json_double(j, v, decimals);
	assert_false(j->failed);
	return j->buf;
}

/*
 * Issue 14: "%.*f" into a 64-byte buffer cut figures past ~1e61 into
 * a wrong number (1e300 -> 63 digits) or invalid JSON ("...040." for
 * 9.999e60 with 3 decimals). Every finite double must read back as itself.
 */
static void test_double_every_magnitude_is_valid_json(void **state)
{
	static const double values[] = { 1e61,	   9.999999999999999e60,
					 1e300,	   -1.7976931348623157e308,
					 1e21,	   123456789012345678901.0,
					 4.9e-324, -0.0 };
	struct json j;
	size_t i;
	char *end;

	(void)state;
	json_init(&j);
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		for (int decimals = 0; decimals <= 20; decimals += 3) {
			const char *text = write_double(&j, values[i], decimals);
			double back = strtod(text, &end);

			assert_int_equal(*end, '\0');
			assert_true(strlen(text) < 64);
			/* no bare "." at the end, no "inf": a JSON number */
			assert_int_not_equal(text[strlen(text) - 1], '.');
			assert_null(strpbrk(text, "in"));
			assert_true(fabs(back - values[i]) <=
				    0.5 * pow(10, -decimals) + fabs(values[i]) * 1e-15);
		}
	}
	/* ordinary figures keep their fixed decimals */
	assert_string_equal(write_double(&j, 12.5, 3), "12.500");
	assert_string_equal(write_double(&j, -0.25, 1), "-0.2");
	assert_string_equal(write_double(&j, 1e20, 0), "100000000000000000000");
	assert_string_equal(write_double(&j, 1e21, 2), "1e+21");
	assert_string_equal(write_double(&j, NAN, 2), "null");
	assert_string_equal(write_double(&j, -INFINITY, 2), "null");
	json_free(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_strings_are_escaped),
		cmocka_unit_test(test_invalid_utf8_becomes_replacement),
		cmocka_unit_test(test_strn_stops_at_length_and_nul),
		cmocka_unit_test(test_commas_and_nesting),
		cmocka_unit_test(test_timestamp_rfc3339_ms),
		cmocka_unit_test(test_unbalanced_line_is_refused),
		cmocka_unit_test(test_double_every_magnitude_is_valid_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
