/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The daemon's HTTP endpoint (libmicrohttpd): GET /metrics for Prometheus
 * and GET /healthz for the daemon itself. It runs in the daemon's own
 * loop, never in a thread of its own, so a scrape reads the maps with no
 * locking against the event path.
 */
#ifndef RW_METRICS_HTTP_H
#define RW_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct metrics_http_handlers {
	/* the exposition as a malloc'd string; 0 or -errno */
	int (*render)(void *ctx, char **text, size_t *len);
	/* true when healthy; else a reason in `why` */
	bool (*healthy)(void *ctx, char *why, size_t len);
	void *ctx;
};

struct metrics_http;

/*
 * Listens on "ADDR:PORT" ("[ADDR]:PORT" for IPv6). NULL after one error
 * line naming the address.
 */
struct metrics_http *metrics_http_start(const char *listen, const struct metrics_http_handlers *h);
/* An fd to poll; when readable, call metrics_http_run (and once a tick anyway). */
int metrics_http_fd(const struct metrics_http *m);
void metrics_http_run(struct metrics_http *m);
void metrics_http_stop(struct metrics_http *m);

/* Parses "ADDR:PORT" as metrics_http_start does; 0 or -1 with a message. */
int metrics_listen_parse(const char *listen, void *sockaddr_out, unsigned int *len, char *msg,
			 size_t msglen);

#endif
