/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * `tenant show`, `allow show` and `deny show`: parts of the live policy
 * as its model has them (prefixes as written, before the kernel's trie
 * merges them), in text and JSON with the same fields.
 */
#ifndef RW_CLI_POLICY_VIEW_H
#define RW_CLI_POLICY_VIEW_H

#include <stdio.h>
#include "args.h"

enum policy_view { POLICY_VIEW_TENANTS, POLICY_VIEW_ALLOW, POLICY_VIEW_DENY };

/* Parses `[dev IFACE]` (and a tenant NAME), reads and prints; an enum cli_status. */
int policy_view_show(struct arg_cursor *cur, const char *where, enum policy_view view,
		     void (*usage)(FILE *f));

#endif
