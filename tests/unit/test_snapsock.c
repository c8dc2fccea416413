// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "identity/container.h"
#include "model/snapshot.h"
#include "output/records.h"
#include "util/clock.h"
#include "output/snapsock_wire.h"
#include "output/snapsock_server.h"
#include "output/snapsock_client.h"

static struct container_id web = {
	.id = "0123456789abcdef",
	.runtime = "containerd",
	.pod = "web-0",
	.namespace = "shop",
	.name = "nginx",
};

/* nr_cgroups cgroups with procs_each processes each; the second is a container. */
static struct snapshot *make_snapshot(size_t nr_cgroups, size_t procs_each)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	size_t i, k, p = 0;

	s->ts_ms = 1700000000123ull;
	s->mono_ns = 42;
	s->interval_s = 1.5;
	s->host_mem_total_bytes = 8ull << 30;
	s->host_mem_available_bytes = 3ull << 30;
	s->cgroups = calloc(nr_cgroups, sizeof(*s->cgroups));
	s->procs = calloc(nr_cgroups * procs_each + 1, sizeof(*s->procs));
	s->nr_cgroups = nr_cgroups;
	for (i = 0; i < nr_cgroups; i++) {
		struct cgroup_stat *cg = &s->cgroups[i];
		char path[64];

		snprintf(path, sizeof(path), "/test.slice/cg%zu.scope", i);
		cg->id = 100 + i;
		/* the third cgroup was removed before it could be named */
		cg->path = i == 2 ? NULL : strdup(path);
		cg->mem.anon_rss_bytes = 1000 * (i + 1);
		cg->growth_bytes_per_s = 12.5 * i;
		cg->time_to_limit_s = i == 1 ? 60 : -1;
		cg->limit_bytes = i == 1 ? 1 << 20 : 0;
		cg->leak_state = i == 1 ? LEAK_SUSPECTED : LEAK_NONE;
		cg->malloc_outstanding_bytes = 77;
		cg->container = i == 1 ? &web : NULL;
		cg->first_proc = p;
		cg->nr_procs = procs_each;
		for (k = 0; k < procs_each; k++, p++) {
			s->procs[p].pid = 10 * i + k + 1;
			s->procs[p].cgroup_id = cg->id;
			s->procs[p].mem.anon_rss_bytes = 4096 * k;
			snprintf(s->procs[p].comm, sizeof(s->procs[p].comm), "w%zu", k % 100);
		}
	}
	s->nr_procs = p;
	return s;
}

static const struct pipeline_stats stats = { .events = 5, .ringbuf_drops = 2, .map_full = 1 };

static void assert_same(const struct snapshot *a, const struct snapshot *b)
{
	size_t i;

	assert_int_equal(a->ts_ms, b->ts_ms);
	assert_int_equal(a->mono_ns, b->mono_ns);
	assert_true(a->interval_s == b->interval_s);
	assert_int_equal(a->host_mem_total_bytes, b->host_mem_total_bytes);
	assert_int_equal(a->host_mem_available_bytes, b->host_mem_available_bytes);
	assert_int_equal(a->nr_cgroups, b->nr_cgroups);
	assert_int_equal(a->nr_procs, b->nr_procs);
	assert_memory_equal(a->procs, b->procs, a->nr_procs * sizeof(*a->procs));
	for (i = 0; i < a->nr_cgroups; i++) {
		const struct cgroup_stat *x = &a->cgroups[i], *y = &b->cgroups[i];

		assert_int_equal(x->id, y->id);
		if (x->path)
			assert_string_equal(x->path, y->path);
		else
			assert_null(y->path);
		assert_int_equal(x->mem.anon_rss_bytes, y->mem.anon_rss_bytes);
		assert_true(x->growth_bytes_per_s == y->growth_bytes_per_s);
		assert_true(x->time_to_limit_s == y->time_to_limit_s);
		assert_int_equal(x->limit_bytes, y->limit_bytes);
		assert_int_equal(x->leak_state, y->leak_state);
		assert_int_equal(x->malloc_outstanding_bytes, y->malloc_outstanding_bytes);
		assert_int_equal(x->first_proc, y->first_proc);
		assert_int_equal(x->nr_procs, y->nr_procs);
		assert_int_equal(!x->container, !y->container);
		if (x->container) {
			assert_string_equal(x->container->id, y->container->id);
			assert_string_equal(x->container->runtime, y->container->runtime);
			assert_string_equal(x->container->pod, y->container->pod);
			assert_string_equal(x->container->namespace, y->container->namespace);
			assert_string_equal(x->container->name, y->container->name);
			assert_null(y->container->pod_uid);
		}
	}
}

