/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's end of the snapshot socket (snapsock.h): the frames of
 * snapsock_wire.h to every local client.
 *
 * The server never blocks its caller: a thread accepts, writes and drops;
 * publish only queues. A client that does not read is dropped when its
 * queue is full; a client that writes anything is dropped (it has nothing to
 * say in this protocol).
 */
#ifndef MEMOBS_SNAPSOCK_SERVER_H
#define MEMOBS_SNAPSOCK_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "model/snapshot.h"
#include "output/snapsock.h"

/* Queued bytes per client beyond which it is dropped (at least two frames). */
#define SNAPSOCK_CLIENT_QUEUE_BYTES (4u << 20)
#define SNAPSOCK_MAX_CLIENTS 64

struct snapsock_server;
struct pipeline_stats;

/*
 * Creates the socket's directory (0700) when missing and the socket (0600).
 * An existing directory must be ours and writable by us alone, else -EPERM.
 * A socket file nobody listens on is stale and replaced; one that answers
 * belongs to another daemon: -EADDRINUSE. Errors are reported here.
 */
int snapsock_server__open(struct snapsock_server **out, const char *path);
/*
 * Queues the snapshot for every client, and keeps it for one that connects
 * before the next pass; never blocks. With no client, or snap NULL, there is
 * no frame and none kept: a client connecting then waits until the caller
 * publishes again (snapsock_server__wants_frame() tells it to). Returns 0 or
 * -ENOMEM.
 */
int snapsock_server__publish(struct snapsock_server *srv, const struct snapshot *snap,
			     const struct pipeline_stats *st);
size_t snapsock_server__nr_clients(struct snapsock_server *srv);
/* A client is connected and no frame is kept for it: one should be published. */
bool snapsock_server__wants_frame(struct snapsock_server *srv);
/* Disconnects every client and unlinks the socket; NULL-safe. */
void snapsock_server__close(struct snapsock_server *srv);

/*
 * Clients refused (SNAPSOCK_MAX_CLIENTS already) are told on stderr without
 * flooding it: the first at once, then at most one line per
 * SNAPSOCK_REFUSAL_REPORT_MS with the count since the last line. Pure, for
 * the unit tests; the server's thread is its only user.
 */
#define SNAPSOCK_REFUSAL_REPORT_MS 60000

struct snapsock_refusals {
	bool reported;	      /* a line was written, at last_report_ms */
	__u64 last_report_ms; /* CLOCK_MONOTONIC */
	__u64 unreported;     /* refusals since that line */
};

/* A refusal at now_ms: how many refusals to report now (this one included), or 0. */
__u64 snapsock_refusals__note(struct snapsock_refusals *r, __u64 now_ms);
/* Without a refusal: the count whose line is due at now_ms, or 0. */
__u64 snapsock_refusals__due(struct snapsock_refusals *r, __u64 now_ms);
/* Milliseconds until a count is due (a poll timeout); -1: none pending. */
int snapsock_refusals__wait_ms(const struct snapsock_refusals *r, __u64 now_ms);

/*
 * Without a server: writes a whole frame (or any buffer) to one blocking
 * stream, as the in-process collector of `memobs top` does to its reader.
 * -EPIPE when the reader left.
 */
int snapsock__write_all(int fd, const void *buf, size_t len);

#endif /* MEMOBS_SNAPSOCK_SERVER_H */
