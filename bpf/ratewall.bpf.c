// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * ratewall XDP program: parse, pick the policy slot, the route class and
 * the source's list and tenant, then run the limits most specific first
 * (shed, connection caps, per source, tenant, class), stopping at the first
 * refusal. Every verdict is counted by class and reason, and every
 * refusal in its (source, limit) event entry.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ratewall.h"
#include "parse.h"
#include "gcra.h"
#include "maps.h"
#include "classify.h"
#include "events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define READ_ONCE_U64(x) (*(volatile const __u64 *)&(x))

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

/*
 * Adds a judged packet to its source's talker slot (see rw_talker). `now`
 * is the bucket clock when the packet got that far (0 for one a list,
 * shed or a cap decided before): no clock is read here for it.
 */
static __always_inline void note_talker(const struct rw_src_key *key, __u32 hash, bool refused,
					__u64 now)
{
	__u32 slot = rw_talker_slot(hash);
	struct rw_talker *t = bpf_map_lookup_elem(&rw_talkers, &slot);
	__u32 epoch, idle;

	if (!t)
		return;
	/* A holder loses half its weight per epoch it was idle, so yesterday's
	 * flood gives its slot up to today's. */
	epoch = now ? (__u32)(now >> (RW_TALKER_EPOCH_SHIFT + RW_TICK_SHIFT)) : t->epoch;
	idle = epoch - t->epoch;
	if (idle) {
		t->weight = idle < 64 ? t->weight >> idle : 0;
		t->epoch = epoch;
	}
	if (rw_src_key_equal(&t->key, key)) {
		t->weight++;
		t->packets++;
		t->drops += refused;
	} else if (t->weight > 1) {
		t->weight--;
	} else {
		t->key = *key;
		t->weight = 1;
		t->packets = 1;
		t->drops = refused;
	}
}

/* One bucket of a limit word (0: no bucket, always admits). */
static __always_inline int take(__u64 *tat, __u64 limit, __u64 now)
{
	__u64 interval = rw_limit_interval(limit);

	if (!limit)
		return GCRA_ADMIT;
	return gcra_take(tat, now, interval, rw_limit_burst(limit) * interval);
}

/*
 * A bucket the fleet shares (rw_quota): this gateway's share while its
 * lease lives, else the safe share. What reaches it and what it admits
 * are counted for the daemon, which reports them as demand.
 */
static __noinline int take_quota(__u64 *tat, __u32 slot, __u32 id, __u64 now)
{
	__u32 idx = rw_quota_index(slot & (RW_POLICY_SLOTS - 1), id & (RW_MAX_QUOTAS - 1));
	struct rw_quota *q = bpf_map_lookup_elem(&rw_quotas, &idx);
	struct rw_quota_count *n = bpf_map_lookup_elem(&rw_quota_counts, &idx);
	__u64 limit, interval;
	int res;

	if (!q)
		return GCRA_REFUSE;
	limit = now < READ_ONCE_U64(q->lease_until) ? READ_ONCE_U64(q->share)
						     : READ_ONCE_U64(q->safe);
	interval = rw_limit_interval(limit);
	/* a word never written refuses: a share is never "no bucket" */
	res = interval ? gcra_take(tat, now, interval, rw_limit_burst(limit) * interval)
		       : GCRA_REFUSE;
	if (n) {
		n->reached++;
		n->admitted += res == GCRA_ADMIT;
	}
	return res;
}

/* A bucket that is either this gateway's own (quota 0) or the fleet's. */
static __always_inline int take_bucket(__u64 *tat, __u64 limit, __u32 slot, __u8 quota,
				       __u64 now)
{
	if (quota)
		return take_quota(tat, slot, quota, now);
	return take(tat, limit, now);
}

/* The class of a packet by protocol and destination port; 0 without ports. */
static __always_inline __u32 class_of(const struct rw_policy *pol, const struct packet_info *pi,
				      __u32 slot)
{
	if (!pi->has_ports)
		return 0;
	if (pi->l4_proto == IPPROTO_TCP)
		return class_of_port(pol, slot, RW_PROTO_TCP, pi->dport);
	if (pi->l4_proto == IPPROTO_UDP)
		return class_of_port(pol, slot, RW_PROTO_UDP, pi->dport);
	return 0;
}

