// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The new-source budget: a source seen for the first time gets an entry in
 * the per-source map only while the global budget has tokens; otherwise its
 * packet is dropped as src_new and nothing is inserted. Known sources never
 * touch the budget. Bounds on refill come from CLOCK_MONOTONIC readings
 * around the runs, never from expected durations.
 */
#include "fixture.h"
#include "frames.h"

/* Per-source limits generous enough never to refuse in these tests. */
static void set_budget(struct fx *f, uint64_t new_rate, uint64_t new_burst)
{
	struct rw_config c;

	fx_config_compute(&c, 1000000, 100000, 32, 64, 0);
	c.new_limit = rw_limit_pack(gcra_interval_ticks(new_rate), new_burst);
	c.new_rate = new_rate;
	c.new_burst = new_burst;
	fx_write_config(f, &c);
}

static void addr4(char *buf, size_t cap, unsigned int i)
{
	snprintf(buf, cap, "198.18.%u.%u", (i >> 8) & 0xff, i & 0xff);
}

/* Exactly new-burst sources get in; the rest are dropped and never stored. */
static void test_budget_caps_new_sources(void **state)
{
	struct fx *f = *state;
	const unsigned int burst = 5, sources = 40;
	struct fx_counters z, a;
	uint8_t b[FRAME_MAX];
	char src[32];
	size_t len = 0;
	unsigned int admitted = 0;

	/* 1 new source per second: no refill within this test's runtime
	 * unless it takes a second, which the bound below accounts for. */
	set_budget(f, 1, burst);
	uint64_t t0 = fx_now_ns();

	fx_snapshot(f, &z);
	for (unsigned int i = 0; i < sources; i++) {
		addr4(src, sizeof(src), i + 1);
		len = fx_udp4(b, src);
		if (fx_run(f, b, len, 1) == XDP_PASS)
			admitted++;
	}
	uint64_t elapsed = fx_now_ns() - t0;
	uint64_t refilled = elapsed / 1000000000ull;

	fx_snapshot(f, &a);
	assert_true(admitted >= burst);
	assert_true(admitted <= burst + refilled);
	/* Exactly the admitted sources have entries, the first ones first. */
	assert_int_equal(fx_src_count(f), admitted);
	for (unsigned int i = 0; i < burst; i++) {
		struct rw_src_key k;

		addr4(src, sizeof(src), i + 1);
		k = fx_key4(src, 32);
		assert_true(fx_src_lookup(f, &k, NULL));
	}
	assert_int_equal(a.c[RW_REASON_ADMITTED][RW_VERDICT_PASS].packets -
				 z.c[RW_REASON_ADMITTED][RW_VERDICT_PASS].packets,
			 admitted);
	assert_int_equal(a.c[RW_REASON_SRC_NEW][RW_VERDICT_DROP].packets -
				 z.c[RW_REASON_SRC_NEW][RW_VERDICT_DROP].packets,
			 sources - admitted);
	assert_int_equal(a.c[RW_REASON_SRC_NEW][RW_VERDICT_DROP].bytes -
				 z.c[RW_REASON_SRC_NEW][RW_VERDICT_DROP].bytes,
			 (uint64_t)(sources - admitted) * len);
}

/* Known sources keep passing while the budget is spent. */
static void test_known_sources_unaffected(void **state)
{
	struct fx *f = *state;
	uint8_t known[FRAME_MAX], stranger[FRAME_MAX];
	size_t lk = fx_udp4(known, "198.18.1.1");
	size_t ls = fx_udp4(stranger, "198.18.1.2");
	struct fx_counters z, a;

	set_budget(f, 1, 1);
	assert_int_equal(fx_run(f, known, lk, 1), XDP_PASS); /* takes the only token */
	fx_snapshot(f, &z);
	assert_int_equal(fx_run(f, stranger, ls, 1), XDP_DROP);
	assert_int_equal(fx_run(f, known, lk, 500), XDP_PASS);
	fx_snapshot(f, &a);
	assert_int_equal(a.c[RW_REASON_ADMITTED][RW_VERDICT_PASS].packets -
				 z.c[RW_REASON_ADMITTED][RW_VERDICT_PASS].packets,
			 500);
	assert_int_equal(a.c[RW_REASON_SRC_NEW][RW_VERDICT_DROP].packets -
				 z.c[RW_REASON_SRC_NEW][RW_VERDICT_DROP].packets,
			 1);
	assert_int_equal(fx_src_count(f), 1);
}

