/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Open-connection counts: written by sockops, read by XDP at SYN time. */
#ifndef RATEWALL_CONN_MAPS_H
#define RATEWALL_CONN_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ratewall.h"

/*
 * Per (masked source, class) of the classes with a per-source cap: an
 * rw_conn_entry. A plain hash, never LRU; max_entries comes from the
 * policy. Preallocated or not, a deleted entry's memory goes to the next
 * insert at once, which rw_conn_entry's word is built to survive.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RW_DEFAULT_CONN_ENTRIES);
	__type(key, struct rw_src_key);
	__type(value, struct rw_conn_entry);
} rw_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RW_MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct rw_class_conns);
} rw_class_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RW_CONN_EVENT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rw_conn_events SEC(".maps");

#endif /* RATEWALL_CONN_MAPS_H */
