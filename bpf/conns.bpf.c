// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Open TCP connections per class and, in classes with a per-source cap,
 * per (masked source, class), for the caps XDP enforces on SYNs.
 *
 * ratewall_sockops runs on the gateway's cgroup: it counts a connection
 * when the handshake completes and uncounts it when the gateway closes
 * its side or the connection is reset, from the key it was counted under
 * (kept in the socket's storage), whatever changed since.
 *
 * ratewall_conns_sync walks the namespace's TCP sockets: it counts the
 * connections that were open before the attach (and asks for their state
 * callbacks, so they are uncounted like the rest), recounts those a new
 * policy puts in another class, and counts per source those a new policy
 * caps. It runs twice: first to learn the ports the gateway's listeners
 * hold, then to count.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "ratewall.h"
#include "policy_maps.h"
#include "conn_maps.h"
#include "classify.h"
#include "conn_count.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define SOL_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_CLOSE_WAIT 8
#define TCP_LISTEN 10
/* cgroup levels the sync looks through for its cgroup */
#define MAX_CGROUP_LEVELS 32

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct rw_conn_sock);
} rw_conn_socks SEC(".maps");

/* Set by the loader before a sync: the cgroup whose sockets count. */
const volatile __u64 sync_cgroup_id;
/* 0: learn listener ports; 1: count connections. */
__u32 sync_phase;
/* Local ports of the gateway's listeners, one bit each, from phase 0. */
__u64 listen_ports[65536 / 64];

static __always_inline void conn_event(__u32 event)
{
	__u64 *n = bpf_map_lookup_elem(&rw_conn_events, &event);

	if (n)
		(*n)++;
}

static __always_inline void class_add(__u32 class_id, __s64 delta)
{
	struct rw_class_conns *cc = bpf_map_lookup_elem(&rw_class_conns, &class_id);

	if (cc)
		__sync_fetch_and_add(&cc->open, delta);
}

/* A connection as counted: its key, and whether its class caps sources. */
struct conn_id {
	struct rw_src_key key;
	bool per_source;
};

/*
 * The key of a connection from its peer address and local port, judged
 * by the active policy. IPv4 peers of an IPv6 socket (::ffff:a.b.c.d)
 * count as the IPv4 sources XDP sees. Loopback peers never pass XDP and
 * never count. Returns 0, or -1 for a connection that does not count.
 */
static __always_inline int conn_identify(struct conn_id *id, __u32 family, const __u32 *peer6,
					 __u32 peer4, __u32 local_port)
{
	const struct rw_config *cfg;
	const struct rw_policy *pol;
	__u32 zero = 0, slot, class_id, addr[4] = {};
	__u8 fam;

	cfg = bpf_map_lookup_elem(&rw_config, &zero);
	if (!cfg)
		return -1;
	if (family == AF_INET) {
		fam = 4;
		addr[0] = peer4;
	} else if (family == AF_INET6) {
		if (peer6[0] == 0 && peer6[1] == 0 && peer6[2] == bpf_htonl(0xffff)) {
			fam = 4;
			addr[0] = peer6[3];
		} else {
			if (peer6[0] == 0 && peer6[1] == 0 && peer6[2] == 0 &&
			    peer6[3] == bpf_htonl(1))
				return -1;
			fam = 6;
			addr[0] = peer6[0];
			addr[1] = peer6[1];
			addr[2] = peer6[2];
			addr[3] = peer6[3];
		}
	} else {
		return -1;
	}
	if (fam == 4 && (addr[0] & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000))
		return -1;
	slot = *(volatile const __u32 *)&cfg->policy_slot & (RW_POLICY_SLOTS - 1);
	pol = bpf_map_lookup_elem(&rw_policy, &slot);
	if (!pol)
		return -1;
	class_id = class_of_port(pol, slot, RW_PROTO_TCP, local_port);
	source_key(&id->key, fam, addr, cfg, class_id);
	id->per_source = pol->classes[class_id & (RW_MAX_CLASSES - 1)].src_conn != 0;
	return 0;
}

/*
 * Counts a connection and records in its storage what it holds. The class
 * count always takes it; the per-source count takes it when its class caps
 * sources and there is room, else the returned rw_conn_event says why not.
 */
static __always_inline __u32 conn_count(struct rw_conn_sock *cs, const struct conn_id *id)
{
	__u32 why = 0;

	class_add(id->key.class_id & (RW_MAX_CLASSES - 1), 1);
	cs->key = id->key;
	cs->counted = RW_CONN_IN_CLASS;
	if (id->per_source) {
		why = conn_open_one(&id->key);
		if (!why)
			cs->counted |= RW_CONN_IN_SOURCE;
	}
	return why;
}

static __always_inline void conn_uncount(struct rw_conn_sock *cs)
{
	if ((cs->counted & RW_CONN_IN_SOURCE) && conn_close_one(&cs->key))
		conn_event(RW_CONN_LOST);
	if (cs->counted & RW_CONN_IN_CLASS)
		class_add(cs->key.class_id & (RW_MAX_CLASSES - 1), -1);
	cs->counted = 0;
}

