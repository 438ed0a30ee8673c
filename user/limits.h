/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Turning operator limits into the bucket words the XDP program reads. */
#ifndef RW_LIMITS_H
#define RW_LIMITS_H

#include <stdint.h>
#include "ratewall.h"

struct limit_opts {
	uint64_t new_rate;  /* new sources per second, all sources together */
	uint64_t new_burst; /* new sources at once */
	uint32_t prefix4;   /* 0..32 */
	uint32_t prefix6;   /* 0..128 */
	uint32_t entries;   /* per-source map size */
	int malformed_drop; /* 0 pass, 1 drop */
};

void limit_opts_default(struct limit_opts *o);

/*
 * Emission interval in ticks (1/64 ns), rounded up so that the bucket can
 * only ever admit less than the rate, never more.
 */
uint64_t gcra_interval_ticks(uint64_t rate);
/* The same for `count` events per `period_ns` (a rate per minute or hour). */
uint64_t gcra_interval_ticks_per(uint64_t count, uint64_t period_ns);

/* Network-byte-order masks for a prefix length. */
uint32_t prefix_mask4(uint32_t prefix);
void prefix_mask6(uint32_t prefix, uint32_t mask[4]);

/* 64-bit words of the seen-source filter for a map of `entries`: at least
 * RW_SEEN_BITS_PER_ENTRY bits per entry, a power of two. */
uint32_t seen_filter_words(uint32_t entries);

/* Fills the fast-path fields and the echoed parameters of cfg. */
void limits_to_config(const struct limit_opts *o, struct rw_config *cfg);

#endif
