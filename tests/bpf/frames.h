/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Frame crafting for the BPF tests. Everything is written byte by byte in
 * network order rather than through struct overlays, so that deliberately
 * broken headers (IHL < 5, short TCP offsets, lying lengths) are as easy to
 * produce as correct ones. Addresses must come from the documentation and
 * benchmarking ranges: 198.18.0.0/15 and 2001:db8::/32.
 */
#ifndef RW_TEST_FRAMES_H
#define RW_TEST_FRAMES_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FRAME_MAX 512

#define FR_ETH_HLEN 14
#define FR_IP4_HLEN 20
#define FR_IP6_HLEN 40
#define FR_TCP_HLEN 20
#define FR_UDP_HLEN 8
#define FR_VLAN_HLEN 4
#define FR_HBH_LEN 16  /* hop-by-hop header as built: hdrlen 1 */
#define FR_FRAG6_LEN 8

#define FR_TPID_8021Q 0x8100
#define FR_TPID_8021AD 0x88a8

#define FR_TCP_FIN 0x01
#define FR_TCP_SYN 0x02
#define FR_TCP_RST 0x04
#define FR_TCP_PSH 0x08
#define FR_TCP_ACK 0x10

#define FR_PROTO_HOPOPTS 0
#define FR_PROTO_TCP 6
#define FR_PROTO_UDP 17
#define FR_PROTO_FRAG6 44
#define FR_PROTO_ICMP6 58

struct frame_spec {
	int family;             /* 4 or 6; 0 builds an ARP request (non-IP) */
	const char *src;        /* textual source address */
	const char *dst;        /* textual destination; NULL picks a default */
	uint16_t vlan_tpid[3];  /* tags, outermost first; 0 ends the list */
	uint8_t l4;             /* FR_PROTO_TCP, FR_PROTO_UDP or anything else */
	uint8_t tcp_flags;
	uint8_t tcp_doff;       /* 0 means 5; written as given otherwise */
	uint8_t ihl;            /* 0 means 5; 1..4 still lay out 20 bytes */
	uint16_t frag_off;      /* fragment offset in 8-byte units (v4 and v6) */
	bool more_frags;
	bool v6_hbh;            /* prepend a hop-by-hop options header */
	bool v6_frag;           /* then a fragment header */
	uint16_t payload;       /* bytes after the L4 header */
	uint16_t dport;         /* 0 means 443 for TCP, 53 for UDP */
};

/* Where the pieces landed, so tests can corrupt a field after building. */
struct frame_layout {
	size_t l3;   /* IP (or ARP) header */
	size_t l4;   /* first byte after the IP header chain */
	size_t len;  /* whole frame */
};

static inline void fr_put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = v >> 8;
	p[off + 1] = v & 0xff;
}

static inline void fr_put32(uint8_t *p, size_t off, uint32_t v)
{
	fr_put16(p, off, v >> 16);
	fr_put16(p, off + 2, v & 0xffff);
}

static inline uint16_t fr_get16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] << 8 | p[off + 1]);
}

/* RFC 1071 sum; the program does not check it, but real stacks would. */
static inline uint16_t fr_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += fr_get16(p, i);
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Transport header plus payload; returns bytes written or 0 if no room. */
static inline size_t fr_l4(uint8_t *p, size_t room, const struct frame_spec *s)
{
	size_t hl = 0, n;

	if (s->l4 == FR_PROTO_TCP)
		hl = FR_TCP_HLEN;
	else if (s->l4 == FR_PROTO_UDP)
		hl = FR_UDP_HLEN;
	n = hl + s->payload;
	if (n > room)
		return 0;
	memset(p, 0, n);
	if (s->l4 == FR_PROTO_TCP) {
		fr_put16(p, 0, 40000);
		fr_put16(p, 2, s->dport ? s->dport : 443);
		fr_put32(p, 4, 1);
		p[12] = (uint8_t)((s->tcp_doff ? s->tcp_doff : 5) << 4);
		p[13] = s->tcp_flags;
		fr_put16(p, 14, 65535);
	} else if (s->l4 == FR_PROTO_UDP) {
		fr_put16(p, 0, 40000);
		fr_put16(p, 2, s->dport ? s->dport : 53);
		fr_put16(p, 4, (uint16_t)n);
	}
	/* A recognisable filler, never a valid header by accident. */
	memset(p + hl, 0xa5, s->payload);
	return n;
}

/* Later fragments carry only data: no transport header is laid out. */
static inline bool fr_later_fragment(const struct frame_spec *s)
{
	return s->frag_off != 0;
}

static inline size_t fr_ip4(uint8_t *p, size_t room, const struct frame_spec *s)
{
	uint8_t ihl = s->ihl ? s->ihl : 5;
	size_t hl = (ihl < 5 ? 5 : ihl) * 4u, n, i;
	struct in_addr sa, da;

	if (hl > room || inet_pton(AF_INET, s->src, &sa) != 1 ||
	    inet_pton(AF_INET, s->dst ? s->dst : "198.19.255.1", &da) != 1)
		return 0;
	if (fr_later_fragment(s)) {
		n = s->payload;
		if (hl + n > room)
			return 0;
		memset(p + hl, 0x5a, n);
	} else {
		n = fr_l4(p + hl, room - hl, s);
		if (!n && (s->l4 == FR_PROTO_TCP || s->l4 == FR_PROTO_UDP || s->payload))
			return 0;
	}
	memset(p, 0, hl);
	p[0] = (uint8_t)(0x40 | ihl);
	fr_put16(p, 2, (uint16_t)(hl + n));
	fr_put16(p, 4, 0x1234);
	fr_put16(p, 6, (uint16_t)((s->more_frags ? 0x2000 : 0) | (s->frag_off & 0x1fff)));
	p[8] = 64;
	p[9] = s->l4;
	memcpy(p + 12, &sa, 4);
	memcpy(p + 16, &da, 4);
	/* Options: NOPs then End, so a parser that ignores IHL reads NOPs as TCP. */
	for (i = FR_IP4_HLEN; i < hl; i++)
		p[i] = (i + 1 == hl) ? 0x00 : 0x01;
	fr_put16(p, 10, fr_csum(p, hl));
	return hl + n;
}

