// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>
#include <linux/types.h>
#include <netinet/in.h>
#include "util/clock.h"
#include "output/metrics.h"
#include "output/metrics_http.h"

#define HEALTHY_INTERVALS 3
#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"

/* How many connections a listener holds, from one address and in all, and for how long idle. */
struct listener_limits {
	unsigned int per_ip;
	unsigned int total;
	unsigned int idle_timeout_s;
};

/*
 * /metrics: a scraper holds one keep-alive connection (an HA pair two, from
 * two addresses). Idle ones go after 5 s, and a scraper simply reconnects.
 */
static const struct listener_limits metrics_limits = {
	.per_ip = METRICS_HTTP_PER_IP_CONNECTIONS,
	.total = 64,
	.idle_timeout_s = METRICS_HTTP_IDLE_TIMEOUT_S,
};
/* The kubelet's probes: one short request each, Connection: close. */
static const struct listener_limits health_limits = {
	.per_ip = METRICS_HTTP_PER_IP_CONNECTIONS,
	.total = 16,
	.idle_timeout_s = 2,
};

struct listener {
	struct MHD_Daemon *daemon; /* NULL: not listening */
	int port;
};

struct metrics_server {
	struct listener metrics; /* /metrics and /healthz */
	struct listener health;	 /* /healthz only: what /metrics clients cannot starve */
	__u64 stale_after_ns;
	pthread_mutex_t lock; /* guards what follows */
	char *text;
	size_t len;
	__u64 published_ns; /* 0: nothing published yet */
};

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
	if (clock_mono_ns() - published > s->stale_after_ns)
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

static enum MHD_Result handle_health(void *cls, struct MHD_Connection *conn, const char *url,
				     const char *method, const char *version,
				     const char *upload_data, size_t *upload_data_size,
				     void **req_cls)
{
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_str(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
	if (!strcmp(url, "/healthz"))
		return serve_healthz(cls, conn);
	return reply_str(conn, MHD_HTTP_NOT_FOUND, "not found: try /healthz\n");
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

/*
 * Over a limit, libmicrohttpd accepts and closes at once: a flood from one
 * address costs the others nothing, and the listen queue never fills up.
 * listen_fd < 0: no listen socket (flags must say MHD_USE_NO_LISTEN_SOCKET).
 */
static struct MHD_Daemon *start_daemon(unsigned int flags, int listen_fd,
				       MHD_AccessHandlerCallback cb, void *cls,
				       const struct listener_limits *lim)
{
	struct MHD_OptionItem options[] = {
		{ MHD_OPTION_CONNECTION_LIMIT, lim->total, NULL },
		{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, lim->per_ip, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, lim->idle_timeout_s, NULL },
		{ listen_fd >= 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_END, listen_fd, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};

	return MHD_start_daemon(flags, 0, NULL, NULL, cb, cls, MHD_OPTION_ARRAY, options,
				MHD_OPTION_END);
}

static int listener_start(struct listener *l, const char *addr_port, MHD_AccessHandlerCallback cb,
			  void *cls, const struct listener_limits *lim)
{
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int fd, err;

	err = metrics_addr__parse(addr_port, &addr, &addr_len);
	if (err)
		return err;
	/* our own socket: bind errors keep their errno, and port 0 can be read back */
	fd = listen_on(&addr, addr_len, &l->port);
	if (fd < 0)
		return fd;
	l->daemon = start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC, fd, cb, cls, lim);
	if (!l->daemon) {
		err = errno ? -errno : -ENOMEM;
		close(fd);
		return err;
	}
	return 0; /* the daemon owns fd now and closes it when stopped */
}

struct MHD_Daemon *metrics_server__detached_daemon(struct metrics_server *s,
						   enum metrics_listener_kind kind)
{
	if (kind == METRICS_LISTENER_HEALTH)
		return start_daemon(MHD_USE_NO_LISTEN_SOCKET, -1, handle_health, s, &health_limits);
	return start_daemon(MHD_USE_NO_LISTEN_SOCKET, -1, handle, s, &metrics_limits);
}

int metrics_server__start(struct metrics_server **out, const char *addr_port, double interval_s)
{
	struct metrics_server *s;
	int err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->metrics.port = s->health.port = -1;
	s->stale_after_ns = (interval_s > 0 ? interval_s : 1) * HEALTHY_INTERVALS * 1e9;
	if (addr_port) {
		err = listener_start(&s->metrics, addr_port, handle, s, &metrics_limits);
		if (err) {
			metrics_server__stop(s);
			return err;
		}
	}
	*out = s;
	return 0;
}

int metrics_server__start_health(struct metrics_server *s, const char *addr_port)
{
	if (s->health.daemon)
		return -EBUSY;
	return listener_start(&s->health, addr_port, handle_health, s, &health_limits);
}

int metrics_server__port(const struct metrics_server *s)
{
	return s ? s->metrics.port : -1;
}

int metrics_server__health_port(const struct metrics_server *s)
{
	return s ? s->health.port : -1;
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
	s->published_ns = clock_mono_ns();
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

	if (!s->metrics.daemon) /* a health listener only: nobody reads the text */
		return metrics_server__publish(s, "", 0);
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
	if (s->metrics.daemon)
		MHD_stop_daemon(s->metrics.daemon);
	if (s->health.daemon)
		MHD_stop_daemon(s->health.daemon);
	pthread_mutex_destroy(&s->lock);
	free(s->text);
	free(s);
}
