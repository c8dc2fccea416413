// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "identity/container.h"
#include "util/log.h"
#include "output/snapsock.h"

/* ---- wire format ---- */

struct wire_header {
	__u32 magic; /* SNAPSOCK_MAGIC */
	__u16 version;
	__u16 header_bytes;	/* sizeof(struct wire_header) */
	__u32 payload_bytes;	/* everything after the header */
	__u16 cgroup_rec_bytes; /* sizeof(struct wire_cgroup) */
	__u16 proc_rec_bytes;	/* sizeof(struct proc_stat) */
	__u32 nr_cgroups;
	__u32 nr_procs;
	__u32 strings_bytes;
	__u32 reserved;
};

struct wire_globals {
	__u64 ts_ms;
	__u64 mono_ns;
	double interval_s;
	__u64 host_mem_total_bytes;
	__u64 host_mem_available_bytes;
	__u64 events;
	__u64 ringbuf_drops;
	__u64 map_full;
	__u64 attach_failures;
};

#define WIRE_NO_STR 0xffffffffu

/* A NUL-terminated string at off in the blob, len bytes before its NUL. */
struct wire_str {
	__u32 off;
	__u32 len; /* WIRE_NO_STR: NULL */
};

enum wire_container_field {
	WC_ID,
	WC_RUNTIME,
	WC_POD_UID,
	WC_POD,
	WC_NAMESPACE,
	WC_NAME,
	WC_NR,
};

struct wire_cgroup {
	__u64 id;
	__u32 nr_procs;
	__u32 first_proc;
	__u64 anon_rss_bytes;
	__u64 file_rss_bytes;
	__u64 shmem_rss_bytes;
	__u64 swap_bytes;
	__u64 heap_bytes;
	__u64 data_vm_bytes;
	__u64 mmap_bytes;
	__u64 page_faults;
	__u64 page_faults_total;
	__u64 limit_bytes;
	double growth_bytes_per_s;
	double time_to_limit_s;
	__u64 malloc_outstanding_bytes;
	__u64 oom_kills_total;
	__u32 leak_state;
	__u32 has_container;
	struct wire_str path;
	struct wire_str container[WC_NR];
};

struct encoder {
	char *buf;
	size_t len;
	size_t strings_at; /* where the blob begins */
};

static struct wire_str put_string(struct encoder *e, const char *s)
{
	struct wire_str ws = { 0, WIRE_NO_STR };
	size_t len;

	if (!s)
		return ws;
	len = strlen(s);
	ws.off = (__u32)(e->len - e->strings_at);
	ws.len = (__u32)len;
	memcpy(e->buf + e->len, s, len + 1);
	e->len += len + 1;
	return ws;
}

