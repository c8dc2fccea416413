// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The unwind rules of an image, read by libdw where the parsing runs (the
 * symbolizer's helper): the row of the CFI table at one pc, turned into a
 * struct cfi_row that the daemon's unwinder evaluates (unwind.h). libdw
 * parses .eh_frame (and .debug_frame when there is no .eh_frame entry) of
 * the in-memory copy; its answers are DWARF expressions, copied operation by
 * operation, and anything the evaluator would not take is refused here.
 */
#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include "attribute/symbolize_elf.h"
#include "attribute/unwind.h"

/* DWARF register of each cfi_slot (unwind.h) */
static const int slot_regno[CFI_SLOT_NR] = {
	[CFI_SLOT_BX] = 3,   [CFI_SLOT_BP] = 6,	  [CFI_SLOT_SP] = 7,   [CFI_SLOT_R12] = 12,
	[CFI_SLOT_R13] = 13, [CFI_SLOT_R14] = 14, [CFI_SLOT_R15] = 15, [CFI_SLOT_RA] = 16,
};

/* libdw's operations into ours: bregx becomes bregN (N < 32), the rest as they are. */
static int copy_ops(const Dwarf_Op *ops, size_t nops, struct cfi_op *out, size_t max, __u32 *nr)
{
	size_t i;

	if (nops > max)
		return -E2BIG;
	for (i = 0; i < nops; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].atom = ops[i].atom;
		out[i].number = (__s64)ops[i].number;
		if (ops[i].atom == DW_OP_bregx) {
			if (ops[i].number >= 32)
				return -EINVAL;
			out[i].atom = (__u8)(DW_OP_breg0 + ops[i].number);
			out[i].number = (__s64)ops[i].number2;
		}
	}
	*nr = (__u32)nops;
	return 0;
}

static int register_number(const Dwarf_Op *op)
{
	if (op->atom >= DW_OP_reg0 && op->atom <= DW_OP_reg31)
		return op->atom - DW_OP_reg0;
	if (op->atom == DW_OP_regx && op->number < 32)
		return (int)op->number;
	return -1;
}

/* A register's rule; what cannot be copied is "undefined" (the walk then loses it). */
static void copy_register(Dwarf_Frame *frame, int regno, struct cfi_reg_rule *rule)
{
	Dwarf_Op ops_mem[3], *ops = NULL;
	size_t nops = 0;
	bool value;
	int reg;

	memset(rule, 0, sizeof(*rule));
	rule->kind = CFI_REG_UNDEFINED;
	if (dwarf_frame_register(frame, regno, ops_mem, &ops, &nops))
		return;
	if (!nops) {
		/* libdw: no ops and no pointer is "same value", ops_mem is "undefined" */
		rule->kind = ops ? CFI_REG_UNDEFINED : CFI_REG_SAME;
		return;
	}
	if (nops == 1 && (reg = register_number(&ops[0])) >= 0) {
		/* the value is in another register: rN + 0 */
		rule->kind = CFI_REG_VALUE;
		rule->nr = 1;
		rule->ops[0].atom = (__u8)(DW_OP_breg0 + reg);
		return;
	}
	value = ops[nops - 1].atom == DW_OP_stack_value;
	if (copy_ops(ops, value ? nops - 1 : nops, rule->ops, CFI_REG_EXPR_MAX, &rule->nr) ||
	    !rule->nr) {
		memset(rule, 0, sizeof(*rule));
		rule->kind = CFI_REG_UNDEFINED;
		return;
	}
	rule->kind = value ? CFI_REG_VALUE : CFI_REG_AT;
}

static int row_of_frame(Dwarf_Frame *frame, struct cfi_row *out)
{
	Dwarf_Op *ops;
	size_t nops, i;
	bool signal = false;

	memset(out, 0, sizeof(*out));
	if (dwarf_frame_cfa(frame, &ops, &nops) || !nops)
		return -ENOENT;
	if (copy_ops(ops, nops, out->cfa.ops, CFI_EXPR_MAX, &out->cfa.nr))
		return -ENOENT;
	for (i = 0; i < CFI_SLOT_NR; i++)
		copy_register(frame, slot_regno[i], &out->regs[i]);
	if (dwarf_frame_info(frame, NULL, NULL, &signal) < 0)
		return -ENOENT;
	out->signal_frame = signal;
	return cfi_row__valid(out) ? 0 : -ENOENT;
}

static int row_in(Dwarf_CFI *cfi, Dwarf_Addr bias, __u64 addr, struct cfi_row *out)
{
	Dwarf_Frame *frame = NULL;
	int err;

	if (!cfi || addr < bias || dwarf_cfi_addrframe(cfi, addr - bias, &frame))
		return -ENOENT;
	err = row_of_frame(frame, out);
	free(frame);
	return err;
}

int sym_elf__cfi_row(struct sym_elf *e, __u32 id, __u64 file_offset, struct cfi_row *out)
{
	struct Dwfl_Module *mod;
	Dwarf_Addr bias = 0;
	__u64 addr;
	int err;

	if ((err = sym_elf__module_addr(e, id, file_offset, &mod, &addr)))
		return err;
	if (!row_in(dwfl_module_eh_cfi(mod, &bias), bias, addr, out))
		return 0;
	return row_in(dwfl_module_dwarf_cfi(mod, &bias), bias, addr, out);
}
