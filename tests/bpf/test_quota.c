// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Buckets shared by the fleet (`scope: global`) through the real program
 * (BPF_PROG_TEST_RUN): the share rules while its lease lives and the safe
 * share otherwise, a share never written refuses, every packet that
 * reaches the bucket is counted for the daemon, tenants' buckets too, and
 * an apply carries a share over only while the bucket's limit is the same.
 *
 * Rates are a few a minute, so that nothing refills while a test runs.
 */
#include "fixture.h"
#include "quota_share.h"

#define API 1 /* the class id of "api" */

static const char class_policy[] =
	"classes:\n"
	"  - name: api\n"
	"    ports: [udp/9000]\n"
	"    global:\n"
	"      packets: { rate: 60/m, burst: 10, scope: global }\n"
	"quota: { redis: unix:///nonexistent.sock }\n";

/* The same bucket behind another shared one: its id becomes 2. */
static const char web_and_api_policy[] =
	"classes:\n"
	"  - name: web\n"
	"    ports: [udp/80]\n"
	"    global: { syn: { rate: 30/m, scope: global } }\n"
	"  - name: api\n"
	"    ports: [udp/9000]\n"
	"    global:\n"
	"      packets: { rate: 60/m, burst: 10, scope: global }\n"
	"quota: { redis: unix:///nonexistent.sock }\n";

static int quotas_fd(struct fx *f)
{
	return bpf_map__fd(f->skel->maps.rw_quotas);
}

static uint32_t live_slot(struct fx *f)
{
	struct rw_config c;
	uint32_t zero = 0;

	assert_int_equal(bpf_map_lookup_elem(f->cfg_fd, &zero, &c), 0);
	return c.policy_slot & (RW_POLICY_SLOTS - 1);
}

static struct rw_quota quota_get(struct fx *f, uint32_t id)
{
	uint32_t idx = rw_quota_index(live_slot(f), id);
	struct rw_quota q;

	assert_int_equal(bpf_map_lookup_elem(quotas_fd(f), &idx, &q), 0);
	return q;
}

static void quota_put(struct fx *f, uint32_t id, const struct rw_quota *q)
{
	uint32_t idx = rw_quota_index(live_slot(f), id);

	assert_int_equal(bpf_map_update_elem(quotas_fd(f), &idx, q, BPF_ANY), 0);
}

/* What reached bucket `id` of the live slot, and what it admitted. */
static void quota_counts(struct fx *f, uint32_t id, uint64_t *reached, uint64_t *admitted)
{
	uint32_t idx = rw_quota_index(live_slot(f), id);
	struct rw_quota_count *per_cpu = calloc((size_t)f->ncpus, sizeof(*per_cpu));

	assert_non_null(per_cpu);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.rw_quota_counts), &idx,
					     per_cpu), 0);
	*reached = *admitted = 0;
	for (int c = 0; c < f->ncpus; c++) {
		*reached += per_cpu[c].reached;
		*admitted += per_cpu[c].admitted;
	}
	free(per_cpu);
}

/* The class-wide buckets start full again, so each phase is judged alone. */
static void refill_class(struct fx *f, uint32_t class_id)
{
	static const struct rw_class_state full;

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(f->skel->maps.rw_class_state), &class_id,
					     &full, BPF_ANY), 0);
}

static uint64_t ticks_from_now(int64_t ms)
{
	return (uint64_t)((int64_t)fx_now_ns() + ms * 1000000) << RW_TICK_SHIFT;
}

static unsigned int send_udp(struct fx *f, const char *src, unsigned int n)
{
	uint8_t b[FRAME_MAX];
	size_t len = fx_udp(b, src, 9000);

	return fx_send(f, b, len, n);
}

