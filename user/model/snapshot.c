// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include "model/snapshot.h"

void snapshot__free(struct snapshot *snap)
{
	size_t i;

	if (!snap)
		return;
	for (i = 0; i < snap->nr_cgroups; i++)
		free(snap->cgroups[i].path);
	free(snap->cgroups);
	free(snap->procs);
	free(snap);
}

struct cgroup_stat *snapshot__find_cgroup(const struct snapshot *snap, __u64 id)
{
	size_t lo = 0, hi = snap->nr_cgroups;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (snap->cgroups[mid].id == id)
			return &snap->cgroups[mid];
		if (snap->cgroups[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void mem_figures__add(struct mem_figures *sum, const struct mem_figures *x)
{
	sum->anon_rss_bytes += x->anon_rss_bytes;
	sum->file_rss_bytes += x->file_rss_bytes;
	sum->shmem_rss_bytes += x->shmem_rss_bytes;
	sum->swap_bytes += x->swap_bytes;
	sum->heap_bytes += x->heap_bytes;
	sum->data_vm_bytes += x->data_vm_bytes;
	sum->mmap_bytes += x->mmap_bytes;
	sum->page_faults += x->page_faults;
}

void mem_figures__sub(struct mem_figures *sum, const struct mem_figures *x)
{
	sum->anon_rss_bytes -= x->anon_rss_bytes;
	sum->file_rss_bytes -= x->file_rss_bytes;
	sum->shmem_rss_bytes -= x->shmem_rss_bytes;
	sum->swap_bytes -= x->swap_bytes;
	sum->heap_bytes -= x->heap_bytes;
	sum->data_vm_bytes -= x->data_vm_bytes;
	sum->mmap_bytes -= x->mmap_bytes;
	sum->page_faults -= x->page_faults;
}
