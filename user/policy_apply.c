// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>

#include "log.h"
#include "policy_apply.h"

/*
 * XDP programs run inside RCU read-side sections, and a global membarrier
 * waits for an RCU grace period: once it returns, no packet that read the
 * old slot index is still running. Kernels with nohz_full refuse it; a
 * pause far longer than any packet's run stands in there.
 */
static void wait_for_packets_in_flight(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 50 * 1000 * 1000 };

	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0)
		return;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
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

/* Zeroes (fills) the buckets of ids whose owner changed name. */
static int reset_renamed(const struct policy_maps *m, uint32_t old_slot,
			 const struct rw_policy *old, const struct policy_image *img)
{
	static const struct rw_tenant_state empty_tenant;
	static const struct rw_class_state empty_class;

	for (uint32_t c = 0; c < RW_MAX_CLASSES; c++) {
		if (strncmp(old->class_names[c], img->policy.class_names[c], RW_NAME_MAX) &&
		    bpf_map_update_elem(m->class_state_fd, &c, &empty_class, BPF_ANY))
			return -errno;
	}
	for (uint32_t t = 1; t < RW_MAX_TENANTS; t++) {
		struct rw_tenant_limits was;
		uint32_t idx = rw_tenant_index(old_slot, t);

		if (t > old->n_tenants && t > img->policy.n_tenants)
			break;
		if (bpf_map_lookup_elem(m->tenants_fd, &idx, &was))
			return -errno;
		if (strncmp(was.name, img->tenants[t].name, RW_NAME_MAX) &&
		    bpf_map_update_elem(m->tenant_state_fd, &t, &empty_tenant, BPF_ANY))
			return -errno;
	}
	return 0;
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
	size_t len = (sizeof(struct rw_config) + 4095) & ~(size_t)4095;
	struct rw_config *live;

	live = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, config_fd, 0);
	if (live == MAP_FAILED) {
		int err = -errno;

		rw_err("cannot map the configuration to switch policies: %s", strerror(-err));
		return err;
	}
	__atomic_store_n(&live->policy_slot, slot, __ATOMIC_RELEASE);
	munmap(live, len);
	return 0;
}

int policy_install(const struct policy_maps *m, const struct policy_image *img, bool fresh)
{
	struct rw_policy old, next = img->policy;
	uint32_t active = 0, target = 0;
	struct timespec now;
	int err;

	if (!fresh) {
		err = policy_read_active(m, &active, &old);
		if (err) {
			rw_err("cannot read the live policy: %s", strerror(-err));
			return err;
		}
		target = active ^ 1;
		wait_for_packets_in_flight();
	}
	err = write_ports(m->ports_fd, target, img);
	if (!err)
		err = write_tenants(m->tenants_fd, target, img);
	if (!err)
		err = clear_cidrs(m->cidrs_fd, target);
	if (!err)
		err = write_cidrs(m->cidrs_fd, target, img);
	if (err)
		return err;
	clock_gettime(CLOCK_REALTIME, &now);
	next.generation = fresh ? 1 : old.generation + 1;
	next.applied_at_ns = (uint64_t)now.tv_sec * RW_NS_PER_SEC + (uint64_t)now.tv_nsec;
	next.live_edits = 0;
	if (bpf_map_update_elem(m->policy_fd, &target, &next, BPF_ANY)) {
		err = -errno;
		rw_err("cannot write the new policy: %s", strerror(-err));
		return err;
	}
	if (fresh)
		return 0;
	/* Buckets are reset before the switch, so no packet of the new policy
	 * can meet a renamed id's old state. */
	err = reset_renamed(m, active, &old, img);
	if (err) {
		rw_err("cannot reset the buckets of renamed classes or tenants: %s",
		       strerror(-err));
		return err;
	}
	err = flip(m->config_fd, target);
	if (!err)
		wait_for_packets_in_flight();
	return err;
}
