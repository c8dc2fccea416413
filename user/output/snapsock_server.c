// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "util/array.h"
#include "util/clock.h"
#include "util/log.h"
#include "output/snapsock_wire.h"
#include "output/snapsock_server.h"

struct conn {
	int fd;
	bool dead; /* marked by publish; reaped by the thread */
	char *queue;
	size_t queue_cap;
	size_t queued; /* bytes in queue */
	size_t sent;   /* of those, already written */
};

struct snapsock_server {
	char *path;
	int listen_fd;
	int wake_fd[2]; /* publish and close wake the thread through this pipe */
	pthread_t thread;
	bool thread_running;
	pthread_mutex_t lock; /* guards everything below */
	bool stop;
	struct conn *conns;
	size_t nr_conns;
	size_t conns_cap;
	void *last_frame; /* for a client that connects between passes */
	size_t last_len;
	struct snapsock_refusals refusals;
};

__u64 snapsock_refusals__note(struct snapsock_refusals *r, __u64 now_ms)
{
	__u64 n;

	if (r->reported && now_ms - r->last_report_ms < SNAPSOCK_REFUSAL_REPORT_MS) {
		r->unreported++;
		return 0;
	}
	n = r->unreported + 1;
	r->reported = true;
	r->last_report_ms = now_ms;
	r->unreported = 0;
	return n;
}

__u64 snapsock_refusals__due(struct snapsock_refusals *r, __u64 now_ms)
{
	__u64 n = r->unreported;

	if (!n || now_ms - r->last_report_ms < SNAPSOCK_REFUSAL_REPORT_MS)
		return 0;
	r->last_report_ms = now_ms;
	r->unreported = 0;
	return n;
}

int snapsock_refusals__wait_ms(const struct snapsock_refusals *r, __u64 now_ms)
{
	__u64 age = now_ms - r->last_report_ms;

	if (!r->unreported)
		return -1;
	return age >= SNAPSOCK_REFUSAL_REPORT_MS ? 0 : (int)(SNAPSOCK_REFUSAL_REPORT_MS - age);
}

static void report_refused(__u64 n, bool summary)
{
	if (!summary && n == 1)
		p_warn("snapshot socket: %d clients already, refusing one more (further refusals are counted, one line a minute)",
		       SNAPSOCK_MAX_CLIENTS);
	else if (n)
		p_warn("snapshot socket: %d clients already, refused %llu more in the last minute",
		       SNAPSOCK_MAX_CLIENTS, (unsigned long long)n);
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->queue);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Appends a frame to a client's queue, or marks it dead if it lags too far behind. */
static void conn_queue(struct conn *c, const void *frame, size_t len)
{
	size_t pending = c->queued - c->sent, limit = SNAPSOCK_CLIENT_QUEUE_BYTES;

	if (c->dead)
		return;
	if (limit < 2 * len)
		limit = 2 * len;
	if (pending + len > limit) {
		c->dead = true;
		return;
	}
	if (c->sent) {
		memmove(c->queue, c->queue + c->sent, pending);
		c->queued = pending;
		c->sent = 0;
	}
	if (ARRAY_GROW(c->queue, c->queue_cap, pending + len)) {
		c->dead = true;
		return;
	}
	memcpy(c->queue + pending, frame, len);
	c->queued = pending + len;
}

static void conn_flush(struct conn *c)
{
	while (!c->dead && c->sent < c->queued) {
		ssize_t n = send(c->fd, c->queue + c->sent, c->queued - c->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			c->dead = true;
			return;
		}
		c->sent += (size_t)n;
	}
	if (c->sent == c->queued) {
		c->sent = 0;
		c->queued = 0;
	}
}

/* Clients only read: any byte from one is garbage, and EOF is its leaving. */
static void conn_read(struct conn *c)
{
	char scratch[256];
	ssize_t n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n > 0)
		p_debug("snapshot socket: dropping a client that sent data");
	c->dead = true;
}

static void accept_clients(struct snapsock_server *srv)
{
	for (;;) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return;
		if (srv->nr_conns >= SNAPSOCK_MAX_CLIENTS) {
			report_refused(snapsock_refusals__note(&srv->refusals, clock_mono_ms()),
				       false);
			close(fd);
			continue;
		}
		if (ARRAY_GROW(srv->conns, srv->conns_cap, srv->nr_conns + 1)) {
			close(fd);
			return;
		}
		c = &srv->conns[srv->nr_conns];
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		if (srv->last_frame)
			conn_queue(c, srv->last_frame, srv->last_len);
		conn_flush(c);
		srv->nr_conns++;
	}
}

static void reap_dead(struct snapsock_server *srv)
{
	size_t i, kept = 0;

	for (i = 0; i < srv->nr_conns; i++) {
		if (srv->conns[i].dead)
			conn_close(&srv->conns[i]);
		else
			srv->conns[kept++] = srv->conns[i];
	}
	srv->nr_conns = kept;
}

