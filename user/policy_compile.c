// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "limits.h"
#include "policy_compile.h"
#include "policy_emit.h"
#include "policy_quota.h"
#include "quota_share.h"

uint64_t policy_limit_word(const struct policy_limit *l)
{
	if (!l->count)
		return 0;
	return rw_limit_pack(gcra_interval_ticks_per(l->count, l->period_ns), l->burst);
}

void policy_class_limits(const struct policy_class *c, struct rw_class_limits *out)
{
	out->src_pkt = policy_limit_word(&c->source.packets);
	out->src_syn = policy_limit_word(&c->source.syn);
	out->class_pkt = policy_limit_word(&c->global.packets);
	out->class_syn = policy_limit_word(&c->global.syn);
	out->src_conn = c->source.connections;
	out->class_conn = c->global.connections;
	out->mode = (uint8_t)c->mode;
}

static void fill_ports(const struct policy *p, struct policy_image *img)
{
	/* Classes in the file own their ports; everything else stays 0 (default). */
	for (size_t c = 1; c < p->n_classes; c++) {
		const struct policy_class *cls = &p->classes[c];

		for (size_t i = 0; i < cls->n_ports; i++) {
			const struct policy_ports *r = &cls->ports[i];

			for (uint32_t port = r->first; port <= r->last; port++)
				img->ports[r->proto][port / RW_PORTS_PER_ENTRY]
					.class_id[port % RW_PORTS_PER_ENTRY] = (uint8_t)c;
			img->policy.has_ports = 1;
		}
	}
}

/* Where a prefix came from, before merging. */
struct cidr_claim {
	uint8_t family, prefix;
	uint32_t addr[4];
	uint8_t list;       /* enum rw_list, or NONE for a tenant prefix */
	uint16_t tenant_id; /* for a tenant prefix */
};

static int cmp_prefix(uint8_t fa, uint8_t pa, const uint32_t *aa, uint8_t fb, uint8_t pb,
		      const uint32_t *ab)
{
	if (fa != fb)
		return fa < fb ? -1 : 1;
	if (pa != pb)
		return pa < pb ? -1 : 1;
	return memcmp(aa, ab, 16);
}

static int cmp_claim(const void *a, const void *b)
{
	const struct cidr_claim *x = a, *y = b;

	return cmp_prefix(x->family, x->prefix, x->addr, y->family, y->prefix, y->addr);
}

static void mask_addr(uint8_t family, uint8_t prefix, const uint32_t *in, uint32_t *out)
{
	uint32_t m[4] = { 0 };

	if (family == 4)
		m[0] = prefix_mask4(prefix);
	else
		prefix_mask6(prefix, m);
	for (int i = 0; i < 4; i++)
		out[i] = in[i] & m[i];
}

/* Claims of one exact prefix: [*first, *first + n) in the sorted array. */
static size_t find_claims(const struct cidr_claim *all, size_t n, uint8_t family,
			  uint8_t prefix, const uint32_t *addr, size_t *first)
{
	size_t lo = 0, hi = n, count = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_prefix(all[mid].family, all[mid].prefix, all[mid].addr, family, prefix,
			       addr) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo + count < n &&
	       !cmp_prefix(all[lo + count].family, all[lo + count].prefix, all[lo + count].addr,
			   family, prefix, addr))
		count++;
	return count;
}

/*
 * Each distinct prefix P gets what an address whose longest match is P
 * must see: the list of the longest allow/deny prefix containing P, and
 * the tenant of the longest tenant prefix containing P. Every prefix that
 * contains an address whose longest match is P also contains P, so the
 * answer depends on P alone and one trie lookup gives all three.
 */
