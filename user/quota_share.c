// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <math.h>

#include "policy_show.h"
#include "policy_values.h"
#include "quota_share.h"

#define TICKS_PER_SEC ((double)(RW_NS_PER_SEC << RW_TICK_SHIFT))
#define INTERVAL_MAX (POLICY_INTERVAL_LIMIT - 1)

/* Refuses every packet: a window of no burst is shorter than any interval. */
static const uint64_t refuse_all = (INTERVAL_MAX << RW_LIMIT_BURST_BITS) | 0;

uint64_t quota_share_word(double rate, double burst)
{
	double interval;
	uint64_t b;

	if (!(rate > 0) || !isfinite(rate))
		return refuse_all;
	interval = TICKS_PER_SEC / rate;
	if (interval >= (double)INTERVAL_MAX)
		return refuse_all;
	b = burst >= 1 && isfinite(burst) ? (uint64_t)burst : 1;
	if (b > RW_BURST_MAX)
		b = RW_BURST_MAX;
	if (interval < 1)
		interval = 1;
	return rw_limit_pack((uint64_t)ceil(interval), b);
}

double quota_word_rate(uint64_t word)
{
	/* no burst admits nothing, whatever the interval */
	return rw_limit_burst(word) ? limit_word_rate(word) : 0;
}

uint64_t quota_safe_word(uint64_t limit, uint32_t safe_ppm, uint32_t replicas)
{
	double part = (double)safe_ppm / 1e6;

	if (replicas && 1.0 / replicas < part)
		part = 1.0 / replicas;
	return quota_share_word(quota_word_rate(limit) * part, (double)rw_limit_burst(limit) * part);
}

double quota_rate_shown(double rate)
{
	return round(rate * 1000) / 1000;
}

double quota_demand(double previous, double seen, double dt_s)
{
	if (!(seen >= 0))
		seen = 0;
	if (seen >= previous || !(dt_s > 0))
		return seen >= previous ? seen : previous;
	return seen + (previous - seen) * exp(-dt_s / QUOTA_DEMAND_TAU_S);
}
