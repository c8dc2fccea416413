// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The whole HTTP request path of the metrics server: libmicrohttpd's parser,
 * its connection state machine, and memobs's handlers behind them. Each input
 * is the raw bytes a client sends on one connection (one request, several
 * pipelined ones, or garbage), written into one end of a socketpair whose
 * other end a real daemon (metrics_server__detached_daemon: the listener's
 * handler and limits, no listen socket, no thread) receives through
 * MHD_add_connection(). Once everything is sent and the daemon has gone
 * quiet (IDLE_ROUNDS rounds without a byte back: it waits for the next
 * request of a keep-alive connection, or the rest of a partial one), the
 * client half-closes and reads until the daemon closes. Rounds, not clock
 * time: on a socketpair what is sent is there at once, so the same bytes
 * take the same path.
 *
 * Each input is served three times: by the /metrics listener of a server
 * that has published a text, by the /healthz-only listener of the same
 * server, and by the /metrics listener of a server that has published
 * nothing. What must hold whatever the bytes:
 *   - every response starts with an HTTP/1.x status line, status 100-599;
 *   - the /healthz-only listener never serves the metrics text;
 *   - a server with nothing published never answers 200;
 *   - nothing is left behind: the daemon is started and stopped per input
 *     (no state carried from one input to the next), external polling only
 *     (no thread), and the next input's socketpair gets the same two fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>
#include "output/metrics_http.h"
#include "fuzz.h"

/* In the published text only: a response that holds it served /metrics. */
#define METRICS_MARKER "memobs_fuzz_marker"
/* A response is kept up to this much; the rest is read and dropped. */
#define RESPONSE_KEEP 4096
/*
 * Rounds of MHD_run_wait(0) + recv before the connection must be over. The
 * daemon closes once it has read the client's half-close; a request served
 * takes a few rounds, a large input one per socket buffer: this is far more.
 */
#define MAX_ROUNDS 100000
/* Rounds without output after which the daemon waits for the client. */
#define IDLE_ROUNDS 3

static struct metrics_server *published, *unpublished;
static int first_fds[2] = { -1, -1 };

static void init_once(void)
{
	static const char text[] = "# HELP " METRICS_MARKER " fuzz\n" METRICS_MARKER " 1\n";

	if (published)
		return;
	/* no listener of their own; an interval of 10^6 s keeps /healthz "ok" all run */
	if (metrics_server__start(&published, NULL, 1e6) ||
	    metrics_server__publish(published, text, sizeof(text) - 1) ||
	    metrics_server__start(&unpublished, NULL, 1e6))
		abort();
}

/* One connection: send everything, half-close, read until the daemon closes. */
static size_t serve(struct MHD_Daemon *d, const uint8_t *data, size_t size, char *resp)
{
	struct sockaddr_in peer = { .sin_family = AF_INET,
				    .sin_port = htons(40000),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	size_t sent = 0, kept = 0, round, idle = 0;
	bool closed = false, shut = false;
	int sv[2];

	FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	if (first_fds[0] < 0) {
		first_fds[0] = sv[0];
		first_fds[1] = sv[1];
	}
	/* an fd still open from an earlier input would move these */
	FUZZ_ASSERT(sv[0] == first_fds[0] && sv[1] == first_fds[1]);
	FUZZ_ASSERT(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	/* the daemon owns sv[1] from here, and closes it even on failure */
	FUZZ_ASSERT(MHD_add_connection(d, sv[1], (struct sockaddr *)&peer, sizeof(peer)) ==
		    MHD_YES);
	for (round = 0; round < MAX_ROUNDS && !closed; round++) {
		char buf[4096];
		ssize_t n;

		if (sent < size) {
			n = send(sv[0], data + sent, size - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += n;
			else if (n < 0 && errno != EAGAIN)
				sent = size; /* the daemon closed first (EPIPE): the rest is moot */
		} else if (!shut && idle >= IDLE_ROUNDS) {
			shutdown(sv[0], SHUT_WR);
			shut = true;
		}
		FUZZ_ASSERT(MHD_run_wait(d, 0) == MHD_YES);
		idle++;
		while ((n = recv(sv[0], buf, sizeof(buf), 0)) > 0) {
			size_t room = RESPONSE_KEEP - kept,
			       take = (size_t)n < room ? (size_t)n : room;

			memcpy(resp + kept, buf, take);
			kept += take;
			idle = 0;
		}
		if (n == 0 || (n < 0 && errno != EAGAIN))
			closed = true; /* EOF, or ECONNRESET when it closed with input unread */
	}
	FUZZ_ASSERT(closed);
	close(sv[0]);
	resp[kept] = '\0';
	return kept;
}

static void check_status_line(const char *resp, size_t len)
{
	int status;

	if (!len)
		return; /* closed without a word: allowed (e.g. a half request) */
	FUZZ_ASSERT(!strncmp(resp, "HTTP/1.1 ", 9) || !strncmp(resp, "HTTP/1.0 ", 9));
	FUZZ_ASSERT(len >= 12);
	status = (resp[9] - '0') * 100 + (resp[10] - '0') * 10 + (resp[11] - '0');
	FUZZ_ASSERT(status >= 100 && status <= 599);
}

/* Whether any status line of the (possibly pipelined) responses says 200. */
static bool answered_200(const char *resp)
{
	const char *p = resp;

	while ((p = strstr(p, "HTTP/1.")) != NULL) {
		if (!strncmp(p + 8, " 200 ", 5))
			return true;
		p += 7;
	}
	return false;
}

static size_t serve_by(struct metrics_server *s, enum metrics_listener_kind kind,
		       const uint8_t *data, size_t size, char *resp)
{
	struct MHD_Daemon *d = metrics_server__detached_daemon(s, kind);
	size_t len;

	FUZZ_ASSERT(d != NULL);
	len = serve(d, data, size, resp);
	MHD_stop_daemon(d);
	check_status_line(resp, len);
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char resp[RESPONSE_KEEP + 1];

	init_once();
	serve_by(published, METRICS_LISTENER_METRICS, data, size, resp);
	serve_by(published, METRICS_LISTENER_HEALTH, data, size, resp);
	FUZZ_ASSERT(!strstr(resp, METRICS_MARKER));
	serve_by(unpublished, METRICS_LISTENER_METRICS, data, size, resp);
	FUZZ_ASSERT(!answered_200(resp));
	return 0;
}
