// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "log.h"
#include "metrics_http.h"

struct metrics_http {
	struct MHD_Daemon *d;
	struct metrics_http_handlers h;
};

/* The content type Prometheus expects of the text format. */
#define PROM_TEXT "text/plain; version=0.0.4; charset=utf-8"

int metrics_listen_parse(const char *listen, void *sockaddr_out, unsigned int *len, char *msg,
			 size_t msglen)
{
	struct sockaddr_in *in4 = sockaddr_out;
	struct sockaddr_in6 *in6 = sockaddr_out;
	const char *colon = strrchr(listen, ':');
	char host[INET6_ADDRSTRLEN + 2];
	size_t host_len;
	char *end;
	unsigned long port;

	if (!colon || colon == listen)
		goto bad;
	host_len = (size_t)(colon - listen);
	if (host_len >= sizeof(host))
		goto bad;
	memcpy(host, listen, host_len);
	host[host_len] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port == 0 || port > 65535)
		goto bad;
	if (host[0] == '[' && host[host_len - 1] == ']') {
		host[host_len - 1] = 0;
		memset(in6, 0, sizeof(*in6));
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
			goto bad;
		*len = sizeof(*in6);
		return 0;
	}
	memset(in4, 0, sizeof(*in4));
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
		goto bad;
	*len = sizeof(*in4);
	return 0;
bad:
	snprintf(msg, msglen,
		 "metrics '%s' must be ADDR:PORT, like 127.0.0.1:9464 or [::1]:9464", listen);
	return -1;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, char *body,
			     size_t len, enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	struct metrics_http *m = cls;
	char why[512], body[600];
	char *text;
	size_t len;
	int n;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n", 9,
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	if (!strcmp(url, "/metrics")) {
		int err = m->h.render(m->h.ctx, &text, &len);

		if (err) {
			n = snprintf(body, sizeof(body), "cannot read the limiter's maps: %s\n",
				     strerror(-err));
			return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, body, (size_t)n,
				     MHD_RESPMEM_MUST_COPY, "text/plain");
		}
		return reply(conn, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_FREE, PROM_TEXT);
	}
	if (!strcmp(url, "/healthz")) {
		if (m->h.healthy(m->h.ctx, why, sizeof(why)))
			return reply(conn, MHD_HTTP_OK, "ok\n", 3, MHD_RESPMEM_PERSISTENT,
				     "text/plain");
		n = snprintf(body, sizeof(body), "unhealthy: %s\n", why);
		return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, body, (size_t)n,
			     MHD_RESPMEM_MUST_COPY, "text/plain");
	}
	return reply(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics or /healthz\n", 36,
		     MHD_RESPMEM_PERSISTENT, "text/plain");
}

struct metrics_http *metrics_http_start(const char *listen, const struct metrics_http_handlers *h)
{
	struct sockaddr_storage addr;
	struct metrics_http *m;
	unsigned int len, flags = MHD_USE_EPOLL;
	char msg[200];

	if (metrics_listen_parse(listen, &addr, &len, msg, sizeof(msg))) {
		rw_err("%s", msg);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		rw_err("out of memory starting the metrics endpoint");
		return NULL;
	}
	m->h = *h;
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* port 0 here: the address option carries the port */
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR, &addr,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
	if (!m->d) {
		rw_err("cannot listen for metrics on %s: %s", listen,
		       errno ? strerror(errno) : "libmicrohttpd refused");
		free(m);
		return NULL;
	}
	return m;
}

int metrics_http_fd(const struct metrics_http *m)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);

	return info ? info->epoll_fd : -1;
}

void metrics_http_run(struct metrics_http *m)
{
	MHD_run(m->d);
}

void metrics_http_stop(struct metrics_http *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	free(m);
}
