/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The UDP frame every benchmark sends: Ethernet, IPv4 or IPv6, UDP with 18
 * bytes of payload, checksums right so a real stack accepts it.
 */
#ifndef RW_BENCH_UDP_FRAME_H
#define RW_BENCH_UDP_FRAME_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#define UDP_FRAME_PAYLOAD 18
#define UDP_FRAME_MAX 128

static inline uint16_t udp_frame_csum(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Writes the frame into buf (UDP_FRAME_MAX bytes) and returns its length,
 * or 0 when src or dst is not an address of `family`. dst_mac may be NULL.
 */
static inline unsigned int udp_frame_build(unsigned char *buf, int family,
					   const unsigned char *dst_mac, const char *src,
					   const char *dst, uint16_t dport)
{
	struct ethhdr *eth = (void *)buf;
	uint16_t udp_len = sizeof(struct udphdr) + UDP_FRAME_PAYLOAD;

	memset(buf, 0, UDP_FRAME_MAX);
	if (dst_mac)
		memcpy(eth->h_dest, dst_mac, ETH_ALEN);
	eth->h_source[0] = 0x02; /* locally administered, never a real NIC */
	eth->h_source[5] = 0x01;
	if (family == 4) {
		struct iphdr *ip = (void *)(eth + 1);
		struct udphdr *udp = (void *)(ip + 1);

		if (inet_pton(AF_INET, src, &ip->saddr) != 1 ||
		    inet_pton(AF_INET, dst, &ip->daddr) != 1)
			return 0;
		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->tot_len = htons(sizeof(*ip) + udp_len);
		udp->source = htons(40000);
		udp->dest = htons(dport);
		udp->len = htons(udp_len);
		ip->check = htons(udp_frame_csum(ip, sizeof(*ip), 0));
		return sizeof(*eth) + sizeof(*ip) + udp_len;
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct udphdr *udp = (void *)(ip6 + 1);
		uint8_t pseudo[40 + sizeof(struct udphdr) + UDP_FRAME_PAYLOAD];

		if (inet_pton(AF_INET6, src, &ip6->saddr) != 1 ||
		    inet_pton(AF_INET6, dst, &ip6->daddr) != 1)
			return 0;
		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->nexthdr = IPPROTO_UDP;
		ip6->hop_limit = 64;
		ip6->payload_len = htons(udp_len);
		udp->source = htons(40000);
		udp->dest = htons(dport);
		udp->len = htons(udp_len);
		/* Pseudo-header: addresses, length, next header; then UDP. */
		memset(pseudo, 0, sizeof(pseudo));
		memcpy(pseudo, &ip6->saddr, 16);
		memcpy(pseudo + 16, &ip6->daddr, 16);
		pseudo[34] = udp_len >> 8;
		pseudo[35] = udp_len & 0xff;
		pseudo[39] = IPPROTO_UDP;
		memcpy(pseudo + 40, udp, sizeof(*udp));
		udp->check = htons(udp_frame_csum(pseudo, sizeof(pseudo), 0));
		if (!udp->check)
			udp->check = 0xffff;
		return sizeof(*eth) + sizeof(*ip6) + udp_len;
	}
}

#endif