static void test_round_trip(void **state)
{
	struct snapshot *snap = make_snapshot(4, 3), *back;
	struct pipeline_stats st = {};
	const char *why = NULL;
	void *frame, *labels;
	size_t len;

	(void)state;
	assert_int_equal(snapsock__encode(snap, &stats, &frame, &len), 0);
	assert_int_equal(snapsock__decode(frame, len, &back, &st, &labels, &why), 0);
	assert_same(snap, back);
	assert_memory_equal(&st, &stats, sizeof(st));
	/* the rebuilt snapshot is freed like any other; the labels separately */
	snapshot__free(back);
	free(labels);
	free(frame);
	snapshot__free(snap);
}

static void assert_same_str(const char *a, const char *b)
{
	if (a)
		assert_string_equal(a, b);
	else
		assert_null(b);
}

/* Every field of struct cgroup_stat, one by one: a field the codec forgets fails here. */
static void assert_same_cgroup(const struct cgroup_stat *x, const struct cgroup_stat *y)
{
	assert_int_equal(x->id, y->id);
	assert_same_str(x->path, y->path);
	assert_int_equal(x->nr_procs, y->nr_procs);
	assert_int_equal(x->first_proc, y->first_proc);
	assert_int_equal(x->mem.anon_rss_bytes, y->mem.anon_rss_bytes);
	assert_int_equal(x->mem.file_rss_bytes, y->mem.file_rss_bytes);
	assert_int_equal(x->mem.shmem_rss_bytes, y->mem.shmem_rss_bytes);
	assert_int_equal(x->mem.swap_bytes, y->mem.swap_bytes);
	assert_int_equal(x->mem.heap_bytes, y->mem.heap_bytes);
	assert_int_equal(x->mem.data_vm_bytes, y->mem.data_vm_bytes);
	assert_int_equal(x->mem.mmap_bytes, y->mem.mmap_bytes);
	assert_int_equal(x->mem.page_faults, y->mem.page_faults);
	assert_int_equal(x->page_faults_total, y->page_faults_total);
	assert_int_equal(x->limit_bytes, y->limit_bytes);
	assert_true(x->growth_bytes_per_s == y->growth_bytes_per_s);
	assert_true(x->time_to_limit_s == y->time_to_limit_s);
	assert_int_equal(x->leak_state, y->leak_state);
	assert_int_equal(x->malloc_outstanding_bytes, y->malloc_outstanding_bytes);
	assert_int_equal(x->oom_kills_total, y->oom_kills_total);
	assert_int_equal(!x->container, !y->container);
	if (x->container) {
		assert_same_str(x->container->id, y->container->id);
		assert_same_str(x->container->runtime, y->container->runtime);
		assert_same_str(x->container->pod_uid, y->container->pod_uid);
		assert_same_str(x->container->pod, y->container->pod);
		assert_same_str(x->container->namespace, y->container->namespace);
		assert_same_str(x->container->name, y->container->name);
	}
}

