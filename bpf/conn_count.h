/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Counting into the per-source connection table, exact on many CPUs even
 * though the kernel reuses a deleted entry's memory at once: see
 * rw_conn_entry in ratewall.h.
 */
#ifndef RATEWALL_CONN_COUNT_H
#define RATEWALL_CONN_COUNT_H

#include "conn_maps.h"

#ifndef EEXIST
#define EEXIST 17
#endif

/* The entry still holds `key` in the incarnation whose word is `word`. */
static __always_inline bool conn_entry_is(const struct rw_conn_entry *e, __u64 word,
					  const struct rw_src_key *key)
{
	return !rw_conn_gone(word) && rw_src_key_equal(&e->key, key);
}

/* One more open connection for `key`: 0, or the rw_conn_event saying why not. */
static __always_inline __u32 conn_open_one(const struct rw_src_key *key)
{
	for (int i = 0; i < RW_CONN_RETRIES; i++) {
		struct rw_conn_entry *e = bpf_map_lookup_elem(&rw_conns, key);
		__u64 old;
		long err;

		if (!e) {
			struct rw_conn_entry fresh = {
				.key = *key,
				.word = rw_conn_word(bpf_get_prandom_u32(), 1, 0),
			};

			err = bpf_map_update_elem(&rw_conns, key, &fresh, BPF_NOEXIST);
			if (!err)
				return 0;
			if (err == -EEXIST)
				continue;
			return RW_CONN_TABLE_FULL;
		}
		old = *(volatile __u64 *)&e->word;
		/* Gone (its deleter is between its mark and its delete) or
		 * already another key's: look again. */
		if (!conn_entry_is(e, old, key))
			continue;
		if (__sync_val_compare_and_swap(&e->word, old, old + RW_CONN_ONE) == old)
			return 0;
	}
	return RW_CONN_LOST;
}

/* One fewer; the change that reaches zero marks the entry gone and deletes it. */
static __always_inline __u32 conn_close_one(const struct rw_src_key *key)
{
	for (int i = 0; i < RW_CONN_RETRIES; i++) {
		struct rw_conn_entry *e = bpf_map_lookup_elem(&rw_conns, key);
		__u64 old, gone;

		/* The caller holds one of this key's counts, so its entry exists
		 * and is not at zero; anything else means the counts drifted. */
		if (!e)
			return RW_CONN_LOST;
		old = *(volatile __u64 *)&e->word;
		if (!conn_entry_is(e, old, key))
			continue;
		if (rw_conn_open(old) == 0)
			return RW_CONN_LOST;
		if (rw_conn_open(old) > 1) {
			if (__sync_val_compare_and_swap(&e->word, old, old - RW_CONN_ONE) == old)
				return 0;
			continue;
		}
		gone = rw_conn_word(rw_conn_incarnation(old), 0, 1);
		if (__sync_val_compare_and_swap(&e->word, old, gone) != old)
			continue;
		/* Nobody else deletes an entry this incarnation still holds, so
		 * the key's entry is this one. Should the delete fail, the entry
		 * lives on at zero. */
		if (bpf_map_delete_elem(&rw_conns, key))
			__sync_val_compare_and_swap(&e->word, gone,
						    rw_conn_word(rw_conn_incarnation(old), 0, 0));
		return 0;
	}
	return RW_CONN_LOST;
}

static __always_inline __u32 conn_add(const struct rw_src_key *key, int delta)
{
	return delta > 0 ? conn_open_one(key) : conn_close_one(key);
}

#endif /* RATEWALL_CONN_COUNT_H */
