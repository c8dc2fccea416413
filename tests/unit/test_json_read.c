// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The JSON reader: key paths through objects, what it steps over, and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/array.h"
#include "util/json_read.h"

/* The string at keys[0..nr_keys) in doc, compared to want (NULL: no answer). */
static void check(const char *doc, const char *const *keys, int nr_keys, const char *want)
{
	char *got = json_lookup_string(doc, keys, nr_keys);

	if (!want && !got)
		return;
	if (!want || !got || strcmp(want, got)) {
		print_error("%s: want %s, got %s\n", doc, want ?: "NULL", got ?: "NULL");
		free(got);
		fail();
	}
	free(got);
}

static const char *const k_a[] = { "a" };
static const char *const k_a_b[] = { "a", "b" };
static const char *const k_a_b_c[] = { "a", "b", "c" };

static void test_objects(void **state)
{
	(void)state;
	check("{\"a\":\"x\"}", k_a, 1, "x");
	check(" \t\r\n{ \"a\" \n:\t\"x\" } ", k_a, 1, "x");
	check("{\"z\":\"1\",\"a\":\"x\",\"y\":\"2\"}", k_a, 1, "x");
	check("{\"a\":{\"b\":\"inner\"}}", k_a_b, 2, "inner");
	check("{\"a\":{\"q\":{},\"b\":{\"c\":\"deep\"}},\"c\":\"top\"}", k_a_b_c, 3, "deep");
	/* a key of the same name at another level is not the path */
	check("{\"b\":\"top\",\"a\":{\"x\":{\"b\":\"nested\"}}}", k_a_b, 2, NULL);
	check("{\"x\":{\"a\":\"nested\"}}", k_a, 1, NULL);
	check("{}", k_a, 1, NULL);
	check("{\"b\":\"x\"}", k_a, 1, NULL);
	check("{\"a\":{}}", k_a_b, 2, NULL);
	/* keys compare whole and case-sensitively */
	check("{\"ab\":\"1\",\"A\":\"2\",\"a\":\"3\"}", k_a, 1, "3");
	/* the first member of the name with the right kind of value is the one taken */
	check("{\"a\":\"1\",\"a\":\"2\"}", k_a, 1, "1");
	check("{\"a\":7,\"a\":\"2\"}", k_a, 1, "2");
	check("{\"a\":{\"x\":\"1\"},\"a\":{\"b\":\"2\"}}", k_a_b, 2, NULL);
	/* the value at the end of the path must be a string, on the way an object */
	check("{\"a\":{\"b\":\"x\"}}", k_a, 1, NULL);
	check("{\"a\":[\"x\"]}", k_a, 1, NULL);
	check("{\"a\":null}", k_a, 1, NULL);
	check("{\"a\":\"x\"}", k_a_b, 2, NULL);
	/* the document itself must be an object */
	check("[\"a\",\"x\"]", k_a, 1, NULL);
	check("\"a\"", k_a, 1, NULL);
}

static void test_arrays_and_scalars_are_skipped(void **state)
{
	(void)state;
	check("{\"l\":[],\"a\":\"x\"}", k_a, 1, "x");
	check("{\"l\":[1,\"s\",[true,false],{\"a\":\"in\"},null],\"a\":\"x\"}", k_a, 1, "x");
	check("{\"l\": [ 1 , [ ] , { } ] ,\"a\":\"x\"}", k_a, 1, "x");
	check("{\"n\":0,\"m\":-12.5e+3,\"o\":1E-2,\"a\":\"x\"}", k_a, 1, "x");
	check("{\"t\":true,\"f\":false,\"z\":null,\"a\":\"x\"}", k_a, 1, "x");
	/* strings being skipped may hold what looks like structure */
	check("{\"s\":\"},{\\\"a\\\":\\\"no\\\"\",\"a\":\"x\"}", k_a, 1, "x");
	check("{\"s\":{\"k\":\"]}\"},\"a\":\"x\"}", k_a, 1, "x");
}

static void test_string_escapes(void **state)
{
	(void)state;
	check("{\"a\":\"\"}", k_a, 1, "");
	check("{\"a\":\"q\\\"b\\\\s\\/\"}", k_a, 1, "q\"b\\s/");
	check("{\"a\":\"\\b\\f\\n\\r\\t\"}", k_a, 1, "\b\f\n\r\t");
	/* \u: one, two and three UTF-8 bytes, either case of hex */
	check("{\"a\":\"\\u0041\\u00e9\\u00E9\\u20ac\"}", k_a, 1, "A\xc3\xa9\xc3\xa9\xe2\x82\xac");
	/* a surrogate half, alone or paired, is not decoded: U+FFFD */
	check("{\"a\":\"\\ud83d\"}", k_a, 1, "\xef\xbf\xbd");
	check("{\"a\":\"\\ud83d\\ude00\"}", k_a, 1, "\xef\xbf\xbd\xef\xbf\xbd");
	/* escaped keys match their unescaped form */
	check("{\"\\u0061\":\"x\"}", k_a, 1, "x");
	/* bytes that are not escapes pass through as they are */
	check("{\"a\":\"caf\xc3\xa9\"}", k_a, 1, "caf\xc3\xa9");
}

