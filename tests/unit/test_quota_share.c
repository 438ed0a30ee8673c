// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* A gateway's part of a shared bucket: share words, safe shares, demand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "limits.h"
#include "quota_share.h"

static uint64_t word(uint64_t rate, uint64_t burst)
{
	return rw_limit_pack(gcra_interval_ticks(rate), burst);
}

/* A word admitting nothing: no burst means no packet fits the window. */
static bool refuses_all(uint64_t w)
{
	return w && rw_limit_burst(w) == 0;
}

static void share_words_never_admit_more_than_granted(void **state)
{
	uint64_t w = quota_share_word(1000.0 / 3, 33.3);

	(void)state;
	assert_int_equal(rw_limit_burst(w), 33);
	assert_true(quota_word_rate(w) <= 1000.0 / 3);
	assert_true(quota_word_rate(w) > 1000.0 / 3 * 0.999999);
	/* a share that admits anything gets one packet of burst at least */
	assert_int_equal(rw_limit_burst(quota_share_word(5, 0.2)), 1);
	assert_true(fabs(quota_word_rate(quota_share_word(5, 0.2)) - 5) < 1e-6);
	/* nothing granted: the bucket refuses, it never becomes "no bucket" (0) */
	assert_true(refuses_all(quota_share_word(0, 0)));
	assert_true(refuses_all(quota_share_word(-1, 10)));
	assert_true(refuses_all(quota_share_word(NAN, 10)));
	/* slower than the kernel's longest interval (one per ~17 s): refused */
	assert_true(refuses_all(quota_share_word(0.01, 1)));
	assert_true(quota_word_rate(quota_share_word(0, 0)) == 0);
	/* bursts are capped at the kernel's bound */
	assert_int_equal(rw_limit_burst(quota_share_word(1e6, 1e9)), RW_BURST_MAX);
}

static void safe_share_is_the_smaller_of_percent_and_one_gateway_s_part(void **state)
{
	uint64_t fleet = word(3000, 300);

	(void)state;
	/* 20 %, no gateway count known yet */
	assert_true(fabs(quota_word_rate(quota_safe_word(fleet, 200000, 0)) - 600) < 1e-3);
	assert_int_equal(rw_limit_burst(quota_safe_word(fleet, 200000, 0)), 60);
	/* three gateways: 20 % is smaller than a third */
	assert_true(fabs(quota_word_rate(quota_safe_word(fleet, 200000, 3)) - 600) < 1e-3);
	/* ten gateways: a tenth is smaller than 20 % */
	assert_true(fabs(quota_word_rate(quota_safe_word(fleet, 200000, 10)) - 300) < 1e-3);
	assert_int_equal(rw_limit_burst(quota_safe_word(fleet, 200000, 10)), 30);
	/* every gateway at its safe share stays within the fleet's budget */
	for (uint32_t n = 1; n <= 64; n++)
		assert_true(n * quota_word_rate(quota_safe_word(fleet, 200000, n)) <= 3000.0 + 1e-6);
	/* a small safe share still admits one packet of burst */
	assert_int_equal(rw_limit_burst(quota_safe_word(word(1000, 20), 1000, 0)), 1);
	assert_true(fabs(quota_word_rate(quota_safe_word(word(1000, 20), 1000, 0)) - 1) < 1e-6);
	/* one slower than the kernel can time refuses: never more than the fleet's part */
	assert_true(refuses_all(quota_safe_word(word(10, 2), 100, 0)));
}

static void demand_rises_at_once_and_decays_within_a_second(void **state)
{
	double d = 0;

	(void)state;
	assert_true(quota_demand(0, 500, 0.1) == 500);
	assert_true(quota_demand(100, 500, 0.1) == 500);
	/* a fall decays: after 0.1 s still most of it, after 1 s under 4 % */
	d = quota_demand(1000, 0, 0.1);
	assert_true(d > 700 && d < 1000);
	d = 1000;
	for (int i = 0; i < 10; i++)
		d = quota_demand(d, 0, 0.1);
	assert_true(d < 40);
	/* garbage in counts as nothing seen */
	assert_true(quota_demand(100, NAN, 0.1) < 100);
	assert_true(quota_demand(100, -5, 0.1) < 100);
	assert_true(quota_demand(100, 50, 0) == 100);
}

static void lease_holds_until_its_end(void **state)
{
	struct rw_quota q = { .lease_until = 1000 };

	(void)state;
	assert_true(quota_leased(&q, 999));
	assert_false(quota_leased(&q, 1000));
	q.lease_until = 0;
	assert_false(quota_leased(&q, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(share_words_never_admit_more_than_granted),
		cmocka_unit_test(safe_share_is_the_smaller_of_percent_and_one_gateway_s_part),
		cmocka_unit_test(demand_rises_at_once_and_decays_within_a_second),
		cmocka_unit_test(lease_holds_until_its_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
