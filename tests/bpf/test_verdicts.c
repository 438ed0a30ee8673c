// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Verdicts of the loaded XDP program for crafted frames: limiting per
 * source, refill, config changes, key prefixes, L2/L3 parsing edge cases
 * and malformed input. Every test gets a freshly loaded skeleton, so map
 * contents and counters start from zero. Time-dependent checks derive
 * their bounds from CLOCK_MONOTONIC readings around the runs (the clock
 * behind bpf_ktime_get_ns), never from expected wall-clock durations.
 */
#include "fixture.h"
#include "frames.h"

#define PASS XDP_PASS
#define DROP XDP_DROP

/* Kept local so the tests need no libm: arguments are never negative. */
static double dfloor(double x)
{
	return (double)(uint64_t)x;
}

static double dmin(double a, double b)
{
	return a < b ? a : b;
}

/* Bucket time per packet, in ticks, as the loader computes it. */
static uint64_t interval_ticks(uint64_t rate)
{
	return gcra_interval_ticks(rate);
}

/* Packets the bucket refills in ns nanoseconds (fractional). */
static double refill(uint64_t rate, uint64_t ns)
{
	return (double)(ns << RW_TICK_SHIFT) / (double)interval_ticks(rate);
}

static void send_expect(struct fx *f, const uint8_t *frame, size_t len, uint32_t want)
{
	assert_int_equal(fx_run(f, frame, len, 1), want);
}

/* ---- limiting ---------------------------------------------------------- */

static void test_under_limit(void **state)
{
	struct fx *f = *state;
	struct fx_counters z, a;
	uint8_t b4[FRAME_MAX], b6[FRAME_MAX];
	size_t l4 = fx_udp4(b4, "198.18.0.1");
	size_t l6 = fx_udp6(b6, "2001:db8:1::1");
	struct rw_src_key k4 = fx_key4("198.18.0.1", 32), k6 = fx_key6("2001:db8:1::1", 64);
	int i;

	fx_set_config(f, 1000, 100, 32, 64, 0);
	fx_snapshot(f, &z);
	/* 50 and 30 packets: under the burst of 100 whatever the timing. */
	for (i = 0; i < 10; i++) {
		send_expect(f, b4, l4, PASS);
		send_expect(f, b6, l6, PASS);
	}
	assert_int_equal(fx_run(f, b4, l4, 40), PASS);
	assert_int_equal(fx_run(f, b6, l6, 20), PASS);
	fx_snapshot(f, &a);
	fx_assert_delta(&z, &a, RW_REASON_ADMITTED, RW_VERDICT_PASS, 50 + 30,
			50 * l4 + 30 * l6);
	assert_true(fx_src_lookup(f, &k4, NULL));
	assert_true(fx_src_lookup(f, &k6, NULL));
	assert_int_equal(fx_src_count(f), 2);
}

static void test_over_limit(void **state)
{
	struct fx *f = *state;
	const uint64_t burst = 8, extra = 12;
	uint8_t b[FRAME_MAX];
	size_t len = fx_udp4(b, "198.18.0.2");
	struct rw_src_key k = fx_key4("198.18.0.2", 32);
	uint32_t verdicts[8 + 12];
	uint64_t t0, t1, tat_spent = 0, tat_after = 0, admitted = 0, i;
	double allowed;

	fx_set_config(f, 1, burst, 32, 64, 0);
	t0 = fx_now_ns();
	for (i = 0; i < burst; i++)
		verdicts[i] = fx_run(f, b, len, 1);
	assert_true(fx_src_lookup(f, &k, &tat_spent));
	for (; i < burst + extra; i++)
		verdicts[i] = fx_run(f, b, len, 1);
	t1 = fx_now_ns();
	assert_true(fx_src_lookup(f, &k, &tat_after));

	for (i = 0; i < burst + extra; i++) {
		assert_true(verdicts[i] == PASS || verdicts[i] == DROP);
		admitted += verdicts[i] == PASS;
	}
	allowed = refill(1, t1 - t0);
	printf("# over_limit: burst %llu sent %llu admitted %llu in %.3f ms\n",
	       (unsigned long long)burst, (unsigned long long)(burst + extra),
	       (unsigned long long)admitted, (t1 - t0) / 1e6);

	/* Counters agree with the verdicts seen, packet for packet. */
	assert_int_equal(fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).packets, admitted);
	assert_int_equal(fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).bytes,
			 admitted * len);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_PKT, RW_VERDICT_DROP).packets,
			 burst + extra - admitted);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_PKT, RW_VERDICT_DROP).bytes,
			 (burst + extra - admitted) * len);

	if (allowed < 1.0) {
		/* No refill possible in the elapsed time: exactly the burst. */
		for (i = 0; i < burst + extra; i++)
			assert_int_equal(verdicts[i], i < burst ? PASS : DROP);
		/* Refused packets cost nothing: the TAT did not move. */
		assert_int_equal(tat_after, tat_spent);
	} else {
		assert_in_range(admitted, burst, burst + (uint64_t)allowed + 1);
	}
}

