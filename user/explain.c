// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "attachment.h"
#include "explain.h"
#include "policy_show.h"
#include "quota_share.h"

/*
 * The program admits a packet when debt + interval <= window, debt being
 * how far the TAT is ahead of now (gcra.h). The TAT is read as stored: a
 * debt that an earlier, stricter limit left is cut only when a refused
 * packet arrives, so until one does, this is the wait.
 */
uint64_t bucket_tokens(uint64_t tat, uint64_t limit, uint64_t now)
{
	uint64_t interval = rw_limit_interval(limit), window = rw_limit_burst(limit) * interval;
	uint64_t debt = tat > now ? tat - now : 0;

	if (!limit || !interval || debt >= window)
		return 0;
	return (window - debt) / interval;
}

uint64_t bucket_wait_ns(uint64_t tat, uint64_t limit, uint64_t now)
{
	uint64_t interval = rw_limit_interval(limit), window = rw_limit_burst(limit) * interval;
	uint64_t debt = tat > now ? tat - now : 0;

	if (!limit || debt + interval <= window)
		return 0;
	return ((debt + interval - window) + (1ULL << RW_TICK_SHIFT) - 1) >> RW_TICK_SHIFT;
}

void explain_maps_of(const struct attachment *a, struct explain_maps *m)
{
	m->policy = a->maps;
	m->conns = a->conns;
	m->sources_fd = a->sources_fd;
	m->global_fd = a->global_fd;
}

void explain_source_key(const struct rw_config *cfg, uint8_t family, const uint32_t addr[4],
			uint32_t class_id, struct rw_src_key *key)
{
	memset(key, 0, sizeof(*key));
	key->family = family;
	key->class_id = (uint16_t)class_id;
	if (family == 4) {
		key->addr[0] = addr[0] & cfg->mask4;
		return;
	}
	for (int i = 0; i < 4; i++)
		key->addr[i] = addr[i] & cfg->mask6[i];
}

static struct explain_check *add_check(struct explain_result *r, const char *name,
				       enum rw_reason reason)
{
	struct explain_check *c;

