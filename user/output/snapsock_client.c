// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "util/array.h"
#include "util/clock.h"
#include "output/snapsock_wire.h"
#include "output/snapsock_client.h"

struct snapsock_client {
	int fd;
	char *buf; /* the frame being received */
	size_t len;
	size_t cap;
	void *labels; /* container annotations of the last snapshot */
	const char *why;
};

int snapsock_client__from_fd(struct snapsock_client **out, int fd)
{
	struct snapsock_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->why = "no error";
	*out = c;
	return 0;
}

int snapsock_client__connect(struct snapsock_client **out, const char *path, int timeout_ms)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	__u64 deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a non-blocking unix connect fails with EAGAIN while the backlog is full */
	while (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		err = -errno;
		if (err != -EAGAIN && err != -EINTR) {
			close(fd);
			return err;
		}
		if (clock_mono_ms() >= deadline) {
			close(fd);
			return -ETIMEDOUT;
		}
		usleep(10000);
	}
	err = snapsock_client__from_fd(out, fd);
	if (err)
		close(fd);
	return err;
}

/* Reads what is available into the frame buffer, up to want bytes in all. */
static int fill(struct snapsock_client *c, size_t want, __u64 deadline)
{
	while (c->len < want) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		__u64 now = clock_mono_ms();
		ssize_t n;

		if (ARRAY_GROW(c->buf, c->cap, want))
			return -ENOMEM;
		n = recv(c->fd, c->buf + c->len, want - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			c->why = "the daemon closed the connection";
			return -ECONNRESET;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			c->why = strerror(errno);
			return -errno;
		}
		if (now >= deadline) {
			c->why = "no snapshot within the time limit";
			return -ETIMEDOUT;
		}
		if (poll(&pfd, 1, (int)(deadline - now)) < 0) {
			c->why = strerror(errno);
			return -errno;
		}
	}
	return 0;
}

int snapsock_client__recv(struct snapsock_client *c, struct snapshot **out,
			  struct pipeline_stats *st, int timeout_ms)
{
	__u64 deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	size_t want = 0;
	void *labels;
	int err;

	/*
	 * The magic, then the header, then the rest: each step checked before
	 * the next is waited for, so that garbage is refused early and no
	 * length read from the stream is trusted before it is checked.
	 */
	do {
		err = fill(c, want, deadline);
		if (err)
			return err;
		err = snapsock__frame_bytes(c->buf, c->len, &want, &c->why);
		if (err)
			return err;
	} while (c->len < want);
	err = snapsock__decode(c->buf, c->len, out, st, &labels, &c->why);
	c->len = 0;
	if (err)
		return err;
	free(c->labels);
	c->labels = labels;
	return 0;
}

void *snapsock_client__take_labels(struct snapsock_client *c)
{
	void *labels = c->labels;

	c->labels = NULL;
	return labels;
}

const char *snapsock_client__error(const struct snapsock_client *c)
{
	return c->why;
}

int snapsock_client__fd(const struct snapsock_client *c)
{
	return c->fd;
}

void snapsock_client__close(struct snapsock_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c->labels);
	free(c);
}
