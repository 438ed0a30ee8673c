// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Benchmark helper: gives each BPF_PROG_TEST_RUN repetition a different
 * source address, then tail-calls the program under test. With `sources`
 * N > 0 the sources repeat round robin (N known sources); with 0 every
 * packet brings a source not seen before (a spoofed flood). IPv4 sources
 * come from 198.18.0.0/15 (at most 131072), IPv6 sources differ in bits
 * 32..63 of 2001:db8::/32, so each is a /64 of its own.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target SEC(".maps");

/* Written by the benchmark between runs; test runs use one CPU. */
__u32 sources = 1;
__u32 next_index;

SEC("xdp")
int rotate_source(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 i = next_index++;

	if (sources)
		i %= sources;
	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	if (eth->h_proto == bpf_htons(0x0800)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return XDP_ABORTED;
		ip->saddr = bpf_htonl(0xC6120000 + (i & 0x1ffff));
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return XDP_ABORTED;
		ip6->saddr.in6_u.u6_addr32[1] = bpf_htonl(i);
	}
	bpf_tail_call(ctx, &target, 0);
	return XDP_ABORTED;
}
