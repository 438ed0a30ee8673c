// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <time.h>

#include "clocks.h"

static uint64_t read_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t monotonic_ns(void)
{
	return read_ns(CLOCK_MONOTONIC);
}

uint64_t realtime_ns(void)
{
	return read_ns(CLOCK_REALTIME);
}
