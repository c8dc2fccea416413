// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <libgen.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include "attribute/symbolize.h"

/* Built with -g (the Makefile's CFLAGS): file:line must come out. */
static int leaf_line;

__attribute__((noinline)) static int leaf_function(int x)
{
	leaf_line = __LINE__;
	asm volatile("" ::: "memory");
	return x * 3 + 1;
}

__attribute__((noinline)) static __u64 capture_return_address(void)
{
	__u64 ra = (__u64)(uintptr_t)__builtin_return_address(0);

	asm volatile("" ::: "memory");
	return ra;
}

/* Calls capture_return_address() from a line it records. */
__attribute__((noinline)) static __u64 caller_function(int *call_line)
{
	__u64 ra;

	ra = (*call_line = __LINE__, capture_return_address()); /* one line: the call's */
	asm volatile("" ::: "memory"); /* no tail call: the return lands here */
	return ra;
}

static char *resolve_one(struct symbolizer *s, __u64 addr, bool is_return)
{
	char *out = NULL;

	assert_int_equal(symbolizer__resolve_one(s, getpid(), addr, is_return, &out), 0);
	assert_non_null(out);
	print_message("  0x%llx -> %s\n", (unsigned long long)addr, out);
	return out;
}

static void test_own_function_with_line(void **state)
{
	struct symbolizer *s = symbolizer__new();
	char expect[64], *out;
	__u64 addr = (__u64)(uintptr_t)&leaf_function;

	(void)state;
	assert_non_null(s);
	assert_int_equal(leaf_function(1), 4);
	out = resolve_one(s, addr, false);
	assert_true(strncmp(out, "leaf_function+0x0 (test_symbolize)", 34) == 0);
	/* the entry's line is the function's opening, at most a few lines above */
	assert_non_null(strstr(out, "test_symbolize.c:"));
	free(out);

	/* 4 bytes in is still leaf_function, at its own offset */
	out = resolve_one(s, addr + 4, false);
	snprintf(expect, sizeof(expect), "leaf_function+0x4 (test_symbolize)");
	assert_true(strncmp(out, expect, strlen(expect)) == 0);
	free(out);
	symbolizer__free(s);
}

static void test_return_address_names_the_call(void **state)
{
	struct symbolizer *s = symbolizer__new();
	char expect[64], *out;
	int call_line = 0;
	__u64 ra = caller_function(&call_line);

	(void)state;
	out = resolve_one(s, ra, true);
	assert_true(strncmp(out, "caller_function+0x", 18) == 0);
	snprintf(expect, sizeof(expect), "test_symbolize.c:%d", call_line);
	assert_non_null(strstr(out, expect));
	free(out);
	symbolizer__free(s);
}

static void test_library_and_batch(void **state)
{
	struct symbolizer *s = symbolizer__new();
	void *page = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 addrs[4];
	char *out[4], expect[64];
	int i;

	(void)state;
	assert_true(page != MAP_FAILED);
	addrs[0] = (__u64)(uintptr_t)dlsym(RTLD_DEFAULT, "malloc");
	addrs[1] = (__u64)(uintptr_t)&leaf_function + 1; /* taken as a return address */
	/* anonymous code: no file */
	addrs[2] = (__u64)(uintptr_t)page;
	addrs[3] = 8;
	assert_int_equal(symbolizer__resolve(s, getpid(), addrs, 4, out), 0);
	for (i = 0; i < 4; i++)
		print_message("  [%d] %s\n", i, out[i]);
	/* malloc may be reached through an alias of glibc's own name */
	assert_non_null(strstr(out[0], "+0x0 (libc.so.6)"));
	assert_true(strncmp(out[1], "leaf_function+0x1 (test_symbolize)", 34) == 0);
	/* in no file and no perf map: the bare address, as perf shows it */
	snprintf(expect, sizeof(expect), "0x%llx", (unsigned long long)addrs[2]);
	assert_string_equal(out[2], expect);
	assert_string_equal(out[3], "0x8");
	for (i = 0; i < 4; i++)
		free(out[i]);
	munmap(page, 4096);
	symbolizer__free(s);
}