/* Each field of each cgroup, and of the snapshot and the counters, holds its own value. */
static void test_round_trip_every_field(void **state)
{
	static struct container_id pod = {
		.id = "fedcba9876543210",
		.runtime = "crio",
		.pod_uid = "5f0c-11ee-8c90",
		.pod = "db-1",
		.namespace = "store",
		.name = "postgres",
	};
	static struct container_id unit = { .runtime = "systemd", .name = "cron" };
	static const struct pipeline_stats counters = {
		.events = 901,
		.ringbuf_drops = 902,
		.map_full = 903,
		.attach_failures = 904,
	};
	struct snapshot *snap = make_snapshot(3, 2), *back;
	struct pipeline_stats st = {};
	const char *why = NULL;
	void *frame, *labels;
	size_t len, i;

	(void)state;
	snap->ts_ms = 1700000000999ull;
	snap->mono_ns = 123456789012ull;
	snap->interval_s = 2.75;
	snap->host_mem_total_bytes = 16ull << 30;
	snap->host_mem_available_bytes = 5ull << 30;
	for (i = 0; i < snap->nr_cgroups; i++) {
		struct cgroup_stat *cg = &snap->cgroups[i];
		__u64 base = 1000000 * (i + 1);

		/* id, path, nr_procs and first_proc come from make_snapshot */
		cg->mem.anon_rss_bytes = base + 1;
		cg->mem.file_rss_bytes = base + 2;
		cg->mem.shmem_rss_bytes = base + 3;
		cg->mem.swap_bytes = base + 4;
		cg->mem.heap_bytes = base + 5;
		cg->mem.data_vm_bytes = base + 6;
		cg->mem.mmap_bytes = base + 7;
		cg->mem.page_faults = base + 8;
		cg->page_faults_total = base + 9;
		cg->limit_bytes = base + 10;
		cg->growth_bytes_per_s = (double)base + 11.5;
		cg->time_to_limit_s = (double)base + 12.25;
		cg->leak_state = i == 1 ? LEAK_SUSPECTED : LEAK_NONE;
		cg->malloc_outstanding_bytes = base + 13;
		cg->oom_kills_total = base + 14;
	}
	snap->cgroups[0].container = &pod;
	snap->cgroups[1].container = NULL;
	snap->cgroups[2].container = &unit; /* some strings NULL; path NULL too */

	assert_int_equal(snapsock__encode(snap, &counters, &frame, &len), 0);
	assert_int_equal(snapsock__decode(frame, len, &back, &st, &labels, &why), 0);
	assert_int_equal(back->ts_ms, snap->ts_ms);
	assert_int_equal(back->mono_ns, snap->mono_ns);
	assert_true(back->interval_s == snap->interval_s);
	assert_int_equal(back->host_mem_total_bytes, snap->host_mem_total_bytes);
	assert_int_equal(back->host_mem_available_bytes, snap->host_mem_available_bytes);
	assert_int_equal(st.events, counters.events);
	assert_int_equal(st.ringbuf_drops, counters.ringbuf_drops);
	assert_int_equal(st.map_full, counters.map_full);
	assert_int_equal(st.attach_failures, counters.attach_failures);
	assert_int_equal(back->nr_cgroups, snap->nr_cgroups);
	assert_int_equal(back->nr_procs, snap->nr_procs);
	assert_memory_equal(back->procs, snap->procs, snap->nr_procs * sizeof(*snap->procs));
	for (i = 0; i < snap->nr_cgroups; i++)
		assert_same_cgroup(&snap->cgroups[i], &back->cgroups[i]);
	snapshot__free(back);
	free(labels);
	free(frame);
	snapshot__free(snap);
}

