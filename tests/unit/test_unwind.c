// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The CFI unwinder (user/attribute/unwind.c): DWARF expressions, rule
 * steps and walks over stacks built here, then a walk of this test's own
 * stack (built with -O2: no frame pointers) with the rules libdw reads from
 * its own binary and libc, through the symbolizer, both in process and in
 * the helper.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dwarf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "attribute/symbolize.h"
#include "attribute/unwind.h"

#define BASE 0x7ffc0000ULL

static struct cfi_op op(__u8 atom, __s64 number)
{
	struct cfi_op o = { .atom = atom, .number = number };

	return o;
}

/* CFA = reg + off; RA at CFA - 8; the other slots as given */
static struct cfi_row simple_row(int cfa_reg, __s64 off)
{
	struct cfi_row row;

	memset(&row, 0, sizeof(row));
	row.cfa.nr = 1;
	row.cfa.ops[0] = op((__u8)(DW_OP_breg0 + cfa_reg), off);
	row.regs[CFI_SLOT_RA].kind = CFI_REG_AT;
	row.regs[CFI_SLOT_RA].nr = 2;
	row.regs[CFI_SLOT_RA].ops[0] = op(DW_OP_call_frame_cfa, 0);
	row.regs[CFI_SLOT_RA].ops[1] = op(DW_OP_plus_uconst, -8);
	row.regs[CFI_SLOT_SP].kind = CFI_REG_VALUE;
	row.regs[CFI_SLOT_SP].nr = 1;
	row.regs[CFI_SLOT_SP].ops[0] = op(DW_OP_call_frame_cfa, 0);
	return row;
}

static void test_plt_expression(void **state)
{
	/* the CFA of a PLT entry (binutils' .eh_frame for .plt): rsp + 8 + 8 * ((rip & 15) >= 11) */
	struct cfi_op plt[] = {
		op(DW_OP_breg7, 8), op(DW_OP_breg16, 0), op(DW_OP_lit15, 0),
		op(DW_OP_and, 0),   op(DW_OP_lit11, 0),	 op(DW_OP_ge, 0),
		op(DW_OP_lit3, 0),  op(DW_OP_shl, 0),	 op(DW_OP_plus, 0),
	};
	struct unwind_regs regs = { .valid = (1U << 7) | (1U << 16) };
	struct unwind_mem mem = { 0 };
	__u64 v;

	(void)state;
	regs.r[7] = 0x1000;
	regs.r[16] = 0x40102c; /* & 15 = 12: after the push */
	assert_int_equal(unwind_eval(plt, 9, &regs, 0, false, &mem, &v), 0);
	assert_int_equal(v, 0x1010);
	regs.r[16] = 0x401025; /* & 15 = 5 */
	assert_int_equal(unwind_eval(plt, 9, &regs, 0, false, &mem, &v), 0);
	assert_int_equal(v, 0x1008);
}

static void test_eval_deref_and_bounds(void **state)
{
	__u64 stack[4] = { 11, 22, 33, 44 };
	struct unwind_mem mem = { .base = BASE, .data = (const __u8 *)stack, .len = sizeof(stack) };
	struct unwind_regs regs = { .valid = 1U << 7 };
	struct cfi_op at[] = { op(DW_OP_breg7, 16), op(DW_OP_deref, 0) };
	struct cfi_op past[] = { op(DW_OP_breg7, 32), op(DW_OP_deref, 0) };
	struct cfi_op straddle[] = { op(DW_OP_breg7, 28), op(DW_OP_deref, 0) };
	struct cfi_op below[] = { op(DW_OP_breg7, -8), op(DW_OP_deref, 0) };
	struct cfi_op value[] = { op(DW_OP_call_frame_cfa, 0), op(DW_OP_consts, -16),
				  op(DW_OP_plus, 0), op(DW_OP_stack_value, 0) };
	__u64 v;

	(void)state;
	regs.r[7] = BASE;
	assert_int_equal(unwind_eval(at, 2, &regs, 0, false, &mem, &v), 0);
	assert_int_equal(v, 33);
	assert_int_equal(unwind_eval(past, 2, &regs, 0, false, &mem, &v), -EFAULT);
	assert_int_equal(unwind_eval(straddle, 2, &regs, 0, false, &mem, &v), -EFAULT);
	assert_int_equal(unwind_eval(below, 2, &regs, 0, false, &mem, &v), -EFAULT);
	assert_int_equal(unwind_eval(value, 4, &regs, 0x2000, true, &mem, &v), 0);
	assert_int_equal(v, 0x1ff0);
	/* the CFA is not known while the CFA is computed */
	assert_int_equal(unwind_eval(value, 4, &regs, 0, false, &mem, &v), -EINVAL);
}

