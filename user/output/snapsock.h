/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's snapshot socket: `memobs run --socket PATH` serves every
 * snapshot to local clients (`memobs top`) so that a node never carries two
 * sets of probes. A Unix stream socket, mode 0600: only its owner connects.
 *
 * The stream carries frames, server to client only, one per sampler pass; a
 * client that connects gets the latest frame at once. Three modules, one
 * concern each:
 *   snapsock_wire.h    a frame: how a snapshot becomes bytes and back (pure)
 *   snapsock_server.h  the daemon's end: accepts, queues, writes, drops
 *   snapsock_client.h  the reader's end: receives and validates frames
 * This header holds what both ends (and their command lines) agree on.
 */
#ifndef MEMOBS_SNAPSOCK_H
#define MEMOBS_SNAPSOCK_H

#define SNAPSOCK_DEFAULT_PATH "/run/memobs/memobs.sock"
#define SNAPSOCK_MAGIC 0x53424f4du /* "MOBS" */
/* Client and server are the same binary; a layout change bumps it anyway. */
#define SNAPSOCK_VERSION 2 /* 2: struct proc_stat holds its figures as struct mem_figures */
/* Bounds that a frame must respect: what exceeds them is garbage, not data. */
#define SNAPSOCK_MAX_FRAME_BYTES (256u << 20)
#define SNAPSOCK_MAX_CGROUPS (1u << 20)
#define SNAPSOCK_MAX_PROCS (4u << 20)

#endif /* MEMOBS_SNAPSOCK_H */
