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

	fx_config_compute(&c, 32, 64, 0);
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

static uint64_t budget_tat(struct fx *f)
{
	struct rw_global_state g;
	uint32_t zero = 0;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.rw_global), &zero, &g), 0);
	return g.new_src_tat;
}

/*
 * With a full budget (burst 1), admits never-seen source 198.18.x.y number
 * `index` and checks that the budget's word moved to exactly one new-rate
 * interval past the moment of the packet. Returns that word; *before is
 * the clock just before the packet.
 */
static uint64_t admit_first_new_source(struct fx *f, uint64_t rate, unsigned int index,
				       uint64_t *before)
{
	const uint64_t interval = gcra_interval_ticks(rate);
	uint8_t b[FRAME_MAX];
	char src[32];

	set_budget(f, rate, 1);
	addr4(src, sizeof(src), index);
	*before = fx_now_ns();
	assert_int_equal(fx_run(f, b, fx_udp4(b, src), 1), XDP_PASS);
	uint64_t after = fx_now_ns(), tat = budget_tat(f);

	assert_true(tat >= (*before << RW_TICK_SHIFT) + interval);
	assert_true(tat <= (after << RW_TICK_SHIFT) + interval);
	return tat;
}

/* The word moves by exactly one interval per admitted source: the budget
 * refills at new-rate, no slower and no faster. */
static void test_budget_word_exact(void **state)
{
	uint64_t before;

	admit_first_new_source(*state, 1000, 1, &before);
}

/* A refused new source leaves the budget's word as it was. */
static void test_budget_refusal_writes_nothing(void **state)
{
	struct fx *f = *state;
	uint8_t b[FRAME_MAX];
	char src[32];
	uint64_t before, tat = admit_first_new_source(f, 1, 2, &before);

	/* 1 new source per second: refused unless a whole second went by. */
	addr4(src, sizeof(src), 3);
	uint32_t verdict = fx_run(f, b, fx_udp4(b, src), 1);

	if (fx_now_ns() - before < 1000000000ull) {
		assert_int_equal(verdict, XDP_DROP);
		assert_int_equal(budget_tat(f), tat);
	}
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

/* ---- seen-source filter ------------------------------------------------ */

static bool seen_bit_set(struct fx *f, const struct rw_config *c, const struct rw_src_key *k)
{
	uint32_t bit = rw_seen_bit(k, c->seen_seed, c->seen_mask), word = bit / 64;
	uint64_t v = 0;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.rw_seen), &word, &v), 0);
	return v & (1ULL << (bit % 64));
}

static unsigned int seen_bits_total(struct fx *f)
{
	unsigned int words = bpf_map__max_entries(f->skel->maps.rw_seen), n = 0;

	for (uint32_t w = 0; w < words; w++) {
		uint64_t v = 0;

		assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.rw_seen), &w, &v), 0);
		n += (unsigned int)__builtin_popcountll(v);
	}
	return n;
}

static void config_with_seed(struct rw_config *c, uint64_t new_rate, uint64_t new_burst,
			     uint64_t seed)
{
	fx_config_compute(c, 32, 64, 0);
	c->new_limit = rw_limit_pack(gcra_interval_ticks(new_rate), new_burst);
	c->seen_seed = seed;
}

/* Every admitted source has its bit set; refused ones leave no bit. */
static void test_filter_marks_admitted_only(void **state)
{
	struct fx *f = *state;
	const unsigned int burst = 20, sources = 60;
	struct rw_config c;
	uint8_t b[FRAME_MAX];
	char src[32];
	unsigned int admitted = 0;

	config_with_seed(&c, 1, burst, 0x5eed5eed12345678ULL);
	fx_write_config(f, &c);
	for (unsigned int i = 0; i < sources; i++) {
		addr4(src, sizeof(src), 300 + i);
		if (fx_run(f, b, fx_udp4(b, src), 1) == XDP_PASS)
			admitted++;
	}
	assert_int_equal(admitted, burst); /* 1 new source/s: no refill here */
	for (unsigned int i = 0; i < burst; i++) {
		struct rw_src_key k;

		addr4(src, sizeof(src), 300 + i);
		k = fx_key4(src, 32);
		assert_true(fx_src_lookup(f, &k, NULL));
		assert_true(seen_bit_set(f, &c, &k));
	}
	/* Bits may collide, so at most one per admitted source, none more. */
	assert_true(seen_bits_total(f) <= burst);
	assert_true(seen_bits_total(f) >= burst - 2);
}

