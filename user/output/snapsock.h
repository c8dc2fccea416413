/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's snapshot socket: `memobs run --socket PATH` serves every
 * snapshot to local clients (`memobs top`) so that a node never carries two
 * sets of probes. A Unix stream socket, mode 0600: only its owner connects.
 *
 * The stream carries frames, server to client only, one per sampler pass; a
 * client that connects gets the latest frame at once. A frame is a header
 * (magic, version, record sizes, counts, lengths), the snapshot's scalars and
 * the daemon's counters, the cgroup records, the process records, and a blob
 * of NUL-terminated strings (paths, container identity) the records point
 * into by offset. Same host, same binary layout: native byte order.
 *
 * The server never blocks its caller: a thread accepts, writes and drops;
 * publish only queues. A client that does not read is dropped when its
 * queue is full; a client that writes anything is dropped (it has nothing to
 * say in this protocol). The client validates every length and offset: what
 * is not a well-formed frame is -EPROTO with the reason in
 * snapsock_client__error().
 */
#ifndef MEMOBS_SNAPSOCK_H
#define MEMOBS_SNAPSOCK_H

#include <stddef.h>
#include "pipeline/pipeline.h"
#include "model/snapshot.h"

#define SNAPSOCK_DEFAULT_PATH "/run/memobs/memobs.sock"
#define SNAPSOCK_MAGIC 0x53424f4du /* "MOBS" */
#define SNAPSOCK_VERSION 1
/* Bounds that a frame must respect: what exceeds them is garbage, not data. */
#define SNAPSOCK_MAX_FRAME_BYTES (256u << 20)
#define SNAPSOCK_MAX_CGROUPS (1u << 20)
#define SNAPSOCK_MAX_PROCS (4u << 20)
/* Queued bytes per client beyond which it is dropped (at least two frames). */
#define SNAPSOCK_CLIENT_QUEUE_BYTES (4u << 20)
#define SNAPSOCK_MAX_CLIENTS 64

struct snapsock_server;
struct snapsock_client;

/*
 * Creates the socket's directory (0700) when missing and the socket (0600).
 * A socket file nobody listens on is stale and replaced; one that answers
 * belongs to another daemon: -EADDRINUSE. Errors are reported here.
 */
int snapsock_server__open(struct snapsock_server **out, const char *path);
/* Queues the snapshot for every client; never blocks. Returns 0 or -ENOMEM. */
int snapsock_server__publish(struct snapsock_server *srv, const struct snapshot *snap,
			     const struct pipeline_stats *st);
size_t snapsock_server__nr_clients(struct snapsock_server *srv);
/* Disconnects every client and unlinks the socket; NULL-safe. */
void snapsock_server__close(struct snapsock_server *srv);

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

/* The frame codec, shared by the server, the client and the in-process source. */
int snapsock__encode(const struct snapshot *snap, const struct pipeline_stats *st, void **buf,
		     size_t *len);
/*
 * Rebuilds a snapshot from one whole frame. *labels (free() it after the
 * snapshot) holds the container annotations the snapshot points to.
 */
int snapsock__decode(const void *buf, size_t len, struct snapshot **out, struct pipeline_stats *st,
		     void **labels, const char **why);
/* Writes a whole buffer to a blocking stream; -EPIPE when the reader left. */
int snapsock__write_all(int fd, const void *buf, size_t len);

#endif /* MEMOBS_SNAPSOCK_H */
