// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* The floor every measurement is compared with: XDP that does nothing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int baseline_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

SEC("xdp")
int baseline_drop(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_DROP;
}

/* What reading the clock alone costs: every bucket decision needs it. */
SEC("xdp")
int baseline_clock(struct xdp_md *ctx)
{
	(void)ctx;
	return bpf_ktime_get_ns() ? XDP_PASS : XDP_DROP;
}

/*
 * Reads what any source-based filter must read (EtherType and source
 * address) and drops: the floor for a limiter on a real receive path,
 * where the packet's first cache line is cold and XDP_DROP never touches it.
 */
SEC("xdp")
int baseline_read_drop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	volatile __u32 sink;

	if (data + 14 + 16 > end)
		return XDP_DROP;
	sink = *(__u16 *)(data + 12) + *(__u32 *)(data + 14 + 12);
	(void)sink;
	return XDP_DROP;
}
