// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include <linux/types.h>
#include <netinet/in.h>
#include "output/metrics.h"
#include "output/metrics_http.h"

#define HEALTHY_INTERVALS 3
#define MAX_CONNECTIONS 16
#define CONNECTION_TIMEOUT_S 10
#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"

struct metrics_server {
	struct MHD_Daemon *daemon;
	int listen_fd;
	int port;
	__u64 stale_after_ns;
	pthread_mutex_t lock; /* guards what follows */
	char *text;
	size_t len;
	__u64 published_ns; /* 0: nothing published yet */
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int parse_port(const char *s, in_port_t *port)
{
	char *end;
	long v;

	if (!*s || *s == '+' || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 65535)
		return -EINVAL;
	*port = htons(v);
	return 0;
}

int metrics_addr__parse(const char *addr_port, struct sockaddr_storage *out, socklen_t *len)
{
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
	struct sockaddr_in *v4 = (struct sockaddr_in *)out;
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *close;
	size_t host_len;

	memset(out, 0, sizeof(*out));
	if (!addr_port)
		return -EINVAL;
	if (addr_port[0] == '[') {
		close = strchr(addr_port, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		host_len = close - addr_port - 1;
		if (host_len == 0 || host_len >= sizeof(host))
			return -EINVAL;
		memcpy(host, addr_port + 1, host_len);
		host[host_len] = '\0';
		v6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, host, &v6->sin6_addr) != 1 ||
		    parse_port(close + 2, &v6->sin6_port))
			return -EINVAL;
		*len = sizeof(*v6);
		return 0;
	}
	colon = strrchr(addr_port, ':');
	if (!colon || memchr(addr_port, ':', colon - addr_port))
		return -EINVAL; /* a bare IPv6 address must be bracketed */
	host_len = colon - addr_port;
	if (host_len >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr_port, host_len);
	host[host_len] = '\0';
	v4->sin_family = AF_INET;
	if (host_len == 0)
		v4->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &v4->sin_addr) != 1)
		return -EINVAL;
	if (parse_port(colon + 1, &v4->sin_port))
		return -EINVAL;
	*len = sizeof(*v4);
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, char *body,
			     size_t len, const char *content_type)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_str(struct MHD_Connection *conn, unsigned int status, const char *s)
{
	char *body = strdup(s);

	return body ? reply(conn, status, body, strlen(s), "text/plain; charset=utf-8") : MHD_NO;
}

static enum MHD_Result serve_metrics(struct metrics_server *s, struct MHD_Connection *conn)
{
	char *body = NULL;
	bool have = false;
	size_t len = 0;

	pthread_mutex_lock(&s->lock);
	if (s->text) {
		have = true;
		body = malloc(s->len + 1);
		if (body) {
			memcpy(body, s->text, s->len);
			len = s->len;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (!have)
		return reply_str(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "no sample yet\n");
	if (!body)
		return MHD_NO;
	return reply(conn, MHD_HTTP_OK, body, len, CONTENT_TYPE_METRICS);
}

static enum MHD_Result serve_healthz(struct metrics_server *s, struct MHD_Connection *conn)
{
	__u64 published;

	pthread_mutex_lock(&s->lock);
	published = s->published_ns;
	pthread_mutex_unlock(&s->lock);
	if (!published)
		return reply_str(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "starting: no sample yet\n");
	if (mono_ns() - published > s->stale_after_ns)
		return reply_str(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "stalled: no recent sample\n");
	return reply_str(conn, MHD_HTTP_OK, "ok\n");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct metrics_server *s = cls;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_str(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
	if (!strcmp(url, "/metrics"))
		return serve_metrics(s, conn);
	if (!strcmp(url, "/healthz"))
		return serve_healthz(s, conn);
	return reply_str(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics or /healthz\n");
}

static int listen_on(const struct sockaddr_storage *addr, socklen_t len, int *port)
{
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	int fd, one = 1, err;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)addr, len) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&bound, &bound_len)) {
		err = -errno;
		close(fd);
		return err;
	}
	*port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
						  : ((struct sockaddr_in *)&bound)->sin_port);
	return fd;
}

int metrics_server__start(struct metrics_server **out, const char *addr_port, double interval_s)
{
	struct sockaddr_storage addr;
	struct metrics_server *s;
	socklen_t addr_len;
	int err;

	*out = NULL;
	err = metrics_addr__parse(addr_port, &addr, &addr_len);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->stale_after_ns = (interval_s > 0 ? interval_s : 1) * HEALTHY_INTERVALS * 1e9;
	/* our own socket: bind errors keep their errno, and port 0 can be read back */
	s->listen_fd = listen_on(&addr, addr_len, &s->port);
	if (s->listen_fd < 0) {
		err = s->listen_fd;
		pthread_mutex_destroy(&s->lock);
		free(s);
		return err;
	}
	s->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC, 0, NULL, NULL,
				     handle, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned int)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
	if (!s->daemon) {
		err = errno ? -errno : -ENOMEM;
		metrics_server__stop(s);
		return err;
	}
	s->listen_fd = -1; /* the daemon owns it now and closes it when stopped */
	*out = s;
	return 0;
}

int metrics_server__port(const struct metrics_server *s)
{
	return s ? s->port : -1;
}

int metrics_server__publish(struct metrics_server *s, const char *text, size_t len)
{
	char *copy = malloc(len + 1), *old;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&s->lock);
	old = s->text;
	s->text = copy;
	s->len = len;
	s->published_ns = mono_ns();
	pthread_mutex_unlock(&s->lock);
	free(old);
	return 0;
}

int metrics_server__publish_snapshot(struct metrics_server *s, const struct snapshot *snap,
				     const struct metrics_self *self, unsigned int max_cgroups)
{
	char *text;
	size_t len;
	int err;

	err = metrics__render(snap, self, max_cgroups, &text, &len);
	if (err)
		return err;
	err = metrics_server__publish(s, text, len);
	free(text);
	return err;
}

void metrics_server__stop(struct metrics_server *s)
{
	if (!s)
		return;
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	pthread_mutex_destroy(&s->lock);
	free(s->text);
	free(s);
}
