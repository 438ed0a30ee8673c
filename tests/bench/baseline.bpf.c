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