static void test_eval_rejects(void **state)
{
	struct unwind_regs regs = { .valid = 1U << 7 };
	struct unwind_mem mem = { 0 };
	struct cfi_op underflow[] = { op(DW_OP_lit1, 0), op(DW_OP_plus, 0) };
	struct cfi_op unknown_reg[] = { op(DW_OP_breg3, 0) };
	struct cfi_op unknown_op[] = { op(DW_OP_GNU_entry_value, 0) };
	struct cfi_op deep[CFI_EXPR_MAX];
	struct cfi_row row = simple_row(7, 8);
	__u64 v;
	size_t i;

	(void)state;
	assert_int_equal(unwind_eval(underflow, 2, &regs, 0, false, &mem, &v), -EINVAL);
	assert_int_equal(unwind_eval(unknown_reg, 1, &regs, 0, false, &mem, &v), -EINVAL);
	assert_int_equal(unwind_eval(unknown_op, 1, &regs, 0, false, &mem, &v), -EINVAL);
	assert_int_equal(unwind_eval(underflow, 0, &regs, 0, false, &mem, &v), -EINVAL);
	assert_int_equal(unwind_eval(underflow, CFI_EXPR_MAX + 1, &regs, 0, false, &mem, &v),
			 -EINVAL);
	for (i = 0; i < CFI_EXPR_MAX; i++)
		deep[i] = op(DW_OP_lit1, 0); /* 12 pushes: within the 16-value stack */
	assert_int_equal(unwind_eval(deep, CFI_EXPR_MAX, &regs, 0, false, &mem, &v), 0);
	/* rows from the helper are checked like input */
	assert_true(cfi_row__valid(&row));
	row.regs[CFI_SLOT_BX].kind = 9;
	assert_false(cfi_row__valid(&row));
	row = simple_row(7, 8);
	row.cfa.nr = CFI_EXPR_MAX + 1;
	assert_false(cfi_row__valid(&row));
	row = simple_row(7, 8);
	row.regs[CFI_SLOT_RA].nr = CFI_REG_EXPR_MAX + 1;
	assert_false(cfi_row__valid(&row));
	row = simple_row(7, 8);
	row.cfa.ops[0].atom = DW_OP_GNU_entry_value;
	assert_false(cfi_row__valid(&row));
}

static void test_step_restores_saved_registers(void **state)
{
	/* a frame that pushed rbx and rbp: CFA = rsp + 24, rbp at CFA-16, rbx at CFA-24 */
	__u64 stack[3] = { 0xbbbb, 0xdddd, 0x401234 };
	struct unwind_mem mem = { .base = BASE, .data = (const __u8 *)stack, .len = sizeof(stack) };
	struct unwind_regs in = { .valid = (1U << 7) | (1U << 3) | (1U << 6) | (1U << 12) }, out;
	struct cfi_row row = simple_row(7, 24);

	(void)state;
	in.r[7] = BASE;
	in.r[3] = 1;
	in.r[6] = 2;
	in.r[12] = 0x1212;
	row.regs[CFI_SLOT_BP].kind = CFI_REG_AT;
	row.regs[CFI_SLOT_BP].nr = 2;
	row.regs[CFI_SLOT_BP].ops[0] = op(DW_OP_call_frame_cfa, 0);
	row.regs[CFI_SLOT_BP].ops[1] = op(DW_OP_plus_uconst, -16);
	row.regs[CFI_SLOT_BX].kind = CFI_REG_AT;
	row.regs[CFI_SLOT_BX].nr = 2;
	row.regs[CFI_SLOT_BX].ops[0] = op(DW_OP_call_frame_cfa, 0);
	row.regs[CFI_SLOT_BX].ops[1] = op(DW_OP_plus_uconst, -24);
	row.regs[CFI_SLOT_R13].kind = CFI_REG_UNDEFINED;
	assert_int_equal(unwind_step_cfi(&row, &in, &mem, &out), 0);
	assert_int_equal(out.r[7], BASE + 24);
	assert_int_equal(out.r[16], 0x401234);
	assert_int_equal(out.r[6], 0xdddd);
	assert_int_equal(out.r[3], 0xbbbb);
	assert_int_equal(out.r[12], 0x1212); /* same value */
	assert_false(out.valid & (1U << 13));
}

