// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "clocks.h"
#include "http_fetch.h"

/* Time curl may overrun its own timeouts by before we give up on it. */
#define HF_GRACE_MS 1000
/* The longest wait in curl_multi_poll, so the deadline is checked often. */
#define HF_POLL_MS 100

struct hf_transfer {
	CURL *easy;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	char *buf;
	size_t len, cap;
	bool too_big, done;
	uint32_t timeout_ms;
};

static pthread_once_t hf_once = PTHREAD_ONCE_INIT;
static int hf_init_ret;

static void hf_global_init(void)
{
	hf_init_ret = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

int http_fetch_init(void)
{
	pthread_once(&hf_once, hf_global_init);
	return hf_init_ret;
}

static size_t hf_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct hf_transfer *t = userdata;
	size_t n = size * nmemb;

	/* a short count makes curl abort the transfer (CURLE_WRITE_ERROR) */
	if (n > HTTP_FETCH_MAX_BODY - t->len) {
		t->too_big = true;
		return 0;
	}
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 16384;
		char *nb;

		while (cap < t->len + n + 1)
			cap *= 2;
		if (cap > HTTP_FETCH_MAX_BODY + 1)
			cap = HTTP_FETCH_MAX_BODY + 1;
		nb = realloc(t->buf, cap);
		if (!nb)
			return 0;
		t->buf = nb;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
	return n;
}

static int hf_setup(struct hf_transfer *t, const struct http_request *r)
{
	CURL *e = curl_easy_init();

	if (!e)
		return -ENOMEM;
	t->easy = e;
	t->timeout_ms = r->timeout_ms;
	if (r->accept) {
		char h[256];

		snprintf(h, sizeof(h), "Accept: %s", r->accept);
		t->headers = curl_slist_append(NULL, h);
		if (!t->headers)
			return -ENOMEM;
	}
	/* Fresh connections: the probe then sees what a new client sees, a
	 * full accept queue included, and a stuck keep-alive socket cannot
	 * linger. The proxy variables of the daemon's environment are not
	 * meant for talking to the local gateway. */
	if (curl_easy_setopt(e, CURLOPT_URL, r->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOPROXY, "*") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)r->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
			     (curl_off_t)HTTP_FETCH_MAX_BODY) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "ratewall") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hf_write) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, t) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, t) != CURLE_OK)
		return -EINVAL;
	return 0;
}

/* What one finished transfer gives. */
static void hf_finish(struct hf_transfer *t, CURLcode rc, struct http_result *res)
{
	curl_off_t us = 0;
	long status = 0;

	t->done = true;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	res->status = status;
	if (rc == CURLE_OK) {
		curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &us);
		res->ok = true;
		res->total_ms = (double)us / 1000.0;
		if (!t->buf)
			t->buf = malloc(1);
		if (!t->buf) {
			res->ok = false;
			res->total_ms = NAN;
			snprintf(res->error, sizeof(res->error), "out of memory");
			return;
		}
		t->buf[t->len] = '\0';
		res->body = t->buf;
		res->body_len = t->len;
		t->buf = NULL;
		return;
	}
	if (t->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		snprintf(res->error, sizeof(res->error), "body larger than %u MiB",
			 HTTP_FETCH_MAX_BODY >> 20);
	else if (rc == CURLE_OPERATION_TIMEDOUT) {
		res->timed_out = true;
		snprintf(res->error, sizeof(res->error), "timeout after %u ms", t->timeout_ms);
	} else
		snprintf(res->error, sizeof(res->error), "%s",
			 t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
}

int http_fetch(const struct http_request *reqs, struct http_result *res, size_t n)
{
	struct hf_transfer t[HTTP_FETCH_MAX];
	uint32_t longest = 0;
	uint64_t deadline;
	CURLM *multi = NULL;
	CURLMsg *msg;
	int ret = 0, running = 0, left;

	memset(t, 0, sizeof(t));
	for (size_t i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].total_ms = NAN;
	}
	if (n > HTTP_FETCH_MAX)
		return -EINVAL;
	if (http_fetch_init() < 0) {
		ret = -EIO;
		goto fail;
	}
	multi = curl_multi_init();
	if (!multi) {
		ret = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		ret = hf_setup(&t[i], &reqs[i]);
		if (ret < 0)
			goto fail;
		if (curl_multi_add_handle(multi, t[i].easy) != CURLM_OK) {
			ret = -ENOMEM;
			goto fail;
		}
		if (reqs[i].timeout_ms > longest)
			longest = reqs[i].timeout_ms;
	}

	deadline = monotonic_ns() + (uint64_t)(longest + HF_GRACE_MS) * 1000000ULL;
	for (;;) {
		uint64_t now;

		if (curl_multi_perform(multi, &running) != CURLM_OK)
			running = 0; /* only on bad handles or no memory: end here */
		while ((msg = curl_multi_info_read(multi, &left))) {
			struct hf_transfer *done = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&done);
			hf_finish(done, msg->data.result, &res[done - t]);
		}
		now = monotonic_ns();
		if (!running || now >= deadline)
			break;
		left = (int)((deadline - now) / 1000000ULL);
		curl_multi_poll(multi, NULL, 0, left < HF_POLL_MS ? left + 1 : HF_POLL_MS, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		if (t[i].done)
			continue;
		res[i].timed_out = true;
		snprintf(res[i].error, sizeof(res[i].error), "timeout after %u ms", t[i].timeout_ms);
	}
	goto out;

fail:
	for (size_t i = 0; i < n; i++)
		snprintf(res[i].error, sizeof(res[i].error), "cannot set up curl: %s",
			 strerror(-ret));
out:
	for (size_t i = 0; i < n; i++) {
		if (t[i].easy) {
			if (multi)
				curl_multi_remove_handle(multi, t[i].easy);
			curl_easy_cleanup(t[i].easy);
		}
		curl_slist_free_all(t[i].headers);
		free(t[i].buf);
	}
	if (multi)
		curl_multi_cleanup(multi);
	return ret;
}

void http_results_free(struct http_result *res, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(res[i].body);
		res[i].body = NULL;
	}
}
