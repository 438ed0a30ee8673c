/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The inverse of the policy parser: a policy model written back as the
 * canonical YAML of README "Policy file". The live policy is stored as
 * this text, and edits of a live policy are checked by parsing it again,
 * so policy_parse_string() must read back exactly the model that was
 * written (same compiled hash), and emitting what it read gives the same
 * bytes again.
 */
#ifndef RW_POLICY_EMIT_H
#define RW_POLICY_EMIT_H

#include "policy.h"

/*
 * The policy as one YAML document, NUL-terminated, malloc'd (the caller
 * frees it); NULL when out of memory, or when libyaml refuses a value: a
 * cgroup path that is not UTF-8, which no parsed policy holds. Deterministic: keys in the README's
 * order, every rate in the unit it was written in, every burst explicit,
 * absent buckets, caps, sections and empty lists left out, classes,
 * tenants, ports and CIDRs in the model's order. Values are written as
 * the model holds them, even ones the parser would refuse (a burst of 0,
 * say), so that parsing the text reports them.
 */
char *policy_emit_yaml(const struct policy *p);

#endif
