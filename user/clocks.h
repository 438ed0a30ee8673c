/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The two clocks userspace reads, in nanoseconds. */
#ifndef RW_CLOCKS_H
#define RW_CLOCKS_H

#include <stdint.h>

/* CLOCK_MONOTONIC: the program's clock (bpf_ktime_get_ns), for buckets and events. */
uint64_t monotonic_ns(void);
/* CLOCK_REALTIME: wall time, for what operators read (applied at, timestamps). */
uint64_t realtime_ns(void);

#endif