/* A table of rows by exact pc, for the walks below. */
struct fake_rows {
	__u64 pc[8];
	struct cfi_row row[8];
	size_t nr;
	size_t asked;
};

static int fake_row_of(void *ctx, __u64 pc, struct cfi_row *row)
{
	struct fake_rows *t = ctx;
	size_t i;

	t->asked++;
	for (i = 0; i < t->nr; i++) {
		if (t->pc[i] == pc) {
			*row = t->row[i];
			return 0;
		}
	}
	return -ENOENT;
}

static void add_row(struct fake_rows *t, __u64 pc, struct cfi_row row)
{
	t->pc[t->nr] = pc;
	t->row[t->nr++] = row;
}

/*
 * malloc's entry (no rule: RA at [rsp]) -> A (CFI: CFA = rsp + 24) -> B (no
 * rule: the frame-pointer chain) -> C (CFI: RA undefined, the outermost).
 */
static void build_three_frames(__u64 *stack, struct fake_rows *t, struct unwind_regs *regs)
{
	struct cfi_row outermost = simple_row(7, 16);

	memset(stack, 0, 32 * sizeof(*stack));
	stack[0] = 0x400210; /* [rsp] at malloc's entry: into A */
	/* A's frame: 16 bytes of locals then its return address, into B */
	stack[3] = 0x400310;
	/* B keeps a frame pointer: rbp = BASE + 8 * 6 -> [saved rbp, return into C] */
	stack[6] = BASE + 8 * 12;
	stack[7] = 0x400410;
	memset(t, 0, sizeof(*t));
	add_row(t, 0x400210 - 1, simple_row(7, 24));
	outermost.regs[CFI_SLOT_RA].kind = CFI_REG_UNDEFINED;
	add_row(t, 0x400410 - 1, outermost);
	memset(regs, 0, sizeof(*regs));
	regs->r[16] = 0x400100; /* the probe, at malloc's first instruction */
	regs->r[7] = BASE;
	regs->r[6] = BASE + 8 * 6; /* A does not touch rbp: B's chain is live */
	regs->valid = (1U << 16) | (1U << 7) | (1U << 6);
}

static void test_walk_mixes_cfi_and_frame_pointers(void **state)
{
	__u64 stack[32];
	struct unwind_mem mem = { .base = BASE, .data = (const __u8 *)stack, .len = sizeof(stack) };
	struct unwind_regs regs;
	struct unwind_result u;
	struct fake_rows t;

	(void)state;
	build_three_frames(stack, &t, &regs);
	unwind_walk(&regs, &mem, 64, fake_row_of, &t, &u);
	assert_int_equal(u.end, UNWIND_END_OUTERMOST);
	assert_int_equal(u.nr, 3);
	assert_int_equal(u.ips[0], 0x400210);
	assert_int_equal(u.ips[1], 0x400310);
	assert_int_equal(u.ips[2], 0x400410);
	assert_int_equal(u.cfi_frames, 2);
	assert_int_equal(u.fp_frames, 2); /* the entry's [rsp], B's chain */
	assert_int_equal(u.exact, 0);

	/* the same walk with room for two frames: truncated, and says so */
	unwind_walk(&regs, &mem, 2, fake_row_of, &t, &u);
	assert_int_equal(u.end, UNWIND_END_DEPTH);
	assert_int_equal(u.nr, 2);

	/* a copy that ends inside B's frame */
	mem.len = 7 * 8;
	unwind_walk(&regs, &mem, 64, fake_row_of, &t, &u);
	assert_int_equal(u.end, UNWIND_END_STACK);
	assert_int_equal(u.nr, 2);
}

