// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include "identity/container.h"
#include "output/metrics.h"
#include "output/metrics_http.h"
#include "util/clock.h"

static struct container_id web = { .id = "4c01",
				   .runtime = "containerd",
				   .pod_uid = "7c5a",
				   .pod = "web-7d4b9",
				   .namespace = "shop",
				   .name = "nginx" };
/* names are the node's to choose: quotes, backslashes, newlines, bad UTF-8 */
static struct container_id hostile = { .name = "a\"b\\c\nd\xff\x01" };

static void fill_snapshot(struct snapshot *snap, struct cgroup_stat *cgs, size_t nr)
{
	size_t i;

	memset(snap, 0, sizeof(*snap));
	memset(cgs, 0, nr * sizeof(*cgs));
	for (i = 0; i < nr; i++) {
		cgs[i].id = 100 + i;
		cgs[i].path = "/system.slice/other.service";
		cgs[i].mem.anon_rss_bytes = (i + 1) << 20;
		cgs[i].time_to_limit_s = -1;
	}
	snap->cgroups = cgs;
	snap->nr_cgroups = nr;
	snap->ts_ms = 1795446000123ULL;
}

static struct metrics_self self = { .events = 12,
				    .ringbuf_drops = 3,
				    .map_full = 0,
				    .attach_failures = 1,
				    .cpu_seconds = 0.25,
				    .rss_bytes = 9 << 20,
				    .start_time_s = 1795440000 };

