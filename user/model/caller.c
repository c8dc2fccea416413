// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include "model/caller.h"
#include "util/array.h"

/*
 * The allocator's entry points and the wrappers whose only job is to call
 * one. docs/output.md lists them; a test holds the two together.
 */
/* A family per line reads better than a glob per line. */
/* clang-format off */
const char *const caller_default_funcs[] = {
	/* the malloc family and glibc's aliases of it */
	"malloc", "calloc", "realloc", "reallocarray", "free", "cfree", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc", "__libc_*", "__GI___libc_*",
	/* C++: demangled, and mangled (_Znwm, _Znam, _ZnwmRKSt9nothrow_t, _ZdlPv, ...) */
	"operator new*", "operator delete*", "_Zn[wa]*", "_Zd[la]*",
	/* std::allocator and what only forwards to it (std::allocator_traits included) */
	"std::allocator*", "__gnu_cxx::new_allocator*", "std::__new_allocator*",
	"std::_Vector_base<*>::_M_allocate*",
	/* jemalloc, tcmalloc, mimalloc entry points (prefixed builds, internals) */
	"je_*", "tc_*", "tcmalloc::*", "mi_*", "_mi_*",
	/* redis */
	"zmalloc*", "ztrymalloc*", "zcalloc*", "zrealloc*", "zstrdup",
	/* glib */
	"g_malloc*", "g_try_malloc*", "g_realloc*", "g_try_realloc*", "g_slice_*", "g_new*",
	"g_strdup", "g_strndup", "g_memdup*",
	/* the x* wrappers of GNU programs, and strdup */
	"xmalloc", "xcalloc", "xrealloc", "xzalloc", "xstrdup", "xstrndup", "xmemdup",
	"strdup", "strndup", "__strdup", "__strndup",
	/* CPython */
	"PyMem_*", "_PyMem_*", "PyObject_Malloc", "PyObject_Calloc", "PyObject_Realloc",
	"_PyObject_Malloc", "_PyObject_*alloc*", "pymalloc_*",
};
const size_t caller_nr_default_funcs = ARRAY_SIZE(caller_default_funcs);

/*
 * Libraries whose every frame is below the caller: libc (and the dynamic
 * loader, which allocates for dlopen), libstdc++ and libc++ (operator new,
 * std::string's own allocations), and the allocators themselves.
 */
const char *const caller_modules[] = {
	"libc.so", "libc.so.*", "libc-*.so", "ld-linux*", "ld-2.*.so", "ld-musl-*", "libc.musl-*",
	"libstdc++.so*", "libc++.so*", "libc++abi.so*",
	"libjemalloc.so*", "libtcmalloc*", "libmimalloc*",
};
const size_t caller_nr_modules = ARRAY_SIZE(caller_modules);
/* clang-format on */

struct caller_rule {
	const char **funcs; /* the defaults (static) unless replaced, then the user's */
	size_t nr_funcs;
	char *patterns; /* the user's globs, NUL-separated: funcs points into it */
};

/* The rule of a NULL argument: the defaults, never allocated. */
static const struct caller_rule default_rule = {
	.funcs = (const char **)caller_default_funcs,
	.nr_funcs = ARRAY_SIZE(caller_default_funcs),
};

int caller_wrappers__check(const char *wrappers, size_t *which)
{
	const char *p = wrappers, *comma;
	size_t n = 0, len;

	*which = 0;
	if (*p == '=')
		p++;
	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		*which = ++n;
		if (!len)
			return -EINVAL;
		if (len > CALLER_WRAPPER_MAX_LEN)
			return -ENAMETOOLONG;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (n > CALLER_MAX_WRAPPERS)
		return -E2BIG;
	*which = 0;
	return 0;
}

int caller_rule__new(struct caller_rule **out, const char *wrappers)
{
	bool replace = wrappers && wrappers[0] == '=';
	size_t which, nr_user = 0, i;
	struct caller_rule *r;
	char *p;
	int err;

	*out = NULL;
	if (wrappers && (err = caller_wrappers__check(wrappers, &which)))
		return err;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (wrappers) {
		r->patterns = strdup(wrappers + replace);
		nr_user = 1;
		for (p = r->patterns; p && *p; p++)
			nr_user += *p == ',';
	}
	r->funcs = calloc((replace ? 0 : caller_nr_default_funcs) + nr_user + 1, sizeof(*r->funcs));
	if (!r->funcs || (wrappers && !r->patterns)) {
		caller_rule__free(r);
		return -ENOMEM;
	}
	for (i = 0; !replace && i < caller_nr_default_funcs; i++)
		r->funcs[r->nr_funcs++] = caller_default_funcs[i];
	for (p = r->patterns; p;) {
		char *comma = strchr(p, ',');

		r->funcs[r->nr_funcs++] = p;
		if (comma)
			*comma++ = '\0';
		p = comma;
	}
	*out = r;
	return 0;
}

void caller_rule__free(struct caller_rule *r)
{
	if (!r)
		return;
	free(r->funcs);
	free(r->patterns);
	free(r);
}

/* Longest function name and module matched whole: longer ones are cut (still matched). */
#define FUNC_MAX 1024
#define MODULE_MAX 256

/* The parts of a frame string the rule looks at; empty when the frame has none. */
struct frame_names {
	char func[FUNC_MAX];
	char module[MODULE_MAX];
};

static size_t hex_run(const char *s)
{
	size_t n = 0;

	while (isxdigit((unsigned char)s[n]))
		n++;
	return n;
}

