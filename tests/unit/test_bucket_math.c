// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The bucket arithmetic `client explain` shows (tokens left, wait until a
 * packet fits) against the admission rule of gcra.h, debt + interval <=
 * window, at its edges: a full bucket on a host up for less than one
 * window (a TAT of 0 far behind nothing), exactly at the boundary, one
 * tick over it, deep debt, and no bucket.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "explain.h"
#include "limits.h"

#define TICK (1ULL << RW_TICK_SHIFT) /* ticks per ns */

/* 4/m (one per 15 s) with a burst of 100: a window of 25 minutes. */
static uint64_t slow_limit(uint64_t *interval, uint64_t *window)
{
	*interval = gcra_interval_ticks_per(4, 60 * RW_NS_PER_SEC);
	*window = 100 * *interval;
	return rw_limit_pack(*interval, 100);
}

static void test_full_bucket_early_after_boot(void **state)
{
	uint64_t interval, window, limit = slow_limit(&interval, &window);
	uint64_t now = 600 * RW_NS_PER_SEC * TICK; /* up 10 minutes: less than a window */

	(void)state;
	assert_int_equal(bucket_tokens(0, limit, now), 100);
	assert_int_equal(bucket_wait_ns(0, limit, now), 0);
	/* one spent: a TAT of now + interval */
	assert_int_equal(bucket_tokens(now + interval, limit, now), 99);
	assert_int_equal(bucket_wait_ns(now + interval, limit, now), 0);
}

static void test_boundary_is_exact(void **state)
{
	uint64_t interval, window, limit = slow_limit(&interval, &window);
	uint64_t now = 1ULL << 50;

	(void)state;
	/* debt + interval == window: the program admits, so no wait */
	assert_int_equal(bucket_wait_ns(now + window - interval, limit, now), 0);
	assert_int_equal(bucket_tokens(now + window - interval, limit, now), 1);
	/* one tick more: refused, and the wait is that one tick, rounded up to 1 ns */
	assert_int_equal(bucket_wait_ns(now + window - interval + 1, limit, now), 1);
	assert_int_equal(bucket_tokens(now + window - interval + 1, limit, now), 0);
	/* empty: one interval to wait */
	assert_int_equal(bucket_wait_ns(now + window, limit, now), interval / TICK);
}

static void test_debt_from_a_stricter_limit_counts_until_cut(void **state)
{
	uint64_t interval, window, limit = slow_limit(&interval, &window);
	uint64_t now = 1ULL << 50, debt = 3 * window;

	(void)state;
	assert_int_equal(bucket_tokens(now + debt, limit, now), 0);
	assert_int_equal(bucket_wait_ns(now + debt, limit, now),
			 (debt + interval - window + TICK - 1) / TICK);
}

static void test_no_bucket(void **state)
{
	(void)state;
	assert_int_equal(bucket_tokens(12345, 0, 1), 0);
	assert_int_equal(bucket_wait_ns(12345, 0, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_bucket_early_after_boot),
		cmocka_unit_test(test_boundary_is_exact),
		cmocka_unit_test(test_debt_from_a_stricter_limit_counts_until_cut),
		cmocka_unit_test(test_no_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