static void *server_thread(void *arg)
{
	struct snapsock_server *srv = arg;
	struct pollfd fds[2 + SNAPSOCK_MAX_CLIENTS];
	size_t i, nr;
	char drain[64];
	int timeout_ms;

	for (;;) {
		pthread_mutex_lock(&srv->lock);
		report_refused(snapsock_refusals__due(&srv->refusals, clock_mono_ms()), true);
		timeout_ms = snapsock_refusals__wait_ms(&srv->refusals, clock_mono_ms());
		reap_dead(srv);
		if (srv->stop) {
			pthread_mutex_unlock(&srv->lock);
			return NULL;
		}
		fds[0] = (struct pollfd){ .fd = srv->wake_fd[0], .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = srv->listen_fd, .events = POLLIN };
		nr = srv->nr_conns;
		for (i = 0; i < nr; i++) {
			struct conn *c = &srv->conns[i];

			fds[2 + i] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
			if (c->sent < c->queued)
				fds[2 + i].events |= POLLOUT;
		}
		pthread_mutex_unlock(&srv->lock);

		/* a pending count of refusals wakes the thread when it is due */
		if (poll(fds, 2 + nr, timeout_ms) < 0 && errno != EINTR) {
			p_err("snapshot socket: poll failed: %s; no longer serving clients",
			      strerror(errno));
			return NULL;
		}

		pthread_mutex_lock(&srv->lock);
		if (fds[0].revents & POLLIN)
			while (read(srv->wake_fd[0], drain, sizeof(drain)) > 0)
				;
		/* only this thread removes connections: the first nr are those polled */
		for (i = 0; i < nr; i++) {
			struct conn *c = &srv->conns[i];
			short rev = fds[2 + i].revents;

			if (rev & POLLIN)
				conn_read(c);
			else if (rev & (POLLHUP | POLLERR | POLLNVAL))
				c->dead = true;
			conn_flush(c); /* also what publish queued since the poll began */
		}
		for (i = nr; i < srv->nr_conns; i++)
			conn_flush(&srv->conns[i]);
		if (fds[1].revents & POLLIN)
			accept_clients(srv);
		pthread_mutex_unlock(&srv->lock);
	}
}

static void wake(struct snapsock_server *srv)
{
	char one = 1;

	/* a full pipe already holds a wake-up */
	if (write(srv->wake_fd[1], &one, 1) < 0 && errno != EAGAIN)
		p_debug("snapshot socket: wake-up failed: %s", strerror(errno));
}

/* A socket file that refuses connections is left over by a daemon that died. */
static int claim_path(const char *path, const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, err;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		p_err("failed to stat '%s': %s", path, strerror(errno));
		return err;
	}
	if (!S_ISSOCK(st.st_mode)) {
		p_err("failed to create the snapshot socket '%s': a file that is not a socket is there",
		      path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) ? -errno : 0;
	close(fd);
	if (!err) {
		p_err("failed to create the snapshot socket '%s': another memobs daemon serves it",
		      path);
		return -EADDRINUSE;
	}
	if (err != -ECONNREFUSED) {
		p_err("failed to probe the snapshot socket '%s': %s", path, strerror(-err));
		return err;
	}
	p_info("removing stale snapshot socket '%s'", path);
	if (unlink(path) && errno != ENOENT) {
		err = -errno;
		p_err("failed to remove stale socket '%s': %s", path, strerror(errno));
		return err;
	}
	return 0;
}

/*
 * Whoever may write to the socket's directory may replace the socket, or
 * plant a listening one before us for `memobs top` to read. So the directory
 * is made 0700 when missing, and one that exists must be ours (not a symlink)
 * and writable by us alone: one owned by another user, or group- or
 * world-writable (a sticky /tmp included), is refused. The directories above
 * it are the operator's to choose.
 */
