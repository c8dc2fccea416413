/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unwinding a copied user stack with CFI rules (docs/unwinding.md): pure
 * code, no libdw. The rules come from the modules' .eh_frame/.debug_frame,
 * read by libdw in the symbolizer's helper (symbolize_cfi.c) and shipped
 * here as a struct cfi_row: the DWARF expressions of the CFA and of the
 * caller's registers at one pc. This file evaluates them against the
 * registers and the stack bytes the BPF probe copied (memobs_ustack_rec)
 * and walks frame by frame:
 *
 *   - a frame whose pc has a rule: the rule (PLT stubs and signal frames
 *     are expressions like any other);
 *   - the first frame without one (the probe sits where rsp is untouched,
 *     attr_probes.c): the return address is at [rsp];
 *   - a later frame without one (JIT code, a module without CFI): the
 *     frame-pointer chain, [rbp] and [rbp + 8];
 *   - the end: the return address is undefined (_start, clone3's child,
 *     marked so by glibc's CFI) or 0.
 *
 * Every read is of the copy: an address outside it ends the walk
 * (UNWIND_END_STACK), so a hostile stack or rule can make a wrong stack,
 * never a read outside memory the caller gave. Each step must move the
 * stack pointer up, so the walk ends.
 *
 * Registers are numbered as DWARF numbers them on x86-64: 0 rax, 1 rdx,
 * 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8-15 r8-r15, 16 the return
 * address (rip).
 */
#ifndef MEMOBS_UNWIND_H
#define MEMOBS_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define UNWIND_NR_REGS 17
#define UNWIND_REG_BX 3
#define UNWIND_REG_BP 6
#define UNWIND_REG_SP 7
#define UNWIND_REG_RA 16
/* the frames a walk returns at most (the 64, and room past it) */
#define UNWIND_MAX_FRAMES 128

/* One operation of a DWARF expression: DW_OP_* and its operand. */
struct cfi_op {
	__u8 atom;
	__u8 pad[7];
	__s64 number; /* bregN: the offset; constants: the value; plus_uconst: the addend */
};

#define CFI_EXPR_MAX 12
struct cfi_expr {
	__u32 nr; /* 0: none */
	__u32 pad;
	struct cfi_op ops[CFI_EXPR_MAX];
};

enum cfi_reg_kind {
	CFI_REG_SAME = 0,  /* the caller's value is this frame's */
	CFI_REG_UNDEFINED, /* lost (call-clobbered); the return address: the outermost frame */
	CFI_REG_AT,	   /* saved at the address the expression computes */
	CFI_REG_VALUE,	   /* the expression computes the value itself */
};

/* The registers a row gives rules for: rbx, rbp, rsp, r12-r15, the return address. */
enum cfi_slot {
	CFI_SLOT_BX = 0,
	CFI_SLOT_BP,
	CFI_SLOT_SP,
	CFI_SLOT_R12,
	CFI_SLOT_R13,
	CFI_SLOT_R14,
	CFI_SLOT_R15,
	CFI_SLOT_RA,
	CFI_SLOT_NR,
};

/* register rules are short: CFA + offset, or rsp + offset in a signal frame */
#define CFI_REG_EXPR_MAX 4
struct cfi_reg_rule {
	__u32 kind; /* enum cfi_reg_kind */
	__u32 nr;   /* ops of the expression (CFI_REG_AT, CFI_REG_VALUE) */
	struct cfi_op ops[CFI_REG_EXPR_MAX];
};

struct cfi_row {
	__u32 signal_frame; /* the frame of a signal handler's return: its caller's pc is exact */
	__u32 pad;
	struct cfi_expr cfa;
	struct cfi_reg_rule regs[CFI_SLOT_NR];
};

struct unwind_regs {
	__u64 r[UNWIND_NR_REGS];
	__u32 valid; /* bit n: r[n] is known */
};

/* The stack bytes copied from base (the probe's rsp) up. */
struct unwind_mem {
	__u64 base;
	const __u8 *data;
	size_t len;
};

enum unwind_end {
	UNWIND_END_OUTERMOST = 0, /* the return address is undefined or 0: the walk is whole */
	UNWIND_END_STACK,	  /* a read fell outside the stack copy: truncated */
	UNWIND_END_DEPTH,	  /* max frames */
	UNWIND_END_NO_INFO,	  /* no rule and no frame pointer to follow */
	UNWIND_END_BAD,		  /* a rule failed, or the stack pointer did not move up */
};

/*
 * The rule at pc (an exact address: callers of return addresses pass
 * ra - 1): 0, -ENOENT when there is none (no module, no CFI there), other
 * negative errors as -ENOENT.
 */
typedef int (*unwind_row_fn)(void *ctx, __u64 pc, struct cfi_row *row);

struct unwind_result {
	__u64 ips[UNWIND_MAX_FRAMES]; /* the return addresses, the direct caller's first */
	size_t nr;
	__u64 exact; /* bit i (i < 64): ips[i] is an exact pc (after a signal frame) */
	enum unwind_end end;
	__u64 end_pc;		      /* UNWIND_END_NO_INFO: the pc that had no rule */
	size_t cfi_frames, fp_frames; /* how each step was made */
};

/* The value of ops (cfa: DW_OP_call_frame_cfa's value, cfa_known: whether it has one). */
int unwind_eval(const struct cfi_op *ops, size_t nr, const struct unwind_regs *regs, __u64 cfa,
		bool cfa_known, const struct unwind_mem *mem, __u64 *out);
/* The caller's registers from this frame's and its rule: 0 or -EFAULT (outside the copy), -EINVAL. */
int unwind_step_cfi(const struct cfi_row *row, const struct unwind_regs *in,
		    const struct unwind_mem *mem, struct unwind_regs *out);
/* Walks up to max frames (at most UNWIND_MAX_FRAMES) from regs (the probe's, inside the hooked function). */
void unwind_walk(const struct unwind_regs *regs, const struct unwind_mem *mem, size_t max,
		 unwind_row_fn row_of, void *ctx, struct unwind_result *out);
/*
 * The same from a pc inside a function body (a faulting instruction): that
 * pc is the first frame (exact), and a frame without a rule steps by the
 * frame-pointer chain, never by [rsp].
 */
void unwind_walk_from_pc(const struct unwind_regs *regs, const struct unwind_mem *mem, size_t max,
			 unwind_row_fn row_of, void *ctx, struct unwind_result *out);
/* A row's operands are the helper's to choose: rejects what the evaluator would not take. */
bool cfi_row__valid(const struct cfi_row *row);
const char *unwind_end__str(enum unwind_end end);

#endif /* MEMOBS_UNWIND_H */
