/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Open-connection counts: written by sockops, read by XDP at SYN time. */
#ifndef RATEWALL_CONN_MAPS_H
#define RATEWALL_CONN_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ratewall.h"

/*
 * Per (masked source, class): an rw_conn_word(). A plain hash, never LRU.
 * Not preallocated, so that a deleted entry is not handed to another key
 * while a CPU that looked it up still holds it. max_entries comes from
 * the policy.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RW_DEFAULT_CONN_ENTRIES);
	__type(key, struct rw_src_key);
	__type(value, __u64);
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
