/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The live configuration and the policy's class lookup: read by the XDP
 * program and by sockops, which must class a connection as XDP does. */
#ifndef RATEWALL_POLICY_MAPS_H
#define RATEWALL_POLICY_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ratewall.h"

/* Mmapable so that live changes are single stores. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rw_config);
} rw_config SEC(".maps");

/* The two policy slots; mmapable so that `set` changes a limit with one store. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, RW_POLICY_SLOTS);
	__type(key, __u32);
	__type(value, struct rw_policy);
} rw_policy SEC(".maps");

/* Port -> class of both slots, indexed by rw_port_index(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RW_POLICY_SLOTS * RW_PROTO_MAX * RW_PORT_ENTRIES_PER_PROTO);
	__type(key, __u32);
	__type(value, struct rw_port_classes);
} rw_ports SEC(".maps");

#endif /* RATEWALL_POLICY_MAPS_H */
