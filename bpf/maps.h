/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The maps of the XDP program; their keys and values live in ratewall.h.
 * Those that sockops shares are in policy_maps.h and conn_maps.h. */
#ifndef RATEWALL_MAPS_H
#define RATEWALL_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ratewall.h"

#include "policy_maps.h"
#include "conn_maps.h"

/* Allow, deny and tenant prefixes of both slots, merged. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RW_POLICY_SLOTS * RW_MAX_CIDRS);
	__type(key, struct rw_cidr_key);
	__type(value, struct rw_cidr_info);
} rw_cidrs SEC(".maps");

/* Tenant limits of both slots, indexed by rw_tenant_index(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RW_POLICY_SLOTS * RW_MAX_TENANTS);
	__type(key, __u32);
	__type(value, struct rw_tenant_limits);
} rw_tenants SEC(".maps");

/* Never read by the program: the slots' policy text, kept with its maps. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RW_POLICY_SLOTS * RW_POLICY_TEXT_CHUNKS);
	__type(key, __u32);
	__type(value, struct rw_policy_text);
} rw_policy_text SEC(".maps");

/* Tenant bucket state of both slots, indexed by rw_tenant_index(): each
 * slot's tenant ids have their own, seeded by name before a switch. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RW_POLICY_SLOTS * RW_MAX_TENANTS);
	__type(key, __u32);
	__type(value, struct rw_tenant_state);
} rw_tenant_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RW_MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct rw_class_state);
} rw_class_state SEC(".maps");

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
	__uint(max_entries, RW_TALKER_SLOTS);
	__type(key, __u32);
	__type(value, struct rw_talker);
} rw_talkers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RW_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, struct rw_counter);
} rw_counters SEC(".maps");

/* Refusal entries by (source, class, reason, verdict); see rw_event_key. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RW_EVENT_ENTRIES);
	__type(key, struct rw_event_key);
	__type(value, struct rw_event_entry);
} rw_event_entries SEC(".maps");

/* Never touched by the program: what the daemon has written of each entry;
 * sized by the loader (entries, evicted ones, other-sources slots). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * RW_EVENT_ENTRIES);
	__type(key, struct rw_event_key);
	__type(value, struct rw_event_acct);
} rw_event_acct SEC(".maps");

/* Each class's other sources, per CPU, indexed by rw_counter_index(). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RW_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, struct rw_event_entry);
} rw_event_other SEC(".maps");

/* Never touched by the program: the control loop's state, see rw_adapt. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rw_adapt);
} rw_adapt SEC(".maps");

/* This gateway's shares of the fleet's buckets, by rw_quota_index();
 * mmapable, so the daemon changes a share or a lease with one store. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, RW_POLICY_SLOTS * RW_MAX_QUOTAS);
	__type(key, __u32);
	__type(value, struct rw_quota);
} rw_quotas SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RW_POLICY_SLOTS * RW_MAX_QUOTAS);
	__type(key, __u32);
	__type(value, struct rw_quota_count);
} rw_quota_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RW_EVENT_RING_BYTES);
} rw_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RW_EVSTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rw_event_stats SEC(".maps");

#endif /* RATEWALL_MAPS_H */
