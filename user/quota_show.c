// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <bpf/bpf.h>

#include "clocks.h"
#include "percpu.h"
#include "policy_apply.h"
#include "quota_share.h"
#include "quota_show.h"

int quota_view_read(const struct policy_maps *m, struct quota_view *v)
{
	uint64_t sums[2];
	struct rw_policy pol;
	int err;

	memset(v, 0, sizeof(*v));
	err = policy_read_active(m, &v->slot, &pol);
	if (err)
		return err;
	v->now_ticks = monotonic_ns() << RW_TICK_SHIFT;
	for (uint32_t id = 1; id < RW_MAX_QUOTAS; id++) {
		uint32_t idx = rw_quota_index(v->slot, id);

		if (bpf_map_lookup_elem(m->quotas_fd, &idx, &v->q[id]))
			return -errno;
		if (!v->q[id].name[0])
			continue;
		err = percpu_sum_key(m->quota_counts_fd, idx, 2, sums);
		if (err)
			return err;
		v->n++;
		v->reached[id] = sums[0];
		v->admitted[id] = sums[1];
	}
	return 0;
}

bool quota_view_shared(const struct quota_view *v, uint32_t id)
{
	return quota_leased(&v->q[id], v->now_ticks);
}

uint64_t quota_view_word(const struct quota_view *v, uint32_t id)
{
	return quota_word_in_force(&v->q[id], v->now_ticks);
}

json_object *quota_show_json(const struct quota_view *v)
{
	json_object *a = json_object_new_array();
	uint64_t real = realtime_ns();

	for (uint32_t id = 1; id < RW_MAX_QUOTAS; id++) {
		const struct rw_quota *q = &v->q[id];
		uint64_t word = quota_view_word(v, id);
		bool shared = quota_view_shared(v, id);
		json_object *o;

		if (!q->name[0])
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "bucket", json_object_new_string(q->name));
		json_object_object_add(o, "mode", json_object_new_string(shared ? "shared" : "safe"));
		json_object_object_add(o, "global_rate", json_object_new_double(quota_rate_shown(quota_word_rate(q->limit))));
		json_object_object_add(o, "global_burst", json_object_new_uint64(rw_limit_burst(q->limit)));
		json_object_object_add(o, "rate", json_object_new_double(quota_rate_shown(quota_word_rate(word))));
		json_object_object_add(o, "burst", json_object_new_uint64(rw_limit_burst(word)));
		json_object_object_add(o, "lease_left_ms", shared ? json_object_new_uint64(
			((q->lease_until - v->now_ticks) >> RW_TICK_SHIFT) / 1000000) : NULL);
		json_object_object_add(o, "safe_rate", json_object_new_double(quota_rate_shown(quota_word_rate(q->safe))));
		json_object_object_add(o, "safe_burst", json_object_new_uint64(rw_limit_burst(q->safe)));
		json_object_object_add(o, "replicas", json_object_new_uint64(q->replicas));
		json_object_object_add(o, "mismatched", json_object_new_uint64(q->mismatched));
		json_object_object_add(o, "synced_ago_s", q->synced_at_ns && real >= q->synced_at_ns ?
			json_object_new_double((double)(real - q->synced_at_ns) / 1e9) : NULL);
		json_object_object_add(o, "degraded_s", json_object_new_double((double)q->degraded_ns / 1e9));
		json_object_object_add(o, "to_safe", json_object_new_uint64(q->to_safe));
		json_object_object_add(o, "reached", json_object_new_uint64(v->reached[id]));
		json_object_object_add(o, "admitted", json_object_new_uint64(v->admitted[id]));
		json_object_array_add(a, o);
	}
	return a;
}

static double num(json_object *o, const char *key)
{
	return json_object_get_double(json_object_object_get(o, key));
}

static uint64_t u64(json_object *o, const char *key)
{
	return json_object_get_uint64(json_object_object_get(o, key));
}

void quota_show_print(FILE *f, const char *ifname, json_object *buckets)
{
	size_t n = json_object_array_length(buckets);

	if (!n) {
		fprintf(f, "%s: no bucket has scope: global\n", ifname);
		return;
	}
	fprintf(f, "%s: buckets shared by the fleet\n", ifname);
	fprintf(f, "  %-36s %-6s %12s %12s %12s %8s %10s\n", "bucket", "mode", "global/s", "here/s",
		"safe/s", "gateways", "degraded s");
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(buckets, i);

		fprintf(f, "  %-36s %-6s %12.1f %12.1f %12.1f %8" PRIu64 " %10.1f\n",
			json_object_get_string(json_object_object_get(o, "bucket")),
			json_object_get_string(json_object_object_get(o, "mode")), num(o, "global_rate"),
			num(o, "rate"), num(o, "safe_rate"), u64(o, "replicas"), num(o, "degraded_s"));
	}
}
