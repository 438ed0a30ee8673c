/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The policy an attach without `policy FILE` gets. */
#ifndef RW_POLICY_BUILTIN_H
#define RW_POLICY_BUILTIN_H

#include "policy.h"

/*
 * One class, `default`, enforcing: every source gets `rate` packets per
 * second with a burst of `burst`; no lists, no tenants, no new-connection
 * or class-wide buckets. README "The built-in policy" shows it as YAML.
 */
void policy_builtin(struct policy *p, uint64_t rate, uint64_t burst);

#endif