/* Sends n single frames; returns the verdict of the last. */
static uint32_t send_n(struct fx *f, const uint8_t *b, size_t len, int n)
{
	uint32_t v = ~0u;
	int i;

	/* One run per frame: repeat > 1 makes the kernel swap the XDP
	 * dispatcher around the run, adding tens of ms of RCU waits. */
	for (i = 0; i < n; i++)
		v = fx_run(f, b, len, 1);
	return v;
}

/*
 * After the burst is spent, the bucket refills at the rate. With r the
 * final refusal, e the last admit before the sleep and I the interval,
 * GCRA guarantees min(B, (r-e)/I) - 1 < A and A <= min((end-start)/I + 1,
 * B + (end-sleep_end)/I); the clock readings bracket r, e and the rest.
 */
static void test_refill(void **state)
{
	struct fx *f = *state;
	const uint64_t rate = 1000, burst = 50;
	const int n = 200;
	uint8_t b[FRAME_MAX];
	size_t len = fx_udp4(b, "198.18.0.3");
	uint64_t ta, tb, tc, td, spent, got;
	double lo, hi;

	fx_set_config(f, rate, burst, 32, 64, 0);
	ta = fx_now_ns();
	assert_int_equal(send_n(f, b, len, n), DROP);
	tb = fx_now_ns();
	spent = fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).packets;
	assert_in_range(spent, burst, burst + (uint64_t)refill(rate, tb - ta) + 1);

	/* 20 ms is 20 packets of refill, well short of the 50-packet cap. */
	fx_sleep_ns(20 * 1000 * 1000);
	tc = fx_now_ns();
	assert_int_equal(send_n(f, b, len, n), DROP);
	td = fx_now_ns();
	got = fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).packets - spent;

	lo = dmin((double)burst - 1, refill(rate, tc - tb) - 1);
	hi = dmin(dfloor(refill(rate, td - ta)) + 1,
		  (double)burst + dfloor(refill(rate, td - tc)));
	printf("# refill: spent %llu in %.3f ms; slept %.3f ms, expected ~%.1f, admitted %llu, bounds (%.2f, %.0f]\n",
	       (unsigned long long)spent, (tb - ta) / 1e6, (tc - tb) / 1e6,
	       refill(rate, tc - tb), (unsigned long long)got, lo, hi);
	assert_true((double)got > lo);
	assert_true((double)got <= hi);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_PKT, RW_VERDICT_DROP).packets,
			 2 * n - spent - got);
	assert_int_equal(fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).bytes,
			 (spent + got) * len);
}

/* A slower rate written to the config map governs the very next packet. */
static void test_rate_decrease_applies(void **state)
{
	struct fx *f = *state;
	uint8_t b[FRAME_MAX];
	size_t len = fx_udp4(b, "198.18.0.4");

	fx_set_config(f, 1000000, 1, 32, 64, 0);
	send_expect(f, b, len, PASS);
	fx_set_config(f, 1, 1, 32, 64, 0);
	/* 2 ms is 2000 old intervals: only the new 1/s rate can refuse. */
	fx_sleep_ns(2 * 1000 * 1000);
	send_expect(f, b, len, PASS);
	fx_sleep_ns(2 * 1000 * 1000);
	send_expect(f, b, len, DROP);
	assert_int_equal(fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).packets, 2);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_PKT, RW_VERDICT_DROP).packets, 1);
	assert_int_equal(fx_src_count(f), 1);
}

/*
 * Raising the rate must let a throttled source through within a few of the
 * new intervals, not only after the debt built under the old rate (here
 * about 1 s) has drained. The key itself is never written by the test.
 */
