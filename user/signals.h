/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * One sample of the gateway's signals, as the daemon's sampler takes it
 * every control interval and the controller reads it. Every signal is
 * optional: an unknown value is NAN (or -1 for counts), never a guess,
 * and the sampler says why in the matching error string.
 */
#ifndef RW_SIGNALS_H
#define RW_SIGNALS_H

#include <stdint.h>

enum signal_health {
	SIGNAL_HEALTH_NONE = 0, /* no probe configured */
	SIGNAL_HEALTH_OK,       /* 2xx within the timeout */
	SIGNAL_HEALTH_FAILED,   /* timeout, refused, or any other answer */
};

#define SIGNAL_ERROR_MAX 160

struct signal_sample {
	uint64_t at_ns;          /* CLOCK_MONOTONIC when the sample was complete */
	uint32_t seq;            /* counts samples from 1 */
	enum signal_health health;
	int health_status;       /* the probe's HTTP status, 0 when none */
	double probe_ms;         /* the probe's latency; NAN when no probe or it failed */
	double latency_ms;       /* the quantile of the scraped histogram over the last
				  * interval; NAN when unknown (no scrape, a failed one,
				  * the first one, or no request in the interval) */
	double error_ratio;      /* 5xx / all requests over the last interval, 0..1; NAN unknown */
	double requests;         /* requests the scrape saw in the last interval; NAN unknown */
	double cpu;              /* host CPU busy over the last interval, 0..1; NAN unknown */
	int64_t queue_depth;     /* connections waiting in the gateway's accept queues; -1 unknown */
	int64_t queue_backlog;   /* those queues' backlog limits, summed; -1 unknown */
	int64_t listen_drops;    /* ListenDrops (overflows included) since the last sample; -1 unknown */
	/* why a configured signal is unknown ("" when fine or not configured) */
	char health_error[SIGNAL_ERROR_MAX];
	char scrape_error[SIGNAL_ERROR_MAX];
	char cpu_error[SIGNAL_ERROR_MAX];
	char queue_error[SIGNAL_ERROR_MAX];
	char netstat_error[SIGNAL_ERROR_MAX];
};

/* A sample with nothing known. */
void signal_sample_clear(struct signal_sample *s);

#endif
