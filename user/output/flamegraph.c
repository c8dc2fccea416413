// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "output/flamegraph.h"
#include "output/folded.h"
#include "util/array.h"

#define WIDTH_PX 1200.0
#define MARGIN_PX 10.0
#define FRAME_PX 16.0
#define HEADER_PX 56.0
#define CHAR_PX 7.2 /* 12px monospace */
#define NONE SIZE_MAX

enum module_kind { KIND_USER, KIND_RUNTIME, KIND_OTHER };

static const char *const kind_names[] = { "user code", "libc & allocators", "other" };

struct node {
	char *func, *module;
	__u64 bytes;
	size_t first_child, next_sibling;
};

struct tree {
	struct node *nodes;
	size_t nr, cap;
	unsigned max_depth;
};

static enum module_kind module_kind(const char *module)
{
	static const char *const runtime[] = {
		"libc.so",     "libc-",	      "ld-linux",    "ld-musl",	  "libc.musl",
		"libjemalloc", "libtcmalloc", "libmimalloc", "libstdc++", "libpthread",
	};
	size_t i;

	if (!*module || module[0] == '[')
		return KIND_OTHER;
	for (i = 0; i < ARRAY_SIZE(runtime); i++)
		if (!strncmp(module, runtime[i], strlen(runtime[i])))
			return KIND_RUNTIME;
	return strstr(module, ".so") ? KIND_OTHER : KIND_USER;
}

static size_t tree__add(struct tree *t, const char *func, const char *module)
{
	struct node *n;

	if (ARRAY_GROW(t->nodes, t->cap, t->nr + 1))
		return NONE;
	n = &t->nodes[t->nr];
	memset(n, 0, sizeof(*n));
	n->func = strdup(func);
	n->module = strdup(module);
	n->first_child = n->next_sibling = NONE;
	if (!n->func || !n->module) {
		free(n->func);
		free(n->module);
		return NONE;
	}
	return t->nr++;
}

/* The child of parent for the frame, made if new; NONE on ENOMEM. */
static size_t tree__child(struct tree *t, size_t parent, const struct frame_parts *f)
{
	size_t c, made;

	for (c = t->nodes[parent].first_child; c != NONE; c = t->nodes[c].next_sibling)
		if (!strcmp(t->nodes[c].func, f->func) && !strcmp(t->nodes[c].module, f->module))
			return c;
	made = tree__add(t, f->func, f->module);
	if (made == NONE)
		return NONE;
	/* t->nodes may have moved */
	t->nodes[made].next_sibling = t->nodes[parent].first_child;
	t->nodes[parent].first_child = made;
	return made;
}

static int tree__insert(struct tree *t, const struct site_record *s)
{
	struct frame_parts f;
	__u64 bytes = site__bytes(s);
	size_t at = 0, i;
	unsigned depth = 0;

	if (!bytes)
		return 0;
	t->nodes[0].bytes += bytes;
	for (i = s->nr_frames; i-- > 0;) {
		frame__parse(s->frames[i], &f);
		at = tree__child(t, at, &f);
		if (at == NONE)
			return -ENOMEM;
		t->nodes[at].bytes += bytes;
		depth++;
	}
	if (depth > t->max_depth)
		t->max_depth = depth;
	return 0;
}

static void put_escaped(FILE *out, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] && i < max; i++) {
		switch (s[i]) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		default:
			/* the parser sanitized names to printable ASCII; titles are ours */
			fputc((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?'
											: s[i],
			      out);
		}
	}
}

/* A colour of the kind's hue, varied by name so that neighbours differ. */
static void put_fill(FILE *out, enum module_kind kind, const char *func)
{
	static const int base[][3] = { { 230, 120, 40 }, { 70, 130, 210 }, { 90, 170, 90 } };
	unsigned h = 2166136261u;
	int v;

	for (; *func; func++)
		h = (h ^ (unsigned char)*func) * 16777619u;
	v = (int)(h % 40) - 20;
	fprintf(out, "rgb(%d,%d,%d)", base[kind][0] + v / 2, base[kind][1] + v,
		base[kind][2] + v / 2);
}

struct draw {
	FILE *out;
	const struct tree *t;
	double px_per_byte;
	double height;
};

