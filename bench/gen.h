/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Pacing state shared by the generator program (gen.bpf.c) and xdp_gen. */
#ifndef RW_BENCH_GEN_H
#define RW_BENCH_GEN_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define GEN_SLOTS 64
/* A pause in sending longer than this is a stall: the receiver's buckets
 * refill only up to their burst meanwhile, which accuracy checks allow for. */
#define GEN_STALL_NS 1000000ULL

/* One per CPU and one cache line each, so generator threads never share
 * a line they write. */
struct gen_pace {
	__u64 next_due;   /* when the next frame may leave */
	__u64 sent;       /* frames handed to XDP_TX */
	__u64 first_ns;   /* first and last send, CLOCK_MONOTONIC */
	__u64 last_ns;
	__u64 stall_ns;   /* time in gaps longer than GEN_STALL_NS */
	__u32 stalls;     /* how many such gaps */
	__u32 index;      /* next source */
	__u32 credit;     /* frames due and not yet sent */
	__u32 idle;       /* repetitions since the clock was last read */
	__u32 pad[2];
};

#endif