/* A bucket result as the reason to count: 0 when admitted. */
static __always_inline __u32 refusal(int res, __u32 reason)
{
	if (res == GCRA_ADMIT)
		return 0;
	return res == GCRA_REFUSE ? reason : RW_REASON_CONTENDED;
}

/*
 * The source's own buckets in its class. A source seen first gets an
 * entry only while the new-source budget lasts. A clear filter bit proves
 * there is no entry, so a flood of never-seen sources costs a read of the
 * small filter instead of a miss in the large per-source table. A filter
 * word out of range (a filter smaller than its mask) only means "maybe
 * seen". Returns the refusing reason, RW_REASON_NO_STATE when no entry
 * could be made (the packet goes on to the other limits), or 0.
 */
static __always_inline __u32 source_buckets(struct rw_src_key *key, __u32 hash,
					    const struct rw_config *cfg, __u64 pkt_limit,
					    __u64 syn_limit, __u64 now)
{
	__u32 bit = hash & cfg->seen_mask; /* rw_seen_bit() */
	__u32 word = bit / 64;
	__u64 mask = 1ULL << (bit % 64);
	__u64 *seen = bpf_map_lookup_elem(&rw_seen, &word);
	struct rw_src_state *st = NULL;
	__u32 reason;

	if (!seen || (*(volatile __u64 *)seen & mask))
		st = bpf_map_lookup_elem(&rw_sources, key);
	if (!st) {
		/* The first packet passes both buckets (burst >= 1): the entry is
		 * written as having admitted it. TAT 0 is a full bucket. */
		struct rw_src_state fresh = {
			.pkt_tat = pkt_limit ? now + rw_limit_interval(pkt_limit) : 0,
			.syn_tat = syn_limit ? now + rw_limit_interval(syn_limit) : 0,
		};
		/* One token of the global new-source budget; refusals write nothing. */
		__u64 new_limit = READ_ONCE_U64(cfg->new_limit);
		__u64 new_interval = rw_limit_interval(new_limit);
		struct rw_global_state *g;
		__u32 zero = 0;
		int budget;

		g = bpf_map_lookup_elem(&rw_global, &zero);
		if (!g)
			return RW_REASON_CONTENDED;
		budget = gcra_take(&g->new_src_tat, now, new_interval,
				   rw_limit_burst(new_limit) * new_interval);
		if (budget != GCRA_ADMIT)
			return refusal(budget, RW_REASON_SRC_NEW);
		/* The bit goes first: an entry must never exist with its bit clear. */
		if (seen && !(*(volatile __u64 *)seen & mask))
			__sync_fetch_and_or(seen, mask);
		if (bpf_map_update_elem(&rw_sources, key, &fresh, BPF_NOEXIST) == 0)
			return 0;
		/* Another CPU created it first: take from the entry it made, and
		 * give back the token, which made no entry. */
		__sync_fetch_and_sub(&g->new_src_tat, new_interval);
		st = bpf_map_lookup_elem(&rw_sources, key);
		if (!st)
			return RW_REASON_NO_STATE;
	}
	if (syn_limit) {
		reason = refusal(take(&st->syn_tat, syn_limit, now), RW_REASON_SRC_SYN);
		if (reason)
			return reason;
	}
	return refusal(take(&st->pkt_tat, pkt_limit, now), RW_REASON_SRC_PKT);
}

/* The tenant's buckets in this class, then across all its classes. */
static __always_inline __u32 tenant_buckets(__u32 slot, __u32 tenant_id, __u32 class_id,
					    bool syn, __u64 now)
{
	__u32 idx = rw_tenant_index(slot, tenant_id);
	struct rw_tenant_limits *tl = bpf_map_lookup_elem(&rw_tenants, &idx);
	struct rw_tenant_state *ts = bpf_map_lookup_elem(&rw_tenant_state, &idx);
	__u64 limit;
	__u32 reason;

	if (!tl || !ts)
		return 0;
	class_id &= RW_MAX_CLASSES - 1;
	if (syn && (limit = READ_ONCE_U64(tl->class_syn[class_id]))) {
		reason = refusal(take_bucket(&ts->class_syn_tat[class_id], limit, slot,
					     tl->quota_class_syn[class_id], now),
				 RW_REASON_TENANT_SYN);
		if (reason)
			return reason;
	}
	if ((limit = READ_ONCE_U64(tl->class_pkt[class_id]))) {
		reason = refusal(take_bucket(&ts->class_pkt_tat[class_id], limit, slot,
					     tl->quota_class_pkt[class_id], now),
				 RW_REASON_TENANT_PKT);
		if (reason)
			return reason;
	}
	if (syn && (limit = READ_ONCE_U64(tl->syn))) {
		reason = refusal(take_bucket(&ts->syn_tat, limit, slot, tl->quota_syn, now),
				 RW_REASON_TENANT_SYN);
		if (reason)
			return reason;
	}
	if ((limit = READ_ONCE_U64(tl->pkt)))
		return refusal(take_bucket(&ts->pkt_tat, limit, slot, tl->quota_pkt, now),
			       RW_REASON_TENANT_PKT);
	return 0;
}

