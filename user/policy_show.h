/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Reading the live policy of an attachment back, for status and JSON. */
#ifndef RW_POLICY_SHOW_H
#define RW_POLICY_SHOW_H

#include <stdio.h>
#include <json-c/json.h>
#include "policy_apply.h"

/* The active slot with its port table and tenant limits, as the kernel has them. */
struct live_policy {
	uint32_t slot;
	struct rw_policy policy;
	struct rw_port_classes ports[RW_PROTO_MAX][RW_PORT_ENTRIES_PER_PROTO];
	struct rw_tenant_limits tenants[RW_MAX_TENANTS];
};

/* Fills *lp (heap-allocate it: it is large); 0 or -errno. */
int live_policy_read(const struct policy_maps *m, struct live_policy *lp);
/* The same without the port table (2,048 lookups): the slot, its policy
 * and its tenants' limits, for readers that need no ports. */
int live_policy_read_limits(const struct policy_maps *m, struct live_policy *lp);

/* Packets per second a limit word stands for; 0 for an absent bucket. */
double limit_word_rate(uint64_t word);

/* The same, as shown: whole when within a millionth of a whole number,
 * else to 3 decimals (intervals are rounded up to whole ticks). */
double limit_word_rate_display(uint64_t word);

/* A rate given per second as text: "20/s", "4/m", "7/h" or "0.333333/s". */
void rate_format(double rate, char *buf, size_t len);

/* {"rate": per second, "burst"} of a limit word, or NULL (JSON null) for
 * an absent bucket: how every command's JSON gives a bucket. */
json_object *limit_word_json(uint64_t word);

/* "20/s burst 60", or "-" for an absent bucket. */
void limit_word_format(uint64_t word, char *buf, size_t len);

const char *class_mode_name(unsigned int mode);

/* A class's name in the live policy `p`; ids it no longer has show as
 * "classN", written into buf. */
const char *live_class_name(const struct rw_policy *p, uint32_t id, char *buf, size_t len);

/* Text lines for status, each indented by two spaces. */
void live_policy_print(FILE *f, const struct live_policy *lp);

/* Adds "policy", "classes" and "tenants" to a status object. */
void live_policy_to_json(const struct live_policy *lp, json_object *o);

#endif