/* The gateway still holds the connection: not closed by it, not reset. */
static __always_inline bool still_open(__u32 state)
{
	return state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT;
}

static __always_inline bool our_netns(struct bpf_sock_ops *skops)
{
	__u32 zero = 0;
	const struct rw_config *cfg = bpf_map_lookup_elem(&rw_config, &zero);

	return cfg && bpf_get_netns_cookie(skops) == cfg->netns_cookie;
}

SEC("sockops")
int ratewall_sockops(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct rw_conn_sock *cs;
	struct conn_id id = {};
	__u32 why, peer6[4];

	if (!sk)
		return 1;
	if (skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB) {
		if (!our_netns(skops))
			return 1;
		/* The context is read field by field, at fixed offsets. */
		peer6[0] = skops->remote_ip6[0];
		peer6[1] = skops->remote_ip6[1];
		peer6[2] = skops->remote_ip6[2];
		peer6[3] = skops->remote_ip6[3];
		if (conn_identify(&id, skops->family, peer6, skops->remote_ip4, skops->local_port))
			return 1;
		cs = bpf_sk_storage_get(&rw_conn_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!cs) {
			conn_event(RW_CONN_LOST);
			return 1;
		}
		if (cs->counted)
			return 1;
		why = conn_count(cs, &id);
		if (why)
			conn_event(why);
		conn_event(RW_CONN_OPENED);
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
						 BPF_SOCK_OPS_STATE_CB_FLAG);
	} else if (skops->op == BPF_SOCK_OPS_STATE_CB) {
		if (still_open(skops->args[1]))
			return 1;
		cs = bpf_sk_storage_get(&rw_conn_socks, sk, 0, 0);
		if (!cs || !cs->counted)
			return 1;
		conn_uncount(cs);
		conn_event(RW_CONN_CLOSED);
	}
	return 1;
}

/*
 * True when the socket was made in the sync's cgroup or below it: some
 * ancestor of its cgroup has that id. Compared by id at every level, so
 * that a cgroup namespace or a cgroup2 mount of a subtree cannot mislead.
 */
static __always_inline bool in_sync_cgroup(struct tcp_sock *tp)
{
	struct cgroup *cg = tp->inet_conn.icsk_inet.sk.sk_cgrp_data.cgroup;
	int level;

	if (!cg)
		return false;
	level = cg->level;
	for (int l = 0; l < MAX_CGROUP_LEVELS && l <= level; l++) {
		struct cgroup *anc = NULL;

		if (bpf_core_read(&anc, sizeof(anc), &cg->ancestors[l]) || !anc)
			return false;
		if (BPF_CORE_READ(anc, kn, id) == sync_cgroup_id)
			return true;
	}
	return false;
}

static __always_inline bool is_listen_port(__u32 port)
{
	return listen_ports[(port / 64) & (65536 / 64 - 1)] & (1ULL << (port % 64));
}

SEC("iter/tcp")
int ratewall_conns_sync(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct rw_conn_sock *cs;
	struct conn_id id = {};
	struct tcp_sock *tp;
	__u32 port, state, why;
	int flags;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp || !in_sync_cgroup(tp))
		return 0;
	state = skc->skc_state;
	port = skc->skc_num & 0xffff;
	if (sync_phase == 0) {
		if (state == TCP_LISTEN)
			__sync_fetch_and_or(&listen_ports[port / 64], 1ULL << (port % 64));
		return 0;
	}
	if (!still_open(state))
		return 0;
	if (conn_identify(&id, skc->skc_family, skc->skc_v6_daddr.in6_u.u6_addr32, skc->skc_daddr,
			  port))
		return 0;
	cs = bpf_sk_storage_get(&rw_conn_socks, tp, 0, 0);
	if (cs && cs->counted) {
		if (!rw_src_key_equal(&cs->key, &id.key)) {
			/* Its class changed with the policy: count it where XDP looks now. */
			conn_uncount(cs);
			why = conn_count(cs, &id);
			if (why)
				conn_event(why);
			conn_event(RW_CONN_MOVED);
		} else if (id.per_source && !(cs->counted & RW_CONN_IN_SOURCE) &&
			   !conn_open_one(&id.key)) {
			/* Its class caps sources now, or the table has room again. */
			cs->counted |= RW_CONN_IN_SOURCE;
		}
		return 0;
	}
	/* Accepted connections share their port with a listener of the
	 * gateway; the gateway's own outgoing ones do not. */
	if (!is_listen_port(port))
		return 0;
	if (!cs)
		cs = bpf_sk_storage_get(&rw_conn_socks, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!cs) {
		conn_event(RW_CONN_LOST);
		return 0;
	}
	why = conn_count(cs, &id);
	if (why)
		conn_event(why);
	/* Without its state callbacks it could never be uncounted. */
	flags = tp->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG;
	if (bpf_setsockopt(tp, SOL_TCP, TCP_BPF_SOCK_OPS_CB_FLAGS, &flags, sizeof(flags))) {
		conn_uncount(cs);
		conn_event(RW_CONN_LOST);
		return 0;
	}
	conn_event(RW_CONN_SEEDED);
	return 0;
}