static void test_walk_ends(void **state)
{
	__u64 stack[32];
	struct unwind_mem mem = { .base = BASE, .data = (const __u8 *)stack, .len = sizeof(stack) };
	struct unwind_regs regs;
	struct unwind_result u;
	struct fake_rows t;

	(void)state;
	/* B's frame pointer is 0 (the ABI's deepest-frame mark): whole */
	build_three_frames(stack, &t, &regs);
	regs.r[6] = 0;
	unwind_walk(&regs, &mem, 64, fake_row_of, &t, &u);
	assert_int_equal(u.end, UNWIND_END_OUTERMOST);
	assert_int_equal(u.nr, 2);

	/* no rule and a frame pointer below the stack pointer: no unwind information */
	build_three_frames(stack, &t, &regs);
	regs.r[6] = BASE - 64;
	unwind_walk(&regs, &mem, 64, fake_row_of, &t, &u);
	assert_int_equal(u.end, UNWIND_END_NO_INFO);
	assert_int_equal(u.end_pc, 0x400310);

	/* a rule that does not move the stack pointer up cannot loop */
	build_three_frames(stack, &t, &regs);
	t.row[0] = simple_row(7, 0);
	t.row[0].regs[CFI_SLOT_RA].ops[1] = op(DW_OP_plus_uconst, 0);
	stack[1] =
		0x400210; /* RA at CFA + 0 = the entry's rsp + 8: non-zero, so the check is the sp's */
	unwind_walk(&regs, &mem, 64, fake_row_of, &t, &u);
	assert_int_equal(u.end, UNWIND_END_BAD);

	/* a return address of 0 ends the walk */
	build_three_frames(stack, &t, &regs);
	stack[3] = 0;
	unwind_walk(&regs, &mem, 64, fake_row_of, &t, &u);
	assert_int_equal(u.end, UNWIND_END_OUTERMOST);
	assert_int_equal(u.nr, 1);
}

static void test_walk_signal_frame_is_exact(void **state)
{
	__u64 stack[32];
	struct unwind_mem mem = { .base = BASE, .data = (const __u8 *)stack, .len = sizeof(stack) };
	struct unwind_regs regs;
	struct unwind_result u;
	struct fake_rows t;
	struct cfi_row sig = simple_row(7, 24), outermost = simple_row(7, 16);

	(void)state;
	build_three_frames(stack, &t, &regs);
	t.nr = 0;
	sig.signal_frame = 1;
	add_row(&t, 0x400210 - 1, sig); /* A is __restore_rt: its caller's pc is exact */
	outermost.regs[CFI_SLOT_RA].kind = CFI_REG_UNDEFINED;
	add_row(&t, 0x400310, outermost); /* looked up at the pc itself, not pc - 1 */
	unwind_walk(&regs, &mem, 64, fake_row_of, &t, &u);
	assert_int_equal(u.end, UNWIND_END_OUTERMOST);
	assert_int_equal(u.nr, 2);
	assert_int_equal(u.exact, 1ULL << 1);
}

/* ---- this process's own stack, with its real CFI ---- */

struct captured {
	struct unwind_regs regs;
	__u8 stack[16384];
	size_t len;
};

/* The end of the mapping holding addr: a copy must not read past it. */
static __u64 mapping_end(__u64 addr)
{
	unsigned long start, end;
	char line[512];
	__u64 found = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && addr >= start && addr < end)
			found = end;
	fclose(f);
	return found;
}

/* What the BPF probe records, taken here: registers first, in one asm block. */
__attribute__((noinline)) static void capture(struct captured *c)
{
	__u64 ip, sp, bp, bx, r12, r13, r14, r15, end;

	asm volatile("lea 0(%%rip), %0\n\t"
		     "mov %%rsp, %1\n\t"
		     "mov %%rbp, %2\n\t"
		     "mov %%rbx, %3\n\t"
		     "mov %%r12, %4\n\t"
		     "mov %%r13, %5\n\t"
		     "mov %%r14, %6\n\t"
		     "mov %%r15, %7\n\t"
		     : "=&r"(ip), "=&r"(sp), "=&r"(bp), "=&r"(bx), "=&r"(r12), "=&r"(r13),
		       "=&r"(r14), "=&r"(r15));
	memset(&c->regs, 0, sizeof(c->regs));
	c->regs.r[16] = ip;
	c->regs.r[7] = sp;
	c->regs.r[6] = bp;
	c->regs.r[3] = bx;
	c->regs.r[12] = r12;
	c->regs.r[13] = r13;
	c->regs.r[14] = r14;
	c->regs.r[15] = r15;
	c->regs.valid = (1U << 16) | (1U << 7) | (1U << 6) | (1U << 3) | (0xfU << 12);
	end = mapping_end(sp);
	c->len = end - sp < sizeof(c->stack) ? end - sp : sizeof(c->stack);
	memcpy(c->stack, (const void *)(uintptr_t)sp, c->len);
}

