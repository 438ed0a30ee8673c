/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Lists of CIDRs in the policy model (allow, deny, a tenant's): comparing,
 * finding, adding and removing one, as checks and live changes need. */
#ifndef RW_POLICY_CIDRS_H
#define RW_POLICY_CIDRS_H

#include <stdbool.h>
#include <stddef.h>
#include "policy.h"

bool policy_cidr_equal(const struct policy_cidr *a, const struct policy_cidr *b);

/* The index of `c` in list[0..n), or -1. */
long policy_cidr_find(const struct policy_cidr *list, size_t n, const struct policy_cidr *c);

/* Appends a copy of `c`; 0 or -ENOMEM (the list unchanged). */
int policy_cidr_append(struct policy_cidr **list, size_t *n, const struct policy_cidr *c);

/* Removes list[i], keeping the order of the rest. */
void policy_cidr_remove(struct policy_cidr *list, size_t *n, size_t i);

#endif
