// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * ratewall XDP program: parse, key by masked source, run the source's
 * packet bucket (a new source first needs a token of the global
 * new-source budget), count the verdict by reason.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ratewall.h"
#include "parse.h"
#include "gcra.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Mmapable so that a live change is a single store of pkt_limit. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rw_config);
} rw_config SEC(".maps");

/* max_entries is set by the loader from the `entries` option. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RW_DEFAULT_MAX_ENTRIES);
	__type(key, struct rw_src_key);
	__type(value, struct rw_src_state);
} rw_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rw_global_state);
} rw_global SEC(".maps");

/* Seen-source filter, 64 bits a word; sized by the loader from `entries`. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RW_DEFAULT_MAX_ENTRIES * RW_SEEN_BITS_PER_ENTRY / 64);
	__type(key, __u32);
	__type(value, __u64);
} rw_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RW_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, struct rw_counter);
} rw_counters SEC(".maps");

static __always_inline int finish(__u32 class_id, __u32 reason, __u32 verdict,
				  __u64 bytes)
{
	__u32 idx = rw_counter_index(class_id, reason, verdict);
	struct rw_counter *c = bpf_map_lookup_elem(&rw_counters, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	return verdict == RW_VERDICT_DROP ? XDP_DROP : XDP_PASS;
}

enum source_result {
	SOURCE_ADMIT = GCRA_ADMIT,
	SOURCE_REFUSE = GCRA_REFUSE,
	SOURCE_CONTENDED = GCRA_CONTENDED,
	SOURCE_NEW_REFUSED, /* unknown, and the new-source budget is spent */
	SOURCE_NO_STATE,
};

/*
 * Runs the source's bucket; a source seen first gets an entry only while
 * the new-source budget lasts. A clear filter bit proves there is no entry,
 * so a flood of never-seen sources costs a read of the small filter instead
 * of a miss in the large per-source table. A filter word out of range (a
 * filter smaller than its mask) only means "maybe seen".
 */
static __always_inline int source_bucket(struct rw_src_key *key,
					 const struct rw_config *cfg, __u64 now)
{
	__u64 limit = *(volatile const __u64 *)&cfg->pkt_limit;
	__u64 interval = rw_limit_interval(limit);
	__u64 window = rw_limit_burst(limit) * interval;
	__u32 bit = rw_seen_bit(key, cfg->seen_seed, cfg->seen_mask);
	__u32 word = bit / 64;
	__u64 mask = 1ULL << (bit % 64);
	__u64 *seen = bpf_map_lookup_elem(&rw_seen, &word);
	struct rw_src_state *st = NULL;

	if (!seen || (*(volatile __u64 *)seen & mask))
		st = bpf_map_lookup_elem(&rw_sources, key);
	if (!st) {
		struct rw_src_state fresh = { .pkt_tat = now + interval };
		/* One token of the global new-source budget; refusals write nothing. */
		__u64 new_limit = *(volatile const __u64 *)&cfg->new_limit;
		__u64 new_interval = rw_limit_interval(new_limit);
		struct rw_global_state *g;
		__u32 zero = 0;
		int budget;

		g = bpf_map_lookup_elem(&rw_global, &zero);
		if (!g)
			return SOURCE_CONTENDED;
		budget = gcra_take(&g->new_src_tat, now, new_interval,
				   rw_limit_burst(new_limit) * new_interval);
		if (budget == GCRA_REFUSE)
			return SOURCE_NEW_REFUSED;
		if (budget != GCRA_ADMIT)
			return SOURCE_CONTENDED;
		/* The bit goes first: an entry must never exist with its bit clear. */
		if (seen && !(*(volatile __u64 *)seen & mask))
			__sync_fetch_and_or(seen, mask);
		if (bpf_map_update_elem(&rw_sources, key, &fresh, BPF_NOEXIST) == 0)
			return SOURCE_ADMIT;
		/* Another CPU created it first: take from the entry it made, and
		 * give back the token, which made no entry. */
		__sync_fetch_and_sub(&g->new_src_tat, new_interval);
		st = bpf_map_lookup_elem(&rw_sources, key);
		if (!st)
			return SOURCE_NO_STATE;
	}
	return gcra_take(&st->pkt_tat, now, interval, window);
}

SEC("xdp")
int ratewall_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 bytes = end - data;
	struct packet_info pi = {};
	struct rw_src_key key = {};
	const struct rw_config *cfg;
	__u32 zero = 0;
	bool malformed;
	int res;

	cfg = bpf_map_lookup_elem(&rw_config, &zero);
	if (!cfg)
		return XDP_PASS;

	res = parse_packet(data, end, &pi);
	if (res == PARSE_NON_IP)
		return finish(0, RW_REASON_NON_IP, RW_VERDICT_PASS, bytes);
	malformed = res == PARSE_MALFORMED;
	/* Dropping costs no token; passing a malformed packet with a known
	 * source does, so a broken L4 header is no way around the bucket. */
	if (malformed && (cfg->malformed_drop || !pi.family))
		return finish(0, RW_REASON_MALFORMED,
			      cfg->malformed_drop ? RW_VERDICT_DROP : RW_VERDICT_PASS,
			      bytes);

	key.family = pi.family;
	if (pi.family == 4) {
		key.addr[0] = pi.saddr[0] & cfg->mask4;
	} else {
		key.addr[0] = pi.saddr[0] & cfg->mask6[0];
		key.addr[1] = pi.saddr[1] & cfg->mask6[1];
		key.addr[2] = pi.saddr[2] & cfg->mask6[2];
		key.addr[3] = pi.saddr[3] & cfg->mask6[3];
	}

	res = source_bucket(&key, cfg, bpf_ktime_get_ns() << RW_TICK_SHIFT);
	switch (res) {
	case SOURCE_ADMIT:
		return finish(0, malformed ? RW_REASON_MALFORMED : RW_REASON_ADMITTED,
			      RW_VERDICT_PASS, bytes);
	case SOURCE_REFUSE:
		return finish(0, RW_REASON_SRC_PKT, RW_VERDICT_DROP, bytes);
	case SOURCE_NEW_REFUSED:
		return finish(0, RW_REASON_SRC_NEW, RW_VERDICT_DROP, bytes);
	case SOURCE_CONTENDED:
		return finish(0, RW_REASON_CONTENDED, RW_VERDICT_DROP, bytes);
	default:
		return finish(0, RW_REASON_NO_STATE, RW_VERDICT_PASS, bytes);
	}
}