static inline size_t fr_ip6(uint8_t *p, size_t room, const struct frame_spec *s)
{
	size_t off = FR_IP6_HLEN, n;
	uint8_t *next = p + 6;

	if (room < FR_IP6_HLEN)
		return 0;
	memset(p, 0, FR_IP6_HLEN);
	p[0] = 0x60;
	p[7] = 64;
	if (inet_pton(AF_INET6, s->src, p + 8) != 1 ||
	    inet_pton(AF_INET6, s->dst ? s->dst : "2001:db8:ffff::1", p + 24) != 1)
		return 0;
	if (s->v6_hbh) {
		if (off + FR_HBH_LEN > room)
			return 0;
		*next = FR_PROTO_HOPOPTS;
		next = p + off;
		memset(p + off, 0, FR_HBH_LEN);
		p[off + 1] = 1; /* 16 bytes: a parser assuming 8 lands mid-header */
		/* Router Alert, then a PadN over the rest. */
		p[off + 2] = 5;
		p[off + 3] = 2;
		p[off + 6] = 1;
		p[off + 7] = 8;
		off += FR_HBH_LEN;
	}
	if (s->v6_frag) {
		if (off + FR_FRAG6_LEN > room)
			return 0;
		*next = FR_PROTO_FRAG6;
		next = p + off;
		memset(p + off, 0, FR_FRAG6_LEN);
		fr_put16(p, off + 2, (uint16_t)((s->frag_off << 3) | (s->more_frags ? 1 : 0)));
		fr_put32(p, off + 4, 0xdeadbeef);
		off += FR_FRAG6_LEN;
	}
	*next = s->l4;
	if (s->v6_frag && fr_later_fragment(s)) {
		n = s->payload;
		if (off + n > room)
			return 0;
		memset(p + off, 0x5a, n);
	} else {
		n = fr_l4(p + off, room - off, s);
		if (!n && (s->l4 == FR_PROTO_TCP || s->l4 == FR_PROTO_UDP || s->payload))
			return 0;
	}
	fr_put16(p, 4, (uint16_t)(off - FR_IP6_HLEN + n));
	return off + n;
}

static inline size_t fr_arp(uint8_t *p, size_t room, const struct frame_spec *s)
{
	struct in_addr sa, da;

	if (room < 28 || inet_pton(AF_INET, s->src, &sa) != 1 ||
	    inet_pton(AF_INET, s->dst ? s->dst : "198.19.255.1", &da) != 1)
		return 0;
	memset(p, 0, 28);
	fr_put16(p, 0, 1);      /* Ethernet */
	fr_put16(p, 2, 0x0800); /* IPv4 */
	p[4] = 6;
	p[5] = 4;
	fr_put16(p, 6, 1);      /* request */
	memcpy(p + 8, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(p + 14, &sa, 4);
	memcpy(p + 24, &da, 4);
	return 28;
}

/*
 * Builds the frame described by s into buf; returns its length, 0 if it
 * does not fit or an address does not parse. lay may be NULL.
 */
static inline size_t frame_build(uint8_t *buf, size_t cap, const struct frame_spec *s,
				 struct frame_layout *lay)
{
	size_t off = 12, n;
	uint16_t type;
	int i;

	if (cap < FR_ETH_HLEN)
		return 0;
	memset(buf, 0, cap);
	memcpy(buf, "\x02\x00\x00\x00\x00\x02", 6);
	memcpy(buf + 6, "\x02\x00\x00\x00\x00\x01", 6);
	for (i = 0; i < 3 && s->vlan_tpid[i]; i++) {
		if (off + FR_VLAN_HLEN + 2 > cap)
			return 0;
		fr_put16(buf, off, s->vlan_tpid[i]);
		fr_put16(buf, off + 2, (uint16_t)(100 + i)); /* VID */
		off += FR_VLAN_HLEN;
	}
	type = s->family == 4 ? 0x0800 : s->family == 6 ? 0x86dd : 0x0806;
	fr_put16(buf, off, type);
	off += 2;

	if (s->family == 4)
		n = fr_ip4(buf + off, cap - off, s);
	else if (s->family == 6)
		n = fr_ip6(buf + off, cap - off, s);
	else
		n = fr_arp(buf + off, cap - off, s);
	if (!n)
		return 0;
	if (lay) {
		lay->l3 = off;
		lay->l4 = off;
		if (s->family == 4) {
			uint8_t ihl = s->ihl ? s->ihl : 5;

			lay->l4 += (ihl < 5 ? 5 : ihl) * 4u;
		} else if (s->family == 6) {
			lay->l4 += FR_IP6_HLEN + (s->v6_hbh ? FR_HBH_LEN : 0) +
				   (s->v6_frag ? FR_FRAG6_LEN : 0);
		}
		lay->len = off + n;
	}
	return off + n;
}

#endif /* RW_TEST_FRAMES_H */