static int check_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	char *slash;
	int fd, err;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir] = '\0'; /* "/x.sock": the directory is "/" */
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		p_err("failed to create directory '%s': %s", dir, strerror(errno));
		return err;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		p_err("failed to open the socket directory '%s': %s", dir,
		      err == -ELOOP || err == -ENOTDIR ? "not a directory (a symlink?)"
						       : strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	close(fd);
	if (st.st_uid != geteuid()) {
		p_err("refusing the socket directory '%s': owned by uid %u, mode %04o, not by us (uid %u); pick a directory of our own with --socket",
		      dir, (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777),
		      (unsigned int)geteuid());
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		p_err("refusing the socket directory '%s': owned by uid %u, mode %04o lets others replace the socket (chmod go-w it, or pick another with --socket)",
		      dir, (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

static int listen_on(const char *path, const struct sockaddr_un *addr)
{
	int fd, err;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		p_err("failed to create a unix socket: %s", strerror(errno));
		return err;
	}
	/*
	 * Born 0600, with nothing done to the path afterwards: Linux gives the
	 * file bind() creates the mode of the socket's own inode less the umask
	 * (unix_bind in net/unix/af_unix.c), so fchmod on the fd before bind
	 * sets it. A chmod(path) after bind would follow whatever sits at path
	 * by then (a symlink swapped in: another file's mode changed), and
	 * fchmodat(AT_SYMLINK_NOFOLLOW) is not atomic either; a umask around
	 * bind would be process-wide, for every thread.
	 */
	err = fchmod(fd, 0600) ? -errno : 0;
	if (!err && bind(fd, (const struct sockaddr *)addr, sizeof(*addr)))
		err = -errno;
	if (!err && listen(fd, 16))
		err = -errno;
	if (err) {
		p_err("failed to listen on '%s': %s", path, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

int snapsock_server__open(struct snapsock_server **out, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct snapsock_server *srv;
	int err;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		p_err("socket path '%s' is too long (at most %zu bytes)", path,
		      sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->listen_fd = srv->wake_fd[0] = srv->wake_fd[1] = -1;
	pthread_mutex_init(&srv->lock, NULL);
	srv->path = strdup(path);
	if (!srv->path) {
		err = -ENOMEM;
		goto fail;
	}
	err = check_dir(path);
	if (!err)
		err = claim_path(path, &addr);
	if (err)
		goto fail_no_unlink;
	err = listen_on(path, &addr);
	if (err < 0)
		goto fail_no_unlink;
	srv->listen_fd = err;
	if (pipe2(srv->wake_fd, O_NONBLOCK | O_CLOEXEC)) {
		err = -errno;
		p_err("failed to create a pipe: %s", strerror(errno));
		goto fail;
	}
	err = -pthread_create(&srv->thread, NULL, server_thread, srv);
	if (err) {
		p_err("failed to start the snapshot socket thread: %s", strerror(-err));
		goto fail;
	}
	srv->thread_running = true;
	*out = srv;
	return 0;
fail:
	unlink(path);
fail_no_unlink:
	free(srv->path);
	srv->path = NULL;
	snapsock_server__close(srv);
	return err;
}

/* Clients not yet found dead; the caller holds the lock. */
static size_t live_clients(const struct snapsock_server *srv)
{
	size_t i, nr = 0;

	for (i = 0; i < srv->nr_conns; i++)
		nr += !srv->conns[i].dead;
	return nr;
}

int snapsock_server__publish(struct snapsock_server *srv, const struct snapshot *snap,
			     const struct pipeline_stats *st)
{
	void *frame;
	size_t len, i;
	int err;

	/*
	 * Nobody listens: no frame (its encoding grows with the processes). A
	 * client that connects before the next pass waits for that pass's.
	 */
	pthread_mutex_lock(&srv->lock);
	if (!snap || !live_clients(srv)) {
		free(srv->last_frame);
		srv->last_frame = NULL;
		srv->last_len = 0;
		pthread_mutex_unlock(&srv->lock);
		return 0;
	}
	pthread_mutex_unlock(&srv->lock);
	err = snapsock__encode(snap, st, &frame, &len);
	if (err)
		return err;
	pthread_mutex_lock(&srv->lock);
	for (i = 0; i < srv->nr_conns; i++)
		conn_queue(&srv->conns[i], frame, len);
	free(srv->last_frame);
	srv->last_frame = frame;
	srv->last_len = len;
	pthread_mutex_unlock(&srv->lock);
	wake(srv);
	return 0;
}

size_t snapsock_server__nr_clients(struct snapsock_server *srv)
{
	size_t nr;

	pthread_mutex_lock(&srv->lock);
	nr = live_clients(srv);
	pthread_mutex_unlock(&srv->lock);
	return nr;
}

bool snapsock_server__wants_frame(struct snapsock_server *srv)
{
	bool wants;

	pthread_mutex_lock(&srv->lock);
	wants = !srv->last_frame && live_clients(srv);
	pthread_mutex_unlock(&srv->lock);
	return wants;
}

void snapsock_server__close(struct snapsock_server *srv)
{
	size_t i;

	if (!srv)
		return;
	if (srv->thread_running) {
		pthread_mutex_lock(&srv->lock);
		srv->stop = true;
		pthread_mutex_unlock(&srv->lock);
		wake(srv);
		pthread_join(srv->thread, NULL);
	}
	for (i = 0; i < srv->nr_conns; i++)
		conn_close(&srv->conns[i]);
	free(srv->conns);
	if (srv->listen_fd >= 0) {
		close(srv->listen_fd);
		if (srv->path)
			unlink(srv->path);
	}
	if (srv->wake_fd[0] >= 0)
		close(srv->wake_fd[0]);
	if (srv->wake_fd[1] >= 0)
		close(srv->wake_fd[1]);
	free(srv->last_frame);
	free(srv->path);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

/* ---- one blocking reader, without a server ---- */

int snapsock__write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
