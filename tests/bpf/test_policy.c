// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The policy's checks through the real program (BPF_PROG_TEST_RUN), with
 * policies written in YAML and installed the way `policy apply` does:
 * every reason, the order of the checks (a refusal spends nothing further
 * down), observe against enforce on one packet sequence, shedding, allow
 * and deny precedence, port classes, and the slot switch. IPv4 and IPv6.
 *
 * Rates are 4/m (one token per 15 s) unless a test is about refill, so
 * that nothing refills while a test runs, however slow the machine.
 */
#include "fixture.h"

#define WEB 1 /* class ids: the file's classes in order, from 1 */
#define API 2

struct fam {
	const char *name;
	const char *suffix;              /* of class and tenant names in its policies */
	const char *tenant_a, *tenant_b; /* two sources of tenant "team" */
	const char *other;               /* a source of no tenant */
	const char *other2;
};

static const struct fam fams[] = {
	{ "IPv4", "", "198.18.7.1", "198.18.7.2", "198.18.100.1", "198.18.100.2" },
	{ "IPv6", "6", "2001:db8:7::1", "2001:db8:7:1::2", "2001:db8:100::1", "2001:db8:101::1" },
};

/* "198.18.100.N" or "2001:db8:100:N::1": a distinct source per i. */
static void nth_source(const struct fam *fm, unsigned int i, char *buf, size_t len)
{
	if (fm == &fams[0])
		snprintf(buf, len, "198.18.100.%u", 10 + i);
	else
		snprintf(buf, len, "2001:db8:100:%x::1", 10 + i);
}

/*
 * Installs `fmt` with each %1$s replaced by the family's name suffix. The
 * second family's policy thus renames its classes and tenants, and renamed
 * ids start with full shared buckets: both families' runs begin alike.
 */
static void policy_for_family(struct fx *f, const struct fam *fm, const char *fmt)
{
	char yaml[1024];

	assert_true(snprintf(yaml, sizeof(yaml), fmt, fm->suffix) < (int)sizeof(yaml));
	fx_policy(f, yaml);
}

/* A SYN flood from one source stops at its new-connection bucket; the
 * same source's established flow (ACKs) keeps passing. */
static void test_syn_flood_stops_at_source_syn(void **state)
{
	struct fx *f = *state;
	uint8_t b[FRAME_MAX];

	fx_policy(f, "classes:\n"
		     "  - name: web\n"
		     "    ports: [tcp/443]\n"
		     "    source:\n"
		     "      syn: { rate: 4/m, burst: 3 }\n");
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct counter_table t0, t1;
		size_t n;

		fx_table_read(f, &t0);
		n = fx_tcp(b, fm->other, 443, FR_TCP_SYN);
		assert_int_equal(fx_send(f, b, n, 10), 3);
		n = fx_tcp(b, fm->other, 443, FR_TCP_ACK);
		assert_int_equal(fx_send(f, b, n, 20), 20);
		n = fx_tcp(b, fm->other, 443, FR_TCP_SYN | FR_TCP_ACK);
		assert_int_equal(fx_send(f, b, n, 5), 5); /* SYN-ACK is not a new connection */
		fx_table_read(f, &t1);
		assert_int_equal(fx_moved(&t0, &t1, WEB, RW_REASON_ADMITTED, RW_VERDICT_PASS), 28);
		assert_int_equal(fx_moved(&t0, &t1, WEB, RW_REASON_SRC_SYN, RW_VERDICT_DROP), 7);
		assert_int_equal(fx_moved_total(&t0, &t1), 35);
	}
}

