/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Pacing state shared by the generator program (gen.bpf.c) and xdp_gen. */
#ifndef RW_BENCH_GEN_H
#define RW_BENCH_GEN_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define GEN_SLOTS 64

/* One per CPU and one cache line each, so generator threads never share
 * a line they write. */
struct gen_pace {
	__u64 next_due;   /* when the next frame may leave */
	__u64 sent;       /* frames handed to XDP_TX */
	__u64 first_ns;   /* first and last send, CLOCK_MONOTONIC */
	__u64 last_ns;
	__u32 index;      /* next source */
	__u32 credit;     /* frames due and not yet sent */
	__u32 idle;       /* repetitions since the clock was last read */
	__u32 pad[5];
};

#endif