__attribute__((noinline)) static int unwind_level3(struct captured *c)
{
	capture(c);
	asm volatile("" ::: "memory"); /* no tail call */
	return (int)c->len;
}

__attribute__((noinline)) static int unwind_level2(struct captured *c)
{
	int n = unwind_level3(c);

	asm volatile("" ::: "memory");
	return n + 1;
}

__attribute__((noinline)) static int unwind_level1(struct captured *c)
{
	int n = unwind_level2(c);

	asm volatile("" ::: "memory");
	return n + 1;
}

struct sym_ctx {
	struct symbolizer *s;
	struct sym_walk walk;
};

static int sym_row_of(void *ctx, __u64 pc, struct cfi_row *row)
{
	struct sym_ctx *c = ctx;

	return symbolizer__cfi_row(c->s, &c->walk, pc, row);
}

static size_t index_of(char **names, size_t nr, const char *prefix, size_t from)
{
	size_t i;

	for (i = from; i < nr; i++)
		if (!strncmp(names[i], prefix, strlen(prefix)))
			return i;
	return nr;
}

static void walk_own_stack(const struct symbolizer_opts *opts)
{
	static struct captured c;
	struct symbolizer *s = symbolizer__new_opts(opts);
	struct sym_ctx ctx = { .s = s, .walk = { .pid = getpid() } };
	struct unwind_mem mem;
	struct unwind_result u;
	char *names[UNWIND_MAX_FRAMES];
	size_t i, l3, l2, l1, m;

	assert_non_null(s);
	assert_true(unwind_level1(&c) > 2);
	mem = (struct unwind_mem){ .base = c.regs.r[7], .data = c.stack, .len = c.len };
	/* the walk starts inside capture(): its caller is the first return address */
	unwind_walk(&c.regs, &mem, 64, sym_row_of, &ctx, &u);
	print_message("  %zu frames (%zu by CFI, %zu by frame pointer), end: %s\n", u.nr,
		      u.cfi_frames, u.fp_frames, unwind_end__str(u.end));
	for (i = 0; i < u.nr; i++) {
		assert_int_equal(symbolizer__resolve_one(s, getpid(), u.ips[i], true, &names[i]),
				 0);
		print_message("    %s\n", names[i]);
	}
	assert_int_equal(u.end, UNWIND_END_OUTERMOST);
	l3 = index_of(names, u.nr, "unwind_level3", 0);
	l2 = index_of(names, u.nr, "unwind_level2", l3);
	l1 = index_of(names, u.nr, "unwind_level1", l2);
	m = index_of(names, u.nr, "main+", l1);
	assert_int_equal(l3, 0);
	assert_int_equal(l2, 1);
	assert_int_equal(l1, 2);
	assert_true(m < u.nr);
	assert_true(u.cfi_frames >= u.nr - 1); /* -O2 code: no frame pointer to follow */
	for (i = 0; i < u.nr; i++)
		free(names[i]);
	symbolizer__free(s);
}

static void test_own_stack_in_process(void **state)
{
	struct symbolizer_opts opts = { .in_process = true };

	(void)state;
	walk_own_stack(&opts);
}

static void test_own_stack_through_helper(void **state)
{
	(void)state;
	walk_own_stack(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plt_expression),
		cmocka_unit_test(test_eval_deref_and_bounds),
		cmocka_unit_test(test_eval_rejects),
		cmocka_unit_test(test_step_restores_saved_registers),
		cmocka_unit_test(test_walk_mixes_cfi_and_frame_pointers),
		cmocka_unit_test(test_walk_ends),
		cmocka_unit_test(test_walk_signal_frame_is_exact),
		cmocka_unit_test(test_own_stack_in_process),
		cmocka_unit_test(test_own_stack_through_helper),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