/* Two sources of one tenant share its packet bucket; others are untouched. */
static void test_tenant_bucket_is_shared(void **state)
{
	struct fx *f = *state;
	uint8_t b[FRAME_MAX];

	fx_policy(f, "tenants:\n"
		     "  - name: team\n"
		     "    cidrs: [198.18.7.0/24]\n"
		     "    packets: { rate: 4/m, burst: 10 }\n"
		     "  - name: team6\n"
		     "    cidrs: [2001:db8:7::/48]\n"
		     "    packets: { rate: 4/m, burst: 10 }\n");
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct counter_table t0, t1;
		size_t n;

		fx_table_read(f, &t0);
		n = fx_udp(b, fm->tenant_a, 9000);
		assert_int_equal(fx_send(f, b, n, 6), 6);
		n = fx_udp(b, fm->tenant_b, 9000);
		assert_int_equal(fx_send(f, b, n, 6), 4);
		n = fx_udp(b, fm->other, 9000);
		assert_int_equal(fx_send(f, b, n, 30), 30);
		fx_table_read(f, &t1);
		assert_int_equal(fx_moved(&t0, &t1, 0, RW_REASON_TENANT_PKT, RW_VERDICT_DROP), 2);
		assert_int_equal(fx_moved(&t0, &t1, 0, RW_REASON_ADMITTED, RW_VERDICT_PASS), 40);
		assert_int_equal(fx_moved_total(&t0, &t1), 42);
	}
}

/* Many sources, each well under its own bucket, meet the class-wide one. */
static void test_class_bucket_stops_many_sources(void **state)
{
	struct fx *f = *state;
	uint8_t b[FRAME_MAX];

	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct counter_table t0, t1;
		unsigned int passed = 0;
		char src[64];

		policy_for_family(f, fm,
				  "classes:\n"
				  "  - name: api%1$s\n"
				  "    ports: [udp/8000-8099]\n"
				  "    source:\n"
				  "      packets: { rate: 4/m, burst: 5 }\n"
				  "    global:\n"
				  "      packets: { rate: 4/m, burst: 20 }\n");
		fx_table_read(f, &t0);
		for (unsigned int s = 0; s < 10; s++) {
			size_t n;

			nth_source(fm, s, src, sizeof(src));
			n = fx_udp(b, src, (uint16_t)(8000 + s * 11));
			passed += fx_send(f, b, n, 3);
		}
		fx_table_read(f, &t1);
		assert_int_equal(passed, 20);
		assert_int_equal(fx_moved(&t0, &t1, 1, RW_REASON_CLASS_PKT, RW_VERDICT_DROP), 10);
		assert_int_equal(fx_moved(&t0, &t1, 1, RW_REASON_SRC_PKT, RW_VERDICT_DROP), 0);
		assert_int_equal(fx_moved_total(&t0, &t1), 30);
	}
}

/* The class-wide new-connection bucket, and that a tenant's refusal
 * spends none of it: the checks stop at the first refusal. */
static void test_class_syn_after_tenant_syn(void **state)
{
	struct fx *f = *state;
	uint8_t b[FRAME_MAX];

	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct counter_table t0, t1;
		size_t n;

		policy_for_family(f, fm,
				  "classes:\n"
				  "  - name: web%1$s\n"
				  "    ports: [tcp/443]\n"
				  "    global:\n"
				  "      syn: { rate: 4/m, burst: 5 }\n"
				  "tenants:\n"
				  "  - name: team%1$s\n"
				  "    cidrs: [198.18.7.0/24, 2001:db8:7::/48]\n"
				  "    syn: { rate: 4/m, burst: 3 }\n");
		fx_table_read(f, &t0);
		n = fx_tcp(b, fm->tenant_a, 443, FR_TCP_SYN);
		assert_int_equal(fx_send(f, b, n, 5), 3);
		n = fx_tcp(b, fm->other, 443, FR_TCP_SYN);
		assert_int_equal(fx_send(f, b, n, 3), 2);
		n = fx_tcp(b, fm->other, 443, FR_TCP_ACK);
		assert_int_equal(fx_send(f, b, n, 10), 10); /* no packet bucket */
		fx_table_read(f, &t1);
		assert_int_equal(fx_moved(&t0, &t1, WEB, RW_REASON_TENANT_SYN, RW_VERDICT_DROP), 2);
		assert_int_equal(fx_moved(&t0, &t1, WEB, RW_REASON_CLASS_SYN, RW_VERDICT_DROP), 1);
		assert_int_equal(fx_moved(&t0, &t1, WEB, RW_REASON_ADMITTED, RW_VERDICT_PASS), 15);
		assert_int_equal(fx_moved_total(&t0, &t1), 18);
	}
}

/* A tenant's bucket in one class comes before its aggregate, and a
 * refusal there spends nothing of the aggregate. */
