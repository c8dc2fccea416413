// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * json_lookup_string() reads Docker's config.v2.json, which the container's
 * creator writes (its labels and name): every key path the resolver asks
 * for (identity/container.c), plus shallow and unknown ones.
 */
#include "util/json_read.h"
#include "fuzz.h"

static const char *const name_key[] = { "Name" };
static const char *const pod_name[] = { "Config", "Labels", "io.kubernetes.pod.name" };
static const char *const pod_uid[] = { "Config", "Labels", "io.kubernetes.pod.uid" };
static const char *const pod_ns[] = { "Config", "Labels", "io.kubernetes.pod.namespace" };
static const char *const ctr_name[] = { "Config", "Labels", "io.kubernetes.container.name" };
static const char *const deep[] = { "a", "b", "c", "d", "e", "f", "g", "h" };
static const char *const empty_key[] = { "" };

static const struct {
	const char *const *keys;
	int nr;
} paths[] = {
	{ name_key, 1 }, { pod_name, 3 }, { pod_uid, 3 },   { pod_ns, 3 },
	{ ctr_name, 3 }, { deep, 8 },	  { empty_key, 1 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *doc = fuzz_strdup(data, size), *s;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		s = json_lookup_string(doc, paths[i].keys, paths[i].nr);
		if (s)
			/* unescaping never lengthens: \uXXXX is 6 bytes, its UTF-8 at most 4 */
			FUZZ_ASSERT(strlen(s) <= size);
		free(s);
	}
	free(doc);
	return 0;
}