static void share_rules_under_a_lease_and_safe_share_without(void **state)
{
	struct fx *f = *state;
	struct counter_table t0, t1;
	uint64_t reached, admitted;
	struct rw_policy pol;
	struct rw_quota q;
	uint32_t slot = 0;
	struct policy_maps m;

	fx_policy(f, class_policy);
	fx_policy_maps(f, &m);
	assert_int_equal(policy_read_active(&m, &slot, &pol), 0);
	assert_int_equal(pol.classes[API].quota_pkt, 1);
	assert_int_equal(pol.classes[API].quota_syn, 0);
	q = quota_get(f, 1);
	assert_string_equal(q.name, "class/api/packets");
	assert_int_equal(q.lease_until, 0);
	assert_int_equal(q.safe_ppm, 200000);
	/* never synced: the safe share, 20 % of a burst of 10 */
	assert_int_equal(rw_limit_burst(q.safe), 2);

	fx_table_read(f, &t0);
	assert_int_equal(send_udp(f, "198.18.0.1", 5), 2);
	fx_table_read(f, &t1);
	assert_int_equal(fx_moved(&t0, &t1, API, RW_REASON_CLASS_PKT, RW_VERDICT_DROP), 3);
	quota_counts(f, 1, &reached, &admitted);
	assert_int_equal(reached, 5);
	assert_int_equal(admitted, 2);

	/* a share of 6 under a live lease: six pass, from any source */
	refill_class(f, API);
	q.share = quota_share_word(0.4, 6);
	q.lease_until = ticks_from_now(60000);
	quota_put(f, 1, &q);
	assert_int_equal(send_udp(f, "198.18.0.2", 4) + send_udp(f, "198.18.0.3", 4), 6);
	quota_counts(f, 1, &reached, &admitted);
	assert_int_equal(reached, 13);
	assert_int_equal(admitted, 8);

	/* the lease ran out: back to the safe share without anyone writing it */
	refill_class(f, API);
	q.lease_until = ticks_from_now(-1);
	quota_put(f, 1, &q);
	assert_int_equal(send_udp(f, "198.18.0.4", 5), 2);

	/* a share that was never written refuses rather than admitting all */
	refill_class(f, API);
	q.share = 0;
	q.lease_until = ticks_from_now(60000);
	quota_put(f, 1, &q);
	assert_int_equal(send_udp(f, "198.18.0.5", 5), 0);
	/* nor does a missing safe share open the gate */
	refill_class(f, API);
	q.safe = 0;
	q.lease_until = 0;
	quota_put(f, 1, &q);
	assert_int_equal(send_udp(f, "198.18.0.6", 5), 0);
	/* a zero share from the store (the bucket is held by others) refuses */
	refill_class(f, API);
	q.share = quota_share_word(0, 0);
	q.lease_until = ticks_from_now(60000);
	quota_put(f, 1, &q);
	assert_int_equal(send_udp(f, "198.18.0.7", 5), 0);
}

static void local_buckets_do_not_count_as_shared(void **state)
{
	struct fx *f = *state;
	uint64_t reached, admitted;

	fx_policy(f, "classes:\n"
		     "  - name: api\n"
		     "    ports: [udp/9000]\n"
		     "    global:\n"
		     "      packets: { rate: 30/m, burst: 10 }\n");
	assert_int_equal(send_udp(f, "198.18.0.1", 12), 10);
	quota_counts(f, 1, &reached, &admitted);
	assert_int_equal(reached, 0);
	assert_int_equal(quota_get(f, 1).name[0], 0);
}

