// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "clocks.h"
#include "live_rates.h"
#include "map_mmap.h"
#include "percpu.h"
#include "policy_apply.h"
#include "quota_share.h"

/*
 * XDP programs run inside RCU read-side sections. The kernel promises that
 * an update of a map-of-maps from userspace returns only after every BPF
 * program running at the time has finished (it waits for an RCU grace
 * period), so one such update on a throwaway map-of-maps is the wait: once
 * it returns, no packet that read the old slot index is still running.
 */
static int wait_for_packets_in_flight(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	int inner, outer = -1, err = 0;
	uint32_t zero = 0;

	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "rw_grace_in", sizeof(uint32_t),
			       sizeof(uint32_t), 1, NULL);
	if (inner >= 0) {
		opts.inner_map_fd = inner;
		outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "rw_grace", sizeof(uint32_t),
				       sizeof(uint32_t), 1, &opts);
	}
	if (inner < 0 || outer < 0 || bpf_map_update_elem(outer, &zero, &inner, BPF_ANY))
		err = -errno;
	if (outer >= 0)
		close(outer);
	if (inner >= 0)
		close(inner);
	if (err)
		rw_err("cannot wait for packets in flight (map-of-maps update): %s",
		       strerror(-err));
	return err;
}

static int update_batch(int fd, uint32_t *keys, const void *values, uint32_t count,
			const char *what)
{
	uint32_t n = count;

	if (bpf_map_update_batch(fd, keys, values, &n, NULL)) {
		int err = -errno;

		rw_err("cannot write the %s of the new policy: %s", what, strerror(-err));
		return err;
	}
	return 0;
}

static int write_ports(int fd, uint32_t slot, const struct policy_image *img)
{
	uint32_t keys[RW_PROTO_MAX * RW_PORT_ENTRIES_PER_PROTO];

	for (uint32_t proto = 0; proto < RW_PROTO_MAX; proto++)
		for (uint32_t i = 0; i < RW_PORT_ENTRIES_PER_PROTO; i++)
			keys[proto * RW_PORT_ENTRIES_PER_PROTO + i] =
				rw_port_index(slot, proto, i * RW_PORTS_PER_ENTRY);
	return update_batch(fd, keys, img->ports, RW_PROTO_MAX * RW_PORT_ENTRIES_PER_PROTO,
			    "port table");
}

static int write_tenants(int fd, uint32_t slot, const struct policy_image *img)
{
	uint32_t keys[RW_MAX_TENANTS];

	for (uint32_t t = 0; t < RW_MAX_TENANTS; t++)
		keys[t] = rw_tenant_index(slot, t);
	return update_batch(fd, keys, img->tenants, RW_MAX_TENANTS, "tenant limits");
}

/*
 * The new slot's shared buckets. A bucket the live policy shares under the
 * same name keeps what the fleet knows of it (gateways, degraded time),
 * and its share and lease when its limit is unchanged, so an apply does
 * not drop a gateway to its safe share until the next sync.
 */