static void test_rate_increase_applies(void **state)
{
	struct fx *f = *state;
	uint8_t b[FRAME_MAX];
	size_t len = fx_udp4(b, "198.18.0.5");
	struct rw_src_key k = fx_key4("198.18.0.5", 32);
	uint64_t tat0 = 0, tat1 = 0, t0, t1;
	uint32_t v1, v2;

	fx_set_config(f, 1, 1, 32, 64, 0);
	t0 = fx_now_ns();
	send_expect(f, b, len, PASS);
	send_expect(f, b, len, DROP);
	assert_true(fx_src_lookup(f, &k, &tat0));
	fx_set_config(f, 1000, 1, 32, 64, 0);
	assert_true(fx_src_lookup(f, &k, &tat1));
	assert_int_equal(tat0, tat1);
	/* Two tries, each 5 new intervals apart. */
	fx_sleep_ns(5 * 1000 * 1000);
	v1 = fx_run(f, b, len, 1);
	fx_sleep_ns(5 * 1000 * 1000);
	v2 = fx_run(f, b, len, 1);
	t1 = fx_now_ns();
	printf("# rate_increase: after raising 1/s -> 1000/s: %s, %s (%.1f ms after the first packet)\n",
	       v1 == PASS ? "pass" : "drop", v2 == PASS ? "pass" : "drop", (t1 - t0) / 1e6);
	if (t1 - t0 >= RW_NS_PER_SEC)
		fail_msg("took over 1 s: the old debt drained, test proves nothing");
	if (v2 != PASS)
		fail_msg("source still throttled 10 ms after the rate rose to 1000/s: "
			 "its TAT from the 1/s config (%.3f s ahead) was kept",
			 (double)(tat0 - (t0 << RW_TICK_SHIFT)) / (RW_NS_PER_SEC << RW_TICK_SHIFT));
	assert_int_equal(fx_src_count(f), 1);
}

/* ---- keys and prefixes ------------------------------------------------- */

/* Sends `n` frames expecting PASS, then one expecting DROP. */
static void drain(struct fx *f, const uint8_t *b, size_t len, int n)
{
	int i;

	for (i = 0; i < n; i++)
		send_expect(f, b, len, PASS);
	send_expect(f, b, len, DROP);
}

static void test_v4_separate_per_32(void **state)
{
	struct fx *f = *state;
	uint8_t a[FRAME_MAX], b[FRAME_MAX];
	size_t la = fx_udp4(a, "198.18.1.1"), lb = fx_udp4(b, "198.18.1.2");
	struct rw_src_key ka = fx_key4("198.18.1.1", 32), kb = fx_key4("198.18.1.2", 32);

	fx_set_config(f, 1, 3, RW_DEFAULT_PREFIX4, RW_DEFAULT_PREFIX6, 0);
	drain(f, a, la, 3);
	drain(f, b, lb, 3);
	assert_true(fx_src_lookup(f, &ka, NULL));
	assert_true(fx_src_lookup(f, &kb, NULL));
	assert_int_equal(fx_src_count(f), 2);
	assert_int_equal(fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).packets, 6);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_PKT, RW_VERDICT_DROP).packets, 2);
}

static void test_v4_shared_per_24(void **state)
{
	struct fx *f = *state;
	uint8_t a[FRAME_MAX], b[FRAME_MAX], c[FRAME_MAX];
	size_t la = fx_udp4(a, "198.18.2.1"), lb = fx_udp4(b, "198.18.2.200");
	size_t lc = fx_udp4(c, "198.18.3.1");
	struct rw_src_key k24 = fx_key4("198.18.2.1", 24), k32 = fx_key4("198.18.2.1", 32);
	struct rw_src_key kc = fx_key4("198.18.3.1", 24);

	fx_set_config(f, 1, 3, 24, 64, 0);
	drain(f, a, la, 3);
	send_expect(f, b, lb, DROP); /* same /24: the bucket is already spent */
	drain(f, c, lc, 3);          /* next /24: a bucket of its own */
	assert_true(fx_src_lookup(f, &k24, NULL));
	assert_true(fx_src_lookup(f, &kc, NULL));
	assert_false(fx_src_lookup(f, &k32, NULL));
	assert_int_equal(fx_src_count(f), 2);
	assert_int_equal(fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).packets, 6);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_PKT, RW_VERDICT_DROP).packets, 3);
}

