/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Reading per-CPU array maps of 64-bit counters, summed over CPUs. */
#ifndef RW_PERCPU_H
#define RW_PERCPU_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads keys 0..n_keys-1 of a per-CPU array whose values are `words`
 * 64-bit counters each, into sums[key * words + word]. 0 or -errno.
 */
int percpu_sum(int fd, uint32_t n_keys, size_t words, uint64_t *sums);

/* The same for one key: its `words` counters summed over CPUs. */
int percpu_sum_key(int fd, uint32_t key, size_t words, uint64_t *sums);

/*
 * Writes `value` (value_size bytes, a multiple of 8) as every CPU's value
 * of each (reason, verdict) slot of `class_id` in a per-CPU array indexed
 * by rw_counter_index(). 0 or -errno.
 */
int percpu_set_class(int fd, uint32_t class_id, const void *value, size_t value_size);

/* The same for keys first..first+n-1 of any per-CPU array. */
int percpu_set_range(int fd, uint32_t first, uint32_t n, const void *value, size_t value_size);

#endif
