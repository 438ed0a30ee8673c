/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The shared buckets of the live policy as the kernel holds them: the
 * fleet's limit, this gateway's share and lease, the safe share, and what
 * reached each one here. Read from the pins, so `quota show` and the
 * metrics work with or without a daemon.
 */
#ifndef RW_QUOTA_SHOW_H
#define RW_QUOTA_SHOW_H

#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include "policy_maps.h"

struct quota_view {
	uint32_t slot;
	uint32_t n;                         /* buckets in use */
	struct rw_quota q[RW_MAX_QUOTAS];   /* by id; name "" unused */
	uint64_t reached[RW_MAX_QUOTAS];
	uint64_t admitted[RW_MAX_QUOTAS];
	uint64_t now_ticks;                 /* when read, on the bucket clock */
};

/* 0 or -errno. */
int quota_view_read(const struct policy_maps *m, struct quota_view *v);

/* The rate and burst in force now, and whether a lease holds them. */
uint64_t quota_view_word(const struct quota_view *v, uint32_t id);
bool quota_view_shared(const struct quota_view *v, uint32_t id);

/* `quota show`'s array, one object per bucket. */
json_object *quota_show_json(const struct quota_view *v);
void quota_show_print(FILE *f, const char *ifname, json_object *buckets);

#endif