static void test_v6_shared_per_64(void **state)
{
	struct fx *f = *state;
	uint8_t a[FRAME_MAX], b[FRAME_MAX], c[FRAME_MAX];
	size_t la = fx_udp6(a, "2001:db8:0:1::1"), lb = fx_udp6(b, "2001:db8:0:1:ffff:1:2:3");
	size_t lc = fx_udp6(c, "2001:db8:0:2::1");
	struct rw_src_key ka = fx_key6("2001:db8:0:1::1", 64), kc = fx_key6("2001:db8:0:2::1", 64);

	fx_set_config(f, 1, 3, RW_DEFAULT_PREFIX4, RW_DEFAULT_PREFIX6, 0);
	drain(f, a, la, 3);
	send_expect(f, b, lb, DROP); /* same /64 */
	drain(f, c, lc, 3);          /* another /64 */
	assert_true(fx_src_lookup(f, &ka, NULL));
	assert_true(fx_src_lookup(f, &kc, NULL));
	assert_int_equal(fx_src_count(f), 2);
	assert_int_equal(fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).packets, 6);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_PKT, RW_VERDICT_DROP).packets, 3);
}

static void test_v6_separate_per_128(void **state)
{
	struct fx *f = *state;
	uint8_t a[FRAME_MAX], b[FRAME_MAX];
	size_t la = fx_udp6(a, "2001:db8:0:1::1"), lb = fx_udp6(b, "2001:db8:0:1::2");
	struct rw_src_key ka = fx_key6("2001:db8:0:1::1", 128), kb = fx_key6("2001:db8:0:1::2", 128);

	fx_set_config(f, 1, 3, 32, 128, 0);
	drain(f, a, la, 3);
	drain(f, b, lb, 3);
	assert_true(fx_src_lookup(f, &ka, NULL));
	assert_true(fx_src_lookup(f, &kb, NULL));
	assert_int_equal(fx_src_count(f), 2);
	assert_int_equal(fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).packets, 6);
}

/* ---- L2 / L3 parsing ----------------------------------------------------- */

/* Untagged, 802.1Q and QinQ frames of one source share its bucket. */
static void vlan_case(struct fx *f, int family, const char *src, uint32_t prefix)
{
	static const uint16_t tags[3][3] = {
		{ 0 },
		{ FR_TPID_8021Q },
		{ FR_TPID_8021AD, FR_TPID_8021Q },
	};
	uint8_t b[3][FRAME_MAX];
	size_t len[3], total = 0;
	struct fx_counters s0, s1, s2;
	struct rw_src_key k = family == 4 ? fx_key4(src, prefix) : fx_key6(src, prefix);
	int i;

	for (i = 0; i < 3; i++) {
		struct frame_spec s = { .family = family, .src = src, .l4 = FR_PROTO_TCP,
					.tcp_flags = FR_TCP_SYN };

		memcpy(s.vlan_tpid, tags[i], sizeof(s.vlan_tpid));
		len[i] = frame_build(b[i], FRAME_MAX, &s, NULL);
		assert_true(len[i] > 0);
		total += len[i];
	}
	assert_int_equal(len[1], len[0] + 4);
	assert_int_equal(len[2], len[0] + 8);

	fx_snapshot(f, &s0);
	for (i = 0; i < 3; i++)
		send_expect(f, b[i], len[i], PASS);
	fx_snapshot(f, &s1);
	fx_assert_delta(&s0, &s1, RW_REASON_ADMITTED, RW_VERDICT_PASS, 3, total);
	for (i = 2; i >= 0; i--)
		send_expect(f, b[i], len[i], DROP);
	fx_snapshot(f, &s2);
	fx_assert_delta(&s1, &s2, RW_REASON_SRC_PKT, RW_VERDICT_DROP, 3, total);
	assert_true(fx_src_lookup(f, &k, NULL));
}

static void test_vlan_and_qinq(void **state)
{
	struct fx *f = *state;

	fx_set_config(f, 1, 3, 32, 64, 0);
	vlan_case(f, 4, "198.18.4.1", 32);
	vlan_case(f, 6, "2001:db8:4::1", 64);
	assert_int_equal(fx_src_count(f), 2);
}

static void test_triple_vlan_is_malformed(void **state)
{
	struct fx *f = *state;
	struct frame_spec s = { .family = 4, .src = "198.18.4.2", .l4 = FR_PROTO_UDP,
				.vlan_tpid = { FR_TPID_8021AD, FR_TPID_8021Q, FR_TPID_8021Q } };
	struct fx_counters s0, s1;
	uint8_t b[FRAME_MAX];
	size_t len = frame_build(b, FRAME_MAX, &s, NULL);
	int drop;

	assert_true(len > 0);
	for (drop = 0; drop <= 1; drop++) {
		/* Beyond two tags the source is unread: malformed, never charged. */
		fx_set_config(f, 1, 1, 32, 64, (uint8_t)drop);
		fx_snapshot(f, &s0);
		assert_int_equal(fx_run(f, b, len, 5), drop ? DROP : PASS);
		fx_snapshot(f, &s1);
		fx_assert_delta(&s0, &s1, RW_REASON_MALFORMED,
				drop ? RW_VERDICT_DROP : RW_VERDICT_PASS, 5, 5 * len);
	}
	assert_int_equal(fx_src_count(f), 0);
}

