/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Finding an existing attachment through its pins and proving it is the one
 * the operator named: it must belong to this network namespace (by cookie)
 * and run on the interface of that name now (by ifindex), so that pins of
 * another namespace or of a since-renamed interface are never mistaken for it.
 */
#ifndef RW_ATTACHMENT_H
#define RW_ATTACHMENT_H

#include <linux/limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include "ratewall.h"
#include "conns.h"
#include "policy_maps.h"

struct attachment {
	char ifname[IF_NAMESIZE];   /* the interface's name now (pin name if defunct) */
	char pin_name[IF_NAMESIZE]; /* the name it was attached under */
	char dir[PATH_MAX];
	unsigned int link_ifindex;  /* 0 once the interface is gone: defunct */
	/*
	 * The link's interface went to another network namespace: link_ifindex
	 * counts there, not here, so it must never be matched by ifindex here.
	 */
	bool moved;
	uint64_t netns_cookie;      /* the namespace recorded at attach time */
	int link_fd;
	int sockops_link_fd;
	int sources_fd;
	int talkers_fd;             /* per-CPU heavy-source slots (rw_talker) */
	int global_fd;              /* the new-source budget's state */
	struct policy_maps maps; /* config, counters and the policy's maps */
	struct conn_maps conns;  /* open-connection counts */
};

enum attachment_status {
	ATT_OK = 0,
	ATT_INCOMPLETE = -1, /* a pin is missing: a torso of a failed attach or detach */
	ATT_FOREIGN = -2,    /* made in another network namespace */
	ATT_UNPROVEN = -3,   /* pieces left that name no namespace: not to be touched */
	ATT_OTHER_VERSION = -4, /* made by a ratewall whose config has another layout */
};

/* Opens the pins in `dir` without printing; returns an attachment_status. */
int attachment_open_dir(const char *dir, const char *pin_name, struct attachment *a);

/*
 * Opens the attachment of `ifname` in this namespace: the pins under that
 * name, or those of the same interface attached under an earlier name.
 * Prints one error line and returns a negative errno when there is none
 * or when the pins under that name belong to something else.
 */
int attachment_open(const char *ifname, struct attachment *a);

/*
 * The same, except that pins with a piece missing are not an error: it
 * returns 1 with only a->dir filled, so that detach can clear them.
 */
int attachment_resolve(const char *ifname, struct attachment *a);

/*
 * Looks for pins of this namespace (other than `skip`) whose link runs on
 * `ifindex`: an interface renamed since attach. Fills `a` when found.
 * Moved attachments are never found this way.
 */
bool attachment_find_by_ifindex(unsigned int ifindex, const char *skip, struct attachment *a);

void attachment_close(struct attachment *a);


#endif
