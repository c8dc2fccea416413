// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Writes the snapshot-socket seeds of tests/fuzz/corpus/snapsock/: real
 * frames made by snapsock__encode(). `make fuzz-seeds` builds and runs it
 * (against the plain library); the files it writes are committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "identity/container.h"
#include "output/records.h"
#include "output/snapsock_wire.h"

static struct container_id web = {
	.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	.runtime = "containerd",
	.pod_uid = "0f3c6b2a-9d1e-4b8a-a1f2-3c4d5e6f7a8b",
	.pod = "web-0",
	.namespace = "shop",
	.name = "nginx",
};

/* nr_cgroups cgroups of procs_each processes; the second is a container. */
static struct snapshot *make_snapshot(size_t nr_cgroups, size_t procs_each, __u64 big)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	size_t i, k, p = 0;

	s->ts_ms = 1700000000123ull;
	s->mono_ns = 42000000000ull;
	s->interval_s = 1.0;
	s->host_mem_total_bytes = 8ull << 30;
	s->host_mem_available_bytes = 3ull << 30;
	s->cgroups = calloc(nr_cgroups + 1, sizeof(*s->cgroups));
	s->procs = calloc(nr_cgroups * procs_each + 1, sizeof(*s->procs));
	s->nr_cgroups = nr_cgroups;
	for (i = 0; i < nr_cgroups; i++) {
		struct cgroup_stat *cg = &s->cgroups[i];
		char path[128];

		snprintf(path, sizeof(path), "/kubepods.slice/cri-containerd-%zu.scope", i);
		cg->id = 100 + i;
		cg->path = strdup(path);
		cg->mem.anon_rss_bytes = big ? big : 1000000 * (i + 1);
		cg->mem.heap_bytes = big ? big : 4096 * i;
		cg->mem.mmap_bytes = big ? big : 8192 * i;
		cg->mem.page_faults = big ? big : 10 * i;
		cg->growth_bytes_per_s = big ? 1e300 : 12.5 * i;
		cg->time_to_limit_s = i == 1 ? 60 : -1;
		cg->limit_bytes = i == 1 ? (big ? big : 1 << 30) : 0;
		cg->leak_state = i == 1 ? LEAK_SUSPECTED : LEAK_NONE;
		cg->malloc_outstanding_bytes = big ? big : 77;
		cg->container = i == 1 ? &web : NULL;
		cg->first_proc = p;
		cg->nr_procs = procs_each;
		for (k = 0; k < procs_each; k++, p++) {
			s->procs[p].pid = 10 * i + k + 1;
			s->procs[p].cgroup_id = cg->id;
			s->procs[p].nr_threads = 1;
			s->procs[p].mem.anon_rss_bytes = big ? big : 4096 * k;
			snprintf(s->procs[p].comm, sizeof(s->procs[p].comm), "worker%zu", k);
		}
	}
	s->nr_procs = p;
	return s;
}

static int write_frame(const char *dir, const char *name, const struct snapshot *s)
{
	static const struct pipeline_stats st = { .events = 5, .ringbuf_drops = 2, .map_full = 1 };
	char path[4096];
	size_t len;
	void *buf;
	FILE *f;
	int err;

	err = snapsock__encode(s, &st, &buf, &len);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		free(buf);
		return -1;
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	struct snapshot *s;
	int err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: seedgen DIR\n");
		return 2;
	}
	s = make_snapshot(3, 2, 0);
	err |= write_frame(argv[1], "three-cgroups", s);
	snapshot__free(s);
	s = make_snapshot(0, 0, 0);
	err |= write_frame(argv[1], "empty", s);
	snapshot__free(s);
	s = make_snapshot(2, 1, ~0ull);
	err |= write_frame(argv[1], "u64-max-figures", s);
	snapshot__free(s);
	return err ? 1 : 0;
}
