// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Scaling a bucket word by the control loop's multiplier, and the record's freshness. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "limits.h"
#include "live_rates.h"
#include "policy_values.h"

static uint64_t word(uint64_t rate, uint64_t burst)
{
	return rw_limit_pack(gcra_interval_ticks(rate), burst);
}

static void scales_the_rate_and_keeps_the_burst(void **state)
{
	uint64_t w = word(200, 20), half = live_rate_word(w, 0.5), triple = live_rate_word(w, 3.0);

	(void)state;
	assert_int_equal(rw_limit_burst(half), 20);
	assert_int_equal(rw_limit_burst(triple), 20);
	/* half the rate: twice the interval; three times: a third, rounded up */
	assert_int_equal(rw_limit_interval(half), 2 * rw_limit_interval(w));
	assert_int_equal(rw_limit_interval(triple), (rw_limit_interval(w) + 2) / 3);
	/* rounded up: the scaled rate never admits more than rate x mult */
	assert_true(rw_limit_interval(triple) * 3 >= rw_limit_interval(w));
}

static void leaves_what_it_cannot_scale(void **state)
{
	uint64_t w = word(1000, 1000);

	(void)state;
	assert_int_equal(live_rate_word(0, 0.5), 0); /* no bucket stays none */
	assert_int_equal(live_rate_word(w, 1.0), w);
	assert_int_equal(live_rate_word(w, 0.0), w);
	assert_int_equal(live_rate_word(w, -1.0), w);
	assert_int_equal(live_rate_word(w, 0.0 / 0.0), w);
	assert_int_equal(live_rate_word(w, 1.0 / 0.0), w);
}

static void stays_within_the_word_and_the_window(void **state)
{
	/* one per 10 s at 1 %: past what the word holds, so the slowest it can */
	uint64_t slow = rw_limit_pack(gcra_interval_ticks_per(1, 10 * RW_NS_PER_SEC), 1);
	uint64_t big = word(1, RW_BURST_MAX), fast = word(RW_RATE_MAX, 100);

	(void)state;
	assert_int_equal(rw_limit_interval(live_rate_word(slow, 0.01)), POLICY_INTERVAL_LIMIT - 1);
	/* a large burst keeps its window under the bucket's limit */
	assert_true(rw_limit_interval(live_rate_word(big, 0.01)) * RW_BURST_MAX <= RW_WINDOW_MAX);
	/* ten times the fastest rate still has an interval of at least one tick */
	assert_true(rw_limit_interval(live_rate_word(fast, 10.0)) >= 1);
}

static void a_record_is_fresh_for_a_few_intervals(void **state)
{
	struct rw_adapt a;
	uint64_t now = 1000 * RW_NS_PER_SEC;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.interval_ms = 1000;
	a.sampled_at_ns = now;
	assert_false(live_rates_fresh(&a, now)); /* never sampled */
	a.samples = 1;
	assert_true(live_rates_fresh(&a, now));
	assert_true(live_rates_fresh(&a, now + 3 * RW_NS_PER_SEC));
	assert_false(live_rates_fresh(&a, now + 5 * RW_NS_PER_SEC));
	/* a short interval still gets 2 s */
	a.interval_ms = 100;
	assert_true(live_rates_fresh(&a, now + RW_NS_PER_SEC + RW_NS_PER_SEC / 2));
	assert_false(live_rates_fresh(&a, now + 3 * RW_NS_PER_SEC));
}

static void stored_multipliers_are_found_by_name(void **state)
{
	struct rw_adapt a;
	double mult = 0;
	bool shed = false;

	(void)state;
	memset(&a, 0, sizeof(a));
	strcpy(a.classes[3].name, "api");
	a.classes[3].mult_ppm = 250000;
	a.classes[3].shed = 1;
	assert_true(live_rates_stored(&a, "api", &mult, &shed));
	assert_true(mult == 0.25 && shed);
	assert_false(live_rates_stored(&a, "web", &mult, &shed));
	a.classes[3].mult_ppm = 0; /* an unused entry */
	assert_false(live_rates_stored(&a, "api", &mult, &shed));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scales_the_rate_and_keeps_the_burst),
		cmocka_unit_test(leaves_what_it_cannot_scale),
		cmocka_unit_test(stays_within_the_word_and_the_window),
		cmocka_unit_test(a_record_is_fresh_for_a_few_intervals),
		cmocka_unit_test(stored_multipliers_are_found_by_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
