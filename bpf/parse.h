/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Frame parsing for the XDP fast path: Ethernet, up to two VLAN tags,
 * IPv4 (any IHL) or IPv6 (a bounded walk of extension headers), then the
 * TCP/UDP ports and SYN flag that later checks use. Only what the decision
 * needs is read; every bounds check is explicit for the verifier.
 */
#ifndef RATEWALL_PARSE_H
#define RATEWALL_PARSE_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include "ratewall.h"

#define ETH_P_IP_BE bpf_htons(0x0800)
#define ETH_P_IPV6_BE bpf_htons(0x86DD)
#define ETH_P_8021Q_BE bpf_htons(0x8100)
#define ETH_P_8021AD_BE bpf_htons(0x88A8)

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_DSTOPTS_ 60
#define IP_OFFSET_MASK 0x1fff

/*
 * PARSE_MALFORMED with family 0: the frame ends before the source address
 * (Ethernet or VLAN header cut short, IPv4 header under 20 bytes, IPv6
 * header under 40), so the source is unknown. With family set: the fixed
 * IP header and its source are there, but something is invalid or
 * truncated (version, IHL, lengths, options, extension or L4 headers); the
 * caller still charges that source, so malformed packets cannot bypass
 * its bucket.
 */
enum parse_result {
	PARSE_OK = 0,
	PARSE_NON_IP,
	PARSE_MALFORMED,
};

struct packet_info {
	__u32 saddr[4];   /* network byte order; IPv4 in saddr[0] */
	__u8 family;      /* 4 or 6 once the fixed IP header is in the frame, else 0 */
	__u8 l4_proto;    /* IPPROTO_* of the transport header, if reached */
	__u8 has_ports;   /* 0 for later fragments, ESP, too many ext headers */
	__u8 tcp_syn;     /* SYN set and ACK clear */
	__u16 dport;      /* host byte order */
};

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

static __always_inline int parse_l4(void *l4, void *end, __u8 proto,
				    struct packet_info *pi)
{
	pi->l4_proto = proto;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > end || th->doff < 5)
			return PARSE_MALFORMED;
		pi->dport = bpf_ntohs(th->dest);
		pi->tcp_syn = th->syn && !th->ack;
		pi->has_ports = 1;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > end)
			return PARSE_MALFORMED;
		pi->dport = bpf_ntohs(uh->dest);
		pi->has_ports = 1;
	}
	return PARSE_OK;
}

static __always_inline int parse_ipv4(void *l3, void *end, struct packet_info *pi)
{
	struct iphdr *iph = l3;
	__u32 hdr_len;

	if ((void *)(iph + 1) > end)
		return PARSE_MALFORMED;
	/* The source is readable: whatever is wrong past here is charged to it. */
	pi->family = 4;
	pi->saddr[0] = iph->saddr;
	if (iph->version != 4 || iph->ihl < 5)
		return PARSE_MALFORMED;
	hdr_len = iph->ihl * 4;
	if (l3 + hdr_len > end || bpf_ntohs(iph->tot_len) < hdr_len)
		return PARSE_MALFORMED;
	if (l3 + bpf_ntohs(iph->tot_len) > end)
		return PARSE_MALFORMED; /* truncated payload */
	/* Later fragments carry no transport header: limited per source only. */
	if (bpf_ntohs(iph->frag_off) & IP_OFFSET_MASK)
		return PARSE_OK;
	return parse_l4(l3 + hdr_len, end, iph->protocol, pi);
}

static __always_inline int parse_ipv6(void *l3, void *end, struct packet_info *pi)
{
	struct ipv6hdr *ip6h = l3;
	void *cursor = ip6h + 1;
	__u8 next;
	int i;

	if (cursor > end)
		return PARSE_MALFORMED;
	/* The source is readable: whatever is wrong past here is charged to it. */
	pi->family = 6;
	__builtin_memcpy(pi->saddr, &ip6h->saddr, sizeof(pi->saddr));
	if (ip6h->version != 6)
		return PARSE_MALFORMED;
	/* payload_len 0 means a jumbogram; otherwise the frame must hold it */
	if (ip6h->payload_len && cursor + bpf_ntohs(ip6h->payload_len) > end)
		return PARSE_MALFORMED;
	next = ip6h->nexthdr;

	for (i = 0; i < RW_MAX_EXT_HDRS; i++) {
		struct ipv6_opt_hdr *opt = cursor;

		switch (next) {
		case IPPROTO_HOPOPTS_:
		case IPPROTO_ROUTING_:
		case IPPROTO_DSTOPTS_:
			if ((void *)(opt + 1) > end)
				return PARSE_MALFORMED;
			next = opt->nexthdr;
			cursor += (opt->hdrlen + 1) * 8;
			break;
		case IPPROTO_AH_:
			if ((void *)(opt + 1) > end)
				return PARSE_MALFORMED;
			next = opt->nexthdr;
			cursor += (opt->hdrlen + 2) * 4;
			break;
		case IPPROTO_FRAGMENT_: {
			struct frag_hdr *fh = cursor;

			if ((void *)(fh + 1) > end)
				return PARSE_MALFORMED;
			if (bpf_ntohs(fh->frag_off) & ~7)
				return PARSE_OK; /* later fragment: no ports */
			next = fh->nexthdr;
			cursor = fh + 1;
			break;
		}
		default:
			return parse_l4(cursor, end, next, pi);
		}
	}
	/* Too many extension headers to reach the ports: per-source only. */
	return PARSE_OK;
}

static __always_inline int parse_packet(void *data, void *end, struct packet_info *pi)
{
	struct ethhdr *eth = data;
	void *cursor = eth + 1;
	__be16 proto;
	int i;

	if (cursor > end)
		return PARSE_MALFORMED;
	proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < 2; i++) {
		struct vlan_tag *tag = cursor;

		if (proto != ETH_P_8021Q_BE && proto != ETH_P_8021AD_BE)
			break;
		if ((void *)(tag + 1) > end)
			return PARSE_MALFORMED;
		proto = tag->proto;
		cursor = tag + 1;
	}
	/* A third tag is beyond what we parse: unreadable, not "non-IP". */
	if (proto == ETH_P_8021Q_BE || proto == ETH_P_8021AD_BE)
		return PARSE_MALFORMED;

	if (proto == ETH_P_IP_BE)
		return parse_ipv4(cursor, end, pi);
	if (proto == ETH_P_IPV6_BE)
		return parse_ipv6(cursor, end, pi);
	return PARSE_NON_IP;
}

#endif /* RATEWALL_PARSE_H */