static char *render(const struct snapshot *snap, unsigned int max)
{
	char *text;
	size_t len;

	assert_int_equal(metrics__render(snap, &self, max, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

/* promtool validates the format and lints names, types and help. */
static void assert_promtool_accepts(const char *text)
{
	FILE *p;
	int status;

	if (system("command -v promtool >/dev/null 2>&1")) {
		print_message(
			"promtool not installed (Debian: prometheus): format not validated\n");
		skip();
	}
	p = popen("promtool check metrics", "w");
	assert_non_null(p);
	fputs(text, p);
	status = pclose(p);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;

	for (; (text = strstr(text, needle)); text++)
		n++;
	return n;
}

static void test_render_series(void **state)
{
	struct cgroup_stat cgs[3];
	struct snapshot snap;
	char *text;

	(void)state;
	fill_snapshot(&snap, cgs, 3);
	cgs[0].path = "/kubepods.slice/x.scope";
	cgs[0].container = &web;
	cgs[0].mem.anon_rss_bytes = 123456789;
	cgs[0].mem.file_rss_bytes = 2000001;
	cgs[0].mem.shmem_rss_bytes = 3000002;
	cgs[0].mem.swap_bytes = 4000003;
	cgs[0].mem.heap_bytes = 4096;
	cgs[0].mem.mmap_bytes = 8192;
	cgs[0].malloc_outstanding_bytes = 5000004;
	cgs[0].malloc_traced = true;
	cgs[0].page_faults_total = 77;
	cgs[0].growth_bytes_per_s = 1024.5;
	cgs[0].leak_state = LEAK_SUSPECTED;
	cgs[0].time_to_limit_s = 3600;
	cgs[0].limit_bytes = 1ULL << 30;
	cgs[0].oom_kills_total = 2;
	cgs[1].growth_bytes_per_s = NAN; /* unknown: no series */
	cgs[2].container = &hostile;
	text = render(&snap, 0);

	assert_non_null(strstr(text, "# TYPE memobs_cgroup_anon_rss_bytes gauge\n"));
	assert_non_null(strstr(text,
			       "memobs_cgroup_anon_rss_bytes{cgroup=\"/kubepods.slice/x.scope\","
			       "container=\"nginx\",pod=\"web-7d4b9\",namespace=\"shop\"} "
			       "123456789\n"));
	assert_non_null(strstr(text,
			       "memobs_cgroup_heap_vm_bytes{cgroup=\"/kubepods.slice/x.scope\","
			       "container=\"nginx\",pod=\"web-7d4b9\",namespace=\"shop\"} 4096\n"));
	assert_non_null(strstr(text, "# TYPE memobs_cgroup_file_rss_bytes gauge\n"));
	assert_non_null(strstr(
		text, "memobs_cgroup_file_rss_bytes{cgroup=\"/kubepods.slice/x.scope\","
		      "container=\"nginx\",pod=\"web-7d4b9\",namespace=\"shop\"} 2000001\n"));
	assert_non_null(strstr(
		text, "memobs_cgroup_shmem_rss_bytes{cgroup=\"/kubepods.slice/x.scope\","
		      "container=\"nginx\",pod=\"web-7d4b9\",namespace=\"shop\"} 3000002\n"));
	assert_non_null(strstr(
		text, "memobs_cgroup_swap_bytes{cgroup=\"/kubepods.slice/x.scope\","
		      "container=\"nginx\",pod=\"web-7d4b9\",namespace=\"shop\"} 4000003\n"));
	assert_non_null(strstr(text, "# TYPE memobs_cgroup_malloc_outstanding_bytes gauge\n"));
	assert_non_null(strstr(text, "memobs_cgroup_malloc_outstanding_bytes{cgroup=\"/kubepods."
				     "slice/x.scope\",container=\"nginx\",pod=\"web-7d4b9\","
				     "namespace=\"shop\"} 5000004\n"));
	/* the other two are not traced: no malloc series for them */
	assert_int_equal(count(text, "memobs_cgroup_malloc_outstanding_bytes{"), 1);
	assert_non_null(strstr(text, "memobs_cgroup_memory_limit_bytes{cgroup=\"/kubepods.slice/"
				     "x.scope\",container=\"nginx\",pod=\"web-7d4b9\",namespace="
				     "\"shop\"} 1073741824\n"));
	assert_int_equal(count(text, "memobs_cgroup_memory_limit_bytes{"), 1);
	assert_int_equal(count(text, "memobs_cgroup_time_to_limit_seconds{"), 1);
	/* every cgroup has its resident, swap and leak-state series, 0 or not */
	assert_int_equal(count(text, "memobs_cgroup_file_rss_bytes{"), 3);
	assert_int_equal(count(text, "memobs_cgroup_shmem_rss_bytes{"), 3);
	assert_int_equal(count(text, "memobs_cgroup_swap_bytes{"), 3);
	assert_int_equal(count(text, "memobs_cgroup_leak_suspected{"), 3);
	assert_non_null(strstr(text, "# TYPE memobs_cgroup_page_faults_total counter\n"));
	assert_non_null(strstr(text, "namespace=\"shop\"} 77\n"));
	assert_non_null(
		strstr(text, "memobs_cgroup_leak_suspected{cgroup=\"/kubepods.slice/x.scope\""));
	assert_non_null(strstr(text, "namespace=\"shop\"} 1024.5\n"));
	assert_non_null(strstr(text, "namespace=\"shop\"} 3600\n"));
	assert_non_null(strstr(text, "namespace=\"shop\"} 1073741824\n"));
	assert_non_null(
		strstr(text, "memobs_cgroup_oom_kills_total{cgroup=\"/kubepods.slice/x.scope\""));
	/* a cgroup that is no container: empty labels; leak state 0 */
	assert_non_null(
		strstr(text, "memobs_cgroup_leak_suspected{cgroup=\"/system.slice/other.service\","
			     "container=\"\",pod=\"\",namespace=\"\"} 0\n"));
	/* unknown values (no limit, no time to limit, NaN growth) have no series */
	assert_null(strstr(text, "NaN"));
	assert_int_equal(
		strstr(strstr(text, "# TYPE memobs_cgroup_time_to_limit_seconds"), "\n# ") -
			strstr(text, "# TYPE memobs_cgroup_time_to_limit_seconds"),
		strlen("# TYPE memobs_cgroup_time_to_limit_seconds gauge") +
			strlen("\nmemobs_cgroup_time_to_limit_seconds{cgroup=\"/kubepods.slice/"
			       "x.scope\",container=\"nginx\",pod=\"web-7d4b9\",namespace="
			       "\"shop\"} 3600"));
	/* escaping: \" \\ \n, bad UTF-8 as U+FFFD, control characters as '?' */
	assert_non_null(strstr(text, "container=\"a\\\"b\\\\c\\nd\xef\xbf\xbd?\""));
	/* memobs's own */
	assert_non_null(strstr(text, "memobs_events_total 12\n"));
	assert_non_null(strstr(text, "memobs_ringbuf_drops_total 3\n"));
	assert_non_null(strstr(text, "memobs_attach_failures_total 1\n"));
	assert_non_null(strstr(text, "process_cpu_seconds_total 0.25\n"));
	assert_non_null(strstr(text, "process_resident_memory_bytes 9437184\n"));
	assert_non_null(strstr(text, "memobs_cgroups_exported 3\n"));
	assert_non_null(strstr(text, "memobs_cgroups_not_exported 0\n"));
	assert_non_null(strstr(text, "memobs_last_pass_timestamp_seconds 1795446000.123\n"));
	assert_promtool_accepts(text);
	free(text);
}

/* Over the cap: the largest cgroups by anonymous RSS are kept, the rest counted. */
static void test_render_cap(void **state)
{
	struct cgroup_stat cgs[10];
	struct snapshot snap;
	char *text;

	(void)state;
	fill_snapshot(&snap, cgs, 10);
	cgs[0].mem.anon_rss_bytes = 1ULL << 40; /* the largest is the first by id */
	cgs[0].path = "/big";
	text = render(&snap, 4);
	assert_int_equal(count(text, "memobs_cgroup_anon_rss_bytes{"), 4);
	assert_non_null(strstr(text, "memobs_cgroup_anon_rss_bytes{cgroup=\"/big\""));
	assert_non_null(strstr(text, "} 10485760\n")); /* cgs[9] */
	assert_non_null(strstr(text, "} 9437184\n"));  /* cgs[8] */
	assert_null(strstr(text, "} 1048576\n"));      /* cgs[0]'s default size: not chosen */
	assert_null(strstr(text, "} 2097152\n"));      /* cgs[1] */
	assert_non_null(strstr(text, "memobs_cgroups_not_exported 6\n"));
	assert_promtool_accepts(text);
	free(text);
}

/*
 * Cgroups removed before they were named (no path) get each a series of its
 * own, labelled with the cgroup id: the same label set twice is a duplicate
 * series that Prometheus rejects the whole scrape for.
 */
static void test_render_unnamed(void **state)
{
	struct cgroup_stat cgs[3];
	struct snapshot snap;
	const char *line, *end, *prev = NULL;
	char *text;
	size_t n = 0, prev_len = 0;

	(void)state;
	fill_snapshot(&snap, cgs, 3);
	cgs[0].path = "/kubepods.slice/x.scope";
	cgs[1].path = NULL;
	cgs[2].path = NULL;
	text = render(&snap, 0);
	assert_non_null(strstr(text, "memobs_cgroup_anon_rss_bytes{cgroup=\"101\",container=\"\","
				     "pod=\"\",namespace=\"\"} 2097152\n"));
	assert_non_null(strstr(text, "memobs_cgroup_anon_rss_bytes{cgroup=\"102\",container=\"\","
				     "pod=\"\",namespace=\"\"} 3145728\n"));
	assert_null(strstr(text, "cgroup=\"\""));
	/* no two series of a family share their labels */
	for (line = text; (line = strstr(line, "memobs_cgroup_anon_rss_bytes{")); line = end) {
		end = strchr(line, '}');
		assert_non_null(end);
		if (prev)
			assert_false((size_t)(end - line) == prev_len &&
				     !memcmp(prev, line, prev_len));
		prev = line;
		prev_len = end - line;
		n++;
	}
	assert_int_equal(n, 3);
	assert_promtool_accepts(text);
	free(text);
}

/* Before the first pass: memobs's own metrics only, still valid. */
static void test_render_empty(void **state)
{
	char *text;

	(void)state;
	text = render(NULL, 0);
	assert_null(strstr(text, "memobs_cgroup_"));
	assert_non_null(strstr(text, "memobs_events_total 12\n"));
	assert_promtool_accepts(text);
	free(text);
}

/*
 * Values at the edges: a traced cgroup with nothing outstanding says 0 (an
 * untraced one says nothing); at the limit, 0 s to go; an unknown or infinite
 * projection and a limit of 0 (none) have no series; byte counts above 2^53
 * print exactly.
 */
static void test_render_edge_values(void **state)
{
	struct cgroup_stat cgs[4];
	struct snapshot snap;
	char *text;

	(void)state;
	fill_snapshot(&snap, cgs, 4);
	cgs[0].path = "/a";
	cgs[0].malloc_traced = true; /* traced, nothing outstanding */
	cgs[0].limit_bytes = 64ULL << 20;
	cgs[0].time_to_limit_s = 0; /* at its limit already */
	cgs[1].path = "/b";
	cgs[1].malloc_outstanding_bytes = 777; /* a stale estimate of a cgroup no longer traced */
	cgs[1].time_to_limit_s = INFINITY;
	cgs[1].limit_bytes = (1ULL << 60) + 1;
	cgs[2].path = "/c";
	cgs[2].time_to_limit_s = NAN;
	cgs[2].mem.swap_bytes = (1ULL << 53) + 1;
	cgs[3].path = "/d";
	cgs[3].time_to_limit_s = 12.25;
	text = render(&snap, 0);
	assert_non_null(strstr(text, "memobs_cgroup_malloc_outstanding_bytes{cgroup=\"/a\","
				     "container=\"\",pod=\"\",namespace=\"\"} 0\n"));
	assert_int_equal(count(text, "memobs_cgroup_malloc_outstanding_bytes{"), 1);
	assert_null(strstr(text, "} 777\n"));
	assert_non_null(strstr(text, "memobs_cgroup_time_to_limit_seconds{cgroup=\"/a\","
				     "container=\"\",pod=\"\",namespace=\"\"} 0\n"));
	assert_non_null(strstr(text, "memobs_cgroup_time_to_limit_seconds{cgroup=\"/d\","
				     "container=\"\",pod=\"\",namespace=\"\"} 12.25\n"));
	assert_int_equal(count(text, "memobs_cgroup_time_to_limit_seconds{"), 2);
	assert_non_null(strstr(text, "memobs_cgroup_memory_limit_bytes{cgroup=\"/a\","
				     "container=\"\",pod=\"\",namespace=\"\"} 67108864\n"));
	assert_non_null(strstr(text,
			       "memobs_cgroup_memory_limit_bytes{cgroup=\"/b\","
			       "container=\"\",pod=\"\",namespace=\"\"} 1152921504606846977\n"));
	assert_int_equal(count(text, "memobs_cgroup_memory_limit_bytes{"), 2);
	assert_non_null(strstr(text, "memobs_cgroup_swap_bytes{cgroup=\"/c\","
				     "container=\"\",pod=\"\",namespace=\"\"} 9007199254740993\n"));
	assert_null(strstr(text, "Inf"));
	assert_null(strstr(text, "NaN"));
	assert_promtool_accepts(text);
	free(text);
}

#define MAX_FAMILIES 64
#define METRICS_DOC "docs/kubernetes.md"

struct families {
	char name[MAX_FAMILIES][96];
	char type[MAX_FAMILIES][16];
	size_t nr;
};

static bool families__has(const struct families *f, const char *name, const char *type)
{
	size_t i;

	for (i = 0; i < f->nr; i++)
		if (!strcmp(f->name[i], name) && !strcmp(f->type[i], type))
			return true;
	return false;
}

/* The rows "| `name` | type | ..." of the tables that METRICS_DOC marks `<!-- metrics -->`. */
static void documented_families(struct families *out)
{
	FILE *f = fopen(METRICS_DOC, "r");
	bool armed = false, in_table = false;
	char line[1024];

	assert_non_null(f);
	out->nr = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "<!--", 4)) {
			armed = strstr(line, "<!-- metrics") != NULL;
			in_table = false;
		} else if (armed && line[0] == '|') {
			in_table = true;
			if (!strncmp(line, "| `", 3)) {
				assert_true(out->nr < MAX_FAMILIES);
				assert_int_equal(sscanf(line, "| `%95[^`]` | %15[a-z] |",
							out->name[out->nr], out->type[out->nr]),
						 2);
				out->nr++;
			}
		} else if (in_table) {
			armed = in_table = false;
		}
	}
	fclose(f);
	assert_true(out->nr > 0);
}