	if (r->n_checks >= EXPLAIN_MAX_CHECKS)
		return NULL;
	c = &r->checks[r->n_checks++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->reason = reason;
	return c;
}

/* One bucket check; an absent bucket (limit 0) is not listed. */
static void bucket_check(struct explain_result *r, const char *name, enum rw_reason reason,
			 uint64_t tat, uint64_t limit, uint64_t now)
{
	struct explain_check *c;

	if (!limit)
		return;
	c = add_check(r, name, reason);
	if (!c)
		return;
	c->bucket = true;
	c->tokens = bucket_tokens(tat, limit, now);
	c->wait_ns = bucket_wait_ns(tat, limit, now);
	c->outcome = c->wait_ns ? EXPLAIN_REFUSE : EXPLAIN_PASS;
	limit_word_format(limit, c->detail, sizeof(c->detail));
}

static void cap_check(struct explain_result *r, const char *name, enum rw_reason reason,
		      uint64_t open, uint32_t cap)
{
	struct explain_check *c = add_check(r, name, reason);

	if (!c)
		return;
	c->outcome = open >= cap ? EXPLAIN_REFUSE : EXPLAIN_PASS;
	snprintf(c->detail, sizeof(c->detail), "%" PRIu64 " open, cap %u", open, cap);
}

static int lookup_cidr(const struct explain_maps *m, uint32_t slot,
		       const struct explain_packet *pkt, struct rw_cidr_info *info)
{
	struct rw_cidr_key key = {
		.prefixlen = RW_CIDR_KEY_HEAD_BITS + (pkt->family == 4 ? 32 : 128),
		.slot = (uint8_t)slot,
		.family = pkt->family,
	};

	memcpy(key.addr, pkt->addr, sizeof(key.addr));
	memset(info, 0, sizeof(*info));
	if (bpf_map_lookup_elem(m->policy.cidrs_fd, &key, info))
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

static uint32_t class_of(const struct explain_maps *m, const struct rw_policy *pol, uint32_t slot,
			 const struct explain_packet *pkt)
{
	struct rw_port_classes pc;
	uint32_t idx;

	if (pkt->proto >= RW_PROTO_MAX || !pol->has_ports)
		return 0;
	idx = rw_port_index(slot, pkt->proto, pkt->port);
	if (bpf_map_lookup_elem(m->policy.ports_fd, &idx, &pc))
		return 0;
	return pc.class_id[pkt->port % RW_PORTS_PER_ENTRY] & (RW_MAX_CLASSES - 1);
}

/* The source's own checks: connection cap, then its buckets (or, for a
 * source without an entry, the new-source budget). */
static int source_checks(const struct explain_maps *m, const struct rw_config *cfg,
			 const struct rw_class_limits *cl, const struct explain_packet *pkt,
			 uint64_t now, struct explain_result *r)
{
	uint64_t src_syn = pkt->syn ? cl->src_syn : 0;
	struct rw_src_state st = { 0 };
	struct rw_global_state g;
	uint32_t zero = 0;

	if (pkt->syn && cl->src_conn) {
		struct rw_conn_entry e;
		uint64_t open = 0;

		if (bpf_map_lookup_elem(m->conns.conns_fd, &r->key, &e) == 0 &&
		    !rw_conn_gone(e.word) && rw_src_key_equal(&e.key, &r->key))
			open = rw_conn_open(e.word);
		cap_check(r, "source connections", RW_REASON_SRC_CONN, open, cl->src_conn);
	}
	if (pkt->syn && cl->class_conn) {
		struct rw_class_conns cc = { 0 };

		if (bpf_map_lookup_elem(m->conns.class_conns_fd, &r->class_id, &cc) && errno != ENOENT)
			return -errno;
		cap_check(r, "class connections", RW_REASON_CLASS_CONN, cc.open, cl->class_conn);
	}
	if (!cl->src_pkt && !src_syn)
		return 0;
	r->known_source = bpf_map_lookup_elem(m->sources_fd, &r->key, &st) == 0;
	if (!r->known_source) {
		if (bpf_map_lookup_elem(m->global_fd, &zero, &g))
			return -errno;
		bucket_check(r, "new-source budget", RW_REASON_SRC_NEW, g.new_src_tat,
			     cfg->new_limit, now);
	}
	bucket_check(r, "source syn", RW_REASON_SRC_SYN, st.syn_tat, src_syn, now);
	bucket_check(r, "source packets", RW_REASON_SRC_PKT, st.pkt_tat, cl->src_pkt, now);
	return 0;
}

/* A bucket the fleet shares judges by this gateway's share under a live
 * lease, else by its safe share (rw_quota), as the program does. */
static uint64_t bucket_limit(const struct explain_maps *m, uint32_t slot, uint8_t quota,
			     uint64_t word, uint64_t now)
{
	uint32_t idx = rw_quota_index(slot, quota);
	struct rw_quota q;

	if (!quota || !word || bpf_map_lookup_elem(m->policy.quotas_fd, &idx, &q))
		return word;
	return quota_word_in_force(&q, now);
}

static int tenant_checks(const struct explain_maps *m, uint32_t slot,
			 const struct explain_packet *pkt, uint64_t now, struct explain_result *r)
{
	uint32_t idx = rw_tenant_index(slot, r->tenant_id), c = r->class_id;
	struct rw_tenant_limits tl;
	struct rw_tenant_state ts;

	if (bpf_map_lookup_elem(m->policy.tenants_fd, &idx, &tl) ||
	    bpf_map_lookup_elem(m->policy.tenant_state_fd, &idx, &ts))
		return -errno;
	snprintf(r->tenant_name, sizeof(r->tenant_name), "%s", tl.name);
	if (pkt->syn)
		bucket_check(r, "tenant syn in class", RW_REASON_TENANT_SYN, ts.class_syn_tat[c],
			     bucket_limit(m, slot, tl.quota_class_syn[c], tl.class_syn[c], now), now);
	bucket_check(r, "tenant packets in class", RW_REASON_TENANT_PKT, ts.class_pkt_tat[c],
		     bucket_limit(m, slot, tl.quota_class_pkt[c], tl.class_pkt[c], now), now);
	if (pkt->syn)
		bucket_check(r, "tenant syn", RW_REASON_TENANT_SYN, ts.syn_tat,
			     bucket_limit(m, slot, tl.quota_syn, tl.syn, now), now);
	bucket_check(r, "tenant packets", RW_REASON_TENANT_PKT, ts.pkt_tat,
		     bucket_limit(m, slot, tl.quota_pkt, tl.pkt, now), now);
	return 0;
}

static int class_checks(const struct explain_maps *m, uint32_t slot,
			const struct rw_class_limits *cl, const struct explain_packet *pkt, uint64_t now,
			struct explain_result *r)
{
	struct rw_class_state cs;

	if (!cl->class_pkt && !(pkt->syn && cl->class_syn))
		return 0;
	if (bpf_map_lookup_elem(m->policy.class_state_fd, &r->class_id, &cs))
		return -errno;
	if (pkt->syn)
		bucket_check(r, "class syn", RW_REASON_CLASS_SYN, cs.syn_tat,
			     bucket_limit(m, slot, cl->quota_syn, cl->class_syn, now), now);
	bucket_check(r, "class packets", RW_REASON_CLASS_PKT, cs.pkt_tat,
		     bucket_limit(m, slot, cl->quota_pkt, cl->class_pkt, now), now);
	return 0;
}

/* The verdict: the first refusal in the program's order decides; the wait
 * is until every check admits. */
static void conclude(struct explain_result *r, enum rw_class_mode mode)
{
	uint64_t wait = 0;
	bool timeless = false;

	r->verdict = RW_VERDICT_PASS;
	r->reason = RW_REASON_ADMITTED;
	for (unsigned int i = 0; i < r->n_checks; i++) {
		const struct explain_check *c = &r->checks[i];

		if (c->outcome == EXPLAIN_DECIDES) {
			r->reason = c->reason;
			break;
		}
		if (c->outcome != EXPLAIN_REFUSE)
			continue;
		if (r->verdict == RW_VERDICT_PASS) {
			r->verdict = mode == RW_CLASS_OBSERVE ? RW_VERDICT_WOULD_DROP : RW_VERDICT_DROP;
			r->reason = c->reason;
		}
		if (c->bucket)
			wait = c->wait_ns > wait ? c->wait_ns : wait;
		else
			timeless = true;
	}
	if (timeless)
		r->retry_after_ms = -1;
	else
		r->retry_after_ms = (int64_t)((wait + 999999) / 1000000);
}

int explain(const struct explain_maps *m, const struct explain_packet *pkt, uint64_t now_ns,
	    struct explain_result *r)
{
	uint64_t now = now_ns << RW_TICK_SHIFT;
	const struct rw_class_limits *cl;
	struct rw_cidr_info info = { 0 };
	struct rw_policy pol;
	struct rw_config cfg;
	uint32_t zero = 0, slot;
	char name[RW_NAME_MAX];
	int err;

	memset(r, 0, sizeof(*r));
	if (bpf_map_lookup_elem(m->policy.config_fd, &zero, &cfg))
		return -errno;
	slot = cfg.policy_slot & (RW_POLICY_SLOTS - 1);
	if (bpf_map_lookup_elem(m->policy.policy_fd, &slot, &pol))
		return -errno;
	r->class_id = pkt->by_class ? pkt->class_id & (RW_MAX_CLASSES - 1)
				    : class_of(m, &pol, slot, pkt);
	snprintf(r->class_name, sizeof(r->class_name), "%s",
		 live_class_name(&pol, r->class_id, name, sizeof(name)));
	cl = &pol.classes[r->class_id];
	explain_source_key(&cfg, pkt->family, pkt->addr, r->class_id, &r->key);

	if (pkt->family == 4 ? pol.has_cidrs4 : pol.has_cidrs6) {
		err = lookup_cidr(m, slot, pkt, &info);
		if (err)
			return err;
	}
	r->list = info.list;
	/* Either list decides alone: the program looks at nothing after it. */
	if (info.list == RW_LIST_DENY) {
		struct explain_check *c = add_check(r, "deny list", RW_REASON_DENY);

		if (c)
			c->outcome = EXPLAIN_REFUSE;
		conclude(r, cl->mode);
		return 0;
	} else if (info.list == RW_LIST_ALLOW) {
		struct explain_check *c = add_check(r, "allow list", RW_REASON_ALLOW);

		if (c)
			c->outcome = EXPLAIN_DECIDES;
		conclude(r, cl->mode);
		return 0;
	}
	r->tenant_id = info.tenant_id;
	if (pkt->syn && (cl->mode == RW_CLASS_SHED || cl->control_shed || cfg.shed_all)) {
		struct explain_check *c = add_check(r, "shed", RW_REASON_SHED);

		if (c) {
			c->outcome = EXPLAIN_REFUSE;
			snprintf(c->detail, sizeof(c->detail), "%s",
				 cfg.shed_all ? "every class sheds" :
				 cl->mode == RW_CLASS_SHED ? "the class sheds" :
				 "the control loop sheds the class");
		}
	}
	err = source_checks(m, &cfg, cl, pkt, now, r);
	if (!err && r->tenant_id)
		err = tenant_checks(m, slot, pkt, now, r);
	if (!err)
		err = class_checks(m, slot, cl, pkt, now, r);
	if (err)
		return err;
	conclude(r, cl->mode);
	return 0;
}
