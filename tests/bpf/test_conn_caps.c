// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The XDP side of connection caps (BPF_PROG_TEST_RUN), with the counts
 * sockops would keep written into the maps by hand: a SYN is refused at
 * exactly the cap and admitted one below it, per source and per class;
 * only SYNs are judged; the cap comes after shed and before the source's
 * SYN bucket; observe counts would_drop; entries met mid-deletion or
 * reused for another key hold nothing; IPv6 sources share the count of
 * their /64. IPv4 and IPv6.
 */
#include "fixture.h"

#define API 1 /* class ids: the file's classes in order, from 1 */
#define PORT 8080

static const char *const srcs[] = { "198.18.5.1", "2001:db8:5::1" };
static const char *const others[] = { "198.18.5.2", "2001:db8:6::1" };

static struct rw_src_key src_key_of(const char *src, uint32_t class_id)
{
	struct rw_src_key k = strchr(src, ':') ? fx_key6(src, RW_DEFAULT_PREFIX6)
					       : fx_key4(src, RW_DEFAULT_PREFIX4);

	k.class_id = class_id;
	return k;
}

/* Writes the entry of `src` in the count table; `holder` is the key the
 * entry itself carries (another one when its memory went to another key). */
static void set_src_entry(struct fx *f, const char *src, uint32_t class_id, uint64_t word,
			  const char *holder)
{
	struct rw_src_key k = src_key_of(src, class_id);
	struct rw_conn_entry e = { .key = src_key_of(holder, class_id), .word = word };

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(f->skel->maps.rw_conns), &k, &e,
					     BPF_ANY), 0);
}

static void set_src_open(struct fx *f, const char *src, uint32_t class_id, uint32_t open)
{
	set_src_entry(f, src, class_id, rw_conn_word(0x5eed, open, 0), src);
}

static void set_class_open(struct fx *f, uint32_t class_id, uint64_t open)
{
	struct rw_class_conns cc = { .open = open };

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(f->skel->maps.rw_class_conns),
					     &class_id, &cc, BPF_ANY), 0);
}

/* Runs one frame once; true when it passed. */
static bool passes(struct fx *f, const char *src, uint16_t dport, uint8_t flags)
{
	uint8_t b[FRAME_MAX];
	size_t n = fx_tcp(b, src, dport, flags);

	return fx_send(f, b, n, 1) == 1;
}

static const char *const src_cap_policy = "classes:\n"
					  "  - name: api\n"
					  "    ports: [tcp/8080]\n"
					  "    source: { connections: 3 }\n";

/* One below the cap a SYN passes; at it the SYN is dropped; everything
 * that is not a new connection passes whatever the count. */
static void test_source_cap_is_exact(void **state)
{
	struct fx *f = *state;

	fx_policy(f, src_cap_policy);
	for (size_t i = 0; i < 2; i++) {
		struct counter_table t0, t1;

		fx_table_read(f, &t0);
		set_src_open(f, srcs[i], API, 2);
		assert_true(passes(f, srcs[i], PORT, FR_TCP_SYN));
		set_src_open(f, srcs[i], API, 3);
		assert_false(passes(f, srcs[i], PORT, FR_TCP_SYN));
		assert_false(passes(f, srcs[i], PORT, FR_TCP_SYN));
		assert_true(passes(f, srcs[i], PORT, FR_TCP_ACK));
		assert_true(passes(f, srcs[i], PORT, FR_TCP_SYN | FR_TCP_ACK));
		assert_true(passes(f, srcs[i], PORT, FR_TCP_FIN | FR_TCP_ACK));
		set_src_open(f, srcs[i], API, 7); /* over the cap (the SYN race) */
		assert_false(passes(f, srcs[i], PORT, FR_TCP_SYN));
		fx_table_read(f, &t1);
		assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_SRC_CONN, RW_VERDICT_DROP), 3);
		assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_ADMITTED, RW_VERDICT_PASS), 4);
		assert_int_equal(fx_moved_total(&t0, &t1), 7);
	}
}

/* The count is per source and per class: another source, and the same
 * source on a port of another class, are not held back by it. */
