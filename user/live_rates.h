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

/* Whether the record's loop sampled within its last few intervals at
 * realtime now_ns: a shed flag is only trusted while the loop that set it
 * is alive, since it refuses every new connection of its classes. */
bool live_rates_fresh(const struct rw_adapt *a, uint64_t now_ns);

/*
 * For an install: the adaptive classes of img start at their stored
 * multipliers (moved inside the new bounds), and at their shed flags
 * while the record is fresh, in *next (a copy of img->policy). Classes no
 * longer adaptive keep their written rates. 0, or -errno when the map
 * cannot be read.
 */
int live_rates_seed(int adapt_fd, const struct policy_image *img, struct rw_policy *next);

/* What the daemon's loop was configured from, so that it never writes
 * into a policy it has not read. */
struct live_rates_base {
	uint64_t generation;
	uint8_t hash[32];
	uint32_t n_classes;
	char names[RW_MAX_CLASSES][RW_NAME_MAX];
	bool adaptive[RW_MAX_CLASSES];
	struct rw_class_limits written[RW_MAX_CLASSES]; /* the operator's limits */
};

/*
 * The daemon: when the live slot is still the policy of *base, stores each
 * adaptive class's written limits times its multiplier in *a and its shed
 * flag into it, one atomic store per word, then records *a in the rw_adapt
 * map. -ESTALE (nothing written) when another policy went live meanwhile.
 * Call with the pins' exclusive lock held. 0 or -errno.
 */
int live_rates_write(const struct policy_maps *m, const struct live_rates_base *base,
		     const struct rw_adapt *a);

/* The record alone (a loop that stops or fails forgets its multipliers). */
int live_rates_record(const struct policy_maps *m, const struct rw_adapt *a);

/* The base of a parsed policy whose compiled form is live as *active. */
void live_rates_base_of(const struct policy *p, const struct rw_policy *active,
			struct live_rates_base *out);

#endif
