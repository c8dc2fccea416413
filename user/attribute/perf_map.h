/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * JIT code's names from a perf map, /tmp/perf-<PID>.map, the file that
 * V8/Node (--perf-basic-prof), the JVM's perf-map-agent, LuaJIT, .NET
 * (DOTNET_PerfMapEnabled) and others write so that perf can name code that
 * lives in no file. Read as perf reads it (tools/perf/util/symbol.c,
 * dso__load_perf_map): one function a line,
 *
 *     START SIZE name\n        START and SIZE hexadecimal ("0x" allowed),
 *                              one space after each, name the rest of the line
 *
 * Pure and bounded: the file is the observed process's to write (and it may
 * be huge and still growing), so the caller reads at most a capped prefix,
 * in steps as it grows (perf_map__append), and this parser keeps at most
 * max_entries entries; every line it does not keep (malformed, empty name,
 * zero size, wrapping range, past the cap) is counted in skipped. The
 * unterminated last line of a file being written is left for the next step.
 * Entries are sorted by start; of several at one start the file's last wins
 * (a JIT reuses freed code addresses and appends the new name).
 */
#ifndef MEMOBS_PERF_MAP_H
#define MEMOBS_PERF_MAP_H

#include <stddef.h>
#include <linux/types.h>

/* the longest name kept (longer ones are cut there): V8's run to a few hundred bytes */
#define PERF_MAP_NAME_MAX 1024

struct perf_map_entry {
	__u64 start, size;
	__u32 name_off; /* into perf_map.names, NUL-terminated */
	__u32 seq;	/* the line's index: the later wins at one start */
};

struct perf_map {
	struct perf_map_entry *entries; /* sorted by start, starts distinct */
	size_t nr;
	char *names;
	size_t names_len, names_cap;
	__u32 next_seq; /* the next line's seq */
	__u64 skipped;	/* lines not kept (and entries a later line replaced) */
};

/*
 * Parses text[0, len) (not necessarily NUL-terminated) into m, keeping at
 * most max_entries entries. 0 or -ENOMEM (m is then empty); free with
 * perf_map__free().
 */
int perf_map__parse(const char *text, size_t len, size_t max_entries, struct perf_map *m);

/*
 * The same for the file's next bytes, read where the last call stopped: the
 * complete lines of text[0, len) join m (m zeroed: the first call), at most
 * max_entries entries in all, later lines winning at one start. *consumed:
 * the bytes of those lines; an unterminated last line is left for the next
 * call, which reads it again whole. 0 or -ENOMEM (m as it was).
 */
int perf_map__append(struct perf_map *m, const char *text, size_t len, size_t max_entries,
		     size_t *consumed);

/* The entry covering addr ([start, start + size)), or NULL. */
const struct perf_map_entry *perf_map__find(const struct perf_map *m, __u64 addr);

static inline const char *perf_map__name(const struct perf_map *m, const struct perf_map_entry *e)
{
	return m->names + e->name_off;
}

/* The bytes m holds (entries and names): what a cache of maps counts. */
size_t perf_map__bytes(const struct perf_map *m);

void perf_map__free(struct perf_map *m); /* NULL-safe; m is left empty */

/*
 * The pid a process knows itself by (its perf map's name): the last field of
 * the NSpid line of /proc/PID/status text, its pid in the innermost pid
 * namespace. -ENOENT when there is no such line (kernels before 4.1: the
 * caller's pid is the one), -EINVAL when it does not parse.
 */
int perf_map__nspid(const char *status_text, int *nspid);

#endif /* MEMOBS_PERF_MAP_H */