static void test_source_cap_is_per_source_and_class(void **state)
{
	struct fx *f = *state;

	fx_policy(f, "classes:\n"
		     "  - name: api\n"
		     "    ports: [tcp/8080]\n"
		     "    source: { connections: 3 }\n"
		     "  - name: bulk\n"
		     "    ports: [tcp/9000]\n"
		     "    source: { connections: 3 }\n");
	for (size_t i = 0; i < 2; i++) {
		struct counter_table t0, t1;

		fx_table_read(f, &t0);
		set_src_open(f, srcs[i], API, 3);
		assert_false(passes(f, srcs[i], PORT, FR_TCP_SYN));
		assert_true(passes(f, others[i], PORT, FR_TCP_SYN));
		assert_true(passes(f, srcs[i], 9000, FR_TCP_SYN));
		assert_true(passes(f, srcs[i], 443, FR_TCP_SYN)); /* default class: no cap */
		fx_table_read(f, &t1);
		assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_SRC_CONN, RW_VERDICT_DROP), 1);
		assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_ADMITTED, RW_VERDICT_PASS), 1);
		assert_int_equal(fx_moved(&t0, &t1, 2, RW_REASON_ADMITTED, RW_VERDICT_PASS), 1);
		assert_int_equal(fx_moved(&t0, &t1, 0, RW_REASON_ADMITTED, RW_VERDICT_PASS), 1);
	}
}

/* IPv6 sources are keyed by their /64, so the count is the prefix's. */
static void test_ipv6_cap_covers_the_prefix(void **state)
{
	struct fx *f = *state;

	fx_policy(f, src_cap_policy);
	set_src_open(f, "2001:db8:5::1", API, 3);
	assert_false(passes(f, "2001:db8:5::ffff", PORT, FR_TCP_SYN));
	assert_false(passes(f, "2001:db8:5:0:1234::9", PORT, FR_TCP_SYN));
	assert_true(passes(f, "2001:db8:5:1::1", PORT, FR_TCP_SYN));
}

/* The class-wide cap counts every source together. */
static void test_class_cap_is_exact(void **state)
{
	struct fx *f = *state;

	fx_policy(f, "classes:\n"
		     "  - name: api\n"
		     "    ports: [tcp/8080]\n"
		     "    global: { connections: 5 }\n");
	for (size_t i = 0; i < 2; i++) {
		struct counter_table t0, t1;

		fx_table_read(f, &t0);
		set_class_open(f, API, 4);
		assert_true(passes(f, srcs[i], PORT, FR_TCP_SYN));
		set_class_open(f, API, 5);
		assert_false(passes(f, srcs[i], PORT, FR_TCP_SYN));
		assert_false(passes(f, others[i], PORT, FR_TCP_SYN));
		assert_true(passes(f, others[i], PORT, FR_TCP_ACK));
		assert_true(passes(f, srcs[i], 443, FR_TCP_SYN));
		fx_table_read(f, &t1);
		assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_CLASS_CONN, RW_VERDICT_DROP), 2);
		assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_ADMITTED, RW_VERDICT_PASS), 2);
		assert_int_equal(fx_moved(&t0, &t1, 0, RW_REASON_ADMITTED, RW_VERDICT_PASS), 1);
		assert_int_equal(fx_moved_total(&t0, &t1), 5);
	}
}

/* Both caps: the source's is checked first. */
static void test_source_cap_before_class_cap(void **state)
{
	struct fx *f = *state;
	struct counter_table t0, t1;

	fx_policy(f, "classes:\n"
		     "  - name: api\n"
		     "    ports: [tcp/8080]\n"
		     "    source: { connections: 2 }\n"
		     "    global: { connections: 2 }\n");
	fx_table_read(f, &t0);
	set_src_open(f, srcs[0], API, 2);
	set_class_open(f, API, 2);
	assert_false(passes(f, srcs[0], PORT, FR_TCP_SYN));
	assert_false(passes(f, others[0], PORT, FR_TCP_SYN));
	fx_table_read(f, &t1);
	assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_SRC_CONN, RW_VERDICT_DROP), 1);
	assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_CLASS_CONN, RW_VERDICT_DROP), 1);
}

/*
 * DESIGN order: shed, then the caps, then the source's SYN bucket. A SYN
 * refused by its cap spends no SYN token: once the count drops, the one
 * token of the bucket is still there.
 */
static void test_cap_sits_between_shed_and_syn_bucket(void **state)
{
	struct fx *f = *state;
	struct counter_table t0, t1;

	fx_policy(f, "classes:\n"
		     "  - name: api\n"
		     "    ports: [tcp/8080]\n"
		     "    source:\n"
		     "      connections: 1\n"
		     "      syn: { rate: 4/m, burst: 1 }\n");
	fx_table_read(f, &t0);
	set_src_open(f, srcs[0], API, 1);
	fx_shed_all(f, true);
	assert_false(passes(f, srcs[0], PORT, FR_TCP_SYN));
	fx_shed_all(f, false);
	assert_false(passes(f, srcs[0], PORT, FR_TCP_SYN));
	assert_false(passes(f, srcs[0], PORT, FR_TCP_SYN));
	set_src_open(f, srcs[0], API, 0);
	assert_true(passes(f, srcs[0], PORT, FR_TCP_SYN));
	assert_false(passes(f, srcs[0], PORT, FR_TCP_SYN));
	fx_table_read(f, &t1);
	assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_SHED, RW_VERDICT_DROP), 1);
	assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_SRC_CONN, RW_VERDICT_DROP), 2);
	assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_ADMITTED, RW_VERDICT_PASS), 1);
	assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_SRC_SYN, RW_VERDICT_DROP), 1);
	assert_int_equal(fx_moved_total(&t0, &t1), 5);
}

