// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The snapshot socket's decoder (output/snapsock_wire.c) reads frames from a
 * socket that anyone allowed to connect to may write (the client side of
 * `memobs top --connect` trusts nothing): snapsock__frame_bytes() on every
 * prefix, as a reader sees the bytes arrive; snapsock__decode() on the
 * whole; and what decodes goes where `top` takes it: re-encoded (a frame
 * must round-trip), the top model, and the plain table (every cell
 * formatted, figures off the socket as they come).
 */
#include <errno.h>
#include "output/records.h"
#include "output/snapsock_wire.h"
#include "top/top_model.h"
#include "top/top_table.h"
#include "fuzz.h"

static void prefixes(const uint8_t *data, size_t size)
{
	size_t n, frame_bytes, step = size / 64 + 1;
	const char *why = NULL;
	int err;

	for (n = 0; n <= size; n += step) {
		err = snapsock__frame_bytes(data, n, &frame_bytes, &why);
		FUZZ_ASSERT(err == 0 || err == -EPROTO);
		if (err)
			FUZZ_ASSERT(why);
		else
			FUZZ_ASSERT(frame_bytes > 0);
	}
}

static void show(const struct snapshot *snap)
{
	struct top_model *m = top_model__new();
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	if (!m)
		abort();
	out = open_memstream(&text, &len);
	if (!out)
		abort();
	if (top_model__update(m, snap) == 0) {
		top_print_table(out, m, 0, true);
		top_model__set_sort(m, TOP_COL_FAULTS, true);
		top_print_table(out, m, 3, false);
	}
	fclose(out);
	free(text);
	top_model__free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot *snap = NULL, *again = NULL;
	struct pipeline_stats st = {}, st2 = {};
	void *labels = NULL, *labels2 = NULL, *frame = NULL;
	const char *why = NULL;
	size_t frame_len = 0, frame_bytes;
	int err;

	prefixes(data, size);
	/* the decoder gets a whole frame as the reader cut it: an aligned copy */
	void *copy = malloc(size ? size : 1);

	if (!copy)
		abort();
	memcpy(copy, data, size);
	err = snapsock__decode(copy, size, &snap, &st, &labels, &why);
	FUZZ_ASSERT(err == 0 || err == -EPROTO || err == -ENOMEM);
	if (err) {
		FUZZ_ASSERT(err != -EPROTO || why);
		goto out;
	}
	/* a frame that decodes says its own length */
	FUZZ_ASSERT(snapsock__frame_bytes(copy, size, &frame_bytes, &why) == 0);
	FUZZ_ASSERT(frame_bytes == size);
	FUZZ_ASSERT(snapsock__encode(snap, &st, &frame, &frame_len) == 0);
	err = snapsock__decode(frame, frame_len, &again, &st2, &labels2, &why);
	if (err)
		fprintf(stderr, "re-encoded frame does not decode: %s\n", why ? why : "?");
	FUZZ_ASSERT(err == 0);
	FUZZ_ASSERT(again->nr_cgroups == snap->nr_cgroups && again->nr_procs == snap->nr_procs);
	FUZZ_ASSERT(!memcmp(&st, &st2, sizeof(st)));
	show(snap);
out:
	snapshot__free(again);
	free(labels2);
	free(frame);
	snapshot__free(snap);
	free(labels);
	free(copy);
	return 0;
}