static void test_tenant_class_bucket_before_aggregate(void **state)
{
	struct fx *f = *state;
	uint8_t b[FRAME_MAX];

	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct counter_table t0, t1;
		size_t n;

		policy_for_family(f, fm,
				  "classes:\n"
				  "  - name: web%1$s\n"
				  "    ports: [udp/443]\n"
				  "tenants:\n"
				  "  - name: team%1$s\n"
				  "    cidrs: [198.18.7.0/24, 2001:db8:7::/48]\n"
				  "    packets: { rate: 4/m, burst: 10 }\n"
				  "    classes:\n"
				  "      web%1$s:\n"
				  "        packets: { rate: 4/m, burst: 4 }\n");
		fx_table_read(f, &t0);
		n = fx_udp(b, fm->tenant_a, 443);
		assert_int_equal(fx_send(f, b, n, 6), 4);
		n = fx_udp(b, fm->tenant_b, 53); /* default class: the aggregate's 6 left */
		assert_int_equal(fx_send(f, b, n, 8), 6);
		fx_table_read(f, &t1);
		assert_int_equal(fx_moved(&t0, &t1, WEB, RW_REASON_TENANT_PKT, RW_VERDICT_DROP), 2);
		assert_int_equal(fx_moved(&t0, &t1, 0, RW_REASON_TENANT_PKT, RW_VERDICT_DROP), 2);
		assert_int_equal(fx_moved_total(&t0, &t1), 14);
	}
}

/*
 * One packet sequence that meets src_syn, src_pkt and tenant_pkt, judged
 * by `mode`. Enforce: the exact count of each reason. Observe: the same
 * counts as would_drop, and every packet passes.
 */
static const char *chain_policy(const char *mode)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
		 "classes:\n"
		 "  - name: web\n"
		 "    ports: [tcp/443]\n"
		 "    mode: %s\n"
		 "    source:\n"
		 "      syn: { rate: 4/m, burst: 3 }\n"
		 "      packets: { rate: 4/m, burst: 50 }\n"
		 "tenants:\n"
		 "  - name: team\n"
		 "    cidrs: [198.18.7.0/24, 2001:db8:7::/48]\n"
		 "    packets: { rate: 4/m, burst: 30 }\n",
		 mode);
	return buf;
}

static void run_chain(struct fx *f, const struct fam *fm, unsigned int *passed)
{
	uint8_t b[FRAME_MAX];
	size_t n;

	/* 3 SYNs pass src_syn (spending 3 packet and 3 tenant tokens), 7 don't;
	 * of 60 ACKs, 27 take the tenant's last tokens, 20 more pass the source
	 * bucket but not the tenant's, 13 find the source bucket empty. */
	n = fx_tcp(b, fm->tenant_a, 443, FR_TCP_SYN);
	*passed += fx_send(f, b, n, 10);
	n = fx_tcp(b, fm->tenant_a, 443, FR_TCP_ACK);
	*passed += fx_send(f, b, n, 60);
}

static void test_observe_counts_what_enforce_drops(void **state)
{
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		static const uint32_t reasons[] = { RW_REASON_SRC_SYN, RW_REASON_SRC_PKT,
						    RW_REASON_TENANT_PKT };
		static const uint64_t want[] = { 7, 13, 20 };
		struct fx enforce, observe;
		struct counter_table e0, e1, o0, o1;
		unsigned int e_pass = 0, o_pass = 0;

		assert_int_equal(fx_open(&enforce), 0);
		assert_int_equal(fx_open(&observe), 0);
		fx_policy(&enforce, chain_policy("enforce"));
		fx_policy(&observe, chain_policy("observe"));
		fx_table_read(&enforce, &e0);
		fx_table_read(&observe, &o0);
		run_chain(&enforce, &fams[i], &e_pass);
		run_chain(&observe, &fams[i], &o_pass);
		fx_table_read(&enforce, &e1);
		fx_table_read(&observe, &o1);

		assert_int_equal(e_pass, 30);
		assert_int_equal(o_pass, 70);
		for (size_t r = 0; r < 3; r++) {
			assert_int_equal(fx_moved(&e0, &e1, WEB, reasons[r], RW_VERDICT_DROP), want[r]);
			assert_int_equal(fx_moved(&o0, &o1, WEB, reasons[r], RW_VERDICT_WOULD_DROP),
					 want[r]);
			assert_int_equal(fx_moved(&o0, &o1, WEB, reasons[r], RW_VERDICT_DROP), 0);
		}
		assert_int_equal(fx_moved(&e0, &e1, WEB, RW_REASON_ADMITTED, RW_VERDICT_PASS), 30);
		assert_int_equal(fx_moved(&o0, &o1, WEB, RW_REASON_ADMITTED, RW_VERDICT_PASS), 30);
		assert_int_equal(fx_moved_total(&e0, &e1), 70);
		assert_int_equal(fx_moved_total(&o0, &o1), 70);
		fx_close(&enforce);
		fx_close(&observe);
	}
}

