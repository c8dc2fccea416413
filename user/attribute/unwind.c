// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dwarf.h>
#include <errno.h>
#include <string.h>
#include "attribute/unwind.h"

#define EVAL_STACK_MAX 16

/* DWARF register number of each cfi_slot */
static const int slot_reg[CFI_SLOT_NR] = {
	[CFI_SLOT_BX] = 3,   [CFI_SLOT_BP] = 6,	  [CFI_SLOT_SP] = 7,   [CFI_SLOT_R12] = 12,
	[CFI_SLOT_R13] = 13, [CFI_SLOT_R14] = 14, [CFI_SLOT_R15] = 15, [CFI_SLOT_RA] = 16,
};

static int mem_read(const struct unwind_mem *mem, __u64 addr, __u64 *out)
{
	if (addr < mem->base || addr - mem->base > mem->len || mem->len - (addr - mem->base) < 8)
		return -EFAULT;
	memcpy(out, mem->data + (addr - mem->base), sizeof(*out));
	return 0;
}

static bool reg_known(const struct unwind_regs *regs, unsigned int reg)
{
	return reg < UNWIND_NR_REGS && (regs->valid & (1U << reg));
}

/* The binary operators: a = a OP b (a pushed first). */
static int binary_op(__u8 atom, __u64 a, __u64 b, __u64 *out)
{
	switch (atom) {
	case DW_OP_plus:
		*out = a + b;
		break;
	case DW_OP_minus:
		*out = a - b;
		break;
	case DW_OP_mul:
		*out = a * b;
		break;
	case DW_OP_and:
		*out = a & b;
		break;
	case DW_OP_or:
		*out = a | b;
		break;
	case DW_OP_xor:
		*out = a ^ b;
		break;
	case DW_OP_shl:
		*out = b < 64 ? a << b : 0;
		break;
	case DW_OP_shr:
		*out = b < 64 ? a >> b : 0;
		break;
	case DW_OP_shra:
		*out = (__u64)((__s64)a >> (b < 63 ? b : 63));
		break;
	case DW_OP_ge:
		*out = (__s64)a >= (__s64)b;
		break;
	case DW_OP_gt:
		*out = (__s64)a > (__s64)b;
		break;
	case DW_OP_le:
		*out = (__s64)a <= (__s64)b;
		break;
	case DW_OP_lt:
		*out = (__s64)a < (__s64)b;
		break;
	case DW_OP_eq:
		*out = a == b;
		break;
	case DW_OP_ne:
		*out = a != b;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static bool is_binary(__u8 atom)
{
	__u64 ignored;

	return !binary_op(atom, 0, 0, &ignored);
}

/* One operation on the evaluation stack st of *depth values. */
static int eval_op(const struct cfi_op *op, const struct unwind_regs *regs, __u64 cfa,
		   bool cfa_known, const struct unwind_mem *mem, __u64 *st, size_t *depth)
{
	__u8 atom = op->atom;
	size_t n = *depth;
	__u64 v;
	int err;

	if (atom >= DW_OP_lit0 && atom <= DW_OP_lit31) {
		v = atom - DW_OP_lit0;
	} else if (atom >= DW_OP_breg0 && atom <= DW_OP_breg31) {
		if (!reg_known(regs, atom - DW_OP_breg0))
			return -EINVAL;
		v = regs->r[atom - DW_OP_breg0] + (__u64)op->number;
	} else {
		switch (atom) {
		case DW_OP_const1u:
		case DW_OP_const1s:
		case DW_OP_const2u:
		case DW_OP_const2s:
		case DW_OP_const4u:
		case DW_OP_const4s:
		case DW_OP_const8u:
		case DW_OP_const8s:
		case DW_OP_constu:
		case DW_OP_consts:
			v = (__u64)op->number;
			break;
		case DW_OP_call_frame_cfa:
			if (!cfa_known)
				return -EINVAL;
			v = cfa;
			break;
		case DW_OP_plus_uconst:
			if (!n)
				return -EINVAL;
			st[n - 1] += (__u64)op->number;
			return 0;
		case DW_OP_deref:
			if (!n)
				return -EINVAL;
			return mem_read(mem, st[n - 1], &st[n - 1]);
		case DW_OP_neg:
		case DW_OP_not:
		case DW_OP_abs:
			if (!n)
				return -EINVAL;
			v = st[n - 1];
			st[n - 1] = atom == DW_OP_neg	? -v
				    : atom == DW_OP_not ? ~v
				    : (__s64)v < 0	? -v
							: v;
			return 0;
		case DW_OP_dup:
		case DW_OP_over:
			if (n < (atom == DW_OP_dup ? 1U : 2U))
				return -EINVAL;
			v = st[n - (atom == DW_OP_dup ? 1 : 2)];
			break;
		case DW_OP_drop:
			if (!n)
				return -EINVAL;
			*depth = n - 1;
			return 0;
		case DW_OP_swap:
			if (n < 2)
				return -EINVAL;
			v = st[n - 1];
			st[n - 1] = st[n - 2];
			st[n - 2] = v;
			return 0;
		case DW_OP_nop:
			return 0;
		default:
			if (!is_binary(atom) || n < 2)
				return -EINVAL;
			err = binary_op(atom, st[n - 2], st[n - 1], &st[n - 2]);
			*depth = n - 1;
			return err;
		}
	}
	if (n >= EVAL_STACK_MAX)
		return -EINVAL;
	st[n] = v;
	*depth = n + 1;
	return 0;
}

int unwind_eval(const struct cfi_op *ops, size_t nr, const struct unwind_regs *regs, __u64 cfa,
		bool cfa_known, const struct unwind_mem *mem, __u64 *out)
{
	__u64 st[EVAL_STACK_MAX];
	size_t depth = 0, i;
	int err;

	if (!nr || nr > CFI_EXPR_MAX)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		/* DW_OP_stack_value ends a location: the value is the result */
		if (ops[i].atom == DW_OP_stack_value && i == nr - 1)
			break;
		if ((err = eval_op(&ops[i], regs, cfa, cfa_known, mem, st, &depth)))
			return err;
	}
	if (!depth)
		return -EINVAL;
	*out = st[depth - 1];
	return 0;
}

static bool ops_valid(const struct cfi_op *ops, size_t nr, size_t max)
{
	size_t i;

	if (nr > max)
		return false;
	for (i = 0; i < nr; i++) {
		__u8 atom = ops[i].atom;
		bool known = (atom >= DW_OP_lit0 && atom <= DW_OP_lit31) ||
			     (atom >= DW_OP_breg0 && atom <= DW_OP_breg31) || is_binary(atom);

		switch (atom) {
		case DW_OP_const1u:
		case DW_OP_const1s:
		case DW_OP_const2u:
		case DW_OP_const2s:
		case DW_OP_const4u:
		case DW_OP_const4s:
		case DW_OP_const8u:
		case DW_OP_const8s:
		case DW_OP_constu:
		case DW_OP_consts:
		case DW_OP_call_frame_cfa:
		case DW_OP_plus_uconst:
		case DW_OP_deref:
		case DW_OP_neg:
		case DW_OP_not:
		case DW_OP_abs:
		case DW_OP_dup:
		case DW_OP_over:
		case DW_OP_drop:
		case DW_OP_swap:
		case DW_OP_nop:
		case DW_OP_stack_value:
			known = true;
			break;
		}
		if (!known)
			return false;
	}
	return true;
}

bool cfi_row__valid(const struct cfi_row *row)
{
	size_t i;

	if (!row->cfa.nr || !ops_valid(row->cfa.ops, row->cfa.nr, CFI_EXPR_MAX))
		return false;
	for (i = 0; i < CFI_SLOT_NR; i++) {
		const struct cfi_reg_rule *r = &row->regs[i];

		if (r->kind > CFI_REG_VALUE || !ops_valid(r->ops, r->nr, CFI_REG_EXPR_MAX))
			return false;
		if (r->kind >= CFI_REG_AT && !r->nr)
			return false;
	}
	return true;
}

int unwind_step_cfi(const struct cfi_row *row, const struct unwind_regs *in,
		    const struct unwind_mem *mem, struct unwind_regs *out)
{
	__u64 cfa, v;
	size_t i;
	int err;

	if ((err = unwind_eval(row->cfa.ops, row->cfa.nr, in, 0, false, mem, &cfa)))
		return err;
	/* the CFA is the caller's stack pointer unless a rule says otherwise */
	memset(out, 0, sizeof(*out));
	out->r[UNWIND_REG_SP] = cfa;
	out->valid = 1U << UNWIND_REG_SP;
	for (i = 0; i < CFI_SLOT_NR; i++) {
		const struct cfi_reg_rule *rule = &row->regs[i];
		int reg = slot_reg[i];

		switch (rule->kind) {
		case CFI_REG_SAME:
			if (reg == UNWIND_REG_SP || reg == UNWIND_REG_RA || !reg_known(in, reg))
				continue;
			v = in->r[reg];
			break;
		case CFI_REG_UNDEFINED:
			if (reg == UNWIND_REG_SP)
				continue;
			out->valid &= ~(1U << reg);
			continue;
		case CFI_REG_AT:
			if ((err = unwind_eval(rule->ops, rule->nr, in, cfa, true, mem, &v)) ||
			    (err = mem_read(mem, v, &v)))
				return err;
			break;
		default:
			if ((err = unwind_eval(rule->ops, rule->nr, in, cfa, true, mem, &v)))
				return err;
			break;
		}
		out->r[reg] = v;
		out->valid |= 1U << reg;
	}
	return 0;
}

/* The first frame with no rule: the probe sits before anything moved rsp. */
static int step_entry(const struct unwind_regs *in, const struct unwind_mem *mem,
		      struct unwind_regs *out)
{
	__u64 ra;
	int err;

	if ((err = mem_read(mem, in->r[UNWIND_REG_SP], &ra)))
		return err;
	*out = *in;
	out->r[UNWIND_REG_RA] = ra;
	out->r[UNWIND_REG_SP] = in->r[UNWIND_REG_SP] + 8;
	out->valid |= 1U << UNWIND_REG_RA;
	return 0;
}

/* A later frame with no rule: the frame-pointer chain, if this frame keeps one. */
static int step_fp(const struct unwind_regs *in, const struct unwind_mem *mem,
		   struct unwind_regs *out)
{
	__u64 bp, saved_bp, ra;
	int err;

	if (!reg_known(in, UNWIND_REG_BP))
		return -ENOENT;
	bp = in->r[UNWIND_REG_BP];
	/* the ABI's mark of the deepest frame (_start clears rbp): the walk is whole */
	if (!bp)
		return -ECHILD;
	if (bp < in->r[UNWIND_REG_SP] || (bp & 7))
		return -ENOENT;
	if ((err = mem_read(mem, bp, &saved_bp)) || (err = mem_read(mem, bp + 8, &ra)))
		return err;
	*out = *in;
	/* callee-saved registers other than rbp are unknown past a frame we cannot read */
	out->valid = (1U << UNWIND_REG_SP) | (1U << UNWIND_REG_BP) | (1U << UNWIND_REG_RA);
	out->r[UNWIND_REG_BP] = saved_bp;
	out->r[UNWIND_REG_RA] = ra;
	out->r[UNWIND_REG_SP] = bp + 16;
	return 0;
}

static enum unwind_end end_of(int err)
{
	if (err == -ECHILD)
		return UNWIND_END_OUTERMOST;
	return err == -EFAULT	? UNWIND_END_STACK
	       : err == -ENOENT ? UNWIND_END_NO_INFO
				: UNWIND_END_BAD;
}

static void walk(const struct unwind_regs *regs, const struct unwind_mem *mem, size_t max,
		 unwind_row_fn row_of, void *ctx, bool at_entry, struct unwind_result *out)
{
	struct unwind_regs cur = *regs, next;
	struct cfi_row row;
	bool first = at_entry, exact = true;
	__u64 pc;
	int err;

	memset(out, 0, sizeof(*out));
	if (max > UNWIND_MAX_FRAMES)
		max = UNWIND_MAX_FRAMES;
	pc = cur.r[UNWIND_REG_RA];
	if (!at_entry && max) {
		/* the sampled pc is a frame of its own, the innermost, exact */
		out->ips[out->nr++] = pc;
		out->exact |= 1;
	}
	for (;;) {
		/* a return address follows its call: the rule is the call's, one byte before */
		err = -ENOENT;
		if (!row_of(ctx, exact ? pc : pc - 1, &row) && cfi_row__valid(&row)) {
			err = unwind_step_cfi(&row, &cur, mem, &next);
			out->cfi_frames++;
		}
		/* a rule on a register we lost (rbx past a frame-pointer step): try the chain */
		if (err == -EINVAL && !first) {
			out->cfi_frames--;
			err = -ENOENT;
		}
		if (err == -ENOENT) {
			err = first ? step_entry(&cur, mem, &next) : step_fp(&cur, mem, &next);
			out->fp_frames++;
			row.signal_frame = 0;
		}
		if (err) {
			out->end = end_of(err);
			out->end_pc = pc;
			return;
		}
		if (!reg_known(&next, UNWIND_REG_RA) || !next.r[UNWIND_REG_RA]) {
			out->end = UNWIND_END_OUTERMOST;
			return;
		}
		if (!reg_known(&next, UNWIND_REG_SP) ||
		    next.r[UNWIND_REG_SP] <= cur.r[UNWIND_REG_SP]) {
			out->end = UNWIND_END_BAD;
			out->end_pc = pc;
			return;
		}
		if (out->nr >= max) {
			out->end = UNWIND_END_DEPTH;
			return;
		}
		exact = row.signal_frame;
		if (exact && out->nr < 64)
			out->exact |= 1ULL << out->nr;
		pc = next.r[UNWIND_REG_RA];
		out->ips[out->nr++] = pc;
		cur = next;
		first = false;
	}
}

void unwind_walk(const struct unwind_regs *regs, const struct unwind_mem *mem, size_t max,
		 unwind_row_fn row_of, void *ctx, struct unwind_result *out)
{
	walk(regs, mem, max, row_of, ctx, true, out);
}

void unwind_walk_from_pc(const struct unwind_regs *regs, const struct unwind_mem *mem, size_t max,
			 unwind_row_fn row_of, void *ctx, struct unwind_result *out)
{
	walk(regs, mem, max, row_of, ctx, false, out);
}

const char *unwind_end__str(enum unwind_end end)
{
	switch (end) {
	case UNWIND_END_OUTERMOST:
		return "outermost";
	case UNWIND_END_STACK:
		return "the stack copy ends";
	case UNWIND_END_DEPTH:
		return "max frames";
	case UNWIND_END_NO_INFO:
		return "no unwind information";
	case UNWIND_END_BAD:
		return "unwinding failed";
	}
	return "?";
}
