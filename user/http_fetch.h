/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * A few HTTP GETs at once with libcurl's multi interface: the sampler's
 * health probe and metrics scrape, each with its own timeout, so one slow
 * answer does not delay the other and a sample takes the longer timeout.
 */
#ifndef RW_HTTP_FETCH_H
#define RW_HTTP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A larger body is an error: a scrape is a few hundred KiB at most. */
#define HTTP_FETCH_MAX_BODY (4u << 20)
#define HTTP_FETCH_MAX 4
#define HTTP_FETCH_ERROR_MAX 256

struct http_request {
	const char *url;
	uint32_t timeout_ms;  /* the whole transfer, connecting included */
	const char *accept;   /* an Accept header, or NULL */
};

struct http_result {
	bool ok;              /* an HTTP answer arrived in full (any status) */
	bool timed_out;       /* not ok because timeout_ms passed */
	char error[HTTP_FETCH_ERROR_MAX]; /* why not ok, "" when ok */
	long status;          /* the HTTP status, 0 when none */
	double total_ms;      /* request to last byte; NAN when not ok */
	char *body;           /* malloc'd and NUL-terminated when ok (free it), else NULL */
	size_t body_len;
};

/* curl_global_init, once per process; call before starting threads. 0 or -EIO. */
int http_fetch_init(void);

/*
 * GETs reqs[0..n) concurrently (n <= HTTP_FETCH_MAX) and fills res[0..n).
 * Returns once each has finished or timed out: within the largest timeout
 * (plus a grace second should curl overrun it). Proxies from the
 * environment are ignored, redirects are not followed, every transfer uses
 * a new connection. 0, or -errno when curl cannot even be set up (res then
 * says so in each error).
 */
int http_fetch(const struct http_request *reqs, struct http_result *res, size_t n);

/* Frees the bodies of res[0..n). */
void http_results_free(struct http_result *res, size_t n);

#endif
