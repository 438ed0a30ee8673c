/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * A validated policy turned into what the maps of one policy slot hold:
 * the class limits, the port table, the tenant limits and the merged
 * allow/deny/tenant prefixes, plus the policy's hash. Pure: no I/O.
 */
#ifndef RW_POLICY_COMPILE_H
#define RW_POLICY_COMPILE_H

#include <stddef.h>
#include <stdint.h>
#include "policy.h"

/* One prefix of the merged trie. */
struct policy_image_cidr {
	uint8_t family;
	uint8_t prefix;
	uint32_t addr[4];
	struct rw_cidr_info info;
};

struct policy_image {
	struct rw_policy policy; /* generation and applied_at are the applier's */
	struct rw_port_classes ports[RW_PROTO_MAX][RW_PORT_ENTRIES_PER_PROTO];
	struct rw_tenant_limits tenants[RW_MAX_TENANTS]; /* by tenant id; 0 unused */
	struct policy_image_cidr *cidrs;                 /* sorted, distinct */
	size_t n_cidrs;
	char *text;      /* the policy as canonical YAML (policy_emit_yaml) */
	size_t text_len;
	/* attach-time settings; 0 / "" when the policy leaves them to attach */
	uint32_t conn_table;
	char cgroup[4096];
	/* events: interval, client ids and tenants' mesh node ids, for the hash */
	char event_settings[RW_MAX_TENANTS * (RW_NAME_MAX + POLICY_MESH_ID_MAX) + 4200];
	/* control: every knob and each class's bounds, for the hash; "" without a control section */
	char control_settings[2 * POLICY_URL_MAX + 2 * POLICY_METRIC_MAX + 4096 + 2048];
	/* each class's bounds, so that an install starts it at its live multiplier */
	struct control_class_policy adaptive[RW_MAX_CLASSES];
	/* the shared buckets by id (0 unused), as a fresh install writes them */
	struct rw_quota quotas[RW_MAX_QUOTAS];
	uint32_t n_quotas;
	/* quota: the store's settings, for the hash; "" without a quota section */
	char quota_settings[POLICY_QUOTA_SERVERS * POLICY_QUOTA_URL_MAX + 4096 + 512];
};

/* The bucket word of a limit: rw_limit_pack(interval, burst), 0 when absent. */
uint64_t policy_limit_word(const struct policy_limit *l);

/* A class's limits as the kernel holds them (written, before any multiplier). */
void policy_class_limits(const struct policy_class *c, struct rw_class_limits *out);

/* The interval the program uses: 0 for `interval: off`, else as written or the default. */
uint32_t policy_event_interval_ms(const struct policy *p);

/* Fills a fresh *img (heap-allocate it: it is large). 0 or -ENOMEM. */
int policy_compile(const struct policy *p, struct policy_image *img);
void policy_image_free(struct policy_image *img);

/* The same on the heap: a compiled image, or NULL (out of memory, said on
 * stderr); policy_image_delete() takes it back. */
struct policy_image *policy_image_new(const struct policy *p);
void policy_image_delete(struct policy_image *img);

/* The hash as 64 hex digits and a NUL. */
void policy_hash_hex(const uint8_t hash[32], char out[65]);

#endif