static void draw_node(const struct draw *d, size_t i, double x, unsigned depth)
{
	const struct node *n = &d->t->nodes[i];
	double w = n->bytes * d->px_per_byte, y = d->height - MARGIN_PX - (depth + 1) * FRAME_PX;
	double share = d->t->nodes[0].bytes ? 100.0 * n->bytes / d->t->nodes[0].bytes : 0;
	enum module_kind kind = i ? module_kind(n->module) : KIND_OTHER;
	size_t fit, c;

	if (w < FLAMEGRAPH_MIN_WIDTH_PX)
		return;
	fputs("<g><title>", d->out);
	put_escaped(d->out, n->func, SIZE_MAX);
	if (i) {
		fputs(" (", d->out);
		put_escaped(d->out, n->module[0] ? n->module : "?", SIZE_MAX);
		fputc(')', d->out);
	}
	fprintf(d->out, " %llu bytes (%.2f%%)</title>", (unsigned long long)n->bytes, share);
	fprintf(d->out,
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"2\" fill=\"",
		MARGIN_PX + x * d->px_per_byte, y, w, FRAME_PX - 1);
	if (i)
		put_fill(d->out, kind, n->func);
	else
		fputs("rgb(200,200,200)", d->out);
	fputs("\"/>", d->out);
	fit = w > 6 ? (size_t)((w - 6) / CHAR_PX) : 0;
	if (fit >= 3) {
		fprintf(d->out, "<text x=\"%.1f\" y=\"%.1f\">", MARGIN_PX + x * d->px_per_byte + 3,
			y + FRAME_PX - 4);
		if (strlen(n->func) <= fit) {
			put_escaped(d->out, n->func, SIZE_MAX);
		} else {
			put_escaped(d->out, n->func, fit - 2);
			fputs("..", d->out);
		}
		fputs("</text>", d->out);
	}
	fputs("</g>\n", d->out);
	for (c = n->first_child; c != NONE; c = d->t->nodes[c].next_sibling) {
		draw_node(d, c, x, depth + 1);
		x += d->t->nodes[c].bytes;
	}
}

static void put_header(FILE *out, const struct flamegraph_opts *o, double height, __u64 total)
{
	size_t k;

	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
		"height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n"
		"<style>text{font-family:monospace;font-size:12px;fill:#000}"
		"g:hover rect{stroke:#000;stroke-width:0.5}</style>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#f8f8f8\"/>\n"
		"<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" style=\"font-size:16px\">",
		WIDTH_PX, height, WIDTH_PX, height, WIDTH_PX / 2);
	put_escaped(out, o && o->title ? o->title : "memobs: bytes outstanding by stack", SIZE_MAX);
	fprintf(out,
		"</text>\n<text x=\"%.0f\" y=\"40\">%llu bytes outstanding (estimated from sampled "
		"allocations); hover a frame for its bytes</text>\n",
		MARGIN_PX, (unsigned long long)total);
	for (k = 0; k < ARRAY_SIZE(kind_names); k++) {
		double x = WIDTH_PX - MARGIN_PX - (ARRAY_SIZE(kind_names) - k) * 150;

		fprintf(out, "<rect x=\"%.0f\" y=\"30\" width=\"12\" height=\"12\" fill=\"", x);
		put_fill(out, k, "");
		fprintf(out, "\"/><text x=\"%.0f\" y=\"40\">", x + 16);
		put_escaped(out, kind_names[k], SIZE_MAX);
		fputs("</text>\n", out);
	}
}

int flamegraph__write(FILE *out, const struct site_record *sites, size_t nr,
		      const struct flamegraph_opts *opts)
{
	struct tree t = {};
	struct draw d;
	size_t i;
	int err = 0;

	if (tree__add(&t, "all", "") == NONE)
		return -ENOMEM;
	for (i = 0; i < nr && !err; i++)
		err = tree__insert(&t, &sites[i]);
	if (!err) {
		d.out = out;
		d.t = &t;
		d.height = HEADER_PX + (t.max_depth + 1) * FRAME_PX + MARGIN_PX;
		d.px_per_byte = t.nodes[0].bytes ? (WIDTH_PX - 2 * MARGIN_PX) / t.nodes[0].bytes
						 : 0;
		put_header(out, opts, d.height, t.nodes[0].bytes);
		/* an empty profile: the header alone (the root is 0 px wide) */
		draw_node(&d, 0, 0, 0);
		fputs("</svg>\n", out);
		err = ferror(out) ? -EIO : 0;
	}
	for (i = 0; i < t.nr; i++) {
		free(t.nodes[i].func);
		free(t.nodes[i].module);
	}
	free(t.nodes);
	return err;
}
