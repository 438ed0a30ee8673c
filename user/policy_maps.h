/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The maps a policy lives in, and where they come from in a loaded skeleton. */
#ifndef RW_POLICY_MAPS_H
#define RW_POLICY_MAPS_H

#include "event_maps.h"

struct policy_maps {
	int config_fd;
	int policy_fd;
	int ports_fd;
	int cidrs_fd;
	int tenants_fd;
	int tenant_state_fd;
	int class_state_fd;
	int counters_fd;
	int text_fd; /* the slots' policy text (rw_policy_text) */
	struct event_maps events; /* refusal events, reset with a renamed class */
	int adapt_fd;             /* the control loop's multipliers (rw_adapt) */
	int quotas_fd;            /* this gateway's shares of the fleet's buckets (rw_quota) */
	int quota_counts_fd;      /* what reached them (rw_quota_count, per CPU) */
};

struct ratewall_bpf;

/* The map fds of a loaded (not necessarily attached) program. */
void policy_maps_of_skeleton(struct ratewall_bpf *skel, struct policy_maps *m);

#endif
