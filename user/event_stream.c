// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "event_stream.h"
#include "log.h"
#include "percpu.h"

/*
 * The packets of an entry not yet written, given its count now (`total`),
 * recorded as written. An account of an earlier incarnation of the entry
 * (another born_ns) counts as nothing written.
 */
static uint64_t take_unwritten(struct event_stream *s, const struct rw_event_key *key,
			       uint64_t born_ns, uint64_t total)
{
	struct rw_event_acct acct;
	uint64_t written = 0;

	if (bpf_map_lookup_elem(s->maps.acct_fd, key, &acct) == 0) {
		/* a late record of an entry made again since: written already */
		if (born_ns < acct.born_ns)
			return 0;
		if (acct.born_ns == born_ns)
			written = acct.written;
	}
	if (total <= written)
		return 0;
	acct.born_ns = born_ns;
	acct.written = total;
	/* Unrecorded, a line would be written again: keep the packets for a
	 * later record instead (never twice, at worst late). */
	if (bpf_map_update_elem(s->maps.acct_fd, key, &acct, BPF_ANY)) {
		s->acct_errors++;
		return 0;
	}
	return total - written;
}

static int on_ring_event(void *ctx, void *data, size_t size)
{
	struct event_stream *s = ctx;
	const struct rw_event *ev = data;
	struct event_record r;

	if (size < sizeof(*ev))
		return 0;
	r.key = ev->key;
	r.ts_ns = ev->ts_ns;
	memcpy(r.class_name, ev->class_name, sizeof(r.class_name));
	r.class_name[sizeof(r.class_name) - 1] = 0;
	r.hashed_client_ids = ev->hashed_client_ids ? 1 : 0;
	r.packets = take_unwritten(s, &ev->key, ev->born_ns, ev->packets);
	s->records++;
	if (r.packets)
		s->emit(&r, s->ctx);
	return 0;
}

int event_stream_open(struct event_stream *s, const struct event_maps *maps,
		      event_record_fn emit, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->maps = *maps;
	s->emit = emit;
	s->ctx = ctx;
	s->ring = ring_buffer__new(maps->ring_fd, on_ring_event, s, NULL);
	if (!s->ring) {
		int err = -errno;

		rw_err("cannot read the events ring buffer: %s", strerror(-err));
		return err;
	}
	return 0;
}

int event_stream_fd(const struct event_stream *s)
{
	return ring_buffer__epoll_fd(s->ring);
}

int event_stream_consume(struct event_stream *s)
{
	int n = ring_buffer__consume(s->ring);

	return n < 0 ? n : 0;
}

/* Forgets the accounts of entries gone from the table or made anew (other
 * sources' slots are never gone). */
static void forget_gone(struct event_stream *s)
{
	struct rw_event_key key, next;
	struct rw_event_entry e;
	struct rw_event_acct acct;
	bool more = bpf_map_get_next_key(s->maps.acct_fd, NULL, &next) == 0;

	while (more) {
		key = next;
		more = bpf_map_get_next_key(s->maps.acct_fd, &key, &next) == 0;
		if (!key.family || bpf_map_lookup_elem(s->maps.acct_fd, &key, &acct))
			continue;
		if (bpf_map_lookup_elem(s->maps.entries_fd, &key, &e) || e.born_ns != acct.born_ns)
			bpf_map_delete_elem(s->maps.acct_fd, &key);
	}
}

/* One entry's packets after its last event, when no event will carry them:
 * a recent event means the next refusal sends another. */
static void flush_entry(struct event_stream *s, const struct rw_event_key *key,
			const struct rw_event_entry *e, uint64_t now_ns, uint64_t interval_ns)
{
	struct event_record r;

	if (e->sent_ns && now_ns - e->sent_ns < interval_ns)
		return;
	r.key = *key;
	r.ts_ns = now_ns;
	r.class_name[0] = 0;
	r.hashed_client_ids = -1;
	r.packets = take_unwritten(s, key, e->born_ns, e->packets);
	if (r.packets) {
		s->flushed++;
		s->emit(&r, s->ctx);
	}
}

/* The other-sources slots: one key per class, reason, verdict and CPU. */
static int flush_other(struct event_stream *s, uint64_t now_ns, uint64_t interval_ns)
{
	int ncpus = libbpf_num_possible_cpus();
	struct rw_event_entry *per_cpu;
	int err = 0;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	per_cpu = calloc((size_t)ncpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	for (uint32_t idx = 0; idx < RW_COUNTER_SLOTS && !err; idx++) {
		struct rw_event_key key = {
			.class_id = (uint16_t)(idx / (RW_REASON_MAX * RW_VERDICT_MAX)),
			.reason = (uint8_t)(idx / RW_VERDICT_MAX % RW_REASON_MAX),
			.verdict = (uint8_t)(idx % RW_VERDICT_MAX),
		};

		if (bpf_map_lookup_elem(s->maps.other_fd, &idx, per_cpu)) {
			err = -errno;
			break;
		}
		for (int cpu = 0; cpu < ncpus; cpu++) {
			key.addr[0] = (uint32_t)cpu;
			if (per_cpu[cpu].packets)
				flush_entry(s, &key, &per_cpu[cpu], now_ns, interval_ns);
		}
	}
	free(per_cpu);
	return err;
}

int event_stream_flush(struct event_stream *s, uint64_t now_ns, uint32_t interval_ms)
{
	uint64_t interval_ns = (uint64_t)interval_ms * 1000000;
	struct rw_event_key key, next;
	struct rw_event_entry e;
	int err = bpf_map_get_next_key(s->maps.entries_fd, NULL, &next) ? -errno : 0;

	/* Events first: what they carry must not be written as a flush. */
	event_stream_consume(s);
	while (err == 0) {
		key = next;
		err = bpf_map_get_next_key(s->maps.entries_fd, &key, &next) ? -errno : 0;
		if (bpf_map_lookup_elem(s->maps.entries_fd, &key, &e) == 0)
			flush_entry(s, &key, &e, now_ns, interval_ns);
	}
	if (err != -ENOENT)
		return err;
	err = flush_other(s, now_ns, interval_ns);
	if (err)
		return err;
	/* an account whose entry is gone may still have an event in the ring */
	event_stream_consume(s);
	forget_gone(s);
	return 0;
}

_Static_assert(sizeof(struct rw_event_entry) == 3 * sizeof(uint64_t),
	       "event_other_packets reads an entry as three words");

int event_other_packets(const struct event_maps *maps, uint64_t out[RW_MAX_CLASSES])
{
	/* born, sent and packets of each slot, summed over CPUs: packets is the third */
	uint64_t *sums = calloc(RW_COUNTER_SLOTS * 3, sizeof(*sums));
	int err = sums ? percpu_sum(maps->other_fd, RW_COUNTER_SLOTS, 3, sums) : -ENOMEM;

	memset(out, 0, RW_MAX_CLASSES * sizeof(*out));
	for (uint32_t idx = 0; !err && idx < RW_COUNTER_SLOTS; idx++)
		out[idx / (RW_REASON_MAX * RW_VERDICT_MAX)] += sums[idx * 3 + 2];
	free(sums);
	return err;
}

void event_stream_close(struct event_stream *s)
{
	ring_buffer__free(s->ring);
	s->ring = NULL;
}

int event_stats_read(int stats_fd, uint64_t out[RW_EVSTAT_MAX])
{
	return percpu_sum(stats_fd, RW_EVSTAT_MAX, 1, out);
}
