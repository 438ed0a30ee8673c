/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The control loop's multipliers in the kernel: each adaptive class's
 * rates as written times its multiplier, stored with single atomic
 * stores into the live policy slot, and recorded by class name in the
 * rw_adapt map so that every later install starts from them. The
 * operator's limits (the policy text) are never changed.
 */
#ifndef RW_LIVE_RATES_H
#define RW_LIVE_RATES_H

#include <stdbool.h>
#include <stdint.h>
#include "policy.h"
#include "policy_compile.h"
#include "policy_maps.h"

/* A bucket word with its rate scaled by mult and its burst kept; 0 stays 0.
 * The interval stays within what the word and the bucket window hold. */
uint64_t live_rate_word(uint64_t written, double mult);

/* A class's limits as written, scaled by mult (caps and mode unchanged). */
void live_rate_scale(struct rw_class_limits *l, const struct rw_class_limits *written, double mult);

/* The stored multiplier and shed flag of class `name`; false when none. */
bool live_rates_stored(const struct rw_adapt *a, const char *name, double *mult, bool *shed);

/*
 * For an install: the adaptive classes of img start at their stored
 * multipliers (moved inside the new bounds) and shed flags, in *next (a
 * copy of img->policy). Classes no longer adaptive keep their written
 * rates. 0, or -errno when the map cannot be read.
 */
int live_rates_seed(int adapt_fd, const struct policy_image *img, struct rw_policy *next);

/*
 * The daemon: stores each class's written limits times mult[id] and its
 * shed flag into the live slot `slot`, with one atomic store per word,
 * then records *a (names, multipliers) in the rw_adapt map. Call with the
 * pins' exclusive lock held, so no install runs in between. 0 or -errno.
 */
int live_rates_write(const struct policy_maps *m, uint32_t slot,
		     const struct rw_class_limits written[RW_MAX_CLASSES], uint32_t n_classes,
		     const struct rw_adapt *a);

/* The written limits of a policy, by class id. */
void live_rates_written(const struct policy *p, struct rw_class_limits out[RW_MAX_CLASSES]);

#endif