static void test_ipv4_options(void **state)
{
	struct fx *f = *state;
	struct fx_counters s0, s1, s2;
	uint8_t b[FRAME_MAX];
	char src[32];
	int ihl;

	fx_set_config(f, 1, 2, 32, 64, 0);
	for (ihl = 6; ihl <= 15; ihl++) {
		struct frame_spec s = { .family = 4, .src = src, .l4 = FR_PROTO_TCP,
					.tcp_flags = FR_TCP_SYN, .ihl = (uint8_t)ihl };
		struct frame_layout lay;
		size_t len;

		snprintf(src, sizeof(src), "198.18.5.%d", ihl);
		struct rw_src_key k = fx_key4(src, 32);

		len = frame_build(b, FRAME_MAX, &s, &lay);
		assert_int_equal(lay.l4 - lay.l3, ihl * 4);
		assert_int_equal(len, 14 + ihl * 4 + 20);
		fx_snapshot(f, &s0);
		send_expect(f, b, len, PASS);
		send_expect(f, b, len, PASS);
		fx_snapshot(f, &s1);
		fx_assert_delta(&s0, &s1, RW_REASON_ADMITTED, RW_VERDICT_PASS, 2, 2 * len);
		send_expect(f, b, len, DROP);
		fx_snapshot(f, &s2);
		fx_assert_delta(&s1, &s2, RW_REASON_SRC_PKT, RW_VERDICT_DROP, 1, len);
		assert_true(fx_src_lookup(f, &k, NULL));
		assert_int_equal(fx_src_count(f), (unsigned int)(ihl - 5));
	}
}

/* Later fragments carry no TCP header; they are still charged to the source. */
static void test_ipv4_later_fragment(void **state)
{
	struct fx *f = *state;
	struct frame_spec first = { .family = 4, .src = "198.18.6.1", .l4 = FR_PROTO_TCP,
				    .more_frags = true, .payload = 64 };
	/* 4 bytes of data: parsed as TCP it would be malformed. */
	struct frame_spec later = { .family = 4, .src = "198.18.6.1", .l4 = FR_PROTO_TCP,
				    .frag_off = 11, .payload = 4 };
	struct frame_spec other = later;
	uint8_t b1[FRAME_MAX], b2[FRAME_MAX], b3[FRAME_MAX];
	size_t l1 = frame_build(b1, FRAME_MAX, &first, NULL);
	size_t l2 = frame_build(b2, FRAME_MAX, &later, NULL);
	size_t l3;
	struct rw_src_key k = fx_key4("198.18.6.1", 32), ko = fx_key4("198.18.6.2", 32);
	struct fx_counters s0, s1;

	other.src = "198.18.6.2";
	l3 = frame_build(b3, FRAME_MAX, &other, NULL);
	assert_true(l1 && l2 && l3);
	assert_int_equal(l2, 14 + 20 + 4);

	fx_set_config(f, 1, 3, 32, 64, 0);
	fx_snapshot(f, &s0);
	send_expect(f, b1, l1, PASS);
	send_expect(f, b2, l2, PASS);
	send_expect(f, b2, l2, PASS);
	fx_snapshot(f, &s1);
	fx_assert_delta(&s0, &s1, RW_REASON_ADMITTED, RW_VERDICT_PASS, 3, l1 + 2 * l2);
	send_expect(f, b2, l2, DROP); /* same bucket as the first fragment */
	send_expect(f, b1, l1, DROP);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_PKT, RW_VERDICT_DROP).packets, 2);
	/* A later fragment from elsewhere starts its own bucket. */
	send_expect(f, b3, l3, PASS);
	assert_true(fx_src_lookup(f, &k, NULL));
	assert_true(fx_src_lookup(f, &ko, NULL));
	assert_int_equal(fx_src_count(f), 2);
	assert_int_equal(fx_counter(f, RW_REASON_MALFORMED, RW_VERDICT_PASS).packets, 0);
}