static int merge_cidrs(const struct policy *p, struct policy_image *img)
{
	size_t n = p->n_allow + p->n_deny, k = 0, out = 0;
	struct cidr_claim *all;

	for (size_t t = 0; t < p->n_tenants; t++)
		n += p->tenants[t].n_cidrs;
	if (!n)
		return 0;
	all = calloc(n, sizeof(*all));
	img->cidrs = calloc(n, sizeof(*img->cidrs));
	if (!all || !img->cidrs) {
		free(all);
		return -ENOMEM;
	}
#define CLAIM(c, l, t)                                              \
	do {                                                        \
		all[k].family = (c)->family;                        \
		all[k].prefix = (c)->prefix;                        \
		memcpy(all[k].addr, (c)->addr, sizeof(all[k].addr)); \
		all[k].list = (l);                                  \
		all[k].tenant_id = (t);                             \
		k++;                                                \
	} while (0)
	for (size_t i = 0; i < p->n_allow; i++)
		CLAIM(&p->allow[i], RW_LIST_ALLOW, 0);
	for (size_t i = 0; i < p->n_deny; i++)
		CLAIM(&p->deny[i], RW_LIST_DENY, 0);
	for (size_t t = 0; t < p->n_tenants; t++)
		for (size_t i = 0; i < p->tenants[t].n_cidrs; i++)
			CLAIM(&p->tenants[t].cidrs[i], RW_LIST_NONE, (uint16_t)(t + 1));
#undef CLAIM
	qsort(all, n, sizeof(*all), cmp_claim);

	for (size_t i = 0; i < n; i++) {
		const struct cidr_claim *c = &all[i];
		struct policy_image_cidr *m;
		bool have_list = false, have_tenant = false;

		if (i > 0 && !cmp_claim(&all[i - 1], c))
			continue; /* one merged entry per distinct prefix */
		m = &img->cidrs[out++];
		m->family = c->family;
		m->prefix = c->prefix;
		memcpy(m->addr, c->addr, sizeof(m->addr));
		for (int len = c->prefix; len >= 0 && !(have_list && have_tenant); len--) {
			uint32_t masked[4];
			size_t first, cnt;

			mask_addr(c->family, (uint8_t)len, c->addr, masked);
			cnt = find_claims(all, n, c->family, (uint8_t)len, masked, &first);
			for (size_t j = first; j < first + cnt; j++) {
				if (all[j].list && !have_list) {
					m->info.list = all[j].list;
					have_list = true;
				}
				if (all[j].tenant_id && !have_tenant) {
					m->info.tenant_id = all[j].tenant_id;
					have_tenant = true;
				}
			}
		}
		if (c->family == 4)
			img->policy.has_cidrs4 = 1;
		else
			img->policy.has_cidrs6 = 1;
	}
	img->n_cidrs = out;
	free(all);
	return 0;
}

/*
 * SHA-256 of everything the policy decides, in a fixed order: equal
 * policies written differently (order of keys, comments, units) hash
 * alike, so replicas can be compared by their hash.
 */
static void hash_image(struct policy_image *img)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, img->policy.classes, sizeof(img->policy.classes));
	EVP_DigestUpdate(ctx, img->policy.class_names, sizeof(img->policy.class_names));
	EVP_DigestUpdate(ctx, &img->policy.n_classes, sizeof(img->policy.n_classes));
	EVP_DigestUpdate(ctx, &img->policy.n_tenants, sizeof(img->policy.n_tenants));
	EVP_DigestUpdate(ctx, img->ports, sizeof(img->ports));
	/* limits and name as before shared buckets existed, so that a policy
	 * without them keeps its hash; their ids only when there are some */
	for (uint32_t t = 0; t <= img->policy.n_tenants && t < RW_MAX_TENANTS; t++) {
		const struct rw_tenant_limits *tl = &img->tenants[t];

		EVP_DigestUpdate(ctx, tl, offsetof(struct rw_tenant_limits, quota_pkt));
		EVP_DigestUpdate(ctx, tl->name, sizeof(tl->name));
		if (img->n_quotas)
			EVP_DigestUpdate(ctx, &tl->quota_pkt,
					 offsetof(struct rw_tenant_limits, pad) -
						 offsetof(struct rw_tenant_limits, quota_pkt));
	}
	EVP_DigestUpdate(ctx, &img->conn_table, sizeof(img->conn_table));
	EVP_DigestUpdate(ctx, img->cgroup, strlen(img->cgroup) + 1);
	/* Event settings count only when set, so that policies without them
	 * keep the hash they had before events existed. */
	if (img->event_settings[0])
		EVP_DigestUpdate(ctx, img->event_settings, strlen(img->event_settings) + 1);
	if (img->control_settings[0])
		EVP_DigestUpdate(ctx, img->control_settings, strlen(img->control_settings) + 1);
	if (img->quota_settings[0])
		EVP_DigestUpdate(ctx, img->quota_settings, strlen(img->quota_settings) + 1);
	for (size_t i = 0; i < img->n_cidrs; i++) {
		const struct policy_image_cidr *c = &img->cidrs[i];

		EVP_DigestUpdate(ctx, &c->family, 1);
		EVP_DigestUpdate(ctx, &c->prefix, 1);
		EVP_DigestUpdate(ctx, c->addr, sizeof(c->addr));
		EVP_DigestUpdate(ctx, &c->info, sizeof(c->info));
	}
	EVP_DigestFinal_ex(ctx, img->policy.hash, &len);
	EVP_MD_CTX_free(ctx);
}

