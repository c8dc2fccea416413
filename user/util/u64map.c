// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "util/u64map.h"

static size_t slot_of(uint64_t key, size_t cap)
{
	return (size_t)u64_mix(key) & (cap - 1);
}

void u64map_init(struct u64map *m)
{
	memset(m, 0, sizeof(*m));
}

void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->values);
	u64map_init(m);
}

void u64map_clear(struct u64map *m)
{
	if (m->cap)
		memset(m->keys, 0, m->cap * sizeof(*m->keys));
	m->len = 0;
}

static int grow(struct u64map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64, i;
	struct u64map bigger = { .cap = cap };

	bigger.keys = calloc(cap, sizeof(*bigger.keys));
	bigger.values = calloc(cap, sizeof(*bigger.values));
	if (!bigger.keys || !bigger.values) {
		free(bigger.keys);
		free(bigger.values);
		return -ENOMEM;
	}
	for (i = 0; i < m->cap; i++)
		if (m->keys[i])
			u64map_put(&bigger, m->keys[i], m->values[i]);
	free(m->keys);
	free(m->values);
	*m = bigger;
	return 0;
}

int u64map_put(struct u64map *m, uint64_t key, uint64_t value)
{
	size_t i;
	int err;

	if (!key)
		return -EINVAL;
	/* keep the load factor under 1/2 */
	if ((m->len + 1) * 2 > m->cap && (err = grow(m)))
		return err;
	for (i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			m->values[i] = value;
			return 0;
		}
		if (!m->keys[i]) {
			m->keys[i] = key;
			m->values[i] = value;
			m->len++;
			return 0;
		}
	}
}

static bool find(const struct u64map *m, uint64_t key, size_t *slot)
{
	size_t i;

	if (!m->cap || !key)
		return false;
	for (i = slot_of(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			*slot = i;
			return true;
		}
	}
	return false;
}

bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *value)
{
	size_t i;

	if (!find(m, key, &i))
		return false;
	if (value)
		*value = m->values[i];
	return true;
}

bool u64map_del(struct u64map *m, uint64_t key)
{
	size_t hole, i, home, mask = m->cap - 1;

	if (!find(m, key, &hole))
		return false;
	m->keys[hole] = 0;
	m->len--;
	/* shift back the entries of the run that could not sit in the hole before */
	for (i = (hole + 1) & mask; m->keys[i]; i = (i + 1) & mask) {
		home = slot_of(m->keys[i], m->cap);
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			m->keys[hole] = m->keys[i];
			m->values[hole] = m->values[i];
			m->keys[i] = 0;
			hole = i;
		}
	}
	return true;
}

bool u64map_next(const struct u64map *m, size_t *iter, uint64_t *key, uint64_t *value)
{
	while (*iter < m->cap) {
		size_t i = (*iter)++;

		if (m->keys[i]) {
			*key = m->keys[i];
			if (value)
				*value = m->values[i];
			return true;
		}
	}
	return false;
}
