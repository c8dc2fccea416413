/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The caller of a call site (pure: util only, unit-tested): a stack is only
 * as good as its first frame outside the allocator. Sites stay grouped and
 * ranked by their whole stack; `caller` names the innermost frame that is
 * not the allocator, libc, libstdc++'s operator new, or a wrapper whose only
 * job is to call one (xmalloc, zmalloc, g_malloc, PyMem_Malloc, ...), so that
 * a reader sees parse_request_headers rather than xmalloc.
 *
 * A frame is a wrapper when its function name (the part before "+0x",
 * demangled C++ included) matches one of the rule's function globs, or its
 * module (the basename in parentheses, or before "+0x" in an unnamed
 * "module+0xoff" frame) matches one of the allocator modules. Globs are
 * fnmatch(3) patterns without flags. A frame that names neither (no symbol,
 * "[unknown]") is not known to be a wrapper: it can be the caller.
 */
#ifndef MEMOBS_CALLER_H
#define MEMOBS_CALLER_H

#include <stdbool.h>
#include <stddef.h>

/* Bounds of a --wrappers list: more is a mistake, not a configuration. */
#define CALLER_MAX_WRAPPERS 64
#define CALLER_WRAPPER_MAX_LEN 256

/* caller_rule__index(): every frame is the allocator's or a wrapper's. */
#define CALLER_NONE (-1)

struct caller_rule;

/* The default function globs and the allocator modules (docs/output.md lists both). */
extern const char *const caller_default_funcs[];
extern const size_t caller_nr_default_funcs;
extern const char *const caller_modules[];
extern const size_t caller_nr_modules;

/*
 * What is wrong with a --wrappers value: comma-separated function globs,
 * appended to the defaults, or replacing them after a leading '='. Returns
 * 0, -EINVAL (pattern *which, counted from 1, is empty), -E2BIG (*which
 * patterns: more than CALLER_MAX_WRAPPERS) or -ENAMETOOLONG (pattern *which
 * is longer than CALLER_WRAPPER_MAX_LEN bytes).
 */
int caller_wrappers__check(const char *wrappers, size_t *which);

/*
 * The rule with a --wrappers value (NULL: the defaults alone). Returns 0,
 * an error of caller_wrappers__check(), or -ENOMEM.
 */
int caller_rule__new(struct caller_rule **out, const char *wrappers);
void caller_rule__free(struct caller_rule *r); /* NULL-safe */

/* Whether a frame string is the allocator's or a wrapper's. r NULL: the defaults. */
bool caller_rule__is_wrapper(const struct caller_rule *r, const char *frame);
/*
 * Whether frame is a Python frame as attr_python.c writes them, "function
 * (file:line)" (no "+0x" offset: a native frame always has one or is an
 * address): *open gets its first " (" and *colon the ':' before the line.
 */
bool frame__is_python(const char *frame, const char **open, const char **colon);
/*
 * The index of the caller in frames[0, nr) (innermost first), or
 * CALLER_NONE: the innermost Python frame when there is one (the native
 * frames between it and malloc are the interpreter's), else the innermost
 * frame that is not the allocator's or a wrapper's.
 */
int caller_rule__index(const struct caller_rule *r, const char *const *frames, size_t nr);
/* frames[caller_rule__index()], or NULL when it is CALLER_NONE. */
const char *caller_rule__frame(const struct caller_rule *r, const char *const *frames, size_t nr);

#endif /* MEMOBS_CALLER_H */