/* The budget refills at new-rate: after a pause, about rate * t more. */
static void test_budget_refills(void **state)
{
	struct fx *f = *state;
	const uint64_t rate = 1000, pause_ns = 20 * 1000000ull;
	uint8_t b[FRAME_MAX];
	char src[32];
	unsigned int admitted = 0, i;

	set_budget(f, rate, 1);
	addr4(src, sizeof(src), 1);
	assert_int_equal(fx_run(f, b, fx_udp4(b, src), 1), XDP_PASS);
	uint64_t t0 = fx_now_ns();

	fx_sleep_ns(pause_ns);
	for (i = 0; i < 200; i++) {
		addr4(src, sizeof(src), 100 + i);
		if (fx_run(f, b, fx_udp4(b, src), 1) == XDP_PASS)
			admitted++;
	}
	uint64_t elapsed = fx_now_ns() - t0;

	/* At least what the pause alone refilled (capped by burst 1 plus
	 * what accrues while sending); never more than burst + rate * t + 1. */
	assert_true(admitted >= 1);
	assert_true(admitted <= 1 + rate * elapsed / 1000000000ull + 1);
}

/* A live change of the budget applies at the next packet. */
static void test_budget_live_change(void **state)
{
	struct fx *f = *state;
	uint8_t b[FRAME_MAX];
	char src[32];

	set_budget(f, 1, 1);
	addr4(src, sizeof(src), 1);
	assert_int_equal(fx_run(f, b, fx_udp4(b, src), 1), XDP_PASS);
	addr4(src, sizeof(src), 2);
	assert_int_equal(fx_run(f, b, fx_udp4(b, src), 1), XDP_DROP);
	/* Raising the burst gives room at once: the stored TAT is within it. */
	set_budget(f, 1, 50);
	for (unsigned int i = 0; i < 49; i++) {
		addr4(src, sizeof(src), 10 + i);
		assert_int_equal(fx_run(f, b, fx_udp4(b, src), 1), XDP_PASS);
	}
	addr4(src, sizeof(src), 200);
	assert_int_equal(fx_run(f, b, fx_udp4(b, src), 1), XDP_DROP);
	assert_int_equal(fx_src_count(f), 50);
}

/* IPv6 sources draw on the same budget, keyed by their /64. */
static void test_budget_ipv6(void **state)
{
	struct fx *f = *state;
	uint8_t b[FRAME_MAX];
	size_t len;

	set_budget(f, 1, 2);
	len = fx_udp6(b, "2001:db8:1::1");
	assert_int_equal(fx_run(f, b, len, 1), XDP_PASS);
	/* Same /64: a known key, no budget needed. */
	len = fx_udp6(b, "2001:db8:1::2");
	assert_int_equal(fx_run(f, b, len, 1), XDP_PASS);
	len = fx_udp6(b, "2001:db8:2::1");
	assert_int_equal(fx_run(f, b, len, 1), XDP_PASS);
	len = fx_udp6(b, "2001:db8:3::1");
	assert_int_equal(fx_run(f, b, len, 1), XDP_DROP);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_NEW, RW_VERDICT_DROP).packets, 1);
	assert_int_equal(fx_src_count(f), 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_budget_caps_new_sources),
		T(test_known_sources_unaffected),
		T(test_budget_refills),
		T(test_budget_live_change),
		T(test_budget_ipv6),
	};

	(void)argc;
	if (fx_require_root(argv[0]))
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