/* A reader learns the frame's length step by step: magic, header, whole. */
static void test_frame_bytes(void **state)
{
	struct snapshot *snap = make_snapshot(2, 2);
	const char *why = NULL;
	size_t len, want;
	void *frame;

	(void)state;
	assert_int_equal(snapsock__encode(snap, NULL, &frame, &len), 0);
	assert_int_equal(snapsock__frame_bytes(frame, 0, &want, &why), 0);
	assert_int_equal(want, 4);
	assert_int_equal(snapsock__frame_bytes(frame, 4, &want, &why), 0);
	assert_int_equal(want, SNAPSOCK_HEADER_BYTES);
	assert_int_equal(snapsock__frame_bytes(frame, SNAPSOCK_HEADER_BYTES, &want, &why), 0);
	assert_int_equal(want, len);
	assert_int_equal(snapsock__frame_bytes(frame, len, &want, &why), 0);
	assert_int_equal(want, len);
	/* garbage is told by its first four bytes */
	assert_int_equal(snapsock__frame_bytes("HTTP/1.1", 4, &want, &why), -EPROTO);
	assert_non_null(strstr(why, "magic"));
	/* a header of another version */
	((char *)frame)[4] ^= 0x40;
	assert_int_equal(snapsock__frame_bytes(frame, SNAPSOCK_HEADER_BYTES, &want, &why), -EPROTO);
	assert_non_null(strstr(why, "version"));
	free(frame);
	snapshot__free(snap);
}

static void test_decode_rejects_garbage(void **state)
{
	struct snapshot *snap = make_snapshot(3, 2), *back = NULL;
	const char *why = NULL;
	void *frame, *labels;
	char *bad;
	size_t len, i;
	unsigned int seed = 1;

	(void)state;
	assert_int_equal(snapsock__encode(snap, &stats, &frame, &len), 0);
	bad = malloc(len);

	/* truncated anywhere */
	for (i = 0; i < len; i += 7) {
		assert_int_equal(snapsock__decode(frame, i, &back, NULL, &labels, &why), -EPROTO);
		assert_null(back);
	}
	/* random bytes */
	for (i = 0; i < len; i++)
		bad[i] = (char)rand_r(&seed);
	assert_int_equal(snapsock__decode(bad, len, &back, NULL, &labels, &why), -EPROTO);
	assert_non_null(strstr(why, "magic"));

	/*
	 * Any single corrupted byte in the header or the records is caught or
	 * harmless (a figure changes); it never crashes or reads out of bounds
	 * (run under valgrind or ASan to see the second half of that claim).
	 */
	for (i = 0; i < len; i++) {
		int err;

		memcpy(bad, frame, len);
		bad[i] ^= 0x5a;
		err = snapsock__decode(bad, len, &back, NULL, &labels, &why);
		assert_true(err == 0 || err == -EPROTO);
		if (!err) {
			snapshot__free(back);
			free(labels);
		}
	}
	/* a path offset past the blob */
	memcpy(bad, frame, len);
	bad[len - 1] = 'x'; /* the last string loses its NUL */
	assert_int_equal(snapsock__decode(bad, len, &back, NULL, &labels, &why), -EPROTO);
	free(bad);
	free(frame);

	/* cgroups out of order would break snapshot__find_cgroup's binary search */
	snap->cgroups[1].id = snap->cgroups[0].id;
	snap->procs[2].cgroup_id = snap->procs[3].cgroup_id = snap->cgroups[1].id;
	assert_int_equal(snapsock__encode(snap, &stats, &frame, &len), 0);
	assert_int_equal(snapsock__decode(frame, len, &back, NULL, &labels, &why), -EPROTO);
	assert_non_null(strstr(why, "order"));
	free(frame);
	snapshot__free(snap);
}

struct sockdir {
	char dir[64];
	char path[100];
};

