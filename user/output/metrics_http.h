/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The HTTP side of the metrics (libmicrohttpd, its own thread): /metrics
 * serves the latest rendered text, /healthz says whether the pipeline is
 * alive. Off unless `--metrics ADDR:PORT` asks; binds exactly where told.
 */
#ifndef MEMOBS_METRICS_HTTP_H
#define MEMOBS_METRICS_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

struct metrics_server;

/*
 * "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464", ":9464" (all IPv4
 * interfaces). Numeric addresses only; port 0 picks a free one. Returns 0 or
 * -EINVAL.
 */
int metrics_addr__parse(const char *addr_port, struct sockaddr_storage *out, socklen_t *len);

/*
 * Listens on addr_port and serves from a thread. interval_s is the pipeline's
 * period: /healthz answers 200 "ok" while a text was published within three
 * of them, 503 before the first and after a stall. Returns 0, -EINVAL for a
 * bad address, or the -errno of socket/bind/listen (-EADDRINUSE, -EACCES).
 */
int metrics_server__start(struct metrics_server **out, const char *addr_port, double interval_s);
/* The port listened on (the one chosen when asked for 0). */
int metrics_server__port(const struct metrics_server *s);
/* Replaces the served text by a copy of text; thread-safe. Returns 0 or -ENOMEM. */
int metrics_server__publish(struct metrics_server *s, const char *text, size_t len);
/*
 * Renders a snapshot and memobs's own figures (metrics__render) and publishes
 * the text: once per pass. Returns 0 or -ENOMEM.
 */
struct snapshot;
struct metrics_self;
int metrics_server__publish_snapshot(struct metrics_server *s, const struct snapshot *snap,
				     const struct metrics_self *self, unsigned int max_cgroups);
/* Stops the thread, closes the socket; NULL-safe. */
void metrics_server__stop(struct metrics_server *s);

#endif /* MEMOBS_METRICS_HTTP_H */