static void tenant_buckets_share_too(void **state)
{
	struct fx *f = *state;
	struct rw_tenant_limits tl;
	struct rw_tenant_state ts;
	uint32_t idx;
	uint64_t reached, admitted;
	struct rw_quota q;

	fx_policy(f, "classes:\n"
		     "  - name: api\n"
		     "    ports: [udp/9000]\n"
		     "tenants:\n"
		     "  - name: ci\n"
		     "    cidrs: [198.18.10.0/24]\n"
		     "    packets: { rate: 30/m, burst: 20, scope: global }\n"
		     "    classes:\n"
		     "      api: { packets: { rate: 30/m, burst: 10, scope: global } }\n"
		     "quota: { redis: redis://198.18.0.1, safe_share: 50% }\n");
	idx = rw_tenant_index(live_slot(f), 1);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.rw_tenants), &idx, &tl), 0);
	assert_int_equal(tl.quota_pkt, 1);
	assert_int_equal(tl.quota_class_pkt[API], 2);
	assert_string_equal(quota_get(f, 1).name, "tenant/ci/packets");
	assert_string_equal(quota_get(f, 2).name, "tenant/ci/api/packets");
	/* the class bucket first: half of 10 */
	assert_int_equal(send_udp(f, "198.18.10.1", 8), 5);
	quota_counts(f, 2, &reached, &admitted);
	assert_int_equal(reached, 8);
	assert_int_equal(admitted, 5);
	quota_counts(f, 1, &reached, &admitted);
	assert_int_equal(reached, 5);
	assert_int_equal(admitted, 5);
	/* a lease on the class bucket (started full) lets more through, up to
	 * what the tenant's safe 10 has left */
	idx = rw_tenant_index(live_slot(f), 1);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.rw_tenant_state), &idx,
					     &ts), 0);
	ts.class_pkt_tat[API] = 0;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(f->skel->maps.rw_tenant_state), &idx,
					     &ts, BPF_ANY), 0);
	q = quota_get(f, 2);
	q.share = quota_share_word(0.5, 10);
	q.lease_until = ticks_from_now(60000);
	quota_put(f, 2, &q);
	assert_int_equal(send_udp(f, "198.18.10.2", 10), 5);
	quota_counts(f, 1, &reached, &admitted);
	assert_int_equal(reached, 15);
	assert_int_equal(admitted, 10);
	/* sources outside the tenant never reach its buckets */
	assert_int_equal(send_udp(f, "198.18.20.1", 10), 10);
	quota_counts(f, 1, &reached, &admitted);
	assert_int_equal(reached, 15);
}

static void apply_carries_a_share_only_for_the_same_limit(void **state)
{
	struct fx *f = *state;
	struct rw_quota q, next;
	char text[1024];

	fx_policy(f, class_policy);
	q = quota_get(f, 1);
	q.share = quota_share_word(0.3, 7);
	q.share_mrate = 300;
	q.lease_until = ticks_from_now(60000);
	q.replicas = 10;
	q.degraded_ns = 12345;
	quota_put(f, 1, &q);
	/* another class before it: the bucket's id moves, its share goes with its name */
	fx_policy(f, web_and_api_policy);
	assert_string_equal(quota_get(f, 1).name, "class/web/syn");
	next = quota_get(f, 2);
	assert_string_equal(next.name, "class/api/packets");
	assert_int_equal(next.share, q.share);
	assert_int_equal(next.lease_until, q.lease_until);
	assert_int_equal(next.replicas, 10);
	assert_int_equal(next.degraded_ns, 12345);
	/* ten gateways: a tenth of the burst is the safe share, smaller than 20 % */
	assert_int_equal(rw_limit_burst(next.safe), 1);
	assert_int_equal(quota_get(f, 1).lease_until, 0);
	/* what reached the bucket in the slot's earlier life does not show up again */
	{
		uint64_t reached, admitted;

		send_udp(f, "198.18.0.9", 3);
		quota_counts(f, 2, &reached, &admitted);
		assert_int_equal(reached, 3);
		fx_policy(f, class_policy);
		fx_policy(f, web_and_api_policy); /* the same slot as the 3 packets */
		quota_counts(f, 2, &reached, &admitted);
		assert_int_equal(reached, 0);
	}
	/* a new limit: the old share means nothing, safe share until the next sync */
	snprintf(text, sizeof(text), "%s", class_policy);
	memcpy(strstr(text, "60/m"), "90/m", 4);
	fx_policy(f, text);
	next = quota_get(f, 1);
	assert_string_equal(next.name, "class/api/packets");
	assert_int_equal(next.lease_until, 0);
	assert_int_equal(next.replicas, 10);
	assert_int_equal(rw_limit_burst(next.safe), 1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(share_rules_under_a_lease_and_safe_share_without,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(local_buckets_do_not_count_as_shared, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(tenant_buckets_share_too, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(apply_carries_a_share_only_for_the_same_limit,
						fx_setup, fx_teardown),
	};

	(void)argc;
	if (fx_require_root(argv[0]))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
