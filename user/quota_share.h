/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The arithmetic of a gateway's part of a shared bucket, kept free of I/O
 * so that it is unit-tested: bucket words of a granted share and of the
 * safe share, and the demand each sync reports.
 */
#ifndef RW_QUOTA_SHARE_H
#define RW_QUOTA_SHARE_H

#include <stdbool.h>
#include <stdint.h>
#include "ratewall.h"

/* How fast reported demand forgets a fall (a rise counts at once). */
#define QUOTA_DEMAND_TAU_S 0.3

/* The bucket word of a share of `rate` per second and `burst`: the burst
 * rounds down but never below one packet while the share admits anything;
 * a share too small for the kernel's intervals refuses everything. */
uint64_t quota_share_word(double rate, double burst);

/* The safe share of a fleet's bucket word: safe_ppm of its rate and burst,
 * or a 1/replicas part when that is smaller (replicas 0: not known). */
uint64_t quota_safe_word(uint64_t limit, uint32_t safe_ppm, uint32_t replicas);

/* The rate a share word admits, per second (0 for one that refuses all). */
double quota_word_rate(uint64_t word);

/* A rate for people and JSON: to the thousandth, so that 3000/s, whose
 * interval the word rounds up, reads 3000 and not 2999.999906. */
double quota_rate_shown(double rate);

/* Demand after a sync: `seen` per second over the last `dt_s`. A rise is
 * taken whole, a fall decays with QUOTA_DEMAND_TAU_S, so a burst is not
 * forgotten between two syncs but an idle gateway gives its share up
 * within a second. */
double quota_demand(double previous, double seen, double dt_s);

/* The share is in force at `now_ticks` (bucket clock). */
static inline bool quota_leased(const struct rw_quota *q, uint64_t now_ticks)
{
	return now_ticks < q->lease_until;
}

/* The word the program judges by at `now_ticks`: the share under a live
 * lease, else the safe share (take_quota in the XDP program). */
static inline uint64_t quota_word_in_force(const struct rw_quota *q, uint64_t now_ticks)
{
	return quota_leased(q, now_ticks) ? q->share : q->safe;
}

#endif
