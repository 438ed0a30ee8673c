// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Conversion of operator limits into GCRA words and prefix masks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "limits.h"
#include "policy_builtin.h"
#include "policy_compile.h"

static void interval_is_one_second_over_rate_in_ticks(void **state)
{
	(void)state;
	assert_int_equal(gcra_interval_ticks(1), 1000000000ULL << RW_TICK_SHIFT);
	assert_int_equal(gcra_interval_ticks(1000), 1000000ULL << RW_TICK_SHIFT);
	assert_int_equal(gcra_interval_ticks(RW_RATE_MAX), 10ULL << RW_TICK_SHIFT);
}

static void interval_rounds_up_so_the_rate_is_never_exceeded(void **state)
{
	(void)state;
	for (uint64_t rate = 1; rate < 5000000; rate = rate * 3 + 7) {
		uint64_t t = gcra_interval_ticks(rate);
		uint64_t sec = 1000000000ULL << RW_TICK_SHIFT;

		/* rate intervals never fit in less than a second... */
		assert_true(t * rate >= sec);
		/* ...and one interval less would already be under a second. */
		assert_true((t - 1) * rate < sec);
	}
}

static void ipv4_masks(void **state)
{
	(void)state;
	assert_int_equal(prefix_mask4(32), 0xffffffffu);
	assert_int_equal(prefix_mask4(0), 0);
	assert_int_equal(prefix_mask4(24), htonl(0xffffff00u));
	assert_int_equal(prefix_mask4(1), htonl(0x80000000u));
}

static void ipv6_masks(void **state)
{
	uint32_t m[4];

	(void)state;
	prefix_mask6(64, m);
	assert_int_equal(m[0], 0xffffffffu);
	assert_int_equal(m[1], 0xffffffffu);
	assert_int_equal(m[2], 0);
	assert_int_equal(m[3], 0);
	prefix_mask6(56, m);
	assert_int_equal(m[1], htonl(0xffffff00u));
	assert_int_equal(m[2], 0);
	prefix_mask6(128, m);
	assert_int_equal(m[3], 0xffffffffu);
	prefix_mask6(0, m);
	assert_int_equal(m[0] | m[1] | m[2] | m[3], 0);
}

static void config_carries_window_and_echo(void **state)
{
	struct limit_opts o;
	struct rw_config cfg = { 0 };

	(void)state;
	limit_opts_default(&o);
	o.malformed_drop = 1;
	o.new_rate = 4000;
	o.new_burst = 700;
	limits_to_config(&o, &cfg);
	assert_int_equal(rw_limit_interval(cfg.new_limit), 250000ULL << RW_TICK_SHIFT);
	assert_int_equal(rw_limit_burst(cfg.new_limit), 700);
	assert_int_equal(cfg.new_rate, 4000);
	assert_int_equal(cfg.new_burst, 700);
	assert_int_equal(cfg.malformed_drop, 1);
	assert_int_equal(cfg.prefix6, RW_DEFAULT_PREFIX6);
	assert_int_equal(cfg.max_entries, RW_DEFAULT_MAX_ENTRIES);
}

/* The built-in policy carries the attach options' rate and burst, rounded up. */
static void builtin_policy_words(void **state)
{
	struct policy p;
	uint64_t word;

	(void)state;
	policy_builtin(&p, 20, 60);
	assert_int_equal(p.n_classes, 1);
	assert_string_equal(p.classes[0].name, "default");
	word = policy_limit_word(&p.classes[0].source.packets);
	assert_int_equal(rw_limit_interval(word), 50000000ULL << RW_TICK_SHIFT);
	assert_int_equal(rw_limit_burst(word), 60);
	assert_int_equal(policy_limit_word(&p.classes[0].source.syn), 0);
	assert_int_equal(policy_limit_word(&p.classes[0].global.packets), 0);
	/* 4 per minute: 15 s per packet */
	struct policy_limit slow = { .count = 4, .period_ns = 60 * RW_NS_PER_SEC, .burst = 1 };
	assert_int_equal(rw_limit_interval(policy_limit_word(&slow)),
			 15000000000ULL << RW_TICK_SHIFT);
	struct policy_limit third = { .count = 3, .period_ns = RW_NS_PER_SEC, .burst = 2 };
	assert_int_equal(rw_limit_interval(policy_limit_word(&third)),
			 ((RW_NS_PER_SEC << RW_TICK_SHIFT) + 2) / 3);
}

static void seen_filter_is_a_power_of_two_with_8_bits_per_entry(void **state)
{
	struct limit_opts o;
	struct rw_config cfg = { 0 };

	(void)state;
	assert_int_equal(seen_filter_words(1024), 128);
	assert_int_equal(seen_filter_words(1000), 128);
	assert_int_equal(seen_filter_words(1025), 256);
	assert_int_equal(seen_filter_words(RW_DEFAULT_MAX_ENTRIES), 131072);
	assert_int_equal(seen_filter_words(RW_MAX_ENTRIES_MAX), 8U << 20);
	limit_opts_default(&o);
	o.entries = 3000;
	limits_to_config(&o, &cfg);
	assert_int_equal(cfg.seen_mask, 512 * 64 - 1);
}

static void largest_window_fits_in_64_bits(void **state)
{
	(void)state;
	/* The slowest rate with the biggest burst must not wrap. */
	assert_true(gcra_interval_ticks(1) <= UINT64_MAX / RW_BURST_MAX);
}

static void limit_word_keeps_both_extremes(void **state)
{
	uint64_t slow = gcra_interval_ticks(1), fast = gcra_interval_ticks(RW_RATE_MAX);
	uint64_t w;

	(void)state;
	w = rw_limit_pack(slow, RW_BURST_MAX);
	assert_int_equal(rw_limit_interval(w), slow);
	assert_int_equal(rw_limit_burst(w), RW_BURST_MAX);
	w = rw_limit_pack(fast, 1);
	assert_int_equal(rw_limit_interval(w), fast);
	assert_int_equal(rw_limit_burst(w), 1);
	/* The interval must fit above the burst bits. */
	assert_true(slow < (1ULL << (64 - RW_LIMIT_BURST_BITS)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(interval_is_one_second_over_rate_in_ticks),
		cmocka_unit_test(interval_rounds_up_so_the_rate_is_never_exceeded),
		cmocka_unit_test(ipv4_masks),
		cmocka_unit_test(ipv6_masks),
		cmocka_unit_test(config_carries_window_and_echo),
		cmocka_unit_test(builtin_policy_words),
		cmocka_unit_test(largest_window_fits_in_64_bits),
		cmocka_unit_test(seen_filter_is_a_power_of_two_with_8_bits_per_entry),
		cmocka_unit_test(limit_word_keeps_both_extremes),
	};

	return cmocka_run_group_tests_name("unit_limits", tests, NULL, NULL);
}