/* Shed: SYNs refused, established flows and allowed sources pass; the
 * global switch sheds every class, as would_drop where a class observes. */
static void test_shed_refuses_new_connections_only(void **state)
{
	struct fx *f = *state;
	static const char *const allowed[] = { "198.18.9.9", "2001:db8:9::9" };
	uint8_t b[FRAME_MAX];

	fx_policy(f, "allow: [198.18.9.9/32, 2001:db8:9::9/128]\n"
		     "classes:\n"
		     "  - name: web\n"
		     "    ports: [tcp/443, udp/443]\n"
		     "    mode: shed\n"
		     "  - name: api\n"
		     "    ports: [tcp/8080]\n"
		     "    mode: observe\n");
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct counter_table t0, t1;
		size_t n;

		fx_table_read(f, &t0);
		n = fx_tcp(b, fm->other, 443, FR_TCP_SYN);
		assert_int_equal(fx_send(f, b, n, 4), 0);
		n = fx_tcp(b, fm->other, 443, FR_TCP_ACK);
		assert_int_equal(fx_send(f, b, n, 5), 5);
		n = fx_udp(b, fm->other, 443);
		assert_int_equal(fx_send(f, b, n, 2), 2);
		n = fx_tcp(b, allowed[i], 443, FR_TCP_SYN);
		assert_int_equal(fx_send(f, b, n, 3), 3);
		n = fx_tcp(b, fm->other, 80, FR_TCP_SYN); /* default class: not shedding */
		assert_int_equal(fx_send(f, b, n, 2), 2);
		fx_table_read(f, &t1);
		assert_int_equal(fx_moved(&t0, &t1, WEB, RW_REASON_SHED, RW_VERDICT_DROP), 4);
		assert_int_equal(fx_moved(&t0, &t1, WEB, RW_REASON_ADMITTED, RW_VERDICT_PASS), 7);
		assert_int_equal(fx_moved(&t0, &t1, WEB, RW_REASON_ALLOW, RW_VERDICT_PASS), 3);
		assert_int_equal(fx_moved(&t0, &t1, 0, RW_REASON_ADMITTED, RW_VERDICT_PASS), 2);
		assert_int_equal(fx_moved_total(&t0, &t1), 16);

		fx_shed_all(f, true);
		fx_table_read(f, &t0);
		n = fx_tcp(b, fm->other, 80, FR_TCP_SYN);
		assert_int_equal(fx_send(f, b, n, 2), 0);
		n = fx_tcp(b, fm->other, 80, FR_TCP_ACK);
		assert_int_equal(fx_send(f, b, n, 2), 2);
		n = fx_tcp(b, fm->other, 8080, FR_TCP_SYN);
		assert_int_equal(fx_send(f, b, n, 3), 3);
		fx_table_read(f, &t1);
		assert_int_equal(fx_moved(&t0, &t1, 0, RW_REASON_SHED, RW_VERDICT_DROP), 2);
		assert_int_equal(fx_moved(&t0, &t1, 0, RW_REASON_ADMITTED, RW_VERDICT_PASS), 2);
		assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_SHED, RW_VERDICT_WOULD_DROP), 3);
		assert_int_equal(fx_moved_total(&t0, &t1), 7);
		fx_shed_all(f, false);
	}
}