static void test_ipv6_ext_headers(void **state)
{
	struct fx *f = *state;
	struct frame_spec ok = { .family = 6, .src = "2001:db8:6::1", .l4 = FR_PROTO_TCP,
				 .tcp_flags = FR_TCP_SYN, .v6_hbh = true, .v6_frag = true,
				 .more_frags = true };
	struct frame_spec later = { .family = 6, .src = "2001:db8:6::2", .l4 = FR_PROTO_TCP,
				    .v6_hbh = true, .v6_frag = true, .frag_off = 100,
				    .payload = 4 };
	/* doff 4 behind both headers: malformed only if the walk reaches TCP,
	 * and then still charged to its source. */
	struct frame_spec bad = ok;
	uint8_t b1[FRAME_MAX], b2[FRAME_MAX], b3[FRAME_MAX];
	struct frame_layout lay;
	size_t l1, l2, l3;
	struct rw_src_key k = fx_key6("2001:db8:6::1", 64);
	struct rw_src_key kbad = fx_key6("2001:db8:7::1", 64);
	struct fx_counters s0, s1;

	bad.src = "2001:db8:7::1";
	bad.tcp_doff = 4;
	l1 = frame_build(b1, FRAME_MAX, &ok, &lay);
	assert_int_equal(lay.l4 - lay.l3, 40 + 16 + 8);
	l2 = frame_build(b2, FRAME_MAX, &later, NULL);
	l3 = frame_build(b3, FRAME_MAX, &bad, NULL);
	assert_true(l1 && l2 && l3);

	fx_set_config(f, 1, 3, 32, 64, 0);
	fx_snapshot(f, &s0);
	send_expect(f, b1, l1, PASS);
	send_expect(f, b2, l2, PASS); /* same /64, later fragment */
	send_expect(f, b1, l1, PASS);
	fx_snapshot(f, &s1);
	fx_assert_delta(&s0, &s1, RW_REASON_ADMITTED, RW_VERDICT_PASS, 3, 2 * l1 + l2);
	send_expect(f, b2, l2, DROP);
	assert_true(fx_src_lookup(f, &k, NULL));

	fx_snapshot(f, &s0);
	send_expect(f, b3, l3, PASS);
	fx_snapshot(f, &s1);
	fx_assert_delta(&s0, &s1, RW_REASON_MALFORMED, RW_VERDICT_PASS, 1, l3);
	assert_true(fx_src_lookup(f, &kbad, NULL));
	assert_int_equal(fx_src_count(f), 2);
}

/* ---- malformed and non-IP -------------------------------------------------- */

/* Address family of malformed case i (see bad_names). */
static int bad_family(unsigned int i)
{
	return (i < 10 || i == 15) ? 4 : 6;
}

/* Fills b with malformed case i from source src; returns its length. */
static size_t build_bad(int i, uint8_t *b, const char *src)
{
	struct frame_spec s = { .family = bad_family((unsigned int)i), .src = src,
				.l4 = FR_PROTO_UDP, .payload = 10 };
	struct frame_layout lay;
	size_t len;

	switch (i) {
	case 2:
		s.ihl = 4;
		break;
	case 5:
	case 6:
	case 11:
	case 12:
		s.l4 = FR_PROTO_TCP;
		s.payload = 0;
		s.tcp_doff = i == 6 ? 4 : i == 12 ? 3 : 5;
		break;
	case 7:
		s.ihl = 15;
		break;
	}
	len = frame_build(b, FRAME_MAX, &s, &lay);
	assert_true(len > 0);

	switch (i) {
	case 0: /* truncated Ethernet: 10 bytes */
		return 10;
	case 1: /* truncated IPv4 header */
		return lay.l3 + 12;
	case 2: /* IHL 4 */
		assert_int_equal(b[lay.l3], 0x44);
		return len;
	case 3: /* tot_len one past the frame */
		fr_put16(b, lay.l3 + 2, (uint16_t)(len - lay.l3 + 1));
		return len;
	case 4: /* tot_len shorter than the header */
		fr_put16(b, lay.l3 + 2, 19);
		return len;
	case 5: /* truncated TCP header, lengths consistent with the cut */
		fr_put16(b, lay.l3 + 2, 20 + 12);
		return lay.l4 + 12;
	case 6: /* TCP doff 4 */
		return len;
	case 7: /* IHL 15 in a frame without room for the options */
		fr_put16(b, lay.l3 + 2, 40);
		return lay.l3 + 40;
	case 8: /* truncated UDP header */
		fr_put16(b, lay.l3 + 2, 20 + 4);
		return lay.l4 + 4;
	case 9: /* 802.1Q type with no room for the tag */
		fr_put16(b, 12, FR_TPID_8021Q);
		return 14;
	case 10: /* truncated IPv6 header */
		return lay.l3 + 30;
	case 11: /* truncated TCP over IPv6 */
		fr_put16(b, lay.l3 + 4, 12);
		return lay.l4 + 12;
	case 12: /* TCP doff 3 over IPv6 */
		return len;
	case 13: /* IPv6 payload_len one past the frame */
		fr_put16(b, lay.l3 + 4, (uint16_t)(len - lay.l4 + 1));
		return len;
	case 14: /* truncated UDP over IPv6 */
		fr_put16(b, lay.l3 + 4, 4);
		return lay.l4 + 4;
	case 15: /* IPv4 EtherType, version 6 in the header */
		b[lay.l3] = (uint8_t)(0x60 | (b[lay.l3] & 0x0f));
		return len;
	case 16: /* IPv6 EtherType, version 4 in the header */
		b[lay.l3] = (uint8_t)(0x40 | (b[lay.l3] & 0x0f));
		return len;
	}
	fail();
	return 0;
}

