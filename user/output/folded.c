// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/caller.h"
#include "output/folded.h"
#include "util/fmt.h"

/* The last occurrence of needle in s[0, len), or NULL. */
static const char *last_of(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	const char *p;

	if (len < n)
		return NULL;
	for (p = s + len - n;; p--) {
		if (!memcmp(p, needle, n))
			return p;
		if (p == s)
			return NULL;
	}
}

/* s[0, len) as a hexadecimal number (no prefix); false if it is not one. */
static bool parse_hex(const char *s, size_t len, __u64 *v)
{
	char buf[17], *end;

	if (!len || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] == '-' || buf[0] == '+' || buf[0] == ' ')
		return false;
	*v = strtoull(buf, &end, 16);
	return *end == '\0';
}

static void copy_sanitized(char *dst, size_t n, const char *s, size_t len)
{
	char tmp[FRAME_FUNC_MAX];

	if (len >= sizeof(tmp))
		len = sizeof(tmp) - 1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	fmt_sanitize(dst, n, tmp, n - 1);
}

/* Whether s[0, len) is "func+0xhex" (*offset set) or "0xhex" (*addr set). */
static bool is_symbol_part(const char *s, size_t len, __u64 *offset, __u64 *addr)
{
	const char *plus;

	if (len > 2 && !memcmp(s, "0x", 2) && parse_hex(s + 2, len - 2, addr))
		return true;
	*addr = 0;
	plus = last_of(s, len, "+0x");
	return plus && plus > s && parse_hex(plus + 3, s + len - (plus + 3), offset);
}

void frame__parse(const char *frame, struct frame_parts *p)
{
	const char *s = frame ? frame : "?", *close, *open = NULL, *colon, *q;
	size_t len = strlen(s), head_len = len, func_len;
	char *end;
	long line;

	memset(p, 0, sizeof(*p));
	/* a Python frame, "function (file:line)": the file is the code object's, whole */
	if (frame__is_python(s, &open, &colon)) {
		copy_sanitized(p->func, sizeof(p->func), s, open - s);
		copy_sanitized(p->file, sizeof(p->file), open + 2, colon - (open + 2));
		line = strtol(colon + 1, NULL, 10);
		p->line = line > 0 && line <= 0x7fffffff ? (int)line : 0;
		return;
	}
	open = NULL;
	/* " file:line" after the module's ')' */
	if (len && s[len - 1] != ')' && (close = last_of(s, len, ") "))) {
		colon = last_of(close + 2, s + len - (close + 2), ":");
		if (colon && colon[1] >= '0' && colon[1] <= '9') {
			line = strtol(colon + 1, &end, 10);
			if (!*end && line > 0 && line <= 0x7fffffff) {
				copy_sanitized(p->file, sizeof(p->file), close + 2,
					       colon - (close + 2));
				p->line = (int)line;
				head_len = close + 1 - s;
			}
		}
	}
	/*
	 * " (module)": the first " (" that follows "func+0xoff" or "0xaddr", so
	 * that a module named "a (b).so" stays whole; else the last " (".
	 */
	func_len = head_len;
	if (head_len && s[head_len - 1] == ')') {
		for (q = s; (q = strstr(q, " (")) && q < s + head_len - 1; q++)
			if (is_symbol_part(s, q - s, &p->offset, &p->addr)) {
				open = q;
				break;
			}
		if (!open)
			open = last_of(s, head_len - 1, " (");
		if (open) {
			copy_sanitized(p->module, sizeof(p->module), open + 2,
				       s + head_len - 1 - (open + 2));
			func_len = open - s;
		}
	}
	if (!is_symbol_part(s, func_len, &p->offset, &p->addr))
		p->offset = p->addr = 0;
	else if (!p->addr)
		func_len = last_of(s, func_len, "+0x") - s;
	copy_sanitized(p->func, sizeof(p->func), s, func_len);
	/*
	 * No symbol: named by its module, as perf names such frames, for the
	 * address differs from process to process (ASLR) and would keep the
	 * same code apart in merged stacks and in `pprof -base` diffs.
	 */
	if (p->addr)
		snprintf(p->func, sizeof(p->func), "[%s]", p->module[0] ? p->module : "unknown");
	/*
	 * "libc.so.6+0x2724a (libc.so.6)": in its file, no symbol covers it (a
	 * function named as its module, with no line, reads so too: rare)
	 */
	else if (p->module[0] && !p->line && !strcmp(p->func, p->module))
		snprintf(p->func, sizeof(p->func), "[%s]", p->module);
	if (!p->func[0])
		snprintf(p->func, sizeof(p->func), "?");
}

__u64 site__bytes(const struct site_record *s)
{
	return s->est && s->est->est_bytes > 0 ? (__u64)(s->est->est_bytes + 0.5) : 0;
}

struct folded_line {
	char *stack;
	__u64 bytes;
};

static int line_cmp(const void *a, const void *b)
{
	return strcmp(((const struct folded_line *)a)->stack,
		      ((const struct folded_line *)b)->stack);
}

/* The site's stack, root first, as a malloc'd string; NULL on ENOMEM. */
static char *stack_of(const struct site_record *s)
{
	struct frame_parts parts;
	char *buf = NULL, *c;
	size_t size = 0, i;
	FILE *f;

	f = open_memstream(&buf, &size);
	if (!f)
		return NULL;
	for (i = s->nr_frames; i-- > 0;) {
		frame__parse(s->frames[i], &parts);
		for (c = parts.func; *c; c++)
			if (*c == ';')
				*c = ':';
		fprintf(f, "%s%s", i + 1 < s->nr_frames ? ";" : "", parts.func);
	}
	if (!s->nr_frames)
		fputs("?", f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

int folded__write(FILE *out, const struct site_record *sites, size_t nr)
{
	struct folded_line *lines;
	size_t nr_lines = 0, i, j;
	int err = 0;

	lines = calloc(nr ? nr : 1, sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		if (!site__bytes(&sites[i]))
			continue;
		lines[nr_lines].stack = stack_of(&sites[i]);
		if (!lines[nr_lines].stack) {
			err = -ENOMEM;
			goto out;
		}
		lines[nr_lines++].bytes = site__bytes(&sites[i]);
	}
	qsort(lines, nr_lines, sizeof(*lines), line_cmp);
	for (i = 0; i < nr_lines; i = j) {
		__u64 bytes = 0;

		for (j = i; j < nr_lines && !strcmp(lines[j].stack, lines[i].stack); j++)
			bytes += lines[j].bytes;
		if (fprintf(out, "%s %llu\n", lines[i].stack, (unsigned long long)bytes) < 0) {
			err = -EIO;
			break;
		}
	}
out:
	for (i = 0; i < nr_lines; i++)
		free(lines[i].stack);
	free(lines);
	return err;
}