/* A library loaded after the first resolve: the maps are read again. */
static void test_dlopen_after_first_use(void **state)
{
	struct symbolizer *s = symbolizer__new();
	void *lib, *fn;
	char *out;

	(void)state;
	free(resolve_one(s, (__u64)(uintptr_t)&leaf_function, false));
	lib = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		lib = dlopen("libelf.so.1", RTLD_NOW | RTLD_LOCAL);
	assert_non_null(lib);
	fn = dlsym(lib, "zlibVersion");
	if (!fn)
		fn = dlsym(lib, "elf_version");
	assert_non_null(fn);
	out = resolve_one(s, (__u64)(uintptr_t)fn, false);
	assert_non_null(strstr(out, "+0x0 ("));
	assert_true(strncmp(out, "zlibVersion", 11) == 0 || strncmp(out, "elf_version", 11) == 0);
	free(out);
	symbolizer__free(s);
}

static void test_forget_and_gone(void **state)
{
	struct symbolizer *s = symbolizer__new();
	char *out[1];
	__u64 addr = (__u64)(uintptr_t)&leaf_function;
	pid_t child;
	int status;

	(void)state;
	free(resolve_one(s, addr, false));
	symbolizer__forget_pid(s, getpid());
	symbolizer__forget_pid(s, getpid()); /* twice is harmless */
	free(resolve_one(s, addr, false));

	/* a child seen alive keeps resolving after its exit, until forgotten */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(symbolizer__resolve(s, child, &addr, 1, out), 0);
	assert_true(strncmp(out[0], "leaf_function+0x0", 17) == 0);
	free(out[0]);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(symbolizer__resolve(s, child, &addr, 1, out), 0);
	assert_true(strncmp(out[0], "leaf_function+0x0", 17) == 0);
	free(out[0]);
	symbolizer__forget_pid(s, child);
	assert_int_equal(symbolizer__resolve(s, child, &addr, 1, out), -ESRCH);
	assert_null(out[0]);
	symbolizer__free(s);
	symbolizer__free(NULL);
}

/* Lines of /proc/self/maps naming a file whose path contains needle. */
static int maps_lines_with(const char *needle)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "re");
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static void *zlib_function(void)
{
	void *lib = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);

	assert_non_null(lib);
	return dlsym(lib, "zlibVersion");
}

/* Issue 14: the file is read into memory, never kept mapped (a truncation would SIGBUS). */
static void test_no_file_stays_mapped(void **state)
{
	struct symbolizer *s = symbolizer__new();
	void *fn = zlib_function();
	int before = maps_lines_with("libz.so");
	char *out;

	(void)state;
	assert_non_null(fn);
	out = resolve_one(s, (__u64)(uintptr_t)fn, false);
	assert_true(strncmp(out, "zlibVersion+0x0", 15) == 0);
	free(out);
	assert_int_equal(maps_lines_with("libz.so"), before);
	symbolizer__free(s);
}

static void test_cache_is_bounded(void **state)
{
	struct symbolizer_opts one_file = { .max_files = 1 };
	struct symbolizer_opts tiny = { .budget_bytes = 4096 };
	struct symbolizer *s = symbolizer__new_opts(&one_file);
	__u64 own = (__u64)(uintptr_t)&leaf_function, z = (__u64)(uintptr_t)zlib_function();
	struct symbolizer_stats st;
	char *out;

	(void)state;
	free(resolve_one(s, own, false));
	free(resolve_one(s, z, false));
	symbolizer__stats(s, &st);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.evictions, 1);
	/* the evicted file is read again when needed, the other one goes */
	out = resolve_one(s, own, false);
	assert_true(strncmp(out, "leaf_function+0x0", 17) == 0);
	free(out);
	symbolizer__stats(s, &st);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.evictions, 2);
	assert_true(st.image_bytes > 0);
	/* forgetting the only process that maps them frees the files */
	symbolizer__forget_pid(s, getpid());
	symbolizer__stats(s, &st);
	assert_int_equal(st.files, 0);
	assert_int_equal(st.image_bytes, 0);
	assert_int_equal(st.pids, 0);
	symbolizer__free(s);

	/* a file larger than the budget is not read: its offset in the module only */
	s = symbolizer__new_opts(&tiny);
	out = resolve_one(s, own, false);
	assert_true(strncmp(out, "test_symbolize+0x", 17) == 0);
	assert_non_null(strstr(out, " (test_symbolize)"));
	free(out);
	symbolizer__stats(s, &st);
	assert_int_equal(st.files, 0);
	symbolizer__free(s);
}

