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

#endif
