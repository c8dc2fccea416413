// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The caller of a site (model/caller.c): the innermost frame that is not the
 * allocator's or a wrapper's, on stacks as memobs symbolizes them (innermost
 * first, the allocator's own frame already dropped or not), and the
 * --wrappers lists that extend or replace the default globs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/caller.h"
#include "util/array.h"

#define DOC_PATH "docs/output.md"

static void assert_caller(const struct caller_rule *r, const char *const *frames, size_t nr,
			  int want)
{
	int got = caller_rule__index(r, frames, nr);

	if (got != want)
		fail_msg("caller is frame %d (%s), expected %d (%s)", got,
			 got >= 0 ? frames[got] : "none", want, want >= 0 ? frames[want] : "none");
	if (want == CALLER_NONE)
		assert_null(caller_rule__frame(r, frames, nr));
	else
		assert_ptr_equal(caller_rule__frame(r, frames, nr), frames[want]);
}

/* CPython: a bytearray that is kept, through pymalloc. */
static void test_python(void **state)
{
	static const char *const frames[] = {
		"_PyObject_Malloc+0x1b7 (python3.11) Objects/obmalloc.c:1984",
		"PyObject_Malloc+0x19 (python3.11) Objects/obmalloc.c:714",
		"PyByteArray_Resize+0x8c (python3.11) Objects/bytearrayobject.c:226",
		"bytearray___init___impl+0x9d (python3.11) Objects/bytearrayobject.c:849",
		"type_call+0x8a (python3.11) Objects/typeobject.c:1123",
		"_PyObject_MakeTpCall+0x7c (python3.11) Objects/call.c:214",
		"_PyEval_EvalFrameDefault+0x6d3 (python3.11) Python/ceval.c:4772",
		"Py_RunMain+0x14c (python3.11) Modules/main.c:682",
		"__libc_start_call_main+0x7a (libc.so.6) ../sysdeps/nptl/libc_start_call_main.h:58",
	};
	static const char *const raw[] = {
		"malloc+0x0 (libc.so.6)",
		"_PyMem_RawMalloc+0x12 (python3.11) Objects/obmalloc.c:67",
		"PyMem_RawMalloc+0x1a (python3.11)",
		"_PyObject_GC_Malloc+0x20 (python3.11)",
		"PyTuple_New+0x5c (python3.11) Objects/tupleobject.c:88",
	};

	(void)state;
	assert_caller(NULL, frames, ARRAY_SIZE(frames), 2);
	assert_caller(NULL, raw, ARRAY_SIZE(raw), 4);
}

/* CPython with its Python frames (attr_python.c): the innermost Python frame is the caller. */
static void test_python_frames(void **state)
{
	static const char *const frames[] = {
		"_PyObject_Malloc+0x1b7 (python3.11) Objects/obmalloc.c:1984",
		"PyBytes_FromStringAndSize+0x3a (python3.11) Objects/bytesobject.c:139",
		"leak_here (/srv/app/ingest.py:10)",
		"main (/srv/app/pyleak.py:31)",
		"<module> (/srv/app/pyleak.py:40)",
		"PyEval_EvalCode+0x9c (python3.11) Python/ceval.c:1148",
	};
	static const char *const native[] = {
		"malloc+0x0 (libc.so.6)",
		"list_resize+0x5c (python3.11) Objects/listobject.c:66",
		"main+0x12 (python3.11) Programs/python.c:15",
	};
	const char *open, *colon;

	(void)state;
	assert_caller(NULL, frames, ARRAY_SIZE(frames), 2);
	assert_caller(NULL, native, ARRAY_SIZE(native), 1);
	assert_true(frame__is_python("Cache.get.<locals>.f (<string>:3)", &open, &colon));
	assert_string_equal(open, " (<string>:3)");
	assert_string_equal(colon, ":3)");
	/* native shapes are not Python frames, whatever their module is called */
	assert_false(frame__is_python("leak_here+0x38 (leak_here) leak_here.c:54", NULL, NULL));
	assert_false(frame__is_python("f+0x1 (mod.py:3)", NULL, NULL));
	assert_false(frame__is_python("0x7f00 (a.py:3)", NULL, NULL));
	assert_false(frame__is_python("f (a.py:)", NULL, NULL));
	assert_false(frame__is_python("f (a.py:3x)", NULL, NULL));
	assert_false(frame__is_python("f (:3)", NULL, NULL));
	assert_false(frame__is_python(" (a.py:3)", NULL, NULL));
	assert_false(frame__is_python("[no frame]", NULL, NULL));
	assert_false(frame__is_python(NULL, NULL, NULL));
}

/* redis: jemalloc linked in with the je_ prefix, zmalloc over it, sds over that. */
static void test_redis(void **state)
{
	static const char *const frames[] = {
		"je_malloc+0x4d (redis-server) jemalloc.c:2620",
		"ztrymalloc_usable_internal+0x1e (redis-server) zmalloc.c:135",
		"zmalloc_usable.constprop.0+0x12 (redis-server) zmalloc.c:161",
		"_sdsnewlen+0x4f (redis-server) sds.c:113",
		"createStringObject+0x2a (redis-server) object.c:146",
		"processMultibulkBuffer+0x3f1 (redis-server) networking.c:2302",
	};

	(void)state;
	assert_caller(NULL, frames, ARRAY_SIZE(frames), 3);
}

/*
 * std::vector growing. Its _M_realloc_insert does more than call the
 * allocator: it is the caller, at -O2 as at -O0 (where the allocator
 * layers between it and operator new show as frames of their own).
 */
static void test_cxx_vector_growth(void **state)
{
	static const char *const o2[] = {
		"operator new(unsigned long)+0x1c (libstdc++.so.6.0.30)",
		"void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>"
		"(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, "
		"int const&)+0x5e (table) /usr/include/c++/12/bits/vector.tcc:440",
		"fill_table(std::vector<int, std::allocator<int> >&, int)+0x40 (table) table.cc:12",
		"main+0x2f (table) table.cc:30",
	};
	static const char *const o0[] = {
		"malloc+0x0 (libc.so.6)",
		"operator new(unsigned long)+0x1c (libstdc++.so.6.0.30)",
		"std::__new_allocator<int>::allocate(unsigned long, void const*)+0x4f (table) "
		"/usr/include/c++/12/bits/new_allocator.h:137",
		"std::allocator_traits<std::allocator<int> >::allocate(std::allocator<int>&, "
		"unsigned long)+0x20 (table) /usr/include/c++/12/bits/alloc_traits.h:464",
		"std::_Vector_base<int, std::allocator<int> >::_M_allocate(unsigned long)+0x2e "
		"(table) /usr/include/c++/12/bits/stl_vector.h:378",
		"void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>"
		"(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, "
		"int const&)+0x6a (table) /usr/include/c++/12/bits/vector.tcc:440",
		"std::vector<int, std::allocator<int> >::push_back(int const&)+0x9e (table) "
		"/usr/include/c++/12/bits/stl_vector.h:1287",
		"fill_table(std::vector<int, std::allocator<int> >&, int)+0x40 (table) table.cc:12",
	};
	static const char *const mangled[] = {
		"_Znwm+0x1c (libstdc++.so.6)", "_ZnwmRKSt9nothrow_t+0x10 (a.out)",
		"_Znam+0x9 (a.out)",	       "_ZnwmSt11align_val_t+0x9 (a.out)",
		"build+0x10 (a.out)",
	};
	struct caller_rule *r;

	(void)state;
	assert_caller(NULL, o2, ARRAY_SIZE(o2), 1);
	assert_caller(NULL, o0, ARRAY_SIZE(o0), 5);
	assert_caller(NULL, mangled, ARRAY_SIZE(mangled), 4);
	/*
	 * To see past the container: a member template's demangled name begins
	 * with its return type, and a leading '*' would match the parameters of
	 * fill_table(std::vector<int...>&) too.
	 */
	assert_int_equal(caller_rule__new(&r, "std::vector<*,void std::vector<*"), 0);
	assert_caller(r, o2, ARRAY_SIZE(o2), 2);
	assert_caller(r, o0, ARRAY_SIZE(o0), 7);
	caller_rule__free(r);
}

/* A program's own xmalloc, and the unnamed forms of frames. */
static void test_xmalloc(void **state)
{
	static const char *const fp[] = {
		"xmalloc+0x12 (xmalloc_fp) tests/workloads/nofp_xmalloc.c:31",
		"parse_request_headers+0x3c (xmalloc_fp) tests/workloads/nofp_xmalloc.c:44",
		"handle_connection+0x1d (xmalloc_fp) tests/workloads/nofp_xmalloc.c:57",
		"main+0x8f (xmalloc_fp) tests/workloads/nofp_xmalloc.c:90",
	};
	static const char *const with_malloc[] = {
		"malloc+0x0 (/usr/lib/x86_64-linux-gnu/libc.so.6)",
		"xmalloc.cold+0x5 (grep)",
		"xstrdup+0x1a (grep) lib/xmalloc.c:300",
		"read_pattern_file+0x41 (grep) src/grep.c:1020",
	};
	static const char *const unnamed[] = {
		"0x7f3a1c09a0b0 (libc.so.6)",
		"libc.so.6+0x9a0b0",
		"/usr/lib/x86_64-linux-gnu/libjemalloc.so.2+0x1234",
		"0x7f3a1c0a0000 (libstdc++.so.6.0.30)",
		"libc.so.6+0x2724a (libc.so.6)", /* no symbol, as the CFI unwinder's frames name it */
		"server+0x4410",
		"main+0x8 (server)",
	};
	static const char *const unknown[] = { "malloc@plt+0x0 (a.out)", "[unknown]",
					       "main+0x8 (a.out)" };
	static const char *const bare[] = { "xmalloc+0x12 (a.out)", "0x55d0c0de",
					    "main+0x8 (a.out)" };

	(void)state;
	assert_caller(NULL, fp, ARRAY_SIZE(fp), 1);
	assert_caller(NULL, with_malloc, ARRAY_SIZE(with_malloc), 3);
	assert_caller(NULL, unnamed, ARRAY_SIZE(unnamed), 5);
	/* a frame that names nothing is not known to be a wrapper */
	assert_caller(NULL, unknown, ARRAY_SIZE(unknown), 1);
	assert_caller(NULL, bare, ARRAY_SIZE(bare), 1);
}

/* Nothing outside the allocator: no caller, which the record renders as null. */
static void test_all_wrappers_and_empty(void **state)
{
	static const char *const all[] = {
		"malloc+0x0 (libc.so.6)",
		"xmalloc+0x12 (a.out)",
		"g_malloc0+0x1e (libglib-2.0.so.0)",
		"operator new(unsigned long)+0x1c (libstdc++.so.6)",
		"__libc_start_call_main+0x7a (libc.so.6)",
		"0x7f00 (ld-linux-x86-64.so.2)",
	};

	(void)state;
	assert_caller(NULL, all, ARRAY_SIZE(all), CALLER_NONE);
	assert_caller(NULL, NULL, 0, CALLER_NONE);
	assert_false(caller_rule__is_wrapper(NULL, NULL));
}

/* --wrappers: appended to the defaults, or in their place after '='; modules stay. */
static void test_wrappers_lists(void **state)
{
	static const char *const frames[] = {
		"malloc+0x0 (libc.so.6)",	 "xmalloc+0x12 (app)", "mymalloc+0x9 (app)",
		"my_pool_get.isra.0+0x30 (app)", "handle+0x44 (app)",
	};
	struct caller_rule *r;

	(void)state;
	assert_caller(NULL, frames, ARRAY_SIZE(frames), 2);
	assert_int_equal(caller_rule__new(&r, "mymalloc,my_*"), 0);
	assert_caller(r, frames, ARRAY_SIZE(frames), 4);
	caller_rule__free(r);
	assert_int_equal(caller_rule__new(&r, "=mymalloc,my_*"), 0);
	assert_caller(r, frames, ARRAY_SIZE(frames), 1); /* xmalloc is no default any more */
	caller_rule__free(r);
	assert_int_equal(caller_rule__new(&r, "=malloc"), 0);
	assert_caller(r, frames, ARRAY_SIZE(frames), 1);
	assert_true(caller_rule__is_wrapper(r, "0x7f00 (libc.so.6)")); /* the modules stay */
	assert_false(caller_rule__is_wrapper(r, "operator new(unsigned long)+0x1c (a.out)"));
	caller_rule__free(r);
	assert_int_equal(caller_rule__new(&r, NULL), 0);
	assert_caller(r, frames, ARRAY_SIZE(frames), 2);
	caller_rule__free(r);
	caller_rule__free(NULL);
	/* a frame without a symbol has no function: globs do not see its module's name */
	assert_int_equal(caller_rule__new(&r, "=lib*"), 0);
	assert_false(caller_rule__is_wrapper(r, "libfoo.so+0x10 (libfoo.so)"));
	assert_false(caller_rule__is_wrapper(r, "libfoo.so+0x10"));
	assert_true(caller_rule__is_wrapper(r, "libfoo_alloc+0x10 (libfoo.so)"));
	caller_rule__free(r);
	/* Go's dots are the name's: only GCC's clone suffixes go */
	assert_int_equal(caller_rule__new(&r, "=main.func1.1"), 0);
	assert_true(caller_rule__is_wrapper(r, "main.func1.1+0x10 (gosvc)"));
	caller_rule__free(r);
	assert_int_equal(caller_rule__new(&r, "=main.func1"), 0);
	assert_false(caller_rule__is_wrapper(r, "main.func1.1+0x10 (gosvc)"));
	assert_true(caller_rule__is_wrapper(r, "main.func1.constprop.0.cold+0x10 (gosvc)"));
	caller_rule__free(r);
}

static void test_wrappers_check(void **state)
{
	char many[CALLER_MAX_WRAPPERS * 3 + 8], longest[CALLER_WRAPPER_MAX_LEN + 8];
	struct caller_rule *r;
	size_t which, i;

	(void)state;
	assert_int_equal(caller_wrappers__check("a", &which), 0);
	assert_int_equal(caller_wrappers__check("=a,b*,c?", &which), 0);
	const char *const empty[][2] = {
		{ "", "1" },   { "=", "1" },  { "a,,b", "2" },
		{ "a,", "2" }, { ",a", "1" }, { "=a,", "2" },
	};
	for (i = 0; i < ARRAY_SIZE(empty); i++) {
		assert_int_equal(caller_wrappers__check(empty[i][0], &which), -EINVAL);
		assert_int_equal(which, strtoul(empty[i][1], NULL, 10));
		assert_int_equal(caller_rule__new(&r, empty[i][0]), -EINVAL);
		assert_null(r);
	}
	/* 64 patterns pass, 65 do not */
	many[0] = '\0';
	for (i = 0; i < CALLER_MAX_WRAPPERS; i++)
		strcat(many, i ? ",p*" : "p*");
	assert_int_equal(caller_wrappers__check(many, &which), 0);
	strcat(many, ",q");
	assert_int_equal(caller_wrappers__check(many, &which), -E2BIG);
	assert_int_equal(which, CALLER_MAX_WRAPPERS + 1);
	/* 256 bytes pass, 257 do not */
	memset(longest, 'a', CALLER_WRAPPER_MAX_LEN);
	longest[CALLER_WRAPPER_MAX_LEN] = '\0';
	assert_int_equal(caller_wrappers__check(longest, &which), 0);
	assert_int_equal(caller_rule__new(&r, longest), 0);
	caller_rule__free(r);
	strcat(longest, "a");
	assert_int_equal(caller_wrappers__check(longest, &which), -ENAMETOOLONG);
	assert_int_equal(which, 1);
}

/* docs/output.md lists every default glob and module: the rule is documented. */
static void test_defaults_documented(void **state)
{
	char *doc, quoted[CALLER_WRAPPER_MAX_LEN + 3];
	FILE *f = fopen(DOC_PATH, "r");
	size_t len, i;

	(void)state;
	assert_non_null(f);
	doc = calloc(1, 1 << 20);
	assert_non_null(doc);
	len = fread(doc, 1, (1 << 20) - 1, f);
	fclose(f);
	assert_true(len > 0);
	for (i = 0; i < caller_nr_default_funcs + caller_nr_modules; i++) {
		const char *glob = i < caller_nr_default_funcs
					   ? caller_default_funcs[i]
					   : caller_modules[i - caller_nr_default_funcs];

		snprintf(quoted, sizeof(quoted), "`%s`", glob);
		if (!strstr(doc, quoted))
			fail_msg("docs/output.md does not list the default '%s'", glob);
	}
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_python),
		cmocka_unit_test(test_python_frames),
		cmocka_unit_test(test_redis),
		cmocka_unit_test(test_cxx_vector_growth),
		cmocka_unit_test(test_xmalloc),
		cmocka_unit_test(test_all_wrappers_and_empty),
		cmocka_unit_test(test_wrappers_lists),
		cmocka_unit_test(test_wrappers_check),
		cmocka_unit_test(test_defaults_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