/* Between allow and deny the longer prefix wins; a tenant prefix inside an
 * allowed one is still allowed; deny in an observing class only counts. */
static void test_allow_deny_precedence(void **state)
{
	struct fx *f = *state;
	struct {
		const char *src;
		uint32_t reason;
		uint32_t verdict;
	} cases[] = {
		{ "198.18.1.1", RW_REASON_DENY, RW_VERDICT_DROP },
		{ "198.18.3.3", RW_REASON_ALLOW, RW_VERDICT_PASS },
		{ "198.18.4.5", RW_REASON_ALLOW, RW_VERDICT_PASS },
		{ "198.18.4.4", RW_REASON_DENY, RW_VERDICT_DROP },
		{ "2001:db8:2::1", RW_REASON_DENY, RW_VERDICT_DROP },
		{ "2001:db8:1::5", RW_REASON_ALLOW, RW_VERDICT_PASS },
		{ "2001:db8:1:4::4", RW_REASON_DENY, RW_VERDICT_DROP },
	};
	uint8_t b[FRAME_MAX];

	fx_policy(f, "deny: [198.18.0.0/16, 198.18.4.4/32, 2001:db8::/40, 2001:db8:1:4::/64]\n"
		     "allow: [198.18.3.3/32, 198.18.4.0/24, 2001:db8:1::/48]\n"
		     "default:\n"
		     "  source:\n"
		     "    packets: { rate: 4/m, burst: 1 }\n"
		     "classes:\n"
		     "  - name: web\n"
		     "    ports: [udp/443]\n"
		     "    mode: observe\n"
		     "tenants:\n"
		     "  - name: team\n"
		     "    cidrs: [198.18.4.0/25]\n"
		     "    packets: { rate: 4/m, burst: 1 }\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct counter_table t0, t1;
		size_t n = fx_udp(b, cases[i].src, 53);

		fx_table_read(f, &t0);
		assert_int_equal(fx_send(f, b, n, 5), cases[i].verdict == RW_VERDICT_PASS ? 5 : 0);
		n = fx_udp(b, cases[i].src, 443); /* the observing class */
		assert_int_equal(fx_send(f, b, n, 2), 2);
		fx_table_read(f, &t1);
		assert_int_equal(fx_moved(&t0, &t1, 0, cases[i].reason, cases[i].verdict), 5);
		assert_int_equal(fx_moved(&t0, &t1, WEB, cases[i].reason,
					  cases[i].verdict == RW_VERDICT_DROP ? RW_VERDICT_WOULD_DROP
									     : RW_VERDICT_PASS),
				 2);
		assert_int_equal(fx_moved_total(&t0, &t1), 7);
	}
	/* Outside both lists: the source bucket of burst 1 applies. */
	for (size_t i = 0; i < 2; i++) {
		size_t n = fx_udp(b, i == 0 ? "198.19.0.1" : "2001:db8:100::1", 53);

		assert_int_equal(fx_send(f, b, n, 3), 1);
	}
}

/* Ports and ranges pick the class per protocol; the rest is the default. */
static void test_ports_pick_the_class(void **state)
{
	struct fx *f = *state;
	struct {
		bool tcp;
		uint16_t port;
		uint32_t cls;
	} cases[] = {
		{ true, 8000, 1 },  { true, 8001, 1 }, { true, 8002, 1 },   { true, 7999, 0 },
		{ true, 8003, 0 },  { false, 8001, 2 }, { false, 8000, 0 }, { false, 65535, 2 },
		{ true, 65535, 0 }, { true, 1, 3 },     { false, 1, 0 },
	};
	uint8_t b[FRAME_MAX];

	fx_policy(f, "classes:\n"
		     "  - name: a\n"
		     "    ports: [tcp/8000-8002]\n"
		     "  - name: b\n"
		     "    ports: [udp/8001, udp/65535]\n"
		     "  - name: c\n"
		     "    ports: [tcp/1]\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t k = 0; k < 2; k++) {
			struct counter_table t0, t1;
			size_t n = cases[i].tcp ? fx_tcp(b, fams[k].other, cases[i].port, FR_TCP_ACK)
						: fx_udp(b, fams[k].other, cases[i].port);

			fx_table_read(f, &t0);
			assert_int_equal(fx_send(f, b, n, 1), 1);
			fx_table_read(f, &t1);
			assert_int_equal(fx_moved(&t0, &t1, cases[i].cls, RW_REASON_ADMITTED,
						  RW_VERDICT_PASS), 1);
		}
	}
	/* A later fragment has no ports: the default class. */
	{
		struct frame_spec s = { .family = 4, .src = "198.18.100.1", .l4 = FR_PROTO_TCP,
					.frag_off = 100, .payload = 32, .dport = 8000 };
		struct counter_table t0, t1;
		size_t n = frame_build(b, FRAME_MAX, &s, NULL);

		fx_table_read(f, &t0);
		assert_int_equal(fx_send(f, b, n, 1), 1);
		fx_table_read(f, &t1);
		assert_int_equal(fx_moved(&t0, &t1, 0, RW_REASON_ADMITTED, RW_VERDICT_PASS), 1);
	}
}

