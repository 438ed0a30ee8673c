/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Counting into the per-source connection table, exact on many CPUs. */
#ifndef RATEWALL_CONN_COUNT_H
#define RATEWALL_CONN_COUNT_H

#include "conn_maps.h"

#ifndef EEXIST
#define EEXIST 17
#endif

/*
 * Adds `delta` (+1 or -1) to a source's count; 0 or the rw_conn_event
 * saying why it could not. One atomic add does it; a count reaching zero
 * retires its entry (see ratewall.h), and what other CPUs counted into it
 * meanwhile is carried to a fresh entry by the next iterations. No step
 * waits for another CPU: an iteration is repeated only when another CPU
 * made or deleted the entry in between.
 */
static __always_inline __u32 conn_add(const struct rw_src_key *key, __s64 delta)
{
	const __u64 live_zero = rw_conn_word(RW_CONN_LIVE, 0);
	__s64 todo = delta;

	for (int i = 0; i < RW_CONN_RETRIES && todo; i++) {
		__u64 *w = bpf_map_lookup_elem(&rw_conns, key);
		__u64 old, last, fresh = rw_conn_word(RW_CONN_LIVE, todo);
		long err;

		if (!w) {
			err = bpf_map_update_elem(&rw_conns, key, &fresh, BPF_NOEXIST);
			if (!err)
				return 0;
			if (err == -EEXIST)
				continue;
			return RW_CONN_TABLE_FULL;
		}
		old = __sync_fetch_and_add(w, (__u64)todo << RW_CONN_STATE_BITS);
		/* Deleted since the lookup: nobody reads that word any more. */
		if (rw_conn_state(old) == RW_CONN_GONE)
			continue;
		if (rw_conn_state(old) != RW_CONN_LIVE || rw_conn_open(old) + todo != 0)
			return 0;
		todo = 0;
		if (__sync_val_compare_and_swap(w, live_zero, rw_conn_word(RW_CONN_RETIRING, 0)) !=
		    live_zero)
			break;
		bpf_map_delete_elem(&rw_conns, key);
		last = __sync_lock_test_and_set(w, rw_conn_word(RW_CONN_GONE, 0));
		todo = rw_conn_open(last);
	}
	return todo ? RW_CONN_LOST : 0;
}

#endif /* RATEWALL_CONN_COUNT_H */