static int write_quotas(const struct policy_maps *m, uint32_t live_slot, uint32_t slot,
			const struct policy_image *img, bool fresh)
{
	struct rw_quota old[RW_MAX_QUOTAS], next[RW_MAX_QUOTAS];
	uint32_t keys[RW_MAX_QUOTAS];

	memcpy(next, img->quotas, sizeof(next));
	for (uint32_t id = 0; id < RW_MAX_QUOTAS; id++) {
		uint32_t from = rw_quota_index(live_slot, id);

		keys[id] = rw_quota_index(slot, id);
		if (fresh || !img->n_quotas)
			old[id].name[0] = 0;
		else if (bpf_map_lookup_elem(m->quotas_fd, &from, &old[id])) {
			int err = -errno;

			rw_err("cannot read the live policy's shared buckets: %s", strerror(-err));
			return err;
		}
	}
	for (uint32_t id = 1; id <= img->n_quotas && id < RW_MAX_QUOTAS; id++) {
		struct rw_quota *q = &next[id];

		for (uint32_t o = 1; o < RW_MAX_QUOTAS; o++) {
			const struct rw_quota *was = &old[o];

			if (!was->name[0] || strncmp(was->name, q->name, sizeof(q->name)))
				continue;
			q->replicas = was->replicas;
			q->synced_at_ns = was->synced_at_ns;
			q->safe_since_ns = was->safe_since_ns;
			q->degraded_ns = was->degraded_ns;
			q->to_safe = was->to_safe;
			q->safe = quota_safe_word(q->limit, q->safe_ppm, q->replicas);
			if (was->limit == q->limit) {
				q->share = was->share;
				q->share_mrate = was->share_mrate;
				q->lease_until = was->lease_until;
			}
			break;
		}
	}
	/* what reached the slot's buckets when it was last live (another
	 * policy's, maybe other buckets under these ids) is not theirs */
	{
		static const struct rw_quota_count zero;
		int err = percpu_set_range(m->quota_counts_fd, rw_quota_index(slot, 0), RW_MAX_QUOTAS,
					   &zero, sizeof(zero));

		if (err) {
			rw_err("cannot reset the shared buckets' counts: %s", strerror(-err));
			return err;
		}
	}
	return update_batch(m->quotas_fd, keys, next, RW_MAX_QUOTAS, "shared buckets");
}

/* Empties the trie of one slot; the other slot's prefixes stay. */
static int clear_cidrs(int fd, uint32_t slot)
{
	struct rw_cidr_key key, next, *doomed = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (next.slot == slot) {
			if (n == cap) {
				struct rw_cidr_key *grown;

				cap = cap ? cap * 2 : 256;
				grown = realloc(doomed, cap * sizeof(*doomed));
				if (!grown) {
					free(doomed);
					rw_err("out of memory clearing the inactive policy's prefixes");
					return -ENOMEM;
				}
				doomed = grown;
			}
			doomed[n++] = next;
		}
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < n && !err; i++)
		if (bpf_map_delete_elem(fd, &doomed[i]) && errno != ENOENT)
			err = -errno;
	free(doomed);
	if (err)
		rw_err("cannot clear the prefixes of the inactive policy: %s", strerror(-err));
	return err;
}

static int write_cidrs(int fd, uint32_t slot, const struct policy_image *img)
{
	for (size_t i = 0; i < img->n_cidrs; i++) {
		const struct policy_image_cidr *c = &img->cidrs[i];
		struct rw_cidr_key key = {
			.prefixlen = RW_CIDR_KEY_HEAD_BITS + c->prefix,
			.slot = (uint8_t)slot,
			.family = c->family,
		};

		memcpy(key.addr, c->addr, sizeof(key.addr));
		if (bpf_map_update_elem(fd, &key, &c->info, BPF_ANY)) {
			int err = -errno;

			rw_err("cannot write the prefixes of the new policy: %s", strerror(-err));
			return err;
		}
	}
	return 0;
}

/* The text in whole chunks; chunks a longer earlier text left are deleted. */
static int write_text(int fd, uint32_t slot, const struct policy_image *img)
{
	uint32_t chunks = (uint32_t)((img->text_len + RW_POLICY_TEXT_CHUNK - 1) / RW_POLICY_TEXT_CHUNK);
	struct rw_policy_text *chunk;
	int err = 0;

	if (img->text_len > (size_t)RW_POLICY_TEXT_CHUNK * RW_POLICY_TEXT_CHUNKS) {
		rw_err("the policy's text is %zu bytes, more than the %u that are kept",
		       img->text_len, RW_POLICY_TEXT_CHUNK * RW_POLICY_TEXT_CHUNKS);
		return -E2BIG;
	}
	chunk = malloc(sizeof(*chunk));
	if (!chunk) {
		rw_err("out of memory writing the text of the new policy");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < chunks && !err; i++) {
		uint32_t key = rw_policy_text_key(slot, i);
		size_t off = (size_t)i * RW_POLICY_TEXT_CHUNK, n = img->text_len - off;

		memset(chunk, 0, sizeof(*chunk));
		memcpy(chunk->bytes, img->text + off, n < sizeof(chunk->bytes) ? n : sizeof(chunk->bytes));
		if (bpf_map_update_elem(fd, &key, chunk, BPF_ANY))
			err = -errno;
	}
	free(chunk);
	/* Whatever a longer earlier text left in this slot goes. */
	for (uint32_t i = chunks; !err && i < RW_POLICY_TEXT_CHUNKS; i++) {
		uint32_t key = rw_policy_text_key(slot, i);

		if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
			err = -errno;
	}
	if (err)
		rw_err("cannot write the text of the new policy: %s", strerror(-err));
	return err;
}

