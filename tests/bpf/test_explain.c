// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * `client explain` against the program (BPF_PROG_TEST_RUN): in every
 * state that a check of the chain can refuse from, what explain() says of
 * the next packet (class, reason, verdict) must be what the program then
 * does with it, read back from the counter that moved. Each scenario also
 * asserts the reason it was built for, so explain and the program cannot
 * agree on a wrong answer. IPv4 and IPv6. retry_after_ms is checked in the
 * direction that time cannot falsify: after waiting it, the packet passes.
 */
#include "fixture.h"
#include "conns.h"
#include "explain.h"
#include "policy_maps.h"

#define PORT 8080
#define WEB 1 /* the first class of the policies below */

static const char *const srcs[] = { "198.18.30.1", "2001:db8:30::1" };
static const char *const peers[] = { "198.18.30.2", "2001:db8:31::2" };

static void maps_of(struct fx *f, struct explain_maps *m)
{
	policy_maps_of_skeleton(f->skel, &m->policy);
	conn_maps_of_skeleton(f->skel, &m->conns);
	m->sources_fd = f->src_fd;
	m->global_fd = bpf_map__fd(f->skel->maps.rw_global);
}

static size_t frame_of(uint8_t *b, const char *src, bool udp, bool syn)
{
	return udp ? fx_udp(b, src, PORT) : fx_tcp(b, src, PORT, syn ? FR_TCP_SYN : FR_TCP_ACK);
}

/*
 * Explains the next packet from `src`, sends it once, and asserts that the
 * one counter that moved is the class, reason and verdict explain gave,
 * and that this is `want_reason`. Returns explain's answer.
 */
static struct explain_result probe(struct fx *f, const char *src, bool udp, bool syn,
				   uint32_t want_reason)
{
	struct explain_packet pkt = { .proto = udp ? RW_PROTO_UDP : RW_PROTO_TCP, .port = PORT,
				      .syn = syn };
	struct counter_table *t0 = malloc(sizeof(*t0)), *t1 = malloc(sizeof(*t1));
	struct explain_result r;
	struct explain_maps m;
	uint8_t b[FRAME_MAX];
	size_t n = frame_of(b, src, udp, syn);
	int moved = 0;

	assert_non_null(t0);
	assert_non_null(t1);
	pkt.family = strchr(src, ':') ? 6 : 4;
	assert_int_equal(inet_pton(pkt.family == 4 ? AF_INET : AF_INET6, src, pkt.addr), 1);
	maps_of(f, &m);
	assert_int_equal(explain(&m, &pkt, fx_now_ns(), &r), 0);
	fx_table_read(f, t0);
	fx_run(f, b, n, 1);
	fx_table_read(f, t1);
	for (uint32_t c = 0; c < RW_MAX_CLASSES; c++)
		for (uint32_t rs = 0; rs < RW_REASON_MAX; rs++)
			for (uint32_t v = 0; v < RW_VERDICT_MAX; v++) {
				uint64_t d = fx_moved(t0, t1, c, rs, v);

				if (!d)
					continue;
				moved++;
				assert_int_equal(d, 1);
				if (c != r.class_id || rs != r.reason || v != r.verdict)
					print_error("%s: program: class %u %s %s; explain: class %u %s %s\n",
						    src, c, reason_name(rs), verdict_name(v), r.class_id,
						    reason_name(r.reason), verdict_name(r.verdict));
				assert_int_equal(c, r.class_id);
				assert_int_equal(rs, r.reason);
				assert_int_equal(v, r.verdict);
			}
	assert_int_equal(moved, 1);
	assert_int_equal(r.reason, want_reason);
	free(t0);
	free(t1);
	return r;
}

/* Sends `n` packets to spend tokens; they must all pass. */
static void spend(struct fx *f, const char *src, bool udp, bool syn, unsigned int n)
{
	uint8_t b[FRAME_MAX];
	size_t len = frame_of(b, src, udp, syn);

	assert_int_equal(fx_send(f, b, len, n), n);
}

static void test_fresh_source_is_admitted(void **state)
{
	struct fx *f = *state;

	fx_policy(f, "classes:\n  - name: web\n    ports: [tcp/8080]\n"
		     "    source: { packets: { rate: 4/m, burst: 2 }, syn: { rate: 4/m, burst: 1 } }\n");
	for (size_t i = 0; i < 2; i++) {
		struct explain_result r = probe(f, srcs[i], false, true, RW_REASON_ADMITTED);

		assert_int_equal(r.class_id, WEB);
		assert_false(r.known_source);
		assert_int_equal(r.retry_after_ms, 0);
	}
}

static void test_source_buckets(void **state)
{
	struct fx *f = *state;

	fx_policy(f, "classes:\n  - name: web\n    ports: [tcp/8080, udp/8080]\n"
		     "    source: { packets: { rate: 4/m, burst: 3 }, syn: { rate: 4/m, burst: 1 } }\n");
	for (size_t i = 0; i < 2; i++) {
		struct explain_result r;

		spend(f, srcs[i], false, true, 1);
		r = probe(f, srcs[i], false, true, RW_REASON_SRC_SYN);
		/* one SYN per 15 s: the wait is most of that */
		assert_true(r.retry_after_ms > 14000 && r.retry_after_ms <= 15000);
		spend(f, srcs[i], true, false, 2);
		probe(f, srcs[i], true, false, RW_REASON_SRC_PKT);
		assert_true(probe(f, srcs[i], false, false, RW_REASON_SRC_PKT).known_source);
	}
}