static void test_bad_escapes(void **state)
{
	(void)state;
	check("{\"a\":\"\\x41\"}", k_a, 1, NULL);
	check("{\"a\":\"\\u12\"}", k_a, 1, NULL);
	check("{\"a\":\"\\u12g4\"}", k_a, 1, NULL);
	check("{\"a\":\"\\u+123\"}", k_a, 1, NULL);
	check("{\"a\":\"\\u0x12\"}", k_a, 1, NULL);
	check("{\"a\":\"\\u 123\"}", k_a, 1, NULL);
	/* a bad escape in a string being skipped stops the walk too */
	check("{\"s\":\"\\q\",\"a\":\"x\"}", k_a, 1, NULL);
	check("{\"\\q\":1,\"a\":\"x\"}", k_a, 1, NULL);
}

/*
 * {"x": <depth nested containers>, "a": "x"}: the containers sit at levels
 * 1..depth below the top object; objects hold one "k" member each.
 */
static char *nested_doc(int depth, bool objects)
{
	char *doc = malloc(8 * (size_t)depth + 32), *p = doc;
	int i;

	assert_non_null(doc);
	p += sprintf(p, "{\"x\":");
	for (i = 0; i < depth; i++)
		p += sprintf(p, objects ? "{\"k\":" : "[");
	if (objects)
		*p++ = '1';
	for (i = 0; i < depth; i++)
		*p++ = objects ? '}' : ']';
	sprintf(p, ",\"a\":\"x\"}");
	return doc;
}

static void check_nested(int depth, bool objects, const char *want)
{
	char *doc = nested_doc(depth, objects);

	check(doc, k_a, 1, want);
	free(doc);
}

static void test_nesting_limit(void **state)
{
	(void)state;
	check_nested(JSON_READ_MAX_DEPTH, false, "x");
	check_nested(JSON_READ_MAX_DEPTH + 1, false, NULL);
	check_nested(JSON_READ_MAX_DEPTH * 8, false, NULL);
	check_nested(JSON_READ_MAX_DEPTH, true, "x");
	check_nested(JSON_READ_MAX_DEPTH + 1, true, NULL);
	check_nested(JSON_READ_MAX_DEPTH * 8, true, NULL);
}

static void test_key_path_depth(void **state)
{
	const char *keys[JSON_READ_MAX_DEPTH + 2];
	char doc[16 * (JSON_READ_MAX_DEPTH + 2) + 16], *p;
	int depth, i;

	(void)state;
	for (i = 0; i < (int)ARRAY_SIZE(keys); i++)
		keys[i] = "k";
	/* a key path of depth + 1 keys walks depth objects below the top one */
	for (depth = JSON_READ_MAX_DEPTH; depth <= JSON_READ_MAX_DEPTH + 1; depth++) {
		p = doc;
		for (i = 0; i <= depth; i++)
			p += sprintf(p, "{\"k\":");
		p += sprintf(p, "\"leaf\"");
		for (i = 0; i <= depth; i++)
			*p++ = '}';
		*p = '\0';
		check(doc, keys, depth + 1, depth <= JSON_READ_MAX_DEPTH ? "leaf" : NULL);
	}
}

static void test_truncated_and_invalid(void **state)
{
	static const char *const docs[] = {
		"",
		" ",
		"{",
		"{\"",
		"{\"a",
		"{\"a\"",
		"{\"a\":",
		"{\"a\":\"x",
		"{\"a\":\"x\\",
		"{\"a\":\"x\\u00",
		"{\"l\":[1,2",
		"{\"l\":[1,2,",
		"{\"o\":{\"k\":",
		"{\"o\":{\"k\":\"v\"",
		"{\"s\":\"unterminated",
		"{\"b\":1",
		"{\"b\":1,",
		"{\"b\":1 \"a\":\"x\"}",
		"{\"b\" 1,\"a\":\"x\"}",
		"{b:1,\"a\":\"x\"}",
		"{,\"a\":\"x\"}",
		"{\"l\":[1 2],\"a\":\"x\"}",
		"{\"l\":[1},\"a\":\"x\"}",
		"{\"o\":{\"k\":1],\"a\":\"x\"}",
		"{\"o\":{1:2},\"a\":\"x\"}",
		"{\"b\":\"x\"}}",
		"}",
		"nonsense",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(docs); i++)
		check(docs[i], k_a, 1, NULL);
	/* no document, no keys */
	assert_null(json_lookup_string(NULL, k_a, 1));
	assert_null(json_lookup_string("{\"a\":\"x\"}", k_a, 0));
	/* once the value is read, the rest is not looked at */
	check("{\"a\":\"x\"", k_a, 1, "x");
	check("{\"a\":\"x\",,,garbage", k_a, 1, "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_arrays_and_scalars_are_skipped),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_bad_escapes),
		cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_key_path_depth),
		cmocka_unit_test(test_truncated_and_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