/* The class-wide buckets that every source of the class shares; a class
 * without them costs no lookup. */
static __always_inline __u32 class_buckets(const struct rw_class_limits *cl, __u32 slot,
					   __u32 class_id, bool syn, __u64 now)
{
	__u64 syn_limit = syn ? READ_ONCE_U64(cl->class_syn) : 0;
	__u64 pkt_limit = READ_ONCE_U64(cl->class_pkt);
	struct rw_class_state *cs;
	__u32 reason;

	if (!syn_limit && !pkt_limit)
		return 0;
	cs = bpf_map_lookup_elem(&rw_class_state, &class_id);
	if (!cs)
		return 0;
	if (syn_limit) {
		reason = refusal(take_bucket(&cs->syn_tat, syn_limit, slot, cl->quota_syn, now),
				 RW_REASON_CLASS_SYN);
		if (reason)
			return reason;
	}
	if (!pkt_limit)
		return 0;
	return refusal(take_bucket(&cs->pkt_tat, pkt_limit, slot, cl->quota_pkt, now),
		       RW_REASON_CLASS_PKT);
}

/*
 * The open-connection caps of a SYN: its source's count in this class,
 * then the class's. Counts are kept by sockops (conns.bpf.c). An entry
 * met while it is deleted, or after its memory went to another key,
 * counts as zero.
 */
static __always_inline __u32 conn_caps(const struct rw_src_key *key, __u32 class_id,
				       __u32 src_cap, __u32 class_cap)
{
	if (src_cap) {
		struct rw_conn_entry *e = bpf_map_lookup_elem(&rw_conns, key);

		if (e) {
			__u64 w = READ_ONCE_U64(e->word);

			if (!rw_conn_gone(w) && rw_src_key_equal(&e->key, key) &&
			    rw_conn_open(w) >= src_cap)
				return RW_REASON_SRC_CONN;
		}
	}
	if (class_cap) {
		struct rw_class_conns *cc = bpf_map_lookup_elem(&rw_class_conns, &class_id);

		if (cc && READ_ONCE_U64(cc->open) >= class_cap)
			return RW_REASON_CLASS_CONN;
	}
	return 0;
}

/*
 * The source's list and tenant from the merged trie, as one word:
 * list << 16 | tenant id; 0 when none. A subprogram of its own, so that
 * its key's stack space and zeroing stay off the path of policies with
 * no prefixes (measured: 5 ns per packet when inlined).
 */
static __noinline __u32 source_cidr(const struct packet_info *pi, __u32 slot)
{
	struct rw_cidr_key ck = {};
	const struct rw_cidr_info *info;

	ck.prefixlen = RW_CIDR_KEY_HEAD_BITS + (pi->family == 4 ? 32 : 128);
	ck.slot = slot;
	ck.family = pi->family;
	ck.addr[0] = pi->saddr[0];
	if (pi->family == 6) {
		ck.addr[1] = pi->saddr[1];
		ck.addr[2] = pi->saddr[2];
		ck.addr[3] = pi->saddr[3];
	}
	info = bpf_map_lookup_elem(&rw_cidrs, &ck);
	if (!info)
		return 0;
	return (__u32)info->list << 16 | info->tenant_id;
}