static void test_pids_are_bounded(void **state)
{
	struct symbolizer_opts one_pid = { .max_pids = 1 };
	struct symbolizer *s = symbolizer__new_opts(&one_pid);
	__u64 addr = (__u64)(uintptr_t)&leaf_function;
	struct symbolizer_stats st;
	char *out[1];
	pid_t child;
	int status;

	(void)state;
	free(resolve_one(s, addr, false));
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(symbolizer__resolve(s, child, &addr, 1, out), 0);
	free(out[0]);
	symbolizer__stats(s, &st);
	assert_int_equal(st.pids, 1);
	assert_true(st.evictions >= 1);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &status, 0), child);
	/* the child, gone and now forgotten for this process: never seen again */
	free(resolve_one(s, addr, false));
	assert_int_equal(symbolizer__resolve(s, child, &addr, 1, out), -ESRCH);
	symbolizer__free(s);
}

/* Arbitrary bytes as an ELF in memory: a frame string, no crash (tests/fuzz/fuzz_elf.c). */
static void test_image_from_memory(void **state)
{
	__u64 offsets[2] = { 0, 7 };
	char *out[2], *junk = strdup("\177ELF not really an ELF file at all");

	(void)state;
	assert_int_equal(symbolizer__resolve_image(junk, strlen(junk), offsets, 2, out), 0);
	/* nothing names them: their place in the module */
	assert_string_equal(out[0], "image+0x0 (image)");
	assert_string_equal(out[1], "image+0x7 (image)");
	free(out[0]);
	free(out[1]);
}

/* The value of a "Name:\t..." line of /proc/PID/status, as a number (base 16 for Cap*). */
static unsigned long long status_field(int pid, const char *name, int base)
{
	char path[64], line[256];
	unsigned long long value = ~0ULL;
	size_t len = strlen(name);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':')
			value = strtoull(line + len + 1, NULL, base);
	fclose(f);
	return value;
}

static double elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1e3 + (now.tv_nsec - since->tv_nsec) / 1e6;
}

/* Lines of /proc/PID/<file> containing needle (with a shared mapping's " rw-s "-like perms). */
static int proc_lines_with(int pid, const char *file, const char *needle)
{
	char path[64], line[4096];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static int count_fds(int pid)
{
	char path[64], link[64];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
		if (readlink(path, link, sizeof(link)) > 0)
			n++;
	}
	return n;
}

