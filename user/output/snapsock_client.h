/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The reader's end of the snapshot socket (snapsock.h), as `memobs top`
 * uses it: receives the frames of snapsock_wire.h and rebuilds snapshots.
 * The client validates every length and offset: what is not a well-formed
 * frame is -EPROTO with the reason in snapsock_client__error().
 */
#ifndef MEMOBS_SNAPSOCK_CLIENT_H
#define MEMOBS_SNAPSOCK_CLIENT_H

#include "model/snapshot.h"
#include "output/snapsock.h"

struct snapsock_client;
struct pipeline_stats;

/*
 * Connects within timeout_ms. -ENOENT (no socket) and -ECONNREFUSED (stale
 * socket) mean no daemon runs; -EACCES, -ETIMEDOUT and others are errors.
 * Not reported here: the caller decides between falling back and failing.
 */
int snapsock_client__connect(struct snapsock_client **out, const char *path, int timeout_ms);
/* A client over an already connected stream (the in-process collector's end). */
int snapsock_client__from_fd(struct snapsock_client **out, int fd);
/*
 * Waits up to timeout_ms for the next frame. *out is freed with
 * snapshot__free(); its container annotations belong to the client and stay
 * valid until the next recv or close (or take them). Returns 0, -ETIMEDOUT,
 * -EPROTO (garbage), -ECONNRESET (the daemon went away), -EINTR (a signal
 * came; a frame begun is kept and the next call goes on with it) or -errno.
 */
int snapsock_client__recv(struct snapsock_client *c, struct snapshot **out,
			  struct pipeline_stats *st, int timeout_ms);
/*
 * Hands the container annotations of the last snapshot received over to the
 * caller, who free()s them after that snapshot (e.g. to keep showing a
 * snapshot while newer ones arrive). NULL when it had none.
 */
void *snapsock_client__take_labels(struct snapsock_client *c);
/* Why the last recv failed, for a message. */
const char *snapsock_client__error(const struct snapsock_client *c);
int snapsock_client__fd(const struct snapsock_client *c); /* to poll for input */
void snapsock_client__close(struct snapsock_client *c);	  /* NULL-safe; closes the fd */

#endif /* MEMOBS_SNAPSOCK_CLIENT_H */
