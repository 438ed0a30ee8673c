/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Rules that span entries of a parsed policy rather than one value: no
 * port belongs to two classes, no CIDR is listed where it cannot be told
 * apart, and the CIDRs fit the trie. They run after the walk, over the
 * policy as built, and report into the same error list.
 */
#ifndef RW_POLICY_CHECKS_H
#define RW_POLICY_CHECKS_H

#include "policy.h"
#include "policy_errors.h"

/* Each (protocol, port) in one class at most once; reports every later entry that overlaps. */
void policy_check_ports(const struct policy *p, struct policy_errors *e);

/*
 * At most RW_MAX_CIDRS CIDRs in allow, deny and tenants together; none
 * twice in one list, in both allow and deny, or in two tenants. (A CIDR
 * both on a list and in a tenant is fine: one trie entry carries both.)
 */
void policy_check_cidrs(const struct policy *p, struct policy_errors *e);

#endif