uint32_t policy_event_interval_ms(const struct policy *p)
{
	if (p->events_off)
		return 0;
	return p->event_interval_ms ? p->event_interval_ms : RW_DEFAULT_EVENT_INTERVAL_MS;
}

/* What the policy says about events, as one string for the hash: "" when
 * it asks for the defaults. */
static void event_settings(const struct policy *p, char *buf, size_t len)
{
	size_t used = 0;

	uint32_t interval = policy_event_interval_ms(p);

	/* what the settings do, not how they were written: the default
	 * interval written out hashes like no interval */
	buf[0] = 0;
	if (interval != RW_DEFAULT_EVENT_INTERVAL_MS || p->client_id != POLICY_CLIENT_ADDRESS)
		used += (size_t)snprintf(buf, len, "interval=%u id=%d key=%s;", interval,
					 (int)p->client_id, p->client_key);
	for (size_t t = 0; t < p->n_tenants && used < len; t++)
		if (p->tenants[t].mesh_node_id[0])
			used += (size_t)snprintf(buf + used, len - used, "%s=%s;", p->tenants[t].name,
						 p->tenants[t].mesh_node_id);
}

/* What the control section does, as one string for the hash. */
static void control_settings(const struct policy *p, char *buf, size_t len)
{
	const struct policy_control *pc = &p->control;
	const struct control_policy *l = &pc->law;
	size_t used;

	buf[0] = 0;
	if (!pc->present)
		return;
	used = (size_t)snprintf(buf, len,
				"kind=%d interval=%u objective=%.9g shed=%.9g fail=%u recover=%u "
				"errors=%.9g cpu=%.9g/%u step=%.9g,%.9g,%.9g,%.9g,%.9g,%u,%u "
				"health=%s/%u metrics=%s/%u latency=%s/%.9g requests=%s netns=%s;",
				(int)l->kind, l->interval_ms, l->objective_ms, l->shed_latency_ms,
				l->fail_after, l->recover_after, l->error_ratio, l->cpu_high,
				l->cpu_high_samples, l->step.fast_ms, l->step.slow_ms, l->step.up,
				l->step.down, l->step.error_cut, l->step.latency_every_ms,
				l->step.errors_every_ms, pc->health_url, pc->health_timeout_ms,
				pc->metrics_url, pc->metrics_timeout_ms, pc->latency_metric,
				pc->quantile, pc->requests_metric, pc->netns);
	for (size_t id = 0; id < p->n_classes && used < len; id++) {
		const struct control_class_policy *a = &p->classes[id].adaptive;

		if (a->adaptive)
			used += (size_t)snprintf(buf + used, len - used, "%zu=%.9g,%.9g,%d;", id,
						 a->floor, a->ceiling, a->shed);
	}
}

