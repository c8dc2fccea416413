// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nofp_xmalloc.c built with frame pointers (the default rule of the
 * Makefile): the same leak through xmalloc, whose callers a frame-pointer
 * walk reaches, so that the caller rule is tested apart from the unwinder.
 */
#include "nofp_xmalloc.c"
