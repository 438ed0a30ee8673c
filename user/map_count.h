/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Counting the entries of a hash map, which the kernel does not keep:
 * batched lookups over the whole map, at once or a few batches at a time
 * so that a loop that must stay responsive never waits for a large map.
 */
#ifndef RW_MAP_COUNT_H
#define RW_MAP_COUNT_H

#include <stdbool.h>
#include <stdint.h>

struct map_count {
	int fd;
	bool running;     /* a pass is under way */
	uint64_t token;   /* where it resumes (the kernel's batch cursor) */
	int64_t partial;  /* entries so far in this pass */
};

/*
 * Goes on with the pass for at most `max_batches` batches of 1024 entries:
 * 1 with *total when the pass ended (the next call starts another), 0
 * while it goes on, -errno on failure (the pass starts again). Entries
 * made or deleted during a pass may or may not be counted.
 */
int map_count_step(struct map_count *c, unsigned int max_batches, int64_t *total);

/* A whole pass at once; -errno on failure. Keys and values up to 64 bytes. */
int64_t map_count_entries(int fd);

#endif
