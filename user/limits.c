// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <string.h>

#include "limits.h"

void limit_opts_default(struct limit_opts *o)
{
	o->new_rate = RW_DEFAULT_NEW_RATE;
	o->new_burst = RW_DEFAULT_NEW_BURST;
	o->prefix4 = RW_DEFAULT_PREFIX4;
	o->prefix6 = RW_DEFAULT_PREFIX6;
	o->entries = RW_DEFAULT_MAX_ENTRIES;
	o->malformed_drop = 0;
}

uint64_t gcra_interval_ticks(uint64_t rate)
{
	return gcra_interval_ticks_per(rate, RW_NS_PER_SEC);
}

uint64_t gcra_interval_ticks_per(uint64_t count, uint64_t period_ns)
{
	uint64_t span = period_ns << RW_TICK_SHIFT;

	return (span + count - 1) / count;
}

uint32_t prefix_mask4(uint32_t prefix)
{
	if (prefix == 0)
		return 0;
	return htonl(0xffffffffu << (32 - prefix));
}

void prefix_mask6(uint32_t prefix, uint32_t mask[4])
{
	for (int i = 0; i < 4; i++) {
		uint32_t bits = prefix > 32 ? 32 : prefix;

		mask[i] = prefix_mask4(bits);
		prefix -= bits;
	}
}

uint32_t seen_filter_words(uint32_t entries)
{
	uint64_t bits = (uint64_t)entries * RW_SEEN_BITS_PER_ENTRY;
	uint32_t words = 1;

	while ((uint64_t)words * 64 < bits)
		words <<= 1;
	return words;
}

void limits_to_config(const struct limit_opts *o, struct rw_config *cfg)
{
	cfg->new_limit = rw_limit_pack(gcra_interval_ticks(o->new_rate), o->new_burst);
	cfg->seen_mask = seen_filter_words(o->entries) * 64 - 1;
	cfg->mask4 = prefix_mask4(o->prefix4);
	prefix_mask6(o->prefix6, cfg->mask6);
	cfg->malformed_drop = o->malformed_drop ? 1 : 0;
	cfg->new_rate = o->new_rate;
	cfg->new_burst = o->new_burst;
	cfg->prefix4 = o->prefix4;
	cfg->prefix6 = o->prefix6;
	cfg->max_entries = o->entries;
}