/* The "# TYPE name type" lines of an exposition. */
static void rendered_families(const char *text, struct families *out)
{
	const char *line;

	out->nr = 0;
	for (line = text; (line = strstr(line, "# TYPE ")); line++) {
		assert_true(out->nr < MAX_FAMILIES);
		assert_int_equal(sscanf(line, "# TYPE %95s %15s", out->name[out->nr],
					out->type[out->nr]),
				 2);
		out->nr++;
	}
}

/*
 * The metrics docs list exactly the families memobs renders, with their types:
 * dashboards and alert rules are written from that table (and
 * tests/e2e/test_prometheus.py checks the dashboard's queries against it).
 */
static void test_families_documented(void **state)
{
	struct families doc, got;
	struct cgroup_stat cg;
	struct snapshot snap;
	char *text;
	size_t i;

	(void)state;
	fill_snapshot(&snap, &cg, 1);
	/* every family present: traced, limited, growing, suspected */
	cg.malloc_traced = true;
	cg.limit_bytes = 1ULL << 30;
	cg.time_to_limit_s = 60;
	cg.growth_bytes_per_s = 1;
	cg.leak_state = LEAK_SUSPECTED;
	text = render(&snap, 0);
	documented_families(&doc);
	rendered_families(text, &got);
	for (i = 0; i < got.nr; i++)
		if (!families__has(&doc, got.name[i], got.type[i]))
			fail_msg("'%s' (%s) is rendered, but " METRICS_DOC " does not list it",
				 got.name[i], got.type[i]);
	for (i = 0; i < doc.nr; i++)
		if (!families__has(&got, doc.name[i], doc.type[i]))
			fail_msg(METRICS_DOC " lists '%s' (%s), which is not rendered", doc.name[i],
				 doc.type[i]);
	free(text);
}

