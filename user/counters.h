/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Reading the per-CPU verdict counters, and the names they go by. */
#ifndef RW_COUNTERS_H
#define RW_COUNTERS_H

#include <stdint.h>
#include "ratewall.h"

/* Sums of every CPU's slot, indexed by rw_counter_index(). */
struct counter_table {
	struct rw_counter slot[RW_COUNTER_SLOTS];
};

const char *reason_name(unsigned int reason);
const char *verdict_name(unsigned int verdict);

/* Reads and sums the pinned or loaded counters map behind map_fd. */
int counters_read(int map_fd, struct counter_table *out);

/* Total packets with this verdict over every class and reason. */
uint64_t counters_verdict_packets(const struct counter_table *t, unsigned int verdict);

#endif
