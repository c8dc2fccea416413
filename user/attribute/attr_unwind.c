// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The call sites of sampled calls whose stack was copied (MEMOBS_REC_USTACK,
 * docs/unwinding.md): the copy is unwound with the modules' CFI (unwind.c,
 * rules from the symbolizer), the return addresses are symbolized once per
 * distinct stack, and the allocation record that follows finds its site by
 * sample id in a small table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "attribute/attr_internal.h"
#include "attribute/symbolize.h"
#include "attribute/unwind.h"
#include "output/records.h"

/* stack hashes -> sites held before the table is emptied (it refills as stacks recur) */
#define STACK_SITES_MAX 65536

struct row_ctx {
	struct attr *a;
	struct sym_walk walk;
};

static int row_of(void *ctx, __u64 pc, struct cfi_row *row)
{
	struct row_ctx *c = ctx;

	return symbolizer__cfi_row(c->a->sym, &c->walk, pc, row);
}

static void regs_of(const struct memobs_ustack_rec *rec, struct unwind_regs *regs)
{
	static const int reg_of[MEMOBS_UREG_NR] = {
		[MEMOBS_UREG_IP] = UNWIND_REG_RA, [MEMOBS_UREG_SP] = UNWIND_REG_SP,
		[MEMOBS_UREG_BP] = UNWIND_REG_BP, [MEMOBS_UREG_BX] = UNWIND_REG_BX,
		[MEMOBS_UREG_R12] = 12,		  [MEMOBS_UREG_R13] = 13,
		[MEMOBS_UREG_R14] = 14,		  [MEMOBS_UREG_R15] = 15,
	};
	int i;

	memset(regs, 0, sizeof(*regs));
	for (i = 0; i < MEMOBS_UREG_NR; i++) {
		regs->r[reg_of[i]] = rec->regs[i];
		regs->valid |= 1U << reg_of[i];
	}
}

static __u64 hash_stack(int pid, const struct unwind_result *u)
{
	__u64 h = 0xcbf29ce484222325ULL ^ (__u64)pid;
	size_t i;

	for (i = 0; i < u->nr; i++)
		h = (h ^ u->ips[i]) * 0x100000001b3ULL;
	h = (h ^ (u->end + 1)) * 0x100000001b3ULL;
	return (h | 1) & ~MEMOBS_USTACK_SAMPLE_BIT;
}

/* The frame that says why a stack ends early; NULL when it is whole. */
static char *end_frame(const struct unwind_result *u, __u32 copied)
{
	char *s = NULL;
	int n;

	switch (u->end) {
	case UNWIND_END_OUTERMOST:
		return NULL;
	case UNWIND_END_STACK:
		n = asprintf(&s, "[truncated: the %u-byte stack copy ends]", copied);
		break;
	case UNWIND_END_DEPTH:
		n = asprintf(&s, "[truncated: %zu frames]", u->nr);
		break;
	case UNWIND_END_NO_INFO:
		n = asprintf(&s, "[truncated: no unwind information at 0x%llx]",
			     (unsigned long long)u->end_pc);
		break;
	default:
		n = asprintf(&s, "[truncated: %s at 0x%llx]", unwind_end__str(u->end),
			     (unsigned long long)u->end_pc);
		break;
	}
	return n < 0 ? NULL : s;
}

/*
 * The site of an unwound stack, its frames symbolized (and a CPython
 * process's Python frames put in). Returns 0, 1 when the site is not to be
 * remembered for the stack (its Python frames were cut by a read another
 * sample may not meet), or -errno.
 */