static void test_self_read(void **state)
{
	struct metrics_self s = {};
	volatile double x = 0;
	int i;

	(void)state;
	for (i = 0; i < 20000000; i++)
		x += i;
	assert_int_equal(metrics_self__read_process(&s), 0);
	assert_true(s.rss_bytes > 100 * 1024);
	assert_true(s.cpu_seconds > 0);
}

static void test_addr_parse(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	const char *bad[] = { "",
			      "9464",
			      "127.0.0.1",
			      "127.0.0.1:",
			      "127.0.0.1:65536",
			      "127.0.0.1:-1",
			      "127.0.0.1:+80",
			      "127.0.0.1:80x",
			      "localhost:9464",
			      "::1:9464",
			      "[::1]",
			      "[::1]9464",
			      "[]:9464",
			      "[zz]:1",
			      "1.2.3:4",
			      NULL };
	socklen_t len;
	size_t i;

	(void)state;
	assert_int_equal(metrics_addr__parse("127.0.0.1:9464", &ss, &len), 0);
	assert_int_equal(v4->sin_family, AF_INET);
	assert_int_equal(ntohs(v4->sin_port), 9464);
	assert_int_equal(ntohl(v4->sin_addr.s_addr), INADDR_LOOPBACK);
	assert_int_equal(len, sizeof(*v4));
	assert_int_equal(metrics_addr__parse(":9464", &ss, &len), 0);
	assert_int_equal(v4->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(metrics_addr__parse("[::1]:80", &ss, &len), 0);
	assert_int_equal(v6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(v6->sin6_port), 80);
	assert_true(IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr));
	for (i = 0; bad[i]; i++) {
		if (metrics_addr__parse(bad[i], &ss, &len) != -EINVAL) {
			print_error("accepted '%s'\n", bad[i]);
			fail();
		}
	}
	assert_int_equal(metrics_addr__parse(NULL, &ss, &len), -EINVAL);
}

