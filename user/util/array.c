// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "util/array.h"

#define ARRAY_MIN_CAP 8

int array_grow(void **items, size_t *cap, size_t want, size_t elem_size)
{
	size_t new_cap = *cap ? *cap : ARRAY_MIN_CAP;
	void *bigger;

	if (want <= *cap)
		return 0;
	while (new_cap < want) {
		if (new_cap > SIZE_MAX / 2)
			return -ENOMEM;
		new_cap *= 2;
	}
	if (elem_size && new_cap > SIZE_MAX / elem_size)
		return -ENOMEM;
	bigger = realloc(*items, new_cap * elem_size);
	if (!bigger)
		return -ENOMEM;
	*items = bigger;
	*cap = new_cap;
	return 0;
}
