/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The maps of the refusal events (see rw_event_key in ratewall.h). */
#ifndef RW_EVENT_MAPS_H
#define RW_EVENT_MAPS_H

struct event_maps {
	int ring_fd;    /* the ring buffer the program sends events through */
	int entries_fd; /* per (source, limit) counts, LRU */
	int acct_fd;    /* what the daemon has written of each entry */
	int stats_fd;   /* per-CPU rw_event_stat counters */
	int other_fd;   /* per-CPU other-sources slots, by rw_counter_index() */
};

#endif
