/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The class and the source key of a packet or a connection. XDP and
 * sockops both use these, so a connection is counted under exactly the
 * key that XDP checks its source's SYNs against.
 */
#ifndef RATEWALL_CLASSIFY_H
#define RATEWALL_CLASSIFY_H

#include "policy_maps.h"

/* The class claiming (proto, port) in policy `slot`; 0 when none does. */
static __always_inline __u32 class_of_port(const struct rw_policy *pol, __u32 slot,
					   __u32 proto, __u32 port)
{
	struct rw_port_classes *pc;
	__u32 idx;

	if (!pol->has_ports)
		return 0;
	idx = rw_port_index(slot, proto, port);
	pc = bpf_map_lookup_elem(&rw_ports, &idx);
	if (!pc)
		return 0;
	return pc->class_id[port % RW_PORTS_PER_ENTRY] & (RW_MAX_CLASSES - 1);
}

/* A source address (network byte order, IPv4 in addr[0]) masked to the
 * configured prefix, with its class. `key` must be zeroed. */
static __always_inline void source_key(struct rw_src_key *key, __u8 family, const __u32 *addr,
				       const struct rw_config *cfg, __u32 class_id)
{
	key->family = family;
	key->class_id = class_id;
	if (family == 4) {
		key->addr[0] = addr[0] & cfg->mask4;
	} else {
		key->addr[0] = addr[0] & cfg->mask6[0];
		key->addr[1] = addr[1] & cfg->mask6[1];
		key->addr[2] = addr[2] & cfg->mask6[2];
		key->addr[3] = addr[3] & cfg->mask6[3];
	}
}

#endif /* RATEWALL_CLASSIFY_H */