static const char *const bad_names[] = {
	"eth_10_bytes", "ip4_hdr_truncated", "ip4_ihl_4", "ip4_tot_len_past_frame",
	"ip4_tot_len_below_hdr", "ip4_tcp_truncated", "ip4_tcp_doff_4", "ip4_ihl_15_truncated",
	"ip4_udp_truncated", "vlan_tag_truncated", "ip6_hdr_truncated", "ip6_tcp_truncated",
	"ip6_tcp_doff_3", "ip6_payload_len_past_frame", "ip6_udp_truncated",
	"ip4_version_6", "ip6_version_4",
};
#define N_BAD (sizeof(bad_names) / sizeof(bad_names[0]))

/*
 * Cases whose fixed IP header (20 bytes for IPv4, 40 for IPv6) is in the
 * frame: the source is known and gets charged, however broken the header.
 * Only frames cut before the source address stay sourceless.
 */
static const bool bad_has_source[] = {
	false, false, true, true, true, true, true, true,
	true, false, false, true, true, true, true,
	true, true,
};

static void test_malformed(void **state)
{
	struct fx *f = *state;
	const char *v4 = "198.18.9.9", *v6 = "2001:db8:9::9";
	struct rw_src_key kv4 = fx_key4(v4, 32), kv6 = fx_key6(v6, 64);
	const uint64_t interval = gcra_interval_ticks(1);
	uint64_t tat4 = 0, tat6 = 0, t = 0;
	unsigned int i, charged = 0, sources = 2;
	uint8_t b[FRAME_MAX];
	size_t len;
	int drop;

	assert_int_equal(sizeof(bad_has_source) / sizeof(bad_has_source[0]), N_BAD);
	/* Existing buckets for the victim sources, far from empty. */
	fx_set_config(f, 1, 1000, 32, 64, 0);
	send_expect(f, b, fx_udp4(b, v4), PASS);
	send_expect(f, b, fx_udp6(b, v6), PASS);
	assert_true(fx_src_lookup(f, &kv4, &tat4));
	assert_true(fx_src_lookup(f, &kv6, &tat6));

	for (drop = 0; drop <= 1; drop++) {
		fx_set_config(f, 1, 1000, 32, 64, (uint8_t)drop);
		for (i = 0; i < N_BAD; i++) {
			int fam = bad_family(i);
			/* Dropped packets take no token; passed ones with a source do. */
			bool charge = bad_has_source[i] && !drop;
			struct fx_counters s0, s1;
			char fresh[64];
			uint32_t want = drop ? DROP : PASS;
			struct rw_src_key kf;
			uint64_t *victim = fam == 4 ? &tat4 : &tat6;

			printf("# malformed %s, malformed_drop=%d\n", bad_names[i], drop);
			len = build_bad((int)i, b, fam == 4 ? v4 : v6);
			fx_snapshot(f, &s0);
			assert_int_equal(fx_run(f, b, len, 3), want);
			fx_snapshot(f, &s1);
			fx_assert_delta(&s0, &s1, RW_REASON_MALFORMED,
					drop ? RW_VERDICT_DROP : RW_VERDICT_PASS, 3, 3 * len);
			/* The victim's bucket moves by exactly three packets, or not at all. */
			if (charge)
				*victim += 3 * interval;
			assert_true(fx_src_lookup(f, &kv4, &t));
			assert_int_equal(t, tat4);
			assert_true(fx_src_lookup(f, &kv6, &t));
			assert_int_equal(t, tat6);
			charged += charge ? 3 : 0;

			/* From a new source: an entry appears only when it is charged. */
			if (fam == 4)
				snprintf(fresh, sizeof(fresh), "198.18.%d.%u", 10 + 10 * drop, i);
			else
				snprintf(fresh, sizeof(fresh), "2001:db8:%x:%x::1",
					 0x10 + 0x10 * drop, i);
			len = build_bad((int)i, b, fresh);
			assert_int_equal(fx_run(f, b, len, 1), want);
			kf = fam == 4 ? fx_key4(fresh, 32) : fx_key6(fresh, 64);
			assert_int_equal(fx_src_lookup(f, &kf, NULL), charge);
			sources += charge ? 1 : 0;
			assert_int_equal(fx_src_count(f), sources);
		}
	}
	assert_int_equal(charged, 3 * 13);
	assert_int_equal(fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).packets, 2);
	assert_int_equal(fx_counter(f, RW_REASON_MALFORMED, RW_VERDICT_PASS).packets, 4 * N_BAD);
	assert_int_equal(fx_counter(f, RW_REASON_MALFORMED, RW_VERDICT_DROP).packets, 4 * N_BAD);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_PKT, RW_VERDICT_DROP).packets, 0);
}

