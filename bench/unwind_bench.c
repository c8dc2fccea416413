// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The user-space half of CFI unwinding (docs/unwinding.md), measured on a
 * real stack: this program calls through N shared libraries (bench/unwind.sh
 * builds them, each distinct), copies its own stack and registers at the
 * deepest call as the BPF probe does, then unwinds the copy with the rules
 * libdw reads from the libraries, through the symbolizer's helper, as
 * memobs does. Prints one line of figures:
 *   frames, cold_us (first walk: every file read and parsed, every rule
 *   fetched), warm_ns (a walk with every rule cached), cache_bytes,
 *   image_bytes (the ELF copies the symbolizer holds), files.
 *
 *   unwind_bench LIB...   (each LIB defines `int hop(int (*next)(int), int)`)
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "attribute/symbolize.h"
#include "attribute/unwind.h"

#define MAX_LIBS 64
#define WARM_WALKS 20000

typedef int (*hop_fn)(int (*next)(int), int);

static hop_fn hops[MAX_LIBS];
static int nr_hops;
static struct unwind_regs regs;
static __u8 stack_copy[16384];
static size_t stack_len;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static __u64 mapping_end(__u64 addr)
{
	unsigned long start, end;
	char line[512];
	__u64 found = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && addr >= start && addr < end)
			found = end;
	if (f)
		fclose(f);
	return found;
}

__attribute__((noinline)) static void capture(void)
{
	__u64 ip, sp, bp, bx, r12, r13, r14, r15, end;

	asm volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2\n\tmov %%rbx, %3\n\t"
		     "mov %%r12, %4\n\tmov %%r13, %5\n\tmov %%r14, %6\n\tmov %%r15, %7\n\t"
		     : "=&r"(ip), "=&r"(sp), "=&r"(bp), "=&r"(bx), "=&r"(r12), "=&r"(r13),
		       "=&r"(r14), "=&r"(r15));
	regs.r[16] = ip;
	regs.r[7] = sp;
	regs.r[6] = bp;
	regs.r[3] = bx;
	regs.r[12] = r12;
	regs.r[13] = r13;
	regs.r[14] = r14;
	regs.r[15] = r15;
	regs.valid = (1U << 16) | (1U << 7) | (1U << 6) | (1U << 3) | (0xfU << 12);
	end = mapping_end(sp);
	stack_len = end - sp < sizeof(stack_copy) ? end - sp : sizeof(stack_copy);
	memcpy(stack_copy, (const void *)(uintptr_t)sp, stack_len);
}

/* Library i calls next(i + 1): the chain goes through every library, then captures. */
static int next_hop(int i)
{
	if (i >= nr_hops) {
		capture();
		return 1;
	}
	return hops[i](next_hop, i + 1) + 1;
}

struct ctx {
	struct symbolizer *s;
	struct sym_walk walk;
};

static int row_of(void *arg, __u64 pc, struct cfi_row *row)
{
	struct ctx *c = arg;

	return symbolizer__cfi_row(c->s, &c->walk, pc, row);
}

int main(int argc, char **argv)
{
	struct ctx c = { 0 };
	struct unwind_mem mem;
	struct unwind_result u;
	struct symbolizer_stats st;
	double t0, cold, warm;
	int i;

	for (i = 1; i < argc && nr_hops < MAX_LIBS; i++) {
		void *h = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);

		if (!h || !(hops[nr_hops] = (hop_fn)dlsym(h, "hop"))) {
			fprintf(stderr, "unwind_bench: %s: %s\n", argv[i], dlerror());
			return 1;
		}
		nr_hops++;
	}
	if (next_hop(0) != nr_hops + 1)
		return 1;
	c.s = symbolizer__new();
	c.walk.pid = getpid();
	if (!c.s) {
		perror("unwind_bench: symbolizer");
		return 1;
	}
	mem = (struct unwind_mem){ .base = regs.r[7], .data = stack_copy, .len = stack_len };
	t0 = now_ns();
	unwind_walk(&regs, &mem, 128, row_of, &c, &u);
	cold = now_ns() - t0;
	t0 = now_ns();
	for (i = 0; i < WARM_WALKS; i++) {
		c.walk = (struct sym_walk){ .pid = getpid() };
		unwind_walk(&regs, &mem, 128, row_of, &c, &u);
	}
	warm = (now_ns() - t0) / WARM_WALKS;
	symbolizer__stats(c.s, &st);
	printf("libs %d frames %zu end %s cfi_frames %zu fp_frames %zu cold_us %.0f warm_ns %.0f "
	       "cache_bytes %llu image_bytes %llu files %llu\n",
	       nr_hops, u.nr, unwind_end__str(u.end), u.cfi_frames, u.fp_frames, cold / 1e3, warm,
	       (unsigned long long)st.cfi_cache_bytes, (unsigned long long)st.image_bytes,
	       (unsigned long long)st.files);
	symbolizer__free(c.s);
	return u.end == UNWIND_END_OUTERMOST ? 0 : 2;
}
