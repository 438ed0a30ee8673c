/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* How busy the host's CPUs were between two reads of /proc/stat. */
#ifndef RW_HOST_CPU_H
#define RW_HOST_CPU_H

#include <stdint.h>

/* The first "cpu" line of /proc/stat, in clock ticks summed over CPUs. */
struct cpu_times {
	uint64_t total; /* user..steal (guest time is already in user and nice) */
	uint64_t idle;  /* idle + iowait: a CPU waiting on I/O could run work */
};

/* Parses /proc/stat's text. 0, or -EINVAL when there is no valid "cpu" line. */
int host_cpu_parse(const char *text, struct cpu_times *out);

/* Reads /proc/stat. 0 or -errno. */
int host_cpu_read(struct cpu_times *out);

/* Busy fraction 0..1 from prev to cur; NAN when no tick passed or the counts went back. */
double host_cpu_busy(const struct cpu_times *prev, const struct cpu_times *cur);

#endif