static size_t str_bytes(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static const char **container_fields(const struct container_id *c, const char *out[WC_NR])
{
	out[WC_ID] = c->id;
	out[WC_RUNTIME] = c->runtime;
	out[WC_POD_UID] = c->pod_uid;
	out[WC_POD] = c->pod;
	out[WC_NAMESPACE] = c->namespace;
	out[WC_NAME] = c->name;
	return out;
}

/* The strings of one cgroup: its path and, when known, its container's identity. */
static size_t cgroup_strings(const struct cgroup_stat *cg, const char *out[1 + WC_NR])
{
	memset(out, 0, sizeof(*out) * (1 + WC_NR));
	out[0] = cg->path;
	if (cg->container) {
		container_fields(cg->container, out + 1);
		return 1 + WC_NR;
	}
	return 1;
}

int snapsock__encode(const struct snapshot *snap, const struct pipeline_stats *st, void **out,
		     size_t *out_len)
{
	struct wire_header h = {};
	struct wire_globals g = {};
	struct encoder e = {};
	const char *strs[1 + WC_NR];
	size_t i, k, nr_strs, strings_bytes = 0, total;

	for (i = 0; i < snap->nr_cgroups; i++) {
		nr_strs = cgroup_strings(&snap->cgroups[i], strs);
		for (k = 0; k < nr_strs; k++)
			strings_bytes += str_bytes(strs[k]);
	}
	total = sizeof(h) + sizeof(g) + snap->nr_cgroups * sizeof(struct wire_cgroup) +
		snap->nr_procs * sizeof(struct proc_stat) + strings_bytes;
	if (total > SNAPSOCK_MAX_FRAME_BYTES || snap->nr_cgroups > SNAPSOCK_MAX_CGROUPS ||
	    snap->nr_procs > SNAPSOCK_MAX_PROCS)
		return -E2BIG;
	e.buf = malloc(total);
	if (!e.buf)
		return -ENOMEM;

	h.magic = SNAPSOCK_MAGIC;
	h.version = SNAPSOCK_VERSION;
	h.header_bytes = sizeof(h);
	h.payload_bytes = (__u32)(total - sizeof(h));
	h.cgroup_rec_bytes = sizeof(struct wire_cgroup);
	h.proc_rec_bytes = sizeof(struct proc_stat);
	h.nr_cgroups = (__u32)snap->nr_cgroups;
	h.nr_procs = (__u32)snap->nr_procs;
	h.strings_bytes = (__u32)strings_bytes;
	memcpy(e.buf, &h, sizeof(h));

	g.ts_ms = snap->ts_ms;
	g.mono_ns = snap->mono_ns;
	g.interval_s = snap->interval_s;
	g.host_mem_total_bytes = snap->host_mem_total_bytes;
	g.host_mem_available_bytes = snap->host_mem_available_bytes;
	if (st) {
		g.events = st->events;
		g.ringbuf_drops = st->ringbuf_drops;
		g.map_full = st->map_full;
		g.attach_failures = st->attach_failures;
	}
	memcpy(e.buf + sizeof(h), &g, sizeof(g));
	e.len = sizeof(h) + sizeof(g);
	e.strings_at = total - strings_bytes;

	/* the strings are written past the records, as each record is built */
	{
		size_t rec_at = e.len;

		e.len = e.strings_at;
		for (i = 0; i < snap->nr_cgroups; i++) {
			const struct cgroup_stat *cg = &snap->cgroups[i];
			struct wire_cgroup w = {};

			w.id = cg->id;
			w.nr_procs = cg->nr_procs;
			w.first_proc = cg->first_proc;
			w.anon_rss_bytes = cg->anon_rss_bytes;
			w.file_rss_bytes = cg->file_rss_bytes;
			w.shmem_rss_bytes = cg->shmem_rss_bytes;
			w.swap_bytes = cg->swap_bytes;
			w.heap_bytes = cg->heap_bytes;
			w.data_vm_bytes = cg->data_vm_bytes;
			w.mmap_bytes = cg->mmap_bytes;
			w.page_faults = cg->page_faults;
			w.page_faults_total = cg->page_faults_total;
			w.limit_bytes = cg->limit_bytes;
			w.growth_bytes_per_s = cg->growth_bytes_per_s;
			w.time_to_limit_s = cg->time_to_limit_s;
			w.malloc_outstanding_bytes = cg->malloc_outstanding_bytes;
			w.oom_kills_total = cg->oom_kills_total;
			w.leak_state = cg->leak_state;
			nr_strs = cgroup_strings(cg, strs);
			w.path = put_string(&e, strs[0]);
			w.has_container = nr_strs > 1;
			for (k = 0; k < WC_NR; k++)
				w.container[k] =
					put_string(&e, k + 1 < nr_strs ? strs[k + 1] : NULL);
			memcpy(e.buf + rec_at, &w, sizeof(w));
			rec_at += sizeof(w);
		}
		if (snap->nr_procs)
			memcpy(e.buf + rec_at, snap->procs,
			       snap->nr_procs * sizeof(struct proc_stat));
	}
	*out = e.buf;
	*out_len = total;
	return 0;
}

/* ---- decoding: every length and offset is checked before use ---- */

static int check_header(const struct wire_header *h, const char **why)
{
	__u64 expect;

	if (h->magic != SNAPSOCK_MAGIC) {
		*why = "not a memobs snapshot stream (bad magic)";
		return -EPROTO;
	}
	if (h->version != SNAPSOCK_VERSION || h->header_bytes != sizeof(*h) ||
	    h->cgroup_rec_bytes != sizeof(struct wire_cgroup) ||
	    h->proc_rec_bytes != sizeof(struct proc_stat)) {
		*why = "snapshot format of another memobs version (run the same version as the daemon)";
		return -EPROTO;
	}
	if (h->nr_cgroups > SNAPSOCK_MAX_CGROUPS || h->nr_procs > SNAPSOCK_MAX_PROCS ||
	    h->payload_bytes > SNAPSOCK_MAX_FRAME_BYTES) {
		*why = "snapshot frame exceeds its bounds";
		return -EPROTO;
	}
	expect = sizeof(struct wire_globals) + (__u64)h->nr_cgroups * sizeof(struct wire_cgroup) +
		 (__u64)h->nr_procs * sizeof(struct proc_stat) + h->strings_bytes;
	if (expect != h->payload_bytes) {
		*why = "snapshot frame lengths disagree";
		return -EPROTO;
	}
	return 0;
}

struct decoder {
	const char *strings;
	size_t strings_bytes;
	const char **why;
};

/* A string must lie inside the blob, end with its NUL and hold no other. */
static int check_str(const struct decoder *d, struct wire_str ws)
{
	if (ws.len == WIRE_NO_STR)
		return 0;
	if ((__u64)ws.off + ws.len >= d->strings_bytes || d->strings[ws.off + ws.len] != '\0' ||
	    memchr(d->strings + ws.off, '\0', ws.len)) {
		*d->why = "snapshot string out of bounds";
		return -EPROTO;
	}
	return 0;
}

static int check_cgroup(const struct decoder *d, const struct wire_cgroup *w, __u64 prev_id,
			size_t index, const struct proc_stat *procs, size_t nr_procs)
{
	size_t k, p;
	int err;

	if (index > 0 && w->id <= prev_id) {
		*d->why = "snapshot cgroups out of order";
		return -EPROTO;
	}
	if ((__u64)w->first_proc + w->nr_procs > nr_procs || w->leak_state > LEAK_SUSPECTED) {
		*d->why = "snapshot cgroup record out of bounds";
		return -EPROTO;
	}
	for (p = w->first_proc; p < (size_t)w->first_proc + w->nr_procs; p++) {
		if (procs[p].cgroup_id != w->id) {
			*d->why = "snapshot process outside its cgroup";
			return -EPROTO;
		}
	}
	err = check_str(d, w->path);
	for (k = 0; !err && k < WC_NR; k++)
		err = check_str(d, w->container[k]);
	return err;
}

static const char *str_at(const char *strings, struct wire_str ws)
{
	return ws.len == WIRE_NO_STR ? NULL : strings + ws.off;
}

static void fill_container(struct container_id *c, const char *strings, const struct wire_cgroup *w)
{
	memset(c, 0, sizeof(*c));
	c->id = (char *)str_at(strings, w->container[WC_ID]);
	c->runtime = (char *)str_at(strings, w->container[WC_RUNTIME]);
	c->pod_uid = (char *)str_at(strings, w->container[WC_POD_UID]);
	c->pod = (char *)str_at(strings, w->container[WC_POD]);
	c->namespace = (char *)str_at(strings, w->container[WC_NAMESPACE]);
	c->name = (char *)str_at(strings, w->container[WC_NAME]);
}

/* Container annotations: one block, the records then a copy of the strings they point into. */
static int build_labels(struct snapshot *snap, const struct wire_cgroup *recs, const char *strings,
			size_t strings_bytes, void **labels)
{
	struct container_id *ids;
	size_t i, nr = 0;
	char *copy;

	for (i = 0; i < snap->nr_cgroups; i++)
		nr += recs[i].has_container != 0;
	*labels = NULL;
	if (!nr)
		return 0;
	ids = malloc(nr * sizeof(*ids) + strings_bytes);
	if (!ids)
		return -ENOMEM;
	copy = (char *)(ids + nr);
	memcpy(copy, strings, strings_bytes);
	for (i = 0, nr = 0; i < snap->nr_cgroups; i++) {
		if (!recs[i].has_container)
			continue;
		fill_container(&ids[nr], copy, &recs[i]);
		snap->cgroups[i].container = &ids[nr++];
	}
	*labels = ids;
	return 0;
}

int snapsock__decode(const void *buf, size_t len, struct snapshot **out, struct pipeline_stats *st,
		     void **labels, const char **why)
{
	struct wire_header h;
	struct wire_globals g;
	const struct wire_cgroup *recs;
	const struct proc_stat *procs;
	struct snapshot *snap = NULL;
	struct decoder d = { .why = why };
	struct wire_cgroup w;
	size_t i;
	int err;

	*out = NULL;
	*labels = NULL;
	if (len < sizeof(h)) {
		*why = "snapshot frame truncated";
		return -EPROTO;
	}
	memcpy(&h, buf, sizeof(h));
	err = check_header(&h, why);
	if (err)
		return err;
	if (len != sizeof(h) + h.payload_bytes) {
		*why = "snapshot frame truncated";
		return -EPROTO;
	}
	memcpy(&g, (const char *)buf + sizeof(h), sizeof(g));
	recs = (const void *)((const char *)buf + sizeof(h) + sizeof(g));
	procs = (const void *)(recs + h.nr_cgroups);
	d.strings = (const char *)(procs + h.nr_procs);
	d.strings_bytes = h.strings_bytes;
	if (!(g.interval_s >= 0 && g.interval_s < 1e9)) {
		*why = "snapshot interval out of range";
		return -EPROTO;
	}

	snap = calloc(1, sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	snap->cgroups = calloc(h.nr_cgroups + 1, sizeof(*snap->cgroups));
	snap->procs = calloc(h.nr_procs + 1, sizeof(*snap->procs));
	if (!snap->cgroups || !snap->procs) {
		err = -ENOMEM;
		goto fail;
	}
	/* the frame may be unaligned in its buffer: records are copied out, not cast */
	memcpy(snap->procs, procs, h.nr_procs * sizeof(*procs));
	snap->nr_procs = h.nr_procs;
	for (i = 0; i < h.nr_procs; i++)
		snap->procs[i].comm[MEMOBS_COMM_LEN - 1] = '\0';
	for (i = 0; i < h.nr_cgroups; i++) {
		struct cgroup_stat *cg = &snap->cgroups[i];
		const char *path;

		memcpy(&w, recs + i, sizeof(w));
		err = check_cgroup(&d, &w, i ? snap->cgroups[i - 1].id : 0, i, snap->procs,
				   snap->nr_procs);
		if (err)
			goto fail;
		path = str_at(d.strings, w.path);
		if (path && !(cg->path = strdup(path))) {
			err = -ENOMEM;
			goto fail;
		}
		snap->nr_cgroups = i + 1; /* from here snapshot__free frees the path */
		cg->id = w.id;
		cg->nr_procs = w.nr_procs;
		cg->first_proc = w.first_proc;
		cg->anon_rss_bytes = w.anon_rss_bytes;
		cg->file_rss_bytes = w.file_rss_bytes;
		cg->shmem_rss_bytes = w.shmem_rss_bytes;
		cg->swap_bytes = w.swap_bytes;
		cg->heap_bytes = w.heap_bytes;
		cg->data_vm_bytes = w.data_vm_bytes;
		cg->mmap_bytes = w.mmap_bytes;
		cg->page_faults = w.page_faults;
		cg->page_faults_total = w.page_faults_total;
		cg->limit_bytes = w.limit_bytes;
		cg->growth_bytes_per_s = w.growth_bytes_per_s;
		cg->time_to_limit_s = w.time_to_limit_s;
		cg->leak_state = w.leak_state;
		cg->malloc_outstanding_bytes = w.malloc_outstanding_bytes;
		cg->oom_kills_total = w.oom_kills_total;
	}
	snap->ts_ms = g.ts_ms;
	snap->mono_ns = g.mono_ns;
	snap->interval_s = g.interval_s;
	snap->host_mem_total_bytes = g.host_mem_total_bytes;
	snap->host_mem_available_bytes = g.host_mem_available_bytes;
	if (st) {
		st->events = g.events;
		st->ringbuf_drops = g.ringbuf_drops;
		st->map_full = g.map_full;
		st->attach_failures = g.attach_failures;
	}
	{
		struct wire_cgroup *copies = malloc((h.nr_cgroups + 1) * sizeof(*copies));

		if (!copies) {
			err = -ENOMEM;
			goto fail;
		}
		memcpy(copies, recs, h.nr_cgroups * sizeof(*copies));
		err = build_labels(snap, copies, d.strings, d.strings_bytes, labels);
		free(copies);
		if (err)
			goto fail;
	}
	*out = snap;
	return 0;
fail:
	snapshot__free(snap);
	return err;
}

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

/* ---- server ---- */

struct conn {
	int fd;
	bool dead; /* marked by publish; reaped by the thread */
	char *queue;
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
	void *last_frame; /* for a client that connects between passes */
	size_t last_len;
};

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
	char *q;

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
	q = realloc(c->queue, pending + len);
	if (!q) {
		c->dead = true;
		return;
	}
	memcpy(q + pending, frame, len);
	c->queue = q;
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
		struct conn *conns;

		if (fd < 0)
			return;
		if (srv->nr_conns >= SNAPSOCK_MAX_CLIENTS) {
			p_warn("snapshot socket: %d clients already, refusing one more",
			       SNAPSOCK_MAX_CLIENTS);
			close(fd);
			continue;
		}
		conns = realloc(srv->conns, (srv->nr_conns + 1) * sizeof(*conns));
		if (!conns) {
			close(fd);
			return;
		}
		srv->conns = conns;
		memset(&conns[srv->nr_conns], 0, sizeof(*conns));
		conns[srv->nr_conns].fd = fd;
		if (srv->last_frame)
			conn_queue(&conns[srv->nr_conns], srv->last_frame, srv->last_len);
		conn_flush(&conns[srv->nr_conns]);
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

	for (;;) {
		pthread_mutex_lock(&srv->lock);
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

		if (poll(fds, 2 + nr, -1) < 0 && errno != EINTR) {
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

static int make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	int err;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (!mkdir(dir, 0700) || errno == EEXIST)
		return 0;
	err = -errno;
	p_err("failed to create directory '%s': %s", dir, strerror(errno));
	return err;
}

static int listen_on(const char *path, const struct sockaddr_un *addr)
{
	mode_t old_mask;
	int fd, err;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		p_err("failed to create a unix socket: %s", strerror(errno));
		return err;
	}
	/* born 0600: no window in which another user could connect */
	old_mask = umask(0177);
	err = bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) ? -errno : 0;
	umask(old_mask);
	if (!err && chmod(path, 0600))
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
	err = make_parent_dir(path);
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

int snapsock_server__publish(struct snapsock_server *srv, const struct snapshot *snap,
			     const struct pipeline_stats *st)
{
	void *frame;
	size_t len, i;
	int err;

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
	size_t i, nr = 0;

	pthread_mutex_lock(&srv->lock);
	for (i = 0; i < srv->nr_conns; i++)
		nr += !srv->conns[i].dead;
	pthread_mutex_unlock(&srv->lock);
	return nr;
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

/* ---- client ---- */

struct snapsock_client {
	int fd;
	char *buf; /* the frame being received */
	size_t len;
	size_t cap;
	void *labels; /* container annotations of the last snapshot */
	const char *why;
};

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
	__u64 deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
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
		if (now_ms() >= deadline) {
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
		__u64 now = now_ms();
		ssize_t n;

		if (c->cap < want) {
			char *buf = realloc(c->buf, want);

			if (!buf)
				return -ENOMEM;
			c->buf = buf;
			c->cap = want;
		}
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
	__u64 deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct wire_header h;
	void *labels;
	__u32 magic;
	int err;

	/* the magic alone tells garbage apart before a whole header arrives */
	err = fill(c, sizeof(magic), deadline);
	if (err)
		return err;
	memcpy(&magic, c->buf, sizeof(magic));
	if (magic != SNAPSOCK_MAGIC) {
		c->why = "not a memobs snapshot stream (bad magic)";
		return -EPROTO;
	}
	err = fill(c, sizeof(h), deadline);
	if (err)
		return err;
	memcpy(&h, c->buf, sizeof(h));
	err = check_header(&h, &c->why);
	if (err)
		return err;
	err = fill(c, sizeof(h) + h.payload_bytes, deadline);
	if (err)
		return err;
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
