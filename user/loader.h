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

/* A live change of the attachment's own settings (not the policy's); a
 * `has_` flag says which were given. */
struct live_change {
	bool has_malformed, has_new_rate, has_new_burst, has_shed;
	uint64_t new_rate, new_burst;
	int malformed_drop;
	bool shed; /* every class sheds new connections */
};
int loader_set(const char *ifname, const struct live_change *chg);

/* Replaces the live policy of `ifname` atomically (see policy_apply.h). */
int loader_policy_apply(const char *ifname, const struct policy_image *img);

/*
 * The live policy of an opened attachment as a model, read back from the
 * active slot's text; `active` receives the slot's rw_policy. 0, or
 * -errno with one error line.
 */
int live_policy_model(const struct policy_maps *m, const char *ifname, struct policy *p,
		      struct rw_policy *active);

/*
 * A command-line change: `edit` changes the live policy's model (returning
 * nonzero, after one error line, to refuse), the result is checked whole
 * like a file and installed as the next generation, counted in live_edits.
 * Under the exclusive lock, so changes never interleave. Nothing changes
 * on any error.
 */
typedef int (*policy_edit_fn)(struct policy *p, void *ctx);
int loader_policy_edit(const char *ifname, policy_edit_fn edit, void *ctx);

const char *attach_mode_name(unsigned int mode);

#endif
