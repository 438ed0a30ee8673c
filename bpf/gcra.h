/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * GCRA, the virtual-scheduling form of the token bucket: one 64-bit
 * theoretical arrival time (TAT) per key. A packet is admitted when the
 * TAT it would leave behind is at most `window` ahead of now; the new TAT
 * is stored with compare-and-swap so that CPUs racing on one key never
 * admit more than burst + rate * t (+1) between them.
 */
#ifndef RATEWALL_GCRA_H
#define RATEWALL_GCRA_H

#include "vmlinux.h"
#include "ratewall.h"

enum gcra_result {
	GCRA_ADMIT = 0,
	GCRA_REFUSE,
	GCRA_CONTENDED,
};

static __always_inline int gcra_take(__u64 *tat_slot, __u64 now,
				     __u64 interval, __u64 window)
{
	int i;

	/* Kept a loop: ten unrolled copies tripled the program for no speed. */
#pragma clang loop unroll(disable)
	for (i = 0; i < RW_CAS_RETRIES; i++) {
		__u64 tat = *(volatile __u64 *)tat_slot;
		__u64 next = (tat > now ? tat : now) + interval;

		if (next - now > window) {
			/*
			 * A refusal costs nothing, with one exception: debt beyond what
			 * the current limits allow can only come from an earlier, stricter
			 * configuration, so it is cut to "bucket empty now" and a rate
			 * change applies at the next packet. `now` is read afresh so a CPU
			 * that was held up cannot cut another CPU's fresh TAT.
			 */
			if (tat - now > window + interval) {
				__u64 fresh = bpf_ktime_get_ns() << RW_TICK_SHIFT;

				if (tat > fresh && tat - fresh > window + interval)
					__sync_val_compare_and_swap(tat_slot, tat, fresh + window);
			}
			return GCRA_REFUSE;
		}
		if (__sync_val_compare_and_swap(tat_slot, tat, next) == tat)
			return GCRA_ADMIT;
	}
	return GCRA_CONTENDED;
}

#endif /* RATEWALL_GCRA_H */
