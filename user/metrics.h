/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The Prometheus text exposition of an attachment: verdict counters,
 * live limits per class and tenant, connections, map fill, the event
 * path and the daemon's own health (README "Metrics" lists them). Series
 * are per class, tenant, verdict and reason: never one per client.
 */
#ifndef RW_METRICS_H
#define RW_METRICS_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include "attachment.h"
#include "event_sink.h"
#include "event_stream.h"

/* Tables too large to count at each scrape: the daemon counts them a few
 * batches per tick (map_count.h), a pass every 15 s. */
enum counted_table { COUNTED_SOURCES = 0, COUNTED_CONNS, COUNTED_MAX };

struct quota_sync_stats;

/* What only the daemon knows. */
struct daemon_health {
	double start_time;         /* CLOCK_REALTIME seconds */
	bool healthy;              /* loop ticking, attachment present, events writable */
	uint64_t counted[COUNTED_MAX];    /* entries of each table, counted ... */
	double counted_at[COUNTED_MAX];   /* ... by a pass that ended at this CLOCK_REALTIME
					   * second; 0: not yet */
	const struct event_sink *sink;     /* NULL without an events output */
	const struct event_stream *stream;
	const struct quota_sync_stats *quota; /* the store syncs; NULL before the daemon runs */
};

/* The exposition's pieces, for the sections kept in their own files. */
void metrics_family(FILE *f, const char *name, const char *type, const char *help);
void metrics_label(FILE *f, const char *name, const char *value, bool first);
/* A family of one unlabelled series. */
void metrics_gauge(FILE *f, const char *name, const char *help, double v);
void metrics_counter(FILE *f, const char *name, const char *help, uint64_t v);

/* The control loop's section (metrics_control.c): multipliers, shed, signals. */
void metrics_control(FILE *f, const struct attachment *a);

/* The shared buckets' section (metrics_quota.c): shares, safe shares, syncs. */
void metrics_quota(FILE *f, const struct attachment *a, const struct quota_sync_stats *s);

/* The exposition as one malloc'd string (*text, *len); 0 or -errno. */
int metrics_render(const struct attachment *a, const struct daemon_health *d, char **text,
		   size_t *len);

#endif
