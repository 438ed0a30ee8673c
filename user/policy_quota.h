/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The policy's `quota:` section and the buckets marked `scope: global`:
 * which store the fleet shares them through, and how each shared bucket
 * is named there and numbered in the kernel (README "Several gateways,
 * one quota").
 */
#ifndef RW_POLICY_QUOTA_H
#define RW_POLICY_QUOTA_H

#include <stdbool.h>
#include "policy.h"
#include "policy_control.h"
#include "quota_redis.h"

#define POLICY_QUOTA_SYNC_MS 100
#define POLICY_QUOTA_TIMEOUT_MS 50
#define POLICY_QUOTA_LEASE_MS 1000
#define POLICY_QUOTA_SAFE_SHARE 0.2
#define POLICY_QUOTA_PREFIX "ratewall:"
#define POLICY_QUOTA_FLEET "default"

/* `quota: {...}` into c->p->quota, defaults resolved. */
void policy_parse_quota(struct parse_ctx *c, const yaml_node_t *node);
/* Checks across sections: shared buckets need the section, and fit the kernel's table. */
void policy_check_quota(const struct policy *p, struct policy_errors *e);

/* One shared bucket of a policy. */
struct policy_quota_bucket {
	char name[RW_QUOTA_NAME_MAX]; /* class/NAME/KIND, tenant/NAME/KIND, tenant/NAME/CLASS/KIND */
	const struct policy_limit *limit;
	int tenant;   /* tenant index, -1 for a class's bucket */
	int class_id; /* its class; -1 for a tenant's bucket across its classes */
	bool syn;     /* the syn bucket, else the packets one */
};

/* The shared buckets in the order their ids follow (id = index + 1):
 * classes by id, then tenants in order. Returns how many there are,
 * filling at most `max`. */
size_t policy_quota_buckets(const struct policy *p, struct policy_quota_bucket *out, size_t max);

/* A store address as written (redis://HOST[:PORT], redis://[V6]:PORT,
 * unix:///PATH) into *out; false with the reason in msg. */
bool policy_quota_parse_url(const char *text, struct quota_server *out, char *msg, size_t len);

#endif