static void test_tenant_and_class_buckets(void **state)
{
	struct fx *f = *state;

	fx_policy(f, "classes:\n  - name: web\n    ports: [tcp/8080, udp/8080]\n"
		     "    global: { packets: { rate: 4/m, burst: 4 } }\n"
		     "tenants:\n  - name: t\n    cidrs: [198.18.30.0/24, 2001:db8:30::/48]\n"
		     "    packets: { rate: 4/m, burst: 2 }\n"
		     "    classes: { web: { syn: { rate: 4/m, burst: 1 } } }\n");
	/* The tenant's SYN bucket in web, then its packet bucket; a peer outside
	 * the tenant then meets the class bucket that both spent from. */
	spend(f, srcs[0], false, true, 1);
	probe(f, srcs[0], false, true, RW_REASON_TENANT_SYN);
	spend(f, srcs[1], true, false, 1);
	assert_string_equal(probe(f, srcs[1], true, false, RW_REASON_TENANT_PKT).tenant_name, "t");
	spend(f, "198.18.40.2", true, false, 2);
	assert_int_equal(probe(f, "2001:db8:40::2", true, false, RW_REASON_CLASS_PKT).tenant_id, 0);
}

static void test_lists_and_shed(void **state)
{
	struct fx *f = *state;

	fx_policy(f, "classes:\n  - name: web\n    ports: [tcp/8080]\n    mode: shed\n"
		     "allow: [198.18.30.0/24, 2001:db8:30::/48]\n"
		     "deny: [198.18.30.2/32, 2001:db8:31::/48]\n");
	for (size_t i = 0; i < 2; i++) {
		struct explain_result r;

		probe(f, srcs[i], false, false, RW_REASON_ALLOW);
		r = probe(f, peers[i], false, false, RW_REASON_DENY);
		assert_int_equal(r.retry_after_ms, -1);
		assert_int_equal(probe(f, i ? "2001:db8:32::1" : "198.18.31.1", false, true,
				       RW_REASON_SHED).retry_after_ms, -1);
	}
}

static void set_conns(struct fx *f, const char *src, uint32_t open, uint64_t class_open)
{
	struct rw_src_key k = strchr(src, ':') ? fx_key6(src, RW_DEFAULT_PREFIX6)
					       : fx_key4(src, RW_DEFAULT_PREFIX4);
	struct rw_conn_entry e;
	struct rw_class_conns cc = { .open = class_open };
	uint32_t cls = WEB;

	k.class_id = WEB;
	e.key = k;
	e.pad = 0;
	e.word = rw_conn_word(0x1234, open, 0);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(f->skel->maps.rw_conns), &k, &e, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(f->skel->maps.rw_class_conns), &cls, &cc,
					     BPF_ANY), 0);
}

static void test_connection_caps(void **state)
{
	struct fx *f = *state;

	fx_policy(f, "classes:\n  - name: web\n    ports: [tcp/8080]\n"
		     "    source: { connections: 2 }\n    global: { connections: 5 }\n");
	for (size_t i = 0; i < 2; i++) {
		set_conns(f, srcs[i], 1, 4);
		probe(f, srcs[i], false, true, RW_REASON_ADMITTED);
		set_conns(f, srcs[i], 2, 4);
		assert_int_equal(probe(f, srcs[i], false, true, RW_REASON_SRC_CONN).retry_after_ms, -1);
		set_conns(f, srcs[i], 1, 5);
		probe(f, srcs[i], false, true, RW_REASON_CLASS_CONN);
		/* Not a SYN: caps are never asked. */
		probe(f, srcs[i], false, false, RW_REASON_ADMITTED);
	}
}

static void test_observe_would_drop(void **state)
{
	struct fx *f = *state;

	fx_policy(f, "classes:\n  - name: web\n    ports: [udp/8080]\n    mode: observe\n"
		     "    source: { packets: { rate: 4/m, burst: 1 } }\n");
	for (size_t i = 0; i < 2; i++) {
		spend(f, srcs[i], true, false, 1);
		assert_int_equal(probe(f, srcs[i], true, false, RW_REASON_SRC_PKT).verdict,
				 RW_VERDICT_WOULD_DROP);
	}
}

static void test_new_source_budget(void **state)
{
	struct fx *f = *state;
	struct rw_config c;
	uint32_t zero = 0;

	fx_policy(f, "default:\n  source: { packets: { rate: 100/s, burst: 100 } }\n");
	assert_int_equal(bpf_map_lookup_elem(f->cfg_fd, &zero, &c), 0);
	c.new_limit = rw_limit_pack(gcra_interval_ticks_per(4, 60 * RW_NS_PER_SEC), 1);
	fx_write_config(f, &c);
	spend(f, srcs[0], true, false, 1); /* the one new source the budget admits */
	probe(f, srcs[1], true, false, RW_REASON_SRC_NEW);
	assert_true(probe(f, srcs[0], true, false, RW_REASON_ADMITTED).known_source);
}

/* After waiting retry_after_ms the refused packet passes. */
static void test_retry_after_admits(void **state)
{
	struct fx *f = *state;

	fx_policy(f, "classes:\n  - name: web\n    ports: [udp/8080]\n"
		     "    source: { packets: { rate: 20/s, burst: 1 } }\n");
	for (size_t i = 0; i < 2; i++) {
		struct explain_result r;

		spend(f, srcs[i], true, false, 1);
		r = probe(f, srcs[i], true, false, RW_REASON_SRC_PKT);
		assert_true(r.retry_after_ms > 0 && r.retry_after_ms <= 50);
		fx_sleep_ns((uint64_t)r.retry_after_ms * 1000000);
		assert_int_equal(probe(f, srcs[i], true, false, RW_REASON_ADMITTED).retry_after_ms, 0);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_source_is_admitted, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_source_buckets, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tenant_and_class_buckets, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lists_and_shed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_connection_caps, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_observe_would_drop, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_new_source_budget, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_admits, fx_setup, fx_teardown),
	};

	(void)argc;
	if (fx_require_root(argv[0]))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
