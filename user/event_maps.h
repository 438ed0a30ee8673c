/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The maps of the refusal events (see rw_event_key in ratewall.h). */
#ifndef RW_EVENT_MAPS_H
#define RW_EVENT_MAPS_H

#include <stdbool.h>
#include "ratewall.h"

struct event_maps {
	int ring_fd;    /* the ring buffer the program sends events through */
	int entries_fd; /* per (source, limit) counts, LRU */
	int acct_fd;    /* what the daemon has written of each entry */
	int stats_fd;   /* per-CPU rw_event_stat counters */
	int other_fd;   /* per-CPU other-sources slots, by rw_counter_index() */
};

/*
 * Forgets the refusal-event state of the classes marked in `classes` (ids
 * that a new policy gives to another name): their entries are deleted and
 * their other-sources slots start a new incarnation (born now), so no line
 * names the new class for the old one's refusals. 0 or -errno.
 */
int event_entries_forget_classes(const struct event_maps *m, const bool classes[RW_MAX_CLASSES]);

#endif
