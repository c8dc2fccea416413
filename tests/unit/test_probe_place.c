// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "attribute/probe_place.h"
#include "util/array.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define JEMALLOC "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
#define TCMALLOC "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"

static struct probe_site choose(const __u8 *code, size_t len, int nr_args)
{
	struct probe_site site;

	assert_int_equal(probe_place__choose_args(code, len, 0x1000, nr_args, &site), 0);
	print_message("  %-40s +%u%s\n", site.reason, site.skipped_bytes,
		      site.at_entry_fallback ? " (fallback)" : "");
	return site;
}

static void test_glibc_free_skips_test(void **state)
{
	/* glibc 2.36 free: test %rdi,%rdi; je (rel32); push %rbp */
	const __u8 code[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55, 0xc3 };
	const __u8 short_je[] = { 0x48, 0x85, 0xff, 0x74, 0x05, 0x55, 0xc3 };
	struct probe_site s;

	(void)state;
	s = choose(code, sizeof(code), 1);
	assert_int_equal(s.func_offset, 0x1000);
	assert_int_equal(s.probe_offset, 0x1003);
	assert_int_equal(s.skipped_bytes, 3);
	assert_false(s.at_entry_fallback);
	assert_false(s.entry_is_emulated);
	assert_false(s.tail_jump);
	s = choose(short_je, sizeof(short_je), 1);
	assert_int_equal(s.skipped_bytes, 3);
}

static void test_push_at_entry(void **state)
{
	/* glibc malloc: push %r12; push %rbp; push %rbx */
	const __u8 code[] = { 0x41, 0x54, 0x55, 0x53, 0x48, 0x89, 0xfb };
	const __u8 push_rbp[] = { 0x55, 0x48, 0x89, 0xe5 };
	struct probe_site s;

	(void)state;
	s = choose(code, sizeof(code), 1);
	assert_int_equal(s.skipped_bytes, 0);
	assert_true(s.entry_is_emulated);
	assert_false(s.at_entry_fallback);
	s = choose(push_rbp, sizeof(push_rbp), 6);
	assert_int_equal(s.skipped_bytes, 0);
	assert_true(s.entry_is_emulated);
}

static void test_endbr64(void **state)
{
	const __u8 then_push[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x54, 0x55 };
	const __u8 then_test_je[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85,
				      0xff, 0x74, 0x02, 0x55, 0xc3 };
	const __u8 then_sub_rsp[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x83, 0xec, 0x18, 0x55 };
	struct probe_site s;

	(void)state;
	s = choose(then_push, sizeof(then_push), 1);
	assert_int_equal(s.skipped_bytes, 4);
	assert_false(s.entry_is_emulated);
	s = choose(then_test_je, sizeof(then_test_je), 1);
	assert_int_equal(s.skipped_bytes, 7);
	s = choose(then_sub_rsp, sizeof(then_sub_rsp), 1);
	assert_true(s.at_entry_fallback);
	assert_int_equal(s.probe_offset, s.func_offset);
	assert_non_null(strstr(s.reason, "sub"));
}

static void test_arg_register_written(void **state)
{
	/* mov %rsi,%rdi; push %rbp: rdi changed before the push */
	const __u8 mov_rdi[] = { 0x48, 0x89, 0xf7, 0x55 };
	/* mov %rdi,%rbx; push %rbp: a copy to a callee-saved register is harmless */
	const __u8 mov_rbx[] = { 0x48, 0x89, 0xfb, 0x55 };
	/* jemalloc free: mov %rdi,%rax; mov x(%rip),%rdx; ... ; cmp; ja */
	const __u8 writes_rdx[] = { 0x48, 0x89, 0xf8, 0x48, 0x8b, 0x15, 0x0e, 0x53, 0x0a,
				    0x00, 0x48, 0x85, 0xc0, 0x75, 0x02, 0x55, 0xc3 };
	struct probe_site s;

	(void)state;
	s = choose(mov_rdi, sizeof(mov_rdi), 1);
	assert_true(s.at_entry_fallback);
	assert_non_null(strstr(s.reason, "arg"));
	s = choose(mov_rbx, sizeof(mov_rbx), 6);
	assert_int_equal(s.skipped_bytes, 3);
	/* rdx is the third argument: free has one, posix_memalign three */
	s = choose(writes_rdx, sizeof(writes_rdx), 1);
	assert_int_equal(s.skipped_bytes, 13);
	s = choose(writes_rdx, sizeof(writes_rdx), 3);
	assert_true(s.at_entry_fallback);
}