static void copy_span(char *dst, size_t size, const char *s, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/*
 * "(module)" at s: up to the first ')' that ends the frame or precedes
 * " file:line", so that a module named "a (b).so" stays whole.
 */
static void take_module(struct frame_names *n, const char *s)
{
	const char *end = s, *slash;

	while (*end && !(*end == ')' && (end[1] == '\0' || end[1] == ' ')))
		end++;
	copy_span(n->module, sizeof(n->module), s, end - s);
	slash = strrchr(n->module, '/');
	if (slash)
		memmove(n->module, slash + 1, strlen(slash + 1) + 1);
}

/* Whether s[0, len) is a word of GCC's clone suffixes (".cold", ".isra.0", ...). */
static bool is_clone_word(const char *s, size_t len)
{
	static const char *const words[] = { "cold", "isra",	 "constprop",
					     "part", "lto_priv", "localalias" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(words); i++)
		if (strlen(words[i]) == len && !memcmp(s, words[i], len))
			return true;
	return false;
}

/*
 * What the compiler and the linker add to a name, so that globs see the
 * function: a symbol version or "@plt", GCC's clones (".isra.0",
 * ".constprop.0.cold", " [clone .cold]"). Go's "pkg.Func" dots stay.
 */
static void strip_suffixes(char *func)
{
	char *cut, *dot, *prev;

	if ((cut = strchr(func, '@')))
		*cut = '\0';
	if ((cut = strstr(func, " [clone ")))
		*cut = '\0';
	while ((dot = strrchr(func, '.')) && dot > func) {
		if (dot[1] && strspn(dot + 1, "0123456789") == strlen(dot + 1)) {
			/* a clone's number ("isra.0"), or part of the name ("func1.1") */
			*dot = '\0';
			prev = strrchr(func, '.');
			if (!prev || prev == func || !is_clone_word(prev + 1, strlen(prev + 1))) {
				*dot = '.';
				break;
			}
			dot = prev;
		} else if (!is_clone_word(dot + 1, strlen(dot + 1))) {
			break;
		}
		*dot = '\0';
	}
}

/*
 * Splits what symbolize.c writes:
 *   "func+0xoff (module) file:line", "func+0xoff (module)"  named
 *   "0xaddr (module)", "module+0xoff"                         unnamed
 * Anything else ("[unknown]", "0xaddr", "?") names nothing.
 */
static void frame_names__parse(struct frame_names *n, const char *s)
{
	const char *p;
	size_t hex;

	n->func[0] = n->module[0] = '\0';
	if (!s)
		return;
	if (s[0] == '0' && s[1] == 'x' && (hex = hex_run(s + 2)) &&
	    !strncmp(s + 2 + hex, " (", 2)) {
		take_module(n, s + 2 + hex + 2);
		return;
	}
	for (p = s; (p = strstr(p, "+0x")); p++) {
		hex = hex_run(p + 3);
		if (!hex || p == s)
			continue;
		if (!strncmp(p + 3 + hex, " (", 2)) {
			copy_span(n->func, sizeof(n->func), s, p - s);
			take_module(n, p + 3 + hex + 2);
			/* "libc.so.6+0x2724a (libc.so.6)": no symbol, named by its module */
			if (!strcmp(n->func, n->module))
				n->func[0] = '\0';
			strip_suffixes(n->func);
			return;
		}
		if (!p[3 + hex]) { /* "module+0xoff": the module's basename before the offset */
			const char *base = memrchr(s, '/', p - s);

			base = base ? base + 1 : s;
			copy_span(n->module, sizeof(n->module), base, p - base);
			return;
		}
	}
}

static bool matches_any(const char *const *globs, size_t nr, const char *name)
{
	size_t i;

	if (!name[0])
		return false;
	for (i = 0; i < nr; i++)
		if (!fnmatch(globs[i], name, 0))
			return true;
	return false;
}

bool caller_rule__is_wrapper(const struct caller_rule *r, const char *frame)
{
	struct frame_names n;

	if (!r)
		r = &default_rule;
	frame_names__parse(&n, frame);
	return matches_any(caller_modules, caller_nr_modules, n.module) ||
	       matches_any(r->funcs, r->nr_funcs, n.func);
}

bool frame__is_python(const char *frame, const char **open, const char **colon)
{
	const char *o, *c, *q;
	size_t len = frame ? strlen(frame) : 0;

	if (len < 6 || frame[len - 1] != ')' || !strncmp(frame, "0x", 2))
		return false;
	/* the first " (": a file path may hold one, a function name does not */
	o = strstr(frame, " (");
	if (!o || o == frame || memmem(frame, o - frame, "+0x", 3))
		return false;
	c = memrchr(o + 2, ':', frame + len - 1 - (o + 2));
	if (!c || c + 1 == frame + len - 1 || c == o + 2)
		return false;
	for (q = c + 1; q < frame + len - 1; q++)
		if (*q < '0' || *q > '9')
			return false;
	if (open)
		*open = o;
	if (colon)
		*colon = c;
	return true;
}

int caller_rule__index(const struct caller_rule *r, const char *const *frames, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (frame__is_python(frames[i], NULL, NULL))
			return (int)i;
	for (i = 0; i < nr; i++)
		if (!caller_rule__is_wrapper(r, frames[i]))
			return (int)i;
	return CALLER_NONE;
}

const char *caller_rule__frame(const struct caller_rule *r, const char *const *frames, size_t nr)
{
	int i = caller_rule__index(r, frames, nr);

	return i == CALLER_NONE ? NULL : frames[i];
}
