// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Traffic generator for the veth testbed, run by BPF_PROG_TEST_RUN with
 * live frames. Pacing happens here, per CPU: a repetition that comes
 * before the next frame is due is dropped unsent, so the generator spins
 * at the set rate without a syscall per frame. A frame that is due gets
 * a new source
 * (round robin over `sources` addresses); the checksums are kept right so the
 * receiving stack treats the packet as genuine, and sends it with XDP_TX
 * out of the generator's veth to its peer. IPv4 sources are 198.18.0.0 + i
 * (i < 131072 stays inside 198.18.0.0/15); IPv6 sources put i in bits
 * 32..63 of 2001:db8::/32, one /64 each.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "gen.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the driver before the run. */
__u32 sources = 1;
__u64 gap_ns = 1000;      /* per CPU: 1e9 / (pps per thread) */
struct gen_pace pace[GEN_SLOTS];

/* Late by more than this, the schedule restarts instead of bursting to
 * catch up (a test run call pauses for milliseconds between chunks). */
#define MAX_LAG_NS 20000
#define CLOCK_EVERY 8
#define MAX_CREDIT 32

static __always_inline __u16 fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int gen_rotate(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct gen_pace *p = &pace[bpf_get_smp_processor_id() & (GEN_SLOTS - 1)];
	__u64 now, due;
	__u32 i;

	/*
	 * Credit pacing: the clock is read only every CLOCK_EVERY idle
	 * repetitions, and each reading grants every frame that has come due
	 * since (at most MAX_CREDIT), so the generator spends its time sending.
	 */
	if (p->credit) {
		p->credit--;
		goto send;
	}
	if (++p->idle % CLOCK_EVERY)
		return XDP_DROP;
	now = bpf_ktime_get_ns();
	if (now < p->next_due)
		return XDP_DROP;
	if (!p->next_due || now - p->next_due > MAX_LAG_NS)
		p->next_due = now;
	due = (now - p->next_due) / gap_ns + 1;
	if (due > MAX_CREDIT)
		due = MAX_CREDIT;
	p->next_due += due * gap_ns;
	p->credit = due - 1;
	if (!p->first_ns)
		p->first_ns = now;
	else if (now - p->last_ns > GEN_STALL_NS) {
		p->stall_ns += now - p->last_ns;
		p->stalls++;
	}
	p->last_ns = now;
send:
	p->sent++;
	i = p->index++;
	if (p->index >= sources)
		p->index = 0;
	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	if (eth->h_proto == bpf_htons(0x0800)) {
		struct iphdr *ip = (void *)(eth + 1);
		__u16 *w = (void *)ip;
		__u64 sum = 0;

		if ((void *)(ip + 1) > end)
			return XDP_ABORTED;
		ip->saddr = bpf_htonl(0xC6120000 + (i & 0x1ffff));
		ip->check = 0;
#pragma unroll
		for (int k = 0; k < 10; k++)
			sum += w[k];
		ip->check = fold(sum);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct udphdr *udp = (void *)(ip6 + 1);
		__be32 old, new = bpf_htonl(i);
		__s64 diff;

		if ((void *)(udp + 1) > end)
			return XDP_ABORTED;
		old = ip6->saddr.in6_u.u6_addr32[1];
		ip6->saddr.in6_u.u6_addr32[1] = new;
		/* RFC 1624 incremental update of the UDP checksum. */
		diff = bpf_csum_diff(&old, 4, &new, 4, (__u16)~udp->check);
		if (diff < 0)
			return XDP_ABORTED;
		udp->check = fold((__u64)diff) ?: 0xffff;
	}
	return XDP_TX;
}