/* A source cannot send past its limit by breaking its transport header. */
static void test_malformed_over_limit(void **state)
{
	struct fx *f = *state;
	const char *src = "198.18.9.10", *src6 = "2001:db8:9:1::1";
	uint8_t b[FRAME_MAX], g[FRAME_MAX];
	size_t len, good;
	int j;

	fx_set_config(f, 1, 3, 32, 64, 0);
	for (j = 0; j < 2; j++) {
		len = build_bad(j ? 11 : 5, b, j ? src6 : src); /* truncated TCP */
		good = j ? fx_udp6(g, src6) : fx_udp4(g, src);
		send_expect(f, b, len, PASS);
		send_expect(f, g, good, PASS);
		send_expect(f, b, len, PASS);
		/* Burst of 3 spent, by two malformed packets and one good one. */
		send_expect(f, b, len, DROP);
		send_expect(f, g, good, DROP);
	}
	assert_int_equal(fx_counter(f, RW_REASON_MALFORMED, RW_VERDICT_PASS).packets, 4);
	assert_int_equal(fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).packets, 2);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_PKT, RW_VERDICT_DROP).packets, 4);
	assert_int_equal(fx_src_count(f), 2);
}

static void test_non_ip_arp(void **state)
{
	struct fx *f = *state;
	struct frame_spec arp = { .family = 0, .src = "198.18.11.1" };
	struct frame_spec arp_vlan = { .family = 0, .src = "198.18.11.1",
				       .vlan_tpid = { FR_TPID_8021Q } };
	uint8_t b1[FRAME_MAX], b2[FRAME_MAX];
	size_t l1 = frame_build(b1, FRAME_MAX, &arp, NULL);
	size_t l2 = frame_build(b2, FRAME_MAX, &arp_vlan, NULL);
	struct fx_counters s0, s1;
	int drop;

	assert_int_equal(l1, 14 + 28);
	assert_int_equal(l2, 18 + 28);
	for (drop = 0; drop <= 1; drop++) {
		/* Tight limit and drop-malformed on: neither applies to ARP. */
		fx_set_config(f, 1, 1, 32, 64, (uint8_t)drop);
		fx_snapshot(f, &s0);
		assert_int_equal(fx_run(f, b1, l1, 7), PASS);
		assert_int_equal(fx_run(f, b2, l2, 3), PASS);
		fx_snapshot(f, &s1);
		fx_assert_delta(&s0, &s1, RW_REASON_NON_IP, RW_VERDICT_PASS, 10, 7 * l1 + 3 * l2);
	}
	assert_int_equal(fx_src_count(f), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_under_limit),
		T(test_over_limit),
		T(test_refill),
		T(test_rate_decrease_applies),
		T(test_rate_increase_applies),
		T(test_v4_separate_per_32),
		T(test_v4_shared_per_24),
		T(test_v6_shared_per_64),
		T(test_v6_separate_per_128),
		T(test_vlan_and_qinq),
		T(test_triple_vlan_is_malformed),
		T(test_ipv4_options),
		T(test_ipv4_later_fragment),
		T(test_ipv6_ext_headers),
		T(test_malformed),
		T(test_malformed_over_limit),
		T(test_non_ip_arp),
	};

	(void)argc;
	if (fx_require_root(argv[0]))
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
