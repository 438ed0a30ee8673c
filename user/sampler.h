/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The daemon's sampler: a thread that takes one struct signal_sample per
 * interval (health probe, metrics scrape, host CPU, accept queue, listen
 * drops) and hands the newest to the epoll loop through an eventfd. The
 * loop never blocks on the gateway; the thread may wait up to a timeout.
 */
#ifndef RW_SAMPLER_H
#define RW_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "signals.h"

#define SAMPLER_MAX_PORTS 64

struct sampler_config {
	uint32_t interval_ms;     /* > 0, and above both timeouts (the caller checks) */
	char health_url[1024];    /* "" : no probe */
	uint32_t health_timeout_ms;
	char metrics_url[1024];   /* "" : no scrape */
	uint32_t metrics_timeout_ms;
	char latency_metric[128]; /* histogram name ("" none) */
	double quantile;          /* e.g. 0.95 */
	double latency_to_ms;     /* the histogram's unit in ms: 1000 for seconds */
	char requests_metric[128]; /* counter for the 5xx ratio ("" none), as exposed (_total) */
	char netns[4096];         /* the gateway's network namespace ("" : the daemon's own) */
	uint16_t ports[SAMPLER_MAX_PORTS]; /* the gateway's listening TCP ports (accept queue) */
	size_t n_ports;           /* 0: queue unknown, and no error */
	bool cpu;                 /* sample host CPU */
	bool netstat;             /* sample ListenDrops (overflows included) */
};

struct sampler;

/*
 * Starts the thread; its first sample is taken at once, the next ones each
 * interval_ms after. 0, or -errno: -EINVAL for a bad config, or a netns
 * that cannot be opened or joined (said on stderr, naming the path).
 */
int sampler_start(struct sampler **out, const struct sampler_config *c);

/* An eventfd, readable when a new sample is ready. */
int sampler_fd(const struct sampler *s);

/* The newest sample since the last take (drains the eventfd); false when none. */
bool sampler_take(struct sampler *s, struct signal_sample *out);

/*
 * Applies c from the next sample. A changed netns is opened and tried
 * first: -errno (said on stderr) when that fails, and the old config stays.
 * Changing the scrape or the namespace starts its deltas over.
 */
int sampler_reconfigure(struct sampler *s, const struct sampler_config *c);

/* Stops and joins the thread (within an interval plus a timeout), frees s. NULL is fine. */
void sampler_stop(struct sampler *s);

#endif
