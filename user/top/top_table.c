// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <langinfo.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include "util/fmt.h"
#include "top/top_table.h"

/* Bytes of one cell: a name not shortened (the plain table) fits. */
#define CELL_MAX 512
/* The plain table's names are not shortened: at most this many columns. */
#define TABLE_NAME_MAX 200

bool top_locale_is_utf8(void)
{
	const char *codeset = nl_langinfo(CODESET);

	return codeset && (!strcasecmp(codeset, "UTF-8") || !strcasecmp(codeset, "utf8"));
}

void top_format_cell(const struct top_model *m, const struct top_row *row, enum top_col col,
		     size_t width, bool utf8, char *buf, size_t n)
{
	double v = top_model__value(m, row, col);
	const struct cgroup_stat *cg = row->cg;
	char label[256], comm[MEMOBS_COMM_LEN + 1], pid_comm[64];
	const double *hist;
	size_t nr;

	buf[0] = '\0';
	switch (col) {
	case TOP_COL_NAME:
		if (row->proc) {
			fmt_sanitize(comm, sizeof(comm), row->proc->comm, MEMOBS_COMM_LEN);
			snprintf(pid_comm, sizeof(pid_comm), "  %u %s", row->proc->pid, comm);
			fmt_sanitize(buf, n, pid_comm, width);
		} else {
			fmt_cgroup_name(buf, n, cg->path ? cg->path : "(removed)",
					top_model__container_label(cg, label, sizeof(label)), width,
					utf8);
		}
		break;
	case TOP_COL_PROCS:
		snprintf(buf, n, "%.0f", v);
		break;
	case TOP_COL_ANON:
	case TOP_COL_HEAP_VM:
	case TOP_COL_MMAP_VM:
		/* a u64 near UINT64_MAX is a double of 2^64: no (__u64) cast of it */
		fmt_size_double(buf, n, v);
		break;
	case TOP_COL_GROWTH:
		if (!row->proc)
			fmt_rate(buf, n, v);
		break;
	case TOP_COL_TREND:
		if (!row->proc) {
			nr = top_model__history(m, cg->id, &hist);
			fmt_sparkline(buf, n, hist, nr, width, utf8);
		}
		break;
	case TOP_COL_FAULTS:
		fmt_count(buf, n, v);
		break;
	case TOP_COL_MALLOC:
	case TOP_COL_LIMIT:
		if (row->proc)
			break;
		fmt_size_double(buf, n, v); /* NaN: "-" */
		break;
	case TOP_COL_TTL:
		if (!row->proc)
			fmt_duration(buf, n, isnan(v) ? -1 : v);
		break;
	case TOP_COL_STATE:
		if (!row->proc && cg->leak_state == LEAK_SUSPECTED)
			snprintf(buf, n, "LEAK");
		break;
	case TOP_COL_NR:
		break;
	}
}

bool top_row_is_leak(const struct top_row *row)
{
	return !row->proc && row->cg->leak_state == LEAK_SUSPECTED;
}

bool top_has_malloc(const struct top_model *m)
{
	const struct snapshot *s = top_model__snapshot(m);
	size_t i;

	for (i = 0; s && i < s->nr_cgroups; i++) {
		if (s->cgroups[i].malloc_outstanding_bytes)
			return true;
	}
	return false;
}

/* Columns a UTF-8 string takes: its bytes less the continuation bytes. */
static size_t display_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/*
 * One line of text, the cells laid out in their columns: the name and the
 * sparkline left-aligned, figures right-aligned after a space. A title one
 * column too wide (it carries the sort arrow) takes that space.
 */
static void layout_line(const bool visible[TOP_COL_NR], size_t name_width, char marker,
			char cells[TOP_COL_NR][CELL_MAX], char *line, size_t n)
{
	size_t len = 0, w, shown;
	int c;

	len += snprintf(line + len, n - len, "%c ", marker);
	for (c = 0; c < TOP_COL_NR && len < n; c++) {
		if (!visible[c])
			continue;
		w = c == TOP_COL_NAME ? name_width : (size_t)top_cols[c].width;
		shown = display_width(cells[c]);
		if (c == TOP_COL_NAME)
			len += snprintf(line + len, n - len, "%s%*s", cells[c],
					(int)(w > shown ? w - shown : 0), "");
		else if (c == TOP_COL_TREND)
			len += snprintf(line + len, n - len, " %s%*s", cells[c],
					(int)(w > shown ? w - shown : 0), "");
		else
			len += snprintf(line + len, n - len, "%s%*s%s", shown > w ? "" : " ",
					(int)(w > shown ? w - shown : 0), "", cells[c]);
	}
}

void top_format_titles(const struct top_model *m, const bool visible[TOP_COL_NR], size_t name_width,
		       bool arrows, bool utf8, char *line, size_t n)
{
	enum top_col sort_col = top_model__sort_col(m);
	bool descending = top_cols[sort_col].descending != top_model__sort_reverse(m);
	const char *arrow = utf8 ? (descending ? "▼" : "▲") : (descending ? "v" : "^");
	char cells[TOP_COL_NR][CELL_MAX];
	int c;

	for (c = 0; c < TOP_COL_NR; c++) {
		bool left = c == TOP_COL_NAME || c == TOP_COL_TREND;

		cells[c][0] = '\0';
		if (!visible[c])
			continue;
		if (arrows && (enum top_col)c == sort_col)
			snprintf(cells[c], sizeof(cells[c]), "%s%s%s", left ? "" : arrow,
				 top_cols[c].title, left ? arrow : "");
		else
			snprintf(cells[c], sizeof(cells[c]), "%s", top_cols[c].title);
	}
	layout_line(visible, name_width, ' ', cells, line, n);
}

void top_format_row(const struct top_model *m, const struct top_row *row,
		    const bool visible[TOP_COL_NR], size_t name_width, bool utf8, char *line,
		    size_t n)
{
	char cells[TOP_COL_NR][CELL_MAX];
	int c;

	for (c = 0; c < TOP_COL_NR; c++) {
		cells[c][0] = '\0';
		if (visible[c])
			top_format_cell(m, row, c,
					c == TOP_COL_NAME ? name_width : (size_t)top_cols[c].width,
					utf8, cells[c], sizeof(cells[c]));
	}
	layout_line(visible, name_width, top_row_is_leak(row) ? '!' : ' ', cells, line, n);
}

int top_print_table(FILE *out, const struct top_model *m, int max_rows, bool utf8)
{
	const struct top_row *rows;
	size_t nr = top_model__rows(m, &rows), i, name_width = 4;
	bool visible[TOP_COL_NR], with_malloc = top_has_malloc(m);
	char name[CELL_MAX], line[2048];
	int c, shown = 0;

	for (c = 0; c < TOP_COL_NR; c++)
		visible[c] = c != TOP_COL_MALLOC || with_malloc;
	for (i = 0; i < nr; i++) {
		top_format_cell(m, &rows[i], TOP_COL_NAME, TABLE_NAME_MAX, utf8, name,
				sizeof(name));
		if (strlen(name) > name_width)
			name_width = strlen(name);
	}
	top_format_titles(m, visible, name_width, false, utf8, line, sizeof(line));
	if (fprintf(out, "%s\n", line) < 0)
		return -EIO;
	for (i = 0; i < nr; i++) {
		if (!rows[i].proc && max_rows > 0 && shown++ >= max_rows)
			break;
		top_format_row(m, &rows[i], visible, name_width, utf8, line, sizeof(line));
		if (fprintf(out, "%s\n", line) < 0)
			return -EIO;
	}
	return fflush(out) ? -EIO : 0;
}
