// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Test-only programs around conn_add(), the per-source connection count
 * that sockops keeps: run through BPF_PROG_TEST_RUN from threads pinned to
 * every CPU, they race opens, closes and entry deletions on one key the
 * way a busy source's connections do.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ratewall.h"
#include "conn_count.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The key every run counts under; set before a run. */
struct rw_src_key race_key;
/* Why counting failed, by rw_conn_event. */
__u64 failed[RW_CONN_EVENT_MAX];

static __always_inline void add(__s64 delta)
{
	__u32 why = conn_add(&race_key, delta);

	if (why < RW_CONN_EVENT_MAX)
		__sync_fetch_and_add(&failed[why], why ? 1 : 0);
}

SEC("xdp")
int conn_open(struct xdp_md *ctx)
{
	(void)ctx;
	add(1);
	return XDP_PASS;
}

SEC("xdp")
int conn_close(struct xdp_md *ctx)
{
	(void)ctx;
	add(-1);
	return XDP_PASS;
}

/* A connection that opens and closes at once: the entry is made and
 * deleted on every run. */
SEC("xdp")
int conn_flip(struct xdp_md *ctx)
{
	(void)ctx;
	add(1);
	add(-1);
	return XDP_PASS;
}