/*
 * Applying switches slots: the old slot keeps its policy until the next
 * apply. A tenant or class that keeps its name keeps its bucket across an
 * apply; one whose id now belongs to another name starts full.
 */
static void test_apply_switches_slot_and_keeps_named_buckets(void **state)
{
	struct fx *f = *state;
	static const char *const team = "tenants:\n"
					"  - name: team\n"
					"    cidrs: [198.18.7.0/24]\n"
					"    packets: { rate: 4/m, burst: 3 }\n";
	static const char *const crew = "tenants:\n"
					"  - name: crew\n"
					"    cidrs: [198.18.7.0/24]\n"
					"    packets: { rate: 4/m, burst: 3 }\n";
	struct policy_maps m;
	struct rw_policy pol;
	uint8_t b[FRAME_MAX];
	uint32_t slot0, slot1;
	size_t n = fx_udp(b, "198.18.7.1", 53);

	fx_policy_maps(f, &m);
	fx_policy(f, team);
	assert_int_equal(policy_read_active(&m, &slot0, &pol), 0);
	assert_int_equal(pol.generation, 2); /* 1 is the fixture's built-in policy */
	assert_int_equal(fx_send(f, b, n, 5), 3);
	fx_policy(f, team);
	assert_int_equal(policy_read_active(&m, &slot1, &pol), 0);
	assert_int_equal(slot1, slot0 ^ 1);
	assert_int_equal(pol.generation, 3);
	assert_int_equal(fx_send(f, b, n, 2), 0); /* same name: still empty */
	fx_policy(f, crew);
	assert_int_equal(fx_send(f, b, n, 5), 3); /* new name: full again */
	assert_string_equal(pol.class_names[0], "default");
}

/*
 * A class id that changes name after an apply starts afresh: its counters
 * at zero, its class-wide bucket and the tenants' buckets in it full. A
 * class that keeps its name keeps both.
 */
/*
 * Removing a tenant moves the later ones to other ids: each keeps its own
 * buckets (by name), and none ever spends from another's. Tenants a, b
 * and c with 3 packets each at 4/m; b spends its 3; a goes. Then b (now
 * id 1, a's old id) is still empty and c (now id 2, b's old id) still
 * has its 3, also after a second apply that changes nothing.
 */
static void test_tenants_keep_their_buckets_when_ids_move(void **state)
{
	struct fx *f = *state;
	static const char *const three = "tenants:\n"
		"  - { name: a, cidrs: [198.18.21.0/24], packets: { rate: 4/m, burst: 3 } }\n"
		"  - { name: b, cidrs: [198.18.22.0/24], packets: { rate: 4/m, burst: 3 } }\n"
		"  - { name: c, cidrs: [198.18.23.0/24], packets: { rate: 4/m, burst: 3 } }\n";
	static const char *const two = "tenants:\n"
		"  - { name: b, cidrs: [198.18.22.0/24], packets: { rate: 4/m, burst: 3 } }\n"
		"  - { name: c, cidrs: [198.18.23.0/24], packets: { rate: 4/m, burst: 3 } }\n";
	uint8_t pb[FRAME_MAX], pc[FRAME_MAX];
	size_t nb = fx_udp(pb, "198.18.22.1", 53), nc = fx_udp(pc, "198.18.23.1", 53);

	fx_policy(f, three);
	assert_int_equal(fx_send(f, pb, nb, 4), 3);
	fx_policy(f, two);
	assert_int_equal(fx_send(f, pb, nb, 2), 0);
	fx_policy(f, two);
	assert_int_equal(fx_send(f, pb, nb, 1), 0);
	assert_int_equal(fx_send(f, pc, nc, 4), 3);
}

