// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "attribute/perf_map.h"
#include "util/array.h"

/* s[*pos, end) as hexadecimal ("0x" allowed, 1-16 digits); false when it is none. */
static bool parse_hex(const char *s, size_t end, size_t *pos, __u64 *v)
{
	size_t i = *pos, digits = 0;
	__u64 value = 0;

	if (end - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))
		i += 2;
	for (; i < end; i++, digits++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			break;
		if (digits == 16)
			return false;
		value = value << 4 | d;
	}
	if (!digits)
		return false;
	*pos = i;
	*v = value;
	return true;
}

/* Appends name s[0, len) (NULs inside made '?', cut at PERF_MAP_NAME_MAX) to the pool. */
static int add_name(struct perf_map *m, size_t *cap, const char *s, size_t len, __u32 *off)
{
	size_t i;

	if (len > PERF_MAP_NAME_MAX)
		len = PERF_MAP_NAME_MAX;
	if (m->names_len + len + 1 > UINT32_MAX)
		return -E2BIG;
	if (ARRAY_GROW(m->names, *cap, m->names_len + len + 1))
		return -ENOMEM;
	*off = (__u32)m->names_len;
	for (i = 0; i < len; i++)
		m->names[m->names_len++] = s[i] ? s[i] : '?';
	m->names[m->names_len++] = '\0';
	return 0;
}

/*
 * One line s[0, len) (no '\n') as perf reads it: START, one byte, SIZE, one
 * byte, the name. -EINVAL when it is not such a line.
 */
static int parse_line(const char *s, size_t len, __u64 *start, __u64 *size, size_t *name_at)
{
	size_t pos = 0;

	if (!parse_hex(s, len, &pos, start) || pos >= len || s[pos] != ' ')
		return -EINVAL;
	pos++;
	if (!parse_hex(s, len, &pos, size) || pos >= len || s[pos] != ' ')
		return -EINVAL;
	pos++;
	if (pos >= len || !*size || *start + *size < *start)
		return -EINVAL;
	*name_at = pos;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct perf_map_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorted, and of entries at one start only the last line's kept. */
static size_t sort_entries(struct perf_map_entry *e, size_t nr, __u64 *skipped)
{
	size_t i, k = 0;

	if (!nr)
		return 0; /* e may be NULL: qsort's argument must not be */
	qsort(e, nr, sizeof(*e), entry_cmp);
	for (i = 0; i < nr; i++) {
		if (i + 1 < nr && e[i + 1].start == e[i].start) {
			(*skipped)++;
			continue;
		}
		e[k++] = e[i];
	}
	return k;
}

/* m's entries and the sorted later ones in one sorted array; at one start, the later wins. */
static int merge(struct perf_map *m, const struct perf_map_entry *add, size_t nr_add)
{
	struct perf_map_entry *out;
	size_t i = 0, j = 0, k = 0;

	if (!nr_add)
		return 0;
	out = malloc((m->nr + nr_add) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	while (i < m->nr || j < nr_add) {
		if (j == nr_add || (i < m->nr && m->entries[i].start < add[j].start)) {
			out[k++] = m->entries[i++];
		} else {
			if (i < m->nr && m->entries[i].start == add[j].start) {
				i++; /* freed and jitted again: the later line */
				m->skipped++;
			}
			out[k++] = add[j++];
		}
	}
	free(m->entries);
	m->entries = out;
	m->nr = k;
	return 0;
}

/* One complete line into add[*nr_add] and the name pool, or counted as skipped. */
static int take_line(struct perf_map *m, const char *line, size_t line_len, size_t max_entries,
		     struct perf_map_entry **add, size_t *nr_add, size_t *cap_add)
{
	size_t name_at;
	__u64 start, size;
	__u32 name_off;
	int err;

	if (parse_line(line, line_len, &start, &size, &name_at) || m->nr + *nr_add >= max_entries ||
	    m->next_seq == UINT32_MAX) {
		m->skipped++;
		return 0;
	}
	if (ARRAY_GROW(*add, *cap_add, *nr_add + 1))
		return -ENOMEM;
	err = add_name(m, &m->names_cap, line + name_at, line_len - name_at, &name_off);
	if (err == -E2BIG) {
		m->skipped++;
		return 0;
	}
	if (err)
		return err;
	(*add)[(*nr_add)++] = (struct perf_map_entry){
		.start = start, .size = size, .name_off = name_off, .seq = m->next_seq++
	};
	return 0;
}

int perf_map__append(struct perf_map *m, const char *text, size_t len, size_t max_entries,
		     size_t *consumed)
{
	size_t pos = 0, nr_add = 0, cap_add = 0, names_len = m->names_len, line_len;
	struct perf_map_entry *add = NULL;
	__u64 skipped = m->skipped;
	const char *nl;
	int err = 0;

	while (pos < len && (nl = memchr(text + pos, '\n', len - pos))) {
		line_len = (size_t)(nl - (text + pos));
		err = take_line(m, text + pos, line_len, max_entries, &add, &nr_add, &cap_add);
		if (err)
			break;
		pos += line_len + 1;
	}
	if (!err) {
		nr_add = sort_entries(add, nr_add, &m->skipped);
		err = merge(m, add, nr_add);
	}
	free(add);
	if (err) {
		m->names_len = names_len; /* what the new lines added goes */
		m->skipped = skipped;
		return err;
	}
	*consumed = pos;
	return 0;
}

int perf_map__parse(const char *text, size_t len, size_t max_entries, struct perf_map *m)
{
	size_t consumed = 0;
	int err;

	memset(m, 0, sizeof(*m));
	err = perf_map__append(m, text, len, max_entries, &consumed);
	if (err) {
		perf_map__free(m);
		return err;
	}
	if (consumed < len)
		m->skipped++; /* being written: the rest of its last line is not there yet */
	return 0;
}

const struct perf_map_entry *perf_map__find(const struct perf_map *m, __u64 addr)
{
	size_t lo = 0, hi = m ? m->nr : 0;
	const struct perf_map_entry *e;

	/* the last entry starting at or below addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->entries[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	e = &m->entries[lo - 1];
	return addr - e->start < e->size ? e : NULL;
}

size_t perf_map__bytes(const struct perf_map *m)
{
	return m ? m->nr * sizeof(*m->entries) + m->names_len : 0;
}

void perf_map__free(struct perf_map *m)
{
	if (!m)
		return;
	free(m->entries);
	free(m->names);
	memset(m, 0, sizeof(*m));
}

int perf_map__nspid(const char *status_text, int *nspid)
{
	const char *line = status_text, *end, *last = NULL, *p;
	char *num_end;
	long v;

	for (; line && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		if (strncmp(line, "NSpid:", 6))
			continue;
		/* the last whitespace-separated field of the line */
		for (p = line + 6; *p && p != end; p++)
			if ((*p >= '0' && *p <= '9') &&
			    (p[-1] == ' ' || p[-1] == '\t' || p[-1] == ':'))
				last = p;
		if (!last)
			return -EINVAL;
		v = strtol(last, &num_end, 10);
		if (v <= 0 || v > 0x7fffffff || (*num_end && *num_end != '\n' && *num_end != ' '))
			return -EINVAL;
		*nspid = (int)v;
		return 0;
	}
	return -ENOENT;
}