/*
 * A never-seen source whose bit is already set by another (a collision)
 * takes the long way: lookup, miss, budget. Small filter so a colliding
 * pair is quick to find.
 */
static void test_filter_collision_still_uses_budget(void **state)
{
	struct fx *f = *state;
	struct rw_config c;
	struct rw_src_key ka, kb;
	uint8_t b[FRAME_MAX];
	char a[32], other[32];
	unsigned int i;

	config_with_seed(&c, 1, 1, 42);
	c.seen_mask = 63; /* one word: collisions are everywhere */
	fx_write_config(f, &c);
	addr4(a, sizeof(a), 1);
	ka = fx_key4(a, 32);
	for (i = 2; i < 5000; i++) {
		addr4(other, sizeof(other), i);
		kb = fx_key4(other, 32);
		if (rw_seen_bit(&ka, c.seen_seed, c.seen_mask) ==
		    rw_seen_bit(&kb, c.seen_seed, c.seen_mask))
			break;
	}
	assert_true(i < 5000);
	assert_int_equal(fx_run(f, b, fx_udp4(b, a), 1), XDP_PASS); /* takes the budget */
	assert_true(seen_bit_set(f, &c, &kb));                     /* b looks seen... */
	assert_false(fx_src_lookup(f, &kb, NULL));                  /* ...but is not */
	assert_int_equal(fx_run(f, b, fx_udp4(b, other), 1), XDP_DROP);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_NEW, RW_VERDICT_DROP).packets, 1);
	/* With budget back it gets its entry like any new source. */
	config_with_seed(&c, 1, 5, 42);
	c.seen_mask = 63;
	fx_write_config(f, &c);
	assert_int_equal(fx_run(f, b, fx_udp4(b, other), 1), XDP_PASS);
	assert_true(fx_src_lookup(f, &kb, NULL));
	/* And the known source a keeps passing. */
	assert_int_equal(fx_run(f, b, fx_udp4(b, a), 10), XDP_PASS);
}

/* A mask larger than the filter map only means "maybe seen": same verdicts. */
static void test_filter_out_of_range_is_safe(void **state)
{
	struct fx *f = *state;
	struct rw_config c;
	uint8_t b[FRAME_MAX];
	char src[32];

	config_with_seed(&c, 1, 2, 7);
	c.seen_mask = 0xffffffffu;
	fx_write_config(f, &c);
	for (unsigned int i = 0; i < 2; i++) {
		addr4(src, sizeof(src), 900 + i);
		assert_int_equal(fx_run(f, b, fx_udp4(b, src), 1), XDP_PASS);
	}
	addr4(src, sizeof(src), 999);
	assert_int_equal(fx_run(f, b, fx_udp4(b, src), 1), XDP_DROP);
	addr4(src, sizeof(src), 900);
	assert_int_equal(fx_run(f, b, fx_udp4(b, src), 20), XDP_PASS);
	assert_int_equal(fx_src_count(f), 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_budget_caps_new_sources),
		T(test_known_sources_unaffected),
		T(test_budget_refills),
		T(test_budget_word_exact),
		T(test_budget_refusal_writes_nothing),
		T(test_budget_live_change),
		T(test_budget_ipv6),
		T(test_filter_marks_admitted_only),
		T(test_filter_collision_still_uses_budget),
		T(test_filter_out_of_range_is_safe),
	};

	(void)argc;
	if (fx_require_root(argv[0]))
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
