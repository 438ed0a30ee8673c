/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Refusal events, aggregated in the kernel: see rw_event_key in
 * ratewall.h. Runs for refused packets only, never on the admit path.
 */
#ifndef RATEWALL_EVENTS_H
#define RATEWALL_EVENTS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ratewall.h"
#include "gcra.h"
#include "maps.h"
#include "parse.h"

static __always_inline void event_stat(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&rw_event_stats, &which);

	if (n)
		(*n)++;
}

/* This CPU's slot of the class's other sources; the key then names the CPU. */
static __always_inline struct rw_event_entry *other_sources(struct rw_event_key *k)
{
	__u32 idx = rw_counter_index(k->class_id & (RW_MAX_CLASSES - 1), k->reason, k->verdict);

	__builtin_memset(k->addr, 0, sizeof(k->addr));
	k->family = 0;
	k->addr[0] = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&rw_event_other, &idx);
}

/*
 * The entry a refusal counts in: the source's own, made while the entry
 * budget lasts, else its class's "other sources" entry. A source refused
 * for want of the new-source budget goes there at once: it has no state
 * by definition, and in a spoofed flood looking for one would only miss.
 */
static __always_inline bool entry_budget_spent(__u64 now_ns)
{
	__u64 interval = (RW_NS_PER_SEC << RW_TICK_SHIFT) / RW_EVENT_NEW_RATE;
	struct rw_global_state *g;
	__u32 zero = 0;

	g = bpf_map_lookup_elem(&rw_global, &zero);
	return g && gcra_take(&g->event_src_tat, now_ns << RW_TICK_SHIFT, interval,
			      RW_EVENT_NEW_BURST * interval) != GCRA_ADMIT;
}

static __always_inline struct rw_event_entry *event_entry(struct rw_event_key *k, __u64 now_ns)
{
	struct rw_event_entry fresh = { .born_ns = now_ns };
	struct rw_event_entry *e;

	if (k->reason == RW_REASON_SRC_NEW)
		return other_sources(k);
	e = bpf_map_lookup_elem(&rw_event_entries, k);
	if (e)
		return e;
	if (entry_budget_spent(now_ns))
		return other_sources(k);
	/* Another CPU may make it first: then count in the one it made. */
	bpf_map_update_elem(&rw_event_entries, k, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&rw_event_entries, k);
}

/*
 * Counts one refusal in its entry and sends the entry's count when its
 * interval has passed since the last send. One CPU wins the send by
 * compare-and-swap on sent_ns (an other-sources slot is one CPU's alone,
 * where the atomics cost little). A full ring buffer loses no packets: the
 * count stays in the entry for the next event. `refused` is
 * refusal_word(); `now` the bucket clock in ticks, 0 when not read yet.
 */
static __always_inline __u32 refusal_word(__u32 class_id, __u32 reason, __u32 verdict)
{
	/* a BPF call takes five arguments at most */
	return class_id << 16 | (reason & 0xff) << 8 | (verdict & 0xff);
}

static __noinline void report_refusal(const struct packet_info *pi, __u32 refused,
				      const struct rw_policy *pol, __u64 now)
{
	struct rw_event_key k = {
		.class_id = (__u16)(refused >> 16),
		.family = pi->family,
		.reason = (__u8)(refused >> 8),
		.verdict = (__u8)refused,
	};
	__u64 sent;
	struct rw_event_entry *e;
	struct rw_event *ev;

	/* the bucket clock when the packet got that far: one clock read less */
	now = now ? now >> RW_TICK_SHIFT : bpf_ktime_get_ns();
	__builtin_memcpy(k.addr, pi->saddr, sizeof(k.addr));
	e = event_entry(&k, now);
	if (!e) {
		event_stat(RW_EVSTAT_NO_ENTRY);
		return;
	}
	__sync_fetch_and_add(&e->packets, 1);
	sent = *(volatile __u64 *)&e->sent_ns;
	/* signed: another CPU may have sent after this packet read the clock */
	if (sent && (__s64)(now - sent) < (__s64)pol->event_interval_ms * 1000000)
		return;
	if (__sync_val_compare_and_swap(&e->sent_ns, sent, now) != sent)
		return;
	ev = bpf_ringbuf_reserve(&rw_events, sizeof(*ev), 0);
	if (!ev) {
		event_stat(RW_EVSTAT_RING_FULL);
		return;
	}
	ev->key = k;
	ev->ts_ns = now;
	ev->born_ns = e->born_ns;
	ev->packets = *(volatile __u64 *)&e->packets;
	__builtin_memcpy(ev->class_name, pol->class_names[k.class_id & (RW_MAX_CLASSES - 1)],
			 sizeof(ev->class_name));
	ev->hashed_client_ids = pol->hashed_client_ids;
	bpf_ringbuf_submit(ev, 0);
	event_stat(RW_EVSTAT_SENT);
}

#endif /* RATEWALL_EVENTS_H */