/* What the quota section does, as one string for the hash. */
static void quota_settings(const struct policy *p, char *buf, size_t len)
{
	const struct policy_quota *q = &p->quota;
	size_t used;

	buf[0] = 0;
	if (!q->present)
		return;
	used = (size_t)snprintf(buf, len, "user=%s pass=%s prefix=%s fleet=%s sync=%u timeout=%u "
				"lease=%u safe=%.9g redis=",
				q->username, q->password_file, q->prefix, q->fleet, q->sync_ms,
				q->timeout_ms, q->lease_ms, q->safe_share);
	for (size_t i = 0; i < q->n_redis && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s;", q->redis[i]);
}

/*
 * Numbers the shared buckets (1.. in policy_quota_buckets order), marks
 * them in the class and tenant limits the program reads, and fills the
 * table a fresh install writes: safe share in force until a daemon syncs.
 */
static void fill_quotas(const struct policy *p, struct policy_image *img)
{
	struct policy_quota_bucket b[RW_MAX_QUOTAS - 1];
	size_t n = policy_quota_buckets(p, b, RW_MAX_QUOTAS - 1);
	uint32_t safe_ppm = (uint32_t)(p->quota.safe_share * 1e6 + 0.5);

	if (n > RW_MAX_QUOTAS - 1)
		n = RW_MAX_QUOTAS - 1; /* refused by policy_check_quota */
	for (size_t i = 0; i < n; i++) {
		uint8_t id = (uint8_t)(i + 1);
		struct rw_quota *q = &img->quotas[id];

		memcpy(q->name, b[i].name, sizeof(q->name));
		q->limit = policy_limit_word(b[i].limit);
		q->safe_ppm = safe_ppm;
		q->safe = quota_safe_word(q->limit, safe_ppm, 0);
		if (b[i].tenant < 0) {
			struct rw_class_limits *cl = &img->policy.classes[b[i].class_id];

			*(b[i].syn ? &cl->quota_syn : &cl->quota_pkt) = id;
		} else {
			struct rw_tenant_limits *tl = &img->tenants[b[i].tenant + 1];

			if (b[i].class_id < 0)
				*(b[i].syn ? &tl->quota_syn : &tl->quota_pkt) = id;
			else if (b[i].syn)
				tl->quota_class_syn[b[i].class_id] = id;
			else
				tl->quota_class_pkt[b[i].class_id] = id;
		}
	}
	img->n_quotas = (uint32_t)n;
}

int policy_compile(const struct policy *p, struct policy_image *img)
{
	int err;

	memset(img, 0, sizeof(*img));
	img->policy.n_classes = (uint32_t)p->n_classes;
	img->policy.n_tenants = (uint32_t)p->n_tenants;
	for (size_t c = 0; c < p->n_classes; c++) {
		policy_class_limits(&p->classes[c], &img->policy.classes[c]);
		snprintf(img->policy.class_names[c], RW_NAME_MAX, "%s", p->classes[c].name);
	}
	fill_ports(p, img);
	img->conn_table = p->conn_table;
	snprintf(img->cgroup, sizeof(img->cgroup), "%s", p->cgroup);
	/* 0 in the kernel: no refusal is reported */
	img->policy.event_interval_ms = policy_event_interval_ms(p);
	img->policy.hashed_client_ids = p->client_id == POLICY_CLIENT_HASHED;
	event_settings(p, img->event_settings, sizeof(img->event_settings));
	control_settings(p, img->control_settings, sizeof(img->control_settings));
	for (size_t id = 0; id < p->n_classes; id++)
		img->adaptive[id] = p->classes[id].adaptive;
	for (size_t t = 0; t < p->n_tenants; t++) {
		const struct policy_tenant *pt = &p->tenants[t];
		struct rw_tenant_limits *tl = &img->tenants[t + 1];

		tl->pkt = policy_limit_word(&pt->all.packets);
		tl->syn = policy_limit_word(&pt->all.syn);
		for (size_t c = 0; c < RW_MAX_CLASSES; c++) {
			tl->class_pkt[c] = policy_limit_word(&pt->per_class[c].packets);
			tl->class_syn[c] = policy_limit_word(&pt->per_class[c].syn);
		}
		snprintf(tl->name, RW_NAME_MAX, "%s", pt->name);
	}
	fill_quotas(p, img);
	quota_settings(p, img->quota_settings, sizeof(img->quota_settings));
	err = merge_cidrs(p, img);
	if (err) {
		policy_image_free(img);
		return err;
	}
	img->policy.n_cidrs = (uint32_t)img->n_cidrs;
	hash_image(img);
	img->text = policy_emit_yaml(p);
	if (!img->text) {
		policy_image_free(img);
		return -ENOMEM;
	}
	img->text_len = strlen(img->text);
	return 0;
}

void policy_image_free(struct policy_image *img)
{
	free(img->cidrs);
	free(img->text);
	img->text = NULL;
	img->cidrs = NULL;
	img->n_cidrs = 0;
}

void policy_hash_hex(const uint8_t hash[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", hash[i]);
}

struct policy_image *policy_image_new(const struct policy *p)
{
	struct policy_image *img = calloc(1, sizeof(*img));

	if (!img || policy_compile(p, img)) {
		fprintf(stderr, "ratewall: out of memory compiling a policy\n");
		free(img);
		return NULL;
	}
	return img;
}

void policy_image_delete(struct policy_image *img)
{
	if (img) {
		policy_image_free(img);
		free(img);
	}
}