static void test_renamed_class_starts_afresh(void **state)
{
	struct fx *f = *state;
	static const char *const web = "classes:\n"
				       "  - name: web\n"
				       "    ports: [udp/443]\n"
				       "    global:\n"
				       "      packets: { rate: 4/m, burst: 2 }\n"
				       "tenants:\n"
				       "  - name: team\n"
				       "    cidrs: [198.18.7.0/24]\n"
				       "    classes:\n"
				       "      web:\n"
				       "        packets: { rate: 4/m, burst: 4 }\n";
	static const char *const api = "classes:\n"
				       "  - name: api\n"
				       "    ports: [udp/443]\n"
				       "    global:\n"
				       "      packets: { rate: 4/m, burst: 2 }\n"
				       "tenants:\n"
				       "  - name: team\n"
				       "    cidrs: [198.18.7.0/24]\n"
				       "    classes:\n"
				       "      api:\n"
				       "        packets: { rate: 4/m, burst: 4 }\n";
	uint8_t b[FRAME_MAX], t[FRAME_MAX];
	size_t n = fx_udp(b, "198.18.100.1", 443), nt = fx_udp(t, "198.18.7.1", 443);
	struct counter_table c;

	fx_policy(f, web);
	assert_int_equal(fx_send(f, b, n, 3), 2); /* class bucket: 2 */
	fx_policy(f, web);
	assert_int_equal(fx_send(f, b, n, 1), 0); /* same name: still empty */
	fx_table_read(f, &c);
	assert_int_equal(fx_count(&c, WEB, RW_REASON_CLASS_PKT, RW_VERDICT_DROP), 2);
	fx_policy(f, api);
	fx_table_read(f, &c);
	assert_int_equal(fx_count(&c, WEB, RW_REASON_CLASS_PKT, RW_VERDICT_DROP), 0);
	assert_int_equal(fx_count(&c, WEB, RW_REASON_ADMITTED, RW_VERDICT_PASS), 0);
	assert_int_equal(fx_send(f, b, n, 3), 2); /* full again */

	/* The tenant keeps its name; its bucket in class id 1 follows the class. */
	fx_policy(f, "classes:\n"
		     "  - name: api\n"
		     "    ports: [udp/443]\n"
		     "tenants:\n"
		     "  - name: team\n"
		     "    cidrs: [198.18.7.0/24]\n"
		     "    classes:\n"
		     "      api:\n"
		     "        packets: { rate: 4/m, burst: 4 }\n");
	assert_int_equal(fx_send(f, t, nt, 6), 4);
	fx_policy(f, "classes:\n"
		     "  - name: web\n"
		     "    ports: [udp/443]\n"
		     "tenants:\n"
		     "  - name: team\n"
		     "    cidrs: [198.18.7.0/24]\n"
		     "    classes:\n"
		     "      web:\n"
		     "        packets: { rate: 4/m, burst: 4 }\n");
	assert_int_equal(fx_send(f, t, nt, 6), 4);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_syn_flood_stops_at_source_syn, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_tenant_bucket_is_shared, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_class_bucket_stops_many_sources, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_class_syn_after_tenant_syn, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_tenant_class_bucket_before_aggregate, fx_setup,
						fx_teardown),
		cmocka_unit_test(test_observe_counts_what_enforce_drops),
		cmocka_unit_test_setup_teardown(test_shed_refuses_new_connections_only, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_allow_deny_precedence, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ports_pick_the_class, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_switches_slot_and_keeps_named_buckets,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_renamed_class_starts_afresh, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_tenants_keep_their_buckets_when_ids_move,
						fx_setup, fx_teardown),
	};

	(void)argc;
	if (fx_require_root(argv[0]))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