SEC("xdp")
int ratewall_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 bytes = end - data;
	const struct rw_class_limits *cl;
	const struct rw_config *cfg;
	const struct rw_policy *pol;
	struct packet_info pi = {};
	struct rw_src_key key = {};
	__u32 zero = 0, slot, class_id, tenant_id = 0, refused_as, reason, src_conn, class_conn;
	__u32 verdict_reason, verdict, hash;
	__u64 src_pkt, src_syn, now = 0;
	bool malformed, syn;
	__u8 mode;
	int res;

	cfg = bpf_map_lookup_elem(&rw_config, &zero);
	if (!cfg)
		return XDP_PASS;

	res = parse_packet(data, end, &pi);
	if (res == PARSE_NON_IP)
		return finish(0, RW_REASON_NON_IP, RW_VERDICT_PASS, bytes);
	malformed = res == PARSE_MALFORMED;
	/* Dropping costs no token; passing a malformed packet with a known
	 * source does, so a broken L4 header is no way around the limits. */
	if (malformed && (cfg->malformed_drop || !pi.family))
		return finish(0, RW_REASON_MALFORMED,
			      cfg->malformed_drop ? RW_VERDICT_DROP : RW_VERDICT_PASS,
			      bytes);

	/* Read once: everything below is judged by this one policy. */
	slot = *(volatile const __u32 *)&cfg->policy_slot & (RW_POLICY_SLOTS - 1);
	pol = bpf_map_lookup_elem(&rw_policy, &slot);
	if (!pol)
		return finish(0, RW_REASON_NO_STATE, RW_VERDICT_PASS, bytes);
	class_id = malformed ? 0 : class_of(pol, &pi, slot);
	cl = &pol->classes[class_id & (RW_MAX_CLASSES - 1)];
	mode = cl->mode;
	refused_as = mode == RW_CLASS_OBSERVE ? RW_VERDICT_WOULD_DROP : RW_VERDICT_DROP;
	syn = !malformed && pi.tcp_syn;
	source_key(&key, pi.family, pi.saddr, cfg, class_id);
	hash = rw_key_hash(&key, cfg->seen_seed);

	if (pi.family == 4 ? pol->has_cidrs4 : pol->has_cidrs6) {
		__u32 match = source_cidr(&pi, slot);

		if (match >> 16 == RW_LIST_DENY)
			{ verdict_reason = RW_REASON_DENY; verdict = refused_as; goto judged; }
		if (match >> 16 == RW_LIST_ALLOW)
			{ verdict_reason = RW_REASON_ALLOW; verdict = RW_VERDICT_PASS; goto judged; }
		tenant_id = match & (RW_MAX_TENANTS - 1);
	}
	/* Shedding refuses new connections only: established flows drain. */
	if (syn && (mode == RW_CLASS_SHED || cl->control_shed || cfg->shed_all))
		{ verdict_reason = RW_REASON_SHED; verdict = refused_as; goto judged; }

	reason = 0;
	src_pkt = READ_ONCE_U64(cl->src_pkt);
	src_syn = syn ? READ_ONCE_U64(cl->src_syn) : 0;
	src_conn = syn ? *(volatile const __u32 *)&cl->src_conn : 0;
	class_conn = syn ? *(volatile const __u32 *)&cl->class_conn : 0;
	if (src_conn || class_conn) {
		__u32 r = conn_caps(&key, class_id, src_conn, class_conn);

		if (r)
			{ verdict_reason = r; verdict = refused_as; goto judged; }
	}

	now = bpf_ktime_get_ns() << RW_TICK_SHIFT;
	if (src_pkt || src_syn) {
		reason = source_buckets(&key, hash, cfg, src_pkt, src_syn, now);
		if (reason && reason != RW_REASON_NO_STATE)
			{ verdict_reason = reason; verdict = refused_as; goto judged; }
	}
	if (tenant_id) {
		__u32 r = tenant_buckets(slot, tenant_id, class_id, syn, now);

		if (r)
			{ verdict_reason = r; verdict = refused_as; goto judged; }
	}
	{
		__u32 r = class_buckets(cl, slot, class_id, syn, now);

		if (r)
			{ verdict_reason = r; verdict = refused_as; goto judged; }
	}
	if (!reason)
		reason = malformed ? RW_REASON_MALFORMED : RW_REASON_ADMITTED;
	verdict_reason = reason;
	verdict = RW_VERDICT_PASS;
judged:
	/* One exit for every packet with a source: one copy of the talker update. */
	note_talker(&key, hash, verdict != RW_VERDICT_PASS, now);
	if (verdict != RW_VERDICT_PASS && pol->event_interval_ms)
		report_refusal(&pi, refusal_word(class_id, verdict_reason, verdict), pol, now);
	return finish(class_id, verdict_reason, verdict, bytes);
}