char *policy_text_read(const struct policy_maps *m, uint32_t slot, uint32_t len)
{
	struct rw_policy_text *chunk = malloc(sizeof(*chunk));
	char *text = malloc((size_t)len + 1);

	if (!chunk || !text)
		goto fail;
	for (uint32_t i = 0; (size_t)i * RW_POLICY_TEXT_CHUNK < len; i++) {
		uint32_t key = rw_policy_text_key(slot, i);
		size_t off = (size_t)i * RW_POLICY_TEXT_CHUNK, n = len - off;

		if (bpf_map_lookup_elem(m->text_fd, &key, chunk))
			goto fail;
		memcpy(text + off, chunk->bytes, n < sizeof(chunk->bytes) ? n : sizeof(chunk->bytes));
	}
	text[len] = '\0';
	free(chunk);
	return text;
fail:
	free(chunk);
	free(text);
	return NULL;
}

/* Class ids whose name the new policy changes: their shared state starts afresh. */
static void renamed_classes(const struct rw_policy *old, const struct policy_image *img,
			    bool renamed[RW_MAX_CLASSES])
{
	for (uint32_t c = 0; c < RW_MAX_CLASSES; c++)
		renamed[c] = strncmp(old->class_names[c], img->policy.class_names[c], RW_NAME_MAX) != 0;
}

/*
 * Fills the new slot's tenant states from the live slot's, by name (see
 * rw_tenant_state): a tenant keeps its buckets wherever its id went, a new
 * name starts full, and in a renamed class every tenant's buckets of that
 * class start full. Runs just before the switch; what tenants spend in
 * between (a few system calls' time) is not carried.
 */
static int seed_tenant_state(const struct policy_maps *m, uint32_t live_slot, uint32_t slot,
			     const struct rw_policy *old, const struct policy_image *img,
			     const bool renamed[RW_MAX_CLASSES])
{
	char (*names)[RW_NAME_MAX] = calloc(RW_MAX_TENANTS, RW_NAME_MAX);
	int err = names ? 0 : -ENOMEM;

	for (uint32_t s = 1; !err && s <= old->n_tenants && s < RW_MAX_TENANTS; s++) {
		uint32_t from = rw_tenant_index(live_slot, s);
		struct rw_tenant_limits limits;

		if (bpf_map_lookup_elem(m->tenants_fd, &from, &limits))
			err = -errno;
		else
			memcpy(names[s], limits.name, RW_NAME_MAX);
	}
	for (uint32_t t = 1; !err && t <= img->policy.n_tenants && t < RW_MAX_TENANTS; t++) {
		struct rw_tenant_state next = { 0 };
		uint32_t idx = rw_tenant_index(slot, t);

		for (uint32_t s = 1; s <= old->n_tenants && s < RW_MAX_TENANTS; s++) {
			uint32_t from = rw_tenant_index(live_slot, s);

			if (strncmp(names[s], img->tenants[t].name, RW_NAME_MAX))
				continue;
			if (bpf_map_lookup_elem(m->tenant_state_fd, &from, &next))
				err = -errno;
			break;
		}
		for (uint32_t c = 0; c < RW_MAX_CLASSES; c++)
			if (renamed[c])
				next.class_pkt_tat[c] = next.class_syn_tat[c] = 0;
		if (!err && bpf_map_update_elem(m->tenant_state_fd, &idx, &next, BPF_ANY))
			err = -errno;
	}
	free(names);
	return err;
}

/*
 * After the switch, a class id whose name changed starts afresh: its
 * class-wide buckets full and its counters at zero. After, so that no
 * packet of the old policy spends from the fresh state.
 */
