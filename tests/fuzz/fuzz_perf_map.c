// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A process's perf map, /tmp/perf-PID.map (attribute/perf_map.h): text the
 * observed process writes, read by memobs itself. The input is the file's
 * prefix, parsed with a small entry cap; the entries must come out sorted,
 * distinct, non-empty, and every lookup must land within its entry.
 * Seeds (tests/fuzz/corpus/perf_map/): node's, the JVM agent's, and broken lines.
 */
#include "attribute/perf_map.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, not NUL-terminated: the parser takes a length */
	char *copy = malloc(size ? size : 1);
	const struct perf_map_entry *e;
	struct perf_map m;
	size_t i;
	__u64 addr;

	if (!copy)
		abort();
	memcpy(copy, data, size);
	if (!perf_map__parse(copy, size, 64, &m)) {
		FUZZ_ASSERT(m.nr <= 64);
		for (i = 0; i < m.nr; i++) {
			e = &m.entries[i];
			FUZZ_ASSERT(e->size > 0 && e->start + e->size > e->start);
			FUZZ_ASSERT(i == 0 || m.entries[i - 1].start < e->start);
			FUZZ_ASSERT(e->name_off < m.names_len);
			FUZZ_ASSERT(strlen(perf_map__name(&m, e)) <= PERF_MAP_NAME_MAX);
			FUZZ_ASSERT(perf_map__find(&m, e->start) == e);
		}
		for (i = 0; i + 8 <= size && i < 64; i += 8) {
			memcpy(&addr, data + i, 8);
			e = perf_map__find(&m, addr);
			FUZZ_ASSERT(!e || (addr >= e->start && addr - e->start < e->size));
		}
		perf_map__free(&m);
	}
	/* the same bytes as a file read twice, split where its first byte says */
	if (size) {
		size_t split = data[0] * size / 256, used = 0, used2 = 0;

		memset(&m, 0, sizeof(m));
		if (!perf_map__append(&m, copy, split, 64, &used)) {
			FUZZ_ASSERT(used <= split);
			if (!perf_map__append(&m, copy + used, size - used, 64, &used2)) {
				FUZZ_ASSERT(used + used2 <= size);
				for (i = 1; i < m.nr; i++)
					FUZZ_ASSERT(m.entries[i - 1].start < m.entries[i].start);
				FUZZ_ASSERT(m.nr <= 64);
			}
		}
		perf_map__free(&m);
	}
	free(copy);
	return 0;
}
