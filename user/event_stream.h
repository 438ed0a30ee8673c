/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The refusal events of an attachment, turned into exact packet counts:
 * each event from the ring buffer, and each entry whose last packets no
 * event will carry (it went quiet), becomes one record of the packets not
 * yet written, counted against rw_event_acct. See rw_event_key.
 */
#ifndef RW_EVENT_STREAM_H
#define RW_EVENT_STREAM_H

#include <stdint.h>
#include "ratewall.h"
#include "event_maps.h"

struct event_record {
	struct rw_event_key key;
	uint64_t ts_ns;   /* CLOCK_MONOTONIC of the event, or of the flush */
	uint64_t packets; /* refusals this record stands for */
	/* the class's name when the packet was judged; "" for a flush, whose
	 * entries a renaming apply has removed (the live name is right) */
	char class_name[RW_NAME_MAX];
	/* whether that policy hashes client ids: 1, 0, or -1 for a flush
	 * (the live policy says) */
	int hashed_client_ids;
};

/* Called with each record; a nonzero return is counted as a lost line,
 * the packets stay accounted as written (never written twice). */
typedef int (*event_record_fn)(const struct event_record *r, void *ctx);

struct event_stream {
	struct event_maps maps;
	struct ring_buffer *ring;
	event_record_fn emit;
	void *ctx;
	uint64_t records;      /* from the ring buffer */
	uint64_t flushed;      /* written by the daemon for quiet entries */
	uint64_t acct_errors;  /* rw_event_acct refused an update: packets held back */
};

/* 0, or -errno after one error line. */
int event_stream_open(struct event_stream *s, const struct event_maps *maps,
		      event_record_fn emit, void *ctx);
/* The fd to poll for events. */
int event_stream_fd(const struct event_stream *s);
/* Handles every event waiting; 0 or -errno. */
int event_stream_consume(struct event_stream *s);
/*
 * Writes what no event will carry: entries with packets not yet written
 * whose last event is at least `interval_ms` old. Also forgets accounts of
 * entries that are gone. 0 or -errno.
 */
int event_stream_flush(struct event_stream *s, uint64_t now_ns, uint32_t interval_ms);
void event_stream_close(struct event_stream *s);

/* Refusals counted under other sources, by class id, every CPU together. */
int event_other_packets(const struct event_maps *maps, uint64_t out[RW_MAX_CLASSES]);

/* The kernel's rw_event_stat counters, summed over CPUs. */
int event_stats_read(int stats_fd, uint64_t out[RW_EVSTAT_MAX]);

#endif