static int reset_renamed(const struct policy_maps *m, const bool renamed[RW_MAX_CLASSES])
{
	static const struct rw_class_state empty_class;
	static const struct rw_counter zero;
	int err;

	for (uint32_t c = 0; c < RW_MAX_CLASSES; c++) {
		if (!renamed[c])
			continue;
		if (bpf_map_update_elem(m->class_state_fd, &c, &empty_class, BPF_ANY))
			return -errno;
		/* a renamed id starts counting afresh */
		err = percpu_set_class(m->counters_fd, c, &zero, sizeof(zero));
		if (err)
			return err;
	}
	/* Event entries of the old class would be written under the new name. */
	return event_entries_forget_classes(&m->events, renamed);
}

int policy_read_active(const struct policy_maps *m, uint32_t *slot, struct rw_policy *out)
{
	struct rw_config cfg;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(m->config_fd, &zero, &cfg))
		return -errno;
	*slot = cfg.policy_slot & (RW_POLICY_SLOTS - 1);
	if (bpf_map_lookup_elem(m->policy_fd, slot, out))
		return -errno;
	return 0;
}

static int flip(int config_fd, uint32_t slot)
{
	struct rw_config *live;
	size_t len;

	live = map_mmap(config_fd, sizeof(*live), &len);
	if (!live) {
		int err = -errno;

		rw_err("cannot map the configuration to switch policies: %s", strerror(-err));
		return err;
	}
	__atomic_store_n(&live->policy_slot, slot, __ATOMIC_RELEASE);
	munmap(live, len);
	return 0;
}

int policy_install(const struct policy_maps *m, const struct policy_image *img,
		   enum policy_install_kind kind)
{
	bool fresh = kind == POLICY_FRESH;
	struct rw_policy old, next = img->policy;
	bool renamed[RW_MAX_CLASSES];
	uint32_t active = 0, target = 0;
	int err;

	/* adaptive classes go on at the control loop's live multipliers */
	err = live_rates_seed(m->adapt_fd, img, &next);
	if (err) {
		rw_err("cannot read the control loop's multipliers: %s", strerror(-err));
		return err;
	}
	if (!fresh) {
		err = policy_read_active(m, &active, &old);
		if (err) {
			rw_err("cannot read the live policy: %s", strerror(-err));
			return err;
		}
		target = active ^ 1;
		err = wait_for_packets_in_flight();
		if (err)
			return err;
	}
	err = write_ports(m->ports_fd, target, img);
	if (!err)
		err = write_tenants(m->tenants_fd, target, img);
	if (!err)
		err = write_quotas(m, active, target, img, fresh);
	if (!err)
		err = clear_cidrs(m->cidrs_fd, target);
	if (!err)
		err = write_cidrs(m->cidrs_fd, target, img);
	if (!err)
		err = write_text(m->text_fd, target, img);
	if (err)
		return err;
	next.generation = fresh ? 1 : old.generation + 1;
	next.applied_at_ns = realtime_ns();
	next.live_edits = kind == POLICY_EDIT ? old.live_edits + 1 : 0;
	next.text_len = (uint32_t)img->text_len;
	if (bpf_map_update_elem(m->policy_fd, &target, &next, BPF_ANY)) {
		err = -errno;
		rw_err("cannot write the new policy: %s", strerror(-err));
		return err;
	}
	if (fresh)
		return 0;
	renamed_classes(&old, img, renamed);
	err = seed_tenant_state(m, active, target, &old, img, renamed);
	if (err) {
		rw_err("cannot carry the tenants' buckets into the new policy: %s", strerror(-err));
		return err;
	}
	err = flip(m->config_fd, target);
	if (err)
		return err;
	err = wait_for_packets_in_flight();
	if (!err)
		err = reset_renamed(m, renamed);
	if (err)
		rw_err("the new policy is live, but the buckets and counters of renamed classes "
		       "were not reset: %s", strerror(-err));
	return err;
}

int policy_compile_and_install(const struct policy_maps *m, const struct policy *p, bool fresh)
{
	struct policy_image *img = policy_image_new(p);
	int err = img ? policy_install(m, img, fresh ? POLICY_FRESH : POLICY_REPLACE) : -ENOMEM;

	policy_image_delete(img);
	return err;
}
