/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The HTTP side of the metrics (libmicrohttpd, a thread per listener):
 * /metrics serves the latest rendered text, /healthz says whether the
 * pipeline is alive. Off unless `--metrics ADDR:PORT` asks; binds exactly
 * where told.
 *
 * `--health ADDR:PORT` serves /healthz alone on a second listener, for the
 * kubelet's probes: clients of /metrics, however many and however slow,
 * cannot starve it. Each listener holds at most METRICS_HTTP_PER_IP_CONNECTIONS
 * connections from one address (more are accepted and closed at once) and
 * closes a connection idle for METRICS_HTTP_IDLE_TIMEOUT_S (the health
 * listener: 2 s).
 */
#ifndef MEMOBS_METRICS_HTTP_H
#define MEMOBS_METRICS_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#define METRICS_HTTP_PER_IP_CONNECTIONS 4
#define METRICS_HTTP_IDLE_TIMEOUT_S 5

struct metrics_server;

/*
 * "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464", ":9464" (all IPv4
 * interfaces). Numeric addresses only; port 0 picks a free one. Returns 0 or
 * -EINVAL.
 */
int metrics_addr__parse(const char *addr_port, struct sockaddr_storage *out, socklen_t *len);

/*
 * Listens on addr_port (NULL: no /metrics listener, for a health listener
 * alone) and serves from a thread. interval_s is the pipeline's period:
 * /healthz answers 200 "ok" while a text was published within three of them,
 * 503 before the first and after a stall. Returns 0, -EINVAL for a bad
 * address, or the -errno of socket/bind/listen (-EADDRINUSE, -EACCES).
 */
int metrics_server__start(struct metrics_server **out, const char *addr_port, double interval_s);
/* Adds the /healthz-only listener on addr_port. Returns 0 or as metrics_server__start. */
int metrics_server__start_health(struct metrics_server *s, const char *addr_port);
/* The ports listened on (the ones chosen when asked for 0); -1: none. */
int metrics_server__port(const struct metrics_server *s);
int metrics_server__health_port(const struct metrics_server *s);
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

enum metrics_listener_kind {
	METRICS_LISTENER_METRICS = 0, /* /metrics and /healthz */
	METRICS_LISTENER_HEALTH = 1,  /* /healthz alone */
};

/*
 * A daemon that serves like one of s's listeners (its handler, its limits)
 * but has no socket and no thread: the caller hands it connected sockets
 * with MHD_add_connection() and drives it with MHD_run_wait(), and stops it
 * with MHD_stop_daemon(). The fuzz harness of the request path
 * (tests/fuzz/fuzz_http.c) uses it to bind no port. NULL with errno set.
 */
struct MHD_Daemon;
struct MHD_Daemon *metrics_server__detached_daemon(struct metrics_server *s,
						   enum metrics_listener_kind kind);
/* Stops the threads, closes the sockets; NULL-safe. */
void metrics_server__stop(struct metrics_server *s);

#endif /* MEMOBS_METRICS_HTTP_H */