/* Issue 14: ELF and DWARF are parsed in a helper without capabilities. */
static void test_helper_has_no_capabilities(void **state)
{
	void *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct symbolizer *s = symbolizer__new();
	int pid;

	(void)state;
	assert_true(shared != MAP_FAILED);
	assert_non_null(s);
	pid = symbolizer__worker_pid(s);
	assert_true(pid > 0 && pid != getpid());
	print_message("  helper %d: CapEff %llx CapPrm %llx CapInh %llx NoNewPrivs %llu\n", pid,
		      status_field(pid, "CapEff", 16), status_field(pid, "CapPrm", 16),
		      status_field(pid, "CapInh", 16), status_field(pid, "NoNewPrivs", 10));
	assert_int_equal(status_field(pid, "CapEff", 16), 0);
	assert_int_equal(status_field(pid, "CapPrm", 16), 0);
	assert_int_equal(status_field(pid, "CapInh", 16), 0);
	assert_int_equal(status_field(pid, "CapAmb", 16), 0);
	assert_int_equal(status_field(pid, "NoNewPrivs", 10), 1);
	/* nothing of memobs's but its socket and /dev/null; no shared mapping of ours */
	assert_true(proc_lines_with(getpid(), "maps", "s 00000000 00:") >= 1);
	assert_int_equal(proc_lines_with(pid, "maps", "s 00000000 00:"), 0);
	assert_int_equal(count_fds(pid), 4);
	assert_int_equal(proc_lines_with(pid, "limits", "Max address space         unlimited"), 0);
	/* and it still resolves */
	free(resolve_one(s, (__u64)(uintptr_t)&leaf_function, false));
	symbolizer__free(s);
	/* reaped by free: no zombie left */
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	munmap(shared, 4096);
}

/* The file offset of one of our own addresses, from /proc/self/maps. */
static __u64 file_offset_of(__u64 addr)
{
	unsigned long long start, end, offset;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	__u64 found = ~0ULL;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx %*s %llx", &start, &end, &offset) == 3 &&
		    addr >= start && addr < end)
			found = addr - start + offset;
	fclose(f);
	assert_true(found != ~0ULL);
	return found;
}

