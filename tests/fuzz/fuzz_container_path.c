// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Container identity from what a container controls: the cgroup path
 * (container_id__parse_path: runtimes name cgroups after ids, and a
 * privileged container can create cgroups of any name below its own) and
 * the kubelet's termination-log mount in a process's mountinfo
 * (kubelet_container_from_mountinfo). The first line of the input is the
 * cgroup path, the rest the mountinfo text.
 */
#include <errno.h>
#include "identity/container.h"
#include "fuzz.h"

static void check_field(const char *s)
{
	if (s)
		FUZZ_ASSERT(strlen(s) < 1 << 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strdup(data, size), *nl, *name;
	struct container_id c = {};
	int err;

	nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	err = container_id__parse_path(text, &c);
	FUZZ_ASSERT(err == 0 || err == -ENOENT || err == -ENOMEM);
	if (!err) {
		if (c.id)
			FUZZ_ASSERT(strlen(c.id) == CONTAINER_ID_LEN);
		if (c.pod_uid) {
			FUZZ_ASSERT(strlen(c.pod_uid) >= POD_UID_MIN_LEN);
			FUZZ_ASSERT(strlen(c.pod_uid) <= POD_UID_MAX_LEN);
		}
		check_field(c.runtime);
		check_field(c.name);
		if (nl && c.pod_uid) {
			name = kubelet_container_from_mountinfo(nl + 1, c.pod_uid);
			free(name);
		}
	} else {
		FUZZ_ASSERT(!c.id && !c.runtime && !c.pod_uid && !c.name);
	}
	if (nl) {
		/* a pod uid of the mountinfo's own, as the resolver passes one */
		name = kubelet_container_from_mountinfo(nl + 1,
							"0f3c6b2a-9d1e-4b8a-a1f2-3c4d5e6f7a8b");
		free(name);
	}
	container_id__clear(&c);
	FUZZ_ASSERT(!c.id && !c.pod_uid);
	free(text);
	return 0;
}
