/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Installing a compiled policy in the maps of a loaded program. The new
 * policy goes into the slot no packet is using, and one store of the
 * config's policy_slot makes it live: a packet reads that index once, so
 * it is judged wholly by the old policy or wholly by the new one.
 */
#ifndef RW_POLICY_APPLY_H
#define RW_POLICY_APPLY_H

#include <stdbool.h>
#include "policy_compile.h"

#include "policy_maps.h"

/*
 * `fresh`: the program has never run (attach, before the link exists):
 * the policy goes into slot 0, generation 1. Otherwise into the inactive
 * slot, after a grace period that lets every packet still judged by that
 * slot's previous contents finish. After the switch, the shared buckets
 * and the counters of a class or tenant id whose name changed start
 * afresh. On failure before the switch the live policy is untouched; each
 * failure prints one error line.
 */
int policy_install(const struct policy_maps *m, const struct policy_image *img, bool fresh);

/* policy_compile() then policy_install(), for a policy held as a model. */
int policy_compile_and_install(const struct policy_maps *m, const struct policy *p, bool fresh);

/* The active slot's policy; 0 or -errno. */
int policy_read_active(const struct policy_maps *m, uint32_t *slot, struct rw_policy *out);

#endif