/* A TCP connection to 127.0.0.1:port from the loopback address src (127.x.y.z). */
static int connect_from(const char *src, int port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_port = htons(port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in from = { .sin_family = AF_INET };
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, src, &from.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

/* One HTTP/1.0 request on loopback from src: the status code (-1: none), the body into body. */
static int http_get_from(const char *src, int port, const char *path, char *body, size_t size)
{
	char req[256], resp[65536];
	struct timeval tv = { .tv_sec = 3 };
	size_t len = 0;
	ssize_t n;
	int fd, status = -1;
	char *sep;

	fd = connect_from(src, port);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	/* a connection the server closed at once may refuse the request: no status */
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	while (len < sizeof(resp) - 1 && (n = read(fd, resp + len, sizeof(resp) - 1 - len)) > 0)
		len += n;
	close(fd);
	resp[len] = '\0';
	sscanf(resp, "HTTP/1.%*d %d", &status);
	sep = strstr(resp, "\r\n\r\n");
	snprintf(body, size, "%s", sep ? sep + 4 : "");
	return status;
}

static int http_get(int port, const char *path, char *body, size_t size)
{
	return http_get_from("127.0.0.1", port, path, body, size);
}

static void test_server(void **state)
{
	const char *text = "# HELP memobs_x X.\n# TYPE memobs_x gauge\nmemobs_x 1\n";
	struct metrics_server *s = NULL, *s2 = NULL;
	char body[4096];
	int port;

	(void)state;
	assert_int_equal(metrics_server__start(&s, "127.0.0.1:0", 0.2), 0);
	port = metrics_server__port(s);
	assert_true(port > 0);
	assert_int_equal(http_get(port, "/healthz", body, sizeof(body)), 503);
	assert_int_equal(http_get(port, "/metrics", body, sizeof(body)), 503);
	assert_int_equal(metrics_server__publish(s, text, strlen(text)), 0);
	assert_int_equal(http_get(port, "/healthz", body, sizeof(body)), 200);
	assert_string_equal(body, "ok\n");
	assert_int_equal(http_get(port, "/metrics", body, sizeof(body)), 200);
	assert_string_equal(body, text);
	assert_int_equal(http_get(port, "/nope", body, sizeof(body)), 404);
	/* three intervals without a pass: not healthy */
	usleep(700 * 1000);
	assert_int_equal(http_get(port, "/healthz", body, sizeof(body)), 503);
	assert_int_equal(metrics_server__health_port(s), -1);
	/* the port is taken: the bind error comes back as is */
	snprintf(body, sizeof(body), "127.0.0.1:%d", port);
	assert_int_equal(metrics_server__start(&s2, body, 1), -EADDRINUSE);
	assert_null(s2);
	assert_int_equal(metrics_server__start(&s2, "localhost:1", 1), -EINVAL);
	metrics_server__stop(s);
	metrics_server__stop(NULL);
}

/*
 * Idle connections, as many as anyone cares to open from one address, starve
 * neither the health listener nor /metrics for the other addresses.
 */
static void test_idle_connections_starve_nothing(void **state)
{
	const char *text = "memobs_x 1\n";
	struct metrics_server *s = NULL;
	int idle[32], port, health, i, extra;
	char body[4096];
	struct timeval tv = { .tv_sec = METRICS_HTTP_IDLE_TIMEOUT_S + 3 };
	__u64 t0;

	(void)state;
	assert_int_equal(metrics_server__start(&s, "127.0.0.1:0", 1), 0);
	assert_int_equal(metrics_server__start_health(s, "127.0.0.1:0"), 0);
	assert_int_equal(metrics_server__start_health(s, "127.0.0.1:0"), -EBUSY);
	port = metrics_server__port(s);
	health = metrics_server__health_port(s);
	assert_true(health > 0 && health != port);
	assert_int_equal(metrics_server__publish(s, text, strlen(text)), 0);
	for (i = 0; i < 32; i++)
		idle[i] = connect_from("127.0.0.1", port);
	usleep(200 * 1000);
	t0 = clock_mono_ms();
	assert_int_equal(http_get(health, "/healthz", body, sizeof(body)), 200);
	assert_string_equal(body, "ok\n");
	assert_true(clock_mono_ms() - t0 < 1000);
	/* the health listener serves nothing else */
	assert_int_equal(http_get(health, "/metrics", body, sizeof(body)), 404);
	/* another address is served at once */
	t0 = clock_mono_ms();
	assert_int_equal(http_get_from("127.0.0.2", port, "/metrics", body, sizeof(body)), 200);
	assert_string_equal(body, text);
	assert_true(clock_mono_ms() - t0 < 1000);
	/* beyond the per-address limit a connection is closed at once, unanswered */
	assert_int_equal(http_get(port, "/metrics", body, sizeof(body)), -1);
	/* the idle ones are let go after the idle timeout; then the address is served again */
	setsockopt(idle[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(read(idle[0], body, sizeof(body)), 0);
	for (i = 0; i < 32; i++)
		close(idle[i]);
	extra = 0;
	while (http_get(port, "/metrics", body, sizeof(body)) != 200 && extra++ < 20)
		usleep(100 * 1000);
	assert_true(extra <= 20);
	metrics_server__stop(s);

	/* a health listener alone: /healthz without /metrics */
	assert_int_equal(metrics_server__start(&s, NULL, 1), 0);
	assert_int_equal(metrics_server__port(s), -1);
	assert_int_equal(metrics_server__start_health(s, "127.0.0.1:0"), 0);
	health = metrics_server__health_port(s);
	assert_int_equal(http_get(health, "/healthz", body, sizeof(body)), 503);
	assert_int_equal(metrics_server__publish(s, "", 0), 0);
	assert_int_equal(http_get(health, "/healthz", body, sizeof(body)), 200);
	metrics_server__stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_series),
		cmocka_unit_test(test_render_cap),
		cmocka_unit_test(test_render_empty),
		cmocka_unit_test(test_render_unnamed),
		cmocka_unit_test(test_render_edge_values),
		cmocka_unit_test(test_families_documented),
		cmocka_unit_test(test_self_read),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_idle_connections_starve_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