/* A helper that hangs costs the deadline once, then is killed, reaped and replaced. */
static void test_hung_helper_meets_the_deadline(void **state)
{
	struct symbolizer_opts hang = { .deadline_ms = 250, .test_hang_ms = 10000 };
	struct symbolizer *s = symbolizer__new_opts(&hang);
	__u64 addr = (__u64)(uintptr_t)&leaf_function;
	struct symbolizer_stats st;
	struct timespec t0;
	char expect[64], *out;
	int pid, pid2;
	double ms;

	(void)state;
	assert_non_null(s);
	pid = symbolizer__worker_pid(s);
	assert_true(pid > 0);
	/* unnamed (the file is not read again): its offset in the file */
	snprintf(expect, sizeof(expect), "test_symbolize+0x%llx (test_symbolize)",
		 (unsigned long long)file_offset_of(addr));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	out = resolve_one(s, addr, false);
	ms = elapsed_ms(&t0);
	print_message("  answered in %.0f ms\n", ms);
	assert_string_equal(out, expect);
	free(out);
	assert_true(ms >= 240 && ms < 250 + 750);
	symbolizer__stats(s, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.worker_restarts, 1);
	assert_int_equal(st.files, 0);
	/* killed and reaped at once */
	assert_int_equal(symbolizer__worker_pid(s), 0);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	/* within the backoff: no helper, no wait */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	out = resolve_one(s, addr, false);
	assert_string_equal(out, expect);
	free(out);
	assert_true(elapsed_ms(&t0) < 100);
	/* after it, a fresh helper; the file that hung it is not read again */
	usleep(1100 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	out = resolve_one(s, addr, false);
	assert_string_equal(out, expect);
	free(out);
	assert_true(elapsed_ms(&t0) < 200);
	pid2 = symbolizer__worker_pid(s);
	assert_true(pid2 > 0 && pid2 != pid);
	symbolizer__stats(s, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.worker_restarts, 1);
	symbolizer__free(s);
}

/* The helper killed between requests: the next request gets a fresh one. */
static void test_killed_helper_is_replaced(void **state)
{
	struct symbolizer *s = symbolizer__new();
	__u64 addr = (__u64)(uintptr_t)&leaf_function;
	struct symbolizer_stats st;
	char *out;
	int pid, pid2;

	(void)state;
	assert_non_null(s);
	out = resolve_one(s, addr, false);
	assert_true(strncmp(out, "leaf_function+0x0 (test_symbolize)", 34) == 0);
	free(out);
	pid = symbolizer__worker_pid(s);
	assert_true(pid > 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	usleep(1100 * 1000); /* past the backoff of the first start */
	out = resolve_one(s, addr, false);
	assert_true(strncmp(out, "leaf_function+0x0 (test_symbolize)", 34) == 0);
	free(out);
	pid2 = symbolizer__worker_pid(s);
	assert_true(pid2 > 0 && pid2 != pid);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1); /* the dead one was reaped */
	symbolizer__stats(s, &st);
	assert_int_equal(st.worker_restarts, 1);
	assert_int_equal(st.timeouts, 0);
	assert_int_equal(st.files, 1); /* read again by the fresh helper */

	/* killed again and asked at once: an answer, no crash, and no SIGPIPE */
	assert_int_equal(kill(pid2, SIGKILL), 0);
	usleep(50 * 1000);
	out = resolve_one(s, addr, false);
	assert_non_null(strstr(out, "(test_symbolize)"));
	free(out);
	symbolizer__stats(s, &st);
	assert_int_equal(st.worker_restarts, 2);
	symbolizer__free(s);
}

/* The in-process path (tests, fuzzing) reads the same way. */
static void test_in_process(void **state)
{
	struct symbolizer_opts in_process = { .in_process = true };
	struct symbolizer *s = symbolizer__new_opts(&in_process);
	char *out;

	(void)state;
	assert_non_null(s);
	assert_int_equal(symbolizer__worker_pid(s), 0);
	out = resolve_one(s, (__u64)(uintptr_t)&leaf_function, false);
	assert_true(strncmp(out, "leaf_function+0x0 (test_symbolize)", 34) == 0);
	free(out);
	out = resolve_one(s, (__u64)(uintptr_t)zlib_function(), false);
	assert_true(strncmp(out, "zlibVersion+0x0", 15) == 0);
	free(out);
	symbolizer__free(s);
}

/* libstdc++'s operator new, demangled in the helper (and in process). */
static void test_cxx_names_are_demangled(void **state)
{
	struct symbolizer_opts in_process = { .in_process = true };
	const struct symbolizer_opts *modes[2] = { NULL, &in_process };
	void *lib = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
	void *fn = lib ? dlsym(lib, "_Znwm") : NULL;
	struct symbolizer *s;
	char *out;
	int i;

	(void)state;
	assert_non_null(fn);
	for (i = 0; i < 2; i++) {
		s = symbolizer__new_opts(modes[i]);
		assert_non_null(s);
		out = resolve_one(s, (__u64)(uintptr_t)fn, false);
		assert_true(strncmp(out, "operator new(unsigned long)+0x0 (libstdc++.so.6", 47) ==
			    0);
		free(out);
		symbolizer__free(s);
	}
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Anonymous code named by /tmp/perf-PID.map; a miss re-reads it, at most once a second. */
static void test_jit_frames_from_perf_map(void **state)
{
	struct symbolizer *s = symbolizer__new();
	void *page = mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 base = (__u64)(uintptr_t)page;
	char path[64], text[256], expect[128], *out;

	(void)state;
	assert_non_null(s);
	assert_true(page != MAP_FAILED);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	snprintf(text, sizeof(text), "%llx 100 LazyCompile:*jitted_one /app.js:3\n",
		 (unsigned long long)base);
	write_text(path, text);
	out = resolve_one(s, base + 0x10, false);
	snprintf(expect, sizeof(expect), "LazyCompile:*jitted_one /app.js:3+0x10 (perf-%d.map)",
		 (int)getpid());
	assert_string_equal(out, expect);
	free(out);
	/* a return address names the call: one byte before */
	out = resolve_one(s, base + 0x100, true);
	assert_non_null(strstr(out, "jitted_one /app.js:3+0x100 (perf-"));
	free(out);
	/* newly jitted code: not re-read within the second, then found */
	snprintf(text, sizeof(text),
		 "%llx 100 LazyCompile:*jitted_one /app.js:3\n0x%llx 0x80 jitted_two\n",
		 (unsigned long long)base, (unsigned long long)base + 0x1000);
	write_text(path, text);
	out = resolve_one(s, base + 0x1004, false);
	snprintf(expect, sizeof(expect), "0x%llx", (unsigned long long)base + 0x1004);
	assert_string_equal(out, expect);
	free(out);
	usleep(1100 * 1000);
	out = resolve_one(s, base + 0x1004, false);
	snprintf(expect, sizeof(expect), "jitted_two+0x4 (perf-%d.map)", (int)getpid());
	assert_string_equal(out, expect);
	free(out);
	/* read on from where it stopped; a map that shrank is read again whole */
	usleep(1100 * 1000);
	snprintf(text, sizeof(text), "%llx 10 jitted_three\n", (unsigned long long)base + 0x1800);
	write_text(path, text);
	out = resolve_one(s, base + 0x1801, false);
	snprintf(expect, sizeof(expect), "jitted_three+0x1 (perf-%d.map)", (int)getpid());
	assert_string_equal(out, expect);
	free(out);
	out = resolve_one(s, base + 0x10, false);
	snprintf(expect, sizeof(expect), "0x%llx", (unsigned long long)base + 0x10);
	assert_string_equal(out, expect);
	free(out);
	unlink(path);
	munmap(page, 8192);
	symbolizer__free(s);
}

/*
 * A committed ELF seed of tests/fuzz/corpus/elf/ (malloc'd): from the repository's
 * root, where `make test` runs, else from beside the binary (BUILD/tests/).
 */
static void *read_seed(const char *name, size_t *len)
{
	char path[4096], exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f;
	void *buf;
	long size;

	snprintf(path, sizeof(path), "tests/fuzz/corpus/elf/%s", name);
	f = fopen(path, "rbe");
	if (!f && n > 0) {
		exe[n] = '\0';
		snprintf(path, sizeof(path), "%s/../../tests/fuzz/corpus/elf/%s", dirname(exe),
			 name);
		f = fopen(path, "rbe");
	}
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size > 0);
	rewind(f);
	buf = malloc((size_t)size);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*len = (size_t)size;
	return buf;
}

/*
 * Names the helper makes from an image: C++ and Rust symbols demangled, and
 * a Go function from .gopclntab when there is no .symtab (the fuzz seeds:
 * tiny C++ and "Rust" libraries, their symbols named so by asm labels (one
 * C++ name whose demangled form runs past 4 KiB); a
 * stripped library given a Go 1.20 table whose functions start at .text,
 * 0x1020).
 */
static void test_image_names(void **state)
{
	__u64 cxx_off = 0x1000, go_offs[3] = { 0x1020, 0x1028, 0x1061 };
	char *out[3];
	size_t len, i;
	void *image;

	(void)state;
	image = read_seed("cxx_mangled_symbol", &len);
	assert_int_equal(symbolizer__resolve_image(image, len, &cxx_off, 1, out), 0);
	assert_string_equal(out[0], "cache::Pool<int>::grow(unsigned long)+0x0 (image)");
	free(out[0]);
	/* 1014 mangled bytes that demangle to 6,620: cut at 4 KiB, and said so */
	image = read_seed("cxx_name_demangling_past_4k", &len);
	assert_int_equal(symbolizer__resolve_image(image, len, &cxx_off, 1, out), 0);
	assert_true(strncmp(out[0], "f(aaaaaaaa::bbbbbbbb, aaaaaaaa::bbbbbbbb, ", 42) == 0);
	assert_int_equal(strlen(out[0]), 4096 + strlen("+0x0 (image)"));
	assert_string_equal(out[0] + 4096 - 3, "...+0x0 (image)");
	free(out[0]);
	/* Rust: v0 (_RNvNtCs1234_7mycrate5cache8leaky_fn) and legacy (_ZN...17h<hash>E) */
	image = read_seed("rust_mangled_symbols", &len);
	go_offs[0] = 0x1000;
	go_offs[1] = 0x1010;
	assert_int_equal(symbolizer__resolve_image(image, len, go_offs, 2, out), 0);
	assert_string_equal(out[0], "mycrate::cache::leaky_fn+0x0 (image)");
	assert_string_equal(out[1], "mycrate::cache::put+0x0 (image)");
	free(out[0]);
	free(out[1]);
	go_offs[0] = 0x1020;
	go_offs[1] = 0x1028;
	image = read_seed("stripped_with_gopclntab", &len);
	assert_int_equal(symbolizer__resolve_image(image, len, go_offs, 3, out), 0);
	/* its line tables too: main.go, line 10 for main.main's first 0x10 bytes */
	assert_string_equal(out[0], "main.main+0x0 (image) main.go:10");
	assert_string_equal(out[1], "main.main+0x8 (image) main.go:10");
	/* past the text PT_LOAD (0x29 bytes): no address of the file, placed by its offset */
	assert_string_equal(out[2], "image+0x1061 (image)");
	for (i = 0; i < 3; i++)
		free(out[i]);
}

/* Parent-side cost of one request: cold (the file read and parsed) and warm. */
static void test_request_cost(void **state)
{
	struct symbolizer_opts in_process = { .in_process = true };
	const struct symbolizer_opts *modes[2] = { NULL, &in_process };
	__u64 addr = (__u64)(uintptr_t)zlib_function();
	struct timespec t0;
	double cold, warm;
	char *out;
	int m, i;

	(void)state;
	for (m = 0; m < 2; m++) {
		struct symbolizer *s = symbolizer__new_opts(modes[m]);

		assert_non_null(s);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		free(resolve_one(s, addr, false));
		cold = elapsed_ms(&t0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < 1000; i++) {
			assert_int_equal(symbolizer__resolve_one(s, getpid(), addr + (i & 15),
								 false, &out),
					 0);
			free(out);
		}
		warm = elapsed_ms(&t0) / 1000;
		print_message("  %s: cold %.3f ms, warm %.1f us per request\n",
			      m ? "in process" : "helper", cold, warm * 1000);
		symbolizer__free(s);
	}
}

/*
 * MEMOBS_TEST_SYMBOLIZE="pid addr [addr...]" (tests/e2e/test_symbolize_container.py,
 * as root): resolves addresses of another process, one line each, exact IPs.
 */
static int resolve_from_env(const char *spec)
{
	struct symbolizer *s = symbolizer__new();
	char *copy = strdup(spec), *save = NULL, *tok, *out;
	int pid, err = 0;

	if (!s || !copy)
		return 1;
	tok = strtok_r(copy, " ", &save);
	pid = tok ? atoi(tok) : 0;
	while ((tok = strtok_r(NULL, " ", &save))) {
		err = symbolizer__resolve_one(s, pid, strtoull(tok, NULL, 0), false, &out);
		if (err)
			break;
		printf("%s\n", out);
		free(out);
	}
	free(copy);
	symbolizer__free(s);
	return err ? 1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_function_with_line),
		cmocka_unit_test(test_return_address_names_the_call),
		cmocka_unit_test(test_library_and_batch),
		cmocka_unit_test(test_dlopen_after_first_use),
		cmocka_unit_test(test_forget_and_gone),
		cmocka_unit_test(test_no_file_stays_mapped),
		cmocka_unit_test(test_cache_is_bounded),
		cmocka_unit_test(test_pids_are_bounded),
		cmocka_unit_test(test_image_from_memory),
		cmocka_unit_test(test_image_names),
		cmocka_unit_test(test_helper_has_no_capabilities),
		cmocka_unit_test(test_hung_helper_meets_the_deadline),
		cmocka_unit_test(test_killed_helper_is_replaced),
		cmocka_unit_test(test_in_process),
		cmocka_unit_test(test_cxx_names_are_demangled),
		cmocka_unit_test(test_jit_frames_from_perf_map),
		cmocka_unit_test(test_request_cost),
	};
	const char *spec = getenv("MEMOBS_TEST_SYMBOLIZE");

	if (spec)
		return resolve_from_env(spec);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
