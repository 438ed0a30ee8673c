/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Attaching, detaching and retuning ratewall on an interface via its pins. */
#ifndef RW_LOADER_H
#define RW_LOADER_H

#include <linux/limits.h>
#include <net/if.h>
#include <stdbool.h>
#include "attachment.h"
#include "limits.h"

#include "policy_compile.h"

/* Attaches with the compiled policy `img` (the built-in one or a file's). */
int loader_attach(const char *ifname, enum rw_attach_mode mode, const struct limit_opts *o,
		  const struct policy_image *img);
int loader_detach(const char *ifname);

/* Fields of a live change; a `has_` flag says which were given. */
struct live_change {
	bool has_rate, has_burst, has_malformed, has_new_rate, has_new_burst, has_shed;
	uint64_t rate, burst, new_rate, new_burst; /* rate, burst: the default class's
						    * per-source packet bucket */
	int malformed_drop;
	bool shed;                                 /* every class sheds new connections */
};
int loader_set(const char *ifname, const struct live_change *chg);

/* Replaces the live policy of `ifname` atomically (see policy_apply.h). */
int loader_policy_apply(const char *ifname, const struct policy_image *img);

const char *attach_mode_name(unsigned int mode);

#endif