static void test_rsp_and_memory(void **state)
{
	const __u8 sub_rsp[] = { 0x48, 0x83, 0xec, 0x18, 0x55 };
	/* mov %rdi,-0x8(%rsp): a store, may hit what the BPF side reads */
	const __u8 store[] = { 0x48, 0x89, 0x7c, 0x24, 0xf8, 0x55 };
	struct probe_site s;

	(void)state;
	s = choose(sub_rsp, sizeof(sub_rsp), 1);
	assert_true(s.at_entry_fallback);
	s = choose(store, sizeof(store), 1);
	assert_true(s.at_entry_fallback);
	assert_non_null(strstr(s.reason, "memory"));
}

static void test_branches(void **state)
{
	/* jemalloc operator delete: jmp free@plt */
	const __u8 tail[] = { 0xe9, 0xeb, 0xaf, 0xf5, 0xff };
	/* an indirect jump ends the walk: not emulated */
	const __u8 indirect[] = { 0x48, 0x85, 0xff, 0xff, 0xe0, 0x55 };
	/* test; jne +2; jmp back to the jne; ret: the jne would fire twice per call */
	const __u8 back_to_site[] = { 0x48, 0x85, 0xff, 0x75, 0x02, 0xeb, 0xfc, 0xc3 };
	/* the same loop to the entry is fine: the entry fires on it as well */
	const __u8 back_to_entry[] = { 0x48, 0x85, 0xff, 0x75, 0x02, 0xeb, 0xf9, 0xc3 };
	struct probe_site s;

	(void)state;
	s = choose(tail, sizeof(tail), 1);
	assert_int_equal(s.skipped_bytes, 0);
	assert_true(s.tail_jump);
	assert_true(s.entry_is_emulated);
	s = choose(indirect, sizeof(indirect), 1);
	assert_true(s.at_entry_fallback);
	s = choose(back_to_site, sizeof(back_to_site), 1);
	assert_true(s.at_entry_fallback);
	assert_non_null(strstr(s.reason, "jump at +5"));
	s = choose(back_to_entry, sizeof(back_to_entry), 1);
	assert_int_equal(s.skipped_bytes, 3);
}

static void test_nops_and_limits(void **state)
{
	/* 66 90 is rejected by older kernels' branch emulation: walked over */
	const __u8 xchg_ax[] = { 0x66, 0x90, 0x55 };
	const __u8 nop[] = { 0x90, 0x55 };
	/* seventeen cmp instructions: past the walk limit */
	__u8 many[17 * 4 + 1];
	struct probe_site s;
	int i;

	(void)state;
	s = choose(xchg_ax, sizeof(xchg_ax), 1);
	assert_int_equal(s.skipped_bytes, 2);
	s = choose(nop, sizeof(nop), 1);
	assert_int_equal(s.skipped_bytes, 0);
	for (i = 0; i < 17; i++) {
		many[i * 4] = 0x48; /* cmp $0x10,%rax */
		many[i * 4 + 1] = 0x83;
		many[i * 4 + 2] = 0xf8;
		many[i * 4 + 3] = 0x10;
	}
	many[17 * 4] = 0x55;
	s = choose(many, sizeof(many), 1);
	assert_true(s.at_entry_fallback);
	assert_int_equal(probe_place__choose(many, 0, 0, &s), -EINVAL);
}

/* The file offset of a function of this process, from /proc/self/maps: an independent check. */
static __u64 self_file_offset(void *addr)
{
	unsigned long start, end, off;
	char line[512];
	__u64 result = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %*s %lx", &start, &end, &off) != 3)
			continue;
		if ((unsigned long)addr >= start && (unsigned long)addr < end)
			result = (unsigned long)addr - start + off;
	}
	fclose(f);
	return result;
}

static void test_real_libc(void **state)
{
	struct probe_site s;
	__u64 off, free_off, size;
	void *fn;

	(void)state;
	fn = dlsym(RTLD_DEFAULT, "free");
	assert_non_null(fn);
	assert_int_equal(elf_func_offset(LIBC, "free", &free_off, &size), 0);
	assert_int_equal(free_off, self_file_offset(fn));
	assert_true(size > 0);
	fn = dlsym(RTLD_DEFAULT, "malloc");
	assert_int_equal(elf_func_offset(LIBC, "malloc", &off, NULL), 0);
	assert_int_equal(off, self_file_offset(fn));

	assert_int_equal(probe_place__find(LIBC, "free", &s), 0);
	print_message("  libc free: %s\n", s.reason);
	assert_int_equal(s.func_offset, free_off);
	/* glibc's free begins with test %rdi,%rdi: never probe it */
	assert_false(s.at_entry_fallback);
	assert_true(s.skipped_bytes > 0);

	assert_int_equal(probe_place__find(LIBC, "no_such_function_here", &s), -ENOENT);
	/* memcpy is an IFUNC (and versioned twice): refused, with the reason */
	assert_int_equal(probe_place__find(LIBC, "memcpy", &s), -EOPNOTSUPP);
	assert_non_null(strstr(s.reason, "ifunc"));
	assert_int_equal(probe_place__find("/nonexistent/lib.so", "malloc", &s), -ENOENT);
}

