/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Reading the heavy-source slots (rw_talker) back: every CPU's merged by source. */
#ifndef RW_TALKERS_H
#define RW_TALKERS_H

#include <stddef.h>
#include <stdint.h>
#include "ratewall.h"

struct talker {
	struct rw_src_key key;
	uint64_t packets;
	uint64_t drops;
};

enum talker_order { TALKERS_BY_DROPS, TALKERS_BY_PACKETS };

/*
 * The sources held in any CPU's slots and heard from in the last minute
 * (RW_TALKER_IDLE_EPOCHS), summed over CPUs, heaviest first by `by` (ties
 * by key). Fills *out (malloc'd, free it) and *n. 0 or -errno.
 */
int talkers_read(int fd, enum talker_order by, struct talker **out, size_t *n);

#endif
