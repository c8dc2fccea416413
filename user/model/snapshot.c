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