/* From a copy in memory (what an observed file gets): the same answers; cut or junk is safe. */
static void test_from_memory(void **state)
{
	struct probe_site s, from_path;
	__u64 off, len_cut;
	size_t len = 0, cap = 0;
	char *image = NULL;
	ssize_t n;
	int fd, err;

	(void)state;
	fd = open(LIBC, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 1 << 20;
			image = realloc(image, cap);
			assert_non_null(image);
		}
		n = read(fd, image + len, cap - len);
		assert_true(n >= 0);
		len += (size_t)n;
	} while (n > 0);
	close(fd);
	assert_int_equal(probe_place__find(LIBC, "free", &from_path), 0);
	assert_int_equal(probe_place__find_mem(image, len, "free", &s), 0);
	assert_int_equal(s.func_offset, from_path.func_offset);
	assert_int_equal(s.probe_offset, from_path.probe_offset);
	assert_int_equal(elf_func_offset_mem(image, len, "malloc", &off, NULL), 0);
	/* truncated before the code: refused or placed, never read past the end */
	for (len_cut = 64; len_cut < len; len_cut = len_cut * 3 + 1) {
		err = probe_place__find_mem(image, (size_t)len_cut, "free", &s);
		assert_true(err <= 0);
		if (!err)
			assert_true(s.func_offset < len_cut);
	}
	memset(image, 0x41, 64);
	assert_int_equal(probe_place__find_mem(image, len, "free", &s), -ENOEXEC);
	assert_int_equal(probe_place__find_mem(image, 0, "free", &s), -ENOEXEC);
	free(image);
}

static void print_sites(const char *lib)
{
	static const char *const funcs[] = { "malloc",	      "calloc",	  "realloc",
					     "reallocarray",  "free",	  "posix_memalign",
					     "aligned_alloc", "memalign", "valloc",
					     "pvalloc",	      "_Znwm",	  "_ZdlPv" };
	struct probe_site s;
	size_t i;
	int err, found = 0;

	for (i = 0; i < ARRAY_SIZE(funcs); i++) {
		err = probe_place__find(lib, funcs[i], &s);
		if (err == -ENOENT)
			continue;
		assert_int_equal(err, 0);
		assert_int_equal(s.probe_offset - s.func_offset, s.skipped_bytes);
		found++;
		print_message("  %-15s entry 0x%llx probe +%-2u %s%s%s\n", funcs[i],
			      (unsigned long long)s.func_offset, s.skipped_bytes, s.reason,
			      s.at_entry_fallback ? " [FALLBACK]" : "",
			      s.tail_jump ? " [tail jump]" : "");
	}
	assert_true(found >= 5);
}

static void test_real_allocators(void **state)
{
	(void)state;
	print_message(" %s\n", LIBC);
	print_sites(LIBC);
	if (access(JEMALLOC, R_OK) == 0) {
		print_message(" %s\n", JEMALLOC);
		print_sites(JEMALLOC);
	} else {
		print_message(" %s absent: not checked\n", JEMALLOC);
	}
	if (access(TCMALLOC, R_OK) == 0) {
		print_message(" %s\n", TCMALLOC);
		print_sites(TCMALLOC);
	} else {
		print_message(" %s absent: not checked\n", TCMALLOC);
	}
}

static void test_nr_args(void **state)
{
	(void)state;
	assert_int_equal(probe_place__nr_args("free"), 1);
	assert_int_equal(probe_place__nr_args("posix_memalign"), 3);
	assert_int_equal(probe_place__nr_args("whatever"), PROBE_PLACE_ALL_ARGS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glibc_free_skips_test),
		cmocka_unit_test(test_push_at_entry),
		cmocka_unit_test(test_endbr64),
		cmocka_unit_test(test_arg_register_written),
		cmocka_unit_test(test_rsp_and_memory),
		cmocka_unit_test(test_branches),
		cmocka_unit_test(test_nops_and_limits),
		cmocka_unit_test(test_real_libc),
		cmocka_unit_test(test_from_memory),
		cmocka_unit_test(test_real_allocators),
		cmocka_unit_test(test_nr_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