static int symbolize_stack(struct attr *a, int pid, const struct unwind_result *u, __u32 copied,
			   const struct attr_pystack *py, __u64 *index)
{
	char **frames = calloc(u->nr + 1, sizeof(*frames));
	struct frame_meta *meta = calloc(u->nr + 1, sizeof(*meta));
	size_t nr = 0, i;
	char *end;
	int cut, err;

	if (!frames || !meta) {
		free(frames);
		free(meta);
		return -ENOMEM;
	}
	for (i = 0; i < u->nr; i++) {
		bool exact = i < 64 && (u->exact & (1ULL << i));

		if (symbolizer__resolve_frame(a->sym, pid, u->ips[i], !exact, &frames[nr],
					      &meta[nr]))
			asprintf(&frames[nr], "0x%llx", (unsigned long long)u->ips[i]);
		nr++;
	}
	/* out of memory, the native frames alone */
	cut = attr_python_merge(a, pid, py, &frames, &meta, &nr) > 0;
	if ((end = end_frame(u, copied)) || !nr) {
		/* the merge left one slot free, as the first calloc did */
		frames[nr++] = end ? end : strdup("[no frame]");
	}
	for (i = 0; i < nr; i++)
		if (!frames[i])
			frames[i] = strdup("?");
	err = attr_site_of_frames(a, frames, meta, nr, index);
	return err ? err : cut;
}

static void count_walk(struct attr *a, const struct unwind_result *u)
{
	a->unwind.walks++;
	a->unwind.cfi_frames += u->cfi_frames;
	a->unwind.fp_frames += u->fp_frames;
	if (u->end != UNWIND_END_OUTERMOST)
		a->unwind.truncated++;
}

/* The shortcut from a stack hash to its site, emptied at its bound. */
static void remember_stack(struct attr *a, __u64 h, __u64 index)
{
	if (a->stack_site.len >= STACK_SITES_MAX) {
		/* sites stay; only the shortcut from a stack to its site is rebuilt */
		u64map_free(&a->stack_site);
		u64map_init(&a->stack_site);
		a->unwind.stack_cache_resets++;
	}
	u64map_put(&a->stack_site, h, index);
}

void attr_handle_ustack(struct attr *a, const struct memobs_ustack_rec *rec, size_t size)
{
	struct row_ctx ctx = { .a = a, .walk = { .pid = (int)rec->pid } };
	const struct attr_pystack *py;
	struct unwind_regs regs;
	struct unwind_mem mem;
	struct unwind_result u;
	uint64_t found;
	__u64 h, index;
	size_t slot;
	int err;

	if (size < sizeof(*rec) || rec->stack_len > size - sizeof(*rec) ||
	    rec->stack_len > MEMOBS_USTACK_MAX)
		return;
	regs_of(rec, &regs);
	mem = (struct unwind_mem){ .base = rec->regs[MEMOBS_UREG_SP],
				   .data = rec->stack,
				   .len = rec->stack_len };
	if (rec->flags & MEMOBS_USTACK_AT_PC)
		unwind_walk_from_pc(&regs, &mem, ATTR_UNWIND_DEPTH, row_of, &ctx, &u);
	else
		unwind_walk(&regs, &mem, ATTR_UNWIND_DEPTH, row_of, &ctx, &u);
	count_walk(a, &u);
	/* a CPython process's stacks differ by their Python frames: the native ones are alike */
	py = attr_python_take(a, rec->sample_id, rec->pid);
	h = attr_python_hash(hash_stack(ctx.walk.pid, &u), py);
	if (u64map_get(&a->stack_site, h, &found)) {
		index = found;
	} else {
		err = symbolize_stack(a, ctx.walk.pid, &u, rec->stack_len, py, &index);
		if (err < 0)
			return;
		/* err 1: this sample's site, not the stack's (the next sample names it again) */
		if (!err)
			remember_stack(a, h, index);
	}
	slot = attr_pending_slot(rec->sample_id, ATTR_USTACK_PENDING);
	if (a->ustack_pending[slot].sample_id)
		a->unwind.pending_overwritten++;
	a->ustack_pending[slot].sample_id = rec->sample_id;
	a->ustack_pending[slot].site = index;
}

int attr_site_of_sample(struct attr *a, __u64 sample_id, __u64 *index)
{
	struct attr_ustack_pending *p =
		&a->ustack_pending[attr_pending_slot(sample_id, ATTR_USTACK_PENDING)];

	if (p->sample_id != sample_id)
		return attr_site_of_stack(a, 0, 0, false, index); /* "[stack not kept]" */
	*index = p->site;
	p->sample_id = 0;
	return 0;
}