static void sockdir_init(struct sockdir *d)
{
	snprintf(d->dir, sizeof(d->dir), "/tmp/test_snapsock.XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	/* a directory the server must create */
	snprintf(d->path, sizeof(d->path), "%s/run/memobs.sock", d->dir);
}

static void sockdir_fini(struct sockdir *d)
{
	char sub[90];

	snprintf(sub, sizeof(sub), "%s/run", d->dir);
	unlink(d->path);
	rmdir(sub);
	rmdir(d->dir);
}

static int raw_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

/* Polls the server's client count until it reaches want, for up to 3 s. */
static size_t wait_clients(struct snapsock_server *srv, size_t want)
{
	int i;

	for (i = 0; i < 300 && snapsock_server__nr_clients(srv) != want; i++)
		usleep(10000);
	return snapsock_server__nr_clients(srv);
}

static void test_server_and_clients(void **state)
{
	struct snapshot *snap = make_snapshot(3, 2), *got;
	struct snapsock_server *srv;
	struct snapsock_client *c1, *c2;
	struct pipeline_stats st;
	struct sockdir d;
	struct stat sb;
	char sub[90];

	(void)state;
	sockdir_init(&d);
	assert_int_equal(snapsock_client__connect(&c1, d.path, 100), -ENOENT);
	assert_int_equal(snapsock_server__open(&srv, d.path), 0);
	assert_int_equal(stat(d.path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(sub, sizeof(sub), "%s/run", d.dir);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);

	assert_int_equal(snapsock_client__connect(&c1, d.path, 1000), 0);
	/* nothing published yet: a bounded wait, not a hang */
	assert_int_equal(snapsock_client__recv(c1, &got, &st, 100), -ETIMEDOUT);
	assert_int_equal(snapsock_server__publish(srv, snap, &stats), 0);
	assert_int_equal(snapsock_client__recv(c1, &got, &st, 3000), 0);
	assert_same(snap, got);
	assert_int_equal(st.events, stats.events);
	snapshot__free(got);

	/* a second client gets the latest snapshot at once, then each new one */
	assert_int_equal(snapsock_client__connect(&c2, d.path, 1000), 0);
	assert_int_equal(snapsock_client__recv(c2, &got, &st, 3000), 0);
	assert_same(snap, got);
	snapshot__free(got);
	snap->cgroups[0].mem.anon_rss_bytes = 123456;
	assert_int_equal(snapsock_server__publish(srv, snap, &stats), 0);
	assert_int_equal(snapsock_client__recv(c1, &got, &st, 3000), 0);
	assert_int_equal(got->cgroups[0].mem.anon_rss_bytes, 123456);
	snapshot__free(got);
	assert_int_equal(snapsock_client__recv(c2, &got, &st, 3000), 0);
	assert_int_equal(got->cgroups[0].mem.anon_rss_bytes, 123456);
	snapshot__free(got);
	assert_int_equal(wait_clients(srv, 2), 2);

	/* one daemon per socket */
	{
		struct snapsock_server *other;

		assert_int_equal(snapsock_server__open(&other, d.path), -EADDRINUSE);
	}
	snapsock_server__close(srv);
	/* the daemon left: the client learns it, and the socket file is gone */
	assert_int_equal(snapsock_client__recv(c1, &got, &st, 3000), -ECONNRESET);
	assert_int_equal(stat(d.path, &sb), -1);
	snapsock_client__close(c1);
	snapsock_client__close(c2);
	snapshot__free(snap);
	sockdir_fini(&d);
}

/* A client that never reads, and one that talks, are dropped; the others go on. */
static void test_bad_clients_do_not_stall(void **state)
{
	/* ~0.5 MB frames: the kernel's socket buffer holds less than one */
	struct snapshot *snap = make_snapshot(4, 1000), *got;
	struct snapsock_server *srv;
	struct snapsock_client *good;
	struct sockdir d;
	int silent, talker, i;
	const char garbage[] = "GET / HTTP/1.0\r\n\r\n";

	(void)state;
	sockdir_init(&d);
	assert_int_equal(snapsock_server__open(&srv, d.path), 0);
	assert_int_equal(snapsock_client__connect(&good, d.path, 1000), 0);
	silent = raw_connect(d.path);
	talker = raw_connect(d.path);
	assert_int_equal(wait_clients(srv, 3), 3);
	assert_int_equal(write(talker, garbage, sizeof(garbage)), sizeof(garbage));
	assert_int_equal(wait_clients(srv, 2), 2);

	for (i = 0; i < 40; i++) {
		assert_int_equal(snapsock_server__publish(srv, snap, &stats), 0);
		assert_int_equal(snapsock_client__recv(good, &got, NULL, 3000), 0);
		assert_int_equal(got->nr_procs, snap->nr_procs);
		snapshot__free(got);
	}
	/* the silent one fell more than a queue behind and was let go */
	assert_int_equal(wait_clients(srv, 1), 1);
	snapsock_server__close(srv);
	close(silent);
	close(talker);
	snapsock_client__close(good);
	snapshot__free(snap);
	sockdir_fini(&d);
}

/* A stale socket file is replaced; a file that is not a socket is left alone. */
static void test_stale_and_foreign_files(void **state)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct snapsock_server *srv;
	struct snapsock_client *c;
	struct sockdir d;
	char sub[90];
	int fd;

	(void)state;
	sockdir_init(&d);
	snprintf(sub, sizeof(sub), "%s/run", d.dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", d.path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	/* nobody listens: what a client sees is "no daemon" */
	assert_int_equal(snapsock_client__connect(&c, d.path, 100), -ECONNREFUSED);
	assert_int_equal(snapsock_server__open(&srv, d.path), 0);
	snapsock_server__close(srv);

	fd = creat(d.path, 0600);
	close(fd);
	assert_int_equal(snapsock_server__open(&srv, d.path), -EEXIST);
	assert_int_equal(access(d.path, F_OK), 0);
	sockdir_fini(&d);
}

/* The first refusal is told at once, the rest once a minute as a count. */
static void test_refusals_rate_limited(void **state)
{
	struct snapsock_refusals r = {};
	__u64 t = 1000, lines = 0, counted = 0, n;
	int i;

	(void)state;
	assert_int_equal(snapsock_refusals__wait_ms(&r, t), -1);
	assert_int_equal(snapsock_refusals__note(&r, t), 1);
	/* a flood: 10000 refusals within the minute, not a line each */
	for (i = 0; i < 10000; i++)
		assert_int_equal(snapsock_refusals__note(&r, t + i), 0);
	assert_int_equal(snapsock_refusals__due(&r, t + 30000), 0);
	assert_int_equal(snapsock_refusals__wait_ms(&r, t + 30000), 30000);
	assert_int_equal(snapsock_refusals__due(&r, t + SNAPSOCK_REFUSAL_REPORT_MS), 10000);
	assert_int_equal(snapsock_refusals__wait_ms(&r, t + SNAPSOCK_REFUSAL_REPORT_MS), -1);
	/* quiet since: the next one is told at once again */
	assert_int_equal(snapsock_refusals__note(&r, t + 5 * SNAPSOCK_REFUSAL_REPORT_MS), 1);
	/* a steady flood of one per ms for ten minutes: about one line a minute */
	t += 6 * SNAPSOCK_REFUSAL_REPORT_MS;
	for (i = 0; i < 10 * SNAPSOCK_REFUSAL_REPORT_MS; i++) {
		n = snapsock_refusals__note(&r, t + i);
		if (!n && !(i % 100))
			n = snapsock_refusals__due(&r, t + i);
		lines += n > 0;
		counted += n;
	}
	counted += snapsock_refusals__due(&r, t + 11 * SNAPSOCK_REFUSAL_REPORT_MS);
	assert_true(lines >= 10 && lines <= 11);
	assert_int_equal(counted, 10 * SNAPSOCK_REFUSAL_REPORT_MS);
}

/* The directory decides who may replace the socket: only ours, writable by us alone. */
static void test_socket_dir_must_be_ours(void **state)
{
	struct snapsock_server *srv;
	struct sockdir d;
	char sub[90], link[100], path[120];
	struct stat sb;
	mode_t old_mask;
	int err;

	(void)state;
	sockdir_init(&d);
	snprintf(sub, sizeof(sub), "%s/run", d.dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	/* group- or world-writable: refused, and nothing is created there */
	assert_int_equal(chmod(sub, 0777), 0);
	assert_int_equal(snapsock_server__open(&srv, d.path), -EPERM);
	assert_int_equal(chmod(sub, 01777), 0);
	assert_int_equal(snapsock_server__open(&srv, d.path), -EPERM);
	assert_int_equal(chmod(sub, 0770), 0);
	assert_int_equal(snapsock_server__open(&srv, d.path), -EPERM);
	assert_int_equal(access(d.path, F_OK), -1);
	/* an existing 0755 of ours is fine; the socket is 0600 whatever the umask */
	assert_int_equal(chmod(sub, 0755), 0);
	old_mask = umask(0);
	assert_int_equal(snapsock_server__open(&srv, d.path), 0);
	umask(old_mask);
	assert_int_equal(lstat(d.path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
	snapsock_server__close(srv);
	/* a symlink as the directory: refused, whatever it points to */
	snprintf(link, sizeof(link), "%s/link", d.dir);
	assert_int_equal(symlink(sub, link), 0);
	snprintf(path, sizeof(path), "%s/memobs.sock", link);
	err = snapsock_server__open(&srv, path);
	assert_true(err == -ENOTDIR || err == -ELOOP);
	unlink(link);
	/* another user's directory (needs root to make one; e2e covers it too) */
	if (geteuid() == 0) {
		assert_int_equal(chown(sub, 65534, 65534), 0);
		assert_int_equal(snapsock_server__open(&srv, d.path), -EPERM);
	}
	sockdir_fini(&d);
}

/* What a client does with a peer that is not a memobs daemon. */
static void test_client_against_garbage(void **state)
{
	struct snapsock_client *c;
	struct snapshot *got = NULL;
	struct snapshot *snap = make_snapshot(2, 1);
	int sv[2];
	void *frame;
	size_t len;
	__u64 t0_ms;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(snapsock_client__from_fd(&c, sv[0]), 0);
	assert_int_equal(write(sv[1], "HTTP/1.1 200 OK\r\n", 17), 17);
	assert_int_equal(snapsock_client__recv(c, &got, NULL, 1000), -EPROTO);
	assert_non_null(strstr(snapsock_client__error(c), "magic"));
	assert_null(got);
	snapsock_client__close(c);
	close(sv[1]);

	/* a valid start and then silence: a timeout, within its bound */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(snapsock_client__from_fd(&c, sv[0]), 0);
	assert_int_equal(snapsock__encode(snap, NULL, &frame, &len), 0);
	assert_int_equal(write(sv[1], frame, len / 2), (ssize_t)(len / 2));
	t0_ms = clock_mono_ms();
	assert_int_equal(snapsock_client__recv(c, &got, NULL, 200), -ETIMEDOUT);
	assert_true(clock_mono_ms() - t0_ms < 5000);
	/* the rest arrives: the frame is whole again */
	assert_int_equal(write(sv[1], (char *)frame + len / 2, len - len / 2),
			 (ssize_t)(len - len / 2));
	assert_int_equal(snapsock_client__recv(c, &got, NULL, 1000), 0);
	assert_same(snap, got);
	snapshot__free(got);
	/* a header claiming a huge payload is refused before anything is allocated for it */
	((__u32 *)frame)[2] = 0xfffffff0u;
	assert_int_equal(write(sv[1], frame, 32), 32);
	assert_int_equal(snapsock_client__recv(c, &got, NULL, 1000), -EPROTO);
	snapsock_client__close(c);
	close(sv[1]);
	free(frame);
	snapshot__free(snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_every_field),
		cmocka_unit_test(test_frame_bytes),
		cmocka_unit_test(test_decode_rejects_garbage),
		cmocka_unit_test(test_server_and_clients),
		cmocka_unit_test(test_bad_clients_do_not_stall),
		cmocka_unit_test(test_stale_and_foreign_files),
		cmocka_unit_test(test_refusals_rate_limited),
		cmocka_unit_test(test_socket_dir_must_be_ours),
		cmocka_unit_test(test_client_against_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
