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

enum policy_install_kind {
	POLICY_REPLACE = 0, /* a policy file replaces the live policy */
	POLICY_FRESH = 1,   /* the program has never run (attach, before the link) */
	POLICY_EDIT = 2,    /* a command-line change of the live policy */
};

/*
 * POLICY_FRESH: the policy goes into slot 0, generation 1. Otherwise into
 * the inactive slot, after a grace period that lets every packet still
 * judged by that slot's previous contents finish; an edit counts in
 * live_edits, a replacement starts it at zero. The policy's text goes with
 * its slot, and tenants' bucket states are carried into it by name just
 * before the switch. After the switch, the class-wide buckets and the
 * counters of a class id whose name changed start afresh. On failure
 * before the switch the live policy is untouched; each failure prints one
 * error line.
 */
int policy_install(const struct policy_maps *m, const struct policy_image *img,
		   enum policy_install_kind kind);

/* The text of a slot as written by policy_install (malloc'd, NUL-ended);
 * NULL with errno set when it cannot be read. */
char *policy_text_read(const struct policy_maps *m, uint32_t slot, uint32_t len);

/* policy_compile() then policy_install(), for a policy held as a model. */
int policy_compile_and_install(const struct policy_maps *m, const struct policy *p, bool fresh);

/* The active slot's policy; 0 or -errno. */
int policy_read_active(const struct policy_maps *m, uint32_t *slot, struct rw_policy *out);

#endif