/* Observe: the refusal is counted as would_drop and the SYN passes. */
static void test_observe_counts_would_drop(void **state)
{
	struct fx *f = *state;
	struct counter_table t0, t1;

	fx_policy(f, "classes:\n"
		     "  - name: api\n"
		     "    ports: [tcp/8080]\n"
		     "    mode: observe\n"
		     "    source: { connections: 3 }\n"
		     "    global: { connections: 10 }\n");
	fx_table_read(f, &t0);
	set_src_open(f, srcs[1], API, 3);
	assert_true(passes(f, srcs[1], PORT, FR_TCP_SYN));
	set_src_open(f, srcs[1], API, 0);
	set_class_open(f, API, 10);
	assert_true(passes(f, srcs[1], PORT, FR_TCP_SYN));
	fx_table_read(f, &t1);
	assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_SRC_CONN, RW_VERDICT_WOULD_DROP), 1);
	assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_CLASS_CONN, RW_VERDICT_WOULD_DROP), 1);
	assert_int_equal(fx_moved_total(&t0, &t1), 2);
}

/*
 * The race the README bounds: a connection is counted when its handshake
 * completes, so SYNs arriving meanwhile are judged against the same count.
 * One below the cap, every SYN passes the cap check; the source's SYN
 * bucket is what stops them: at most its burst get through.
 */
static void test_syns_in_flight_are_bounded_by_the_syn_bucket(void **state)
{
	struct fx *f = *state;
	uint8_t b[FRAME_MAX];
	struct counter_table t0, t1;
	size_t n;

	fx_policy(f, "classes:\n"
		     "  - name: api\n"
		     "    ports: [tcp/8080]\n"
		     "    source:\n"
		     "      connections: 8\n"
		     "      syn: { rate: 4/m, burst: 4 }\n");
	fx_table_read(f, &t0);
	set_src_open(f, srcs[0], API, 7);
	n = fx_tcp(b, srcs[0], PORT, FR_TCP_SYN);
	/* 4 in flight at once: established could reach 7 + 4 = cap - 1 + burst. */
	assert_int_equal(fx_send(f, b, n, 20), 4);
	fx_table_read(f, &t1);
	assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_SRC_SYN, RW_VERDICT_DROP), 16);
	assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_SRC_CONN, RW_VERDICT_DROP), 0);
}

/*
 * Entries met mid-protocol hold nothing: one marked gone (between its
 * last close and its delete), and one whose memory went to another key
 * since the lookup (it carries that key, not ours).
 */
static void test_entries_mid_protocol_hold_nothing(void **state)
{
	struct fx *f = *state;

	fx_policy(f, src_cap_policy);
	set_src_entry(f, srcs[0], API, rw_conn_word(7, 0, 1), srcs[0]);
	assert_true(passes(f, srcs[0], PORT, FR_TCP_SYN));
	set_src_entry(f, srcs[0], API, rw_conn_word(7, 5, 1), srcs[0]);
	assert_true(passes(f, srcs[0], PORT, FR_TCP_SYN));
	set_src_entry(f, srcs[0], API, rw_conn_word(7, 5, 0), others[0]);
	assert_true(passes(f, srcs[0], PORT, FR_TCP_SYN));
	set_src_entry(f, srcs[0], API, rw_conn_word(7, 5, 0), srcs[0]);
	assert_false(passes(f, srcs[0], PORT, FR_TCP_SYN));
}

/* A policy without caps never refuses for connections, whatever the counts. */
static void test_no_cap_no_refusal(void **state)
{
	struct fx *f = *state;

	fx_policy(f, "classes:\n"
		     "  - name: api\n"
		     "    ports: [tcp/8080]\n");
	set_src_open(f, srcs[0], API, 1000);
	set_class_open(f, API, 1000);
	assert_true(passes(f, srcs[0], PORT, FR_TCP_SYN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_source_cap_is_exact, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_source_cap_is_per_source_and_class, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_cap_covers_the_prefix, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_class_cap_is_exact, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_source_cap_before_class_cap, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_cap_sits_between_shed_and_syn_bucket,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_observe_counts_would_drop, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_syns_in_flight_are_bounded_by_the_syn_bucket,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_entries_mid_protocol_hold_nothing, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_cap_no_refusal, fx_setup, fx_teardown),
	};

	if (fx_require_root("bpf_conn_caps"))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
