/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Counting into the per-source connection table, exact on many CPUs even
 * though the kernel reuses a deleted entry's memory at once: see
 * rw_conn_entry in ratewall.h. Only these functions may change the table
 * (userspace has no compare-and-swap on its words).
 *
 * An open that reads a reused entry's word before its key relies on the
 * insert making the key visible no later than the word; the kernel copies
 * the value in order, which the race tests exercise but nothing promises.
 */
#ifndef RATEWALL_CONN_COUNT_H
#define RATEWALL_CONN_COUNT_H

#include "conn_maps.h"

#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef E2BIG
#define E2BIG 7
#endif

/* The entry still holds `key` in the incarnation whose word is `word`. */
static __always_inline bool conn_entry_is(const struct rw_conn_entry *e, __u64 word,
					  const struct rw_src_key *key)
{
	return !rw_conn_gone(word) && rw_src_key_equal(&e->key, key);
}

struct gone_wait {
	const struct rw_src_key *key;
};

/* bpf_loop step: stop once the key's entry is no longer a gone one. */
static long gone_wait_step(__u32 i, void *ctx)
{
	struct gone_wait *w = ctx;
	struct rw_conn_entry *e = bpf_map_lookup_elem(&rw_conns, w->key);

	(void)i;
	return !e || !rw_conn_gone(*(volatile __u64 *)&e->word);
}

/*
 * Give back one count held in entry `e` (the key's entry in the table, or
 * an entry an insert has filled and not yet linked, in which the inserter
 * still holds its own count). The change that leaves zero marks the entry
 * gone (unless an open came in meanwhile) and deletes it; should the
 * delete fail, the entry lives on at zero.
 */
static __always_inline void conn_put(struct rw_conn_entry *e, const struct rw_src_key *key)
{
	__u64 old, zero, gone;

	old = __sync_fetch_and_add(&e->word, -RW_CONN_ONE);
	if (rw_conn_open(old) != 1)
		return;
	zero = rw_conn_word(rw_conn_incarnation(old), 0, 0);
	gone = rw_conn_word(rw_conn_incarnation(old), 0, 1);
	if (__sync_val_compare_and_swap(&e->word, zero, gone) != zero)
		return;
	/* Nobody else deletes an entry this incarnation still holds, so the
	 * key's entry is this one. */
	if (bpf_map_delete_elem(&rw_conns, key))
		__sync_val_compare_and_swap(&e->word, gone, zero);
}

/*
 * One more open connection for `key`: 0, or the rw_conn_event saying why
 * not. A gone entry is one whose last close is deleting it: the wait for
 * that delete has a budget of its own (RW_CONN_GONE_WAIT lookups), far
 * larger than the compare-and-swap retries, so that a deleter held up by
 * an interrupt does not cost the count.
 */
static __always_inline __u32 conn_open_one(const struct rw_src_key *key)
{
	struct gone_wait w = { .key = key };

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
			return err == -E2BIG ? RW_CONN_TABLE_FULL : RW_CONN_LOST;
		}
		old = *(volatile __u64 *)&e->word;
		if (rw_conn_gone(old)) {
			bpf_loop(RW_CONN_GONE_WAIT, gone_wait_step, &w, 0);
			continue;
		}
		/* Its memory went to another key since the lookup: look again. */
		if (!rw_src_key_equal(&e->key, key))
			continue;
		if (__sync_val_compare_and_swap(&e->word, old, old + RW_CONN_ONE) != old)
			continue;
		/* The word and key matched, but the lookup's entry may since have
		 * been deleted and its memory filled by an insert of this same key
		 * that has not linked it yet (the kernel copies the value before it
		 * links the element): a close now would not find the count. Keep
		 * it only in the entry the table holds for the key. */
		if (bpf_map_lookup_elem(&rw_conns, key) == e)
			return 0;
		conn_put(e, key);
	}
	return RW_CONN_LOST;
}

/*
 * One fewer. The caller holds one of the key's counts, so the key's entry
 * cannot be deleted or reused under it: one atomic subtract does it. The
 * close that leaves zero marks the entry gone (unless an open came in
 * meanwhile) and deletes it; should the delete fail, the entry lives on
 * at zero.
 */
static __always_inline __u32 conn_close_one(const struct rw_src_key *key)
{
	struct rw_conn_entry *e = bpf_map_lookup_elem(&rw_conns, key);
	__u64 old;

	/* No entry, or nothing in it: the counts drifted; change nothing. */
	if (!e)
		return RW_CONN_LOST;
	old = *(volatile __u64 *)&e->word;
	if (rw_conn_gone(old) || rw_conn_open(old) == 0)
		return RW_CONN_LOST;
	conn_put(e, key);
	return 0;
}

#endif /* RATEWALL_CONN_COUNT_H */
