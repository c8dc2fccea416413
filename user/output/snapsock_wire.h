/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One frame of the snapshot socket (snapsock.h): a header (magic, version,
 * record sizes, counts, lengths), the snapshot's scalars and the daemon's
 * counters, the cgroup records, the process records, and a blob of
 * NUL-terminated strings (paths, container identity) the records point into
 * by offset. Same host, same binary layout: native byte order.
 *
 * Pure: no socket, no thread. The decoder validates every length and offset:
 * what is not a well-formed frame is -EPROTO with the reason in *why.
 */
#ifndef MEMOBS_SNAPSOCK_WIRE_H
#define MEMOBS_SNAPSOCK_WIRE_H

#include <stddef.h>
#include "model/snapshot.h"
#include "output/snapsock.h"

struct pipeline_stats;

/* The fixed part that begins every frame; it tells the length of the rest. */
#define SNAPSOCK_HEADER_BYTES 32u

/* Encodes a snapshot and the counters (NULL: zeros) into *buf, free() it. */
int snapsock__encode(const struct snapshot *snap, const struct pipeline_stats *st, void **buf,
		     size_t *len);
/*
 * Rebuilds a snapshot from one whole frame. *labels (free() it after the
 * snapshot) holds the container annotations the snapshot points to.
 */
int snapsock__decode(const void *buf, size_t len, struct snapshot **out, struct pipeline_stats *st,
		     void **labels, const char **why);
/*
 * How long the frame that begins at buf is, judged from its first len bytes
 * (a reader's progress): the magic's length before it has the magic,
 * SNAPSOCK_HEADER_BYTES before it has the whole header, then the whole
 * frame's length. -EPROTO as soon as those bytes cannot begin a frame.
 */
int snapsock__frame_bytes(const void *buf, size_t len, size_t *frame_bytes, const char **why);

#endif /* MEMOBS_SNAPSOCK_WIRE_H */
