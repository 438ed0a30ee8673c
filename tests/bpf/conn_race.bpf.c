// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Test-only programs around the per-source connection count that sockops
 * keeps (conn_count.h): run through BPF_PROG_TEST_RUN from threads pinned
 * to every CPU, they race opens, closes and entry deletions on one or two
 * keys, the way busy sources' connections do, and tally every change that
 * succeeded so that the test can check the table against them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ratewall.h"
#include "conn_count.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The keys the runs count under; set before a run. */
struct rw_src_key race_keys[2];
/* Changes that succeeded, by key. */
__u64 opened[2], closed[2];
/* Opens that failed, by rw_conn_event; closes that failed. */
__u64 failed[RW_CONN_EVENT_MAX];
__u64 closes_failed;

static __always_inline bool open_key(int k)
{
	__u32 why = conn_open_one(&race_keys[k & 1]);

	if (why < RW_CONN_EVENT_MAX && why)
		__sync_fetch_and_add(&failed[why], 1);
	else
		__sync_fetch_and_add(&opened[k & 1], 1);
	return !why;
}

static __always_inline void close_key(int k)
{
	if (conn_close_one(&race_keys[k & 1]))
		__sync_fetch_and_add(&closes_failed, 1);
	else
		__sync_fetch_and_add(&closed[k & 1], 1);
}

SEC("xdp")
int open_first(struct xdp_md *ctx)
{
	(void)ctx;
	open_key(0);
	return XDP_PASS;
}

SEC("xdp")
int open_second(struct xdp_md *ctx)
{
	(void)ctx;
	open_key(1);
	return XDP_PASS;
}

SEC("xdp")
int close_first(struct xdp_md *ctx)
{
	(void)ctx;
	close_key(0);
	return XDP_PASS;
}

/* A connection that opens and closes at once: the entry is made and
 * deleted on every run. */
SEC("xdp")
int flip_first(struct xdp_md *ctx)
{
	(void)ctx;
	if (open_key(0))
		close_key(0);
	return XDP_PASS;
}

/* The same on both keys in turn: a deleted entry's memory goes to the
 * other key's next insert, under CPUs still holding the old pointer. */
SEC("xdp")
int flip_both(struct xdp_md *ctx)
{
	(void)ctx;
	if (open_key(0))
		close_key(0);
	if (open_key(1))
		close_key(1);
	return XDP_PASS;
}
